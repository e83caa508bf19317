# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for Huawei Cloud HSS image scans and show their progress, one line per poll.

Starts nothing: it polls through the collection's own info modules (``hss_image_info`` filtered on
the scan states in progress, or ``hss_image_scan_task_info`` for one task), on the host the task
runs on (usually the controller), with a monotonic deadline and growing pauses.
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._scan_wait import ScanWaitAction

IMAGE_INFO = "cloudsec.image_scan.hss_image_info"
#: The scan states of the images still in progress.
IN_PROGRESS = ("waiting", "scanning")


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


class ActionModule(ScanWaitAction):

    CLOUD = "HSS"
    TASK_INFO = "cloudsec.image_scan.hss_image_scan_task_info"
    IMAGE_ELEMENTS = "raw"
    MODULE = HssModule

    def read_task(self, task_id, task_vars):
        tasks = self.info(self.TASK_INFO, dict(task_id=task_id), task_vars).get("tasks") or []
        return tasks[0] if tasks else None

    def image_keys(self, images):
        return image_keys(images)

    def busy(self, keys, task_vars):
        # The images in progress only, never the whole fleet.
        listed = self.info(IMAGE_INFO, dict(image_type="local", scan_status=list(IN_PROGRESS)), task_vars)
        busy = set((image.get("id"), (image.get("host") or {}).get("id")) for image in listed.get("images") or [])
        return still_busy(keys, busy)

    def pending_list(self, pending):
        return [dict(id=image_id, host=dict(id=host_id) if host_id else None) for image_id, host_id in pending]
