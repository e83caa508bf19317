# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for a Tencent Cloud TCSS image scan and show its progress, one line per poll.

Starts nothing: it polls through the collection's own info modules (``tcss_image_scan_task_info``
for a task, or ``tcss_image_info`` filtered on the images still being scanned), on the host the
task runs on (usually the controller), with a monotonic deadline and growing pauses.
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_module import TcssModule
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._scan_wait import ScanWaitAction

IMAGE_INFO = "cloudsec.image_scan.tcss_image_info"


class ActionModule(ScanWaitAction):

    CLOUD = "TCSS"
    TASK_INFO = "cloudsec.image_scan.tcss_image_scan_task_info"
    MODULE = TcssModule

    REQUIRED_BY = {"one_click": "task_id"}

    #: Default of ``start_timeout``, as in tcss_image_scan.
    START_TIMEOUT = 120

    @classmethod
    def argument_spec(cls):
        spec = super(ActionModule, cls).argument_spec()
        spec["start_timeout"] = dict(type="int", default=cls.START_TIMEOUT)
        spec["one_click"] = dict(type="bool")
        return spec

    def read_task(self, task_id, task_vars):
        """The task; one TCSS does not show yet (it may answer ``ResourceNotFound`` for a task it
        has just created) is running until ``start_timeout`` seconds after the first poll."""
        args = dict(task_id=task_id)
        if self._params["one_click"] is not None:
            # A task known not to be the one-click task is read with T2 alone (T3 reports only that one).
            args["one_click"] = self._params["one_click"]
        task = self.info(self.TASK_INFO, args, task_vars).get("task")
        if task:
            self._shown = True
            return task
        if getattr(self, "_first_poll", None) is None:
            self._first_poll = _clock.monotonic()
        first = self._first_poll
        start_timeout = self._task.args.get("start_timeout")
        start_timeout = self.START_TIMEOUT if start_timeout is None else int(start_timeout)
        if getattr(self, "_shown", False) or _clock.monotonic() - first >= start_timeout:
            return None
        return dict(id=task_id, status=_scan.TASK_RUNNING, progress=0, total=0, succeeded=0, failed=0, shown=False)

    def image_keys(self, images):
        ids = []
        for image_id in images or []:
            image_id = to_text(image_id).strip()
            if not image_id:
                raise ValueError("images must not contain an empty image ID")
            if image_id not in ids:
                ids.append(image_id)
        return ids

    def busy(self, keys, task_vars):
        listed = self.info(IMAGE_INFO, dict(image_ids=keys, scan_status=["waiting", "scanning"]), task_vars)
        busy = set(image.get("id") for image in listed.get("images") or [])
        return [image_id for image_id in keys if image_id in busy]
