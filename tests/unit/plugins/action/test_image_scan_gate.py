# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image_scan_gate action plugin: the role's one per-host task."""

from __future__ import annotations

import os
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.cloudsec.image_scan.plugins.action import image_scan_gate as gate
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils import _store as store_mod


def run(args, host="node-07", check_mode=False, task_vars=None):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    connection = mock.MagicMock()
    action = gate.ActionModule(task, connection, mock.MagicMock(), None, None, None)
    # The plugin loader names every plugin it loads; ansible-core before 2.19 reads the name
    # when it refuses an unknown option.
    action._load_name = "cloudsec.image_scan.image_scan_gate"
    # Nothing reaches the host: the action runs on the controller only.
    connection.exec_command.side_effect = AssertionError("the gate must not use the connection")
    return action.run(task_vars=dict(task_vars or {}, inventory_hostname=host))


PASSED = {"provider": "hss", "status": "scanned", "passed": True, "message": None, "images": [{"id": "i-1"}]}
FAILED = {"provider": "tcss", "status": "incomplete", "passed": False,
          "message": "node-07 failed the gate (incomplete): 1 image has no successful scan", "images": []}


def test_a_passing_host_gets_its_fact_and_does_not_fail():
    result = run({"result": PASSED})
    assert result["failed"] is False
    assert result["changed"] is False
    assert result["ansible_facts"] == {"image_scan": PASSED}
    assert result["msg"] == "node-07 passed the gate (scanned)"


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_failing_host_fails_with_the_message_of_its_result(check_mode):
    result = run({"result": FAILED}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"] == FAILED["message"]
    # Ansible drops the facts of a failed result: the role sets them before; none are returned.
    assert "ansible_facts" not in result


def test_a_failing_result_without_a_message_names_the_host():
    result = run({"result": dict(FAILED, message="")}, host="db-primary")
    assert result["failed"] is True
    assert result["msg"] == "db-primary failed the gate"


def test_a_host_that_had_failed_before_the_role_fails_again_whatever_its_result():
    result = run({"result": PASSED, "judged": False}, host="node-21")
    assert result["failed"] is True
    assert result["msg"] == "node-21 had failed before the image_scan role started"
    assert "ansible_facts" not in result


@pytest.mark.parametrize("value", [None, {}, "passed", ["passed"], {"passed": "true"}, {"passed": 1},
                                   {"status": "scanned", "message": None}])
def test_no_readable_result_fails_closed(value):
    result = run({"result": value})
    assert result["failed"] is True
    assert result["msg"] == "node-07 has no image_scan result to judge it by: the gate does not pass it"
    assert "ansible_facts" not in result


def test_no_result_at_all_fails_closed():
    result = run({})
    assert result["failed"] is True
    assert "ansible_facts" not in result


def test_unknown_options_are_refused():
    with pytest.raises(AnsibleActionFail, match="passd"):
        run({"result": PASSED, "passd": True})


def test_the_action_needs_no_connection():
    assert gate.ActionModule._requires_connection is False
    assert gate.ActionModule.TRANSFERS_FILES is False


# The role's way: every host's result was written once for the play by image_scan_judge; the gate
# reads the one file of its host.


def test_a_host_reads_its_own_result_from_the_store(tmp_path):
    store = store_mod.write_store({"node-07": PASSED, "node-08": FAILED}, parent=str(tmp_path))
    passed = run({"store": store}, host="node-07")
    assert passed["failed"] is False
    assert passed["ansible_facts"] == {"image_scan": PASSED}
    failed = run({"store": store}, host="node-08")
    assert failed["failed"] is True
    assert failed["msg"] == FAILED["message"]
    assert "ansible_facts" not in failed


def test_a_host_without_a_file_in_the_store_fails_closed(tmp_path):
    store = store_mod.write_store({"node-07": PASSED}, parent=str(tmp_path))
    result = run({"store": store}, host="node-99")
    assert result["failed"] is True
    assert result["msg"] == ("node-99 has no image_scan result: it was not in the play when the results were worked "
                             "out (it had failed before the image_scan role started); the gate does not pass it")
    assert "ansible_facts" not in result


def test_a_store_that_is_not_a_directory_fails_closed_and_names_the_option(tmp_path):
    result = run({"store": str(tmp_path / "gone")})
    assert result["failed"] is True
    assert result["msg"].startswith("store: ")
    assert "does not pass node-07" in result["msg"]


def test_an_unreadable_file_in_the_store_fails_closed(tmp_path):
    store = store_mod.write_store({"node-07": PASSED}, parent=str(tmp_path))
    with open(store_mod.store_file(store, "node-07"), "w") as handle:
        handle.write('{"passed": tr')
    result = run({"store": store})
    assert result["failed"] is True
    assert "could not be read" in result["msg"]
    assert "ansible_facts" not in result


def test_a_host_not_judged_fails_again_without_reading_the_store(tmp_path):
    store = store_mod.write_store({"node-21": PASSED}, parent=str(tmp_path))
    result = run({"store": store, "judged": False}, host="node-21")
    assert result["failed"] is True
    assert result["msg"] == "node-21 had failed before the image_scan role started"


@pytest.mark.parametrize("args", [{"result": PASSED, "store": "/x"}, {"result": PASSED, "judge_var": "judged"},
                                  {"store": "/x", "judge_var": "judged"}])
def test_result_store_and_judge_var_are_mutually_exclusive(args):
    with pytest.raises(AnsibleActionFail, match="mutually exclusive"):
        run(args)


# The role's way since the store: the judge's registered result is read from the task's variables
# as it is kept, so the task has no template.


def test_judge_var_reads_the_store_of_the_registered_result(tmp_path):
    store = store_mod.write_store({"node-07": PASSED, "node-08": FAILED}, parent=str(tmp_path))
    judged = {"changed": False, "store": store, "failed_hosts": {}}
    passed = run({"judge_var": "judged"}, host="node-07", task_vars={"judged": judged})
    assert passed["failed"] is False
    assert passed["ansible_facts"] == {"image_scan": PASSED}
    failed = run({"judge_var": "judged"}, host="node-08", task_vars={"judged": judged})
    assert failed["failed"] is True
    assert failed["msg"] == FAILED["message"]
    # A host of the variable's store without a file of its own is one the judge did not see.
    missing = run({"judge_var": "judged"}, host="node-99", task_vars={"judged": judged})
    assert missing["failed"] is True
    assert "node-99 has no image_scan result" in missing["msg"]


@pytest.mark.parametrize("task_vars", [{}, {"judged": None}, {"judged": {"skipped": True, "changed": False}},
                                       {"judged": {"store": ""}}, {"judged": {"store": ["/x"]}},
                                       {"judged": "{{ other.store }}"}])
def test_judge_var_without_a_store_fails_closed_and_names_the_option(task_vars):
    result = run({"judge_var": "judged"}, task_vars=task_vars)
    assert result["failed"] is True
    assert result["msg"] == ("judge_var: judged holds no result of image_scan_judge with a store of results; "
                             "the gate does not pass node-07")
    assert "ansible_facts" not in result


def test_judge_var_of_a_host_not_judged_fails_again_without_reading_anything():
    result = run({"judge_var": "judged", "judged": False}, host="node-21")
    assert result["failed"] is True
    assert result["msg"] == "node-21 had failed before the image_scan role started"


def test_the_store_is_private_and_names_files_by_a_digest(tmp_path):
    store = store_mod.write_store({"web/01 ../x": PASSED}, parent=str(tmp_path))
    assert os.stat(store).st_mode & 0o777 == 0o700
    (name,) = os.listdir(store)
    assert name.endswith(".json") and "/" not in name and ".." not in name
    assert os.stat(os.path.join(store, name)).st_mode & 0o777 == 0o600
    assert store_mod.read_store(store, "web/01 ../x") == PASSED
