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
  max_age:
    description:
      - An image whose last scan ended less than this long ago is not scanned again, for example V(30m), V(24h),
        V(7d) or a number of seconds.
      - Without it, an image that was ever scanned is not scanned again (unless O(force=true)).
    type: str
  force:
    description:
      - Scan every targeted image, even those scanned recently or being scanned.
    type: bool
    default: false
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.wait
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
    (RV(task.failed_images)).
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

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_scan as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import HssModule, wait_argument_spec

SCOPE_CHOICES = ["all"] + sorted(_scan.HSS_SCAN_SCOPES)
#: Images given one by one are listed with one filtered call each up to this many; above it,
#: one walk over every image is cheaper.
FILTERED_LISTING_MAX = 10


def argument_spec():
    spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        image_type=dict(type="str", default="registry", choices=list(hs.IMAGE_TYPES)),
        scan_scope=dict(type="list", elements="str", default=["all"], choices=SCOPE_CHOICES),
        rate_limit=dict(type="int"),
        all_images=dict(type="bool", default=False),
        query=dict(type="dict"),
        images=dict(type="list", elements="dict"),
        task_id=dict(type="str"),
        max_age=dict(type="str"),
        force=dict(type="bool", default=False),
    )
    spec.update(wait_argument_spec())
    return spec


class ImageScan(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.result = dict(changed=False, task=None, images_triggered=[], images_skipped=[],
                           raw=dict(task=None, images=[]))

    # -- input -------------------------------------------------------------------------------

    def check_input(self):
        """Everything that can be checked without a request; fails naming the option."""
        p = self.params
        try:
            hs.check_wait(p)
            if p["state"] == "absent":
                if not p["task_id"]:
                    raise ValueError("state=absent needs task_id (the task to stop)")
                return
            self.scope = _scan.hss_scan_scope_mask(p["scan_scope"])
            self.rate_limit = hs.check_rate_limit(p["rate_limit"])
            self.max_age = hs.check_max_age(p["max_age"])
            if p["task_id"]:
                if p["images"] is not None or p["all_images"] or p["query"]:
                    raise ValueError("task_id follows an existing task: do not give images, all_images or query with it")
                return
            if p["images"] is not None and p["all_images"]:
                raise ValueError("images and all_images=true are mutually exclusive")
            if p["query"] and not p["all_images"]:
                raise ValueError("query selects images only with all_images=true")
            if p["images"] is None and not p["all_images"]:
                raise ValueError("one of images, all_images=true or task_id is required")
            self.query = hs.check_query(p["query"], hs.H1_QUERY_FIELDS, image_type=p["image_type"])
            self.images = hs.check_scan_images(p["images"], p["image_type"])
        except ValueError as exc:
            self.module.fail_json(msg=str(exc))

    # -- state=present -----------------------------------------------------------------------

    def list_targets(self):
        """``(rows, exact)``: the listed rows of the targeted images, and whether the listing
        selects exactly what the trigger would."""
        p = self.params
        client = self.module.client
        image_type = p["image_type"]
        method = "list_image_local" if image_type == "local" else "list_registry_images"
        if p["all_images"]:
            filters, check = hs.listing_filter(self.query, image_type)
            rows = [row for row in hs.walk(client, method, **filters) if check(row)]
            exact = not any(key in self.query for key in hs.UNPLANNABLE_KEYS)
            return rows, exact
        if len(self.images) <= FILTERED_LISTING_MAX:
            listed = []
            for spec in self.images:
                filters = dict(image_name=spec["image_name"], image_version=spec["image_version"])
                if image_type == "registry":
                    filters["namespace"] = spec["namespace"]
                listed.extend(hs.walk(client, method, **filters))
        else:
            listed = hs.walk(client, method)
        rows, missing, seen = [], [], set()
        for spec in self.images:
            found = [row for row in listed if self.matches(spec, row)]
            if not found:
                missing.append(self.describe(spec))
            for row in found:
                key = hs.row_key(row) if image_type == "local" else row.get("id")
                if key not in seen:
                    seen.add(key)
                    rows.append(row)
        if missing:
            self.module.fail_json(msg="HSS lists no %s image for images: %s" % (image_type, "; ".join(missing)),
                                  **self.result)
        return rows, True

    def matches(self, spec, row):
        if self.params["image_type"] == "local":
            return row.get("image_id") == spec["image_id"]
        return hs.int_or(row.get("id"), None) == spec["id"]

    def describe(self, spec):
        if self.params["image_type"] == "local":
            return "image_id %s (%s:%s)" % (spec["image_id"], spec["image_name"], spec["image_version"])
        return "id %s (%s/%s:%s)" % (spec["id"], spec["namespace"], spec["image_name"], spec["image_version"])

    def build_body(self, to_scan, exact):
        """The H1 body: the query itself when every image it selects is to be scanned (or when
        that cannot be told), else the list of the images that need a scan."""
        p = self.params
        if p["all_images"]:
            if p["force"] or not exact or not self.result["images_skipped"]:
                return hs.h1_body(self.scope, self.rate_limit, True, self.query or None)
            return hs.h1_body(self.scope, self.rate_limit, False,
                              image_info=[hs.image_info_from_row(row, p["image_type"]) for row in to_scan])
        specs = []
        for row in to_scan:
            specs.extend(spec for spec in self.images if self.matches(spec, row) and spec not in specs)
        return hs.h1_body(self.scope, self.rate_limit, False, image_info=specs)

    def trigger(self, body):
        """Send H1 once per intent and return the H2 row of the task it created (or ``None``)."""
        client = self.module.client
        image_type = self.params["image_type"]
        known = set(row.get("task_id") for row in hs.recent_task_rows(client, image_type))
        since = hs.since_ms()
        for attempt in (1, 2):
            try:
                client.create_manual_image_scan_task(body, global_image_type=image_type)
            except ApiError as exc:
                if not exc.ambiguous:
                    raise
                # The trigger may have been applied: look for its task before sending it again.
                row = hs.find_new_task(client, image_type, since, known)
                if row is not None:
                    self.result["changed"] = True
                    return row
                if attempt == 2:
                    self.module.fail_json(msg="%s; no task appeared after two attempts" % exc, error=exc.to_dict(),
                                          **self.result)
                continue
            self.result["changed"] = True
            return hs.find_new_task(client, image_type, since, known)
        return None  # not reached

    def present(self):
        p = self.params
        rows, exact = self.list_targets()
        self.result["raw"]["images"] = rows
        to_scan, triggered, skipped = hs.plan_grouped(rows, p["image_type"], self.max_age, p["force"])
        if exact:
            self.result["images_triggered"] = triggered
            self.result["images_skipped"] = skipped
            if not to_scan:
                self.module.exit_json(**self.result)
        else:
            self.module.warn("query uses %s, which no listing can filter by: the module cannot tell which images "
                             "need a scan and starts one" % ", ".join(k for k in hs.UNPLANNABLE_KEYS if k in self.query))
        if self.module.check_mode:
            self.result["changed"] = True
            self.module.exit_json(**self.result)
        row = self.trigger(self.build_body(to_scan, exact))
        if row is None:
            self.module.warn("the scan was started but its task did not appear in ListImageScanTask; "
                             "follow it with cloudsec.image_scan.hss_image_scan_task_info")
            self.module.exit_json(**self.result)
        self.set_task(row)
        if p["wait"]:
            self.wait(row["task_id"])
        self.module.exit_json(**self.result)

    def set_task(self, row):
        self.result["raw"]["task"] = row
        self.result["task"] = hs.normalise_task(row)

    def wait(self, task_id):
        p = self.params
        try:
            row = hs.wait_for_task(self.module.client, task_id, p["wait_timeout"], p["wait_sleep"])
        except _scan.WaitTimeout as exc:
            if exc.last is not None:
                self.set_task(exc.last)
            task = self.result["task"] or {"id": task_id, "progress": None}
            self.module.fail_json(msg="timed out after %ss waiting for task %s (progress %s%%); run again with "
                                      "task_id to resume waiting" % (p["wait_timeout"], task_id, task.get("progress")),
                                  **self.result)
        if row is None:
            self.module.fail_json(msg="task %s is no longer listed by ListImageScanTask" % task_id, **self.result)
        self.set_task(row)
        status = self.result["task"]["status"]
        if status != _scan.TASK_SUCCEEDED:
            self.module.fail_json(msg="task %s ended with status %s" % (task_id, status), **self.result)

    def follow(self):
        p = self.params
        row = hs.get_task(self.module.client, p["task_id"])
        if row is None:
            self.module.fail_json(msg="task_id %s: ListImageScanTask lists no image scan task with this id" % p["task_id"],
                                  **self.result)
        self.set_task(row)
        if p["wait"] and not hs.task_done(row):
            self.wait(p["task_id"])
        self.module.exit_json(**self.result)

    # -- state=absent ------------------------------------------------------------------------

    def absent(self):
        p = self.params
        client = self.module.client
        task_id = p["task_id"]
        row = hs.get_task(client, task_id)
        if row is None:
            self.module.fail_json(msg="task_id %s: ListImageScanTask lists no image scan task with this id" % task_id,
                                  **self.result)
        self.set_task(row)
        if hs.task_done(row):
            self.module.exit_json(**self.result)
        self.result["changed"] = True
        if self.module.check_mode:
            self.module.exit_json(**self.result)
        for attempt in (1, 2):
            try:
                client.stop_image_scan_task(task_id)
                break
            except ApiError as exc:
                # Look before sending again: the stop may have been applied, or the task ended meanwhile.
                row = hs.get_task(client, task_id)
                if row is not None and hs.task_done(row):
                    self.set_task(row)
                    self.result["changed"] = self.result["task"]["status"] == _scan.TASK_STOPPED
                    self.module.exit_json(**self.result)
                if not exc.ambiguous or attempt == 2:
                    self.result["changed"] = False
                    self.module.fail_api_error(exc, **self.result)
        row = hs.get_task(client, task_id)
        if row is not None:
            self.set_task(row)
        self.module.exit_json(**self.result)

    def run(self):
        self.check_input()
        p = self.params
        try:
            if p["state"] == "absent":
                self.absent()
            elif p["task_id"]:
                self.follow()
            else:
                self.present()
        except ApiError as exc:
            self.module.fail_api_error(exc, **self.result)


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True)
    ImageScan(module).run()


if __name__ == "__main__":
    main()
