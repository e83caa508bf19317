# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hss_image_scan_wait and tcss_image_scan_wait action plugins, with scripted info modules
and a fake clock."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.errors import AnsibleError

from ansible_collections.cloudsec.image_scan.plugins.action import hss_image_scan_wait as hw
from ansible_collections.cloudsec.image_scan.plugins.action import tcss_image_scan_wait as tw
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils import _scan_wait as sw


class Harness(object):
    """One action plugin with scripted ``_execute_module`` answers, a fake clock and the lines shown."""

    def __init__(self, plugin, monkeypatch, clock, args, answers, check_mode=False):
        self.calls = []
        self.lines = []
        self.answers = list(answers)
        task = mock.MagicMock()
        task.args = dict(args)
        task.async_val = 0
        task.check_mode = check_mode
        connection = mock.MagicMock()
        connection._shell.tmpdir = None
        self.action = plugin.ActionModule(task, connection, mock.MagicMock(), None, None, None)
        # The plugin loader names every plugin it loads; ansible-core before 2.19 reads the name
        # when it refuses an unknown option.
        self.action._load_name = "cloudsec.image_scan." + plugin.__name__.rsplit(".", 1)[-1]
        monkeypatch.setattr(self.action, "_execute_module", self.execute)
        monkeypatch.setattr(sw.display, "display", self.show)
        self.clock = clock

    def show(self, msg, stderr=False):
        # Progress goes to standard error, so that a stdout callback such as json stays readable.
        assert stderr is True
        self.lines.append(msg)

    def execute(self, module_name=None, module_args=None, task_vars=None):
        self.calls.append((module_name, dict(module_args)))
        if not self.answers:
            raise AssertionError("unexpected call of %s %s" % (module_name, module_args))
        answer = self.answers.pop(0)
        return answer(module_name, module_args) if callable(answer) else answer

    def run(self):
        return self.action.run(task_vars={})


def hss_task(status, progress, total=10, succeeded=0, failed=0):
    return {"changed": False, "tasks": [{"id": "t-1", "status": status, "progress": progress, "total": total,
                                         "succeeded": succeeded, "failed": failed}]}


def tcss_task(status, progress, total=27, succeeded=0, failed=0):
    return {"changed": False, "task": {"id": "tc-1", "status": status, "progress": progress, "total": total,
                                       "succeeded": succeeded, "failed": failed}}


REFS = [
    {"id": "a", "host": {"id": "h1", "name": "node-01"}, "scan_status": "unscanned", "reason": "never scanned"},
    {"id": "b", "host": {"id": "h2"}},
    {"id": "d", "host": {"id": "h1"}},
]


# -- HSS, local images -------------------------------------------------------------------------


OLD, NEW = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


class Fleet(object):
    """hss_image_info answers from a script of states (``{(id, host id): (scan_status,
    latest_scan_time)}``): each poll (one listing, of the images in progress or of every state)
    moves to the next state."""

    def __init__(self, *states):
        self.states = states
        self.index = -1

    def __call__(self, name, args):
        self.index = min(self.index + 1, len(self.states) - 1)
        images = []
        for (image_id, host_id), (status, scanned) in self.states[self.index].items():
            if (status in args.get("scan_status", [status])
                    and (args.get("image_ids") is None or image_id in args["image_ids"])
                    and (args.get("host_ids") is None or host_id in args["host_ids"])):
                images.append({"id": image_id, "host": {"id": host_id}, "scan_status": status,
                               "latest_scan_time": scanned})
        return {"changed": False, "images": images}


def statuses(h):
    return [c[1].get("scan_status", ALL) for c in h.calls]


BUSY, ALL = ["waiting", "scanning"], "every state"


def test_hss_waits_for_its_images_with_one_line_per_poll(monkeypatch, clock):
    refs = REFS[:2] + [dict(REFS[2], latest_scan_time=OLD, scan_status="success")]
    fleet = Fleet(
        {("a", "h1"): ("scanning", None), ("b", "h9"): ("waiting", None), ("b", "h2"): ("waiting", None),
         ("zz", "h1"): ("scanning", None), ("d", "h1"): ("success", OLD)},  # a, b busy, d not started: 0/3
        {("b", "h2"): ("scanning", None), ("d", "h1"): ("success", NEW)},  # b busy, d scanned anew: 2/3
        {("a", "h1"): ("success", NEW), ("b", "h2"): ("success", NEW), ("d", "h1"): ("success", NEW)})  # done
    h = Harness(hw, monkeypatch, clock, dict(images=refs, wait_sleep=1, access_key="AK", secret_key="SK",
                                             region="cn-north-4"), [fleet] * 10)
    result = h.run()
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["images_pending"] == []
    assert result["progress"] == {"total": 3, "done": 3, "in_progress": 0, "percent": 100}
    assert result["polls"] == 3
    assert h.lines == ["HSS scan: 0% (0/3 images done) after 0s", "HSS scan: 66% (2/3 images done) after 1s",
                       "HSS scan: 100% (3/3 images done) after 2s"]
    assert clock.sleeps == [1.0, 1.5]
    # While one image shows no effect yet, one listing of the images' hosts in every state, narrowed to those
    # images; then the images in progress only; with the task's credentials passed on and nothing else.
    assert statuses(h) == [ALL, ALL, BUSY]
    assert set(c[0] for c in h.calls) == {"cloudsec.image_scan.hss_image_info"}
    assert h.calls[0][1] == {"image_type": "local", "image_ids": ["a", "b", "d"], "host_ids": ["h1", "h2"],
                             "access_key": "AK", "secret_key": "SK", "region": "cn-north-4"}
    assert h.calls[2][1] == {"image_type": "local", "scan_status": BUSY, "access_key": "AK",
                             "secret_key": "SK", "region": "cn-north-4"}


def test_hss_a_late_effect_is_waited_for_not_taken_for_done(monkeypatch, clock):
    # The cloud shows the trigger late: the image keeps its old state for two polls.
    ref = dict(REFS[0], scan_status="failed", latest_scan_time=OLD)
    fleet = Fleet({("a", "h1"): ("failed", OLD)}, {("a", "h1"): ("failed", OLD)},
                  {("a", "h1"): ("waiting", OLD)}, {("a", "h1"): ("success", NEW)})
    h = Harness(hw, monkeypatch, clock, dict(images=[ref], wait_sleep=1), [fleet] * 20)
    result = h.run()
    assert not result.get("failed"), result
    assert result["polls"] == 4
    assert statuses(h) == [ALL, ALL, ALL, BUSY]


def test_hss_an_image_that_shows_no_effect_by_start_timeout_fails_the_wait(monkeypatch, clock):
    ref = dict(REFS[0], scan_status="success", latest_scan_time=OLD)
    fleet = Fleet({("a", "h1"): ("success", OLD)})
    h = Harness(hw, monkeypatch, clock, dict(images=[ref], wait_sleep=2, start_timeout=10), [fleet] * 40)
    result = h.run()
    assert result["failed"] is True
    assert "no effect" in result["msg"] and "start_timeout (10 seconds)" in result["msg"] and "a on h1" in result["msg"]
    assert result["images_pending"] == [{"id": "a", "host": {"id": "h1"}}]
    assert 10 <= sum(clock.sleeps) < 20


@pytest.mark.parametrize("shown", [True, False])
def test_hss_images_whose_trigger_showed_are_not_confirmed_again(monkeypatch, clock, shown):
    # The scan module saw the trigger of a and d show (trigger_shown): the first poll comes after a
    # pause and lists the images in progress only, where a scan that ended meanwhile counts as done.
    refs = [dict(REFS[0], latest_scan_time=OLD), REFS[2]]
    fleet = Fleet({("a", "h1"): ("success", OLD), ("d", "h1"): ("scanning", None)},
                  {("a", "h1"): ("success", OLD), ("d", "h1"): ("success", NEW)})
    h = Harness(hw, monkeypatch, clock, dict(images=refs, wait_sleep=2, start_timeout=3, shown=shown), [fleet] * 10)
    result = h.run()
    if shown:
        assert not result.get("failed"), result
        assert statuses(h) == [BUSY, BUSY] and clock.sleeps == [2, 2.0]
    else:
        # Without it, a (old scan time, not in progress) is an image whose trigger never showed.
        assert result["failed"] is True and "a on h1" in result["msg"]
        assert statuses(h)[0] == ALL and clock.sleeps[0] == 2.0


def test_hss_an_image_id_alone_waits_for_the_image_on_every_host(monkeypatch, clock):
    fleet = Fleet({("a", "h7"): ("scanning", None)}, {("a", "h7"): ("success", NEW)})
    h = Harness(hw, monkeypatch, clock, dict(images=["a"], wait_sleep=1), [fleet] * 5)
    result = h.run()
    assert result["progress"]["done"] == 1 and result["polls"] == 2
    assert "host_ids" not in h.calls[0][1], "an image without a host is looked for on every host"


def test_hss_a_scan_that_ended_before_the_first_poll_is_confirmed_by_that_poll(monkeypatch, clock):
    # The scans of a and b ended before the wait began, d's is under way: one poll lists them all.
    refs = [dict(REFS[0], latest_scan_time=OLD), REFS[1], REFS[2]]
    fleet = Fleet({("a", "h1"): ("success", NEW), ("b", "h2"): ("failed", NEW), ("d", "h1"): ("scanning", None)},
                  {("a", "h1"): ("success", NEW), ("b", "h2"): ("failed", NEW), ("d", "h1"): ("success", NEW)})
    h = Harness(hw, monkeypatch, clock, dict(images=refs, wait_sleep=1), [fleet] * 5)
    result = h.run()
    assert not result.get("failed"), result
    assert statuses(h) == [ALL, BUSY] and result["polls"] == 2


def test_hss_unchanged_progress_is_shown_again_only_after_a_minute(monkeypatch, clock):
    fleet = Fleet(*([{("a", "h1"): ("scanning", None)}] * 12 + [{("a", "h1"): ("success", NEW)}]))
    h = Harness(hw, monkeypatch, clock, dict(images=REFS[:1], wait_sleep=10), [fleet] * 20)
    result = h.run()
    assert result["polls"] == 13, h.lines
    # Pauses 10, 15, 22.5, 33.75, then 40 each: repeated after 60 s, not at every poll.
    assert h.lines[0] == "HSS scan: 0% (0/1 images done) after 0s"
    assert len(h.lines) < result["polls"] / 2 + 1
    assert h.lines[-1].startswith("HSS scan: 100% (1/1 images done) after")
    assert all("0% (0/1" in line for line in h.lines[:-1]) and len(h.lines) >= 3


def test_hss_times_out_with_what_is_pending(monkeypatch, clock):
    fleet = Fleet({("a", "h1"): ("scanning", None), ("b", "h2"): ("success", NEW), ("d", "h1"): ("failed", NEW)})
    h = Harness(hw, monkeypatch, clock, dict(images=REFS, wait_timeout=5, wait_sleep=2), [fleet] * 20)
    result = h.run()
    assert result["failed"] is True
    assert result["msg"].startswith("Timed out after 5 seconds waiting for 1 of 3 images to be scanned")
    assert result["images_pending"] == [{"id": "a", "host": {"id": "h1"}}]
    assert result["progress"]["in_progress"] == 1
    assert sum(clock.sleeps) == pytest.approx(5)


def test_hss_nothing_to_wait_for_calls_nothing(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=[]), [])
    result = h.run()
    assert result["msg"] == "Nothing to wait for." and not result.get("failed")
    assert h.calls == [] and h.lines == []


def test_hss_check_mode_does_not_poll(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=REFS), [], check_mode=True)
    result = h.run()
    assert "Check mode" in result["msg"] and h.calls == []


def test_hss_silent_without_display_progress(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=REFS[:1], display_progress=False, label="x"),
                [Fleet({("a", "h1"): ("success", NEW)})] * 4)
    assert h.run()["progress"]["percent"] == 100
    assert h.lines == []


def test_hss_a_failing_info_module_fails_the_wait(monkeypatch, clock):
    error = {"error_code": "APIGW.0301", "status": 401}
    h = Harness(hw, monkeypatch, clock, dict(images=REFS), [
        {"failed": True, "msg": "permission denied", "error": error}])
    result = h.run()
    assert result["failed"] is True
    assert result["msg"] == "cloudsec.image_scan.hss_image_info failed while waiting: permission denied"
    assert result["error"] == error


def test_hss_refuses_an_image_without_id(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=[{"name": "nginx"}]), [])
    result = h.run()
    assert result["failed"] is True and result["msg"] == "images[0] has no image ID (id)"


def test_hss_images_and_task_id_are_mutually_exclusive(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=["a"], task_id="t-1"), [])
    with pytest.raises(AnsibleError, match="mutually exclusive"):
        h.run()


def test_hss_a_negative_start_timeout_is_refused(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=["a"], start_timeout=-1), [])
    result = h.run()
    assert result["failed"] is True and "start_timeout must be 0 or more" in result["msg"] and h.calls == []


def test_hss_unknown_option_is_refused(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(images=["a"], image_type="local"), [])
    with pytest.raises(AnsibleError, match="image_type"):
        h.run()


# -- HSS, one task -----------------------------------------------------------------------------


def test_hss_task_progress_until_it_succeeds(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(task_id="t-1", wait_sleep=1), [
        hss_task("running", 40, succeeded=3, failed=1), hss_task("succeeded", 100, succeeded=9, failed=1)])
    result = h.run()
    assert not result.get("failed") and result["task"]["status"] == "succeeded"
    assert h.lines == ["HSS scan task t-1: 40% (4/10 images done) after 0s",
                       "HSS scan task t-1: 100% (10/10 images done) after 1s"]
    assert h.calls[0] == ("cloudsec.image_scan.hss_image_scan_task_info", {"task_id": "t-1"})


def test_hss_task_that_ends_badly_fails(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(task_id="t-1"), [hss_task("stopped", 30)])
    result = h.run()
    assert result["failed"] is True and result["msg"] == "HSS scan task t-1 ended with status stopped"
    assert result["task"]["status"] == "stopped"


def test_hss_unknown_task_fails(monkeypatch, clock):
    h = Harness(hw, monkeypatch, clock, dict(task_id="t-404"), [{"changed": False, "tasks": []}])
    result = h.run()
    assert result["failed"] is True and "no image scan task with ID t-404" in result["msg"]


# -- TCSS --------------------------------------------------------------------------------------


def test_tcss_task_progress_until_it_succeeds(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1", wait_sleep=2, secret_id="ID", label="TCSS scan"), [
        tcss_task("running", 0), tcss_task("running", 44, succeeded=10, failed=2),
        tcss_task("succeeded", 100, succeeded=26, failed=1)])
    result = h.run()
    assert not result.get("failed") and result["msg"] == "TCSS scan task tc-1 succeeded."
    assert h.lines == ["TCSS scan: 0% (0/27 images done) after 0s", "TCSS scan: 44% (12/27 images done) after 2s",
                       "TCSS scan: 100% (27/27 images done) after 5s"]
    assert h.calls[0] == ("cloudsec.image_scan.tcss_image_scan_task_info", {"task_id": "tc-1", "secret_id": "ID"})
    assert result["progress"] == {"total": 27, "done": 27, "in_progress": 0, "percent": 100}


def test_tcss_one_click_false_is_passed_on_to_every_poll(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1", one_click=False, wait_sleep=1), [
        tcss_task("running", 10), tcss_task("succeeded", 100, succeeded=27)])
    result = h.run()
    assert not result.get("failed") and result["polls"] == 2
    assert [args for dummy, args in h.calls] == [{"task_id": "tc-1", "one_click": False}] * 2


def test_tcss_one_click_unset_is_not_passed_on(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1"), [tcss_task("succeeded", 100, succeeded=27)])
    assert not h.run().get("failed")
    assert h.calls == [("cloudsec.image_scan.tcss_image_scan_task_info", {"task_id": "tc-1"})]


def test_tcss_one_click_needs_task_id(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(images=["sha256:1"], one_click=False), [])
    with pytest.raises(AnsibleError, match="one_click"):
        h.run()
    assert h.calls == []


@pytest.mark.parametrize("status", ["stopped", "timed_out", "failed"])
def test_tcss_task_that_ends_badly_fails(monkeypatch, clock, status):
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1"), [tcss_task(status, 60)])
    result = h.run()
    assert result["failed"] is True and result["msg"] == "TCSS scan task tc-1 ended with status %s" % status


def test_tcss_task_timeout_returns_the_task(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1", wait_timeout=3, wait_sleep=1),
                [tcss_task("running", 10)] * 10)
    result = h.run()
    assert result["failed"] is True and result["task"]["progress"] == 10
    assert "Timed out after 3 seconds waiting for TCSS scan task tc-1 (task ID tc-1, status running, progress 10%)" \
        in result["msg"]


def test_tcss_unknown_task_fails(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(task_id="nope", start_timeout=0), [{"changed": False, "task": None, "tasks": []}])
    result = h.run()
    assert result["failed"] is True and "no image scan task with ID nope" in result["msg"]


def test_tcss_a_task_not_shown_yet_is_looked_for_until_start_timeout(monkeypatch, clock):
    missing = {"changed": False, "task": None, "tasks": []}
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1", wait_sleep=1, wait_timeout=60),
                [missing, missing, tcss_task("running", 50), tcss_task("succeeded", 100, succeeded=27)])
    result = h.run()
    assert not result.get("failed"), result["msg"]
    assert result["task"]["status"] == "succeeded" and len(h.calls) == 4


def test_tcss_a_task_never_shown_fails_after_start_timeout(monkeypatch, clock):
    missing = {"changed": False, "task": None, "tasks": []}
    h = Harness(tw, monkeypatch, clock, dict(task_id="tc-1", wait_sleep=1, wait_timeout=600, start_timeout=5),
                [missing] * 20)
    result = h.run()
    assert result["failed"] is True and "no image scan task with ID tc-1" in result["msg"]
    assert 3 <= len(h.calls) < 20


def test_tcss_images_are_followed_through_their_scan_status(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(images=["sha256:a", "sha256:b", "sha256:a"], wait_sleep=1), [
        {"images": [{"id": "sha256:a"}, {"id": "sha256:b"}]}, {"images": [{"id": "sha256:b"}]}, {"images": []}])
    result = h.run()
    assert result["images_pending"] == [] and result["polls"] == 3
    assert h.calls[0] == ("cloudsec.image_scan.tcss_image_info",
                          {"image_ids": ["sha256:a", "sha256:b"], "scan_status": ["waiting", "scanning"]})
    assert h.lines[1] == "TCSS scan: 50% (1/2 images done) after 1s"


def test_tcss_images_timeout_lists_the_pending_ones(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(images=["sha256:a"], wait_timeout=0), [{"images": [{"id": "sha256:a"}]}])
    result = h.run()
    assert result["failed"] is True and result["images_pending"] == ["sha256:a"]


def test_tcss_empty_task_id_is_refused(monkeypatch, clock):
    h = Harness(tw, monkeypatch, clock, dict(task_id="  "), [])
    result = h.run()
    assert result["failed"] is True and result["msg"] == "task_id must not be empty"


@pytest.mark.parametrize("plugin", [hw, tw])
@pytest.mark.parametrize("bad, words", [(dict(wait_timeout=-1), "wait_timeout must be 0 or more"),
                                        (dict(wait_sleep=0), "wait_sleep must be 1 or more")])
def test_wait_options_that_cannot_work_are_refused(monkeypatch, clock, plugin, bad, words):
    h = Harness(plugin, monkeypatch, clock, dict(task_id="t-1", **bad), [])
    result = h.run()
    assert result["failed"] is True and words in result["msg"] and h.calls == []


def test_the_shared_options_are_the_modules_own_without_environment_fallbacks():
    for plugin in (hw, tw):
        spec = plugin.ActionModule.shared_spec()
        assert "timeout" in spec and "validate_certs" in spec
        assert all("fallback" not in option for option in spec.values())
    assert "access_key" in hw.ActionModule.shared_spec() and "secret_id" in tw.ActionModule.shared_spec()
