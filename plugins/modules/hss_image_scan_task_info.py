#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_image_scan_task_info
short_description: List Huawei Cloud HSS container image scan tasks
version_added: 0.1.0
description:
  - Lists image scan tasks with the HSS API ListImageScanTask, with every filter the API has.
  - Walks all pages (200 tasks per call), or stops after O(max_results) tasks.
author:
  - cloudsec.image_scan contributors (@cloudsec)
options:
  task_id:
    description: Only the task with this ID.
    type: str
  task_name:
    description: Only tasks whose name contains this text.
    type: str
  image_type:
    description: Only tasks of registry or local images (C(global_image_type)).
    type: str
    choices: [registry, local]
  type:
    description: The general kind of task, V(image_scan) (scans) or V(image_sync) (registry synchronisations).
    type: str
    choices: [image_scan, image_sync]
    default: image_scan
  task_type:
    description: V(manual) scans, V(cycle) (scheduled) scans, V(autoSync) or V(manualSync) synchronisations.
    type: str
    choices: [cycle, manual, autoSync, manualSync]
  task_status:
    description: V(scanning) for running tasks, V(finished) for tasks that ended (in any way).
    type: str
    choices: [scanning, finished]
  scan_scope:
    description:
      - Only tasks with exactly this scan scope; V(all) alone or among others means every risk type.
    type: list
    elements: str
    choices: [all, vulnerability, baseline, malicious_file, sensitive_info, compliance]
  create_time:
    description: C(create_time) filter of the API, epoch milliseconds (tasks created at or after this time).
    type: int
  end_time:
    description: C(end_time) filter of the API, epoch milliseconds (tasks that ended at or before this time).
    type: int
  max_results:
    description: Stop after this many tasks. All tasks when not set.
    type: int
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.INFO_MODULE
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
seealso:
  - module: cloudsec.image_scan.hss_image_scan
  - module: cloudsec.image_scan.hss_image_info
  - name: ListImageScanTask API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListImageScanTask.html
"""

EXAMPLES = r"""
- name: Running manual scans of registry images
  cloudsec.image_scan.hss_image_scan_task_info:
    image_type: registry
    task_type: manual
    task_status: scanning
  delegate_to: localhost
  register: running

- name: One task
  cloudsec.image_scan.hss_image_scan_task_info:
    task_id: 5f0b6f0e-8d1c-4a8e-9d6e-2f1c0b7a9e11
  delegate_to: localhost
  register: one

- name: The ten newest tasks
  cloudsec.image_scan.hss_image_scan_task_info:
    max_results: 10
  delegate_to: localhost
"""

RETURN = r"""
tasks:
  description: The tasks, normalised; V([]) when there is none.
  returned: always
  type: list
  elements: dict
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
      sample: local
    status:
      description: One of V(running), V(succeeded), V(stopped), V(timed_out), V(failed).
      type: str
      sample: running
    progress:
      description: Percent done, 0 to 100.
      type: int
      sample: 40
    begin_time:
      description: Start time, ISO 8601 UTC.
      type: str
      sample: "2025-01-02T03:04:05Z"
    end_time:
      description: End time, ISO 8601 UTC, V(null) while running.
      type: str
      sample: null
    remaining_minutes:
      description: Estimated minutes left (0 once the task ended).
      type: int
      sample: 3
    total:
      description: Images in the task.
      type: int
      sample: 10
    succeeded:
      description: Images scanned successfully.
      type: int
      sample: 4
    failed:
      description: Images whose scan failed.
      type: int
      sample: 0
    risky:
      description: Images with vulnerabilities, unsafe settings or malicious files.
      type: int
      sample: 3
    failed_images:
      description: The images whose scan failed, each with C(id), C(name), C(version), C(namespace),
        C(registry_id), C(registry_name), C(registry_type) and C(reason).
      type: list
      elements: dict
      sample: []
raw:
  description: The ListImageScanTask rows, as the API returned them.
  returned: always
  type: list
  elements: dict
  sample: [{"task_id": "5f0b6f0e-8d1c-4a8e-9d6e-2f1c0b7a9e11", "task_status": 40, "task_type": "manual"}]
error:
  description: On an API failure, its details (C(error_code), C(error_msg), C(request_id), C(status), C(operation),
    C(cloud), C(ambiguous)).
  returned: on API failure
  type: dict
  sample: {error_code: APIGW.0301, error_msg: Incorrect IAM authentication information, request_id: 0a1b2c,
           status: 401, operation: ListImageScanTask, cloud: hss, ambiguous: false}
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_ops import walk
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import list_problems

_TIME_MAX = 4070880000000


def argument_spec():
    return dict(
        task_id=dict(type="str"),
        task_name=dict(type="str"),
        image_type=dict(type="str", choices=list(hs.IMAGE_TYPES)),
        type=dict(type="str", default="image_scan", choices=["image_scan", "image_sync"]),
        task_type=dict(type="str", choices=["cycle", "manual", "autoSync", "manualSync"]),
        task_status=dict(type="str", choices=["scanning", "finished"]),
        scan_scope=dict(type="list", elements="str", choices=hs.SCAN_SCOPE_CHOICES),
        create_time=dict(type="int"),
        end_time=dict(type="int"),
        max_results=dict(type="int"),
    )


def build_query(params):
    """The ListImageScanTask filters of the options; ``ValueError`` for values it cannot take."""
    for name in ("create_time", "end_time"):
        if params[name] is not None and not 0 <= params[name] <= _TIME_MAX:
            raise ValueError("%s must be between 0 and %d (epoch milliseconds)" % (name, _TIME_MAX))
    problems = list_problems(params)
    if problems:
        raise ValueError("; ".join(problems))
    for name in ("task_id", "task_name"):
        if params[name] is not None and not 1 <= len(params[name]) <= 256:
            raise ValueError("%s must be 1 to 256 characters long" % name)
    return dict(
        type=params["type"], task_id=params["task_id"], task_name=params["task_name"],
        global_image_type=params["image_type"], task_type=params["task_type"], task_status=params["task_status"],
        scan_scope=hs.scan_scope_mask(params["scan_scope"]) if params["scan_scope"] else None,
        create_time=params["create_time"], end_time=params["end_time"],
    )


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True)
    result = dict(changed=False, tasks=[], raw=[])

    def run():
        query = build_query(module.params)
        result["raw"] = walk(module.client, "ListImageScanTask", max_results=module.params["max_results"], **query)
        result["tasks"] = [hs.normalise_task(row) for row in result["raw"]]
        return result

    module.execute(run, result)


if __name__ == "__main__":
    main()
