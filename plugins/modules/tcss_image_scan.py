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
  - "TCSS runs one scan at a time. When a scan is already running (C(FailedOperation.ErrAlreadyScanning)) the module
    does not fail: with O(filters) or O(all_images) it reports C(changed=false) and follows the running scan; with
    O(images) it waits for the running scan to end and then starts its own (within O(wait_timeout))."
  - "A start request is never repeated blindly: after an answer that did not come (reset connection, read timeout,
    server error, unreadable answer) the module looks for the effect of the request (the running task, the status of
    the selected images) before sending it again, so one run starts at most one task per batch."
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
      - Exactly one of O(images), O(filters) and O(all_images=true) is required unless O(task_id) is set.
      - The images are scanned in batches of at most O(batch_size) IDs, one task per batch.
      - IDs that TCSS does not list fail the task before any scan is started.
    type: list
    elements: str
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
  one_click:
    description:
      - Make the task the "one-click" scan task (C(IsOneClickScanningTask)) that C(DescribeAssetImageScanTask) reports.
      - A one-click task can be found again by ID after a lost answer; other tasks are followed through the
        service's latest scan status.
    type: bool
    default: false
  task_id:
    description:
      - ID of an existing task.
      - With O(state=present) nothing is started; the module reports the task and waits for it when O(wait=true).
        Use the C(task.id) of a run that timed out to resume waiting.
      - With O(state=absent) the task is stopped.
    type: str
  max_age:
    description:
      - Rescan an image only when its last scan ended longer ago than this.
      - Seconds, or a number with a unit C(s), C(m), C(h), C(d) or C(w), such as V(30m), V(24h), V(7d) or V(1d12h).
      - When not set, an image that was scanned once (successfully or not) is not scanned again unless O(force=true).
    type: str
  force:
    description:
      - Scan the selected images whatever their last scan.
    type: bool
    default: false
  batch_size:
    description:
      - With O(images), at most this many image IDs per task.
      - TCSS refuses a second task while one runs, so the batches run one after another and each batch is waited for
        before the next one starts, even with O(wait=false) (which then only skips waiting for the last batch).
        All of this happens within one O(wait_timeout).
    type: int
    default: 100
notes:
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
  description: Every task started or followed by this run, in order (one per batch with O(images)).
  returned: always
  type: list
  elements: dict
  sample: []
images_triggered:
  description:
    - The images the task(s) scan (would scan in check mode), each with the reason.
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

import datetime
import time

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import (
    TcssModule,
    wait_argument_spec,
)

# Indirections the unit tests replace.
_clock = time.monotonic
_sleep = time.sleep

# After an ambiguous start request found to have had no effect, send it at most this many more times.
MAX_RESENDS = 2


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def argument_spec():
    spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        images=dict(type="list", elements="str"),
        filters=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True, choices=list(_tcss_scan.IMAGE_FILTER_NAMES)),
            values=dict(type="list", elements="str", required=True),
            exact_match=dict(type="bool"),
        )),
        all_images=dict(type="bool", default=False),
        exclude_image_ids=dict(type="list", elements="str"),
        scan_types=dict(type="list", elements="str", choices=["vulnerability", "virus", "risk"],
                        default=["vulnerability", "virus", "risk"]),
        container_running=dict(type="bool", default=False),
        scan_scope=dict(type="str", choices=list(_scan.TCSS_SCAN_SCOPES)),
        cluster_ids=dict(type="list", elements="str"),
        task_timeout=dict(type="int"),
        one_click=dict(type="bool", default=False),
        task_id=dict(type="str"),
        max_age=dict(type="str"),
        force=dict(type="bool", default=False),
        batch_size=dict(type="int", default=100),
    )
    spec.update(wait_argument_spec())
    return spec


def input_problems(params):
    """Everything wrong with the options, found before any request."""
    problems = []
    state = params["state"]
    selection = [name for name in ("images", "filters") if params.get(name) is not None]
    if params.get("all_images"):
        selection.append("all_images")
    if len(selection) > 1:
        problems.append("images, filters and all_images are mutually exclusive, got %s" % ", ".join(selection))
    if params.get("task_id") is not None:
        if not params["task_id"].strip():
            problems.append("task_id must not be empty")
        if selection:
            problems.append("task_id names an existing task: do not combine it with %s" % ", ".join(selection))
    elif not selection:
        if state == "present":
            problems.append("one of images, filters or all_images=true is required with state=present "
                            "(or task_id to follow an existing task)")
        else:
            problems.append("one of task_id, images, filters or all_images=true is required with state=absent")
    if params.get("images") is not None and not params["images"]:
        problems.append("images must list at least one image ID")
    problems.extend(_tcss_scan.check_ids(params.get("images"), "images"))
    problems.extend(_tcss_scan.check_ids(params.get("exclude_image_ids"), "exclude_image_ids"))
    problems.extend(_tcss_scan.check_ids(params.get("cluster_ids"), "cluster_ids"))
    if params.get("filters") is not None and not params["filters"]:
        problems.append("filters must list at least one filter")
    problems.extend(_tcss_scan.check_filters(params.get("filters"), "filters", _tcss_scan.IMAGE_FILTER_NAMES,
                                             _tcss_scan.image_filter_values_problem))
    if not params.get("scan_types"):
        problems.append("scan_types must list at least one of vulnerability, virus, risk")
    scope = params.get("scan_scope")
    if scope is not None:
        if ("images" in selection or "filters" in selection) and scope != "selected":
            problems.append("scan_scope must be selected (or not set) with images or filters, got %s" % scope)
        if "all_images" in selection and scope == "selected":
            problems.append("scan_scope=selected needs images or filters; with all_images use all_authorized, "
                            "recommended or cluster")
    if scope == "cluster" and not params.get("cluster_ids"):
        problems.append("cluster_ids is required with scan_scope=cluster")
    if params.get("cluster_ids") and scope != "cluster":
        problems.append("cluster_ids is only used with scan_scope=cluster")
    if params.get("task_timeout") is not None and params["task_timeout"] <= 0:
        problems.append("task_timeout must be greater than 0")
    if params.get("batch_size") is not None and params["batch_size"] < 1:
        problems.append("batch_size must be 1 or more, got %s" % params["batch_size"])
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        problems.append("wait_timeout must be 0 or more")
    if params.get("wait_sleep") is not None and params["wait_sleep"] < 1:
        problems.append("wait_sleep must be 1 or more")
    try:
        _scan.parse_duration(params.get("max_age"))
    except ValueError as exc:
        problems.append("max_age: %s" % exc)
    return problems


class _Abort(Exception):
    """Stop the run: ``fail_json`` with these keyword arguments."""

    def __init__(self, **kwargs):
        super(_Abort, self).__init__(kwargs.get("msg"))
        self.result = kwargs


class ImageScan(object):
    """One run of the module."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client
        self.check_mode = module.check_mode
        self.max_age = _scan.parse_duration(self.params["max_age"])
        self.changed = False
        self.attached = False
        self.tasks = []
        self.triggered = []
        self.skipped = []
        self.raw = {"images": [], "create": [], "status": None, "one_click_task": None, "stop": []}
        self.deadline = _clock() + self.params["wait_timeout"]

    # -- result ------------------------------------------------------------------------------

    def result(self, msg, **extra):
        result = dict(changed=self.changed, msg=msg, attached=self.attached,
                      task=self.tasks[-1] if self.tasks else None, tasks=list(self.tasks), raw=self.raw)
        result.update(extra)
        return result

    def fail(self, msg, error=None, **extra):
        """Stop the run with the result so far; an ``ApiError`` adds its text and fields."""
        result = self.result(msg, **extra)
        if error is not None:
            result["error"] = error.to_dict()
            result["msg"] = "%s: %s" % (msg, error) if msg else str(error)
        raise _Abort(**result)

    def api(self, what, call, *args):
        try:
            return call(*args)
        except ApiError as exc:
            self.fail(what, error=exc)

    # -- reading tasks -----------------------------------------------------------------------

    def read_one_click(self):
        answer = self.api("", self.client.describe_asset_image_scan_task)
        self.raw["one_click_task"] = answer
        return _tcss_scan.task_from_one_click(answer)

    def read_task(self, task_id, begin_time=None):
        """T2 of ``task_id`` (or of the latest task when ``task_id`` is ``None``)."""
        params = {"TaskID": task_id} if task_id else {}
        answer = self.api("", self.client.describe_asset_image_scan_status, params)
        self.raw["status"] = answer
        return _tcss_scan.task_from_status(answer, task_id=task_id, begin_time=begin_time)

    def refine(self, task):
        """Complete an ended one-click task with T3's SubStatus and start time."""
        if task.get("id") and (self.params["one_click"] or task.get("begin_time") is None):
            one_click = self.read_one_click()
            return _tcss_scan.merge_task(task, one_click)
        return task

    def find_running_task(self):
        """The running scan: the one-click task when it runs (with its ID), else the latest task when
        it runs (without an ID), else ``None``."""
        one_click = self.read_one_click()
        if one_click is not None and one_click["status"] == _scan.TASK_RUNNING:
            task = self.read_task(one_click["id"], begin_time=one_click["begin_time"])
            return task
        latest = self.read_task(None)
        if latest["status"] == _scan.TASK_RUNNING and latest["total"]:
            return latest
        return None

    def wait(self, task, purpose="the scan task", own=True):
        """Poll the task until it ends or the deadline passes (then fail with the task).

        A task of this run (``own``) that ends otherwise than ``succeeded`` fails the run too."""
        begin_time = task.get("begin_time")

        def poll():
            return self.read_task(task.get("id"), begin_time=begin_time)

        remaining = max(self.deadline - _clock(), 0)
        try:
            done = _scan.wait_for(poll, lambda t: _scan.task_is_done(t["status"]), remaining,
                                  self.params["wait_sleep"], clock=_clock, sleeper=_sleep)
        except _scan.WaitTimeout as exc:
            last = exc.last
            self._replace(task, last)
            self.fail("Timed out after %s seconds waiting for %s (task ID %s, status %s, progress %s%%); run again "
                      "with task_id to resume waiting" % (self.params["wait_timeout"], purpose,
                                                          last.get("id") or "unknown: the latest TCSS task",
                                                          last["status"], last["progress"]),
                      task_id=last.get("id"), progress=last["progress"],
                      **self._image_lists())
        done = self.refine(done)
        self._replace(task, done)
        if own and done["status"] != _scan.TASK_SUCCEEDED:
            self.fail("Task %s ended with status %s" % (done.get("id") or "(the latest TCSS task)", done["status"]),
                      **self._image_lists())
        return done

    def _replace(self, old, new):
        for index, known in enumerate(self.tasks):
            if known is old:
                self.tasks[index] = new
                return
        self.tasks.append(new)

    def _image_lists(self):
        return {"images_triggered": self.triggered, "images_skipped": self.skipped}

    # -- listing images ----------------------------------------------------------------------

    def list_images(self, filters=None):
        params = {"Filters": filters} if filters else {}
        try:
            return self.client.paginate("DescribeAssetImageList", params, limit=100)
        except ApiError as exc:
            self.fail("Could not list the TCSS images", error=exc)

    def list_images_by_id(self, ids, extra_filters=None):
        rows = []
        for chunk in _scan.batches(ids, _tcss_scan.FILTER_CHUNK):
            filters = [{"Name": "ImageID", "Values": chunk, "ExactMatch": True}] + list(extra_filters or [])
            rows.extend(self.list_images(filters))
        return rows

    def cluster_image_ids(self):
        """IDs of the images on the hosts of ``cluster_ids`` (T7 then T8)."""
        wanted = set(self.params["cluster_ids"])
        try:
            hosts = self.client.paginate("DescribeAssetHostList", {}, limit=100)
        except ApiError as exc:
            self.fail("Could not list the TCSS hosts", error=exc)
        host_ids = [h.get("HostID") for h in hosts if h.get("ClusterID") in wanted and h.get("HostID")]
        pairs = self.api("Could not list the images of the cluster hosts", self.client.image_host_pairs,
                         "HostID", host_ids, _tcss_scan.FILTER_CHUNK)
        return set(pair.get("ImageID") for pair in pairs)

    # -- starting ----------------------------------------------------------------------------

    def selection_state(self, rows):
        """What the images look like now: id -> (status, latest scan time)."""
        state = {}
        for row in rows:
            image = _tcss_scan.normalise_image(row)
            state[image["id"]] = (image["scan_status"], image["latest_scan_time"])
        return state

    def was_applied(self, before, relist):
        """Whether a start request whose answer was lost took effect: one of the selected images is
        now being scanned, or has a newer scan than before."""
        now = self.selection_state(relist())
        for image_id, (status, scanned_at) in now.items():
            old = before.get(image_id)
            if status in _scan.IMAGE_IN_PROGRESS and (old is None or old[0] not in _scan.IMAGE_IN_PROGRESS):
                return True
            if old is not None and scanned_at and scanned_at != old[1]:
                return True
        return False

    def yield_to(self, running, must_scan):
        """Another scan runs. Without ``must_scan`` follow it (True); with it, wait for it to end
        so that ours can be sent (False)."""
        self.tasks.append(running)
        if not must_scan:
            self.attached = True
            return True
        self.wait(running, purpose="the scan already running", own=False)
        return False

    def start(self, params, before, relist, must_scan):
        """Send CreateAssetImageScanTask once for this intent.

        Returns the task started (``changed``) or the running task followed instead (``attached``).
        ``before``/``relist`` describe the selected images, to recognise the effect of a request
        whose answer was lost. With ``must_scan`` a running scan is waited for and the request sent
        again; without it the running scan is followed.
        """
        resends = 0
        refused = 0
        waited = False
        rounds = 0
        while True:
            if waited:
                # Another scan was waited for: send again, within the deadline, pausing when TCSS
                # refused more than once (its answers may lag behind the end of the other scan).
                rounds += 1
                if _clock() >= self.deadline:
                    self.fail("TCSS still refuses to start the scan after %s seconds (wait_timeout): another scan "
                              "keeps running" % self.params["wait_timeout"], **self._image_lists())
                if rounds > 1:
                    _sleep(min(self.params["wait_sleep"], max(self.deadline - _clock(), 0)))
            waited = False
            try:
                answer = self.client.create_asset_image_scan_task(params)
            except ApiError as exc:
                if exc.code == _tcss_scan.ERR_ALREADY_SCANNING:
                    running = self.find_running_task()
                    if running is None:
                        refused += 1
                        if refused > 1:
                            self.fail("TCSS refused to start the scan although no scan seems to run; the account "
                                      "may lack the scan authorisation", error=exc, **self._image_lists())
                        continue
                    if self.yield_to(running, must_scan):
                        return running
                    waited = True
                    continue
                if not exc.ambiguous:
                    self.fail("Could not start the scan", error=exc, **self._image_lists())
                # The request may have been applied: look before sending it again.
                if self.was_applied(before, relist):
                    running = self.find_running_task()
                    task = running or self.read_task(None)
                    task["begin_time"] = task.get("begin_time") or _now_iso()
                    self.changed = True
                    self.tasks.append(task)
                    return task
                running = self.find_running_task()
                if running is not None:
                    # Not ours: another scan runs.
                    if self.yield_to(running, must_scan):
                        return running
                    waited = True
                    continue
                resends += 1
                if resends > MAX_RESENDS:
                    self.fail("Could not start the scan: no answer after %d attempts" % (resends,), error=exc,
                              **self._image_lists())
                continue
            self.raw["create"].append(answer)
            self.changed = True
            task_id = answer.get("TaskID")
            task = self.read_task(task_id, begin_time=_now_iso()) if task_id else self.read_task(None)
            self.tasks.append(task)
            return task

    # -- state=present -----------------------------------------------------------------------

    def plan(self, rows):
        """Split the listed images into (to_scan, skipped) refs with reasons."""
        excluded = set(self.params["exclude_image_ids"] or [])
        candidates, skipped = [], []
        for row in rows:
            image = _tcss_scan.normalise_image(row)
            if image["id"] in excluded:
                skipped.append(_scan.image_ref(image, "in exclude_image_ids"))
            elif self.params["container_running"] and not image["counts"]["containers"]:
                skipped.append(_scan.image_ref(image, "no container runs it (container_running)"))
            else:
                candidates.append(image)
        to_scan, planned_skips = _scan.plan_images(candidates, self.max_age, self.params["force"])
        return to_scan, skipped + planned_skips, candidates

    def follow_running(self, skipped):
        """Nothing to start: follow a scan of the selected images that is running, when asked to wait."""
        if not self.params["wait"] or self.check_mode:
            return
        if not any(ref["scan_status"] in _scan.IMAGE_IN_PROGRESS for ref in skipped):
            return
        running = self.find_running_task()
        if running is not None:
            self.attached = True
            self.tasks.append(running)
            self.wait(running, purpose="the scan already running", own=False)

    def present_images(self):
        params = self.params
        ids = _tcss_scan.unique(params["images"])
        rows = self.list_images_by_id(ids)
        self.raw["images"] = rows
        known = set(row.get("ImageID") for row in rows)
        missing = [image_id for image_id in ids if image_id not in known]
        if missing:
            self.fail("TCSS lists no image with the ID(s) %s given in images" % ", ".join(missing))
        to_scan, skipped, candidates = self.plan(rows)
        self.triggered, self.skipped = to_scan, skipped
        if not to_scan:
            self.follow_running(skipped)
            return self.result("No image needs a scan.", **self._image_lists())
        groups = _scan.batches([ref["id"] for ref in to_scan], params["batch_size"])
        if self.check_mode:
            self.changed = True
            return self.result("Would start %d scan task(s) for %d image(s)." % (len(groups), len(to_scan)),
                               **self._image_lists())
        before = self.selection_state(rows)
        for number, group in enumerate(groups):
            task_params = _tcss_scan.scan_task_params(
                params["scan_types"], images=group,
                container_running=params["container_running"] or None, scan_scope="selected",
                timeout=params["task_timeout"], one_click=params["one_click"] or None)
            task = self.start(task_params, dict((i, before.get(i)) for i in group if i in before),
                              lambda group=group: self.list_images_by_id(group), must_scan=True)
            last = number == len(groups) - 1
            if not last or params["wait"]:
                purpose = "scan task %d of %d" % (number + 1, len(groups)) if len(groups) > 1 else "the scan task"
                self.wait(task, purpose=purpose)
        return self.result("Started %d scan task(s) for %d image(s)." % (len(groups), len(to_scan)),
                           **self._image_lists())

    def present_selection(self):
        params = self.params
        filters = _tcss_scan.api_filters(params["filters"]) if params["filters"] else None
        scope = params["scan_scope"] or ("selected" if filters else "all_authorized")
        rows = self.list_images(filters)
        self.raw["images"] = rows
        if scope == "recommended":
            rows = [row for row in rows if row.get("IsSuggest")]
        elif scope == "cluster":
            in_clusters = self.cluster_image_ids()
            rows = [row for row in rows if row.get("ImageID") in in_clusters]
        to_scan, skipped, candidates = self.plan(rows)
        if not to_scan:
            self.triggered, self.skipped = [], skipped
            self.follow_running(skipped)
            return self.result("No selected image needs a scan.", **self._image_lists())
        # TCSS scans the whole selection: every candidate is part of the task.
        needed = set(ref["id"] for ref in to_scan)
        excluded = [ref for ref in skipped if ref["id"] not in set(i["id"] for i in candidates)]
        self.triggered = list(to_scan) + [
            dict(ref, reason="%s; scanned with the selection" % ref["reason"])
            for ref in skipped if ref["id"] not in needed and ref not in excluded]
        self.skipped = excluded
        if self.check_mode:
            self.changed = True
            return self.result("Would start a scan task for %d image(s)." % len(self.triggered),
                               **self._image_lists())
        task_params = _tcss_scan.scan_task_params(
            params["scan_types"], filters=params["filters"], exclude_image_ids=params["exclude_image_ids"],
            container_running=params["container_running"] or None, scan_scope=scope,
            cluster_ids=params["cluster_ids"], timeout=params["task_timeout"],
            one_click=params["one_click"] or None)
        before = self.selection_state(rows)

        def relist():
            return self.list_images(filters)

        task = self.start(task_params, before, relist, must_scan=False)
        if params["wait"]:
            self.wait(task, purpose="the scan already running" if self.attached else "the scan task",
                      own=not self.attached)
        if self.attached:
            return self.result("A scan was already running; followed it instead of starting one.",
                               **self._image_lists())
        return self.result("Started a scan task for %d image(s)." % len(self.triggered), **self._image_lists())

    def follow(self):
        """state=present with task_id: report the task and wait for it when asked."""
        task_id = self.params["task_id"].strip()
        task = self.refine(self.read_task(task_id))
        self.tasks.append(task)
        if self.params["wait"] and not _scan.task_is_done(task["status"]):
            task = self.wait(task)
        return self.result("Task %s is %s." % (task_id, task["status"]))

    # -- state=absent ------------------------------------------------------------------------

    def stop_task(self):
        task_id = self.params["task_id"].strip()
        task = self.refine(self.read_task(task_id))
        self.tasks.append(task)
        if _scan.task_is_done(task["status"]):
            return self.result("Task %s already ended (%s)." % (task_id, task["status"]))
        self.changed = True
        if self.check_mode:
            return self.result("Would stop task %s." % task_id)
        for attempt in range(MAX_RESENDS + 1):
            try:
                self.raw["stop"].append(self.client.modify_asset_image_scan_stop({"TaskID": task_id}))
                break
            except ApiError as exc:
                if not exc.ambiguous or attempt == MAX_RESENDS:
                    self.changed = False
                    self.fail("Could not stop task %s" % task_id, error=exc)
                if _scan.task_is_done(self.read_task(task_id)["status"]):
                    break
        stopped = self.refine(self.read_task(task_id, begin_time=task.get("begin_time")))
        self._replace(task, stopped)
        return self.result("Stopped task %s." % task_id)

    def stop_images(self):
        params = self.params
        scanning = [{"Name": "ScanStatus", "Values": ["scanning"]}]
        if params["images"] is not None:
            rows = self.list_images_by_id(_tcss_scan.unique(params["images"]), scanning)
        elif params["filters"]:
            rows = self.list_images(_tcss_scan.api_filters(params["filters"]) + scanning)
        else:
            rows = self.list_images(scanning)
        excluded = set(params["exclude_image_ids"] or [])
        refs = []
        for row in rows:
            image = _tcss_scan.normalise_image(row)
            if image["id"] not in excluded and image["scan_status"] in _scan.IMAGE_IN_PROGRESS:
                refs.append(_scan.image_ref(image, "being scanned"))
        if not refs:
            return self.result("No selected image is being scanned.", images_stopped=[])
        self.changed = True
        if self.check_mode:
            return self.result("Would stop the scan of %d image(s)." % len(refs), images_stopped=refs)
        for group in _scan.batches([ref["id"] for ref in refs], _tcss_scan.FILTER_CHUNK):
            for attempt in range(MAX_RESENDS + 1):
                try:
                    self.raw["stop"].append(self.client.modify_asset_image_scan_stop({"Images": group}))
                    break
                except ApiError as exc:
                    if not exc.ambiguous or attempt == MAX_RESENDS:
                        self.fail("Could not stop the scans", error=exc, images_stopped=refs)
                    still = self.list_images_by_id(group, scanning)
                    group = [row.get("ImageID") for row in still]
                    if not group:
                        break
        return self.result("Stopped the scan of %d image(s)." % len(refs), images_stopped=refs)

    # -- entry -------------------------------------------------------------------------------

    def run(self):
        params = self.params
        if params["state"] == "absent":
            return self.stop_task() if params["task_id"] is not None else self.stop_images()
        if params["task_id"] is not None:
            return self.follow()
        if params["images"] is not None:
            return self.present_images()
        return self.present_selection()


def main():
    module = TcssModule(argument_spec=argument_spec(), supports_check_mode=True,
                        required_if=[("scan_scope", "cluster", ("cluster_ids",))])
    problems = input_problems(module.params)
    if problems:
        module.fail_json(msg="Invalid options: %s." % "; ".join(problems))
    try:
        result = ImageScan(module).run()
    except _Abort as abort:
        module.fail_json(**abort.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
