# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for Huawei Cloud HSS image scans and show their progress, one line per poll.

Starts nothing: it polls through the collection's own info modules (``hss_image_info`` filtered on
the scan states in progress, or ``hss_image_scan_task_info`` for one task), on the host the task
runs on (usually the controller), with a monotonic deadline and growing pauses.

HSS may show a trigger's effect late: an image counts as done only once it has shown the effect
(waiting or scanning, or a scan time newer than the one in the ``images`` entry) and is no longer
in progress; an image that shows none within ``start_timeout`` fails the wait.
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _ops
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import start_argument_spec
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._scan_wait import ScanWaitAction

IMAGE_INFO = "cloudsec.image_scan.hss_image_info"
#: The scan states of the images still in progress.
IN_PROGRESS = ("waiting", "scanning")


def image_refs(images):
    """``{(image id, host id or None): entry}`` of the elements of ``images``, in order, each entry
    with its ``key`` (the entry's ``latest_scan_time`` is the scan time known before the trigger);
    ``ValueError`` for an element without an image ID."""
    refs = {}
    for key, item in zip(image_keys(images), _distinct(images)):
        refs[key] = dict(item, key=key) if isinstance(item, dict) else dict(key=key)
    return refs


def _distinct(images):
    seen, items = set(), []
    for item in images or []:
        key = image_keys([item])[0]
        if key not in seen:
            seen.add(key)
            items.append(item)
    return items


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

    @classmethod
    def argument_spec(cls):
        spec = super(ActionModule, cls).argument_spec()
        spec.update(start_argument_spec())
        spec["shown"] = dict(type="bool", default=False)
        return spec

    def wait_images(self, params, task_vars):
        self.start_timeout = params["start_timeout"]
        self.shown = params["shown"]
        return super(ActionModule, self).wait_images(params, task_vars)

    def image_keys(self, images):
        keys = image_keys(images)
        self.effects = _ops.Effects(image_refs(images).values(), lambda ref: ref["key"], self.start_timeout)
        if self.shown:
            self.effects.see_keys(self.effects.before)
        return keys

    def first_pause(self, params):
        # The scan module saw every trigger show its effect just now: nothing is done this soon.
        return params["wait_sleep"] if self.shown else 0

    def listed(self, statuses, task_vars, image_ids=None, host_ids=None):
        """``(key, image)`` of the local images in ``statuses`` (every state when empty), of
        ``image_ids`` and on the hosts ``host_ids`` only when given."""
        args = dict(image_type="local")
        if statuses:
            args["scan_status"] = list(statuses)
        if image_ids is not None:
            args["image_ids"] = image_ids
        if host_ids is not None:
            args["host_ids"] = host_ids
        images = self.info(IMAGE_INFO, args, task_vars).get("images") or []
        return [((image.get("id"), (image.get("host") or {}).get("id")), image) for image in images]

    def confirm(self, listed):
        """Confirm the keys of ``effects`` that the ``(key, image)`` pairs show the effect for
        (an entry without a host matches the image on any host)."""
        for key, ref in list(self.effects.before.items()):
            for (image_id, host_id), image in listed:
                if image_id == key[0] and (key[1] is None or key[1] == host_id) and _ops.effect_seen(ref, image):
                    self.effects.confirmed.add(key)

    def busy(self, keys, task_vars):
        # While some image shows no effect of its trigger yet, one listing of the images in every
        # state (on their hosts: those hosts' rows, or one walk of the fleet's, whichever is fewer
        # calls) shows both the ones in progress and the ones whose scan ended since the trigger;
        # listings by state would walk them apart, and the scans that end before the first poll
        # would be walked twice. Once every image showed it, the images in progress only.
        if self.effects.unconfirmed():
            listed = self.listed((), task_vars, _scan_ids(keys), _host_ids(keys))
            self.confirm(listed)
            in_progress = [(key, image) for key, image in listed if image.get("scan_status") in IN_PROGRESS]
        else:
            in_progress = self.listed(IN_PROGRESS, task_vars)
        busy = still_busy(keys, set(key for key, dummy in in_progress))
        unconfirmed = [key for key in self.effects.unconfirmed() if key not in busy]
        if unconfirmed and self.effects.expired():
            raise _ops.ModuleError(
                "HSS shows no effect of the scan of %d of %d images within start_timeout (%s seconds): %s" % (
                    len(unconfirmed), len(keys), self.start_timeout,
                    ", ".join("%s on %s" % (image_id, host_id or "any host") for image_id, host_id in unconfirmed)),
                images_pending=self.pending_list(unconfirmed))
        return busy + unconfirmed

    def pending_list(self, pending):
        return [dict(id=image_id, host=dict(id=host_id) if host_id else None) for image_id, host_id in pending]


def _scan_ids(keys):
    return sorted(set(image_id for image_id, dummy in keys))


def _host_ids(keys):
    """The hosts of ``keys``, or ``None`` (every host) when one of them names none."""
    if any(host_id is None for dummy, host_id in keys):
        return None
    return sorted(set(host_id for dummy, host_id in keys))
