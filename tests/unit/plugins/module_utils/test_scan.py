# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _ops, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts


@pytest.mark.parametrize("names, mask", [
    (None, 0x7FFFFFFF),
    (["all"], 0x7FFFFFFF),
    (["vulnerability", "all"], 0x7FFFFFFF),
    (["vulnerability"], 0x000F0000),
    (["vulnerability", "malicious_file"], 0x000F0F00),
    (["baseline", "sensitive_info", "compliance"], 0x0000F0FF),
])
def test_hss_scan_scope_mask(names, mask):
    assert hs.scan_scope_mask(names) == mask


def test_hss_scan_scope_unknown_names_allowed_values():
    with pytest.raises(ValueError) as err:
        hs.scan_scope_mask(["vulnerability", "viruses"])
    assert "viruses" in str(err.value)
    assert "malicious_file" in str(err.value) and "all" in str(err.value)


@pytest.mark.parametrize("value, status", [
    (0, "running"), (57, "running"), ("99", "running"), (100, "succeeded"),
    (-1, "stopped"), (-2, "timed_out"), (-3, "failed"), (-9, "failed"), (None, "running"),
])
def test_hss_task_status(value, status):
    assert hs.task_status(value) == status


@pytest.mark.parametrize("kwargs, status", [
    (dict(status="SCANNING", schedule=40), "running"),
    (dict(status="READY"), "running"),
    (dict(status="END", schedule=100, scanned=5, total=5), "succeeded"),
    (dict(status="END", schedule=40, scanned=2, total=5), "stopped"),
    (dict(status="END", schedule=60, scanned=5, total=5), "succeeded"),
    (dict(status="SCANNING", schedule=100), "succeeded"),
    (dict(status="READY", schedule=100), "succeeded"),
    (dict(status="QUEUING", schedule=0), "running"),
    (dict(status="RUNNING", schedule=50), "running"),
    (dict(status="ANALYSING", schedule=50), "running"),
    (dict(status="ANALYSING", schedule=100), "succeeded"),
    (dict(status="CANCELLED"), "stopped"),
    (dict(status="END", sub_status="Timeout"), "timed_out"),
    (dict(status="END", sub_status="Cancel"), "stopped"),
    (dict(status="END", sub_status="Error"), "failed"),
    (dict(status="END", sub_status="Success"), "succeeded"),
])
def test_tcss_task_status(kwargs, status):
    assert ts.task_status(**kwargs) == status


def test_task_state_table_decides_done():
    assert not _scan.task_is_done("running")
    assert all(_scan.task_is_done(s) for s in ("succeeded", "stopped", "timed_out", "failed"))


@pytest.mark.parametrize("cloud, word, status", [
    (hs, "unscan", "unscanned"), (hs, "", "unscanned"), (hs, "waiting_for_scan", "waiting"), (hs, "waiting", "waiting"),
    (ts, "SCANNED", "success"), (ts, "notScan", "unscanned"), (ts, "scanErr", "failed"), (ts, "", "unscanned"),
    (hs, "image_oversized", "image_oversized"), (hs, "download_failed", "download_failed"),
])
def test_image_status(cloud, word, status):
    assert cloud.image_status(word) == status


@pytest.mark.parametrize("severity, value, word", [
    (hs.severity, "Security", "none"), (hs.severity, "High", "high"), (hs.severity, "immediate_repair", "high"),
    (hs.severity, "delay_repair", "medium"), (hs.severity, "not_needed_repair", "low"),
    (ts.finding_severity, 4, "critical"), (ts.finding_severity, 1, "low"), (ts.finding_severity, "3", "high"),
    (hs.severity, None, "unknown"), (ts.finding_severity, None, "unknown"), (hs.severity, "bogus", "unknown"),
    (ts.finding_severity, 9, "unknown"),
])
def test_severity(severity, value, word):
    assert severity(value) == word


def test_worst_severity_and_counts():
    assert _scan.worst_severity([]) == "none"
    assert _scan.worst_severity(["low", "critical", "medium"]) == "critical"
    assert _scan.worst_severity(["unknown", "none"]) == "unknown"
    counts = _scan.severity_counts([{"severity": "high"}, {"severity": "high"}, {"severity": "weird"}])
    assert counts == {"critical": 0, "high": 2, "medium": 0, "low": 0, "unknown": 1}


@pytest.mark.parametrize("text, seconds", [
    ("90", 90), (90, 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1d12h", 129600),
    ("1w", 604800), ("2h 30m", 9000),
])
def test_parse_duration(text, seconds):
    assert _scan.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "24x", "h", "-5", "1.5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        _scan.parse_duration(text)


def test_time_conversions():
    assert hs.epoch_ms_to_iso(0) is None
    assert hs.epoch_ms_to_iso(1735787045000) == "2025-01-02T03:04:05Z"
    assert ts.time_to_iso("2025-01-02 11:04:05") == "2025-01-02T03:04:05Z"
    assert ts.time_to_iso("0000-00-00 00:00:00") is None
    assert _scan.iso_to_epoch("2025-01-02T03:04:05Z") == 1735787045


NOW = 1735787045.0


@pytest.mark.parametrize("image, max_age, force, action", [
    ({"scan_status": "unscanned"}, 3600, False, "scan"),
    ({"scan_status": "scanning"}, 3600, False, "skip"),
    ({"scan_status": "waiting"}, 3600, True, "scan"),
    ({"scan_status": "success", "latest_scan_time": "2025-01-02T02:30:00Z"}, 3600, False, "skip"),
    ({"scan_status": "success", "latest_scan_time": "2025-01-01T00:00:00Z"}, 3600, False, "scan"),
    ({"scan_status": "failed", "latest_scan_time": "2025-01-02T02:30:00Z"}, 3600, False, "skip"),
    ({"scan_status": "image_oversized", "latest_scan_time": "2024-01-01T00:00:00Z"}, 60, False, "skip"),
    ({"scan_status": "image_oversized"}, 60, True, "scan"),
    ({"scan_status": "success", "latest_scan_time": "2020-01-01T00:00:00Z"}, None, False, "skip"),
    ({"scan_status": "success", "latest_scan_time": None}, 3600, False, "scan"),
])
def test_plan_image(image, max_age, force, action):
    got, reason = _scan.plan_image(image, max_age, force, now=NOW)
    assert got == action
    assert reason


def test_wait_for_backs_off_until_done(clock):
    answers = iter([1, 2, 3, 4, 5])
    result = _ops.wait_for(lambda: next(answers), lambda r: r == 5, timeout=100, sleep=2)
    assert result == 5
    assert clock.sleeps == [2, 3.0, 4.5, 6.75]


def test_wait_for_respects_the_deadline_and_returns_the_last_answer(clock):
    polls = []

    def poll():
        polls.append(clock.now)
        return {"progress": len(polls)}

    with pytest.raises(_ops.WaitTimeout) as err:
        _ops.wait_for(poll, lambda r: False, timeout=10, sleep=3)
    assert err.value.last == {"progress": len(polls)}
    assert clock.now == pytest.approx(1010.0)
    assert sum(clock.sleeps) == pytest.approx(10.0)
    assert max(clock.sleeps) <= 12


def test_plan_images_splits_with_reasons():
    images = [
        {"id": "a", "name": "nginx", "version": "1", "scan_status": "unscanned"},
        {"id": "b", "name": "redis", "version": "7", "scan_status": "scanning"},
        {"id": "c", "name": "big", "version": "1", "scan_status": "image_oversized"},
    ]
    to_scan, skipped = _scan.plan_images(images, 3600, False, now=NOW)
    assert [i["id"] for i in to_scan] == ["a"]
    assert [i["id"] for i in skipped] == ["b", "c"]
    assert all(i["reason"] for i in to_scan + skipped)
    to_scan, skipped = _scan.plan_images(images, 3600, True, now=NOW)
    assert [i["id"] for i in to_scan] == ["a", "b", "c"] and skipped == []


def test_batches():
    assert _scan.batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert _scan.batches([], 3) == []
