#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tcss_image_info
short_description: List container images and their scan results on Tencent Cloud TCSS
version_added: 0.1.0
description:
  - Lists the container images known to Tencent Cloud Container Security Service (TCSS) with
    C(DescribeAssetImageList), every page, and normalises them like the images of the other scan modules of the
    collection (same keys, same status and severity words).
  - With O(vulnerabilities=true) it adds the vulnerabilities of each image (C(DescribeAssetImageVulList)); only
    images that have vulnerabilities are asked for them.
  - With O(hosts=true) it adds the hosts each image is on, from C(DescribeAssetImageHostList) and
    C(DescribeAssetHostList); the number of calls grows with the number of images and hosts per page, not with one
    call per image.
options:
  filters:
    description:
      - Conditions on the images (C(Filters) of C(DescribeAssetImageList)); an image must match all of them.
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
  image_ids:
    description:
      - Only these images (an C(ImageID) filter with exact matching).
    type: list
    elements: str
  image_name:
    description:
      - Only images whose name (C(repository:tag)) contains this text (an C(ImageName) filter).
    type: str
  scan_status:
    description:
      - Only images in one of these scan states (a C(ScanStatus) filter).
      - V(waiting) and V(scanning) both mean C(scanning) to TCSS; V(failed) covers every failed scan.
    type: list
    elements: str
    choices: [unscanned, waiting, scanning, success, failed]
  max_results:
    description:
      - Stop after this many images. All of them when not set.
    type: int
  vulnerabilities:
    description:
      - Add RV(images[].findings) and RV(images[].severity_counts) to each image.
    type: bool
    default: false
  hosts:
    description:
      - Add RV(images[].hosts), the hosts each image is on.
    type: bool
    default: false
  host_ids:
    description:
      - Only the images on the hosts with these TCSS host IDs, with RV(images[].hosts) limited to those hosts
        (implies O(hosts=true)).
      - The image-host pairs are read with a C(HostID) filter (a hundred hosts a call); for more hosts than that,
        with one unfiltered call when TCSS answers it whole. The images by C(ImageID) when they are few against
        the fleet's images (the first page of the listing tells how many pages a walk would take), else from one
        walk of the listing. The other conditions apply as well.
      - V([]) lists nothing. Cannot be combined with O(max_results).
    type: list
    elements: str
seealso:
  - module: cloudsec.image_scan.tcss_image_scan
  - module: cloudsec.image_scan.tcss_host_info
  - module: cloudsec.image_scan.tcss_image_scan_task_info
  - name: DescribeAssetImageList API
    description: The TCSS API that lists the images.
    link: https://www.tencentcloud.com/document/api/1163/53169
  - name: DescribeAssetImageVulList API
    description: The TCSS API that lists the vulnerabilities of an image.
    link: https://cloud.tencent.com/document/api/1285/65481
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
- name: Every image with its hosts and vulnerabilities
  cloudsec.image_scan.tcss_image_info:
    hosts: true
    vulnerabilities: true
  register: tcss_images

- name: Images with critical vulnerabilities
  ansible.builtin.debug:
    msg: "{{ tcss_images.images | selectattr('severity', 'equalto', 'critical') | map(attribute='name') | list }}"

- name: The scan results of two images
  cloudsec.image_scan.tcss_image_info:
    image_ids:
      - sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
      - sha256:9d059239e83a4c5b6a7988c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0

- name: Images never scanned or whose scan failed, nginx only
  cloudsec.image_scan.tcss_image_info:
    image_name: nginx
    scan_status: [unscanned, failed]

- name: Images with viruses, by filter
  cloudsec.image_scan.tcss_image_info:
    filters:
      - name: SecurityRisk
        values: [VirusCnt]
"""

RETURN = r"""
clock_offset:
  description:
    - How many seconds the cloud's clock is known to run ahead of the controller's, from the images' scan times (a
      scan cannot end in the future); V(0) when nothing shows it. A lower bound. Scan times are the cloud's own,
      so their age is the controller's time plus this offset minus the scan time.
  returned: always
  type: int
  sample: 0
images:
  description: The images, normalised; empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Image ID (C(ImageID)).
      type: str
      sample: sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
    name:
      description: Image name without the tag.
      type: str
      sample: nginx
    version:
      description: Image tag, V(null) when the name has none.
      type: str
      sample: "1.25"
    digest:
      description: Digest when the name carries one (C(name@sha256:...)), else V(null).
      type: str
      sample: null
    host:
      description: Always V(null) for TCSS (an image may be on many hosts; see RV(images[].hosts)).
      type: dict
      sample: null
    hosts:
      description:
        - With O(hosts=true), the hosts the image is on, each C({id, name, ip}); empty otherwise.
      type: list
      elements: dict
      sample:
        - id: a24b15fc26b27e87cd465f8144905391
          name: node-01
          ip: 10.20.0.1
    image_type:
      description: Always V(local) (TCSS lists the images of the hosts), as for the local images of HSS.
      type: str
      sample: local
    registry:
      description: Always V(null) for TCSS (registry details belong to HSS registry images).
      type: dict
      sample: null
    scan_status:
      description:
        - V(unscanned), V(scanning), V(success) or V(failed); V(unscannable) when TCSS will not scan the image
          (C(IsAuthorized) 0, no image licence covers it), whatever its last scan said.
      type: str
      sample: success
    authorized:
      description: Whether TCSS may scan the image (C(IsAuthorized)); V(null) when TCSS does not say.
      type: bool
      sample: true
    unscannable_reason:
      description: Why TCSS will not scan the image when its C(scan_status) is V(unscannable), else V(null).
      type: str
      sample: null
    failure_reason:
      description: Why the last scan failed (C(ScanError), C(AgentError)...), else V(null).
      type: str
      sample: null
    latest_scan_time:
      description: End of the last scan, ISO 8601 UTC (TCSS times are China Standard Time and are converted).
      type: str
      sample: "2025-01-02T03:04:05Z"
    severity:
      description:
        - Worst vulnerability severity, V(critical), V(high), V(medium), V(low), V(none) (scanned, no vulnerability)
          or V(unknown) (not scanned, or not told).
      type: str
      sample: high
    vulnerability_count:
      description: Number of vulnerabilities (C(VulCnt)).
      type: int
      sample: 3
    counts:
      description:
        - Counters of the image. C(critical), C(high), C(medium), C(low) are vulnerabilities per severity;
          C(vulnerability) all vulnerabilities; C(virus) trojans; C(risk) sensitive-information risks; C(component)
          software components; C(host) hosts; C(container) containers.
      type: dict
      sample:
        critical: 0
        high: 2
        medium: 1
        low: 0
        vulnerability: 3
        virus: 0
        risk: 1
        component: 120
        host: 11
        container: 9
    findings:
      description:
        - With O(vulnerabilities=true), the vulnerabilities of the image.
        - C(severity) comes from C(Level) (1 low, 2 medium, 3 high, 4 critical); C(fixable) is true when TCSS tags the
          vulnerability C(CanBeFixed) or names a fixed version.
        - C(cvss_v3) is the CVSS v3 score (C(CVSSV3Score)), V(null) when TCSS gives none; C(severity_source) is
          V(rating) (the severity is TCSS's four-level rating).
      returned: when O(vulnerabilities=true)
      type: list
      elements: dict
      sample:
        - id: CVE-2023-44487
          severity: high
          package: libnghttp2-14
          version: 1.52.0-1
          fixed_version: 1.52.0-1+deb12u1
          fixable: true
          description: HTTP/2 rapid reset can cause a denial of service.
          url: https://nvd.nist.gov/vuln/detail/CVE-2023-44487
          cvss_v3: 7.5
          severity_source: rating
    severity_counts:
      description: With O(vulnerabilities=true), the findings per severity.
      returned: when O(vulnerabilities=true)
      type: dict
      sample:
        critical: 0
        high: 2
        medium: 1
        low: 0
        unknown: 0
fleet_walked:
  description: With O(host_ids), whether the images of the whole fleet were listed (V(false) when by C(ImageID)).
  returned: when O(host_ids) is given
  type: bool
  sample: false
raw:
  description: The TCSS answers the images are made of.
  returned: always
  type: dict
  contains:
    images:
      description: The rows of C(DescribeAssetImageList).
      type: list
      elements: dict
    vulnerabilities:
      description: With O(vulnerabilities=true), the rows of C(DescribeAssetImageVulList) per image ID.
      type: dict
    image_hosts:
      description: With O(hosts=true) or O(host_ids), the rows of C(DescribeAssetImageHostList).
      type: list
      elements: dict
    hosts:
      description: With O(hosts=true) or O(host_ids), the rows of C(DescribeAssetHostList).
      type: list
      elements: dict
  sample:
    images:
      - ImageID: sha256:6ab04c22f4e04c8e0f5e3d8e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c
        ImageName: nginx:1.25
        ScanStatus: scanned
        ScanTime: "2025-01-02 11:04:05"
        VulCnt: 3
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import list_problems
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_module import TcssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_ops import (
    attach_hosts, findings, host_refs, images_of_hosts, list_images)


def argument_spec():
    return dict(
        filters=dict(type="list", elements="dict", options=ts.filter_suboptions(ts.IMAGE_FILTER_NAMES)),
        image_ids=dict(type="list", elements="str"),
        image_name=dict(type="str"),
        scan_status=dict(type="list", elements="str", choices=list(_scan.IMAGE_STATUS_CHOICES)),
        max_results=dict(type="int"),
        vulnerabilities=dict(type="bool", default=False),
        hosts=dict(type="bool", default=False),
        host_ids=dict(type="list", elements="str"),
    )


def input_problems(params):
    problems = ts.check_filters(params.get("filters"), "filters", ts.IMAGE_FILTER_NAMES, ts.image_filter_values_problem)
    if params.get("image_name") is not None and not params["image_name"].strip():
        problems.append("image_name must not be empty")
    return problems + list_problems(params, ("image_ids", "scan_status"))


def main():
    module = TcssModule(argument_spec=argument_spec(), supports_check_mode=True,
                        mutually_exclusive=[("host_ids", "max_results")])
    params = module.params
    result = dict(changed=False, images=[], clock_offset=0, raw={"images": []})

    def run():
        problems = input_problems(params)
        if problems:
            raise ValueError("; ".join(problems))
        filters = ts.image_list_filters(params["filters"], None, params["image_name"], params["scan_status"])
        if params["host_ids"] is not None:
            rows, result["fleet_walked"] = images_of_hosts(module.client, params["host_ids"], filters, result["raw"])
            if params["image_ids"] is not None:
                rows = [row for row in rows if row.get("ImageID") in set(params["image_ids"])]
        else:
            rows = list_images(module.client, filters, params["image_ids"], params["max_results"])
        result["raw"]["images"] = rows
        images = [ts.normalise_image(row) for row in rows]
        if params["vulnerabilities"]:
            found = result["raw"]["vulnerabilities"] = {}
            for image in images:
                # Only images with vulnerabilities are asked for them.
                found[image["id"]] = findings(module.client, image) if image["vulnerability_count"] > 0 else []
                ts.add_findings(image, found[image["id"]])
        if params["host_ids"] is not None:
            ts.attach_hosts(images, result["raw"]["image_hosts"], host_refs(result["raw"]))
        elif params["hosts"] and images:
            listed_everything = not (params["filters"] or params["image_ids"] or params["image_name"]
                                     or params["scan_status"] or params["max_results"])
            attach_hosts(module.client, images, listed_everything, result["raw"])
        result["images"] = images
        result["clock_offset"] = ts.clock_ahead(images, _clock.now())
        return result

    module.execute(run, dict(changed=False, images=[], raw=result["raw"]))


if __name__ == "__main__":
    main()
