# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The gc_freeze callback: the controller's objects are frozen before Ansible forks."""

from __future__ import annotations

import gc
import os

import pytest

from ansible_collections.cloudsec.image_scan.plugins.callback import gc_freeze


@pytest.fixture
def callback():
    gc.unfreeze()
    yield gc_freeze.CallbackModule()
    gc.unfreeze()


@pytest.mark.parametrize("hook, args", [
    ("v2_playbook_on_task_start", (object(), False)),
    ("v2_playbook_on_handler_task_start", (object(),)),
    ("v2_runner_on_ok", (object(),)),
    ("v2_runner_on_failed", (object(),)),
    ("v2_runner_on_skipped", (object(),)),
    ("v2_runner_on_unreachable", (object(),)),
])
def test_every_hook_before_a_fork_freezes_what_the_controller_holds(callback, hook, args):
    held = [{"fact": i} for i in range(1000)]
    assert gc.get_freeze_count() == 0
    getattr(callback, hook)(*args)
    assert gc.get_freeze_count() >= len(held)


def test_the_end_of_the_playbook_unfreezes_and_collects(callback):
    callback.v2_playbook_on_task_start(object(), False)
    assert gc.get_freeze_count() > 0
    cycle = []
    cycle.append(cycle)
    del cycle
    callback.v2_playbook_on_stats(object())
    assert gc.get_freeze_count() == 0


def test_a_frozen_parent_leaves_its_objects_out_of_the_childs_collections(callback):
    # What the callback is for: a collection in a forked worker does not visit the parent's objects.
    held = [{"fact": [i]} for i in range(2000)]
    callback.v2_playbook_on_task_start(object(), False)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        tracked = sum(1 for obj in gc.get_objects() if obj is held)
        os.write(writer, b"%d %d" % (gc.get_freeze_count(), tracked))
        os._exit(0)
    os.close(writer)
    answer = os.read(reader, 100).decode().split()
    os.close(reader)
    os.waitpid(pid, 0)
    frozen, tracked = int(answer[0]), int(answer[1])
    assert frozen >= len(held)
    # gc.get_objects() lists the collected generations only: the frozen list is not among them.
    assert tracked == 0


def test_it_must_be_enabled_and_prints_nothing():
    assert gc_freeze.CallbackModule.CALLBACK_NEEDS_ENABLED is True
    assert gc_freeze.CallbackModule.CALLBACK_TYPE == "aggregate"
    assert gc_freeze.CallbackModule.CALLBACK_NAME == "cloudsec.image_scan.gc_freeze"
