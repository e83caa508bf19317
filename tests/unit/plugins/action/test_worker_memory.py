# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every action of the collection first leaves the objects its forked worker inherited out of the
worker's garbage collections, so that a collection there does not copy the controller's memory."""

from __future__ import annotations

import gc
from unittest import mock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.cloudsec.image_scan.plugins.action import hss_image_scan_wait, image_scan_gate
from ansible_collections.cloudsec.image_scan.plugins.action import image_scan_judge, tcss_image_scan_wait
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils import _worker


def test_the_objects_alive_are_frozen_and_new_ones_are_not():
    alive = [{"kept": index} for index in range(100)]
    assert gc.get_freeze_count() == 0
    _worker.share_inherited_memory()
    frozen = gc.get_freeze_count()
    assert frozen >= len(alive)
    later = [{"new": index} for index in range(100)]
    gc.collect()
    assert gc.get_freeze_count() == frozen and later


@pytest.mark.parametrize("module", [image_scan_gate, image_scan_judge, hss_image_scan_wait, tcss_image_scan_wait])
def test_every_action_freezes_before_anything_else(module):
    order = []

    def base_run(*args, **kwargs):
        order.append("run")
        raise RuntimeError("stop")

    action = module.ActionModule(mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None, None, None)
    with mock.patch.object(_worker.gc, "freeze", side_effect=lambda: order.append("freeze")), \
            mock.patch.object(ActionBase, "run", side_effect=base_run):
        with pytest.raises(RuntimeError, match="stop"):
            action.run(task_vars={})
    assert order == ["freeze", "run"]
