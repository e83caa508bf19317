#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin plugins/action/image_scan_gate.py.

from __future__ import annotations

DOCUMENTATION = r"""
module: image_scan_gate
short_description: Leave a host its image scan result as a fact and fail the host when the gate does not pass it
version_added: 0.1.0
description:
  - The one task the role C(cloudsec.image_scan.image_scan) runs on every host. Everything else in the role runs
    once for the play; this action only turns the result already computed for the host into its fate.
  - When the result passed the gate (C(passed) is V(true)), the action sets the fact C(image_scan) of the host to
    O(result) and succeeds. Like gathered facts, the fact goes to the fact cache when one is configured.
  - When the result did not pass, or cannot be read (no dictionary, or no boolean C(passed)), the host fails with
    the C(message) of the result, or with a message that names the host. A gate that cannot confirm a scan does not
    pass the host.
  - Ansible keeps no facts from a task that failed, so the fact of a host that fails is not set by this action; the
    role sets those facts, once for the play, before it.
  - It runs on the controller, calls no module and needs no connection to the host.
options:
  result:
    description:
      - The result of the gate for this host, as the role computes it for every host (see the role's documentation
        for its keys). The action reads C(passed), C(message) and C(status).
      - V(null) or a value without a boolean C(passed) fails the host.
      - Mutually exclusive with O(store) and O(judge_var).
    type: raw
  store:
    description:
      - The directory M(cloudsec.image_scan.image_scan_judge) wrote every host's result to (its RV(cloudsec.image_scan.image_scan_judge#module:store)).
        The action reads the result of its own host there, and then does as with O(result).
      - A host without a readable result in it fails, and so does every host when it is not a directory.
        M(cloudsec.image_scan.image_scan_judge) writes a result for every host of the play, so a host without one
        had failed before the results were worked out, and fails again, as with O(judged=false).
      - The result of every host then never passes through the variables of the controller, which Ansible forks for
        every host of this task.
      - Mutually exclusive with O(result) and O(judge_var).
    type: path
    version_added: 0.2.0
  judge_var:
    description:
      - The name of the variable the result of M(cloudsec.image_scan.image_scan_judge) was registered in (with
        C(register)). The action reads its RV(cloudsec.image_scan.image_scan_judge#module:store) from the variable as
        it is kept, and then does as with O(store).
      - This is how the role runs the gate. The task then has no template to work out on every host (in a play of
        1,000 hosts, a template with a filter there added half as much again to the task).
      - A variable that is not defined, or holds no O(store) (the judge did not run, or was skipped), fails the host.
      - Mutually exclusive with O(result) and O(store).
    type: str
    version_added: 0.2.0
  judged:
    description:
      - Whether the host was in the play when the result was computed. A host that was not (it had failed before
        the result was computed, and a later task of the play brought it back, such as
        M(ansible.builtin.meta) with C(clear_host_errors)) fails again, with a message that says so, whatever
        O(result) holds; it is given no fact.
    type: bool
    default: true
extends_documentation_fragment:
  - cloudsec.image_scan.attributes.CONTROLLER_ACTION
notes:
  - The fact C(image_scan) set by this action has the precedence of gathered facts, not the higher one of
    M(ansible.builtin.set_fact).
author:
  - cloudsec.image_scan contributors (@cloudsec)
"""

EXAMPLES = r"""
- name: Leave every host its result and fail the hosts the gate does not pass
  cloudsec.image_scan.image_scan_gate:
    result: "{{ gate_results[inventory_hostname] | default(none) }}"

- name: The same, with the results kept by image_scan_judge
  cloudsec.image_scan.image_scan_gate:
    store: "{{ judged.store }}"

- name: The same, without a template on every host (as the role does; judged is the judge's registered result)
  cloudsec.image_scan.image_scan_gate:
    judge_var: judged
"""

RETURN = r"""
msg:
  description: Why the host failed (the C(message) of O(result)), or that it passed.
  returned: always
  type: str
  sample: "node-07 failed the gate (incomplete): 1 image has no successful scan"
ansible_facts:
  description: The facts set on the host, when it passed.
  returned: when the host passed the gate
  type: dict
  contains:
    image_scan:
      description: O(result), or the result read from O(store), unchanged.
      type: dict
      returned: when the host passed the gate
      sample: {provider: hss, status: scanned, passed: true, message: null}
"""
