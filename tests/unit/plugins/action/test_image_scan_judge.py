# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image_scan_judge action: every host's result once for the play, kept for the gate."""

from __future__ import annotations

import os
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

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


def action_for(module, args, host="node-01", check_mode=False, name="image_scan_judge", collected=None,
               module_defaults=None):
    """Run the action; ``collected`` is what the image_info module answers, as ``_execute_module`` returns it."""
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    task.module_defaults = module_defaults or []
    task._parent._play._action_groups = {
        "cloudsec.image_scan.%s_image_info" % provider: ["cloudsec.image_scan.%s" % provider]
        for provider in ("hss", "tcss")}
    connection = mock.MagicMock()
    connection.exec_command.side_effect = AssertionError("the action must not use the connection")
    action = module.ActionModule(task, connection, mock.MagicMock(), DataLoader(), Templar(loader=DataLoader()), None)
    action._load_name = "cloudsec.image_scan." + name
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        calls.append((module_name, dict(module_args)))
        if collected is None:
            raise AssertionError("the action must not run a module")
        return dict(collected)

    action._execute_module = execute_module
    result = action.run(task_vars={"inventory_hostname": host})
    if name == "image_scan_judge":
        result["_modules_run"] = calls
    return result


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


# The collection: the judge runs the provider's image_info module itself, so that the collected
# results never pass through the play's variables.

def listing():
    """The images as the scan lists them: where they are, no results yet."""
    return [dict(image, scan_status="not_scanned", severity=None, latest_scan_time=None, counts={})
            for image in IMAGES]


COLLECT = {"return_raw": False, "image_ids": ["a", "b"], "vulnerabilities": True}


def test_the_results_collected_are_judged_and_not_returned(local_tmp):
    collected = {"changed": False, "images": IMAGES, "clock_offset": 0,
                 "invocation": {"module_args": {"secret_key": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}}
    result = action_for(judge, args(images=listing(), collect=COLLECT, return_facts=True), collected=collected)
    expected = f.image_scan_facts(args()["match"], IMAGES, "tcss", scanned_at=RUN_START, now=NOW,
                                  play_hosts=list(HOSTVARS))
    assert result["_modules_run"] == [("cloudsec.image_scan.tcss_image_info", COLLECT)]
    assert result["facts"] == expected
    assert not result.get("failed") and result["changed"] is False
    assert "images" not in result and "invocation" not in result


def test_the_collection_reads_the_images_of_the_match_unless_told(local_tmp):
    result = action_for(judge, args(images=listing(), collect={"vulnerabilities": False}), collected={"images": IMAGES})
    assert result["_modules_run"] == [("cloudsec.image_scan.tcss_image_info",
                                       {"vulnerabilities": False, "image_ids": args()["match"]["image_ids"]})]
    assert args()["match"]["image_ids"] == ["a", "b"]


def test_the_collection_takes_the_module_defaults_of_the_play(local_tmp):
    defaults = [{"group/cloudsec.image_scan.tcss": {"region": "ap-shanghai", "image_ids": ["not-this"]}},
                {"cloudsec.image_scan.tcss_image_info": {"timeout": 7}}]
    result = action_for(judge, args(images=listing(), collect=COLLECT), module_defaults=defaults,
                        collected={"images": IMAGES})
    (name, sent), = result["_modules_run"]
    assert sent == dict(COLLECT, region="ap-shanghai", timeout=7)


def test_hss_collects_with_the_hss_module(local_tmp):
    collect = dict(COLLECT, image_type="local", host_ids=["h-1", "h-2"])
    result = action_for(judge, args(provider="hss", images=listing(), collect=collect),
                        collected={"images": IMAGES})
    assert result["_modules_run"] == [("cloudsec.image_scan.hss_image_info", collect)]


def test_a_collection_that_fails_leaves_the_hosts_not_judged_and_says_why(local_tmp):
    collected = {"failed": True, "msg": "DescribeAssetImageVulList: InternalError: boom (request id r-1)"}
    result = action_for(judge, args(images=listing(), collect=COLLECT, return_facts=True),
                        collected=collected)
    assert not result.get("failed")
    for host in ("web1", "web2"):
        fact = result["facts"][host]
        assert fact["judged"] is False and fact["status"] == "error" and fact["passed"] is False
        assert "Collect the results" in fact["not_judged_reason"] and "request id r-1" in fact["not_judged_reason"]
    with_warn = action_for(judge, args(images=listing(), collect=COLLECT, on_error="warn", return_facts=True),
                           collected=collected)
    assert with_warn["facts"]["web1"]["passed"] is True and with_warn["facts"]["web1"]["judged"] is False


def test_an_answer_without_images_is_a_failed_collection(local_tmp):
    result = action_for(judge, args(images=listing(), collect=COLLECT, return_facts=True), collected={"changed": False})
    assert result["facts"]["web1"]["judged"] is False


@pytest.mark.parametrize("extra", [
    {"error": {"task": "Wait for the scans", "msg": "timed out", "wait": True, "task_ids": ["t-1"]}},
    {"collect": dict(COLLECT, image_ids=[])},
])
def test_nothing_is_collected_after_an_error_or_without_images(local_tmp, extra):
    base = dict(images=listing(), collect=COLLECT)
    base.update(extra)
    result = action_for(judge, args(**base))
    assert result["_modules_run"] == []


def test_the_module_warnings_are_kept(local_tmp):
    result = action_for(judge, args(images=listing(), collect=COLLECT),
                        collected={"images": IMAGES, "warnings": ["clock ahead"]})
    assert result["warnings"] == ["clock ahead"]


@pytest.mark.parametrize("option, value, says", [
    ("match", ["not", "a", "dict"], "match: expected a dict"),
    ("images", [{"id": "a"}, "b"], "images: expected a list of dicts"),
    ("images", {"id": "a"}, "images: expected a list of dicts"),
])
def test_a_bad_match_or_images_fails_before_any_collection(local_tmp, option, value, says):
    result = action_for(judge, args(collect=COLLECT, **{option: value}))
    assert result["failed"] is True and says in result["msg"]
    assert result["_modules_run"] == [] and os.listdir(str(local_tmp)) == []
