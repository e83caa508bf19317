#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tcss_image_scan
short_description: Start, follow or stop container image scans on Tencent Cloud TCSS
version_added: 0.1.0
description:
  - Starts a scan of the container images known to Tencent Cloud Container Security Service (TCSS) with
    C(CreateAssetImageScanTask), follows it with C(DescribeAssetImageScanStatus) and stops scans with
    C(ModifyAssetImageScanStop).
  - "Idempotent: before starting a scan the module lists the selected images (C(DescribeAssetImageList)) and decides
    per image whether it needs one: an image being scanned is left alone, an image whose last scan is younger than
    O(max_age) is skipped, O(force) scans everything. When no image needs a scan, nothing is started."
  - "With O(images), one task carries every image that needs a scan: C(CreateAssetImageScanTask) documents no limit
    on the number of C(Images) of one request (neither the API reference nor the SDK model states one). O(batch_size)
    splits the images into smaller tasks for those who want them."
  - "TCSS runs one scan at a time. When a scan is already running (C(FailedOperation.ErrAlreadyScanning)) the module
    does not fail: with O(filters) or O(all_images) it reports C(changed=false) and follows the running scan; with
    O(images) it waits for the running scan to end (within O(wait_timeout)), lists the images again and plans again:
    the images the other scan covered meanwhile (scanned since this run listed them, or being scanned) are left out,
    with the reason, and only those still needing a scan are sent. Concurrent jobs (such as the slices of a sliced
    AWX job) that share images thus scan each image once."
  - "C(FailedOperation.ErrAlreadyScanning) also means that the request names images the account may not scan. When no
    scan runs, the module looks instead of sending the request again: images TCSS now shows with C(IsAuthorized=0)
    become C(unscannable) (in RV(images_skipped), with the reason), are never triggered, and the others are sent in a
    new request; when nothing explains the refusal by O(start_timeout), the module fails, naming the refusal."
  - "A start request is never repeated blindly: after an answer that did not come (reset connection, read timeout,
    server error, unreadable answer) the module looks for the effect of the request (the running task, the status of
    the selected images) before sending it again, so one run starts at most one task per batch."
  - A failure names every task the run started or waited for.
  - The deprecated C(All) parameter of C(CreateAssetImageScanTask) is never sent; O(all_images) leaves the selection
    to O(scan_scope).
options:
  state:
    description:
      - V(present) starts a scan (or follows the one given by O(task_id)).
      - V(absent) stops the task O(task_id), or the scans running on the images selected by O(images), O(filters)
        or O(all_images).
    type: str
    choices: [present, absent]
    default: present
  images:
    description:
      - IDs of the images to scan (C(ImageID) of M(cloudsec.image_scan.tcss_image_info), such as C(sha256:...)).
      - Exactly one of O(images), O(filters), O(host_ids) and O(all_images=true) is required unless O(task_id) is
        set.
      - The images that need a scan are scanned in one task, or in tasks of at most O(batch_size) images.
      - IDs that TCSS does not list fail the task before any scan is started.
    type: list
    elements: str
  host_ids:
    description:
      - Scan the images on the hosts with these TCSS host IDs
        (RV(cloudsec.image_scan.tcss_host_info#module:hosts[].id)).
      - They are listed as M(cloudsec.image_scan.tcss_image_info) lists them with
        O(cloudsec.image_scan.tcss_image_info#module:host_ids) (their C(DescribeAssetImageHostList) pairs, then their
        C(DescribeAssetImageList) rows) and returned in RV(images); then they are planned and scanned as O(images)
        are.
      - Mutually exclusive with O(images), O(filters), O(all_images) and O(task_id). V([]) scans nothing.
    type: list
    elements: str
  listed_hosts:
    description:
      - The hosts of O(host_ids) as M(cloudsec.image_scan.tcss_host_info) returned them
        (RV(cloudsec.image_scan.tcss_host_info#module:hosts)); each needs an C(id). Their names and addresses go to
        RV(images[].hosts) without C(DescribeAssetHostList) being read again; the hosts of O(host_ids) that are not
        among them are read.
      - Requires O(host_ids).
    type: list
    elements: dict
  filters:
    description:
      - Select the images by condition (the C(Filters) of C(CreateAssetImageScanTask)).
      - When at least one selected image needs a scan, TCSS scans the whole selection in one task.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Filter name.
        type: str
        required: true
        choices: [ImageName, ImageID, ScanStatus, SecurityRisk]
      values:
        description:
          - Values of the filter; an image matches when it matches one of them.
          - C(ScanStatus) takes V(notScan), V(scanning), V(scanned), V(scanErr).
          - C(SecurityRisk) takes V(VirusCnt), V(RiskCnt), V(IsTrustImage), V(CriticalLevelVul), V(HighLevelVul),
            V(MediumLevelVul), V(LowLevelVul).
        type: list
        elements: str
        required: true
      exact_match:
        description:
          - Sent as C(ExactMatch). When not set the service default applies.
        type: bool
  all_images:
    description:
      - Scan every image that O(scan_scope) covers (all authorised images by default).
    type: bool
    default: false
  exclude_image_ids:
    description:
      - Image IDs never to scan, even when the selection covers them.
    type: list
    elements: str
  scan_types:
    description:
      - What to look for. Sent as C(ScanVul), C(ScanVirus) and C(ScanRisk).
    type: list
    elements: str
    choices: [vulnerability, virus, risk]
    default: [vulnerability, virus, risk]
  container_running:
    description:
      - Only scan images that have running containers (C(ContainerRunning)).
    type: bool
    default: false
  scan_scope:
    description:
      - C(ScanScope) of the task. V(all_authorized) is 0, V(selected) 1, V(recommended) 2 and V(cluster) 3.
      - With O(images) or O(filters) the scope is V(selected) (the default for them).
      - With O(all_images) it is V(all_authorized) by default, or V(recommended) or V(cluster).
    type: str
    choices: [all_authorized, selected, recommended, cluster]
  cluster_ids:
    description:
      - Clusters to scan with O(scan_scope=cluster) (C(ClusterIDs)). Required with that scope.
    type: list
    elements: str
  task_timeout:
    description:
      - How long in seconds TCSS lets the task run before it ends it as timed out (C(Timeout) of the task).
      - When not set the service default (3600 seconds) applies.
      - Not to be confused with O(timeout), the time allowed for each HTTP answer, and O(wait_timeout).
    type: int
  start_timeout:
    description:
      - How long in seconds a trigger's effect may take to show before the module concludes anything.
      - TCSS may answer C(ResourceNotFound) for a task it has just created, and the images keep their previous scan
        state for a while. Until this deadline such a task is looked for again, never started a second time; when
        the answer to the trigger was lost, the module looks for the task and the images' scan times until then
        before it may send the trigger again.
      - A task still not shown after this deadline fails the module, naming the task and when it was started.
    type: int
    default: 120
  one_click:
    description:
      - Make the task the "one-click" scan task (C(IsOneClickScanningTask)) that C(DescribeAssetImageScanTask) reports.
      - A one-click task can be found again by ID after a lost answer; other tasks are followed through the
        service's latest scan status.
    type: bool
    default: false
  batch_size:
    description:
      - With O(images), at most this many images in one task; the tasks run one after another.
      - When not set, one task carries every image that needs a scan. TCSS documents no limit on the images of one
        request.
    type: int
  task_id:
    description:
      - ID of an existing task.
      - With O(state=present) nothing is started; the module reports the task and waits for it when O(wait=true).
        Use the C(task.id) of a run that timed out to resume waiting.
      - With O(state=absent) the task is stopped.
    type: str
notes:
  - With O(images) and O(batch_size), at most O(batch_size) image IDs per task. TCSS refuses a second task while one
    runs, so the batches run one after another and each batch is waited for before the next one is planned again and
    started, even with O(wait=false) (which then only skips waiting for the last batch). All of this happens within
    one O(wait_timeout).
  - A task of this run (or the task O(task_id) waited for) that ends stopped, timed out or failed fails the module,
    with the task in the result.
  - A scan that must wait for another one (a running scan, or an earlier batch) waits within O(wait_timeout) even
    with O(wait=false). When the time runs out the module fails and its result holds the task, so a later run can
    resume with O(task_id), or simply run again (images already scanned are skipped).
  - TCSS reports task progress through C(DescribeAssetImageScanStatus); per-image results come from
    M(cloudsec.image_scan.tcss_image_info).
seealso:
  - module: cloudsec.image_scan.tcss_image_scan_task_info
  - module: cloudsec.image_scan.tcss_image_info
  - module: cloudsec.image_scan.tcss_host_info
  - name: CreateAssetImageScanTask API
    description: The TCSS API that starts a scan.
    link: https://www.tencentcloud.com/document/api/1163/53186
  - name: DescribeAssetImageScanStatus API
    description: The TCSS API that reports the progress of a task.
    link: https://www.tencentcloud.com/document/api/1163/53150
  - name: ModifyAssetImageScanStop API
    description: The TCSS API that stops a scan.
    link: https://cloud.tencent.com/document/api/1285/65460
extends_documentation_fragment:
  - cloudsec.image_scan.tcss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.plan
  - cloudsec.image_scan.wait
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.CHECK_MODE
  - cloudsec.image_scan.attributes.ACTIONGROUP_TCSS
attributes:
  idempotent:
    support: partial
    details:
      - Images scanned within O(max_age) (or ever, when O(max_age) is not set) are not scanned again, and a running
        scan is followed instead of started twice.
      - With O(force=true) every run starts a scan. With O(scan_scope=cluster) the module cannot tell which images
        the clusters hold beforehand and starts a scan unless one is running.
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
- name: Scan two images unless they were scanned during the last day, and wait for the results
  cloudsec.image_scan.tcss_image_scan:
    images:
      - sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
      - sha256:9d059239e83a4c5b6a7988c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0
    max_age: 24h
    wait_timeout: 1800
  register: scan

- name: Start a scan of every image with critical vulnerabilities, without waiting
  cloudsec.image_scan.tcss_image_scan:
    filters:
      - name: SecurityRisk
        values: [CriticalLevelVul]
    scan_types: [vulnerability]
    force: true
    wait: false
  register: started

- name: Resume waiting for a task after a timeout
  cloudsec.image_scan.tcss_image_scan:
    task_id: "{{ started.task.id }}"
    wait_timeout: 3600

- name: Scan every authorised image as the one-click task; a scan already running is followed instead
  cloudsec.image_scan.tcss_image_scan:
    all_images: true
    one_click: true
    task_timeout: 7200

- name: Stop a task
  cloudsec.image_scan.tcss_image_scan:
    task_id: "{{ started.task.id }}"
    state: absent

- name: Defaults for every TCSS module of the play
  module_defaults:
    group/cloudsec.image_scan.tcss:
      secret_id: "{{ vault_tencent_secret_id }}"
      secret_key: "{{ vault_tencent_secret_key }}"
  block:
    - name: Preview what would be scanned
      cloudsec.image_scan.tcss_image_scan:
        all_images: true
        max_age: 7d
      check_mode: true
      register: preview
"""

RETURN = r"""
changed:
  description: Whether a scan was started or stopped (in check mode, whether one would be).
  returned: always
  type: bool
  sample: true
msg:
  description: What the module did, in one sentence.
  returned: always
  type: str
  sample: Started 1 scan task for 2 images.
attached:
  description: Whether the module followed a scan that was already running instead of starting one.
  returned: always
  type: bool
  sample: false
task:
  description:
    - The task started, stopped or followed (the last one with several batches), normalised like the other scan
      modules of the collection. V(null) when there is none.
    - C(id) is V(null) for a running task that TCSS does not name (a task that is not the one-click task, found
      after a lost answer or when a scan was already running).
  returned: always
  type: dict
  contains:
    id:
      description: Task ID (C(TaskID)).
      type: str
      sample: 6013a6c334b9a9000cf519be
    name:
      description: TCSS tasks have no name; always V(null).
      type: str
      sample: null
    image_type:
      description: Always V(local) (TCSS scans the images of the hosts).
      type: str
      sample: local
    status:
      description: V(running), V(succeeded), V(stopped), V(timed_out) or V(failed).
      type: str
      sample: succeeded
    progress:
      description: Percent done, 0 to 100 (C(Schedule)).
      type: int
      sample: 100
    begin_time:
      description: When the task started, ISO 8601 UTC, when known.
      type: str
      sample: "2025-01-02T03:04:05Z"
    end_time:
      description: TCSS does not report when a task ended; always V(null).
      type: str
      sample: null
    remaining_minutes:
      description: Estimated minutes left (from C(LeftSeconds)); 0 once the task ended.
      type: int
      sample: 0
    total:
      description: Images in the task (C(ImageTotal)).
      type: int
      sample: 2
    succeeded:
      description: Images scanned successfully (C(SuccessCount) plus C(RiskCount)).
      type: int
      sample: 2
    failed:
      description: Images whose scan failed.
      type: int
      sample: 0
    risky:
      description: Images scanned with findings (C(RiskCount)).
      type: int
      sample: 1
    failed_images:
      description: TCSS does not list them per task; always empty. Use M(cloudsec.image_scan.tcss_image_info).
      type: list
      elements: dict
      sample: []
tasks:
  description:
    - Every task started or followed by this run, in order (one per batch with O(images) and O(batch_size)).
    - A scan of another job that this run waited for comes before the task started after it.
  returned: always
  type: list
  elements: dict
  sample: []
clock_offset:
  description:
    - How many seconds the cloud's clock runs ahead of the controller's. From the C(Date) headers of its answers
      when they have one (an upper bound, so that a scan's age measured with it is never less than its true age),
      and at least as far as its latest scan time is ahead (a scan cannot end in the future); V(0) when nothing
      shows it.
    - With O(max_age), the age of a scan is measured on the cloud's clock (the controller's time plus this offset).
      Without C(Date) headers, an image whose last scan time is ahead of the controller's clock is scanned, since
      its age cannot be told.
  returned: always
  type: int
  sample: 0
images_triggered:
  description:
    - The images the task(s) scan (would scan in check mode), each with the reason.
    - An image another scan covered while this run waited for it is not among them but in RV(images_skipped), with
      the reason (such as C(scanned by another task during this run)).
    - With O(filters) or O(all_images) TCSS scans the whole selection once an image of it needs a scan; images that
      did not need one are listed too, with the reason they would have been skipped.
  returned: when O(state=present) and O(task_id) is not set
  type: list
  elements: dict
  contains:
    id:
      description: Image ID.
      type: str
    name:
      description: Image name without the tag.
      type: str
    version:
      description: Image tag.
      type: str
    digest:
      description: Image digest when the name carries one.
      type: str
    host:
      description: Always V(null) for TCSS (an image may be on many hosts).
      type: dict
    scan_status:
      description: Status of the image before this run.
      type: str
    latest_scan_time:
      description: End of the last scan before this run, ISO 8601 UTC.
      type: str
    reason:
      description: Why the image is (or is not) scanned.
      type: str
  sample:
    - id: sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
      name: nginx
      version: "1.25"
      digest: null
      host: null
      scan_status: unscanned
      latest_scan_time: null
      reason: never scanned
images_skipped:
  description: The selected images that are not scanned, each with the reason (same keys as RV(images_triggered)).
  returned: when O(state=present) and O(task_id) is not set
  type: list
  elements: dict
  sample:
    - id: sha256:9d059239e83a4c5b6a7988c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0
      name: redis
      version: "7.2"
      digest: null
      host: null
      scan_status: success
      latest_scan_time: "2025-01-02T03:04:05Z"
      reason: last scan success at 2025-01-02T03:04:05Z is within max_age
images:
  description:
    - With O(host_ids), the images on those hosts as listed before this run's scan, normalised like the images of
      M(cloudsec.image_scan.tcss_image_info) (same keys), with RV(images[].hosts) limited to the hosts of O(host_ids).
  returned: when O(host_ids) is given
  type: list
  elements: dict
  contains:
    id:
      description: Image ID (C(ImageID)).
      type: str
    scan_status:
      description: The image's scan state as listed before this run's scan.
      type: str
    hosts:
      description: The hosts of O(host_ids) the image is on, each C({id, name, ip}).
      type: list
      elements: dict
  sample:
    - id: sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
      name: nginx
      version: "1.25"
      scan_status: unscanned
      hosts:
        - id: a24b15fc26b27e87cd465f8144905391
          name: node-01
          ip: 10.20.0.1
images_stopped:
  description: With O(state=absent) and no O(task_id), the images whose scan was (would be) stopped.
  returned: when O(state=absent) and O(task_id) is not set
  type: list
  elements: dict
  sample: []
raw:
  description: The TCSS answers the result is made of.
  returned: always
  type: dict
  contains:
    images:
      description: The rows of C(DescribeAssetImageList) the plan was made from.
      type: list
      elements: dict
    image_hosts:
      description: With O(host_ids), the rows of C(DescribeAssetImageHostList) of those hosts.
      type: list
      elements: dict
    create:
      description: Answers of C(CreateAssetImageScanTask), one per task started.
      type: list
      elements: dict
    status:
      description: The last answer of C(DescribeAssetImageScanStatus).
      type: dict
    one_click_task:
      description: The last answer of C(DescribeAssetImageScanTask).
      type: dict
    stop:
      description: Answers of C(ModifyAssetImageScanStop).
      type: list
      elements: dict
  sample:
    images: []
    create:
      - TaskID: 6013a6c334b9a9000cf519be
        RequestId: a6d8d540-940f-47d9-8d7f-daac832ba5b4
    status:
      ImageTotal: 2
      ImageScanCnt: 2
      Status: END
      Schedule: 100
      SuccessCount: 1
      RiskCount: 1
      LeftSeconds: 0
      RequestId: 0d8e9f6a-8d77-4d0e-9a55-5a4cf1c0a111
    one_click_task: null
    stop: []
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import scan_argument_spec
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_module import TcssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_ops import ImageScan


def argument_spec():
    return scan_argument_spec(dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        images=dict(type="list", elements="str"),
        host_ids=dict(type="list", elements="str"),
        listed_hosts=dict(type="list", elements="dict"),
        filters=dict(type="list", elements="dict", options=ts.filter_suboptions(ts.IMAGE_FILTER_NAMES)),
        all_images=dict(type="bool", default=False),
        exclude_image_ids=dict(type="list", elements="str"),
        scan_types=dict(type="list", elements="str", choices=list(ts.SCAN_TYPES), default=list(ts.SCAN_TYPES)),
        container_running=dict(type="bool", default=False),
        scan_scope=dict(type="str", choices=list(ts.SCAN_SCOPES)),
        cluster_ids=dict(type="list", elements="str"),
        task_timeout=dict(type="int"),
        start_timeout=dict(type="int", default=120),
        one_click=dict(type="bool", default=False),
        task_id=dict(type="str"),
    ), batch_default=None)


def main():
    module = TcssModule(argument_spec=argument_spec(), supports_check_mode=True,
                        mutually_exclusive=[("images", "filters", "all_images", "host_ids"), ("task_id", "images"),
                                            ("task_id", "filters"), ("task_id", "all_images"), ("task_id", "host_ids")],
                        required_if=[("scan_scope", "cluster", ("cluster_ids",))],
                        required_by={"listed_hosts": "host_ids"})
    module.execute(ImageScan(module))


if __name__ == "__main__":
    main()
