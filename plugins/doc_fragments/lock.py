# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Taking turns to trigger (lock_argument_spec in module_utils/_module.py).
    DOCUMENTATION = r"""
options:
  lock_dir:
    description:
      - A directory where the runs that trigger scans on one cloud account take turns. A run takes the account's
        lock file there, looks at what the cloud is scanning, triggers what still needs a scan and waits until the
        trigger shows, then lets the next run look. So two runs at the same time (the slices of a sliced job, two
        jobs) never both trigger an image.
      - Runs that do not share the directory only look before they trigger, which leaves a short window in which
        both can trigger an image. Point the runs of several machines (or containers) at a directory they share,
        on a file system that supports C(flock) between them, to close it for them too.
      - When unset, a directory of this user under the system's temporary directory, created with mode C(0700).
      - Nothing is locked in check mode, or when nothing needs a scan.
    type: path
  lock_timeout:
    description:
      - How long in seconds a run waits for its turn to trigger while other runs hold it.
      - When it runs out, the module fails and starts nothing.
    type: int
    default: 300
"""
