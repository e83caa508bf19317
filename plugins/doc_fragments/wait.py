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
