#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tcss_host_info
short_description: List the hosts of Tencent Cloud TCSS with their agent state
version_added: 0.1.0
description:
  - Lists the hosts known to Tencent Cloud Container Security Service (TCSS) with C(DescribeAssetHostList), every page.
  - Each host carries its agent state, so a caller can tell a host that is not enrolled (absent from the list or
    V(not_installed)) or whose agent is V(offline) from a host that simply has no images.
options:
  agent_status:
    description:
      - Only hosts whose agent is in one of these states (a C(Status) filter), the words of RV(hosts[].agent_status).
      - V(online) is C(ONLINE), V(offline) C(OFFLINE), V(not_installed) C(UNINSTALL) and V(all) C(ALL).
    type: list
    elements: str
    choices: [online, offline, not_installed, all]
  host_name:
    description:
      - Only hosts with one of these names (a C(HostName) filter).
    type: list
    elements: str
  host_ip:
    description:
      - Only hosts with one of these IP addresses (a C(HostIP) filter).
    type: list
    elements: str
  host_id:
    description:
      - Only these hosts, by TCSS host ID (a C(HostID) filter).
    type: list
    elements: str
  filters:
    description:
      - More conditions, as C(Filters) of C(DescribeAssetHostList); a host must match all of them.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Filter name, one of C(Status), C(HostName), C(Group), C(HostIP), C(HostID), C(DockerVersion),
            C(MachineType), C(DockerStatus), C(ProjectID), C(NonClusterNode), or C(tag:<key>).
        type: str
        required: true
      values:
        description:
          - Values of the filter; a host matches when it matches one of them.
        type: list
        elements: str
        required: true
      exact_match:
        description:
          - Sent as C(ExactMatch). When not set the service default applies.
        type: bool
  max_results:
    description:
      - Stop after this many hosts. All of them when not set.
    type: int
  match_hosts:
    description:
      - Only the hosts that these identities name, each a dict with C(id), C(name) and/or C(ip) (other keys, such as
        the C(inventory_hostname) of P(cloudsec.image_scan.image_scan_hosts#filter), are ignored). Each is matched as
        the P(cloudsec.image_scan.image_scan_match#filter) filter matches play hosts, by id when it has one, else by
        exact name, else by IP address (names and addresses compared without case).
      - When they are few against the fleet (the first page of the listing tells how many pages a walk would take),
        they are looked up with C(HostID), C(HostName) (exact) and C(HostIP) filters, a hundred values a call; else
        the fleet is walked once. Every answer is matched exactly again. O(filters) and O(agent_status) apply as
        well.
      - The API does not say whether C(HostName) compares names with case. When the lookups leave an identity
        unmatched (a name that differs in case from the cloud's, or a host that is not enrolled), the fleet's host
        listing is walked once after all (RV(fleet_walked) is V(true)), so that RV(hosts) is what a walk gives. A
        host that is not enrolled therefore costs one call per 100 hosts of the fleet. An identity that names no
        host is left out of RV(hosts).
      - Cannot be combined with O(host_name), O(host_id), O(host_ip) or O(max_results).
    type: list
    elements: dict
seealso:
  - module: cloudsec.image_scan.tcss_image_info
  - module: cloudsec.image_scan.tcss_image_scan
  - name: DescribeAssetHostList API
    description: The TCSS API that lists the hosts.
    link: https://cloud.tencent.com/document/api/1285/65507
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
- name: Every host TCSS knows
  cloudsec.image_scan.tcss_host_info:
  register: tcss_hosts

- name: Hosts whose agent is not online
  ansible.builtin.debug:
    msg: "{{ tcss_hosts.hosts | rejectattr('agent_status', 'equalto', 'online') | map(attribute='name') | list }}"

- name: Two hosts by IP address
  cloudsec.image_scan.tcss_host_info:
    host_ip: [10.20.0.1, 10.20.0.2]

- name: Hosts outside any cluster whose agent is offline
  cloudsec.image_scan.tcss_host_info:
    agent_status: [offline]
    filters:
      - name: NonClusterNode
        values: ["true"]
"""

RETURN = r"""
hosts:
  description: The hosts, normalised; empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: TCSS host ID (C(HostID)).
      type: str
      sample: a24b15fc26b27e87cd465f8144905391
    name:
      description: Host name.
      type: str
      sample: node-01
    ip:
      description: Private IP address.
      type: str
      sample: 10.20.0.1
    agent_status:
      description: V(online), V(offline), V(not_installed), or the lower-case TCSS word for any other state.
      type: str
      sample: online
    cluster:
      description: C({id, name}) of the cluster the host belongs to, V(null) when none.
      type: dict
      sample:
        id: cls-7f3k9a2b
        name: prod
    docker_version:
      description: Docker version.
      type: str
      sample: 24.0.7
    docker_file_system_driver:
      description: Storage driver of the container runtime.
      type: str
      sample: overlay2
    is_containerd:
      description: Whether the runtime is containerd.
      type: bool
      sample: false
    image_count:
      description: Images on the host.
      type: int
      sample: 4
    container_count:
      description: Containers on the host.
      type: int
      sample: 6
    group:
      description: Host group.
      type: str
      sample: default
    machine_type:
      description: Where the host runs (C(CVM), C(ECM), C(LH), C(BM), C(Other)).
      type: str
      sample: CVM
    public_ip:
      description: Public IP address, V(null) when none.
      type: str
      sample: null
    instance_id:
      description: Instance ID of the server.
      type: str
      sample: ins-0a1b2c3d
    uuid:
      description: Agent UUID.
      type: str
      sample: 4b0d4c4e-8f0b-4f55-9a53-0e2d8c9b1a77
    project:
      description: C({id, name}) of the project of the host.
      type: dict
      sample:
        id: 0
        name: default
    defend_status:
      description: Protection state as TCSS gives it.
      type: str
      sample: Defended
    last_online_time:
      description: When an offline agent was last online, ISO 8601 UTC, else V(null).
      type: str
      sample: null
fleet_walked:
  description: With O(match_hosts), whether the whole fleet was listed (V(false) when the hosts were looked up by
    filters and every one was found).
  returned: when O(match_hosts) is given
  type: bool
  sample: false
raw:
  description: The rows of C(DescribeAssetHostList).
  returned: always
  type: list
  elements: dict
  sample:
    - HostID: a24b15fc26b27e87cd465f8144905391
      HostName: node-01
      HostIP: 10.20.0.1
      Status: ONLINE
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import list_problems
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_module import TcssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_ops import find_hosts


def argument_spec():
    return dict(
        agent_status=dict(type="list", elements="str", choices=list(ts.AGENT_STATUS_TO_FILTER)),
        host_name=dict(type="list", elements="str"),
        host_ip=dict(type="list", elements="str"),
        host_id=dict(type="list", elements="str"),
        filters=dict(type="list", elements="dict", options=ts.filter_suboptions()),
        max_results=dict(type="int"),
        match_hosts=dict(type="list", elements="dict"),
    )


def input_problems(params):
    problems = ts.check_filters(params.get("filters"), "filters", ts.HOST_FILTER_NAMES, ts.host_filter_values_problem)
    return problems + list_problems(params, ("agent_status", "host_name", "host_ip", "host_id"))


def main():
    module = TcssModule(argument_spec=argument_spec(), supports_check_mode=True,
                        mutually_exclusive=[("match_hosts", name)
                                            for name in ("host_name", "host_id", "host_ip", "max_results")])
    params = module.params
    result = dict(changed=False, hosts=[], raw=[])

    def run():
        problems = input_problems(params)
        if problems:
            raise ValueError("; ".join(problems))
        filters = ts.host_list_filters(params["filters"], params["agent_status"], params["host_name"],
                                       params["host_ip"], params["host_id"])
        if params["match_hosts"] is not None:
            result["raw"], result["fleet_walked"] = find_hosts(module.client, params["match_hosts"], filters)
        else:
            result["raw"] = module.client.paginate("DescribeAssetHostList", {"Filters": filters} if filters else {},
                                                   params["max_results"])
        result["hosts"] = [ts.normalise_host(row) for row in result["raw"]]
        return result

    module.execute(run, result)


if __name__ == "__main__":
    main()
