# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The soak's judge (tests/soak/soak.py): each check finds the violation it is for, and passes
a good run; a seed always chooses the same schedule."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.tests.soak import soak

TASK = "6b0ec982629f6fbed82c07cd"
SINCE = 1000.0


def dataset(tasks=(), batches=(), tcss=()):
    return {"hss": {"tasks": list(tasks), "batch_scans": list(batches), "local_images": [], "registry_images": []},
            "tcss": {"tasks": list(tcss), "images": []}}


def test_parse_seeds():
    assert soak.parse_seeds("1-3,7, 9-10") == [1, 2, 3, 7, 9, 10]
    assert soak.parse_seeds("5") == [5]


def test_a_seed_always_chooses_the_same_schedule():
    data = {"hss": {"local_images": [{"host_name": "node-%02d" % i, "image_id": "li-%d" % i} for i in range(5)],
                    "registry_images": [{"id": 1000 + i, "image_name": "x"} for i in range(4)]},
            "tcss": {"images": [{"ImageID": "sha256:%d" % i} for i in range(5)]}}
    assert soak.schedule(42, data) == soak.schedule(42, data)
    plans = [soak.schedule(seed, data) for seed in range(40)]
    assert len(set(str(plan["faults"]) for plan in plans)) > 30
    assert set(plan["intents"][0][0]["module"] for plan in plans) == {
        "hss_local_image_scan", "hss_image_scan", "tcss_image_scan"}
    kinds = set(kind for plan in plans for kind in plan["faults"] if kind != "seed")
    assert kinds == set(soak.FAULT_KINDS)


@pytest.mark.parametrize("stdout, stderr, result", [
    ("", "Traceback (most recent call last):\n  File ...\nKeyError: 'x'\n", {"failed": True, "msg": "x"}),
    ("not json", "", None),
    ("", "", {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error"}),
    ("", "", {"failed": True, "msg": "boom", "exception": "Traceback (most recent call last):\n ..."}),
])
def test_a_crash_or_a_traceback_is_a_violation(stdout, stderr, result):
    assert soak.check_output("step", result, stdout, stderr)


def test_a_clean_output_passes():
    assert soak.check_output("step", {"changed": True, "msg": "ok"}, '{"changed": true}', "") == []


@pytest.mark.parametrize("result, words", [
    ({"failed": True, "msg": ""}, "without a message"),
    ({"failed": True, "msg": "x", "error": {"error_code": None, "error_msg": "m"}}, "names no code"),
    ({"failed": True, "msg": "x", "error": {"error_code": "HSS.1000", "error_msg": ""}}, "no message"),
    ({"failed": True, "msg": "x", "error": {"error_code": "HSS.1000", "error_msg": "m", "request_id": None}},
     "no request id"),
    ({"failed": True, "msg": "Timed out", "task": None}, "without naming task %s" % TASK),
])
def test_a_failure_that_does_not_name_its_error_or_its_task_is_a_violation(result, words):
    problems = soak.check_failure("step", result, [TASK])
    assert any(words in problem for problem in problems), problems


@pytest.mark.parametrize("result", [
    {"failed": True, "msg": "Timed out", "task": {"id": TASK}, "error": None},
    # no cloud answered: the transport's own code, or a gateway's HTML page, has no request id
    {"failed": True, "msg": "x %s" % TASK, "error": {"error_code": "NetworkError", "error_msg": "reset"}},
    {"failed": True, "msg": "x %s" % TASK, "error": {"error_code": "502", "error_msg": "Bad Gateway"}},
    {"failed": True, "msg": "x", "task_id": TASK,
     "error": {"error_code": "HSS.1000", "error_msg": "m", "request_id": "req-1"}},
])
def test_a_failure_that_names_its_error_and_its_task_passes(result):
    assert soak.check_failure("step", result, [TASK]) == []


def test_a_scan_started_without_changed_is_a_violation():
    assert soak.check_changed("step", {"changed": False, "failed": True, "msg": "x"}, [TASK])
    assert soak.check_changed("step", {"changed": True}, [TASK]) == []
    assert soak.check_changed("step", {"changed": False}, []) == []


def scans(status="success", last_scan=SINCE + 5, pending=None):
    unit = {"kind": "local", "image": "nginx:1.25", "record_id": None, "host": "node-01", "image_id": "li-1",
            "status": status, "last_scan": last_scan, "pending_task": pending}
    return {"hss": [unit], "tcss": []}


OK = {"changed": True, "images_triggered": [{"id": "li-1", "host": {"name": "node-01"}}], "task": None}


@pytest.mark.parametrize("units, tasks, result", [
    (scans(status="scanning", last_scan=None, pending="batch"), {}, OK),
    (scans(last_scan=SINCE - 60), {}, OK),  # the scan is an old one
    (scans(), {TASK: "running"}, dict(OK, task={"id": TASK})),
    (scans(), {}, dict(OK, task={"id": TASK})),
    ({"hss": [], "tcss": []}, {}, OK),
])
def test_ok_after_a_wait_without_a_finished_scan_is_a_violation(units, tasks, result):
    assert soak.check_confirmed("step", result, units, SINCE, tasks)


def test_ok_after_a_wait_with_finished_scans_passes():
    assert soak.check_confirmed("step", dict(OK, task={"id": TASK}), scans(), SINCE, {TASK: "ended"}) == []
    # a failed run is judged by check_failure, not here
    assert soak.check_confirmed("step", dict(OK, failed=True), scans(status="waiting", pending="x"), SINCE, {}) == []


def counts(hss_tasks=0, batches=0, results=0, distinct=0):
    return {"tasks_created": {"hss": hss_tasks, "tcss": 0}, "batch_scans": batches,
            "images_scanned": {"hss": results, "tcss": 0}, "units_scanned": {"hss": distinct, "tcss": 0}}


@pytest.mark.parametrize("numbers, words", [
    (counts(hss_tasks=2, results=1, distinct=1), "2 hss scan tasks"),
    (counts(batches=2, results=2, distinct=2), "2 BatchScanLocalImage"),
    (counts(batches=1, results=4, distinct=2), "scanned twice"),
])
def test_more_than_one_scan_per_intent_is_a_violation(numbers, words):
    problems = soak.check_intent("intent", numbers, 1)
    assert any(words in problem for problem in problems), problems


def test_one_scan_per_intent_passes():
    assert soak.check_intent("intent", counts(hss_tasks=1, results=3, distinct=3), 1) == []
    assert soak.check_intent("intent", counts(batches=1, results=5, distinct=5), 1) == []


def test_started_between_counts_only_new_tasks_with_images():
    before = dataset(tasks=[{"task_id": "old", "total_num": 1}])
    after = dataset(tasks=[{"task_id": "old", "total_num": 1}, {"task_id": "new", "total_num": 2},
                           {"task_id": "empty", "total_num": 0}],
                    batches=[{"task_id": "b-1", "total_num": 3}], tcss=[{"TaskID": TASK, "ImageTotal": 1}])
    started, batches = soak.started_between(before, after)
    assert started == ["new", "batch scan b-1", TASK] and batches == 1


def test_bind_follows_the_task_or_the_images_of_the_trigger():
    trigger = {"task": {"id": TASK}, "invocation": {"module_args": {"start_timeout": 5}}}
    step = {"module": "tcss_image_scan_wait", "role": "wait", "args": {}}
    assert soak.bind(step, [trigger])["task_id"] == TASK
    local = {"task": None, "images_triggered": [{"id": "li-1", "host": {"id": "h-1"}, "latest_scan_time": None}],
             "invocation": {"module_args": {"start_timeout": 5, "host_name": "node-01"}}}
    args = soak.bind({"module": "hss_image_scan_wait", "role": "wait", "args": {}}, [local])
    assert args["images"] == [{"id": "li-1", "host": {"id": "h-1"}, "latest_scan_time": None}]
    assert args["start_timeout"] == 5
    # a registry trigger that names no task leaves nothing to wait for
    registry = {"task": None, "invocation": {"module_args": {"image_type": "registry"}}}
    assert soak.bind({"module": "hss_image_scan_wait", "role": "wait", "args": {}}, [registry]) is None


def test_a_known_defect_is_recognised_only_on_its_own_signature(monkeypatch):
    monkeypatch.setattr(soak, "KNOWN_DEFECTS", (
        ("a refusal of the run's own task", lambda result, started: bool(started) and (
            (result or {}).get("error") or {}).get("error_code") == "FailedOperation.ErrAlreadyScanning"),))
    refused = {"failed": True, "msg": "refused", "changed": False,
               "error": {"error_code": "FailedOperation.ErrAlreadyScanning", "error_msg": "m", "request_id": "r"}}
    assert soak.known_defect(refused, [TASK])
    assert soak.known_defect(refused, []) is None  # nothing was started: the refusal may be right
    other = dict(refused, error=dict(refused["error"], error_code="InternalError"))
    assert soak.known_defect(other, [TASK]) is None
    assert soak.known_defect(dict(refused, failed=False), [TASK]) is None
