#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin plugins/action/hss_image_scan_wait.py.

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_image_scan_wait
short_description: Wait for Huawei Cloud HSS image scans and show their progress
version_added: 0.1.0
description:
  - 'Waits until scans started by M(cloudsec.image_scan.hss_local_image_scan) or M(cloudsec.image_scan.hss_image_scan)
    with O(cloudsec.image_scan.hss_local_image_scan#module:wait=false) end, and prints one progress line per poll,
    such as "HSS scan: 45% (31/68 images done) after 40s", so that a person can follow a long wait.'
  - It starts nothing. It polls through the collection's own info modules, run on the host of the task (delegate it
    to V(localhost) like the other modules), with a monotonic deadline and pauses that grow from O(wait_sleep).
  - With O(images) (local images, as returned in RV(cloudsec.image_scan.hss_local_image_scan#module:images_triggered)),
    each poll lists only the images that are waiting or being scanned (M(cloudsec.image_scan.hss_image_info) with
    O(cloudsec.image_scan.hss_image_info#module:scan_status=[waiting, scanning])). The wait ends when none of the
    given images is among them.
  - While some of the given images has not shown the effect of its trigger yet, a poll lists instead the images of
    their hosts in every state at once (M(cloudsec.image_scan.hss_image_info) with
    O(cloudsec.image_scan.hss_image_info#module:host_ids)), and that one listing shows both the images in progress and
    those whose scan ended since the trigger.
  - With O(task_id) (the C(task.id) of M(cloudsec.image_scan.hss_image_scan)), each poll reads that task
    (M(cloudsec.image_scan.hss_image_scan_task_info)). A task that ends otherwise than succeeded fails the action.
  - A line is printed only when the progress changed, or after a minute without change. The lines go to standard
    error, so that the output of a stdout callback such as C(ansible.posix.json) stays readable.
options:
  images:
    description:
      - The local images to wait for.
      - Each element is a dictionary with the image ID in C(id) and optionally its host in C(host) (a dictionary
        with C(id)), as the image lists of M(cloudsec.image_scan.hss_local_image_scan) give them (other keys are
        ignored), or an image ID (a string), which waits for that image on every host.
      - Mutually exclusive with O(task_id). An empty list waits for nothing.
    type: list
    elements: raw
  task_id:
    description:
      - The ID of an image scan task to wait for.
      - Mutually exclusive with O(images).
    type: str
  wait_timeout:
    description:
      - How long to wait in seconds. When it runs out the action fails with what is still pending, and a later
        run with the same options waits further.
    type: int
    default: 600
  start_timeout:
    description:
      - With O(images), how long in seconds the images may take to show the effect of their scan, since HSS may
        show it late. An image counts as done only once it was seen waiting or scanning, or with a scan time
        newer than the C(latest_scan_time) of its O(images) entry (as the image lists of
        M(cloudsec.image_scan.hss_local_image_scan) give it), and is no longer in progress. An image that shows
        no effect within this time fails the action (it is in RV(images_pending)).
      - An image ID given as a string (without C(latest_scan_time)) counts any scan time as new.
    type: int
    default: 60
  shown:
    description:
      - With O(images), that every image already showed the effect of its trigger, as
        RV(cloudsec.image_scan.hss_local_image_scan#module:trigger_shown=true) says. No image then needs
        confirming (each poll lists only the images in progress), and the first poll comes after O(wait_sleep)
        seconds instead of at once.
    type: bool
    default: false
  wait_sleep:
    description:
      - Seconds of the first pause between two polls; the pause grows by half at each poll up to four times this
        (at most 60 seconds), never past the deadline.
    type: int
    default: 5
  label:
    description:
      - The start of each progress line. Defaults to C(HSS scan) with O(images) and C(HSS scan task <id>) with
        O(task_id).
    type: str
  display_progress:
    description:
      - Print the progress lines. With V(false) the action waits silently.
    type: bool
    default: true
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
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
    C(group/cloudsec.image_scan.hss), are passed on to the info modules; the environment variables are read by the
    info modules where they run.
  - Each poll with O(images) makes two ListImageLocal walks of the images in progress (while an image has not shown
    its trigger's effect yet, one walk of the rows of the images' hosts instead); with O(task_id), one
    ListImageScanTask call.
seealso:
  - module: cloudsec.image_scan.hss_local_image_scan
  - module: cloudsec.image_scan.hss_image_scan
  - module: cloudsec.image_scan.hss_image_info
  - module: cloudsec.image_scan.hss_image_scan_task_info
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
- name: Start the scans of two hosts' images without waiting inside the module
  cloudsec.image_scan.hss_local_image_scan:
    all_images: true
    query:
      scan_status: unscan
    wait: false
  delegate_to: localhost
  run_once: true
  register: started

- name: Wait for them, with one progress line per poll
  cloudsec.image_scan.hss_image_scan_wait:
    images: "{{ started.images_triggered }}"
    wait_timeout: 1800
  delegate_to: localhost
  run_once: true

- name: Start a scan task of the registry images of the namespace shop
  cloudsec.image_scan.hss_image_scan:
    image_type: registry
    all_images: true
    query:
      namespace: shop
    wait: false
  delegate_to: localhost
  register: task_started

- name: Wait for the task
  cloudsec.image_scan.hss_image_scan_wait:
    task_id: "{{ task_started.task.id }}"
    label: Registry scan of shop
  delegate_to: localhost
  when: task_started.task is not none
"""

RETURN = r"""
msg:
  description: What the wait came to, in one sentence.
  returned: always
  type: str
  sample: 68 images scanned.
progress:
  description: The last progress seen, C(total) images, C(done), C(in_progress) and C(percent); V(null) when nothing
    was polled.
  returned: always
  type: dict
  sample: {total: 68, done: 68, in_progress: 0, percent: 100}
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
images_pending:
  description: With O(images), the images still waiting or being scanned (V([]) after a successful wait), each with
    C(id) and C(host) (C(id), or V(null) when not given).
  returned: when O(images) is given
  type: list
  elements: dict
  sample: [{id: 3ae8cd28-39cb-4764-8196-013aa3a56bab, host: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7}}]
task:
  description: With O(task_id), the task as last read, normalised like RV(cloudsec.image_scan.hss_image_scan_task_info#module:tasks[]).
  returned: when O(task_id) is given
  type: dict
  sample: {id: 5f0b6f0e-8d1c-4a8e-9d6e-2f1c0b7a9e11, status: succeeded, progress: 100, total: 10, succeeded: 9,
           failed: 1}
error:
  description: When an info module failed on an API error, its details.
  returned: on API failure
  type: dict
  sample: {error_code: APIGW.0308, error_msg: The throttling threshold has been reached, status: 429}
"""
