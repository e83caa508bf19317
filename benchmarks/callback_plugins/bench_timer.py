# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Timestamps of a playbook run for benchmarks/run.py (not part of the collection's plugins).

Enabled by run.py with ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins and
ANSIBLE_CALLBACKS_ENABLED=bench_timer; writes a JSON file named by BENCH_TIMER_OUT at the end of
the run: the playbook start, each task start, loop item end and number of hosts the task started on
(CLOCK_MONOTONIC seconds, comparable across the processes of one machine), and the end of the run.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Timestamps of tasks and loop items for the benchmark driver
description:
  - Writes the monotonic time of the playbook start, of every task start and loop item end, the number
    of hosts every task started on, and the time of the end of the run to the JSON file named by the
    environment variable E(BENCH_TIMER_OUT).
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=bench_timer
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.record = {"playbook_start": None, "tasks": [], "end": None}

    def v2_playbook_on_start(self, playbook):
        self.record["playbook_start"] = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.record["tasks"].append(
            {"name": task.get_name(), "start": time.monotonic(), "items": [], "results": 0})

    def _item(self, result):
        if self.record["tasks"]:
            self.record["tasks"][-1]["items"].append(time.monotonic())

    v2_runner_item_on_ok = _item
    v2_runner_item_on_failed = _item
    v2_runner_item_on_skipped = _item

    # The hosts of a task are counted as Ansible starts the task on them, not from their results:
    # Ansible gives every callback that takes a host's result its own copy of it (a deep copy
    # without the internal keys), so a timer that took results would add one such copy of every
    # host's fact to the very per-host cost it measures, and not to the skipped task's.
    def v2_runner_on_start(self, host, task):
        if self.record["tasks"]:
            self.record["tasks"][-1]["results"] += 1

    def v2_playbook_on_stats(self, stats):
        self.record["end"] = time.monotonic()
        path = os.environ.get("BENCH_TIMER_OUT")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self.record, handle)
