# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""hss_image_scan: the requests each option produces, the plan, finding the task H1 created,
ambiguous failures, waiting, stopping, and input checks that send nothing."""

from __future__ import annotations

import fcntl
import os

import pytest

from ansible_collections.cloudsec.image_scan.plugins.modules import hss_image_scan

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.hss_fakes import (
    NOW_MS, SECRET, install, lister, local_row, lock_held, registry_image, registry_row, run_module, task_row)

H1 = "CreateManualImageScanTask"
H2 = "ListImageScanTask"
H4 = "StopImageScanTask"


@pytest.fixture
def hss(monkeypatch):
    return install(monkeypatch)


def run(args, capsys, **kwargs):
    return run_module(hss_image_scan.main, args, capsys, **kwargs)


def tasks_after_trigger(fake, rows_after, rows_before=()):
    """H2 answers: ``rows_before`` until H1 was sent, then ``rows_after``; by task_id when asked."""
    def handle(call):
        rows = list(rows_after) if fake.ops(H1) else list(rows_before)
        if "task_id" in call.query:
            rows = [row for row in rows if row["task_id"] == call.query["task_id"]]
        return {"total_num": len(rows), "data_list": rows}
    return handle


# -- input checks: nothing is sent ---------------------------------------------------------------------

REG = registry_image(registry_row())


@pytest.mark.parametrize("args, words", [
    ({"images": [REG], "scan_scope": ["vulnerability", "viruses"]}, ["scan_scope", "viruses", "malicious_file"]),
    ({"images": [REG], "rate_limit": 1001}, ["rate_limit", "0 and 1000"]),
    ({"images": [REG], "rate_limit": -1}, ["rate_limit"]),
    ({"all_images": True, "query": {"colour": "red"}}, ["query", "colour", "image_name"]),
    ({"all_images": True, "query": {"scan_status": "done"}}, ["query.scan_status", "image_oversized"]),
    ({"all_images": True, "query": {"has_vul": "maybe"}}, ["query.has_vul", "true or false"]),
    ({"all_images": True, "query": {"image_size": "big"}}, ["query.image_size", "integer"]),
    ({"all_images": True, "query": {"host_name": "node-01"}}, ["query.host_name", "image_type=local"]),
    ({"all_images": True, "image_type": "local", "query": {"image_type": "harbor"}}, ["query.image_type", "registry"]),
    ({"all_images": True, "query": {"start_latest_scan_time": 5, "end_latest_scan_time": 1}}, ["start_latest_scan_time"]),
    ({"images": [{"id": 1001, "image_name": "cart"}]}, ["images[0]", "missing", "image_digest", "registry_type"]),
    ({"images": [dict(REG, colour="red")]}, ["images[0]", "colour", "instance_url"]),
    ({"images": [dict(REG, registry_type="Quay")]}, ["images[0].registry_type", "Harbor"]),
    ({"images": [dict(REG, registry_type="Local")]}, ["images[0].registry_type", "image_type=local"]),
    ({"images": [dict(REG, registry_type="SwrEnterprise")]}, ["instance_id"]),
    ({"images": [dict(REG, id="abc")]}, ["images[0].id", "integer"]),
    ({"images": [dict(REG, image_version=1.1)]}, ["images[0].image_version", "string"]),
    ({"image_type": "local", "images": [{"image_id": "x", "image_name": "n"}]}, ["images[0]", "image_version"]),
    ({"image_type": "local", "images": [{"image_id": "x", "image_name": "n", "image_version": "1",
                                         "registry_type": "Harbor"}]}, ["registry_type must be Local"]),
    ({"images": ["cart"]}, ["images", "dict"]),
    ({}, ["images", "all_images", "task_id"]),
    ({"images": [REG], "all_images": True}, ["mutually exclusive"]),
    ({"query": {"image_name": "cart"}, "images": [REG]}, ["query", "all_images=true"]),
    ({"state": "absent"}, ["state is absent", "task_id"]),
    ({"images": [REG], "max_age": "soon"}, ["max_age", "24h"]),
    ({"images": [REG], "wait_timeout": -1}, ["wait_timeout"]),
    ({"images": [REG], "wait_sleep": 0}, ["wait_sleep"]),
    ({"task_id": "t-1", "images": [REG]}, ["task_id", "images"]),
    ({"images": [REG], "state": "gone"}, ["state", "present, absent"]),
])
def test_bad_input_fails_before_any_request(hss, capsys, args, words):
    fake, dummy = hss
    result = run(args, capsys)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"]
    assert fake.calls == []


def test_missing_credentials_fail_before_any_request(hss, capsys):
    fake, dummy = hss
    result = run({"images": [REG], "project_id": "p"}, capsys, with_credentials=False)
    assert result["failed"] is True
    assert "access_key" in result["msg"] and "HUAWEICLOUD_SDK_AK" in result["msg"]
    assert fake.calls == []


# -- registry images: plan, trigger, find the task, wait ---------------------------------------------------


def test_trigger_registry_images_and_wait(hss, capsys):
    fake, clock = hss
    row = registry_row()
    fake.on("ListRegistryImages", lister([row, registry_row(rid=1002, name="catalog")], ["namespace", "image_name"]))
    running = task_row("t-new", status=40, total=1, success=0, remain=2)
    done = task_row("t-new", status=100, risky=1)
    old = task_row("t-old", begin_ms=NOW_MS - 3600000)
    answers = iter([[old], [old], [old, running], [old, running], [old, done]])

    def tasks(call):
        rows = [r for r in next(answers) if call.query.get("task_id") in (None, r["task_id"])]
        return {"total_num": len(rows), "data_list": rows}

    fake.on(H2, tasks)
    fake.on(H1, {})
    result = run({"images": [registry_image(row)], "scan_scope": ["vulnerability", "baseline"], "rate_limit": 10,
                  "wait_sleep": 1}, capsys)
    assert result["changed"] is True, result
    h1 = fake.of(H1)
    assert len(h1) == 1
    assert h1[0].query == {"global_image_type": "registry"}
    assert h1[0].body == {"scan_scope": 0x000FF000, "rate_limit": 10, "is_all": False,
                          "image_info": [registry_image(row)]}
    assert h1[0].headers["region"] == "cn-north-4"
    # H6 was asked for exactly the named image
    h6 = fake.of("ListRegistryImages")
    assert h6[0].query["namespace"] == "shop" and h6[0].query["image_name"] == "cart"
    assert h6[0].query["image_version"] == "2.3.1" and h6[0].query["limit"] == "200"
    # the lookup after H1 asked for manual image scans of the same image type created since the
    # trigger, less the clock skew margin
    lookup = fake.of(H2)[2]
    assert lookup.query["type"] == "image_scan" and lookup.query["task_type"] == "manual"
    assert lookup.query["global_image_type"] == "registry"
    assert int(lookup.query["create_time"]) == NOW_MS - 15 * 60 * 1000
    # then polled by task id until done
    assert fake.of(H2)[-1].query["task_id"] == "t-new"
    task = result["task"]
    assert task["id"] == "t-new" and task["status"] == "succeeded" and task["progress"] == 100
    assert set(task) == {"id", "name", "image_type", "status", "progress", "begin_time", "end_time",
                         "remaining_minutes", "total", "succeeded", "failed", "risky", "failed_images"}
    assert task["risky"] == 1 and task["remaining_minutes"] == 0
    assert result["raw"]["task"]["task_id"] == "t-new"
    assert [ref["id"] for ref in result["images_triggered"]] == ["img-1001"]
    assert result["images_triggered"][0]["reason"] == "never scanned"
    assert result["images_skipped"] == []
    assert clock.sleeps and all(s >= 1 for s in clock.sleeps)


def test_recently_scanned_image_is_not_scanned_again(hss, capsys):
    fake, dummy = hss
    row = registry_row(status="success", scan_ms=NOW_MS - 3600000, vul_num=2, severity="High")
    fake.on("ListRegistryImages", lister([row]))
    result = run({"images": [registry_image(row)], "max_age": "24h"}, capsys)
    assert result["changed"] is False
    assert result["task"] is None
    assert result["images_triggered"] == []
    assert "within max_age" in result["images_skipped"][0]["reason"]
    assert fake.ops() == ["ListRegistryImages"]


def test_old_scan_is_scanned_again_after_max_age(hss, capsys):
    fake, dummy = hss
    row = registry_row(status="success", scan_ms=NOW_MS - 2 * 86400000)
    fake.on("ListRegistryImages", lister([row]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, {})
    result = run({"images": [registry_image(row)], "max_age": "1d"}, capsys)
    assert result["changed"] is True
    assert "older than max_age" in result["images_triggered"][0]["reason"]
    assert fake.ops(H1) == 1


@pytest.mark.parametrize("status, reason", [
    ("scanning", "already scanning"), ("waiting_for_scan", "already waiting"),
    ("image_oversized", "image_oversized"),
])
def test_busy_or_oversized_image_is_skipped_and_force_scans_it(hss, capsys, status, reason):
    fake, dummy = hss
    row = registry_row(status=status, scan_ms=NOW_MS - 100 * 86400000)
    fake.on("ListRegistryImages", lister([row]))
    result = run({"images": [registry_image(row)], "max_age": "1h"}, capsys)
    assert result["changed"] is False and reason in result["images_skipped"][0]["reason"]
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, {})
    result = run({"images": [registry_image(row)], "max_age": "1h", "force": True}, capsys)
    assert result["changed"] is True and result["images_triggered"][0]["reason"] == "force is set"
    assert fake.ops(H1) == 1


def test_check_mode_plans_but_triggers_nothing(hss, capsys):
    fake, dummy = hss
    rows = [registry_row(), registry_row(rid=1002, name="catalog", status="success", scan_ms=NOW_MS - 60000)]
    fake.on("ListRegistryImages", lister(rows, ["image_name"]))
    result = run({"images": [registry_image(r) for r in rows]}, capsys, check_mode=True)
    assert result["changed"] is True
    assert [ref["id"] for ref in result["images_triggered"]] == ["img-1001"]
    assert [ref["id"] for ref in result["images_skipped"]] == ["img-1002"]
    assert result["task"] is None
    assert fake.ops(H1) == 0 and fake.ops(H2) == 0


def test_unknown_image_fails_before_trigger(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([]))
    result = run({"images": [registry_image(registry_row())]}, capsys)
    assert result["failed"] is True and "id 1001" in result["msg"]
    assert fake.ops(H1) == 0


def test_many_images_are_listed_in_one_walk(hss, capsys):
    fake, dummy = hss
    rows = [registry_row(rid=2000 + i, name="app%d" % i) for i in range(12)]
    fake.on("ListRegistryImages", lister(rows))
    result = run({"images": [registry_image(r) for r in rows]}, capsys, check_mode=True)
    assert fake.ops("ListRegistryImages") == 1
    assert "image_name" not in fake.calls[0].query
    assert len(result["images_triggered"]) == 12


# -- all_images with a query ------------------------------------------------------------------------


def test_all_images_sends_the_query_when_everything_needs_a_scan(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row(), registry_row(rid=1002, name="catalog")], ["namespace"]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, {})
    result = run({"all_images": True, "query": {"namespace": "shop", "has_vul": "false"}, "wait": False}, capsys)
    assert result["changed"] is True
    assert fake.of("ListRegistryImages")[0].query["namespace"] == "shop"
    assert fake.of("ListRegistryImages")[0].query["has_vul"] == "false"
    assert fake.of(H1)[0].body == {"scan_scope": 0x7FFFFFFF, "is_all": True,
                                   "query_info": {"namespace": "shop", "has_vul": False}}
    assert result["task"]["id"] == "t-1"
    assert len(result["images_triggered"]) == 2


def test_all_images_lists_only_the_images_that_need_a_scan(hss, capsys):
    fake, dummy = hss
    fresh = registry_row(rid=1002, name="catalog", status="success", scan_ms=NOW_MS - 60000)
    fake.on("ListRegistryImages", lister([registry_row(), fresh]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, {})
    result = run({"all_images": True, "wait": False}, capsys)
    body = fake.of(H1)[0].body
    assert body["is_all"] is False
    assert body["image_info"] == [registry_image(registry_row())]
    assert [ref["id"] for ref in result["images_skipped"]] == ["img-1002"]


def test_all_images_with_nothing_to_scan_changes_nothing(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row(status="success", scan_ms=NOW_MS - 60000)]))
    result = run({"all_images": True}, capsys)
    assert result["changed"] is False and fake.ops(H1) == 0


def test_all_images_with_a_query_no_listing_can_apply_always_triggers(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([local_row(status="success", scan_ms=NOW_MS - 60000)]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1", image_type="local")]))
    fake.on(H1, {})
    result = run({"image_type": "local", "all_images": True, "query": {"cluster_id": "c1"}, "wait": False}, capsys)
    assert result["changed"] is True
    assert fake.of(H1)[0].body["is_all"] is True
    assert fake.of(H1)[0].body["query_info"] == {"cluster_id": "c1"}
    assert "cluster_id" in str(fake.warnings)


def test_local_image_scan_maps_the_query_onto_the_h5_filters(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([local_row(host="node-01"), local_row(host="node-02")], ["host_name"]))
    result = run({"image_type": "local", "all_images": True,
                  "query": {"host_name": "node-01", "private_ip": "10.0.0.1", "scan_status": "image_oversized"}},
                 capsys, check_mode=True)
    h5 = fake.of("ListImageLocal")[0].query
    assert h5["host_name"] == "node-01" and h5["host_ip"] == "10.0.0.1" and h5["scan_status"] == "failed"
    # image_oversized is checked on the rows, which are unscanned here
    assert result["changed"] is False and result["images_triggered"] == []


# -- local images -----------------------------------------------------------------------------------


def test_local_images_build_image_info_with_registry_type_local(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", host="node-01"), local_row("li-1", host="node-02", status="success",
                                                         scan_ms=NOW_MS - 60000)]
    fake.on("ListImageLocal", lister(rows, ["image_name"]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1", image_type="local")]))
    fake.on(H1, {})
    result = run({"image_type": "local", "wait": False,
                  "images": [{"image_id": "li-1", "image_name": "nginx", "image_version": "1.25"}]}, capsys)
    h1 = fake.of(H1)[0]
    assert h1.query == {"global_image_type": "local"}
    assert h1.body["image_info"] == [{"image_id": "li-1", "image_name": "nginx", "image_version": "1.25",
                                      "registry_type": "Local", "registry_id": "", "registry_name": ""}]
    reasons = {ref["host"]["name"]: ref["reason"] for ref in result["images_triggered"]}
    assert reasons == {"node-01": "never scanned", "node-02": "scanned along with the same image on another host"}
    assert result["task"]["image_type"] == "local"


# -- finding the task; ambiguous failures --------------------------------------------------------------


def test_the_lookup_ignores_tasks_known_before_and_tasks_begun_before_the_trigger(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    known = task_row("t-known", status=40)  # began after the recorded time, but listed before H1
    stale = task_row("t-stale", begin_ms=NOW_MS - 60000)
    ours = task_row("t-ours", begin_ms=NOW_MS + 500)
    fake.on(H2, tasks_after_trigger(fake, [known, ours, stale], rows_before=[known, stale]))
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())], "wait": False}, capsys)
    assert result["task"]["id"] == "t-ours"


def test_ambiguous_trigger_is_looked_up_and_not_sent_again_when_the_task_exists(hss, capsys, fakes):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, fakes.read_timeout())
    result = run({"images": [registry_image(registry_row())], "wait": False}, capsys)
    assert result["changed"] is True and result["task"]["id"] == "t-1"
    assert fake.ops(H1) == 1


def test_ambiguous_trigger_without_task_is_sent_once_more(hss, capsys, fakes):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))

    def tasks(call):
        rows = [task_row("t-1")] if fake.ops(H1) == 2 else []
        return {"total_num": len(rows), "data_list": rows}

    fake.on(H2, tasks)
    fake.on(H1, (502, {"error_code": "APIGW.0202", "error_msg": "Bad gateway."}), {})
    result = run({"images": [registry_image(registry_row())], "wait": False, "start_timeout": 20}, capsys)
    assert result["changed"] is True and result["task"]["id"] == "t-1"
    assert fake.ops(H1) == 2
    # the lookup looked until the start deadline before the second trigger
    assert 20 <= sum(clock.sleeps) <= 30


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_a_trigger_proven_not_applied_is_resent_at_most_backoff_retries_times(hss, capsys, fakes, retries):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, {"total_num": 0, "data_list": []})
    fake.on(H1, fakes.connection_reset())
    result = run({"images": [registry_image(registry_row())], "backoff_retries": retries}, capsys)
    assert result["failed"] is True
    assert "CreateManualImageScanTask was not applied after %d attempts" % (retries + 1) in result["msg"]
    assert result["error"]["ambiguous"] is True and result["error"]["error_code"] == "NetworkError"
    assert result["triggered_at"]
    assert fake.ops(H1) == retries + 1


def test_throttled_trigger_is_retried_and_creates_one_task(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}), {})
    result = run({"images": [registry_image(registry_row())], "wait": False}, capsys)
    assert result["changed"] is True and fake.ops(H1) == 2


def test_api_error_names_code_message_and_request_id(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, {"total_num": 0, "data_list": []})
    fake.on(H1, (400, {"error_code": "HSS.0001", "error_msg": "Invalid parameter: image_info[0].id"}))
    result = run({"images": [registry_image(registry_row())]}, capsys)
    assert result["failed"] is True
    assert "HSS.0001" in result["msg"] and "image_info[0].id" in result["msg"] and "req-400" in result["msg"]
    assert result["error"]["request_id"] == "req-400"
    assert fake.ops(H1) == 1
    assert SECRET not in str(result)


def test_task_not_found_after_trigger_warns_without_wait(hss, capsys):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, {"total_num": 0, "data_list": []})
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())], "wait": False, "start_timeout": 30}, capsys)
    assert result["changed"] is True and result["task"] is None
    assert "did not appear" in str(fake.warnings)
    assert 30 <= sum(clock.sleeps) <= 40


def test_task_not_found_by_the_start_deadline_fails_a_wait(hss, capsys):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, {"total_num": 0, "data_list": []})
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())], "start_timeout": 30}, capsys)
    assert result["failed"] is True and result["changed"] is True
    assert "no new task appeared" in result["msg"] and "start_timeout (30 seconds)" in result["msg"]
    assert result["triggered_at"] and result["triggered_at"] in result["msg"]
    assert fake.ops(H1) == 1


def late_task(fake, row, after):
    """H2 answers: the tasks listed show ``row`` only from the ``after``-th listing after H1 on."""
    seen = {"listings": 0}

    def handle(call):
        rows = []
        if fake.ops(H1):
            seen["listings"] += 1
            if seen["listings"] > after:
                rows = [row]
        if "task_id" in call.query:
            rows = [r for r in rows if r["task_id"] == call.query["task_id"]]
        return {"total_num": len(rows), "data_list": rows}
    return handle


def test_a_late_task_row_is_looked_for_up_to_the_start_deadline(hss, capsys):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, late_task(fake, task_row("t-late"), after=6))
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())], "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert result["task"]["id"] == "t-late" and result["task"]["status"] == "succeeded"
    assert fake.ops(H1) == 1 and fake.warnings == []


def test_an_ambiguous_trigger_whose_task_shows_late_is_not_sent_again(hss, capsys, fakes):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, late_task(fake, task_row("t-late"), after=8))
    fake.on(H1, fakes.read_timeout())
    result = run({"images": [registry_image(registry_row())], "wait_sleep": 1}, capsys)
    assert not result.get("failed"), result
    assert result["task"]["id"] == "t-late" and fake.ops(H1) == 1


def slow(clock, seconds, answer):
    """An H1 handler that takes ``seconds`` (throttling retries, a timeout) before ``answer()``."""
    def handle(call):
        clock.sleep(seconds)
        return answer()
    return handle


def test_a_trigger_that_timed_out_late_is_looked_for_a_full_start_timeout_after_the_failure(hss, capsys, fakes):
    # The request timed out 9 s after it was sent and was applied as it timed out: its task shows
    # only later. The start deadline counts from the failure, not from the send: not sent again.
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, late_task(fake, task_row("t-late"), after=4))
    fake.on(H1, slow(clock, 9, fakes.read_timeout))
    result = run({"images": [registry_image(registry_row())], "wait_sleep": 1, "start_timeout": 10}, capsys)
    assert not result.get("failed"), result
    assert result["task"]["id"] == "t-late" and fake.ops(H1) == 1


def test_a_trigger_answered_late_is_looked_for_a_full_start_timeout_after_the_answer(hss, capsys):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, late_task(fake, task_row("t-late"), after=4))
    fake.on(H1, slow(clock, 9, dict))
    result = run({"images": [registry_image(registry_row())], "wait_sleep": 1, "start_timeout": 10}, capsys)
    assert not result.get("failed"), result
    assert result["task"]["id"] == "t-late" and fake.ops(H1) == 1


@pytest.mark.parametrize("second", ["answered", "answer lost"])
def test_a_trigger_sent_again_gets_a_start_deadline_of_its_own(hss, capsys, fakes, second):
    # The first H1 fails before HSS applies it: no task by the start deadline, so it is sent
    # again; the task of the second one shows late. Counting the start deadline from the first
    # send, the run failed at once ("no new task appeared") or, when the second answer was lost
    # too, sent H1 a third time (a second task for one intent).
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    seen = {"listings": 0}

    def tasks(call):
        rows = []
        if fake.ops(H1) >= 2:
            seen["listings"] += 1
            if seen["listings"] > 6:
                rows = [task_row("t-1")]
        if "task_id" in call.query:
            rows = [r for r in rows if r["task_id"] == call.query["task_id"]]
        return {"total_num": len(rows), "data_list": rows}

    fake.on(H2, tasks)
    fake.on(H1, (502, {"error_code": "APIGW.0202", "error_msg": "Bad gateway."}),
            {} if second == "answered" else fakes.read_timeout())
    result = run({"images": [registry_image(registry_row())], "wait_sleep": 1, "start_timeout": 10}, capsys)
    assert not result.get("failed"), result
    assert result["task"]["id"] == "t-1" and result["task"]["status"] == "succeeded"
    assert fake.ops(H1) == 2


def test_a_queued_task_without_start_time_is_found_in_an_oldest_first_list(hss, capsys):
    fake, dummy = hss
    old = [task_row("t-%d" % i, begin_ms=NOW_MS - 3600000 + i) for i in range(3)]
    queued = task_row("t-queued", status=0, begin_ms=0, success=0)

    def tasks(call):
        rows = old + ([queued] if fake.ops(H1) else [])
        if "create_time" in call.query:
            rows = [r for r in rows if r["begin_time"] >= int(call.query["create_time"])]
        if "task_id" in call.query:
            rows = [r for r in rows if r["task_id"] == call.query["task_id"]]
        return {"total_num": len(rows), "data_list": rows}

    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, tasks)
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())], "wait": False}, capsys)
    assert result["task"]["id"] == "t-queued" and fake.warnings == []


# -- waiting ------------------------------------------------------------------------------------------


def test_wait_timeout_fails_with_the_task_id_and_progress(hss, capsys):
    fake, clock = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-slow", status=30, total=10, success=3, remain=9)]))
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())], "wait_timeout": 20, "wait_sleep": 2}, capsys)
    assert result["failed"] is True
    assert "t-slow" in result["msg"] and "30%" in result["msg"] and "task_id" in result["msg"]
    assert result["task"]["id"] == "t-slow" and result["task"]["progress"] == 30
    assert result["changed"] is True
    # polled with growing pauses (the last one cut short by the deadline), within the deadline
    waits = clock.sleeps[-4:-1]
    assert waits == sorted(waits) and waits[0] < waits[-1]


@pytest.mark.parametrize("status, word", [(-1, "stopped"), (-2, "timed_out"), (-3, "failed")])
def test_task_that_ends_badly_fails_the_run(hss, capsys, status, word):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1", status=status, total=4, success=1, failed=1)]))
    fake.on(H1, {})
    result = run({"images": [registry_image(registry_row())]}, capsys)
    assert result["failed"] is True and word in result["msg"]
    assert result["task"]["status"] == word and result["task"]["progress"] == 50


def test_task_id_follows_an_existing_task_without_triggering(hss, capsys):
    fake, dummy = hss
    fake.on(H2, {"total_num": 1, "data_list": [task_row("t-9", status=50)]},
            {"total_num": 1, "data_list": [task_row("t-9", status=100)]})
    result = run({"task_id": "t-9", "wait_sleep": 1}, capsys)
    assert result["changed"] is False and result["task"]["status"] == "succeeded"
    assert fake.ops(H1) == 0 and all(c.query["task_id"] == "t-9" for c in fake.of(H2))


def test_unknown_task_id_fails(hss, capsys):
    fake, dummy = hss
    fake.on(H2, {"total_num": 0, "data_list": []})
    result = run({"task_id": "nope"}, capsys)
    assert result["failed"] is True and "nope" in result["msg"]


# -- state=absent ------------------------------------------------------------------------------------


def test_absent_stops_a_running_task(hss, capsys):
    fake, dummy = hss
    fake.on(H2, {"total_num": 1, "data_list": [task_row("t-1", status=20)]},
            {"total_num": 1, "data_list": [task_row("t-1", status=-1)]})
    fake.on(H4, {})
    result = run({"state": "absent", "task_id": "t-1"}, capsys)
    assert result["changed"] is True and result["task"]["status"] == "stopped"
    stop = fake.of(H4)[0]
    assert stop.params["task_id"] == "t-1" and stop.body is None and stop.headers["region"] == "cn-north-4"


def test_absent_on_a_finished_task_changes_nothing(hss, capsys):
    fake, dummy = hss
    fake.on(H2, {"total_num": 1, "data_list": [task_row("t-1", status=100)]})
    result = run({"state": "absent", "task_id": "t-1"}, capsys)
    assert result["changed"] is False and fake.ops(H4) == 0


def test_absent_in_check_mode_only_reports(hss, capsys):
    fake, dummy = hss
    fake.on(H2, {"total_num": 1, "data_list": [task_row("t-1", status=20)]})
    result = run({"state": "absent", "task_id": "t-1"}, capsys, check_mode=True)
    assert result["changed"] is True and fake.ops(H4) == 0


def test_absent_after_an_ambiguous_stop_looks_before_stopping_again(hss, capsys, fakes):
    fake, dummy = hss
    fake.on(H2, {"total_num": 1, "data_list": [task_row("t-1", status=20)]},
            {"total_num": 1, "data_list": [task_row("t-1", status=-1)]})
    fake.on(H4, fakes.read_timeout())
    result = run({"state": "absent", "task_id": "t-1"}, capsys)
    assert result["changed"] is True and result["task"]["status"] == "stopped"
    assert fake.ops(H4) == 1


# -- images HSS will not scan ---------------------------------------------------------------------------


def test_registry_images_not_scannable_are_never_triggered_and_change_nothing(hss, capsys):
    fake, dummy = hss
    rows = [dict(registry_row(), scannable=False), dict(registry_row(rid=1002, name="catalog"), scannable=False)]
    fake.on("ListRegistryImages", lister(rows))
    for force in (False, True):
        result = run({"all_images": True, "force": force}, capsys)
        assert result["changed"] is False and fake.ops(H1) == 0, result
        assert [ref["scan_status"] for ref in result["images_skipped"]] == ["unscannable"] * 2
        assert "scannable: false" in result["images_skipped"][0]["unscannable_reason"]


def test_a_scannable_registry_image_is_triggered_without_the_unscannable_one(hss, capsys):
    fake, dummy = hss
    blocked = dict(registry_row(rid=1002, name="catalog"), scannable=False)
    fake.on("ListRegistryImages", lister([registry_row(), blocked]))
    fake.on(H2, tasks_after_trigger(fake, [task_row("t-1")]))
    fake.on(H1, {})
    result = run({"images": [REG, registry_image(blocked)], "wait": False}, capsys)
    assert fake.of(H1)[0].body["image_info"] == [REG]
    assert [(ref["id"], ref["scan_status"]) for ref in result["images_skipped"]] == [("img-1002", "unscannable")]


def test_local_images_with_a_non_scan_reason_are_left_out_of_h1(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([dict(local_row(), non_scan_reason="no licence")]))
    result = run({"image_type": "local", "all_images": True}, capsys)
    assert result["changed"] is False and fake.ops(H1) == 0
    assert result["images_skipped"][0]["unscannable_reason"] == "no licence"


# -- turns to trigger ---------------------------------------------------------------------------


def registry_job(fake):
    """One registry image that needs a scan; H2 lists the task H1 created from the lookup on."""
    row = registry_row()
    fake.on("ListRegistryImages", lister([row]))
    created = []
    fake.on(H1, lambda call: created.append(True) or {})

    def tasks(call):
        rows = [task_row("t-new", status=100)] if created else []
        return {"total_num": len(rows), "data_list": rows}

    fake.on(H2, tasks)
    return row


def test_the_listing_plan_trigger_and_task_lookup_happen_in_the_accounts_turn(hss, capsys, tmp_path):
    fake, dummy = hss
    row = registry_job(fake)
    held = []

    def noting(handler):
        def answer(call):
            found = [str(name) for name in tmp_path.iterdir()]
            held.append((call.op, bool(found) and lock_held(found[0])))
            return handler(call)
        return answer

    for op in ("ListRegistryImages", H1, H2):
        fake.on(op, noting(fake.handlers[op][0]))
    result = run({"images": [registry_image(row)], "wait_sleep": 1, "lock_dir": str(tmp_path)}, capsys)
    assert not result.get("failed"), result
    assert result["task"]["id"] == "t-new"
    # The listing, the tasks known before, the trigger and the lookup that finds its task hold the
    # lock; the wait for the task (here one poll) comes after the turn.
    ops = [op for op, dummy in held]
    trigger = ops.index(H1)
    assert ops[0] == "ListRegistryImages" and ops[trigger + 1] == H2, held
    assert all(locked for op, locked in held[:trigger + 2]), held
    assert held[trigger + 2:] == [(H2, False)], held


def test_a_registry_run_that_gets_no_turn_lists_nothing_and_starts_nothing(hss, capsys, tmp_path):
    fake, clock = hss
    row = registry_job(fake)
    run({"images": [registry_image(row)], "wait": False, "lock_dir": str(tmp_path)}, capsys)
    (path,) = list(tmp_path.iterdir())
    fake.calls[:] = []
    lock = os.open(str(path), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        result = run({"images": [registry_image(row)], "lock_dir": str(tmp_path), "lock_timeout": 5}, capsys)
    finally:
        os.close(lock)
    assert result["failed"] and result["changed"] is False
    assert "lock_timeout (5 seconds)" in result["msg"] and "nothing was started" in result["msg"]
    assert fake.calls == []


def test_check_mode_takes_no_turn(hss, capsys, tmp_path):
    fake, dummy = hss
    row = registry_job(fake)
    result = run({"images": [registry_image(row)], "lock_dir": str(tmp_path)}, capsys, check_mode=True)
    assert result["changed"] is True and fake.of(H1) == []
    assert list(tmp_path.iterdir()) == []
