#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin plugins/action/tcss_image_scan_wait.py.

from __future__ import annotations

DOCUMENTATION = r"""
module: tcss_image_scan_wait
short_description: Wait for a Tencent Cloud TCSS image scan and show its progress
version_added: 0.1.0
description:
  - 'Waits until a scan started by M(cloudsec.image_scan.tcss_image_scan) with
    O(cloudsec.image_scan.tcss_image_scan#module:wait=false) ends, and prints one progress line per poll, such as
    "TCSS scan task 6013a6c3: 45% (12/27 images done) after 40s", so that a person can follow a long wait.'
  - It starts nothing. It polls through the collection's own info modules, run on the host of the task, with a
    monotonic deadline and pauses that grow from O(wait_sleep).
  - With O(task_id) (the C(task.id) of M(cloudsec.image_scan.tcss_image_scan)), each poll reads that task
    (M(cloudsec.image_scan.tcss_image_scan_task_info)). A task that ends otherwise than succeeded fails the action.
  - With O(images) (image IDs, for a scan whose task TCSS did not name), each poll lists only those of the images
    that are still being scanned (M(cloudsec.image_scan.tcss_image_info) with
    O(cloudsec.image_scan.tcss_image_info#module:scan_status)), and the wait ends when none is.
  - A line is printed only when the progress changed, or after a minute without change. The lines go to standard
    error, so that the output of a stdout callback such as C(ansible.posix.json) stays readable.
options:
  task_id:
    description:
      - The ID of the scan task to wait for.
      - Mutually exclusive with O(images).
    type: str
  one_click:
    description:
      - With O(task_id), whether the task is the one-click task
        (O(cloudsec.image_scan.tcss_image_scan#module:one_click=true)), passed on to
        M(cloudsec.image_scan.tcss_image_scan_task_info).
      - With V(false) each poll makes one call (C(DescribeAssetImageScanStatus)), and C(DescribeAssetImageScanTask),
        which reports only the one-click task, is not read. When not set, each poll reads both.
      - Requires O(task_id).
    type: bool
  start_timeout:
    description:
      - With O(task_id), how long in seconds a task TCSS does not show yet is taken as started but not visible
        (TCSS may answer C(ResourceNotFound) for a task it has just created) before the action fails for an
        unknown task.
    type: int
    default: 120
  images:
    description:
      - IDs of images to wait for (C(ImageID), such as C(sha256:...)).
      - Mutually exclusive with O(task_id). An empty list waits for nothing.
    type: list
    elements: str
  wait_timeout:
    description:
      - How long to wait in seconds. When it runs out the action fails with what is still pending, and a later
        run with the same options waits further.
    type: int
    default: 600
  wait_sleep:
    description:
      - Seconds of the first pause between two polls; the pause grows by half at each poll up to four times this
        (at most 60 seconds), never past the deadline.
    type: int
    default: 5
  label:
    description:
      - The start of each progress line. Defaults to C(TCSS scan task <id>) with O(task_id) and C(TCSS scan) with
        O(images).
    type: str
  display_progress:
    description:
      - Print the progress lines. With V(false) the action waits silently.
    type: bool
    default: true
extends_documentation_fragment:
  - cloudsec.image_scan.tcss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.ACTIONGROUP_TCSS
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
  check_mode:
    support: full
    details:
      - In check mode no scan was started, so with O(images) the action returns at once. A task given by O(task_id)
        is still waited for (the action only reads).
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
notes:
  - The authentication and connection options, given to this action or through C(module_defaults) for
    C(group/cloudsec.image_scan.tcss), are passed on to the info modules; the environment variables are read by the
    info modules where they run.
  - Each poll with O(task_id) makes two calls (C(DescribeAssetImageScanTask) and C(DescribeAssetImageScanStatus)),
    one with O(one_click=false); with O(images), one C(DescribeAssetImageList) call per 100 image IDs.
seealso:
  - module: cloudsec.image_scan.tcss_image_scan
  - module: cloudsec.image_scan.tcss_image_scan_task_info
  - module: cloudsec.image_scan.tcss_image_info
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
- name: Start a scan of two images without waiting inside the module
  cloudsec.image_scan.tcss_image_scan:
    images:
      - sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
      - sha256:9d059239e83a4c5b6a7988c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0
    wait: false
  register: started

- name: Wait for it, with one progress line per poll
  cloudsec.image_scan.tcss_image_scan_wait:
    task_id: "{{ started.task.id }}"
    wait_timeout: 1800
  when: started.task is not none and started.task.id is not none
"""

RETURN = r"""
msg:
  description: What the wait came to, in one sentence.
  returned: always
  type: str
  sample: TCSS scan task 6013a6c334b9a9000cf519be succeeded.
progress:
  description: The last progress seen, C(total) images, C(done), C(in_progress) and C(percent); V(null) when nothing
    was polled.
  returned: always
  type: dict
  sample: {total: 27, done: 27, in_progress: 0, percent: 100}
polls:
  description: How many times the action polled.
  returned: always
  type: int
  sample: 7
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 41.3
task:
  description: With O(task_id), the task as last read, normalised like
    RV(cloudsec.image_scan.tcss_image_scan_task_info#module:task).
  returned: when O(task_id) is given
  type: dict
  sample: {id: 6013a6c334b9a9000cf519be, status: succeeded, progress: 100, total: 27, succeeded: 27, failed: 0}
images_pending:
  description: With O(images), the IDs of the images still being scanned (V([]) after a successful wait).
  returned: when O(images) is given
  type: list
  elements: str
  sample: []
error:
  description: When an info module failed on an API error, its details.
  returned: on API failure
  type: dict
  sample: {code: RequestLimitExceeded, message: Your current request times equals to 21 in a second, status: 200}
"""
