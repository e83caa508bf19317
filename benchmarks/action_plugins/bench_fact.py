# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The cheapest per-host task that leaves a host a fact the size of the role's (benchmarks only).

benchmarks/floor.yml runs it on every host, next to the skipped task: it reads a host's fact as
the role leaves it (``benchmarks/fact_sample.json``, one host of a 1,000-host TCSS run with
findings) and returns it as the host's ``image_scan`` fact, with no argument, no check and no
message. What Ansible does with a fact of that size on every host is then measured apart from the
role's gate, which does the same and also reads its host's result and judges it. With
``fact: false`` it returns nothing but ``changed: false``: what a task that runs on every host
costs before it leaves any fact.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fact_sample.json")


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        result.update(changed=False)
        if self._task.args.get("fact", True):
            with open(SAMPLE, encoding="utf-8") as handle:
                result.update(ansible_facts={"image_scan": json.load(handle)})
        return result
