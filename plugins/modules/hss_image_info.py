#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_image_info
short_description: Read the scan results of Huawei Cloud HSS container images
version_added: 0.1.0
description:
  - Lists local images (HSS API ListImageLocal, one row per image and host) or registry images (ListRegistryImages)
    with their scan status, severity and counts, walking all pages.
  - With O(vulnerabilities=true), adds the vulnerabilities of each image as RV(images[].findings) and
    RV(images[].severity_counts), asking only for the images listed that have at least one.
  - Local images read them from ListGeneralImageVuls (every vulnerability HSS found on local images, rated
    Critical, High, Medium or Low, with its CVSS score; one walk per vulnerability type), ListVulAffectImages
    (the images and hosts a vulnerability affects; it requires a vulnerability ID, so one walk per vulnerability
    HSS found on local images, or one call per listed image when that is fewer) and ListVulAffectImageApps (the
    software of an image a vulnerability is found in; one call per vulnerability and listed image, whatever the
    number of hosts holding the image).
  - Registry images read them from ListImageVulnerabilities (one walk per image), rated by the vulnerability's
    ListGeneralImageVuls row (one walk per vulnerability type for all registry images).
author:
  - cloudsec.image_scan contributors (@cloudsec)
options:
  image_type:
    description: V(local) for the images on hosts, V(registry) for the images in registries.
    type: str
    choices: [local, registry]
    default: local
  image_ids:
    description: Keep only the images with these image IDs (RV(images[].id)); applied after listing.
    type: list
    elements: str
  image_name:
    description: Only images whose name contains this text.
    type: str
  image_version:
    description: Only images of this version (for local images, applied only together with O(image_name)).
    type: str
  scan_status:
    description:
      - Only images in one of these scan states, the words of RV(images[].scan_status).
      - Each state is one filtered listing (V(failed) covers every failed scan).
    type: list
    elements: str
    choices: [unscanned, waiting, scanning, success, failed]
  has_vul:
    description: Only images with (V(true)) or without (V(false)) vulnerabilities.
    type: bool
  host_name:
    description: Local images only. Only the images on the host of this name (exact match).
    type: str
  host_id:
    description: Local images only. Only the images on the host with this HSS host ID.
    type: str
  host_ip:
    description: Local images only. Only the images on the host with this private IP address.
    type: str
  host_ids:
    description:
      - Local images only. Only the rows of the hosts with these HSS host IDs (exact match).
      - When they are few against the fleet (the first page of the listing tells how many pages a walk would take),
        each host's rows are listed with the C(host_id) filter; else the fleet's rows are walked once.
      - V([]) lists nothing. Cannot be combined with O(host_id).
    type: list
    elements: str
  local_image_type:
    description: Local images only. V(swr_image) for images pulled from SWR, V(other_image) for the others.
    type: str
    choices: [swr_image, other_image]
  namespace:
    description: Registry images only. Only images of this namespace.
    type: str
  registry_name:
    description: Registry images only. Only images of this registry.
    type: str
  registry_image_type:
    description: Registry images only. Only images of this kind (C(image_type) of ListRegistryImages).
    type: str
    choices: [private_image, shared_image, instance_image, harbor, jfrog]
  latest_version:
    description: Registry images only. Only the latest version of each image.
    type: bool
  vulnerabilities:
    description:
      - Add the vulnerabilities of each image (local images ListGeneralImageVuls, ListVulAffectImages and
        ListVulAffectImageApps; registry images ListImageVulnerabilities and ListGeneralImageVuls).
    type: bool
    default: false
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.INFO_MODULE
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
notes:
  - The APIs give no fixed version. RV(images[].findings[].fixed_version) is read from the
    solution text (for example C(Upgrade openssl to 3.0.8-r0 or later.)) and is V(null) when the text names none.
    RV(images[].findings[].fixable) is true when a fixed version is known, or when there is a solution text
    that does not say that no fix exists.
  - The severity of a vulnerability is on the scale of the collection, the same on HSS and TCSS, HSS's four-level
    rating (ListGeneralImageVuls C(severity_level) Critical, High, Medium, Low); where HSS gives no rating, the
    severity of its CVSS v3 score (9.0 and more V(critical), 7.0 V(high), 4.0 V(medium), else V(low)). A registry
    image's vulnerability that ListGeneralImageVuls does not list keeps ListImageVulnerabilities' repair necessity
    (C(immediate_repair) V(high), also for a critical one; C(delay_repair) V(medium); C(not_needed_repair)
    V(low)). RV(images[].findings[].severity_source) says which.
  - The image's own RV(images[].severity) is HSS's rating of the image (Security, Low, Medium, High), so a
    critical vulnerability makes an image V(high) there; its findings tell V(critical) apart.
  - Only unhandled vulnerabilities are read (the APIs require the choice); one ignored or handled in the HSS
    console is not reported.
  - A local image's vulnerability found in several packages is one finding per package; one finding without a
    package (V(null)) when ListVulAffectImageApps names none.
seealso:
  - module: cloudsec.image_scan.hss_local_image_scan
  - module: cloudsec.image_scan.hss_image_scan
  - module: cloudsec.image_scan.hss_host_info
  - name: ListImageLocal API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListImageLocal.html
  - name: ListRegistryImages API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListRegistryImages.html
  - name: ListImageVulnerabilities API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListImageVulnerabilities.html
  - name: ListGeneralImageVuls API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListGeneralImageVuls.html
  - name: ListVulAffectImages API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListVulAffectImages.html
  - name: ListVulAffectImageApps API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListVulAffectImageApps.html
"""

EXAMPLES = r"""
- name: The local images of one host with their vulnerabilities
  cloudsec.image_scan.hss_image_info:
    host_name: node-01
    vulnerabilities: true
  delegate_to: localhost
  register: node_images

- name: Registry images of the namespace shop that have vulnerabilities
  cloudsec.image_scan.hss_image_info:
    image_type: registry
    namespace: shop
    has_vul: true
  delegate_to: localhost
  register: shop_images

- name: Every local image, once for the whole play
  cloudsec.image_scan.hss_image_info:
  delegate_to: localhost
  run_once: true
  register: fleet_images
"""

RETURN = r"""
images:
  description: The images, normalised; V([]) when there is none.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Image name (for registry images without the namespace).
      type: str
      sample: nginx
    version:
      description: Image version (tag).
      type: str
      sample: "1.25"
    id:
      description: Image ID.
      type: str
      sample: 3ae8cd28-39cb-4764-8196-013aa3a56bab
    digest:
      description: Image digest.
      type: str
      sample: "sha256:79430374b41bbb57fbd277784428f6eb26af6e4f82a1ba72f208fb0069c8994c"
    host:
      description: Local images, the host of this row (C(id), C(name), C(ip); C(ip) is V(null) when HSS does not
        say); V(null) for registry images.
      type: dict
      sample: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}
    hosts:
      description: The same host in a list (V([]) for registry images), as for the other cloud.
      type: list
      elements: dict
      sample: [{id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}]
    image_type:
      description: V(local) or V(registry).
      type: str
      sample: local
    registry:
      description:
        - Registry images, C(record_id) (the record ID that O(cloudsec.image_scan.hss_image_scan#module:images)
          expects as V(id)), C(registry_id), C(registry_name), C(registry_type), C(namespace), C(image_type) and
          C(instance_id); V(null) for local images.
      type: dict
      sample: {record_id: 1001, registry_id: reg-f1698165c2a1, registry_name: swr-cn-north-4, registry_type: SwrPrivate,
               namespace: shop, image_type: private_image, instance_id: null}
    scan_status:
      description: One of V(unscanned), V(waiting), V(scanning), V(success), V(failed), V(download_failed),
        V(image_oversized), or V(unscannable) when HSS says it will not scan the image (C(non_scan_reason) of
        ListImageLocal, C(scannable=false) of ListRegistryImages; the reason in RV(images[].unscannable_reason)).
      type: str
      sample: success
    unscannable_reason:
      description: Only for an image HSS will not scan (C(scan_status=unscannable)), the cloud's reason.
      returned: when HSS will not scan the image
      type: str
      sample: "no image-scan licence is bound to this image"
    non_scan_reason:
      description: Local images, the C(non_scan_reason) of ListImageLocal (V(null) when HSS can scan the image).
      returned: for local images
      type: str
      sample: null
    scannable:
      description: Registry images, the C(scannable) of ListRegistryImages.
      returned: for registry images that report it
      type: bool
      sample: true
    failure_reason:
      description: Why the last scan failed, or V(null).
      type: str
      sample: null
    latest_scan_time:
      description: End of the last scan, ISO 8601 UTC, or V(null).
      type: str
      sample: "2025-01-02T03:04:05Z"
    latest_scan_time_local:
      description:
        - C(latest_scan_time) on the clock of the host the module runs on, to measure the scan's age with (the gate of
          the role does). HSS's clock may differ from ours; the offset is measured from the C(Date) of its answers
          (bounded so that the age is never short) and is at least what the newest scan time is in our future.
        - C(latest_scan_time) stays HSS's own time.
      type: str
      sample: "2025-01-02T03:04:05Z"
    severity:
      description: V(high), V(medium), V(low), V(none) (no risk found) or V(unknown) (not scanned).
      type: str
      sample: high
    vulnerability_count:
      description: Number of vulnerabilities.
      type: int
      sample: 9
    counts:
      description: C(vulnerabilities), C(unsafe_settings), C(malicious_files); local images also C(components),
        C(containers) and C(hosts).
      type: dict
      sample: {vulnerabilities: 9, unsafe_settings: 1, malicious_files: 0, components: 142, containers: 2, hosts: 11}
    findings:
      description: With O(vulnerabilities=true), the vulnerabilities (V([]) for an image without any).
      returned: when O(vulnerabilities=true)
      type: list
      elements: dict
      contains:
        id:
          description: Vulnerability ID.
          type: str
          sample: CVE-2023-44487
        name:
          description: The name of the vulnerability (ListGeneralImageVuls), or V(null).
          type: str
          sample: libnghttp2 vulnerability
        severity:
          description: V(critical), V(high), V(medium), V(low) or V(unknown), on the scale of the collection (see the
            notes).
          type: str
          sample: high
        severity_source:
          description: Where the severity comes from, V(rating) (HSS's four-level rating), V(cvss_v3) (no rating, the
            CVSS v3 score) or V(repair_necessity) (a registry image's vulnerability ListGeneralImageVuls does not
            list; V(high) may then be critical).
          type: str
          sample: rating
        cvss_v3:
          description: The highest CVSS score HSS gives the vulnerability, or V(null).
          type: float
          sample: 7.5
        package:
          description: The affected package or application (local images ListVulAffectImageApps C(app_name), registry
            images ListImageVulnerabilities C(app_name)), or V(null) when HSS names none.
          type: str
          sample: libnghttp2-14
        version:
          description: Its installed version (several found in one image are joined with C(, ), sorted), or V(null).
          type: str
          sample: 1.52.0-1
        fixed_version:
          description: The version that fixes it, read from the solution text, or V(null).
          type: str
          sample: 1.52.0-1+deb12u1
        fixable:
          description: Whether a fix is known.
          type: bool
          sample: true
        description:
          description: Description of the vulnerability.
          type: str
          sample: HTTP/2 rapid reset can cause a denial of service.
        url:
          description: Reference URL.
          type: str
          sample: https://nvd.nist.gov/vuln/detail/CVE-2023-44487
    severity_counts:
      description: With O(vulnerabilities=true), the number of findings per severity.
      returned: when O(vulnerabilities=true)
      type: dict
      sample: {critical: 0, high: 4, medium: 3, low: 2, unknown: 0}
fleet_walked:
  description: With O(host_ids), whether the rows of the whole fleet were listed (V(false) when host by host).
  returned: when O(host_ids) is given
  type: bool
  sample: false
raw:
  description: The API answers.
  returned: always
  type: dict
  contains:
    images:
      description: The ListImageLocal or ListRegistryImages rows of the returned images.
      type: list
      elements: dict
      sample: []
    vulnerabilities:
      description: With O(vulnerabilities=true), registry images, the ListImageVulnerabilities rows per image ID.
      type: dict
      returned: when read
      sample: {}
    local_vulnerabilities:
      description: With O(vulnerabilities=true) and local images with vulnerabilities, the ListGeneralImageVuls rows
        (image type C(local)).
      type: list
      elements: dict
      returned: when read
      sample: []
    local_apps:
      description: With O(vulnerabilities=true), the ListVulAffectImageApps rows per C(<image id> <vulnerability id>).
      type: dict
      returned: when read
      sample: {}
    registry_vulnerabilities:
      description: With O(vulnerabilities=true) and registry images with vulnerabilities, the ListGeneralImageVuls rows
        (image type C(registry)).
      type: list
      elements: dict
      returned: when read
      sample: []
error:
  description: On an API failure, its details (C(error_code), C(error_msg), C(request_id), C(status), C(operation),
    C(cloud), C(ambiguous)).
  returned: on API failure
  type: dict
  sample: {error_code: APIGW.0301, error_msg: Incorrect IAM authentication information, request_id: 0a1b2c,
           status: 401, operation: ListImageLocal, cloud: hss, ambiguous: false}
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_module import HssModule
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_ops import list_images

LOCAL_ONLY = ("host_name", "host_id", "host_ip", "host_ids", "local_image_type")
REGISTRY_ONLY = ("namespace", "registry_name", "registry_image_type", "latest_version")


def argument_spec():
    return dict(
        image_type=dict(type="str", default="local", choices=["local", "registry"]),
        image_ids=dict(type="list", elements="str"),
        image_name=dict(type="str"),
        image_version=dict(type="str"),
        scan_status=dict(type="list", elements="str", choices=list(_scan.IMAGE_STATUS_CHOICES)),
        has_vul=dict(type="bool"),
        host_name=dict(type="str"),
        host_id=dict(type="str"),
        host_ip=dict(type="str"),
        host_ids=dict(type="list", elements="str"),
        local_image_type=dict(type="str", choices=list(hs.LOCAL_IMAGE_TYPES)),
        namespace=dict(type="str"),
        registry_name=dict(type="str"),
        registry_image_type=dict(type="str", choices=list(hs.REGISTRY_IMAGE_TYPES)),
        latest_version=dict(type="bool"),
        vulnerabilities=dict(type="bool", default=False),
    )


def build_query(params):
    """The H5/H6 filters of the options; ``ValueError`` for an option of the other image type."""
    image_type = params["image_type"]
    other = REGISTRY_ONLY if image_type == "local" else LOCAL_ONLY
    wrong = [name for name in other if params[name] is not None]
    if wrong:
        raise ValueError("%s appl%s only to image_type=%s" % (
            ", ".join(wrong), "ies" if len(wrong) == 1 else "y", "registry" if image_type == "local" else "local"))
    query = dict(image_name=params["image_name"], image_version=params["image_version"], has_vul=params["has_vul"])
    if image_type == "local":
        query.update(host_name=params["host_name"], host_id=params["host_id"], host_ip=params["host_ip"],
                     local_image_type=params["local_image_type"])
    else:
        query.update(namespace=params["namespace"], registry_name=params["registry_name"],
                     image_type=params["registry_image_type"], latest_version=params["latest_version"])
    return query


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[("host_ids", "host_id")])
    p = module.params
    result = dict(changed=False, images=[], raw=dict(images=[]))

    def run():
        listing = {}
        result["images"] = list_images(module.client, p["image_type"], build_query(p), statuses=p["scan_status"],
                                       host_name=p["host_name"], image_ids=p["image_ids"],
                                       findings=p["vulnerabilities"], raw=result["raw"], host_ids=p["host_ids"],
                                       listing=listing)
        if p["host_ids"] is not None:
            result["fleet_walked"] = listing["fleet_walked"]
        return result

    module.execute(run, result)


if __name__ == "__main__":
    main()
