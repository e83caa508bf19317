# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tcss_image_scan_task_info against a fake TCSS."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.modules import tcss_image_scan_task_info as module

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.tcss_fakes import FakeTcss, Runner, image_row

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
TASK_KEYS = {"id", "name", "image_type", "status", "progress", "begin_time", "end_time", "remaining_minutes",
             "total", "succeeded", "failed", "risky", "failed_images"}


@pytest.fixture
def run(monkeypatch, capsys, clock):
    return Runner(monkeypatch, capsys, clock)


def test_task_by_id(run):
    fake = FakeTcss(images=[image_row(A), image_row(B)], polls_to_finish=5)
    fake.start_foreign_task([A, B])
    result = run(module, fake, {"task_id": "task-1"})
    task = result["task"]
    assert set(task) == TASK_KEYS
    assert (task["id"], task["status"], task["total"], task["image_type"]) == ("task-1", "running", 2, "local")
    assert task["remaining_minutes"] == 1 and task["begin_time"] is None
    assert result["tasks"] == [task] and result["changed"] is False
    assert fake.params_of("DescribeAssetImageScanStatus") == [{"TaskID": "task-1"}]
    assert result["raw"]["status"]["Status"] == "SCANNING"


def test_a_task_not_one_click_is_read_with_the_status_api_alone(run):
    fake = FakeTcss(images=[image_row(A), image_row(B)], polls_to_finish=5)
    fake.start_foreign_task([A, B])
    result = run(module, fake, {"task_id": "task-1", "one_click": False})
    assert (result["task"]["id"], result["task"]["status"], result["task"]["total"]) == ("task-1", "running", 2)
    assert [call[0] for call in fake.calls] == ["DescribeAssetImageScanStatus"]
    assert result["raw"]["one_click_task"] is None


def test_a_task_not_one_click_that_tcss_does_not_know_is_an_empty_list(run):
    fake = FakeTcss()
    result = run(module, fake, {"task_id": "nope", "one_click": False})
    assert result["task"] is None and result["tasks"] == []
    assert fake.actions("DescribeAssetImageScanTask") == 0


def test_a_stopped_task_not_one_click_says_stopped_from_its_counts(run):
    fake = FakeTcss(images=[image_row(A), image_row(B)], polls_to_finish=5)
    fake.start_foreign_task([A, B])
    fake.tasks[0].state = "stopped"
    result = run(module, fake, {"task_id": "task-1", "one_click": False})
    assert result["task"]["status"] == "stopped"


def test_one_click_requires_task_id(run):
    fake = FakeTcss()
    result = run(module, fake, {"one_click": False})
    assert result["failed"] is True and "one_click" in result["msg"] and "task_id" in result["msg"]
    assert fake.calls == []


def test_current_one_click_task(run):
    fake = FakeTcss(images=[image_row(A)], polls_to_finish=1)
    fake.start_foreign_task([A], one_click=True)
    result = run(module, fake, {})
    task = result["task"]
    assert task["id"] == "task-1" and task["status"] == "succeeded" and task["progress"] == 100
    # LastScanTime (China Standard Time) becomes UTC.
    assert task["begin_time"] == "2025-12-31T23:59:00Z"


def test_stopped_one_click_task_says_stopped(run):
    fake = FakeTcss(images=[image_row(A)])
    fake.start_foreign_task([A], one_click=True)
    fake.tasks[0].state = "stopped"
    result = run(module, fake, {})
    assert result["task"]["status"] == "stopped"


def test_no_task(run):
    fake = FakeTcss()
    result = run(module, fake, {})
    assert result["task"] is None and result["tasks"] == []
    assert fake.actions("DescribeAssetImageScanStatus") == 0


def test_unknown_task_is_an_empty_list(run):
    result = run(module, FakeTcss(), {"task_id": "nope"})
    assert result["task"] is None and result["tasks"] == []


def test_empty_task_id_fails_before_any_request(run):
    fake = FakeTcss()
    result = run(module, fake, {"task_id": " "})
    assert result["failed"] is True and "task_id" in result["msg"]
    assert fake.calls == []


def test_api_error_is_reported(run):
    fake = FakeTcss()
    fake.fault("DescribeAssetImageScanTask", ("error", "AuthFailure.SignatureFailure", "bad signature"))
    result = run(module, fake, {})
    assert result["failed"] is True and result["error"]["error_code"] == "AuthFailure.SignatureFailure"
