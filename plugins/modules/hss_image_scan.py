#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_image_scan
short_description: Start, follow or stop a Huawei Cloud HSS container image scan task
version_added: 0.1.0
description:
  - Starts a scan of registry or local container images with the HSS API CreateManualImageScanTask, finds the
    task it created in ListImageScanTask (the API returns no task ID), and waits for the task to end.
  - With O(state=present) the module is idempotent. It first lists the images it targets (ListRegistryImages
    for registry images, ListImageLocal for local images) and scans only the images that need it. An image
    that is being scanned, or whose last scan ended within O(max_age), is not scanned again. An image that
    failed because it is too large (C(image_oversized)) is skipped until O(force=true). When nothing needs a
    scan, no task is started and RV(images_skipped) gives the reason for each image.
  - The runs that share O(lock_dir) (by default those of one user on one machine) take turns to list, plan,
    trigger and find the task they started, so that a run plans on the scans the previous one started and two
    concurrent jobs never both scan, and pay for, one image. Check mode takes no turn, and the wait for the task
    comes after the turn.
  - O(max_age) is measured on HSS's clock, which may run ahead of or behind ours; the module measures the offset
    from the C(Date) of HSS's answers and from scan times in our future.
  - An image HSS says it will not scan (C(non_scan_reason) of ListImageLocal, C(scannable=false) of
    ListRegistryImages, for example without a licence) is never triggered, also with O(force=true), and does not
    make the run changed; RV(images_skipped) lists it with C(scan_status=unscannable) and C(unscannable_reason).
  - With O(task_id) and O(state=present), the module follows an existing task without starting one.
  - With O(state=absent) the module stops the running task O(task_id) (StopImageScanTask). A task that has
    already ended is left alone.
  - A trigger is never sent twice blindly. When a trigger fails in a way that it may have been applied (time-out,
    connection lost after sending, server error), the module looks the task up first and sends the trigger again
    only if no task appeared.
author:
  - cloudsec.image_scan contributors (@cloudsec)
options:
  state:
    description:
      - V(present) starts a scan of the images that need one (or follows O(task_id)).
      - V(absent) stops the task O(task_id) if it is running.
    type: str
    choices: [present, absent]
    default: present
  image_type:
    description:
      - Which images the task scans, sent as C(global_image_type).
      - V(registry) for images in SWR, Harbor or JFrog registries, V(local) for the images on hosts with the
        HSS agent.
    type: str
    choices: [registry, local]
    default: registry
  scan_scope:
    description:
      - Risk types to scan for, sent as the C(scan_scope) bitmask.
      - V(all) alone or among others means every type.
    type: list
    elements: str
    choices: [all, vulnerability, baseline, malicious_file, sensitive_info, compliance]
    default: [all]
  rate_limit:
    description:
      - Images scanned per hour, from 0 to 1000; V(0) means no limit.
      - HSS applies it only to third-party registries.
    type: int
  all_images:
    description:
      - Scan every image of O(image_type) that O(query) selects (C(is_all)).
      - Mutually exclusive with O(images).
    type: bool
    default: false
  query:
    description:
      - Filter that selects the images when O(all_images=true), sent as C(query_info).
      - "Keys for both image types: V(image_name), V(image_version), V(namespace), V(has_vul) (bool),
        V(scan_status) (V(unscan), V(success), V(scanning), V(failed), V(download_failed), V(image_oversized)),
        V(image_size) (bytes), V(start_latest_update_time), V(end_latest_update_time), V(start_latest_scan_time),
        V(end_latest_scan_time) (epoch milliseconds)."
      - "Registry images only: V(image_type) (V(private_image), V(shared_image), V(instance_image), V(harbor),
        V(jfrog))."
      - "Local images only: V(local_image_type) (V(swr_image), V(other_image)), V(host_id), V(host_name),
        V(private_ip), V(public_ip), V(cluster_id), V(container_id), V(container_name), V(pod_id), V(pod_name),
        V(app_name)."
      - Any other key, a value of the wrong type, or a key of the other image type fails the task before any
        request is sent.
      - With V(public_ip) or V(cluster_id), which no listing API can filter by, the module cannot tell which
        images need a scan and always starts one.
    type: dict
  images:
    description:
      - The images to scan, sent as C(image_info).
      - "Registry images need V(id) (the record ID that ListRegistryImages returns as C(id), also returned by
        M(cloudsec.image_scan.hss_image_info) as C(registry.record_id)), V(image_digest), V(namespace),
        V(image_name), V(image_version), V(registry_id), V(registry_name) and V(registry_type) (V(SwrPrivate),
        V(SwrShared), V(SwrEnterprise), V(Harbor), V(Jfrog), V(Other)); V(SwrEnterprise) images also need
        V(instance_id). V(instance_url) is optional."
      - "Local images need V(image_id), V(image_name) and V(image_version); their V(registry_type) is V(Local)
        and V(registry_id) / V(registry_name) default to empty strings."
      - An image without the keys it needs, or with another key, fails the task before any request is sent.
      - An image that HSS does not list fails the task before a scan is started.
      - An empty list scans nothing.
    type: list
    elements: dict
  task_id:
    description:
      - ID of an existing task.
      - With O(state=present), the module follows this task (and waits for it with O(wait=true)) instead of
        starting one; use it to resume after a wait that timed out.
      - Required with O(state=absent).
    type: str
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.plan
  - cloudsec.image_scan.wait
  - cloudsec.image_scan.wait.START
  - cloudsec.image_scan.lock
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.CHECK_MODE
  - cloudsec.image_scan.attributes.IDEMPOTENT
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
notes:
  - The task that a trigger created is found in ListImageScanTask as the newest manual image-scan task of
    O(image_type) that started after the trigger (allowing a few seconds of clock skew) and was not listed
    before it. Two runs that start tasks of the same image type at the same moment may see each other's task.
  - A task that ends C(stopped), C(timed_out) or C(failed) while the module waits fails the module run, with
    the task in the result. A task that ends C(succeeded) may still hold images whose scan failed
    (RV(task.failed_images)). HSS may end such a task with C(task_status) -2 (timed out) or -3 (abnormal);
    when every image of it has a result, it is C(succeeded) too, and when some have none, C(timed_out) or C(failed).
  - HSS scans a local image on every host that holds it; RV(images_triggered) lists every targeted host of an
    image that is scanned.
seealso:
  - module: cloudsec.image_scan.hss_image_scan_task_info
  - module: cloudsec.image_scan.hss_local_image_scan
  - module: cloudsec.image_scan.hss_image_info
  - name: CreateManualImageScanTask API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/CreateManualImageScanTask.html
  - name: ListImageScanTask API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListImageScanTask.html
  - name: StopImageScanTask API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/StopImageScanTask.html
"""

EXAMPLES = r"""
- name: Scan two registry images unless they were scanned in the last day, and wait
  cloudsec.image_scan.hss_image_scan:
    region: cn-north-4
    project_id: "{{ hss_project_id }}"
    image_type: registry
    max_age: 24h
    images:
      - id: 1001
        image_digest: "sha256:55f0abd597c8075ea59b7f8d3c64042331201e0748cc339bea08c2a32a88f933"
        namespace: shop
        image_name: cart
        image_version: "2.3.1"
        registry_id: reg-f1698165c2a1
        registry_name: swr-cn-north-4
        registry_type: SwrPrivate
  delegate_to: localhost
  register: scan

- name: Scan every registry image of the namespace shop for vulnerabilities only, without waiting
  cloudsec.image_scan.hss_image_scan:
    image_type: registry
    all_images: true
    query:
      namespace: shop
    scan_scope: [vulnerability]
    wait: false
  delegate_to: localhost
  register: started

- name: Resume waiting for that task later
  cloudsec.image_scan.hss_image_scan:
    task_id: "{{ started.task.id }}"
    wait_timeout: 1800
  delegate_to: localhost
  when: started.task is not none

- name: Scan the local images of one host, even if scanned recently
  cloudsec.image_scan.hss_image_scan:
    image_type: local
    all_images: true
    query:
      host_name: node-01
    force: true
  delegate_to: localhost

- name: Stop a task
  cloudsec.image_scan.hss_image_scan:
    state: absent
    task_id: "{{ started.task.id }}"
  delegate_to: localhost
  when: started.task is not none
"""

RETURN = r"""
msg:
  description: What the module did, in one sentence.
  returned: always
  type: str
  sample: Started scan task 5f0b6f0e-8d1c-4a8e-9d6e-2f1c0b7a9e11 for 2 image(s); it is succeeded.
attached:
  description: Whether the module followed a scan that was already running instead of starting one.
  returned: always
  type: bool
  sample: false
tasks:
  description: Every task started or followed by this run, in order, normalised like RV(task).
  returned: always
  type: list
  elements: dict
  sample: []
task:
  description:
    - The task started, followed or stopped; V(null) when no task was started (nothing needed a scan, or
      check mode) or when the started task could not be found.
  returned: always
  type: dict
  contains:
    id:
      description: Task ID.
      type: str
      sample: 5f0b6f0e-8d1c-4a8e-9d6e-2f1c0b7a9e11
    name:
      description: Task name.
      type: str
      sample: manual_scan_20250102030405
    image_type:
      description: V(registry) or V(local).
      type: str
      sample: registry
    status:
      description: One of V(running), V(succeeded), V(stopped), V(timed_out), V(failed).
      type: str
      sample: succeeded
    progress:
      description: Percent done, 0 to 100.
      type: int
      sample: 100
    begin_time:
      description: Start time, ISO 8601 UTC.
      type: str
      sample: "2025-01-02T03:04:05Z"
    end_time:
      description: End time, ISO 8601 UTC, V(null) while running.
      type: str
      sample: "2025-01-02T03:14:05Z"
    remaining_minutes:
      description: Estimated minutes left (0 once the task ended).
      type: int
      sample: 0
    total:
      description: Images in the task.
      type: int
      sample: 2
    succeeded:
      description: Images scanned successfully.
      type: int
      sample: 2
    failed:
      description: Images whose scan failed.
      type: int
      sample: 0
    risky:
      description: Images with vulnerabilities, unsafe settings or malicious files.
      type: int
      sample: 1
    failed_images:
      description: The images whose scan failed, each with C(id), C(name), C(version), C(namespace),
        C(registry_id), C(registry_name), C(registry_type) and C(reason).
      type: list
      elements: dict
      sample: []
images_triggered:
  description:
    - The targeted images that the scan covers (or would cover, in check mode), each with C(id), C(name),
      C(version), C(digest), C(host), C(scan_status) and C(latest_scan_time) as listed before the scan,
      and the C(reason) it is scanned.
    - With O(all_images=true) and a query no listing can apply, V([]).
  returned: always
  type: list
  elements: dict
  sample:
    - id: da45b2fe-39d8-494e-8a75-30ab58824401
      name: cart
      version: "2.3.1"
      digest: "sha256:55f0abd597c8075ea59b7f8d3c64042331201e0748cc339bea08c2a32a88f933"
      host: null
      scan_status: unscanned
      latest_scan_time: null
      reason: never scanned
images_skipped:
  description: The targeted images that are not scanned, with the same keys and the C(reason) why not.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 4625cfb5-55a0-46f9-8479-57676cc0c619
      name: catalog
      version: "1.8.0"
      digest: "sha256:efc2cc235998b60e7d805ee4cae957c85d8ab2de004694f1875427a2f55fdaf2"
      host: null
      scan_status: success
      latest_scan_time: "2025-01-02T03:04:05Z"
      reason: last scan success at 2025-01-02T03:04:05Z is within max_age
raw:
  description: The API answers the result is made of.
  returned: always
  type: dict
  contains:
    task:
      description: The ListImageScanTask row of the task, or V(null).
      type: dict
      sample: {"task_id": "5f0b6f0e-8d1c-4a8e-9d6e-2f1c0b7a9e11", "task_status": 100}
    images:
      description: The ListRegistryImages or ListImageLocal rows of the targeted images, as listed before the scan.
      type: list
      elements: dict
      sample: []
error:
  description: On an API failure, its details.
  returned: on API failure
  type: dict
  sample:
    error_code: HSS.0001
    error_msg: "Invalid parameter: image_info[0].id: no registry image has the id 42"
    request_id: 0a1b2c3d4e5f
    status: 400
    operation: CreateManualImageScanTask
    cloud: hss
    ambiguous: false
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_ops import ImageScan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import (
    lock_argument_spec, scan_argument_spec, start_argument_spec)


def argument_spec():
    spec = start_argument_spec()
    spec.update(lock_argument_spec())
    spec.update(scan_argument_spec(dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        image_type=dict(type="str", default="registry", choices=list(hs.IMAGE_TYPES)),
        scan_scope=dict(type="list", elements="str", default=["all"], choices=hs.SCAN_SCOPE_CHOICES),
        rate_limit=dict(type="int"),
        all_images=dict(type="bool", default=False),
        query=dict(type="dict"),
        images=dict(type="list", elements="dict"),
        task_id=dict(type="str"),
    ), batch=False))
    return spec


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[("images", "all_images"), ("task_id", "images"), ("task_id", "all_images"),
                                           ("task_id", "query")],
                       required_if=[("state", "absent", ("task_id",))])
    module.execute(ImageScan(module))


if __name__ == "__main__":
    main()
