# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Keep Ansible's forked workers from copying the controller's memory: gc.freeze() before forks."""

from __future__ import annotations

DOCUMENTATION = r"""
name: gc_freeze
type: aggregate
short_description: Less memory for per-host tasks on large inventories, by freezing the controller's objects before Ansible forks
version_added: 0.2.0
description:
  - Ansible runs every task of every host in a worker process forked from the controller process (C(ansible-playbook)).
    A forked worker shares the controller's memory until it writes to it, and Python's cyclic garbage collector,
    when it runs in a worker, writes to every object it visits. On a large inventory, where the controller holds
    the facts of thousands of hosts, each worker thus ends up with a private copy of much of the controller's
    memory, and the forks of one task (C(forks), 5 by default) together hold several times what the controller holds.
  - This callback calls Python's C(gc.freeze()) in the controller before Ansible forks, at the start of every task
    and after every host result. The objects the controller holds then are left out of the collector's work, in the
    controller and in the workers, so the workers share them instead of copying them. When the playbook ends, it
    calls C(gc.unfreeze()) and collects once.
  - It changes nothing in what Ansible runs or prints, and applies to every task of the playbook, not only to the
    C(cloudsec.image_scan.image_scan) role.
  - Reference cycles that become garbage while frozen are reclaimed only when the playbook ends. Objects freed by
    reference counting, which is most of them, are freed as usual.
  - The figures are in the collection's benchmark results (C(benchmarks/results.md)).
requirements:
  - Enabled in C(ansible.cfg) (C(callbacks_enabled = cloudsec.image_scan.gc_freeze) in the C([defaults]) section)
    or with the environment variable E(ANSIBLE_CALLBACKS_ENABLED=cloudsec.image_scan.gc_freeze).
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = cloudsec.image_scan.gc_freeze
"""

import gc

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cloudsec.image_scan.gc_freeze"
    CALLBACK_NEEDS_ENABLED = True

    def _freeze(self, *args, **kwargs):
        # O(1): the collector's generations are moved, as lists, to the permanent one.
        gc.freeze()

    # Before the workers of a task are forked, and as the results that Ansible keeps (facts,
    # registered variables) arrive between the forks of one task.
    v2_playbook_on_task_start = _freeze
    v2_playbook_on_handler_task_start = _freeze
    v2_runner_on_ok = _freeze
    v2_runner_on_failed = _freeze
    v2_runner_on_skipped = _freeze
    v2_runner_on_unreachable = _freeze

    def v2_playbook_on_stats(self, stats):
        gc.unfreeze()
        gc.collect()
