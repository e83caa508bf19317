# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tcss_image_scan against a fake TCSS: plan, batches, waiting, one scan at a time, lost answers,
stop, check mode and input checks."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.modules import tcss_image_scan as module

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.tcss_fakes import FakeApiError, FakeTcss, Runner, host_row, image_row

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64
D = "sha256:" + "d" * 64
E = "sha256:" + "e" * 64
RECENT = "2026-01-01 07:59:00"   # a minute before the fake clock's start (China Standard Time)
OLD = "2020-01-01 08:00:00"


@pytest.fixture
def run(monkeypatch, capsys, clock):
    return Runner(monkeypatch, capsys, clock)


def fake_with(*rows, **kwargs):
    return FakeTcss(images=rows, **kwargs)


def unscanned(*ids):
    return [image_row(i, name="app%d:1.%d" % (n, n)) for n, i in enumerate(ids)]


# -- input checks: the option is named and nothing is sent ---------------------------------------

@pytest.mark.parametrize("args, words", [
    ({}, ["images, filters, host_ids or all_images=true is required"]),
    ({"host_ids": ["h1"], "images": [A]}, ["mutually exclusive", "host_ids"]),
    ({"host_ids": ["h1"], "task_id": "t-1"}, ["mutually exclusive", "host_ids"]),
    ({"host_ids": ["h1", " "]}, ["host_ids must not contain empty values"]),
    ({"host_ids": ["h1"], "state": "absent"}, ["host_ids is only used with state=present"]),
    ({"listed_hosts": [{"id": "h1"}]}, ["listed_hosts", "host_ids"]),
    ({"host_ids": ["h1"], "listed_hosts": [{"name": "node-1"}]}, ["listed_hosts[0] must be a host with an id"]),
    ({"host_ids": ["h1"], "scan_scope": "recommended"}, ["scan_scope must be selected"]),
    ({"images": [A], "all_images": True}, ["mutually exclusive", "images", "all_images"]),
    ({"images": [A], "filters": [{"name": "ImageID", "values": [A]}]}, ["mutually exclusive"]),
    ({"images": []}, ["images must list at least one value"]),
    ({"images": [A, ""]}, ["images must not contain empty values"]),
    ({"filters": [{"name": "ScanStatus", "values": ["done"]}]},
     ["filters[0].values", "ScanStatus values must be among notScan, scanning, scanned, scanErr"]),
    ({"filters": [{"name": "ImageID", "values": []}]}, ["filters[0].values must list at least one"]),
    ({"images": [A], "batch_size": 0}, ["batch_size must be 1 or more"]),
    ({"images": [A], "max_age": "soon"}, ["max_age", "not a duration"]),
    ({"images": [A], "task_timeout": 0}, ["task_timeout must be greater than 0"]),
    ({"images": [A], "wait_sleep": 0}, ["wait_sleep must be 1 or more"]),
    ({"images": [A], "wait_timeout": -1}, ["wait_timeout must be 0 or more"]),
    ({"images": [A], "scan_scope": "recommended"}, ["scan_scope must be selected"]),
    ({"all_images": True, "scan_scope": "selected"}, ["scan_scope=selected needs images or filters"]),
    ({"all_images": True, "scan_scope": "cluster"}, ["cluster_ids"]),
    ({"all_images": True, "cluster_ids": ["cls-1"]}, ["cluster_ids is only used with scan_scope=cluster"]),
    ({"images": [A], "task_id": "t-1"}, ["mutually exclusive", "task_id", "images"]),
    ({"state": "absent"}, ["one of task_id, images, filters or all_images=true is required with state=absent"]),
    ({"images": [A], "scan_types": []}, ["scan_types must list at least one"]),
    ({"images": [A], "scan_types": ["malware"]}, ["scan_types", "vulnerability, virus, risk"]),
    ({"filters": [{"name": "Tag", "values": ["x"]}]}, ["filters", "ImageName, ImageID, ScanStatus, SecurityRisk"]),
])
def test_bad_input_fails_before_any_request(run, args, words):
    fake = fake_with(*unscanned(A))
    result = run(module, fake, args)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"]
    assert fake.calls == []


def test_missing_credentials_fail_before_any_request(run):
    fake = fake_with(*unscanned(A))
    result = run(module, fake, {"images": [A]}, credentials=False)
    assert result["failed"] is True
    assert "secret_id" in result["msg"] and "TENCENTCLOUD_SECRET_ID" in result["msg"]
    assert fake.calls == []


# -- trigger, wait, idempotence -------------------------------------------------------------------

def test_scan_and_wait(run):
    fake = fake_with(*unscanned(A, B))
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result["changed"] is True and result["attached"] is False
    create = fake.params_of("CreateAssetImageScanTask")
    assert create == [{"Images": [A, B], "ScanVul": True, "ScanVirus": True, "ScanRisk": True, "ScanScope": 1}]
    task = result["task"]
    assert task["id"] == "task-1" and task["status"] == "succeeded" and task["progress"] == 100
    assert (task["total"], task["succeeded"], task["failed"]) == (2, 2, 0)
    assert [ref["id"] for ref in result["images_triggered"]] == [A, B]
    assert all(ref["reason"] == "never scanned" for ref in result["images_triggered"])
    assert result["images_skipped"] == []
    assert result["raw"]["create"][0]["TaskID"] == "task-1"
    # It polled the task it created, by id, until it ended.
    polls = fake.params_of("DescribeAssetImageScanStatus")
    assert polls and all(p == {"TaskID": "task-1"} for p in polls)
    assert len(fake.tasks) == 1


def test_second_run_changes_nothing(run):
    fake = fake_with(*unscanned(A, B))
    first = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    second = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert first["changed"] is True and second["changed"] is False
    assert second["task"] is None
    assert [ref["reason"] for ref in second["images_skipped"]] == ["last scan ended %s (success)" % "2026-01-01T00:00:00Z"] * 2
    assert fake.actions("CreateAssetImageScanTask") == 1


def test_times_are_china_standard_time(run):
    fake = fake_with(image_row(A, status="scanned", scan_time="2026-01-01 08:00:00"))
    result = run(module, fake, {"images": [A]})
    assert result["images_skipped"][0]["latest_scan_time"] == "2026-01-01T00:00:00Z"


def test_max_age_rescans_old_results_only(run):
    fake = fake_with(image_row(A, status="scanned", scan_time=OLD), image_row(B, status="scanned", scan_time=RECENT))
    result = run(module, fake, {"images": [A, B], "max_age": "7d", "wait_sleep": 1})
    assert result["changed"] is True
    assert fake.params_of("CreateAssetImageScanTask")[0]["Images"] == [A]
    assert "older than max_age" in result["images_triggered"][0]["reason"]
    assert "within max_age" in result["images_skipped"][0]["reason"]


def test_force_scans_everything(run):
    fake = fake_with(image_row(A, status="scanned", scan_time=RECENT))
    result = run(module, fake, {"images": [A], "force": True, "wait": False})
    assert result["changed"] is True
    assert result["images_triggered"][0]["reason"] == "force is set"
    assert fake.actions("CreateAssetImageScanTask") == 1


def test_image_being_scanned_is_not_scanned_again(run):
    fake = fake_with(*unscanned(A))
    fake.start_foreign_task([A])
    result = run(module, fake, {"images": [A], "wait": False})
    assert result["changed"] is False
    assert result["images_skipped"][0]["reason"] == "a scan is already scanning"
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_unknown_image_fails_before_scanning(run):
    fake = fake_with(*unscanned(A))
    result = run(module, fake, {"images": [A, B]})
    assert result["failed"] is True
    assert B in result["msg"] and "images" in result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_scan_types_and_task_options_are_sent(run):
    fake = fake_with(*unscanned(A))
    run(module, fake, {"images": [A], "scan_types": ["vulnerability"], "task_timeout": 900, "one_click": True,
                       "container_running": True, "wait": False})
    assert fake.params_of("CreateAssetImageScanTask") == [{
        "Images": [A], "ScanVul": True, "ScanVirus": False, "ScanRisk": False, "ContainerRunning": True,
        "ScanScope": 1, "Timeout": 900, "IsOneClickScanningTask": True}]


def test_one_task_carries_every_image_without_batch_size(run):
    ids = ["sha256:%064x" % n for n in range(250)]
    fake = fake_with(*unscanned(*ids))
    result = run(module, fake, {"images": ids, "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    creates = fake.params_of("CreateAssetImageScanTask")
    assert len(creates) == 1 and creates[0]["Images"] == ids
    assert [t["id"] for t in result["tasks"]] == ["task-1"] and result["task"]["total"] == 250
    assert "Started 1 scan task(s) for 250 image(s)" in result["msg"]
    # The task is not a one-click task: T3 knows nothing of it and is not read; T2 answers.
    assert fake.actions("DescribeAssetImageScanTask") == 0


def test_check_mode_says_one_task_without_batch_size(run):
    ids = ["sha256:%064x" % n for n in range(250)]
    fake = fake_with(*unscanned(*ids))
    result = run(module, fake, {"images": ids}, check_mode=True)
    assert result["changed"] is True and len(result["images_triggered"]) == 250
    assert "Would start 1 scan task(s) for 250 image(s)" in result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_batches_do_not_read_the_one_click_task(run):
    fake = fake_with(*unscanned(A, B, C))
    result = run(module, fake, {"images": [A, B, C], "batch_size": 1, "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 3
    assert fake.actions("DescribeAssetImageScanTask") == 0
    assert fake.actions("DescribeAssetHostList") == 0


def test_check_mode_starts_nothing(run):
    fake = fake_with(*unscanned(A, B, C))
    result = run(module, fake, {"images": [A, B, C], "batch_size": 2}, check_mode=True)
    assert result["changed"] is True
    assert [ref["id"] for ref in result["images_triggered"]] == [A, B, C]
    assert "Would start 2 scan task(s)" in result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 0 and fake.tasks == []


# -- batches --------------------------------------------------------------------------------------

def test_batches_run_one_after_another(run):
    fake = fake_with(*unscanned(A, B, C, D, E))
    result = run(module, fake, {"images": [A, B, C, D, E], "batch_size": 2, "wait": False, "wait_sleep": 1})
    assert result["changed"] is True
    assert [p["Images"] for p in fake.params_of("CreateAssetImageScanTask")] == [[A, B], [C, D], [E]]
    # Each batch was waited for before the next one: TCSS never refused one.
    assert [t.state for t in fake.tasks] == ["finished", "finished", "running"]
    assert [t["id"] for t in result["tasks"]] == ["task-1", "task-2", "task-3"]
    assert result["task"]["id"] == "task-3" and result["task"]["status"] == "running"
    sequence = [name for name in fake.actions() if name in ("CreateAssetImageScanTask", "DescribeAssetImageScanStatus")]
    first_create = sequence.index("CreateAssetImageScanTask")
    second_create = sequence.index("CreateAssetImageScanTask", first_create + 1)
    assert "DescribeAssetImageScanStatus" in sequence[first_create + 1:second_create]


def test_wait_false_reads_the_task_once(run):
    fake = fake_with(*unscanned(A))
    result = run(module, fake, {"images": [A], "wait": False})
    assert result["task"]["status"] == "running"
    assert fake.actions("DescribeAssetImageScanStatus") == 1


# -- one scan at a time ---------------------------------------------------------------------------

def test_all_images_attaches_to_the_running_scan(run):
    fake = fake_with(*unscanned(A, B))
    fake.start_foreign_task([A], one_click=True)
    result = run(module, fake, {"all_images": True, "wait_sleep": 1})
    assert result["changed"] is False and result["attached"] is True
    assert result["task"]["id"] == "task-1" and result["task"]["status"] == "succeeded"
    assert len(fake.tasks) == 1
    assert fake.actions("CreateAssetImageScanTask") == 1


def test_all_images_attaches_without_waiting(run):
    fake = fake_with(*unscanned(A, B))
    fake.start_foreign_task([A], one_click=True)
    result = run(module, fake, {"all_images": True, "wait": False})
    assert result["changed"] is False and result["attached"] is True
    assert result["task"]["status"] == "running"


def test_images_wait_for_the_running_scan_then_start(run):
    fake = fake_with(*unscanned(A, B))
    fake.start_foreign_task([A])
    result = run(module, fake, {"images": [B], "wait_sleep": 1})
    assert result["changed"] is True
    creates = fake.params_of("CreateAssetImageScanTask")
    assert [p["Images"] for p in creates] == [[B], [B]]
    assert [t.image_ids for t in fake.tasks] == [[A], [B]]
    assert result["task"]["id"] == "task-2" and result["task"]["status"] == "succeeded"


def test_already_scanning_without_a_running_scan_means_no_authorisation(run, clock):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", ("error", "FailedOperation.ErrAlreadyScanning", "no permission"),
               ("error", "FailedOperation.ErrAlreadyScanning", "no permission"))
    started = clock.monotonic()
    result = run(module, fake, {"images": [A], "start_timeout": 30, "wait_sleep": 5})
    assert result["failed"] is True and result["changed"] is False
    assert "authorisation" in result["msg"] and "FailedOperation.ErrAlreadyScanning" in result["msg"]
    assert "not sent again" in result["msg"]
    assert result["error"]["error_code"] == "FailedOperation.ErrAlreadyScanning"
    assert fake.tasks == []
    # Resolved by looking (tasks and the images' authorisation) until start_timeout, never by sending again.
    assert fake.actions("CreateAssetImageScanTask") == 1
    assert fake.actions("DescribeAssetImageList") >= 2
    assert clock.monotonic() - started >= 30


def test_the_running_scan_outlasting_wait_timeout_fails_with_it(run):
    fake = fake_with(*unscanned(A, B), polls_to_finish=1000)
    fake.start_foreign_task([A], one_click=True)
    result = run(module, fake, {"images": [B], "wait_timeout": 10, "wait_sleep": 1})
    assert result["failed"] is True
    assert "task-1" in result["msg"] and "already running" in result["msg"]
    assert result["task_id"] == "task-1"
    assert len(fake.tasks) == 1


# -- another job's scan: wait, plan again, scan only what is still needed ------------------------

def _before_first_create(fake, hook):
    """Run ``hook()`` just before the fake handles its first CreateAssetImageScanTask: what
    another job does between this run's listing and its trigger."""
    original = fake.do_CreateAssetImageScanTask
    state = {"done": False}

    def create(params):
        if not state["done"]:
            state["done"] = True
            hook()
        return original(params)

    fake.do_CreateAssetImageScanTask = create


def test_a_scan_of_another_job_is_waited_for_and_only_the_rest_is_sent(run):
    fake = fake_with(*unscanned(A, B, C))
    _before_first_create(fake, lambda: fake.start_foreign_task([A, B]))
    result = run(module, fake, {"images": [A, B, C], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is True
    assert [p["Images"] for p in fake.params_of("CreateAssetImageScanTask")] == [[A, B, C], [C]]
    assert [t.image_ids for t in fake.tasks] == [[A, B], [C]]
    assert [ref["id"] for ref in result["images_triggered"]] == [C]
    skipped = dict((ref["id"], ref["reason"]) for ref in result["images_skipped"])
    assert sorted(skipped) == [A, B] and all("scanned by another task" in r for r in skipped.values())
    assert [t["status"] for t in result["tasks"]] == ["succeeded", "succeeded"]
    assert result["task"]["id"] == "task-2"


def test_a_scan_of_another_job_covering_everything_starts_nothing(run):
    fake = fake_with(*unscanned(A, B))
    _before_first_create(fake, lambda: fake.start_foreign_task([A, B], one_click=True))
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1, "force": True})
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is False and result["images_triggered"] == []
    assert fake.actions("CreateAssetImageScanTask") == 1 and len(fake.tasks) == 1
    assert result["task"]["id"] == "task-1" and result["task"]["status"] == "succeeded"
    assert "another scan covered them" in result["msg"]


def test_batches_plan_again_after_each_batch(run):
    fake = fake_with(*unscanned(A, B, C, D, E))

    def scanned_elsewhere():
        fake.images[C].update(ScanStatus="scanned", ScanTime="2026-01-01 08:00:30")

    _before_first_create(fake, scanned_elsewhere)
    result = run(module, fake, {"images": [A, B, C, D, E], "batch_size": 2, "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert [p["Images"] for p in fake.params_of("CreateAssetImageScanTask")] == [[A, B], [D, E]]
    assert C not in [ref["id"] for ref in result["images_triggered"]]
    assert "Started 2 scan task(s) for 4 image(s)" in result["msg"]


def test_an_image_refused_as_unauthorised_is_left_out_and_the_rest_sent_once(run):
    fake = fake_with(*unscanned(A, B))
    _before_first_create(fake, lambda: fake.images[B].update(IsAuthorized=0))
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert [p["Images"] for p in fake.params_of("CreateAssetImageScanTask")] == [[A, B], [A]]
    assert [ref["id"] for ref in result["images_triggered"]] == [A]
    skipped = dict((ref["id"], ref) for ref in result["images_skipped"])
    assert skipped[B]["scan_status"] == "unscannable" and "IsAuthorized 0" in skipped[B]["reason"]
    assert result["changed"] is True and len(fake.tasks) == 1


def test_only_images_refused_as_unauthorised_change_nothing(run):
    fake = fake_with(*unscanned(A))
    _before_first_create(fake, lambda: fake.images[A].update(IsAuthorized=0))
    result = run(module, fake, {"images": [A], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is False and result["images_triggered"] == []
    assert result["images_skipped"][0]["scan_status"] == "unscannable"
    assert fake.actions("CreateAssetImageScanTask") == 1 and fake.tasks == []


def test_a_failure_names_the_tasks_started_and_followed(run):
    fake = fake_with(*unscanned(A, B))
    _before_first_create(fake, lambda: fake.start_foreign_task([A], one_click=True))
    # The listing after the other scan ended fails: the run names the task it waited for.
    fake.fault("DescribeAssetImageList", "none", ("error", "AuthFailure.UnauthorizedOperation", "denied"))
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result["failed"] is True
    assert "AuthFailure.UnauthorizedOperation" in result["msg"]
    assert "followed the scan task(s) task-1" in result["msg"]
    assert result["error"]["error_code"] == "AuthFailure.UnauthorizedOperation"


def test_a_timeout_names_every_task_started(run):
    fake = fake_with(*unscanned(A, B), polls_to_finish=3)
    result = run(module, fake, {"images": [A, B], "batch_size": 1, "wait_sleep": 1, "wait_timeout": 1})
    assert result["failed"] is True and "Timed out" in result["msg"]
    assert "this run started the scan task(s) task-1" in result["msg"]


def test_selection_refused_without_a_running_scan_is_not_sent_again(run):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", ("error", "FailedOperation.ErrAlreadyScanning", "no permission"))
    result = run(module, fake, {"all_images": True, "start_timeout": 10, "wait_sleep": 1})
    assert result["failed"] is True and result["changed"] is False
    assert fake.actions("CreateAssetImageScanTask") == 1 and fake.tasks == []


# -- lost answers: one intent, at most one task ---------------------------------------------------

@pytest.mark.parametrize("fault", ["reset_after", "garbled"])
def test_applied_start_with_lost_answer_is_not_sent_again(run, fault):
    fake = fake_with(*unscanned(A, B))
    fake.fault("CreateAssetImageScanTask", fault)
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result["changed"] is True
    assert fake.actions("CreateAssetImageScanTask") == 1
    assert len(fake.tasks) == 1
    assert result["task"]["status"] == "succeeded"
    assert fake.images[A]["ScanStatus"] == "scanned"


def test_applied_one_click_start_with_lost_answer_is_found_by_id(run):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", "reset_after")
    result = run(module, fake, {"images": [A], "one_click": True, "wait": False})
    assert result["changed"] is True
    assert result["task"]["id"] == "task-1"
    assert len(fake.tasks) == 1


def test_server_error_not_applied_is_sent_again_once(run):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", "server_error")
    result = run(module, fake, {"images": [A], "wait_sleep": 1})
    assert result["changed"] is True
    assert fake.actions("CreateAssetImageScanTask") == 2
    assert len(fake.tasks) == 1
    # Before sending again, it looked at the images.
    actions = fake.actions()
    first, second = [i for i, name in enumerate(actions) if name == "CreateAssetImageScanTask"]
    assert "DescribeAssetImageList" in actions[first + 1:second]


def test_throttling_at_http_200_is_retried(run):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", "throttle", "throttle")
    result = run(module, fake, {"images": [A], "wait": False})
    assert result["changed"] is True
    assert fake.actions("CreateAssetImageScanTask") == 3
    assert len(fake.tasks) == 1


def test_lost_answers_every_time_give_up(run):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", "server_error", "server_error", "server_error", "server_error")
    result = run(module, fake, {"images": [A], "backoff_retries": 2})
    assert result["failed"] is True
    assert "CreateAssetImageScanTask was not applied after 3 attempts" in result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 3
    assert fake.tasks == []
    assert result["error"]["ambiguous"] is True


def test_api_error_surfaces_code_message_and_request_id(run):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", ("error", "InvalidParameter", "bad things"))
    result = run(module, fake, {"images": [A]})
    assert result["failed"] is True
    assert "InvalidParameter" in result["msg"] and "bad things" in result["msg"]
    assert result["error"]["error_code"] == "InvalidParameter"
    assert result["error"]["request_id"].startswith("rid-")
    assert fake.actions("CreateAssetImageScanTask") == 1


# -- waiting ----------------------------------------------------------------------------------------

def test_wait_timeout_returns_the_task(run, clock):
    fake = fake_with(*unscanned(A), polls_to_finish=1000)
    start = clock.now
    result = run(module, fake, {"images": [A], "wait_timeout": 30, "wait_sleep": 2})
    assert result["failed"] is True and result["changed"] is True
    assert "task-1" in result["msg"] and "progress 0%" in result["msg"] and "task_id" in result["msg"]
    assert result["task_id"] == "task-1" and result["progress"] == 0
    assert result["task"]["id"] == "task-1" and result["task"]["status"] == "running"
    # The deadline held and the pauses grew.
    assert clock.now - start <= 30 + 1
    assert clock.sleeps[0] == 2 and max(clock.sleeps) > 2


def test_follow_a_task_by_id(run):
    fake = fake_with(*unscanned(A))
    fake.start_foreign_task([A])
    result = run(module, fake, {"task_id": "task-1", "wait_sleep": 1})
    assert result["changed"] is False
    assert result["task"]["status"] == "succeeded"
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_own_task_ending_stopped_fails(run):
    fake = fake_with(*unscanned(A))
    original = fake.do_DescribeAssetImageScanStatus

    def stop_then_status(params):
        fake.tasks[0].state = "stopped"
        return original(params)

    fake.do_DescribeAssetImageScanStatus = stop_then_status
    # The one-click task's SubStatus says it was stopped (without it an ended task is finished
    # and its per-image results tell the rest).
    result = run(module, fake, {"images": [A], "wait_sleep": 1, "one_click": True})
    assert result["failed"] is True and result["changed"] is True
    assert "ended with status stopped" in result["msg"]


# -- filters and all images -----------------------------------------------------------------------

def test_filters_send_the_selection_once_something_needs_a_scan(run):
    fake = fake_with(image_row(A, name="app-a:1", status="scanned", scan_time=RECENT), *unscanned(B),
                     image_row(C, name="other:1"))
    result = run(module, fake, {"filters": [{"name": "ImageName", "values": ["app"], "exact_match": False}],
                                "exclude_image_ids": [C], "wait": False})
    assert result["changed"] is True
    create = fake.params_of("CreateAssetImageScanTask")[0]
    assert create["Filters"] == [{"Name": "ImageName", "Values": ["app"], "ExactMatch": False}]
    assert create["ExcludeImageIds"] == [C] and create["ScanScope"] == 1 and "Images" not in create
    reasons = dict((ref["id"], ref["reason"]) for ref in result["images_triggered"])
    assert reasons == {B: "never scanned", A: reasons[A]} and reasons[A].endswith("scanned with the selection")
    assert [t.image_ids for t in fake.tasks] == [[A, B]]


def test_all_images_unchanged_when_everything_is_recent(run):
    fake = fake_with(image_row(A, status="scanned", scan_time=RECENT), image_row(B, status="scanned", scan_time=RECENT))
    result = run(module, fake, {"all_images": True, "max_age": "1d"})
    assert result["changed"] is False
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_all_images_recommended_scope(run):
    fake = fake_with(image_row(A, suggest=1), image_row(B, suggest=0, status="scanned", scan_time=RECENT))
    result = run(module, fake, {"all_images": True, "scan_scope": "recommended", "wait_sleep": 1})
    assert result["changed"] is True
    create = fake.params_of("CreateAssetImageScanTask")[0]
    assert create["ScanScope"] == 2 and "Filters" not in create and "Images" not in create
    assert [ref["id"] for ref in result["images_triggered"]] == [A]


# -- stop -------------------------------------------------------------------------------------------

def test_stop_a_running_task(run):
    fake = fake_with(*unscanned(A))
    fake.start_foreign_task([A])
    result = run(module, fake, {"state": "absent", "task_id": "task-1"})
    assert result["changed"] is True
    assert fake.params_of("ModifyAssetImageScanStop") == [{"TaskID": "task-1"}]
    assert result["task"]["status"] == "stopped"


def test_stop_an_ended_task_changes_nothing(run):
    fake = fake_with(*unscanned(A), polls_to_finish=1)
    fake.start_foreign_task([A])
    result = run(module, fake, {"state": "absent", "task_id": "task-1"})
    assert result["changed"] is False
    assert fake.actions("ModifyAssetImageScanStop") == 0


def test_stop_in_check_mode_stops_nothing(run):
    fake = fake_with(*unscanned(A))
    fake.start_foreign_task([A])
    result = run(module, fake, {"state": "absent", "task_id": "task-1"}, check_mode=True)
    assert result["changed"] is True
    assert fake.actions("ModifyAssetImageScanStop") == 0 and fake.tasks[0].state == "running"


def test_stop_with_lost_answer_checks_before_sending_again(run):
    fake = fake_with(*unscanned(A))
    fake.start_foreign_task([A])
    fake.fault("ModifyAssetImageScanStop", "reset_after")
    result = run(module, fake, {"state": "absent", "task_id": "task-1"})
    assert result["changed"] is True
    assert fake.actions("ModifyAssetImageScanStop") == 1


def test_stop_the_scans_of_images(run):
    fake = fake_with(*unscanned(A, B))
    fake.start_foreign_task([A])
    result = run(module, fake, {"state": "absent", "images": [A, B]})
    assert result["changed"] is True
    assert [ref["id"] for ref in result["images_stopped"]] == [A]
    assert fake.params_of("ModifyAssetImageScanStop") == [{"Images": [A]}]
    again = run(module, fake, {"state": "absent", "images": [A, B]})
    assert again["changed"] is False and again["images_stopped"] == []


def test_nothing_to_scan_follows_the_scan_of_the_images_when_waiting(run):
    fake = fake_with(*unscanned(A))
    fake.start_foreign_task([A], one_click=True)
    result = run(module, fake, {"images": [A], "wait_sleep": 1})
    assert result["changed"] is False and result["attached"] is True
    assert result["task"]["id"] == "task-1" and result["task"]["status"] == "succeeded"
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_a_followed_scan_that_was_stopped_does_not_fail(run):
    fake = fake_with(*unscanned(A, B))
    fake.start_foreign_task([A], one_click=True)
    original = fake.do_DescribeAssetImageScanStatus

    def stopped_by_someone(params):
        fake.tasks[0].state = "stopped"
        return original(params)

    fake.do_DescribeAssetImageScanStatus = stopped_by_someone
    result = run(module, fake, {"all_images": True, "wait_sleep": 1})
    assert "failed" not in result
    assert result["attached"] is True and result["changed"] is False
    assert result["task"]["status"] == "stopped"


def test_cluster_scope_plans_the_images_of_the_cluster_hosts(run):
    fake = FakeTcss(images=unscanned(A, B, C),
                    hosts=[host_row("h1", "node-1", "10.0.0.1", cluster="cls-1"),
                           host_row("h2", "node-2", "10.0.0.2", cluster="cls-2")],
                    pairs=[(A, "h1"), (B, "h1"), (C, "h2")])
    result = run(module, fake, {"all_images": True, "scan_scope": "cluster", "cluster_ids": ["cls-1"]},
                 check_mode=True)
    assert result["changed"] is True
    assert [ref["id"] for ref in result["images_triggered"]] == [A, B]
    assert fake.params_of("DescribeAssetImageHostList") == [{"Filters": [{"Name": "HostID", "Values": ["h1"]}]}]
    started = run(module, fake, {"all_images": True, "scan_scope": "cluster", "cluster_ids": ["cls-1"],
                                 "wait": False})
    create = fake.params_of("CreateAssetImageScanTask")[0]
    assert (create["ScanScope"], create["ClusterIDs"]) == (3, ["cls-1"]) and "Images" not in create
    assert started["changed"] is True


def test_refusals_that_never_end_are_bounded_by_wait_timeout(run, clock):
    fake = fake_with(*unscanned(A, B), polls_to_finish=1)
    fake.start_foreign_task([A], one_click=True)

    def always_refused(params):
        raise FakeApiError("FailedOperation.ErrAlreadyScanning", "An image scan is already running.")

    def always_scanning(params):
        return {"TaskID": "task-1", "LastScanTime": "2026-01-01 07:59:00", "Status": "SCANNING", "SubStatus": ""}

    fake.do_CreateAssetImageScanTask = always_refused
    fake.do_DescribeAssetImageScanTask = always_scanning
    start = clock.now
    result = run(module, fake, {"images": [B], "wait_timeout": 20, "wait_sleep": 2})
    assert result["failed"] is True and "still refuses" in result["msg"]
    assert clock.now - start <= 20 + 2
    assert 3 <= fake.actions("CreateAssetImageScanTask") <= 13


# -- images TCSS will not scan (IsAuthorized 0) ---------------------------------------------------

def test_unauthorised_images_are_unscannable_and_never_triggered(run):
    fake = fake_with(image_row(A, name="app:1"), image_row(B, name="lic:1", IsAuthorized=0))
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert fake.params_of("CreateAssetImageScanTask")[0]["Images"] == [A]
    assert [ref["id"] for ref in result["images_triggered"]] == [A]
    skipped = dict((ref["id"], ref) for ref in result["images_skipped"])
    assert skipped[B]["scan_status"] == "unscannable" and "IsAuthorized 0" in skipped[B]["reason"]


@pytest.mark.parametrize("args", [{"images": [B]}, {"images": [B], "force": True}, {"all_images": True},
                                  {"filters": [{"name": "ImageName", "values": ["lic"]}]}])
def test_only_unauthorised_images_change_nothing(run, args):
    fake = fake_with(image_row(A, name="app:1", status="scanned", scan_time=RECENT),
                     image_row(B, name="lic:1", IsAuthorized=0))
    result = run(module, fake, args)
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is False
    assert fake.actions("CreateAssetImageScanTask") == 0


def test_all_images_leaves_unauthorised_images_out_of_the_request(run):
    fake = fake_with(image_row(A, name="app:1"), image_row(B, name="lic:1", IsAuthorized=0))
    result = run(module, fake, {"filters": [{"name": "ImageName", "values": ["1"]}], "wait_sleep": 1})
    assert result["changed"] is True
    assert B in fake.params_of("CreateAssetImageScanTask")[0]["ExcludeImageIds"]
    assert [ref["id"] for ref in result["images_triggered"]] == [A]


# -- lag: a trigger's effects show late -----------------------------------------------------------

def test_a_new_task_not_shown_yet_is_looked_for_again(run):
    fake = fake_with(*unscanned(A, B), lag_reads=3)
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is True and result["task"]["id"] == "task-1"
    assert result["task"]["status"] == "succeeded"
    assert fake.actions("CreateAssetImageScanTask") == 1
    assert fake.images[A]["ScanStatus"] == "scanned"


def test_without_waiting_the_task_returned_is_one_tcss_shows(run):
    fake = fake_with(*unscanned(A), lag_reads=2)
    result = run(module, fake, {"images": [A], "wait": False, "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert result["task"]["id"] == "task-1" and result["task"]["status"] == "running"
    assert fake.actions("CreateAssetImageScanTask") == 1


def test_a_task_never_shown_fails_naming_it_after_start_timeout(run, clock):
    fake = fake_with(*unscanned(A), lag_reads=10 ** 6)
    started = clock.monotonic()
    result = run(module, fake, {"images": [A], "wait_sleep": 1, "start_timeout": 30})
    assert result["failed"] is True and result["changed"] is True
    assert "task-1" in result["msg"] and "start_timeout" in result["msg"]
    assert result["task_id"] == "task-1" and result["triggered_at"]
    assert fake.actions("CreateAssetImageScanTask") == 1
    assert clock.monotonic() - started >= 30


@pytest.mark.parametrize("fault", ["reset_after", "garbled"])
def test_a_lost_answer_under_lag_is_waited_for_not_sent_again(run, fault):
    fake = fake_with(*unscanned(A, B), lag_reads=4)
    fake.fault("CreateAssetImageScanTask", fault)
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 1 and len(fake.tasks) == 1
    assert result["task"]["status"] == "succeeded" and result["attached"] is False


def test_a_trigger_sent_again_gets_a_start_deadline_of_its_own(run):
    # The first T1 fails before TCSS applies it and is proven not applied after start_timeout; the
    # second is applied but its answer is lost, and under lag its task shows late. Counting the
    # start deadline from the first look, the second was taken as not applied at once and T1 was
    # sent a third time, meeting the run's own task (ErrAlreadyScanning).
    fake = fake_with(*unscanned(A), lag_reads=4)
    fake.fault("CreateAssetImageScanTask", "server_error", "reset_after")
    result = run(module, fake, {"images": [A], "wait_sleep": 1, "start_timeout": 6})
    assert result.get("failed") is not True, result["msg"]
    assert fake.actions("CreateAssetImageScanTask") == 2 and len(fake.tasks) == 1
    assert result["changed"] is True and result["task"]["status"] == "succeeded"


def test_a_trigger_proven_not_applied_is_sent_again_only_after_start_timeout(run, clock):
    fake = fake_with(*unscanned(A))
    fake.fault("CreateAssetImageScanTask", "server_error")
    started = clock.monotonic()
    result = run(module, fake, {"images": [A], "wait_sleep": 1, "start_timeout": 20, "wait": False})
    assert result["changed"] is True
    assert fake.actions("CreateAssetImageScanTask") == 2 and len(fake.tasks) == 1
    assert clock.monotonic() - started >= 20


# -- task states --------------------------------------------------------------------------------

def _status_words(fake, words):
    """T2 of the fake answers ``words`` (Status, Schedule) in turn, then its own."""
    original = fake.do_DescribeAssetImageScanStatus
    queue = list(words)

    def answer(params):
        result = original(params)
        if queue:
            status, schedule = queue.pop(0)
            result.update(Status=status, Schedule=schedule)
        return result

    fake.do_DescribeAssetImageScanStatus = answer


def test_an_unknown_running_word_is_running_with_a_warning(run):
    fake = fake_with(*unscanned(A), polls_to_finish=4)
    _status_words(fake, [("ANALYSING", 10), ("ANALYSING", 50), ("ANALYSING", 70)])
    result = run(module, fake, {"images": [A], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert result["task"]["status"] == "succeeded"
    assert fake.actions("DescribeAssetImageScanStatus") >= 4
    assert len([w for w in fake.warnings if "ANALYSING" in w]) == 1 and "task-1" in fake.warnings[0]


def test_scanning_with_schedule_100_is_done(run):
    fake = fake_with(*unscanned(A), polls_to_finish=1000)
    _status_words(fake, [("SCANNING", 0), ("SCANNING", 100)])
    result = run(module, fake, {"images": [A], "wait_sleep": 1, "wait_timeout": 30})
    assert result.get("failed") is not True, result["msg"]
    assert result["task"]["status"] == "succeeded" and fake.actions("DescribeAssetImageScanStatus") == 2


def test_an_own_task_ending_with_failed_images_is_finished(run):
    fake = fake_with(*unscanned(A, B))
    original = fake.do_DescribeAssetImageScanStatus

    def one_failed(params):
        result = original(params)
        if result["Status"] == "END":
            result.update(SuccessCount=1, Schedule=50)
        return result

    fake.do_DescribeAssetImageScanStatus = one_failed
    result = run(module, fake, {"images": [A, B], "wait_sleep": 1})
    assert result.get("failed") is not True, result["msg"]
    assert (result["task"]["status"], result["task"]["succeeded"], result["task"]["failed"]) == ("succeeded", 1, 1)


# -- skew: the cloud's clock runs ahead -----------------------------------------------------------

def test_a_scan_time_ahead_of_our_clock_is_of_unknown_age_and_scanned_again(run):
    # node's clock: 2026-01-01T00:00:00Z; the cloud says A was scanned 9 minutes "later", B 11 minutes earlier.
    fake = fake_with(image_row(A, name="a:1", status="scanned", scan_time="2026-01-01 08:09:00"),
                     image_row(B, name="b:1", status="scanned", scan_time="2026-01-01 07:49:00"))
    result = run(module, fake, {"images": [A, B], "max_age": "15m", "wait": False})
    assert result["clock_offset"] == 540
    assert [ref["id"] for ref in result["images_triggered"]] == [A, B]
    assert "clock runs ahead" in result["images_triggered"][0]["reason"]
    # B's age on the cloud's clock is 11 + 9 minutes, beyond max_age.
    assert "older than max_age" in result["images_triggered"][1]["reason"]


def test_a_clock_ahead_shown_by_the_date_headers_keeps_recent_scans(run):
    # The cloud's clock runs 10 minutes ahead and says so in every Date header: A, scanned a
    # minute ago on its clock, is within max_age; B, 20 minutes ago on its clock, is not.
    fake = fake_with(image_row(A, name="a:1", status="scanned", scan_time="2026-01-01 08:09:00"),
                     image_row(B, name="b:1", status="scanned", scan_time="2026-01-01 07:50:00"))
    fake.server_ahead = 600
    result = run(module, fake, {"images": [A, B], "max_age": "15m", "wait": False})
    assert 600 <= result["clock_offset"] <= 601
    assert [ref["id"] for ref in result["images_skipped"]] == [A]
    assert "within max_age" in result["images_skipped"][0]["reason"]
    assert [ref["id"] for ref in result["images_triggered"]] == [B]
    assert "older than max_age" in result["images_triggered"][0]["reason"]


def test_without_skew_the_offset_is_zero_and_recent_scans_are_kept(run):
    fake = fake_with(image_row(A, status="scanned", scan_time=RECENT))
    result = run(module, fake, {"images": [A], "max_age": "15m"})
    assert result["clock_offset"] == 0 and result["changed"] is False


# -- host_ids: the images of hosts, listed by the scan itself --------------------------------------

def hosts_fleet():
    rows = [image_row(A, name="nginx:1.25"), image_row(B, name="redis:7", status="scanned", scan_time=RECENT),
            image_row(C, name="other:1")]
    hosts = [host_row("h1", "node-1", "10.0.0.1"), host_row("h2", "node-2", "10.0.0.2"),
             host_row("h3", "node-3", "10.0.0.3")]
    return FakeTcss(images=rows, hosts=hosts, pairs=[(A, "h1"), (A, "h2"), (B, "h2"), (C, "h3")])


def test_host_ids_scan_the_images_of_those_hosts_and_return_them(run):
    fake = hosts_fleet()
    result = run(module, fake, {"host_ids": ["h1", "h2"], "max_age": "1d", "wait": False})
    assert result["changed"] is True
    assert fake.params_of("CreateAssetImageScanTask")[0]["Images"] == [A], "B is fresh, C on another host"
    assert [ref["id"] for ref in result["images_skipped"]] == [B]
    images = dict((image["id"], image) for image in result["images"])
    assert sorted(images) == [A, B]
    assert images[A]["scan_status"] == "unscanned", "the images as listed before the scan"
    assert [h["name"] for h in images[A]["hosts"]] == ["node-1", "node-2"]
    assert [h["id"] for h in images[B]["hosts"]] == ["h2"]
    # The pairs by HostID, the rows by ImageID, and the hosts' names from DescribeAssetHostList.
    assert fake.params_of("DescribeAssetImageHostList")[0]["Filters"][0]["Values"] == ["h1", "h2"]
    assert fake.actions("DescribeAssetHostList") == 1


def test_listed_hosts_are_not_read_again(run):
    fake = hosts_fleet()
    listed = [{"id": "h1", "name": "node-1", "ip": "10.0.0.1", "agent_status": "online"},
              {"id": "h2", "name": "node-2", "ip": "10.0.0.2", "agent_status": "online"}]
    result = run(module, fake, {"host_ids": ["h1", "h2"], "listed_hosts": listed, "max_age": "1d", "wait": False})
    assert fake.actions("DescribeAssetHostList") == 0
    image = [i for i in result["images"] if i["id"] == A][0]
    assert image["hosts"] == [{"id": "h1", "name": "node-1", "ip": "10.0.0.1"},
                              {"id": "h2", "name": "node-2", "ip": "10.0.0.2"}]


def test_a_host_not_among_listed_hosts_is_read(run):
    fake = hosts_fleet()
    result = run(module, fake, {"host_ids": ["h1", "h2"], "listed_hosts": [{"id": "h1", "name": "node-1"}],
                                "wait": False})
    assert [p["Filters"][0]["Values"] for p in fake.params_of("DescribeAssetHostList")] == [["h2"]]
    image = [i for i in result["images"] if i["id"] == A][0]
    assert [h["name"] for h in image["hosts"]] == ["node-1", "node-2"]


def test_host_ids_in_check_mode_list_and_plan_only(run):
    fake = hosts_fleet()
    result = run(module, fake, {"host_ids": ["h1", "h2"], "max_age": "1d"}, check_mode=True)
    assert result["changed"] is True and fake.actions("CreateAssetImageScanTask") == 0
    assert sorted(i["id"] for i in result["images"]) == [A, B]
    assert [ref["id"] for ref in result["images_triggered"]] == [A]


def test_host_ids_of_hosts_without_images_start_nothing(run):
    fake = hosts_fleet()
    result = run(module, fake, {"host_ids": ["h9"]})
    assert result["changed"] is False and result["images"] == [] and fake.actions("CreateAssetImageScanTask") == 0
