# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""_tcss_shapes: option checks, request parameters and the normalisers of TCSS answers; T8 reading."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_ops
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError


# -- times --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, iso", [
    ("2026-01-01 08:00:00", "2026-01-01T00:00:00Z"),        # China Standard Time
    ("2026-01-01 03:04:05", "2025-12-31T19:04:05Z"),        # across midnight
    ("2021-01-29T06:10:12.021Z", "2021-01-29T06:10:12Z"),   # ISO in UTC stays
    ("2021-01-29T04:03:18Z", "2021-01-29T04:03:18Z"),
    ("2026-01-01T08:00:00+08:00", "2026-01-01T00:00:00Z"),  # UTC offsets are honoured
    ("2026-01-01 08:00:00+0800", "2026-01-01T00:00:00Z"),
    ("2026-01-01T08:00:00.250-05:00", "2026-01-01T13:00:00Z"),
    ("2026-01-01T08:00:00+00:00", "2026-01-01T08:00:00Z"),
    ("", None),
    (None, None),
    ("0000-00-00 00:00:00", None),
    ("yesterday", None),
])
def test_tcss_time_to_iso(value, iso):
    assert ts.time_to_iso(value) == iso


# -- names --------------------------------------------------------------------------------------

@pytest.mark.parametrize("full, parts", [
    ("nginx:1.25", ("nginx", "1.25", None)),
    ("nginx", ("nginx", None, None)),
    ("registry.k8s.io/pause:3.9", ("registry.k8s.io/pause", "3.9", None)),
    ("host:5000/team/app", ("host:5000/team/app", None, None)),
    ("host:5000/team/app:2", ("host:5000/team/app", "2", None)),
    ("app@sha256:abc", ("app", None, "sha256:abc")),
    ("app:1@sha256:abc", ("app", "1", "sha256:abc")),
    ("", (None, None, None)),
])
def test_split_image_name(full, parts):
    assert ts.split_image_name(full) == parts


# -- severities ---------------------------------------------------------------------------------

def test_levels_follow_the_collection_scale():
    # Level 1..4 is low..critical, as ts.LEVELS says and as T5's per-level counts imply.
    assert [ts.finding_severity(level) for level in (1, 2, 3, 4)] == ["low", "medium", "high", "critical"]
    assert dict((level, ts.finding_severity(level)) for level in ts.LEVELS) == ts.LEVELS
    assert [ts.finding_severity(word) for word in ("CRITICAL", "HIGH", "MIDDLE", "LOW", "3")] == [
        "critical", "high", "medium", "low", "high"]
    assert ts.finding_severity(0) == "unknown" and ts.finding_severity(None) == "unknown"


@pytest.mark.parametrize("row, fixed, fixable", [
    ({"FixedVersions": "1.2", "Tag": []}, "1.2", True),
    ({"FixedVersions": "", "Tag": ["CanBeFixed"]}, None, True),
    ({"FixedVersions": "", "Tag": ["DynamicLevelPoc"]}, None, False),
    ({}, None, False),
])
def test_finding_fixable(row, fixed, fixable):
    finding = ts.normalise_finding(dict(row, CVEID="CVE-1", Level=2))
    assert (finding["fixed_version"], finding["fixable"]) == (fixed, fixable)


def test_finding_id_falls_back_to_the_name():
    assert ts.normalise_finding({"CVEID": "", "Name": "weak cipher", "Level": 1})["id"] == "weak cipher"


@pytest.mark.parametrize("status, counts, findings, word", [
    ("success", {"critical": 0, "high": 1, "medium": 3, "low": 0}, None, "high"),
    ("success", {"critical": 0, "high": 0, "medium": 0, "low": 0, "vulnerabilities": 0}, None, "none"),
    ("success", {"critical": 0, "high": 0, "medium": 0, "low": 0, "vulnerabilities": 2}, None, "unknown"),
    ("unscanned", {}, None, "unknown"),
    ("failed", {"low": 1}, None, "low"),
    ("success", {"vulnerabilities": 1}, [{"severity": "medium"}], "medium"),
])
def test_image_severity(status, counts, findings, word):
    assert ts.image_severity(status, counts, findings) == word


def test_add_findings_counts_by_severity():
    image = ts.normalise_image({"ImageID": "i", "ImageName": "a:1", "ScanStatus": "scanned", "VulCnt": 2})
    ts.add_findings(image, [{"CVEID": "c1", "Level": 4}, {"CVEID": "c2", "Level": 9}])
    assert image["severity_counts"] == {"critical": 1, "high": 0, "medium": 0, "low": 0, "unknown": 1}
    assert image["severity"] == "critical"


# -- tasks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, status, progress", [
    ({"Status": "SCANNING", "Schedule": 40, "ImageTotal": 5, "ImageScanCnt": 2}, "running", 40),
    ({"Status": "READY", "Schedule": 0, "ImageTotal": 5, "ImageScanCnt": 0}, "running", 0),
    ({"Status": "END", "Schedule": 100, "ImageTotal": 5, "ImageScanCnt": 5}, "succeeded", 100),
    ({"Status": "END", "Schedule": 40, "ImageTotal": 5, "ImageScanCnt": 2}, "stopped", 40),
    ({"Status": "END", "Schedule": 40, "ImageTotal": 5, "ImageScanCnt": 5}, "succeeded", 100),
    ({"Status": "SCANNING", "Schedule": 100, "ImageTotal": 5, "ImageScanCnt": 5}, "succeeded", 100),
    ({"Status": "MYSTERY", "Schedule": 30, "ImageTotal": 5, "ImageScanCnt": 1}, "running", 30),
    ({"Status": "", "Schedule": 100, "ImageTotal": 5, "ImageScanCnt": 5}, "succeeded", 100),
])
def test_task_from_status(answer, status, progress):
    task = ts.task_from_status(dict(answer, SuccessCount=0, RiskCount=0, LeftSeconds=61), task_id="t")
    assert (task["status"], task["progress"]) == (status, progress)
    assert task["remaining_minutes"] == (0 if status != "running" else 2)


def test_an_ended_task_with_failed_images_is_finished_and_counts_them():
    task = ts.task_from_status({"Status": "END", "Schedule": 60, "ImageTotal": 5, "ImageScanCnt": 5,
                                "SuccessCount": 2, "RiskCount": 1, "LeftSeconds": 0}, task_id="t")
    assert (task["status"], task["succeeded"], task["failed"]) == ("succeeded", 3, 2)


def test_task_counts_safe_and_risky_images_as_succeeded():
    # SuccessCount counts the images found safe (安全个数), RiskCount those with risks.
    task = ts.task_from_status({"Status": "END", "Schedule": 100, "ImageTotal": 10, "ImageScanCnt": 10,
                                "SuccessCount": 6, "RiskCount": 3, "LeftSeconds": 0}, task_id="t")
    assert (task["total"], task["succeeded"], task["failed"], task["risky"]) == (10, 9, 1, 3)
    assert set(task) == {"id", "name", "image_type", "status", "progress", "begin_time", "end_time",
                         "remaining_minutes", "total", "succeeded", "failed", "risky", "failed_images"}


@pytest.mark.parametrize("sub, status", [("Success", "succeeded"), ("Timeout", "timed_out"), ("Cancel", "stopped"),
                                         ("Error", "failed")])
def test_one_click_sub_status(sub, status):
    task = ts.task_from_one_click({"TaskID": "t", "Status": "END", "SubStatus": sub, "LastScanTime": "2026-01-01 08:00:00"})
    assert task["status"] == status and task["begin_time"] == "2026-01-01T00:00:00Z"


def test_one_click_without_task():
    assert ts.task_from_one_click({"TaskID": "", "Status": "READY"}) is None


def test_merge_prefers_the_sub_status_of_an_ended_one_click_task():
    status = ts.task_from_status({"Status": "END", "Schedule": 100, "ImageTotal": 2, "ImageScanCnt": 2}, task_id="t")
    one_click = ts.task_from_one_click({"TaskID": "t", "Status": "END", "SubStatus": "Timeout",
                                        "LastScanTime": "2026-01-01 08:00:00"})
    merged = ts.merge_task(status, one_click)
    assert merged["status"] == "timed_out" and merged["begin_time"] == "2026-01-01T00:00:00Z"
    assert merged["total"] == 2
    other = ts.task_from_one_click({"TaskID": "other", "Status": "END", "SubStatus": "Timeout"})
    assert ts.merge_task(status, other) is status


# -- hosts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, word", [("ONLINE", "online"), ("OFFLINE", "offline"), ("UNINSTALL", "not_installed"),
                                       ("Installing", "installing"), ("", "unknown"), (None, "unknown")])
def test_agent_status(raw, word):
    assert ts.agent_status(raw) == word


def test_attach_hosts():
    images = [{"id": "i1"}, {"id": "i2"}, {"id": "i3"}]
    pairs = [{"ImageID": "i1", "HostID": "h1"}, {"ImageID": "i1", "HostID": "h2"}, {"ImageID": "i1", "HostID": "h1"},
             {"ImageID": "i2", "HostID": "h9"}]
    known = {"h1": {"id": "h1", "name": "n1", "ip": "10.0.0.1"}, "h2": {"id": "h2", "name": "n2", "ip": "10.0.0.2"}}
    ts.attach_hosts(images, pairs, known)
    assert images[0]["hosts"] == [known["h1"], known["h2"]]
    assert images[1]["hosts"] == [{"id": "h9", "name": None, "ip": None}]
    assert images[2]["hosts"] == []
    images[0]["hosts"][0]["name"] = "changed"
    assert known["h1"]["name"] == "n1"


# -- requests -----------------------------------------------------------------------------------

def test_scan_task_params_never_send_all():
    params = ts.scan_task_params(["vulnerability", "risk"], scan_scope="all_authorized")
    assert params == {"ScanVul": True, "ScanVirus": False, "ScanRisk": True, "ScanScope": 0}
    assert "All" not in ts.scan_task_params(["virus"], images=["i"], scan_scope="selected", timeout=60,
                                            one_click=True, cluster_ids=["c"], exclude_image_ids=["x"],
                                            container_running=True, filters=[{"name": "ImageID", "values": ["i"]}])


def test_scan_scopes():
    assert [ts.scan_task_params(["virus"], scan_scope=s)["ScanScope"] for s in
            ("all_authorized", "selected", "recommended", "cluster")] == [0, 1, 2, 3]


def test_api_filters_leave_exact_match_out_unless_set():
    assert ts.api_filters([{"name": "ImageName", "values": ["a", 1], "exact_match": None},
                           {"name": "ImageID", "values": ["b"], "exact_match": False}]) == [
        {"Name": "ImageName", "Values": ["a", "1"]},
        {"Name": "ImageID", "Values": ["b"], "ExactMatch": False}]


def test_check_filters_names_the_item():
    filters = [
        {"name": "ImageID", "values": ["x"]},
        {"name": "Nope", "values": ["x"]},
        {"name": "ScanStatus", "values": ["scanned", "bad"]},
        {"name": "ImageName", "values": [""]},
    ]
    problems = ts.check_filters(filters, "filters", ts.IMAGE_FILTER_NAMES, ts.image_filter_values_problem)
    assert len(problems) == 3
    assert problems[0].startswith("filters[1].name must be one of ImageName, ImageID, ScanStatus, SecurityRisk")
    assert problems[1].startswith("filters[2].values: ScanStatus values must be among") and "bad" in problems[1]
    assert problems[2] == "filters[3].values must list at least one non-empty value"


def test_host_filters_accept_tags():
    assert ts.check_filters([{"name": "tag:env", "values": ["prod"]}], "filters", ts.HOST_FILTER_NAMES) == []
    assert ts.check_filters([{"name": "tag:env", "values": ["prod"]}], "filters", ts.IMAGE_FILTER_NAMES) != []


def test_image_list_filters_map_status_words():
    assert ts.image_list_filters(scan_status=["success", "failed", "waiting", "scanning"]) == [
        {"Name": "ScanStatus", "Values": ["scanned", "scanErr", "scanning"]}]


# -- T8: image-host pairs, read whole --------------------------------------------------------------


class _T8(object):
    """Answers T8 with at most ``cut`` pairs of those the filter selects, and the full TotalCount."""

    def __init__(self, pairs, cut):
        self.pairs = pairs
        self.cut = cut
        self.sent = []

    def call(self, action, params=None):
        assert action == "DescribeAssetImageHostList"
        assert "Limit" not in params and "Offset" not in params
        self.sent.append(params)
        rows = self.pairs
        for item in params.get("Filters") or []:
            rows = [row for row in rows if row[item["Name"]] in item["Values"]]
        return {"List": rows[:self.cut], "TotalCount": len(rows), "RequestId": "r"}


PAIRS = [{"ImageID": "i%d" % (n % 6), "HostID": "h%d" % n} for n in range(12)]


def test_t8_pairs_are_narrowed_by_halves_until_every_pair_is_read():
    client = _T8(PAIRS, cut=3)
    pairs = _tcss_ops.image_host_pairs(client, "ImageID", ["i%d" % n for n in range(6)])
    assert sorted(p["HostID"] for p in pairs) == sorted(p["HostID"] for p in PAIRS)
    assert len(client.sent) > 1


def test_t8_fails_closed_when_one_value_is_still_cut():
    client = _T8(PAIRS, cut=1)
    with pytest.raises(ApiError) as err:
        _tcss_ops.image_host_pairs(client, "ImageID", ["i0", "i1"])
    assert err.value.code == "IncompleteAnswer" and "ImageID i0" in str(err.value)


def test_t8_whole_listing_cut_fails_closed():
    with pytest.raises(ApiError) as err:
        _tcss_ops.image_host_pairs(_T8(PAIRS, cut=5))
    assert err.value.code == "IncompleteAnswer"
