# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the HSS and TCSS wait actions share: progress lines, polling the collection's own info
modules with a deadline, and the shape of their results.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import copy

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _ops, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import (
    start_problems, wait_argument_spec, wait_problems)
from ansible_collections.cloudsec.image_scan.plugins.module_utils._ops import ModuleError
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._worker import share_inherited_memory

display = Display()

#: An unchanged progress line is shown again after this many seconds.
REPEAT_AFTER = 60.0


class Progress(object):
    """Shows one progress line per poll at most, and only when it changed or a minute passed.

    The lines go to standard error, so that a stdout callback such as json stays readable."""

    def __init__(self, label, show):
        self.label = label
        self.show = show
        self.started = _clock.monotonic()
        self.shown = None
        self.shown_at = None
        self.polls = 0
        self.last = None

    def elapsed(self):
        return _clock.monotonic() - self.started

    def update(self, done, total, percent=None):
        self.polls += 1
        if percent is None:
            percent = 100 if not total else int(100 * done / total)
        self.last = dict(total=total, done=done, in_progress=max(total - done, 0), percent=percent)
        line = "%s: %d%% (%d/%d images done)" % (self.label, percent, done, total)
        now = _clock.monotonic()
        if self.show and (line != self.shown or now - self.shown_at >= REPEAT_AFTER):
            display.display("%s after %ds" % (line, int(round(self.elapsed()))), stderr=True)
            self.shown, self.shown_at = line, now

    def summary(self):
        return dict(progress=self.last, polls=self.polls, elapsed=round(self.elapsed(), 1))


NOTHING = dict(images_pending=[], progress=None, polls=0, elapsed=0)


class ScanWaitAction(ActionBase):
    """Base of the wait actions: subclasses set the cloud's names and say how to read a task
    and which images are still being scanned."""

    TRANSFERS_FILES = False

    CLOUD = ""
    TASK_INFO = ""
    #: Element type of the ``images`` option.
    IMAGE_ELEMENTS = "str"

    #: The cloud's module base class, whose shared options the action takes.
    MODULE = None
    #: ``required_by`` of the argument spec (option -> the options it needs).
    REQUIRED_BY = {}

    @classmethod
    def shared_spec(cls):
        """The authentication and connection options, passed on as given: without the environment
        fallbacks, which the modules apply themselves where they run."""
        spec = copy.deepcopy(cls.MODULE.shared_argument_spec())
        for option in spec.values():
            option.pop("fallback", None)
        return spec

    @classmethod
    def argument_spec(cls):
        spec = dict(
            images=dict(type="list", elements=cls.IMAGE_ELEMENTS),
            task_id=dict(type="str"),
            label=dict(type="str"),
            display_progress=dict(type="bool", default=True),
        )
        spec.update(dict((name, option) for name, option in wait_argument_spec().items() if name != "wait"))
        spec.update(cls.shared_spec())
        return spec

    def info(self, module, module_args, task_vars):
        """Run one info module with the shared options of this task; fail on its failure."""
        args = dict((name, self._task.args[name]) for name in self.shared_spec() if name in self._task.args)
        args.update(module_args)
        result = self._execute_module(module_name=module, module_args=args, task_vars=task_vars)
        if result.get("failed"):
            raise ModuleError("%s failed while waiting: %s" % (module, result.get("msg")), error=result.get("error"))
        return result

    def run(self, tmp=None, task_vars=None):
        share_inherited_memory()
        result = super(ScanWaitAction, self).run(tmp, task_vars)
        del tmp
        dummy, params = self.validate_argument_spec(
            argument_spec=self.argument_spec(), mutually_exclusive=[("images", "task_id")],
            required_by=self.REQUIRED_BY)
        self._params = params
        result["changed"] = False
        try:
            problems = wait_problems(params) + start_problems(params)
            if problems:
                raise ValueError("; ".join(problems))
            if params["task_id"] is not None:
                result.update(self.wait_task(params, task_vars))
            else:
                result.update(self.wait_images(params, task_vars))
        except ModuleError as failure:
            result.update(failure.result, failed=True)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    @staticmethod
    def _wait(poll, is_done, params, on_timeout):
        return _ops.wait(poll, is_done, params["wait_timeout"], params["wait_sleep"], on_timeout)

    # -- one task ----------------------------------------------------------------------------

    def read_task(self, task_id, task_vars):
        """The normalised task ``task_id`` from the cloud's task info module, or ``None``."""
        raise NotImplementedError

    def wait_task(self, params, task_vars):
        task_id = params["task_id"].strip()
        if not task_id:
            raise ValueError("task_id must not be empty")
        progress = Progress(params["label"] or "%s scan task %s" % (self.CLOUD, task_id), params["display_progress"])

        def poll():
            task = self.read_task(task_id, task_vars)
            if not task:
                raise ModuleError("%s knows no image scan task with ID %s" % (self.CLOUD, task_id), task=None)
            done = int(task.get("succeeded") or 0) + int(task.get("failed") or 0)
            progress.update(done, int(task.get("total") or 0), percent=int(task.get("progress") or 0))
            return task

        def on_timeout(last):
            return _ops.timed_out("%s scan task %s" % (self.CLOUD, task_id), params["wait_timeout"], task=last,
                                  **progress.summary())

        task = self._wait(poll, lambda t: _scan.task_is_done(t.get("status")), params, on_timeout)
        if task.get("status") != _scan.TASK_SUCCEEDED:
            raise ModuleError("%s scan task %s ended with status %s" % (self.CLOUD, task_id, task.get("status")),
                              task=task, **progress.summary())
        return dict(msg="%s scan task %s succeeded." % (self.CLOUD, task_id), task=task, **progress.summary())

    # -- images whose task is not known -------------------------------------------------------

    def image_keys(self, images):
        """The distinct keys of the images to wait for; ``ValueError`` for an unusable element."""
        raise NotImplementedError

    def busy(self, keys, task_vars):
        """The keys among ``keys`` whose image is still waiting or being scanned."""
        raise NotImplementedError

    def pending_list(self, pending):
        return list(pending)

    def first_pause(self, params):
        """Seconds to wait before the first poll of the images."""
        return 0

    def wait_images(self, params, task_vars):
        keys = self.image_keys(params["images"])
        if not keys:
            return dict(msg="Nothing to wait for.", **NOTHING)
        if self._task.check_mode:
            return dict(msg="Check mode: no scan was started, nothing to wait for.", **NOTHING)
        progress = Progress(params["label"] or "%s scan" % self.CLOUD, params["display_progress"])
        pause = min(self.first_pause(params), params["wait_timeout"])
        _clock.sleep(pause)

        def poll():
            pending = self.busy(keys, task_vars)
            progress.update(len(keys) - len(pending), len(keys))
            return pending

        def on_timeout(pending):
            summary = progress.summary()
            return _ops.timed_out("%d of %d images to be scanned" % (len(pending), len(keys)), params["wait_timeout"],
                                  images_pending=self.pending_list(pending), polls=summary["polls"],
                                  elapsed=summary["elapsed"], progress=summary["progress"])

        self._wait(poll, lambda pending: not pending, dict(params, wait_timeout=params["wait_timeout"] - pause),
                   on_timeout)
        return dict(msg="%d images scanned." % len(keys), images_pending=[], **progress.summary())
