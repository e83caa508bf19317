# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""hss_local_image_scan: targets, plan, batches, ambiguous failures, waiting through the
per-image status, and input checks that send nothing."""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _lock
from ansible_collections.cloudsec.image_scan.plugins.modules import hss_local_image_scan

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.hss_fakes import (
    NOW_MS, install, lister, local_row, lock_held, run_module)

H3 = "BatchScanLocalImage"
H5 = "ListImageLocal"


@pytest.fixture
def hss(monkeypatch):
    return install(monkeypatch)


def run(args, capsys, **kwargs):
    return run_module(hss_local_image_scan.main, args, capsys, **kwargs)


class Fleet(object):
    """Local image rows whose status follows H3: waiting after the trigger, then scanning,
    then success after ``polls`` listings of in-progress images."""

    def __init__(self, fake, rows, polls=2):
        self.fake = fake
        self.rows = rows
        self.polls = polls
        self.busy_listings = 0
        fake.on(H3, self.trigger)
        fake.on(H5, self.listing)

    def trigger(self, call):
        ids = [item["image_id"] for item in call.body.get("image_info_list", [])]
        for row in self.rows:
            if call.body.get("operate_all") or row["image_id"] in ids:
                if row["scan_status"] not in ("waiting", "scanning"):
                    row["scan_status"] = "waiting"
        return {}

    def listing(self, call):
        if call.query.get("scan_status") in ("waiting_for_scan", "scanning"):
            self.busy_listings += 1
            if self.busy_listings > 2 * self.polls:
                for row in self.rows:
                    if row["scan_status"] in ("waiting", "scanning"):
                        row.update(scan_status="success", latest_scan_time=NOW_MS + 5000, vul_num=1,
                                   severity_level="Low")
            elif self.busy_listings > self.polls:
                for row in self.rows:
                    if row["scan_status"] == "waiting":
                        row["scan_status"] = "scanning"
        return lister(self.rows, ["host_name", "image_name", "image_version", "scan_status"])(call)


# -- input checks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    ({"images": [{"image_name": "nginx"}]}, ["images[0]", "image_id, image_digest, or image_name and image_version"]),
    ({"images": [{"image_version": "1.25"}]}, ["images[0]", "image_name and image_version"]),
    ({"images": [{"image_id": "a", "tag": "x"}]}, ["images[0]", "tag", "image_digest"]),
    ({"images": [{"image_name": "nginx", "image_version": 1.25}]}, ["images[0].image_version", "string"]),
    ({"images": [""]}, ["images[0]", "empty"]),
    ({"images": [42]}, ["images[0]", "image id or a dictionary"]),
    ({"images": ["a"], "batch_size": 0}, ["batch_size", "1 or more"]),
    ({"all_images": True, "query": {"host_name": "x"}}, ["query", "host_name", "image_name"]),
    ({"all_images": True, "query": {"scan_status": "waiting"}}, ["query.scan_status", "unscan"]),
    ({}, ["images", "all_images", "host_name", "host_ids"]),
    ({"host_ids": ["hid-1", ""]}, ["host_ids must not contain empty values"]),
    ({"images": ["a"], "lock_timeout": -1}, ["lock_timeout", "0 or more"]),
    ({"images": ["a"], "lock_dir": " "}, ["lock_dir", "empty"]),
    ({"host_ids": ["hid-1"], "host_name": "node-1"}, ["mutually exclusive"]),
    ({"images": ["a"], "all_images": True}, ["mutually exclusive"]),
    ({"images": ["a"], "query": {"image_name": "x"}}, ["query", "all_images=true", "host"]),
    ({"images": ["a"], "max_age": "1 fortnight"}, ["max_age"]),
    ({"images": ["a"], "wait_sleep": 0}, ["wait_sleep"]),
])
def test_bad_input_fails_before_any_request(hss, capsys, args, words):
    fake, dummy = hss
    result = run(args, capsys)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"], result["msg"]
    assert fake.calls == []


def test_missing_credentials_fail_before_any_request(hss, capsys):
    fake, dummy = hss
    result = run({"images": ["a"], "access_key": "AK", "project_id": "p", "region": "cn-north-4"}, capsys,
                 with_credentials=False)
    assert result["failed"] is True and "secret_key" in result["msg"]
    assert fake.calls == []


# -- triggering and waiting ---------------------------------------------------------------------------


def test_image_ids_are_sent_in_batches_then_waited_for_together(hss, capsys):
    fake, clock = hss
    rows = [local_row("li-%d" % i, name="app%d" % i, host="node-0%d" % (i % 2)) for i in range(5)]
    fleet = Fleet(fake, rows)
    result = run({"images": ["li-0", "li-1", {"image_id": "li-2"}, "li-3", "li-4"], "batch_size": 2,
                  "wait_sleep": 1}, capsys)
    assert result["changed"] is True, result
    bodies = [call.body for call in fake.of(H3)]
    assert bodies == [
        {"operate_all": False, "image_info_list": [{"image_id": "li-0"}, {"image_id": "li-1"}]},
        {"operate_all": False, "image_info_list": [{"image_id": "li-2"}, {"image_id": "li-3"}]},
        {"operate_all": False, "image_info_list": [{"image_id": "li-4"}]},
    ]
    # every batch is sent before the first poll (the last look before the first trigger aside)
    first_trigger = min(i for i, call in enumerate(fake.calls) if call.op == H3)
    last_trigger = max(i for i, call in enumerate(fake.calls) if call.op == H3)
    first_poll = min(i for i, call in enumerate(fake.calls) if "scan_status" in call.query and i > first_trigger)
    assert last_trigger < first_poll
    assert [call.op for call in fake.calls[1:first_trigger]] == [H5] * 3
    # polls list only images in progress, in both words
    busy = [call.query.get("scan_status") for call in fake.of(H5)[4:-1]]
    assert set(busy) == {"waiting_for_scan", "scanning"}
    assert fake.of(H3)[0].headers["region"] == "cn-north-4"
    # the final state of every targeted image
    assert [image["scan_status"] for image in result["images"]] == ["success"] * 5
    assert [image["id"] for image in result["images"]] == ["li-%d" % i for i in range(5)]
    assert result["images"][0]["host"] == {"id": "hid-node-00", "name": "node-00", "ip": None}
    assert result["images"][0]["severity"] == "low" and result["images"][0]["counts"]["vulnerabilities"] == 1
    assert result["raw"]["images"][0]["scan_status"] == "success"
    assert len(result["images_triggered"]) == 5 and result["images_skipped"] == []
    assert fleet.busy_listings >= 5
    assert all(s >= 1 for s in clock.sleeps)


def test_host_ids_alone_scan_every_image_of_those_hosts_and_return_the_listing(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", name="app1", host="node-1"), local_row("li-2", name="app2", host="node-2"),
            local_row("li-3", name="app3", host="node-3"), local_row("li-1", name="app1", host="node-3")]
    fake.on(H5, lister(rows, filters=["host_id"]))
    fake.on(H3, {})
    result = run({"host_ids": ["hid-node-1", "hid-node-2"], "wait": False}, capsys)
    assert result["changed"] is True
    assert [call.body["image_info_list"] for call in fake.of(H3)] == [[{"image_id": "li-1"}, {"image_id": "li-2"}]]
    assert sorted((i["id"], i["host"]["name"]) for i in result["images"]) == [("li-1", "node-1"), ("li-2", "node-2")]
    assert sorted(ref["host"]["name"] for ref in result["images_triggered"]) == ["node-1", "node-2"]


def test_host_ids_alone_in_check_mode_list_and_plan_only(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", host="node-1"), local_row("li-2", host="node-2")]
    fake.on(H5, lister(rows, filters=["host_id"]))
    result = run({"host_ids": ["hid-node-1"]}, capsys, check_mode=True)
    assert result["changed"] is True and fake.of(H3) == []
    assert [i["id"] for i in result["images"]] == ["li-1"]


def test_host_ids_alone_empty_scan_nothing(hss, capsys):
    fake, dummy = hss
    result = run({"host_ids": []}, capsys)
    assert result["changed"] is False and result["images"] == [] and fake.calls == []


def test_host_name_targets_the_images_on_that_host_only(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", host="node-1"), local_row("li-2", host="node-10"), local_row("li-3", host="node-1")]
    fake.on(H5, lister(rows))  # the API matches host names fuzzily: no filtering here
    fake.on(H3, {})
    result = run({"host_name": "node-1", "wait": False}, capsys)
    assert fake.of(H5)[0].query["host_name"] == "node-1"
    assert fake.of(H3)[0].body["image_info_list"] == [{"image_id": "li-1"}, {"image_id": "li-3"}]
    assert [image["id"] for image in result["images"]] == ["li-1", "li-3"]


def test_host_with_query_maps_the_filters(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([]))
    result = run({"host_id": "hid-9", "host_ip": "10.0.0.9",
                  "query": {"image_name": "nginx", "local_image_type": "swr_image"}}, capsys)
    query = fake.of(H5)[0].query
    assert query["host_id"] == "hid-9" and query["host_ip"] == "10.0.0.9"
    assert query["image_name"] == "nginx" and query["local_image_type"] == "swr_image"
    assert result["changed"] is False and result["images"] == []


def test_images_by_name_are_listed_with_a_filter_each(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1", name="redis", version="7.2")], ["image_name", "image_version"]))
    run({"images": [{"image_name": "redis", "image_version": "7.2"}]}, capsys, check_mode=True)
    query = fake.of(H5)[0].query
    assert query["image_name"] == "redis" and query["image_version"] == "7.2"


def test_image_by_digest_is_matched_on_the_rows(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1"), local_row("li-2")]))
    result = run({"images": [{"image_digest": "sha256:d-li-2"}]}, capsys, check_mode=True)
    assert [ref["id"] for ref in result["images_triggered"]] == ["li-2"]


def test_plan_skips_busy_recent_and_oversized_images(hss, capsys):
    fake, dummy = hss
    rows = [
        local_row("li-1", status="scanning"),
        local_row("li-2", status="success", scan_ms=NOW_MS - 600000),
        local_row("li-3", status="failed", scan_ms=NOW_MS - 600000, failed="huge_image"),
        local_row("li-4", status="success", scan_ms=NOW_MS - 3 * 86400000),
    ]
    fake.on(H5, lister(rows))
    fake.on(H3, {})
    result = run({"images": ["li-1", "li-2", "li-3", "li-4"], "max_age": "1d", "wait": False}, capsys)
    skipped = {ref["id"]: ref["reason"] for ref in result["images_skipped"]}
    assert "already scanning" in skipped["li-1"]
    assert "within max_age" in skipped["li-2"]
    assert "image_oversized" in skipped["li-3"]
    assert [ref["id"] for ref in result["images_triggered"]] == ["li-4"]
    assert fake.of(H3)[0].body["image_info_list"] == [{"image_id": "li-4"}]
    # the oversized image is reported as such
    assert [image["scan_status"] for image in result["images"]][2] == "image_oversized"


def test_nothing_to_scan_changes_nothing(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1", status="failed", scan_ms=NOW_MS - 60000, failed="huge_image")]))
    result = run({"images": ["li-1"]}, capsys)
    assert result["changed"] is False and fake.ops(H3) == 0
    fake.on(H3, {})
    result = run({"images": ["li-1"], "force": True, "wait": False}, capsys)
    assert result["changed"] is True and fake.ops(H3) == 1


def test_empty_image_list_sends_nothing(hss, capsys):
    fake, dummy = hss
    result = run({"images": []}, capsys)
    assert result["changed"] is False and result["images"] == [] and fake.calls == []


def test_check_mode_sends_no_trigger(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1"), local_row("li-2", status="waiting")]))
    result = run({"images": ["li-1", "li-2"]}, capsys, check_mode=True)
    assert result["changed"] is True
    assert [ref["id"] for ref in result["images_triggered"]] == ["li-1"]
    assert [ref["id"] for ref in result["images_skipped"]] == ["li-2"]
    assert fake.ops(H3) == 0


def test_unknown_image_fails_before_trigger(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1")]))
    result = run({"images": ["li-1", "li-404"], "host_id": "hid-node-01"}, capsys)
    assert result["failed"] is True and "li-404" in result["msg"] and "host_id=hid-node-01" in result["msg"]
    assert fake.ops(H3) == 0


def test_all_images_sends_operate_all_with_the_query_when_everything_needs_a_scan(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1"), local_row("li-2")]
    fleet = Fleet(fake, rows, polls=1)
    result = run({"all_images": True, "query": {"scan_status": "unscan", "image_name": "nginx"}, "wait_sleep": 1},
                 capsys)
    assert fake.of(H3)[0].body == {"operate_all": True, "scan_status": "unscan", "image_name": "nginx"}
    assert fake.of(H5)[0].query["scan_status"] == "unscan"
    # the final listing drops the status filter, which the scan changes
    assert "scan_status" not in fake.of(H5)[-1].query
    assert [image["scan_status"] for image in result["images"]] == ["success", "success"]
    assert fleet.busy_listings >= 2


def test_all_images_with_some_recent_sends_the_list(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1"), local_row("li-2", status="success", scan_ms=NOW_MS - 60000)]))
    fake.on(H3, {})
    run({"all_images": True, "wait": False}, capsys)
    assert fake.of(H3)[0].body == {"operate_all": False, "image_info_list": [{"image_id": "li-1"}]}


def test_an_image_on_several_hosts_is_sent_once(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1", host="a"), local_row("li-1", host="b")]))
    fake.on(H3, {})
    result = run({"images": ["li-1"], "wait": False}, capsys)
    assert fake.of(H3)[0].body["image_info_list"] == [{"image_id": "li-1"}]
    assert len(result["images_triggered"]) == 2


# -- ambiguous failures, timeouts ------------------------------------------------------------------------


def test_ambiguous_batch_is_not_resent_for_images_already_in_progress(hss, capsys, fakes):
    fake, dummy = hss
    rows = [local_row("li-1"), local_row("li-2")]

    def applied_then_lost(call):
        rows[0]["scan_status"] = "waiting"
        return fakes.read_timeout()

    fake.on(H5, lister(rows, ["scan_status"]))
    fake.on(H3, applied_then_lost, {})
    result = run({"images": ["li-1", "li-2"], "wait": False}, capsys)
    assert result["changed"] is True
    bodies = [call.body["image_info_list"] for call in fake.of(H3)]
    assert bodies == [[{"image_id": "li-1"}, {"image_id": "li-2"}], [{"image_id": "li-2"}]]


def test_ambiguous_batch_fully_applied_is_not_resent(hss, capsys, fakes):
    fake, dummy = hss
    rows = [local_row("li-1")]

    def applied_then_lost(call):
        rows[0]["scan_status"] = "scanning"
        return (503, {"error_code": "APIGW.0203", "error_msg": "Backend unavailable."})

    fake.on(H5, lister(rows, ["scan_status"]))
    fake.on(H3, applied_then_lost)
    result = run({"images": ["li-1"], "wait": False}, capsys)
    assert result["changed"] is True and fake.ops(H3) == 1


def test_ambiguous_failures_end_after_backoff_retries_resends_with_a_named_error(hss, capsys, fakes):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1")], ["scan_status"]))
    fake.on(H3, fakes.connection_reset())
    result = run({"images": ["li-1"], "backoff_retries": 1}, capsys)
    assert result["failed"] is True and "BatchScanLocalImage was not applied after 2 attempts" in result["msg"]
    assert fake.ops(H3) == 2


def test_api_error_is_reported_with_its_code(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1")]))
    fake.on(H3, (400, {"error_code": "HSS.0001", "error_msg": "Invalid parameter"}))
    result = run({"images": ["li-1"]}, capsys)
    assert result["failed"] is True and "HSS.0001" in result["msg"] and result["error"]["request_id"] == "req-400"
    assert result["changed"] is False and fake.ops(H3) == 1


def test_wait_timeout_fails_with_the_images_still_in_progress(hss, capsys):
    fake, clock = hss
    rows = [local_row("li-1"), local_row("li-2")]
    fleet = Fleet(fake, rows, polls=1000)
    result = run({"images": ["li-1", "li-2"], "wait_timeout": 10, "wait_sleep": 1}, capsys)
    assert result["failed"] is True and "2 of 2" in result["msg"]
    assert result["progress"] == {"total": 2, "done": 0, "in_progress": 2}
    assert [item["id"] for item in result["images_pending"]] == ["li-1", "li-2"]
    assert result["changed"] is True
    assert 9 <= sum(clock.sleeps) <= 11 and fleet.busy_listings > 2


def test_a_second_run_resumes_waiting_for_images_in_progress_without_triggering(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", status="scanning"), local_row("li-2", status="success", scan_ms=NOW_MS - 60000)]
    fleet = Fleet(fake, rows, polls=1)
    result = run({"images": ["li-1", "li-2"], "wait_sleep": 1}, capsys)
    assert result["changed"] is False and fake.ops(H3) == 0
    assert fleet.busy_listings >= 3
    assert [image["scan_status"] for image in result["images"]] == ["success", "success"]
    assert result["images"][0]["latest_scan_time"] == "2026-01-01T00:00:05Z"


# -- images HSS will not scan (non_scan_reason) -------------------------------------------------------

NO_LICENCE = "image_scan_quota_exhausted: no image-scan licence is bound to this image"


def unscannable_row(image_id, host="node-01"):
    return dict(local_row(image_id, name="app-%s" % image_id, host=host), non_scan_reason=NO_LICENCE)


@pytest.mark.parametrize("args", [{"images": ["li-1", "li-2"]}, {"all_images": True}, {"host_name": "node-01"}])
def test_unscannable_images_are_never_triggered_and_keep_the_clouds_reason(hss, capsys, args):
    fake, dummy = hss
    fleet = Fleet(fake, [local_row("li-1"), unscannable_row("li-2")])
    result = run(dict(args, wait_sleep=1), capsys)
    assert [call.body["image_info_list"] for call in fake.of(H3)] == [[{"image_id": "li-1"}]]
    assert [ref["id"] for ref in result["images_triggered"]] == ["li-1"]
    (skipped,) = result["images_skipped"]
    assert skipped["id"] == "li-2" and skipped["scan_status"] == "unscannable"
    assert NO_LICENCE in skipped["reason"] and skipped["unscannable_reason"] == NO_LICENCE
    image = [image for image in result["images"] if image["id"] == "li-2"][0]
    assert image["scan_status"] == "unscannable"
    assert image["unscannable_reason"] == NO_LICENCE and image["non_scan_reason"] == NO_LICENCE
    assert [image["scan_status"] for image in result["images"] if image["id"] == "li-1"] == ["success"]
    assert fleet.rows[1]["scan_status"] == "unscan"


@pytest.mark.parametrize("force", [False, True])
def test_only_unscannable_images_change_nothing_also_with_force(hss, capsys, force):
    fake, dummy = hss
    fake.on(H5, lister([unscannable_row("li-1"), unscannable_row("li-1", host="node-02")]))
    result = run({"images": ["li-1"], "force": force}, capsys)
    assert result["changed"] is False and fake.ops(H3) == 0, result
    assert [ref["scan_status"] for ref in result["images_skipped"]] == ["unscannable"] * 2
    result = run({"images": ["li-1"], "force": force}, capsys, check_mode=True)
    assert result["changed"] is False and result["images_triggered"] == []


def test_an_unscannable_row_is_not_scanned_along_with_the_image_on_another_host(hss, capsys):
    fake, dummy = hss
    fake.on(H5, lister([local_row("li-1", host="node-01"), unscannable_row("li-1", host="node-02")]))
    fake.on(H3, {})
    result = run({"images": ["li-1"], "wait": False}, capsys)
    assert [ref["host"]["name"] for ref in result["images_triggered"]] == ["node-01"]
    assert [ref["host"]["name"] for ref in result["images_skipped"]] == ["node-02"]


# -- a trigger whose effect shows late ------------------------------------------------------------------


class LateFleet(object):
    """Local image rows on which H3 shows only after ``lag`` H5 listings: until then they keep
    their previous status and scan time; then they are waiting for ``waiting`` listings, then
    scanned (``success`` with a new scan time). ``quick`` skips waiting altogether (a scan that
    ended between two polls)."""

    def __init__(self, fake, rows, lag=4, waiting=2, answer=None):
        self.fake = fake
        self.rows = rows
        self.lag = lag
        self.waiting = waiting
        self.answer = answer
        self.triggered = {}
        self.listings = 0
        fake.on(H3, self.trigger)
        fake.on(H5, self.listing)

    def trigger(self, call):
        for item in call.body.get("image_info_list", []):
            self.triggered.setdefault(item["image_id"], self.listings)
        return self.answer(call) if self.answer else {}

    def listing(self, call):
        self.listings += 1
        for row in self.rows:
            at = self.triggered.get(row["image_id"])
            if at is None:
                continue
            age = self.listings - at - self.lag
            if 0 < age <= self.waiting:
                row["scan_status"] = "waiting"
            elif age > self.waiting and row["scan_status"] in ("waiting", row["scan_status"]) and \
                    row.get("latest_scan_time") != NOW_MS + 5000:
                row.update(scan_status="success", latest_scan_time=NOW_MS + 5000)
        return lister(self.rows, ["host_name", "image_name", "image_version", "scan_status"])(call)


def test_a_wait_does_not_end_before_the_triggered_images_show_the_scan(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", status="success", scan_ms=NOW_MS - 7 * 86400000), local_row("li-2")]
    fleet = LateFleet(fake, rows, lag=6)
    result = run({"images": ["li-1", "li-2"], "max_age": "1d", "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert fake.ops(H3) == 1
    assert [(image["scan_status"], image["latest_scan_time"]) for image in result["images"]] == [
        ("success", "2026-01-01T00:00:05Z")] * 2
    assert fleet.listings > 6


def test_a_scan_that_ended_between_two_polls_is_seen_by_its_new_scan_time(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", status="failed", scan_ms=NOW_MS - 86400000 * 3)]
    LateFleet(fake, rows, lag=3, waiting=0)
    result = run({"images": ["li-1"], "max_age": "1d", "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert result["images"][0]["scan_status"] == "success" and fake.ops(H3) == 1


def test_images_that_show_no_effect_by_the_start_deadline_fail_the_wait(hss, capsys):
    fake, clock = hss
    rows = [local_row("li-1"), local_row("li-2", status="success", scan_ms=NOW_MS - 86400000 * 3)]
    LateFleet(fake, rows, lag=10 ** 6)
    result = run({"images": ["li-1", "li-2"], "max_age": "1d", "start_timeout": 20, "wait_sleep": 2}, capsys)
    assert result["failed"] is True and result["changed"] is True
    assert "no effect" in result["msg"] and "2 of 2" in result["msg"] and "start_timeout (20 seconds)" in result["msg"]
    assert [item["id"] for item in result["images_pending"]] == ["li-1", "li-2"]
    assert result["triggered_at"] and fake.ops(H3) == 1
    assert 20 <= sum(clock.sleeps) <= 30


def test_an_ambiguous_batch_whose_effect_shows_late_is_not_sent_again(hss, capsys, fakes):
    fake, dummy = hss
    rows = [local_row("li-1"), local_row("li-2")]
    LateFleet(fake, rows, lag=5, answer=lambda call: fakes.read_timeout())
    result = run({"images": ["li-1", "li-2"], "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert fake.ops(H3) == 1
    assert [image["scan_status"] for image in result["images"]] == ["success", "success"]


def test_an_ambiguous_batch_whose_quick_scan_already_ended_is_not_sent_again(hss, capsys, fakes):
    fake, dummy = hss
    rows = [local_row("li-1", status="success", scan_ms=NOW_MS - 86400000 * 3)]
    LateFleet(fake, rows, lag=0, waiting=0, answer=lambda call: fakes.read_timeout())
    result = run({"images": ["li-1"], "max_age": "1d", "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert fake.ops(H3) == 1


def test_an_ambiguous_batch_that_failed_late_is_looked_for_a_full_start_timeout_after_the_failure(hss, capsys,
                                                                                                  fakes):
    # The request timed out 9 s after it was sent and was applied as it timed out: the start deadline
    # counts from the failure, so the late effect is found and the batch is not sent again.
    fake, clock = hss
    rows = [local_row("li-1"), local_row("li-2")]

    def timed_out(call):
        clock.sleep(9)
        return fakes.read_timeout()

    LateFleet(fake, rows, lag=6, answer=timed_out)
    result = run({"images": ["li-1", "li-2"], "wait_sleep": 1, "start_timeout": 10}, capsys)
    assert not result.get("failed"), result
    assert fake.ops(H3) == 1


def test_a_batch_answered_late_is_waited_for_a_full_start_timeout_after_the_answer(hss, capsys):
    fake, clock = hss
    rows = [local_row("li-1")]

    def answered_late(call):
        clock.sleep(9)
        return {}

    LateFleet(fake, rows, lag=6, answer=answered_late)
    result = run({"images": ["li-1"], "wait_sleep": 1, "start_timeout": 10}, capsys)
    assert not result.get("failed"), result
    assert fake.ops(H3) == 1 and result["images"][0]["scan_status"] == "success"


def test_a_batch_sent_again_after_the_start_deadline_gets_a_start_deadline_of_its_own(hss, capsys, fakes):
    # The first batch is lost before HSS applies it: no image shows it by the start deadline, so
    # it is sent again, and that one shows late too. The wait must give the second send its own
    # start deadline; counting from the first send failed the run at once ("no effect"), and
    # the next run, seeing the images still unscanned, scanned them a second time.
    fake, dummy = hss
    rows = [local_row("li-1"), local_row("li-2")]
    fleet = LateFleet(fake, rows, lag=8)
    sent = []

    def lost_then_applied(call):
        sent.append(call)
        return fakes.connection_reset() if len(sent) == 1 else fleet.trigger(call)

    fake.on(H3, lost_then_applied)
    result = run({"images": ["li-1", "li-2"], "start_timeout": 6, "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert fake.ops(H3) == 2 and sorted(fleet.triggered) == ["li-1", "li-2"]
    assert [image["scan_status"] for image in result["images"]] == ["success", "success"]


def test_a_negative_start_timeout_is_refused_before_any_request(hss, capsys):
    fake, dummy = hss
    result = run({"images": ["li-1"], "start_timeout": -1}, capsys)
    assert result["failed"] is True and "start_timeout must be 0 or more" in result["msg"] and fake.calls == []


# -- the cloud's clock runs ahead -------------------------------------------------------------------------

AHEAD = 600


@pytest.mark.parametrize("with_date", [True, False])
def test_max_age_is_measured_on_the_clouds_clock(hss, capsys, with_date):
    fake, dummy = hss
    if with_date:
        fake.server_ahead = AHEAD
    # Scanned 8 s ago (our clock), stamped by a cloud 10 minutes ahead: 8 s old, not 592 s "in the future".
    rows = [local_row("li-1", status="success", scan_ms=NOW_MS + (AHEAD - 8) * 1000),
            local_row("li-2", status="success", scan_ms=NOW_MS + (AHEAD - 1) * 1000)]
    fake.on(H5, lister(rows))
    fake.on(H3, {})
    result = run({"images": ["li-1", "li-2"], "max_age": "5s", "wait": False}, capsys)
    # Without a Date header, the newest scan time (li-2) bounds the offset: li-1 is at least 7 s old.
    assert [ref["id"] for ref in result["images_triggered"]] == ["li-1"], result
    assert [ref["id"] for ref in result["images_skipped"]] == ["li-2"]
    assert fake.of(H3)[0].body["image_info_list"] == [{"image_id": "li-1"}]


def test_images_carry_their_scan_time_on_our_clock(hss, capsys):
    fake, dummy = hss
    fake.server_ahead = AHEAD
    fake.on(H5, lister([local_row("li-1", status="success", scan_ms=NOW_MS + (AHEAD - 30) * 1000)]))
    result = run({"images": ["li-1"], "wait": False}, capsys)
    image = result["images"][0]
    assert image["latest_scan_time"] == "2026-01-01T00:09:30Z"
    # The Date header has whole seconds: the offset is bounded above, so the age is never short.
    assert image["latest_scan_time_local"] in ("2025-12-31T23:59:30Z", "2025-12-31T23:59:29Z")


# -- the last look before the trigger -------------------------------------------------------------------
# HSS scans an image on every host that holds it, so another job (another slice of the same job) that
# triggers an image of these rows while they are listed would have it scanned twice.


class Concurrent(object):
    """A fleet where another job acts on image li-1 once this run's listing is done (at the first
    listing by scan state, which no listing of the plan makes): it starts its scan (``status``
    waiting), or scans it to the end."""

    def __init__(self, fake, status="success", act=True):
        self.rows = [local_row("li-1", name="app1", host="node-1"), local_row("li-1", name="app1", host="node-2"),
                     local_row("li-2", name="app2", host="node-1")]
        self.status = status
        self.act = act
        fake.on(H5, self.listing)
        fake.on(H3, self.trigger)

    def trigger(self, call):
        ids = [item["image_id"] for item in call.body["image_info_list"]]
        for row in self.rows:
            if row["image_id"] in ids:
                row["scan_status"] = "waiting"
        return {}

    def listing(self, call):
        query = call.query
        if self.act and "scan_status" in query:
            self.act = False
            for row in self.rows:
                if row["image_id"] == "li-1":
                    row.update(scan_status=self.status,
                               latest_scan_time=NOW_MS + 2000 if self.status == "success" else 0)
        if "start_latest_scan_time" in query:
            low, high = int(query["start_latest_scan_time"]), int(query["end_latest_scan_time"])
            return lister([row for row in self.rows if low <= row["latest_scan_time"] <= high])(call)
        return lister(self.rows, ["host_id", "scan_status"])(call)


@pytest.mark.parametrize("status, reason", [("success", "within max_age"), ("waiting", "a scan is already waiting")])
def test_an_image_another_job_scanned_while_this_run_listed_is_not_sent_again(hss, capsys, status, reason):
    fake, dummy = hss
    fleet = Concurrent(fake, status)
    result = run({"host_ids": ["hid-node-1", "hid-node-2"], "max_age": "1d", "wait": False}, capsys)
    assert not result.get("failed"), result
    assert [call.body for call in fake.of(H3)] == [{"operate_all": False, "image_info_list": [{"image_id": "li-2"}]}]
    assert [ref["id"] for ref in result["images_triggered"]] == ["li-2"]
    skipped = dict(((ref["id"], ref["host"]["name"]), ref) for ref in result["images_skipped"])
    assert sorted(skipped) == [("li-1", "node-1"), ("li-1", "node-2")]
    assert all(reason in ref["reason"] for ref in skipped.values()), skipped
    # The listing returned is the one the plan was made on.
    assert sorted(image["scan_status"] for image in result["images"] if image["id"] == "li-1") == [status] * 2
    # The look reaches back before the listing began, and ahead of now, on the cloud's clock.
    (look,) = [call for call in fake.of(H5) if "start_latest_scan_time" in call.query]
    assert int(look.query["start_latest_scan_time"]) <= NOW_MS - 30000
    assert int(look.query["end_latest_scan_time"]) >= NOW_MS + 30000
    assert fleet.act is False


def test_an_image_scanned_by_nobody_meanwhile_is_sent_after_a_look_of_three_calls(hss, capsys):
    fake, dummy = hss
    Concurrent(fake, act=False)
    result = run({"host_ids": ["hid-node-1", "hid-node-2"], "max_age": "1d", "wait": False}, capsys)
    assert [call.body["image_info_list"] for call in fake.of(H3)] == [[{"image_id": "li-1"}, {"image_id": "li-2"}]]
    first_trigger = min(i for i, call in enumerate(fake.calls) if call.op == H3)
    looks = [call.query.get("scan_status") or "scan time" for call in fake.calls[1:first_trigger]]
    assert sorted(looks) == ["scan time", "scanning", "waiting_for_scan"]
    assert len(result["images_triggered"]) == 3
    # Then one listing of the hosts' rows in every state shows the trigger; the wait need not again.
    last_trigger = max(i for i, call in enumerate(fake.calls) if call.op == H3)
    assert [(call.op, call.query.get("scan_status")) for call in fake.calls[last_trigger + 1:]] == [(H5, None)]
    assert result["trigger_shown"] is True


@pytest.mark.parametrize("force", [True, False])
def test_force_and_check_mode_take_no_last_look(hss, capsys, force):
    fake, dummy = hss
    Concurrent(fake)
    result = run({"host_ids": ["hid-node-1", "hid-node-2"], "max_age": "1d", "wait": False, "force": force}, capsys,
                 check_mode=not force)
    assert not result.get("failed"), result
    assert [call for call in fake.of(H5) if "start_latest_scan_time" in call.query] == []
    triggers = [i for i, call in enumerate(fake.calls) if call.op == H3]
    assert [call.op for call in fake.calls[:triggers[0] if triggers else None]] == [H5]
    if force:
        # force scans again, as asked, what another job scanned meanwhile
        assert [call.body["image_info_list"] for call in fake.of(H3)] == [[{"image_id": "li-1"}, {"image_id": "li-2"}]]
    else:
        assert fake.of(H3) == []


# -- turns to trigger -------------------------------------------------------------------------------


def test_the_last_look_the_trigger_and_its_effect_happen_in_the_accounts_turn(hss, capsys, tmp_path):
    fake, dummy = hss
    rows = [local_row("li-1"), local_row("li-2", host="node-2")]
    LateFleet(fake, rows, lag=3)
    held = []

    def path():
        found = [str(name) for name in tmp_path.iterdir()]
        assert len(found) <= 1
        return found[0] if found else None

    def noting(handler):
        def answer(call):
            held.append((call.op, bool(path()) and lock_held(path())))
            return handler(call)
        return answer

    for op in (H3, H5):
        fake.on(op, noting(fake.handlers[op][0]))

    result = run({"images": ["li-1", "li-2"], "wait": False, "wait_sleep": 1, "lock_dir": str(tmp_path)}, capsys)
    assert not result.get("failed"), result
    first_trigger = [op for op, dummy in held].index(H3)
    # The plan's listing comes before the turn (the lock file is created for it), then the look,
    # the trigger and the looks until the trigger shows (here after 3 listings) all hold the lock.
    assert held[0] == (H5, False)
    assert first_trigger == 4 and all(locked for op, locked in held[1:]), held
    # wait=false: the run returned once HSS showed the trigger (after the lag), not before.
    assert [row["scan_status"] for row in rows] != ["unscan"] * 2
    assert len(held) - first_trigger - 1 >= 3
    assert result["trigger_shown"] is True
    # And the turn ends with the run.
    assert not lock_held(path())


def test_a_trigger_that_does_not_show_by_start_timeout_ends_the_turn_unconfirmed(hss, capsys, tmp_path):
    fake, clock = hss
    LateFleet(fake, [local_row("li-1")], lag=1000)
    result = run({"images": ["li-1"], "wait": False, "wait_sleep": 2, "start_timeout": 9,
                  "lock_dir": str(tmp_path)}, capsys)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["trigger_shown"] is False
    assert 9 <= sum(clock.sleeps) < 11


def test_a_run_waits_for_its_turn_and_starts_nothing_when_lock_timeout_runs_out(hss, capsys, tmp_path):
    fake, clock = hss
    Concurrent(fake)
    run({"host_ids": ["hid-node-1"], "max_age": "1d", "wait": False, "lock_dir": str(tmp_path)}, capsys,
        check_mode=True)
    assert list(tmp_path.iterdir()) == []  # check mode takes no turn
    Concurrent(fake, act=False)
    run({"host_ids": ["hid-node-1"], "max_age": "1d", "wait": False, "lock_dir": str(tmp_path)}, capsys)
    (path,) = list(tmp_path.iterdir())
    fake.calls[:] = []
    Concurrent(fake, act=False)
    lock = os.open(str(path), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    before = clock.now
    try:
        result = run({"host_ids": ["hid-node-1"], "max_age": "1d", "wait": False, "lock_dir": str(tmp_path),
                      "lock_timeout": 30}, capsys)
    finally:
        os.close(lock)
    assert result["failed"] and result["changed"] is False
    assert "lock_timeout (30 seconds)" in result["msg"] and str(path) in result["msg"], result["msg"]
    assert "nothing was started" in result["msg"]
    # It listed and planned, then waited for its turn: no look and no trigger.
    assert [call.op for call in fake.calls] == [H5]
    waited = clock.now - before
    assert 30 <= waited < 31 and max(clock.sleeps) <= _lock.LONGEST_PAUSE, waited


def test_runs_on_other_accounts_or_directories_have_other_lock_files(tmp_path, monkeypatch):
    a = _lock.lock_file(str(tmp_path), "hss", "https://hss.example", "p-1", None)
    assert a == _lock.lock_file(str(tmp_path), "hss", "https://hss.example", "p-1", None)
    assert a != _lock.lock_file(str(tmp_path), "hss", "https://hss.example", "p-2", None)
    assert a != _lock.lock_file(str(tmp_path), "hss", "https://hss.example", "p-1", "ep-1")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    os.makedirs(str(tmp_path / "tmp"))
    default = _lock.lock_file(None, "hss", "https://hss.example", "p-1", None)
    directory = os.path.dirname(default)
    assert directory == str(tmp_path / "tmp" / ("cloudsec-image-scan-%d" % os.getuid()))
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(_lock.LockError, match="is not a directory"):
        _lock.lock_file(str(tmp_path / "file"), "hss")
