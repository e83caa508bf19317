#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin plugins/action/image_scan_judge.py.

from __future__ import annotations

DOCUMENTATION = r"""
module: image_scan_judge
short_description: Work out the image scan result of every play host once, and keep it for the per-host gate
version_added: 0.2.0
description:
  - Runs once for the play (the role C(cloudsec.image_scan.image_scan) runs it with C(run_once)). It computes every
    host's C(image_scan) result, with the gate applied, exactly as the filter
    P(cloudsec.image_scan.image_scan_facts#filter) does with the same options.
  - The results are not returned. They are written to a new private directory on the controller (mode C(0700), one
    file of mode C(0600) per host, named by a digest of the host's name), under Ansible's local temporary directory,
    which Ansible removes when the run ends. M(cloudsec.image_scan.image_scan_gate) with O(cloudsec.image_scan.image_scan_gate#module:store)
    then reads the file of its own host.
  - That keeps the results of every host out of the controller's variables. Ansible forks its controller process for
    every host of a per-host task, and handles every result of every task there, so their size is what a per-host
    task costs at scale.
  - What is returned is small, and grows with the hosts that fail only. RV(hosts) has a row per host for a summary
    table; RV(failed_hosts) has the whole result of each host the gate does not pass, because Ansible keeps no facts
    from a task that fails, so those hosts get their fact from another task.
  - With O(collect), it also collects the results itself, with the provider's module
    (M(cloudsec.image_scan.hss_image_info) or M(cloudsec.image_scan.tcss_image_info)), and judges the images that
    module returns. The collected results, the largest data of a run, then stay in this task's process; they are
    not returned and never become a variable of the play. Without O(collect) the action calls no module.
  - The module runs where the task runs (on the host of C(delegate_to)), with the play's C(module_defaults) for it
    and for its group (C(group/cloudsec.image_scan.hss) or C(group/cloudsec.image_scan.tcss)), so credentials set
    there apply.
options:
  match:
    description: The result of P(cloudsec.image_scan.image_scan_match#filter).
    type: dict
    default: {}
  images:
    description:
      - Normalised images (the C(images) an C(*_image_info) module returns), with findings when they were collected.
      - With O(collect), the listing of the play's images (where each image is, no results needed). It is judged
        instead of the collected results only when the collection fails; its images are then not judged.
    type: list
    elements: dict
    default: []
  collect:
    description:
      - The options of the provider's C(*_image_info) module (for example C(image_ids) and C(vulnerabilities); on HSS
        also C(image_type) and C(host_ids)). The action runs the module and judges the images it returns.
      - C(image_ids), when left out, are the C(image_ids) of O(match), the images of the play hosts that can be scanned.
      - It is not run after a failed cloud call (O(error) set) or without any image to read.
      - When the module fails, the hosts with images in O(images) are not judged, with the error of the task
        C(Collect the results), and O(on_error) decides whether they fail.
    type: dict
  provider:
    description: The cloud, copied into each result.
    type: str
    required: true
    choices: [hss, tcss]
  fail_on:
    description: Lowest severity that fails a host; V(none) disables the severity gate.
    type: str
    choices: [critical, high, medium, low, none]
    default: critical
  ignore_unfixed:
    description: Count only vulnerabilities that have a fix (needs findings).
    type: bool
    default: false
  scanned_at:
    description: Start of the run (ISO 8601 UTC), copied into each result; a scan at or after it is from this run.
    type: str
  max_age:
    description: A successful scan younger than this (seconds, or V(30m), V(24h), V(7d)) is fresh; unset, any is.
    type: raw
  force:
    description: Only a scan from this run is fresh.
    type: bool
    default: false
  fail_on_incomplete:
    description: Fail hosts with an image without a fresh successful scan.
    type: bool
    default: true
  fail_on_unscannable:
    description: Fail hosts with an image the cloud cannot scan.
    type: bool
    default: false
  fail_on_unenrolled:
    description: Fail hosts that are C(not_enrolled) or C(agent_offline).
    type: bool
    default: false
  max_findings:
    description: Most counted findings of each severity per host.
    type: dict
  exceptions:
    description: The result of P(cloudsec.image_scan.image_scan_exceptions#filter).
    type: list
    elements: dict
  baseline:
    description: The result of P(cloudsec.image_scan.image_scan_baseline#filter).
    type: dict
  fail_on_new_only:
    description: With O(baseline), count only new findings.
    type: bool
    default: false
  on_error:
    description: Fail (V(fail)) or only warn about (V(warn)) the hosts O(error) left not judged.
    type: str
    choices: [fail, warn]
    default: fail
  error:
    description:
      - The failed cloud call, C({task, msg, wait, task_ids}). With C(wait) true (a wait that ran out) the images
        still pending are incomplete with the task ids; otherwise the hosts with images lacking a fresh result are
        not judged.
    type: dict
  play_hosts:
    description: Every play host; those the match does not know get a result too.
    type: list
    elements: str
  now:
    description: The current time (ISO 8601); defaults to the controller's clock.
    type: str
  clock_offset:
    description:
      - How many seconds the cloud's clock was seen to run ahead of ours (the C(clock_offset) the TCSS modules
        return); see P(cloudsec.image_scan.image_scan_facts#filter).
      - With O(collect), the C(clock_offset) the collection returns, when it returns one.
    type: float
    default: 0
  return_facts:
    description:
      - Also return every host's result, as RV(facts). The role asks for them only to write its reports.
    type: bool
    default: false
extends_documentation_fragment:
  - cloudsec.image_scan.attributes.CONTROLLER_ACTION
seealso:
  - module: cloudsec.image_scan.image_scan_gate
  - plugin: cloudsec.image_scan.image_scan_facts
    plugin_type: filter
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
- name: Collect the results of the images listed and work out every host's result once
  cloudsec.image_scan.image_scan_judge:
    match: "{{ matched }}"
    images: "{{ scanned.images }}"
    collect:
      vulnerabilities: true
    provider: tcss
    fail_on: high
  run_once: true
  register: judged

- name: Work out every host's result once, from results collected before
  cloudsec.image_scan.image_scan_judge:
    match: "{{ matched }}"
    images: "{{ results.images }}"
    provider: tcss
    fail_on: high
  run_once: true
  register: judged

- name: Leave every host its result and fail the hosts the gate does not pass
  cloudsec.image_scan.image_scan_gate:
    store: "{{ judged.store }}"
"""

RETURN = r"""
store:
  description: The directory the results were written to, for O(cloudsec.image_scan.image_scan_gate#module:store).
  returned: success
  type: str
  sample: /home/user/.ansible/tmp/ansible-local-4242abcd/image_scan-k3j2h1
hosts:
  description: Inventory hostname to what a summary shows of its result.
  returned: success
  type: dict
  contains:
    passed:
      description: Whether the host passes the gate.
      type: bool
      returned: success
    status:
      description: The host's status (C(scanned), C(no_images), C(not_enrolled), C(agent_offline), C(error)).
      type: str
      returned: success
    summary:
      description: The C(summary) of the host's result (image and severity counts).
      type: dict
      returned: success
    rules:
      description: The rules that failed the host, in order, each once.
      type: list
      elements: str
      returned: success
    delta:
      description: With a baseline, how many findings are new and fixed (C({new, fixed})); else V(null).
      type: dict
      returned: success
  sample: {"node-01": {"passed": true, "status": "scanned", "rules": [], "delta": null,
                       "summary": {"images_total": 5, "critical": 0, "high": 2, "medium": 1, "low": 4, "suppressed": 0}}}
failed_hosts:
  description: Inventory hostname to the whole result of each host the gate does not pass.
  returned: success
  type: dict
facts:
  description: Inventory hostname to its whole result, for every host.
  returned: when O(return_facts) is V(true)
  type: dict
msg:
  description: How many hosts pass the gate.
  returned: success
  type: str
  sample: "998 of 1000 hosts pass the gate"
"""
