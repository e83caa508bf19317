# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Waiting for a scan to end.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the scan ends (succeeded, failed, stopped or timed out) before returning.
      - With V(false) the module returns as soon as the scan is started or found.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait in seconds when O(wait=true).
      - When it runs out the task fails and the result still holds the task ID, so a later task can resume waiting.
    type: int
    default: 600
  wait_sleep:
    description:
      - Seconds between two polls of the scan status.
    type: int
    default: 5
"""

    # The modules that confirm a trigger's effect (start_argument_spec in module_utils/_module.py).
    START = r"""
options:
  start_timeout:
    description:
      - How long in seconds a trigger's effect may take to show, since the cloud may show it late, counted from the
        trigger's answer (or, when it got none, from its failure).
      - Until every triggered image (or the task the trigger created) shows it, a wait does not end, and a trigger
        whose answer was lost is not sent again. When no effect shows within this time, a wait fails naming the
        images (or the trigger) it could not confirm, and a trigger whose answer was lost counts as not applied.
    type: int
    default: 60
"""
