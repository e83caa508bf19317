# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for Huawei Cloud HSS image scans and show their progress, one line per poll.

Starts nothing: it polls through the collection's own info modules (``hss_image_info`` filtered on
the scan states in progress, or ``hss_image_scan_task_info`` for one task), on the host the task
runs on (usually the controller), with a monotonic deadline and growing pauses.
"""

from __future__ import annotations

import copy
import time

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import hss_argument_spec

display = Display()

# Indirections the unit tests replace.
_clock = time.monotonic
_sleep = time.sleep

IMAGE_INFO = "cloudsec.image_scan.hss_image_info"
TASK_INFO = "cloudsec.image_scan.hss_image_scan_task_info"
#: The ListImageLocal scan_status filters of the images still in progress.
IN_PROGRESS_FILTERS = ("waiting_for_scan", "scanning")
#: An unchanged progress line is shown again after this many seconds.
REPEAT_AFTER = 60.0


def shared_spec():
    """The authentication and connection options, passed on as given: without the environment
    fallbacks, which the modules apply themselves where they run."""
    spec = copy.deepcopy(hss_argument_spec())
    for option in spec.values():
        option.pop("fallback", None)
    return spec


def argument_spec():
    spec = dict(
        images=dict(type="list", elements="raw"),
        task_id=dict(type="str"),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="int", default=5),
        label=dict(type="str"),
        display_progress=dict(type="bool", default=True),
    )
    spec.update(shared_spec())
    return spec


def image_keys(images):
    """``(image id, host id or None)`` of each element of ``images``; ``ValueError`` for an element
    without an image ID."""
    keys = []
    for number, item in enumerate(images or []):
        if isinstance(item, dict):
            image_id = to_text(item.get("id") or "")
            host_id = to_text((item.get("host") or {}).get("id") or "") or None
        else:
            image_id, host_id = to_text(item or ""), None
        if not image_id:
            raise ValueError("images[%d] has no image ID (id)" % number)
        if (image_id, host_id) not in keys:
            keys.append((image_id, host_id))
    return keys


def still_busy(keys, busy):
    """The keys whose image is still in progress: on its host, or on any host without one."""
    busy_ids = set(image_id for image_id, _host in busy)
    return [key for key in keys if (key in busy if key[1] else key[0] in busy_ids)]


class Progress(object):
    """Shows one progress line per poll at most, and only when it changed or a minute passed."""

    def __init__(self, label, show):
        self.label = label
        self.show = show
        self.started = _clock()
        self.shown = None
        self.shown_at = None
        self.polls = 0
        self.last = None

    def elapsed(self):
        return _clock() - self.started

    def update(self, done, total, percent=None):
        self.polls += 1
        if percent is None:
            percent = 100 if not total else int(100 * done / total)
        self.last = dict(total=total, done=done, in_progress=max(total - done, 0), percent=percent)
        line = "%s: %d%% (%d/%d images done)" % (self.label, percent, done, total)
        now = _clock()
        if self.show and (line != self.shown or now - self.shown_at >= REPEAT_AFTER):
            display.display("%s after %ds" % (line, int(round(self.elapsed()))), stderr=True)
            self.shown, self.shown_at = line, now


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def _info(self, module, module_args, task_vars):
        """Run one info module with the shared options of this task; fail on its failure."""
        args = dict((name, self._task.args[name]) for name in shared_spec() if name in self._task.args)
        args.update(module_args)
        result = self._execute_module(module_name=module, module_args=args, task_vars=task_vars)
        if result.get("failed"):
            raise _Failed(msg="%s failed while waiting: %s" % (module, result.get("msg")),
                          error=result.get("error"))
        return result

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, params = self.validate_argument_spec(
            argument_spec=argument_spec(), mutually_exclusive=[("images", "task_id")])
        result["changed"] = False
        try:
            if params["wait_timeout"] < 0 or params["wait_sleep"] < 1:
                raise ValueError("wait_timeout must be 0 or more and wait_sleep 1 or more")
            if params["task_id"] is not None:
                result.update(self.wait_task(params, task_vars))
            else:
                result.update(self.wait_images(params, task_vars))
        except _Failed as failure:
            result.update(failure.result, failed=True)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- local images (hss_local_image_scan) -------------------------------------------------

    def wait_images(self, params, task_vars):
        keys = image_keys(params["images"])
        if not keys:
            return dict(msg="Nothing to wait for.", images_pending=[], progress=None, polls=0, elapsed=0)
        if self._task.check_mode:
            return dict(msg="Check mode: no scan was started, nothing to wait for.", images_pending=[],
                        progress=None, polls=0, elapsed=0)
        progress = Progress(params["label"] or "HSS scan", params["display_progress"])

        def poll():
            busy = set()
            for word in IN_PROGRESS_FILTERS:
                listed = self._info(IMAGE_INFO, dict(image_type="local", scan_status=word), task_vars)
                for image in listed.get("images") or []:
                    busy.add((image.get("id"), (image.get("host") or {}).get("id")))
            pending = still_busy(keys, busy)
            progress.update(len(keys) - len(pending), len(keys))
            return pending

        def pending_list(pending):
            return [dict(id=image_id, host=dict(id=host_id) if host_id else None) for image_id, host_id in pending]

        try:
            _scan.wait_for(poll, lambda pending: not pending, params["wait_timeout"], params["wait_sleep"],
                           clock=_clock, sleeper=_sleep)
        except _scan.WaitTimeout as exc:
            raise _Failed(
                msg="Timed out after %ss waiting for %d of %d images to be scanned; run again to wait further" % (
                    params["wait_timeout"], len(exc.last), len(keys)),
                images_pending=pending_list(exc.last), progress=progress.last, polls=progress.polls,
                elapsed=round(progress.elapsed(), 1))
        return dict(msg="%d images scanned." % len(keys), images_pending=[], progress=progress.last,
                    polls=progress.polls, elapsed=round(progress.elapsed(), 1))

    # -- one task (hss_image_scan) -----------------------------------------------------------

    def wait_task(self, params, task_vars):
        task_id = params["task_id"].strip()
        if not task_id:
            raise ValueError("task_id must not be empty")
        progress = Progress(params["label"] or "HSS scan task %s" % task_id, params["display_progress"])

        def poll():
            tasks = self._info(TASK_INFO, dict(task_id=task_id), task_vars).get("tasks") or []
            if not tasks:
                raise _Failed(msg="HSS lists no image scan task with ID %s" % task_id, task=None)
            task = tasks[0]
            done = int(task.get("succeeded") or 0) + int(task.get("failed") or 0)
            progress.update(done, int(task.get("total") or 0), percent=int(task.get("progress") or 0))
            return task

        try:
            task = _scan.wait_for(poll, lambda t: _scan.task_is_done(t.get("status")), params["wait_timeout"],
                                  params["wait_sleep"], clock=_clock, sleeper=_sleep)
        except _scan.WaitTimeout as exc:
            raise _Failed(
                msg="Timed out after %ss waiting for HSS scan task %s (progress %s%%); run again to wait further" % (
                    params["wait_timeout"], task_id, exc.last.get("progress")),
                task=exc.last, progress=progress.last, polls=progress.polls, elapsed=round(progress.elapsed(), 1))
        extra = dict(task=task, progress=progress.last, polls=progress.polls, elapsed=round(progress.elapsed(), 1))
        if task.get("status") != _scan.TASK_SUCCEEDED:
            raise _Failed(msg="HSS scan task %s ended with status %s" % (task_id, task.get("status")), **extra)
        return dict(msg="HSS scan task %s succeeded." % task_id, **extra)


class _Failed(Exception):
    """End the action as failed with this result."""

    def __init__(self, **result):
        super(_Failed, self).__init__(result.get("msg"))
        self.result = result
