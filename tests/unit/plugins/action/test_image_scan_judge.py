# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image_scan_judge action: every host's result once for the play, kept for the gate."""

from __future__ import annotations

import os
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.cloudsec.image_scan.plugins.action import image_scan_gate as gate
from ansible_collections.cloudsec.image_scan.plugins.action import image_scan_judge as judge
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan as f
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils import _store

RUN_START = "2026-12-01T10:00:00Z"
NOW = "2026-12-01T10:05:00Z"
HOSTVARS = {"web1": {"image_scan_host_id": "h-1"}, "web2": {"image_scan_host_id": "h-2"}, "ghost": {}}
CLOUD_HOSTS = [
    {"id": "h-1", "name": "node-01", "ip": "10.0.0.1", "agent_status": "online"},
    {"id": "h-2", "name": "node-02", "ip": "10.0.0.2", "agent_status": "online"},
]
IMAGES = [
    {"id": "a", "name": "img-a", "version": "1", "scan_status": "success", "severity": "critical",
     "hosts": [{"id": "h-1"}], "latest_scan_time": RUN_START,
     "counts": {"critical": 2, "high": 1, "medium": 0, "low": 0}},
    {"id": "b", "name": "img-b", "version": "1", "scan_status": "success", "severity": "low",
     "hosts": [{"id": "h-2"}], "latest_scan_time": RUN_START, "counts": {"critical": 0, "high": 0, "medium": 0, "low": 3}},
]


def action_for(module, args, host="node-01", check_mode=False, name="image_scan_judge"):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    connection = mock.MagicMock()
    connection.exec_command.side_effect = AssertionError("the action must not use the connection")
    action = module.ActionModule(task, connection, mock.MagicMock(), None, None, None)
    action._load_name = "cloudsec.image_scan." + name
    return action.run(task_vars={"inventory_hostname": host})


@pytest.fixture
def local_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(_store.C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    return tmp_path


def args(**extra):
    match = f.image_scan_match(f.image_scan_hosts(list(HOSTVARS), HOSTVARS), CLOUD_HOSTS, IMAGES)
    base = dict(match=match, images=IMAGES, provider="tcss", scanned_at=RUN_START, now=NOW,
                play_hosts=list(HOSTVARS))
    base.update(extra)
    return base


@pytest.mark.parametrize("check_mode", [False, True])
def test_every_host_gets_the_result_the_filter_computes_through_the_store(local_tmp, check_mode):
    result = action_for(judge, args(), check_mode=check_mode)
    expected = f.image_scan_facts(args()["match"], IMAGES, "tcss", scanned_at=RUN_START, now=NOW,
                                  play_hosts=list(HOSTVARS))
    assert result["changed"] is False and not result.get("failed")
    assert os.path.dirname(result["store"]) == str(local_tmp)
    for host, fact in expected.items():
        assert _store.read_store(result["store"], host) == fact
        gated = action_for(gate, {"store": result["store"]}, host=host, name="image_scan_gate")
        assert gated["failed"] is (not fact["passed"])
        if fact["passed"]:
            assert gated["ansible_facts"] == {"image_scan": fact}
    # Only the hosts that fail travel whole; the facts only on request.
    assert sorted(result["failed_hosts"]) == ["web1"]
    assert result["failed_hosts"]["web1"] == expected["web1"]
    assert "facts" not in result
    assert result["msg"] == "2 of 3 hosts pass the gate"


def test_the_summary_rows_hold_what_the_summary_shows(local_tmp):
    result = action_for(judge, args(fail_on="low", fail_on_unenrolled=True))
    rows = result["hosts"]
    assert rows["web1"] == {"passed": False, "status": "scanned", "rules": ["severity"], "delta": None,
                            "summary": rows["web1"]["summary"]}
    assert rows["web1"]["summary"]["critical"] == 2
    assert rows["web2"]["rules"] == ["severity"] and rows["web2"]["summary"]["low"] == 3
    assert rows["ghost"]["status"] == "not_enrolled" and rows["ghost"]["passed"] is False
    assert "images" not in rows["web1"]


def test_the_facts_are_returned_on_request(local_tmp):
    result = action_for(judge, args(return_facts=True))
    assert sorted(result["facts"]) == ["ghost", "web1", "web2"]
    assert result["facts"]["web2"]["summary"]["low"] == 3


def test_a_bad_setting_fails_before_anything_is_written(local_tmp):
    result = action_for(judge, args(max_age="soon"))
    assert result["failed"] is True
    assert "max_age" in result["msg"]
    assert os.listdir(str(local_tmp)) == []


@pytest.mark.parametrize("option, value", [("fail_on", "severe"), ("provider", "aws"), ("on_error", "ignore")])
def test_choices_are_checked_and_named(local_tmp, option, value):
    with pytest.raises(AnsibleActionFail, match=option):
        action_for(judge, args(**{option: value}))


def test_a_store_that_cannot_be_written_fails_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(_store.C, "DEFAULT_LOCAL_TMP", str(tmp_path / "missing"))
    result = action_for(judge, args())
    assert result["failed"] is True
    assert result["msg"].startswith("could not keep the results for the gate")


def test_no_match_and_no_images_are_empty_ones(local_tmp):
    result = action_for(judge, args(match=None, images=None, on_error="warn",
                                    error={"task": "List the images", "msg": "HTTP 500"}))
    assert not result.get("failed")
    assert sorted(result["hosts"]) == ["ghost", "web1", "web2"]
    assert all(row["status"] == "error" for row in result["hosts"].values())
