# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""_ops: the one send-once rule, the waits and the failure they end in."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _ops
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError


def lost():
    return ApiError("hss", "BatchScanLocalImage", "connection lost", code="NetworkError", ambiguous=True)


class Calls(object):
    """A call that fails as scripted (an exception) or answers (anything else), counting itself."""

    def __init__(self, *script):
        self.script = list(script)
        self.count = 0

    def __call__(self):
        self.count += 1
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def test_an_answer_is_returned_and_nothing_is_looked_at(clock):
    send, look = Calls({"ok": 1}), Calls()
    sent = _ops.send_once("X", send, look, resends=5)
    assert sent.answered and sent.answer == {"ok": 1} and sent.attempts == 1
    assert send.count == 1 and look.count == 0
    assert sent.sent_at == "2026-01-01T00:00:00Z"


def test_a_clear_failure_is_raised_without_a_look_or_a_resend(clock):
    refused = ApiError("hss", "X", "bad", status=400, code="HSS.0001")
    send, look = Calls(refused), Calls()
    with pytest.raises(ApiError):
        _ops.send_once("X", send, look, resends=5)
    assert send.count == 1 and look.count == 0


def test_a_lost_answer_whose_effect_is_seen_is_not_sent_again(clock):
    send, look = Calls(lost()), Calls(_ops.applied("task-1"))
    sent = _ops.send_once("X", send, look, resends=5)
    assert not sent.answered and sent.look.value == "task-1"
    assert send.count == 1 and look.count == 1


def test_an_unconfirmed_call_is_waited_for_within_the_deadline_never_resent(clock):
    send = Calls(lost())
    look = Calls(_ops.unknown(), _ops.unknown(), _ops.applied("late"))
    sent = _ops.send_once("X", send, look, resends=5, confirm_timeout=10, confirm_sleep=2)
    assert sent.look.value == "late" and send.count == 1 and clock.sleeps == [2, 2]


def test_still_unconfirmed_at_the_deadline_fails_naming_the_call_and_its_time(clock):
    send = Calls(lost())
    look = Calls(*[_ops.unknown()] * 20)
    with pytest.raises(_ops.ModuleError) as err:
        _ops.send_once("BatchScanLocalImage", send, look, resends=5, confirm_timeout=6, confirm_sleep=2)
    assert send.count == 1
    assert "BatchScanLocalImage may have been applied (first sent at 2026-01-01T00:00:00Z)" in err.value.msg
    assert "it is not sent again" in err.value.msg
    assert err.value.result["triggered_at"] == "2026-01-01T00:00:00Z"
    assert err.value.result["error"]["ambiguous"] is True


@pytest.mark.parametrize("resends", [0, 1, 4])
def test_a_call_proven_not_applied_is_resent_at_most_resends_times(clock, resends):
    send = Calls(*[lost()] * 10)
    look = Calls(*[_ops.not_applied()] * 10)
    with pytest.raises(_ops.ModuleError) as err:
        _ops.send_once("X", send, look, resends=resends)
    assert send.count == resends + 1
    assert "X was not applied after %d attempts" % (resends + 1) in err.value.msg


def test_a_resend_can_be_narrowed_to_what_was_not_applied(clock):
    first, rest = Calls(lost()), Calls({"ok": "rest"})
    sent = _ops.send_once("X", first, Calls(_ops.not_applied(resend=rest)), resends=1)
    assert sent.answer == {"ok": "rest"} and sent.attempts == 2 and first.count == rest.count == 1


def test_wait_fails_with_everything_known(clock):
    task = {"id": "t-1", "status": "running", "progress": 40}

    def on_timeout(last):
        return _ops.timed_out("the scan task", 30, task=last, triggered_at="2026-01-01T00:00:00Z")

    with pytest.raises(_ops.ModuleError) as err:
        _ops.wait(lambda: task, lambda t: False, 30, 5, on_timeout)
    assert err.value.msg.startswith("Timed out after 30 seconds waiting for the scan task (task ID t-1, status "
                                    "running, progress 40%, triggered at 2026-01-01T00:00:00Z)")
    result = err.value.result
    assert (result["task_id"], result["progress"], result["triggered_at"]) == ("t-1", 40, "2026-01-01T00:00:00Z")
    assert sum(clock.sleeps) == pytest.approx(30)


def test_module_error_carries_the_api_error():
    err = _ops.ModuleError("Could not start the scan", error=lost(), task=None)
    assert err.msg.startswith("Could not start the scan: hss BatchScanLocalImage failed")
    assert err.result["error"]["error_code"] == "NetworkError" and err.result["task"] is None
