# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for a Tencent Cloud TCSS image scan and show its progress, one line per poll.

Starts nothing: it polls through the collection's own info modules (``tcss_image_scan_task_info``
for a task, or ``tcss_image_info`` filtered on the images still being scanned), on the host the
task runs on (usually the controller), with a monotonic deadline and growing pauses.
"""

from __future__ import annotations

import copy
import time

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import tcss_argument_spec

display = Display()

# Indirections the unit tests replace.
_clock = time.monotonic
_sleep = time.sleep

IMAGE_INFO = "cloudsec.image_scan.tcss_image_info"
TASK_INFO = "cloudsec.image_scan.tcss_image_scan_task_info"
#: An unchanged progress line is shown again after this many seconds.
REPEAT_AFTER = 60.0


def shared_spec():
    """The authentication and connection options, passed on as given: without the environment
    fallbacks, which the modules apply themselves where they run."""
    spec = copy.deepcopy(tcss_argument_spec())
    for option in spec.values():
        option.pop("fallback", None)
    return spec


def argument_spec():
    spec = dict(
        task_id=dict(type="str"),
        images=dict(type="list", elements="str"),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="int", default=5),
        label=dict(type="str"),
        display_progress=dict(type="bool", default=True),
    )
    spec.update(shared_spec())
    return spec


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
            argument_spec=argument_spec(), mutually_exclusive=[("task_id", "images")])
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

    def _common(self, progress):
        return dict(progress=progress.last, polls=progress.polls, elapsed=round(progress.elapsed(), 1))

    # -- one task (tcss_image_scan) ----------------------------------------------------------

    def wait_task(self, params, task_vars):
        task_id = params["task_id"].strip()
        if not task_id:
            raise ValueError("task_id must not be empty")
        progress = Progress(params["label"] or "TCSS scan task %s" % task_id, params["display_progress"])

        def poll():
            task = self._info(TASK_INFO, dict(task_id=task_id), task_vars).get("task")
            if not task:
                raise _Failed(msg="TCSS knows no image scan task with ID %s" % task_id, task=None)
            done = int(task.get("succeeded") or 0) + int(task.get("failed") or 0)
            progress.update(done, int(task.get("total") or 0), percent=int(task.get("progress") or 0))
            return task

        try:
            task = _scan.wait_for(poll, lambda t: _scan.task_is_done(t.get("status")), params["wait_timeout"],
                                  params["wait_sleep"], clock=_clock, sleeper=_sleep)
        except _scan.WaitTimeout as exc:
            raise _Failed(
                msg="Timed out after %ss waiting for TCSS scan task %s (progress %s%%); run again to wait "
                    "further" % (params["wait_timeout"], task_id, exc.last.get("progress")),
                task=exc.last, **self._common(progress))
        if task.get("status") != _scan.TASK_SUCCEEDED:
            raise _Failed(msg="TCSS scan task %s ended with status %s" % (task_id, task.get("status")),
                          task=task, **self._common(progress))
        return dict(msg="TCSS scan task %s succeeded." % task_id, task=task, **self._common(progress))

    # -- images (a scan whose task is not known) ---------------------------------------------

    def wait_images(self, params, task_vars):
        ids = []
        for image_id in params["images"] or []:
            image_id = to_text(image_id).strip()
            if not image_id:
                raise ValueError("images must not contain an empty image ID")
            if image_id not in ids:
                ids.append(image_id)
        if not ids:
            return dict(msg="Nothing to wait for.", images_pending=[], progress=None, polls=0, elapsed=0)
        if self._task.check_mode:
            return dict(msg="Check mode: no scan was started, nothing to wait for.", images_pending=[],
                        progress=None, polls=0, elapsed=0)
        progress = Progress(params["label"] or "TCSS scan", params["display_progress"])

        def poll():
            listed = self._info(IMAGE_INFO, dict(image_ids=ids, scan_status=["waiting", "scanning"]), task_vars)
            busy = set(image.get("id") for image in listed.get("images") or [])
            pending = [image_id for image_id in ids if image_id in busy]
            progress.update(len(ids) - len(pending), len(ids))
            return pending

        try:
            _scan.wait_for(poll, lambda pending: not pending, params["wait_timeout"], params["wait_sleep"],
                           clock=_clock, sleeper=_sleep)
        except _scan.WaitTimeout as exc:
            raise _Failed(
                msg="Timed out after %ss waiting for %d of %d images to be scanned; run again to wait further" % (
                    params["wait_timeout"], len(exc.last), len(ids)),
                images_pending=list(exc.last), **self._common(progress))
        return dict(msg="%d images scanned." % len(ids), images_pending=[], **self._common(progress))


class _Failed(Exception):
    """End the action as failed with this result."""

    def __init__(self, **result):
        super(_Failed, self).__init__(result.get("msg"))
        self.result = result
