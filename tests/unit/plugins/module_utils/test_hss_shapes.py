# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""_hss_shapes and _hss_ops: input checks, request builders, normalisers, the plan by image, the task lookup."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_ops, _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

# -- checks ------------------------------------------------------------------------------------------------


def test_check_query_converts_types_and_keeps_known_keys():
    checked = hs.check_query({"has_vul": "yes", "image_size": "42", "namespace": "shop", "image_name": None,
                              "scan_status": "image_oversized"}, hs.H1_QUERY_FIELDS, image_type="registry")
    assert checked == {"has_vul": True, "image_size": 42, "namespace": "shop", "scan_status": "image_oversized"}


@pytest.mark.parametrize("query, image_type, words", [
    ({"nope": 1}, "registry", ["query: unknown key(s) nope", "allowed keys", "app_name"]),
    ({"pod_name": "x" * 513}, "local", ["query.pod_name", "512"]),
    ({"image_size": True}, "local", ["query.image_size", "integer"]),
    ({"image_size": -1}, "local", ["query.image_size"]),
    ({"local_image_type": "docker"}, "local", ["swr_image, other_image"]),
    ({"cluster_id": "c"}, "registry", ["query.cluster_id applies only to image_type=local"]),
    ({"image_type": "harbor"}, "local", ["query.image_type applies only to image_type=registry"]),
    ({"namespace": 5}, "registry", ["query.namespace must be a string"]),
    ({"start_latest_update_time": 9, "end_latest_update_time": 3}, "local", ["start_latest_update_time"]),
    ("text", "local", ["query must be a dictionary"]),
])
def test_check_query_refuses(query, image_type, words):
    with pytest.raises(ValueError) as info:
        hs.check_query(query, hs.H1_QUERY_FIELDS, image_type=image_type)
    for word in words:
        assert word in str(info.value)


def test_h3_query_has_no_host_keys():
    with pytest.raises(ValueError) as info:
        hs.check_query({"host_id": "h"}, hs.H3_QUERY_FIELDS)
    assert "host_id" in str(info.value)


REGISTRY = {"id": "1001", "image_digest": "sha256:a", "namespace": "shop", "image_name": "cart",
            "image_version": "2.3.1", "registry_id": "r", "registry_name": "swr", "registry_type": "SwrPrivate"}


def test_check_scan_images_registry_and_local():
    assert hs.check_scan_images([REGISTRY], "registry") == [dict(REGISTRY, id=1001)]
    local = hs.check_scan_images([{"image_id": "i", "image_name": "n", "image_version": "1"}], "local")
    assert local == [{"image_id": "i", "image_name": "n", "image_version": "1", "registry_type": "Local",
                      "registry_id": "", "registry_name": ""}]
    enterprise = dict(REGISTRY, registry_type="SwrEnterprise", instance_id="ins")
    assert hs.check_scan_images([enterprise], "registry")[0]["instance_id"] == "ins"


@pytest.mark.parametrize("image, image_type, words", [
    (dict(REGISTRY, registry_id=""), "registry", ["images[0]: missing key(s) registry_id", "registry images need"]),
    ({"image_id": "i"}, "local", ["missing key(s) image_name, image_version"]),
    (dict(REGISTRY, extra=1), "registry", ["unknown key(s) extra"]),
    (dict(REGISTRY, id=-4), "registry", ["images[0].id"]),
    (dict(REGISTRY, image_version=2), "registry", ["images[0].image_version must be a non-empty string"]),
    ("cart", "registry", ["images[0] must be a dictionary"]),
])
def test_check_scan_images_refuses(image, image_type, words):
    with pytest.raises(ValueError) as info:
        hs.check_scan_images([image], image_type)
    for word in words:
        assert word in str(info.value)


def test_check_local_images():
    assert hs.check_local_images(["a", {"image_digest": "sha256:x"}, {"image_name": "n", "image_version": "1"}]) == [
        {"image_id": "a"}, {"image_digest": "sha256:x"}, {"image_name": "n", "image_version": "1"}]
    with pytest.raises(ValueError):
        hs.check_local_images([{"image_name": "n"}])


@pytest.mark.parametrize("value, ok", [(None, True), (0, True), (1000, True), (1001, False), (-1, False)])
def test_check_rate_limit(value, ok):
    if ok:
        assert hs.check_rate_limit(value) == value
    else:
        with pytest.raises(ValueError, match="rate_limit"):
            hs.check_rate_limit(value)


# -- builders ----------------------------------------------------------------------------------------------


def test_h1_body():
    assert hs.h1_body(7, None, False, None, [{"image_id": "i"}]) == {
        "scan_scope": 7, "rate_limit": None, "is_all": False, "image_info": [{"image_id": "i"}]}
    assert hs.h1_body(7, 5, True, {"namespace": "n"}, [{"x": 1}]) == {
        "scan_scope": 7, "rate_limit": 5, "is_all": True, "query_info": {"namespace": "n"}}


def test_h3_body():
    assert hs.h3_body([{"image_id": "i"}]) == {"operate_all": False, "image_info_list": [{"image_id": "i"}]}
    assert hs.h3_body(operate_all=True, query={"image_name": "n"}) == {"operate_all": True, "image_name": "n"}


def test_image_info_from_rows():
    row = {"id": 1, "image_digest": "d", "namespace": "n", "image_name": "a", "image_version": "1",
           "registry_id": "r", "registry_name": "rn", "registry_type": "SwrEnterprise", "instance_id": "ins",
           "instance_url": "", "scan_status": "unscan"}
    assert hs.image_info_from_row(row, "registry") == {
        "id": 1, "image_digest": "d", "namespace": "n", "image_name": "a", "image_version": "1",
        "registry_id": "r", "registry_name": "rn", "registry_type": "SwrEnterprise", "instance_id": "ins"}
    assert hs.image_info_from_row({"image_id": "i", "image_name": "a", "image_version": "1"}, "local") == {
        "image_id": "i", "image_name": "a", "image_version": "1", "registry_id": "", "registry_name": "",
        "registry_type": "Local"}


def test_listing_filter_local():
    filters, check = hs.listing_filter({"private_ip": "10.0.0.1", "host_name": "n", "scan_status": "download_failed",
                                        "namespace": "shop", "start_latest_scan_time": 10}, "local")
    assert filters == {"host_ip": "10.0.0.1", "host_name": "n", "scan_status": "failed"}
    assert check({"scan_status": "download_failed", "image_name": "shop/cart", "latest_scan_time": 11})
    assert not check({"scan_status": "failed", "image_name": "shop/cart", "latest_scan_time": 11})
    assert not check({"scan_status": "download_failed", "image_name": "other/cart", "latest_scan_time": 11})
    assert not check({"scan_status": "download_failed", "image_name": "shop/cart", "latest_scan_time": 9})


def test_listing_filter_registry_time_pairs_go_to_the_api():
    filters, check = hs.listing_filter({"namespace": "n", "image_type": "harbor", "start_latest_update_time": 1,
                                        "end_latest_update_time": 2}, "registry")
    assert filters == {"namespace": "n", "image_type": "harbor", "start_latest_update_time": 1,
                       "end_latest_update_time": 2}
    assert check({"latest_update_time": 2}) and not check({"latest_update_time": 3})


# -- normalisers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, word, progress", [
    (0, "running", 0), (57, "running", 57), (100, "succeeded", 100), (-1, "stopped", 50),
    (-2, "timed_out", 50), (-3, "failed", 50),
])
def test_normalise_task(status, word, progress):
    row = {"task_id": "t", "task_name": "n", "image_type": "local", "task_status": status, "begin_time": 1767225600000,
           "end_time": 0, "remain_min": 4, "total_num": 4, "success_num": 1, "failed_num": 1, "risky_num": 1,
           "failed_images": [{"id": 7, "image_name": "a", "image_version": "1", "namespace": "",
                              "registry_type": "Local", "failed_reason": "huge_image"}]}
    task = hs.normalise_task(row)
    assert task["status"] == word and task["progress"] == progress
    assert task["begin_time"] == "2026-01-01T00:00:00Z" and task["end_time"] is None
    assert task["remaining_minutes"] == (4 if word == "running" else 0)
    assert task["failed_images"] == [{"id": 7, "name": "a", "version": "1", "namespace": None, "registry_id": None,
                                      "registry_name": None, "registry_type": "Local", "reason": "huge_image"}]
    assert (task["total"], task["succeeded"], task["failed"], task["risky"]) == (4, 1, 1, 1)


def test_normalise_task_none():
    assert hs.normalise_task(None) is None


@pytest.mark.parametrize("row, status", [
    ({"scan_status": "waiting"}, "waiting"),
    ({"scan_status": "waiting_for_scan"}, "waiting"),
    ({"scan_status": "unscan"}, "unscanned"),
    ({"scan_status": "failed", "scan_failed_desc": "huge_image"}, "image_oversized"),
    ({"scan_status": "failed", "scan_failed_desc": "docker_offline"}, "failed"),
    ({"scan_status": "image_oversized", "scan_failed_code": "image_over_sized"}, "image_oversized"),
    ({"scan_status": "download_failed"}, "download_failed"),
])
def test_normalise_image_status(row, status):
    assert hs.normalise_image_status(row) == status


def test_normalise_image_keys_are_those_of_the_architecture():
    image = hs.normalise_image({"image_name": "a", "image_version": "1", "image_id": "i", "scan_status": "success",
                                "severity_level": "Security", "host_id": "h", "host_name": "n"}, "local")
    assert set(image) >= {"name", "version", "id", "digest", "host", "hosts", "scan_status", "failure_reason",
                          "latest_scan_time", "severity", "vulnerability_count", "counts"}
    assert image["severity"] == "none" and image["host"] == {"id": "h", "name": "n", "ip": None}


@pytest.mark.parametrize("solution, fixed, fixable", [
    ("Upgrade log4j-core to 2.15.0 or later.", "2.15.0", True),
    ("Upgrade zlib1g to 1:1.2.11.dfsg-2+deb11u2 or later.", "1:1.2.11.dfsg-2+deb11u2", True),
    ("Update openssl to version 3.0.8-r0", "3.0.8-r0", True),
    ("The issue is fixed in 1.10.0; upgrade.", "1.10.0", True),
    ("Use 4.17.12 or later", "4.17.12", True),
    ("No fixed version is available yet.", None, False),
    ("Not fixed by the distribution.", None, False),
    ("Restrict access to the service.", None, True),
    ("", None, False),
    (None, None, False),
])
def test_fixed_version_and_fixable(solution, fixed, fixable):
    finding = hs.normalise_finding({"vul_id": "CVE-1", "repair_necessity": "delay_repair", "solution": solution})
    assert finding["fixed_version"] == fixed and finding["fixable"] is fixable
    assert finding["severity"] == "medium"


def test_normalise_host():
    assert hs.normalise_host({"host_id": "h", "host_name": "n", "private_ip": "", "agent_status": "Online"}) == {
        "id": "h", "name": "n", "ip": None, "agent_id": None, "agent_status": "online", "os_type": None,
        "protect_status": None}
    assert hs.normalise_host({"host_id": "h"})["agent_status"] == "unknown"


# -- plan by image -----------------------------------------------------------------------------------------


def _row(image_id, host, status="unscan", scan_ms=0):
    return {"image_id": image_id, "image_name": "a", "image_version": "1", "host_id": host, "host_name": host,
            "scan_status": status, "latest_scan_time": scan_ms}


def test_plan_grouped_scans_an_image_when_one_of_its_hosts_needs_it():
    now = 1767225600.0
    rows = [_row("i1", "a", "success", int(now * 1000) - 1000), _row("i1", "b"), _row("i1", "c", "scanning"),
            _row("i2", "a", "success", int(now * 1000) - 1000)]
    to_scan, triggered, skipped = hs.plan_grouped(rows, "local", 3600, False, now=now)
    assert [row["image_id"] for row in to_scan] == ["i1"]
    assert [(ref["id"], ref["host"]["id"], ref["reason"]) for ref in triggered] == [
        ("i1", "a", "scanned along with the same image on another host"), ("i1", "b", "never scanned")]
    assert [(ref["id"], ref["host"]["id"]) for ref in skipped] == [("i1", "c"), ("i2", "a")]


# -- task lookup ---------------------------------------------------------------------------------------------


class _Tasks(object):
    """A client whose H2 listings are scripted (one list of rows per listing, the last one stays);
    ``create_time`` keeps the rows that began at or after it, as the emulator does."""

    def __init__(self, *listings):
        self.listings = list(listings)
        self.queries = []

    def paginate(self, operation, params=None, max_results=None):
        assert operation == "ListImageScanTask"
        self.queries.append(dict(params))
        rows = self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]
        if "create_time" in params:
            rows = [row for row in rows if row.get("begin_time", 0) >= params["create_time"]]
        return list(rows)


def _task(task_id, begin_ms, total=1):
    return {"task_id": task_id, "begin_time": begin_ms, "total_num": total}


def test_the_task_finder_compares_the_tasks_before_and_after_whatever_their_order(clock):
    now_ms = int(clock.time() * 1000)
    old = [_task("a", now_ms - 60000), _task("b", now_ms - 1000)]
    # before: newest first (filtered, then unfiltered); after: oldest first, the new row last,
    # and begun 10 minutes "before" our clock (the cloud's clock runs behind)
    client = _Tasks(old, old, old + [_task("new", now_ms - 600000)])
    finder = _hss_ops.TaskFinder(client, "local")
    assert finder.known == {"a", "b"}
    assert finder.find()["task_id"] == "new"
    assert client.queries[0] == {"type": "image_scan", "task_type": "manual", "global_image_type": "local",
                                 "create_time": now_ms - _hss_ops.CLOCK_SKEW_MARGIN * 1000}
    assert "create_time" not in client.queries[1]


def test_the_task_finder_reads_the_unfiltered_list_for_a_task_without_start_time(clock):
    now_ms = int(clock.time() * 1000)
    client = _Tasks([_task("a", now_ms)], [_task("a", now_ms)], [_task("queued", 0), _task("a", now_ms)])
    finder = _hss_ops.TaskFinder(client, "registry")
    assert finder.find()["task_id"] == "queued"
    assert ["create_time" in query for query in client.queries] == [True, False, True, False]


def test_the_task_finder_finds_nothing_while_no_new_row_is_listed(clock):
    now_ms = int(clock.time() * 1000)
    client = _Tasks([_task("a", now_ms)])
    assert _hss_ops.TaskFinder(client, "registry").find() is None


def test_of_several_new_tasks_the_finder_takes_the_one_of_the_expected_size(clock):
    now_ms = int(clock.time() * 1000)
    client = _Tasks([], [], [_task("theirs", now_ms + 2000, total=7), _task("ours", now_ms + 1000, total=2)])
    assert _hss_ops.TaskFinder(client, "registry", expected=2).find()["task_id"] == "ours"
    client = _Tasks([], [], [_task("theirs", now_ms + 2000, total=7), _task("ours", now_ms + 1000, total=2)])
    assert _hss_ops.TaskFinder(client, "registry").find()["task_id"] == "theirs"


def test_task_done_uses_the_state_table():
    assert _hss_ops.task_done({"task_status": 100}) and _hss_ops.task_done({"task_status": -2})
    assert not _hss_ops.task_done({"task_status": 99}) and not _hss_ops.task_done(None)
    assert _scan.task_is_done(hs.normalise_task({"task_status": -1})["status"])


@pytest.mark.parametrize("status", [-2, -3])
def test_a_task_that_ended_with_a_result_for_every_image_finished(status):
    # -2 (timed out) / -3 (abnormal) with every image counted: the task finished and its failed
    # images are results, as TCSS's END with failed images.
    row = {"task_id": "t", "task_status": status, "end_time": 1767225660000, "total_num": 2, "success_num": 1,
           "failed_num": 1, "failed_images": [{"id": 1011, "failed_reason": "image_over_sized"}]}
    task = hs.normalise_task(row)
    assert task["status"] == "succeeded" and task["progress"] == 100 and task["failed"] == 1
    assert _hss_ops.task_done(row)


@pytest.mark.parametrize("status, word", [(-1, "stopped"), (-2, "timed_out"), (-3, "failed")])
def test_a_task_that_ended_before_every_image_stays_what_hss_says(status, word):
    row = {"task_id": "t", "task_status": status, "total_num": 3, "success_num": 1, "failed_num": 1}
    assert hs.normalise_task(row)["status"] == word
    assert hs.normalise_task(dict(row, total_num=0, success_num=0, failed_num=0))["status"] == word
    assert hs.normalise_task(dict(row, success_num=2))["status"] == ("stopped" if status == -1 else "succeeded")
