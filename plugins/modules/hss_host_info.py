#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_host_info
short_description: List the hosts Huawei Cloud HSS knows and the state of their agent
version_added: 0.1.0
description:
  - Lists hosts with the HSS API ListHostStatus (C(GET /v5/{project_id}/host-management/hosts)), walking all pages.
  - This API is not one of the image-scan APIs. It tells a host that is not enrolled in HSS, or whose agent is
    offline or not installed, apart from a host that simply has no images.
author:
  - cloudsec.image_scan contributors (@cloudsec)
options:
  host_name:
    description: Only hosts whose name contains this text.
    type: str
  host_id:
    description: Only the host with this HSS host ID.
    type: str
  host_ip:
    description: Only the host with this private IP address (C(private_ip) of the API).
    type: str
  agent_status:
    description:
      - Only hosts whose agent is in this state. V(installed) means online or offline, V(not_online) anything
        but online.
    type: str
    choices: [installed, not_installed, online, offline, install_failed, installing, not_online]
  match_hosts:
    description:
      - Only the hosts that these identities name, each a dict with C(id), C(name) and/or C(ip) (other keys, such as
        the C(inventory_hostname) of P(cloudsec.image_scan.image_scan_hosts#filter), are ignored). Each is matched as
        the P(cloudsec.image_scan.image_scan_match#filter) filter matches play hosts, by id when it has one, else by
        exact name, else by IP address (names and addresses compared without case).
      - When they are few against the fleet (the first page of the listing tells how many pages a walk would take),
        each is looked up with the C(host_id), C(host_name) or C(private_ip) filter; else the fleet is walked once.
        The C(host_name) filter matches parts of names, so every answer is matched exactly again.
      - The API does not say whether C(host_name) compares names with case. When the lookups leave an identity
        unmatched (a name that differs in case from the cloud's, or a host that is not enrolled), the fleet's host
        listing is walked once after all (RV(fleet_walked) is V(true)), so that RV(hosts) is what a walk gives. A
        host that is not enrolled therefore costs one call per 200 hosts of the fleet. An identity that names no
        host is left out of RV(hosts).
      - Cannot be combined with O(host_name), O(host_id) or O(host_ip).
    type: list
    elements: dict
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.INFO_MODULE
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
seealso:
  - module: cloudsec.image_scan.hss_image_info
  - module: cloudsec.image_scan.hss_local_image_scan
  - name: ListHostStatus API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListHostStatus.html
"""

EXAMPLES = r"""
- name: Every host HSS knows
  cloudsec.image_scan.hss_host_info:
  delegate_to: localhost
  run_once: true
  register: hss_hosts

- name: Hosts whose agent is not online
  cloudsec.image_scan.hss_host_info:
    agent_status: not_online
  delegate_to: localhost
  run_once: true
  register: unprotected

- name: Is this host enrolled?
  cloudsec.image_scan.hss_host_info:
    host_ip: "{{ ansible_facts.default_ipv4.address }}"
  delegate_to: localhost
  register: me
"""

RETURN = r"""
hosts:
  description: The hosts, normalised; V([]) when there is none.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: HSS host ID.
      type: str
      sample: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7
    name:
      description: Host name.
      type: str
      sample: node-01
    ip:
      description: Private IP address, or V(null).
      type: str
      sample: 10.20.0.1
    agent_id:
      description: Agent ID, V(null) when no agent is installed.
      type: str
      sample: 1ff092470bfa9b982ff36f4b1a5c7073e9908e57bdc3943014d497bbb44dc2e5
    agent_status:
      description: Agent state in lower case, such as V(online), V(offline), V(not_installed), V(installing),
        V(install_failed).
      type: str
      sample: online
    os_type:
      description: V(Linux) or V(Windows).
      type: str
      sample: Linux
    protect_status:
      description: Protection state, such as V(opened), V(closed), V(protection_exception).
      type: str
      sample: opened
fleet_walked:
  description: With O(match_hosts), whether the whole fleet was listed (V(false) when the hosts were looked up one
    by one and every one was found).
  returned: when O(match_hosts) is given
  type: bool
  sample: false
raw:
  description: The ListHostStatus rows, as the API returned them.
  returned: always
  type: list
  elements: dict
  sample: [{"host_id": "20233fd6-ebfd-4daf-82bc-a5cbfa9837d7", "host_name": "node-01", "agent_status": "online"}]
error:
  description: On an API failure, its details (C(error_code), C(error_msg), C(request_id), C(status), C(operation),
    C(cloud), C(ambiguous)).
  returned: on API failure
  type: dict
  sample: {error_code: APIGW.0301, error_msg: Incorrect IAM authentication information, request_id: 0a1b2c,
           status: 401, operation: ListHostStatus, cloud: hss, ambiguous: false}
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_ops import find_hosts, walk


def argument_spec():
    return dict(
        host_name=dict(type="str"),
        host_id=dict(type="str"),
        host_ip=dict(type="str"),
        agent_status=dict(type="str", choices=list(hs.AGENT_STATUSES)),
        match_hosts=dict(type="list", elements="dict"),
    )


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[("match_hosts", "host_name"), ("match_hosts", "host_id"),
                                           ("match_hosts", "host_ip")])
    p = module.params
    result = dict(changed=False, hosts=[], raw=[])

    def run():
        if p["match_hosts"] is not None:
            result["raw"], result["fleet_walked"] = find_hosts(module.client, p["match_hosts"],
                                                               agent_status=p["agent_status"])
        else:
            result["raw"] = walk(module.client, "ListHostStatus", host_name=p["host_name"], host_id=p["host_id"],
                                 private_ip=p["host_ip"], agent_status=p["agent_status"])
        result["hosts"] = [hs.normalise_host(row) for row in result["raw"]]
        return result

    module.execute(run, result)


if __name__ == "__main__":
    main()
