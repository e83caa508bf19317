# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Deciding per image whether it needs a scan (plan_argument_spec in module_utils/_module.py).
    DOCUMENTATION = r"""
options:
  max_age:
    description:
      - An image whose last scan ended less than this long ago is not scanned again.
      - Seconds, or a number with a unit C(s), C(m), C(h), C(d) or C(w), such as V(30m), V(24h), V(7d) or V(1d12h).
      - When not set (or empty), an image that was scanned once (successfully or not) is not scanned again unless
        O(force=true).
    type: str
  force:
    description:
      - Scan every targeted image, whatever its last scan, even one being scanned.
    type: bool
    default: false
"""

    # The scan modules that send the images in batches.
    BATCH = r"""
options:
  batch_size:
    description:
      - At most this many images in one scan request (one task per batch where the cloud makes tasks).
    type: int
    default: 100
"""
