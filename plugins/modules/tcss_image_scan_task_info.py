#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tcss_image_scan_task_info
short_description: Read the status of an image scan task on Tencent Cloud TCSS
version_added: 0.1.0
description:
  - Reads the progress and counts of a Tencent Cloud Container Security Service (TCSS) image scan task with
    C(DescribeAssetImageScanStatus), and the current "one-click" scan task with C(DescribeAssetImageScanTask).
  - With O(task_id) the module reports that task; without it, the current one-click task.
  - The task is normalised like the task of the other scan modules of the collection (same keys and status words).
options:
  task_id:
    description:
      - ID of the task to read (C(task.id) of M(cloudsec.image_scan.tcss_image_scan)).
      - When not set, the current one-click task is read.
      - An unknown task gives an empty RV(tasks) list.
    type: str
  one_click:
    description:
      - Whether O(task_id) is the one-click task (started with
        O(cloudsec.image_scan.tcss_image_scan#module:one_click=true)).
      - C(DescribeAssetImageScanTask) reports only the one-click task. With V(false) it is not read, and the task is
        read with C(DescribeAssetImageScanStatus) alone (one call), and a task that ended before all its images were
        scanned is RV(task.status=stopped). When not set, C(DescribeAssetImageScanTask) is read as well, and
        completes the task when it is the one-click task.
      - Requires O(task_id).
    type: bool
seealso:
  - module: cloudsec.image_scan.tcss_image_scan
  - module: cloudsec.image_scan.tcss_image_info
  - name: DescribeAssetImageScanStatus API
    description: The TCSS API that reports the progress of a scan task.
    link: https://www.tencentcloud.com/document/api/1163/53150
extends_documentation_fragment:
  - cloudsec.image_scan.tcss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.INFO_MODULE
  - cloudsec.image_scan.attributes.ACTIONGROUP_TCSS
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
- name: Read a task started earlier
  cloudsec.image_scan.tcss_image_scan_task_info:
    task_id: "{{ scan.task.id }}"
  register: info

- name: Show its progress
  ansible.builtin.debug:
    msg: "{{ info.task.status }} {{ info.task.progress }}%"
  when: info.task is not none

- name: Read the current one-click scan task
  cloudsec.image_scan.tcss_image_scan_task_info:
  register: one_click
"""

RETURN = r"""
task:
  description:
    - The task, normalised like the task of M(cloudsec.image_scan.tcss_image_scan). V(null) when there is none.
  returned: always
  type: dict
  contains:
    id:
      description: Task ID.
      type: str
    name:
      description: Always V(null) (TCSS tasks have no name).
      type: str
    image_type:
      description: Always V(local).
      type: str
    status:
      description: V(running), V(succeeded), V(stopped), V(timed_out) or V(failed).
      type: str
    progress:
      description: Percent done, 0 to 100.
      type: int
    begin_time:
      description: Start of the task, ISO 8601 UTC, when known (only for the one-click task).
      type: str
    end_time:
      description: Always V(null) (TCSS does not report it).
      type: str
    remaining_minutes:
      description: Estimated minutes left.
      type: int
    total:
      description: Images in the task.
      type: int
    succeeded:
      description: Images scanned successfully.
      type: int
    failed:
      description: Images whose scan failed.
      type: int
    risky:
      description: Images scanned with findings.
      type: int
    failed_images:
      description: Always empty (TCSS does not list them per task).
      type: list
      elements: dict
  sample:
    id: 6013a6c334b9a9000cf519be
    name: null
    image_type: local
    status: running
    progress: 40
    begin_time: null
    end_time: null
    remaining_minutes: 2
    total: 5
    succeeded: 2
    failed: 0
    risky: 1
    failed_images: []
tasks:
  description: The task in a list (empty when there is none), for loops and length tests.
  returned: always
  type: list
  elements: dict
  sample: []
raw:
  description: The TCSS answers.
  returned: always
  type: dict
  contains:
    status:
      description: The answer of C(DescribeAssetImageScanStatus), or V(null) when it was not called.
      type: dict
    one_click_task:
      description: The answer of C(DescribeAssetImageScanTask), or V(null) when it was not read (O(one_click=false)).
      type: dict
  sample:
    status:
      ImageTotal: 5
      ImageScanCnt: 2
      Status: SCANNING
      Schedule: 40
      SuccessCount: 1
      RiskCount: 1
      LeftSeconds: 90
      RequestId: 0d8e9f6a-8d77-4d0e-9a55-5a4cf1c0a111
    one_click_task:
      TaskID: ""
      LastScanTime: ""
      Status: READY
      SubStatus: ""
      RequestId: 5b0b7a4e-2f8d-4c1e-b8c0-7b8f0f9d6a21
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_module import TcssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_ops import task_info


def main():
    module = TcssModule(argument_spec=dict(task_id=dict(type="str"), one_click=dict(type="bool")),
                        supports_check_mode=True, required_by={"one_click": "task_id"})
    task_id = module.params["task_id"]
    raw = {"status": None, "one_click_task": None}

    def run():
        if task_id is not None and not task_id.strip():
            raise ValueError("task_id must not be empty")
        task = task_info(module.client, task_id.strip() if task_id is not None else None, raw, warn=module.warn,
                         one_click=module.params["one_click"])
        return dict(changed=False, task=task, tasks=[task] if task else [], raw=raw)

    module.execute(run, dict(changed=False, raw=raw))


if __name__ == "__main__":
    main()
