#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_local_image_scan
short_description: Scan the local container images of Huawei Cloud HSS hosts
version_added: 0.1.0
description:
  - Scans local (node) container images with the HSS API BatchScanLocalImage and follows each image through the
    C(scan_status) that ListImageLocal reports, since this API creates no task.
  - The targeted images are O(images), every image that O(query) selects (O(all_images=true)), or the images on
    one host (O(host_name), O(host_id) or O(host_ip)), optionally narrowed by O(query) or O(images).
  - The module is idempotent. An image that is being scanned, or whose last scan ended within O(max_age), is
    not scanned again, and an image that failed because it is too large (C(image_oversized)) is skipped until
    O(force=true). When nothing needs a scan, nothing is sent and RV(images_skipped) gives the reason for each
    image.
  - O(max_age) is measured on HSS's clock, which may run ahead of or behind ours; the module measures the offset
    from the C(Date) of HSS's answers and from scan times in our future.
  - An image HSS says it will not scan (C(non_scan_reason) of ListImageLocal, C(scannable=false) of
    ListRegistryImages, for example without a licence) is never triggered, also with O(force=true), and does not
    make the run changed; RV(images_skipped) lists it with C(scan_status=unscannable) and C(unscannable_reason).
  - HSS scans an image on every host that holds it. ListImageLocal lists one row per image and host, so
    RV(images) and the plan have one entry per image and host.
  - Just before it triggers, the module looks again at the rows waiting or being scanned now and at those whose
    scan ended since its listing began (a few calls, of the cloud's recent activity only), and plans again on
    them. An image that another job, or another slice of the same job, triggered while this run listed is then
    waited for, or taken as scanned, instead of being scanned, and billed, again. The runs that share
    O(lock_dir) (by default those of one user on one machine) take turns to look, trigger and see the trigger
    show, so none of them triggers an image another one triggers; between runs that do not share it, a scan
    that another run starts between the look's last answer and the trigger is not seen. With O(force=true) it
    does not look, and every targeted image is scanned again, as asked.
  - Images are sent in batches of O(batch_size). All batches are sent first, then the module waits once for all
    of them. A batch that fails in a way that it may have been applied is sent again only for the images that
    are not being scanned.
author:
  - cloudsec.image_scan contributors (@cloudsec)
options:
  images:
    description:
      - The local images to scan.
      - Each element is an image ID (a string), or a dictionary with V(image_id), V(image_digest), or
        V(image_name) and V(image_version).
      - An element without these keys, or with another key, fails the task before any request is sent.
      - An image that HSS does not list (on the host, when a host is given) fails the task before a scan is
        started.
      - An empty list scans nothing.
    type: list
    elements: raw
  all_images:
    description:
      - Scan every local image that O(query) selects (C(operate_all)).
      - Mutually exclusive with O(images).
    type: bool
    default: false
  query:
    description:
      - Filter that selects the images with O(all_images=true) or on the host given by O(host_name), O(host_id)
        or O(host_ip).
      - "Keys: V(image_name), V(image_version), V(local_image_type) (V(swr_image), V(other_image)), V(scan_status)
        (V(unscan), V(success), V(scanning), V(failed), V(download_failed), V(image_oversized)), V(image_size)
        (bytes), V(start_latest_update_time), V(end_latest_update_time), V(start_latest_scan_time),
        V(end_latest_scan_time) (epoch milliseconds)."
      - Any other key or a value of the wrong type fails the task before any request is sent.
    type: dict
  host_name:
    description:
      - Scan the images on the host of this name (exact match).
    type: str
  host_id:
    description:
      - Scan the images on the host of this HSS host ID.
    type: str
  host_ip:
    description:
      - Scan the images on the host of this private IP address.
    type: str
  host_ids:
    description:
      - With O(images) given by image ID or digest, look them up among the images of the hosts with these HSS host IDs
        only, and plan each scan on those hosts' rows. The listing then costs calls for these hosts rather than for
        the whole fleet (as O(cloudsec.image_scan.hss_image_info#module:host_ids) lists them).
      - An image not on one of these hosts fails the task before a scan is started, as an image HSS does not list.
      - Without O(images), scan every local image on these hosts (listed the same way); RV(images) is then the
        listing of these hosts. V([]) scans nothing.
      - Cannot be combined with O(all_images), O(host_name), O(host_id) or O(host_ip).
    type: list
    elements: str
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.plan
  - cloudsec.image_scan.plan.BATCH
  - cloudsec.image_scan.wait
  - cloudsec.image_scan.wait.START
  - cloudsec.image_scan.lock
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.CHECK_MODE
  - cloudsec.image_scan.attributes.IDEMPOTENT
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
notes:
  - BatchScanLocalImage needs the C(region) header, so O(region) is required, also when O(endpoint) is set.
  - While waiting, the module lists only the images that are waiting or being scanned (ListImageLocal with
    C(scan_status=waiting_for_scan) and C(scan_status=scanning)) and stops when none of its images is among them;
    then it lists the targeted images once more for RV(images).
  - With O(wait=true) the module also waits for the targeted images that were already being scanned, so that
    after a wait time-out (the module fails with the images still in progress in RV(images_pending)), running it
    again with the same options waits further without scanning them again.
seealso:
  - module: cloudsec.image_scan.hss_image_scan
  - module: cloudsec.image_scan.hss_image_info
  - module: cloudsec.image_scan.hss_host_info
  - name: BatchScanLocalImage API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/BatchScanLocalImage.html
  - name: ListImageLocal API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListImageLocal.html
"""

EXAMPLES = r"""
- name: Scan the images of one host unless scanned in the last 12 hours
  cloudsec.image_scan.hss_local_image_scan:
    host_name: node-01
    max_age: 12h
  delegate_to: localhost
  register: scan

- name: Scan images by ID, name or digest, without waiting
  cloudsec.image_scan.hss_local_image_scan:
    images:
      - 3ae8cd28-39cb-4764-8196-013aa3a56bab
      - image_name: redis
        image_version: "7.2"
      - image_digest: "sha256:79430374b41bbb57fbd277784428f6eb26af6e4f82a1ba72f208fb0069c8994c"
    wait: false
  delegate_to: localhost

- name: Scan every local image that was never scanned, 50 per call
  cloudsec.image_scan.hss_local_image_scan:
    all_images: true
    query:
      scan_status: unscan
    batch_size: 50
    wait_timeout: 3600
  delegate_to: localhost
  run_once: true

- name: Scan the images of a slice's hosts, taking turns with the other slices in a directory they share
  cloudsec.image_scan.hss_local_image_scan:
    host_ids: "{{ slice_host_ids }}"
    max_age: 24h
    lock_dir: /shared/image-scan-locks
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
msg:
  description: What the module did, in one sentence.
  returned: always
  type: str
  sample: Scanned 2 image(s).
trigger_shown:
  description:
    - Whether every image triggered showed the trigger's effect (waiting, being scanned, or a newer scan time)
      before the run let the next one take its turn (O(lock_dir)).
    - When V(true), M(cloudsec.image_scan.hss_image_scan_wait) need not confirm it again
      (O(cloudsec.image_scan.hss_image_scan_wait#module:shown=true)).
  returned: when the module triggered a scan
  type: bool
  sample: true
attached:
  description: Whether the module only followed scans of its images that were already running (it started none).
  returned: always
  type: bool
  sample: false
tasks:
  description: BatchScanLocalImage creates no task; always V([]).
  returned: always
  type: list
  elements: dict
  sample: []
task:
  description: BatchScanLocalImage creates no task; always V(null).
  returned: always
  type: dict
  sample: null
images_triggered:
  description:
    - The targeted images (one entry per image and host) that the scan covers, or would cover in check mode,
      each with C(id), C(name), C(version), C(digest), C(host) (C(id), C(name), C(ip)), C(scan_status) and
      C(latest_scan_time) as listed before the scan, and the C(reason) it is scanned.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3ae8cd28-39cb-4764-8196-013aa3a56bab
      name: nginx
      version: "1.25"
      digest: "sha256:79430374b41bbb57fbd277784428f6eb26af6e4f82a1ba72f208fb0069c8994c"
      host: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}
      scan_status: unscanned
      latest_scan_time: null
      reason: never scanned
images_skipped:
  description: The targeted images that are not scanned, with the same keys and the C(reason) why not.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 7c1d0e2f-1a2b-4c3d-8e4f-5a6b7c8d9e0f
      name: ml/trainer
      version: "2024.1"
      digest: "sha256:0d3c1e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d"
      host: {id: 9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d, name: node-07, ip: null}
      scan_status: image_oversized
      latest_scan_time: "2025-01-02T03:04:05Z"
      reason: "image_oversized: the image is too large to scan; use force to retry"
images:
  description:
    - The targeted images, normalised (one entry per image and host). After a wait, their final state;
      otherwise their state as listed before the scan.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Image name.
      type: str
      sample: nginx
    version:
      description: Image version (tag).
      type: str
      sample: "1.25"
    id:
      description: Image ID.
      type: str
      sample: 3ae8cd28-39cb-4764-8196-013aa3a56bab
    digest:
      description: Image digest.
      type: str
      sample: "sha256:79430374b41bbb57fbd277784428f6eb26af6e4f82a1ba72f208fb0069c8994c"
    host:
      description: The host of this row, C(id), C(name) and C(ip) (V(null) when HSS does not say).
      type: dict
      sample: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}
    hosts:
      description: The same host in a list, as for the other cloud.
      type: list
      elements: dict
      sample: [{id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}]
    image_type:
      description: Always V(local).
      type: str
      sample: local
    registry:
      description: Always V(null) for local images.
      type: dict
      sample: null
    scan_status:
      description: One of V(unscanned), V(waiting), V(scanning), V(success), V(failed), V(image_oversized), or
        V(unscannable) when HSS says it will not scan the image (C(non_scan_reason)); such images are never
        triggered, also with O(force=true), and do not make the run changed.
      type: str
      sample: success
    unscannable_reason:
      description: Only for an image HSS will not scan (C(scan_status=unscannable)), the cloud's reason.
      returned: when HSS will not scan the image
      type: str
      sample: "no image-scan licence is bound to this image"
    non_scan_reason:
      description: Local images, the C(non_scan_reason) of ListImageLocal (V(null) when HSS can scan the image).
      returned: for local images
      type: str
      sample: null
    failure_reason:
      description: Why the last scan failed (C(scan_failed_desc)), or V(null).
      type: str
      sample: null
    latest_scan_time:
      description: End of the last scan, ISO 8601 UTC, or V(null).
      type: str
      sample: "2025-01-02T03:04:05Z"
    latest_scan_time_local:
      description:
        - C(latest_scan_time) on the clock of the host the module runs on, to measure the scan's age with (the gate of
          the role does). HSS's clock may differ from ours; the offset is measured from the C(Date) of its answers
          (bounded so that the age is never short) and is at least what the newest scan time is in our future.
        - C(latest_scan_time) stays HSS's own time.
      type: str
      sample: "2025-01-02T03:04:05Z"
    severity:
      description: V(critical), V(high), V(medium), V(low), V(none) (no risk found) or V(unknown) (not scanned).
      type: str
      sample: high
    vulnerability_count:
      description: Number of vulnerabilities.
      type: int
      sample: 9
    counts:
      description: C(vulnerabilities), C(unsafe_settings), C(malicious_files), C(components), C(containers), C(hosts).
      type: dict
      sample: {vulnerabilities: 9, unsafe_settings: 1, malicious_files: 0, components: 142, containers: 2, hosts: 11}
images_pending:
  description: On a wait time-out, the images still waiting or being scanned, each with C(id) and C(host).
  returned: on wait time-out
  type: list
  elements: dict
  sample: [{id: 3ae8cd28-39cb-4764-8196-013aa3a56bab, host: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}}]
progress:
  description: On a wait time-out, C(total) images triggered, C(done) and C(in_progress).
  returned: on wait time-out
  type: dict
  sample: {total: 4, done: 3, in_progress: 1}
raw:
  description: The ListImageLocal rows of the targeted images (final state after a wait).
  returned: always
  type: dict
  contains:
    images:
      description: The rows.
      type: list
      elements: dict
      sample: []
error:
  description: On an API failure, its details (C(error_code), C(error_msg), C(request_id), C(status), C(operation),
    C(cloud), C(ambiguous)).
  returned: on API failure
  type: dict
  sample: {error_code: APIGW.0308, error_msg: The throttling threshold has been reached, request_id: 0a1b2c,
           status: 429, operation: BatchScanLocalImage, cloud: hss, ambiguous: false}
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_ops import LocalImageScan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import (
    lock_argument_spec, scan_argument_spec, start_argument_spec)


def argument_spec():
    spec = start_argument_spec()
    spec.update(lock_argument_spec())
    spec.update(scan_argument_spec(dict(
        images=dict(type="list", elements="raw"),
        all_images=dict(type="bool", default=False),
        query=dict(type="dict"),
        host_name=dict(type="str"),
        host_id=dict(type="str"),
        host_ip=dict(type="str"),
        host_ids=dict(type="list", elements="str"),
    )))
    return spec


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[("images", "all_images"), ("host_ids", "all_images"),
                                           ("host_ids", "host_name"), ("host_ids", "host_id"), ("host_ids", "host_ip")])
    module.execute(LocalImageScan(module))


if __name__ == "__main__":
    main()
