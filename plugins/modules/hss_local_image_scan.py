#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hss_local_image_scan
short_description: Scan the local container images of Huawei Cloud HSS hosts
version_added: 0.1.0
description:
  - Scans local (node) container images with the HSS API BatchScanLocalImage and follows each image through the
    C(scan_status) that ListImageLocal reports, since this API creates no task.
  - The targeted images are O(images), every image that O(query) selects (O(all_images=true)), or the images on
    one host (O(host_name), O(host_id) or O(host_ip)), optionally narrowed by O(query) or O(images).
  - The module is idempotent. An image that is being scanned, or whose last scan ended within O(max_age), is
    not scanned again, and an image that failed because it is too large (C(image_oversized)) is skipped until
    O(force=true). When nothing needs a scan, nothing is sent and RV(images_skipped) gives the reason for each
    image.
  - HSS scans an image on every host that holds it. ListImageLocal lists one row per image and host, so
    RV(images) and the plan have one entry per image and host.
  - Images are sent in batches of O(batch_size). All batches are sent first, then the module waits once for all
    of them. A batch that fails in a way that it may have been applied is sent again only for the images that
    are not being scanned.
author:
  - cloudsec.image_scan contributors (@cloudsec)
options:
  images:
    description:
      - The local images to scan.
      - Each element is an image ID (a string), or a dictionary with V(image_id), V(image_digest), or
        V(image_name) and V(image_version).
      - An element without these keys, or with another key, fails the task before any request is sent.
      - An image that HSS does not list (on the host, when a host is given) fails the task before a scan is
        started.
      - An empty list scans nothing.
    type: list
    elements: raw
  all_images:
    description:
      - Scan every local image that O(query) selects (C(operate_all)).
      - Mutually exclusive with O(images).
    type: bool
    default: false
  query:
    description:
      - Filter that selects the images with O(all_images=true) or on the host given by O(host_name), O(host_id)
        or O(host_ip).
      - "Keys: V(image_name), V(image_version), V(local_image_type) (V(swr_image), V(other_image)), V(scan_status)
        (V(unscan), V(success), V(scanning), V(failed), V(download_failed), V(image_oversized)), V(image_size)
        (bytes), V(start_latest_update_time), V(end_latest_update_time), V(start_latest_scan_time),
        V(end_latest_scan_time) (epoch milliseconds)."
      - Any other key or a value of the wrong type fails the task before any request is sent.
    type: dict
  host_name:
    description:
      - Scan the images on the host of this name (exact match).
    type: str
  host_id:
    description:
      - Scan the images on the host of this HSS host ID.
    type: str
  host_ip:
    description:
      - Scan the images on the host of this private IP address.
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
  batch_size:
    description:
      - Most images sent in one BatchScanLocalImage call.
    type: int
    default: 100
extends_documentation_fragment:
  - cloudsec.image_scan.hss
  - cloudsec.image_scan.connection
  - cloudsec.image_scan.wait
  - cloudsec.image_scan.attributes
  - cloudsec.image_scan.attributes.CHECK_MODE
  - cloudsec.image_scan.attributes.IDEMPOTENT
  - cloudsec.image_scan.attributes.ACTIONGROUP_HSS
notes:
  - While waiting, the module lists only the images that are waiting or being scanned (ListImageLocal with
    C(scan_status=waiting_for_scan) and C(scan_status=scanning)) and stops when none of its images is among them;
    then it lists the targeted images once more for RV(images).
  - With O(wait=true) the module also waits for the targeted images that were already being scanned, so that
    after a wait time-out (the module fails with the images still in progress in RV(images_pending)), running it
    again with the same options waits further without scanning them again.
seealso:
  - module: cloudsec.image_scan.hss_image_scan
  - module: cloudsec.image_scan.hss_image_info
  - module: cloudsec.image_scan.hss_host_info
  - name: BatchScanLocalImage API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/BatchScanLocalImage.html
  - name: ListImageLocal API
    description: Huawei Cloud HSS API reference.
    link: https://support.huaweicloud.com/intl/en-us/api-hss2.0/ListImageLocal.html
"""

EXAMPLES = r"""
- name: Scan the images of one host unless scanned in the last 12 hours
  cloudsec.image_scan.hss_local_image_scan:
    host_name: node-01
    max_age: 12h
  delegate_to: localhost
  register: scan

- name: Scan images by ID, name or digest, without waiting
  cloudsec.image_scan.hss_local_image_scan:
    images:
      - 3ae8cd28-39cb-4764-8196-013aa3a56bab
      - image_name: redis
        image_version: "7.2"
      - image_digest: "sha256:79430374b41bbb57fbd277784428f6eb26af6e4f82a1ba72f208fb0069c8994c"
    wait: false
  delegate_to: localhost

- name: Scan every local image that was never scanned, 50 per call
  cloudsec.image_scan.hss_local_image_scan:
    all_images: true
    query:
      scan_status: unscan
    batch_size: 50
    wait_timeout: 3600
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
images_triggered:
  description:
    - The targeted images (one entry per image and host) that the scan covers, or would cover in check mode,
      each with C(id), C(name), C(version), C(digest), C(host) (C(id), C(name), C(ip)), C(scan_status) and
      C(latest_scan_time) as listed before the scan, and the C(reason) it is scanned.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3ae8cd28-39cb-4764-8196-013aa3a56bab
      name: nginx
      version: "1.25"
      digest: "sha256:79430374b41bbb57fbd277784428f6eb26af6e4f82a1ba72f208fb0069c8994c"
      host: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}
      scan_status: unscanned
      latest_scan_time: null
      reason: never scanned
images_skipped:
  description: The targeted images that are not scanned, with the same keys and the C(reason) why not.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 7c1d0e2f-1a2b-4c3d-8e4f-5a6b7c8d9e0f
      name: ml/trainer
      version: "2024.1"
      digest: "sha256:0d3c1e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d"
      host: {id: 9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d, name: node-07, ip: null}
      scan_status: image_oversized
      latest_scan_time: "2025-01-02T03:04:05Z"
      reason: "image_oversized: the image is too large to scan; use force to retry"
images:
  description:
    - The targeted images, normalised (one entry per image and host). After a wait, their final state;
      otherwise their state as listed before the scan.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Image name.
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
      description: The host of this row, C(id), C(name) and C(ip) (V(null) when HSS does not say).
      type: dict
      sample: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}
    hosts:
      description: The same host in a list, as for the other cloud.
      type: list
      elements: dict
      sample: [{id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}]
    image_type:
      description: Always V(local).
      type: str
      sample: local
    registry:
      description: Always V(null) for local images.
      type: dict
      sample: null
    scan_status:
      description: One of V(unscanned), V(waiting), V(scanning), V(success), V(failed), V(image_oversized).
      type: str
      sample: success
    failure_reason:
      description: Why the last scan failed (C(scan_failed_desc)), or V(null).
      type: str
      sample: null
    latest_scan_time:
      description: End of the last scan, ISO 8601 UTC, or V(null).
      type: str
      sample: "2025-01-02T03:04:05Z"
    severity:
      description: V(critical), V(high), V(medium), V(low), V(none) (no risk found) or V(unknown) (not scanned).
      type: str
      sample: high
    vulnerability_count:
      description: Number of vulnerabilities.
      type: int
      sample: 9
    counts:
      description: C(vulnerabilities), C(unsafe_settings), C(malicious_files), C(components), C(containers), C(hosts).
      type: dict
      sample: {vulnerabilities: 9, unsafe_settings: 1, malicious_files: 0, components: 142, containers: 2, hosts: 11}
images_pending:
  description: On a wait time-out, the images still waiting or being scanned, each with C(id) and C(host).
  returned: on wait time-out
  type: list
  elements: dict
  sample: [{id: 3ae8cd28-39cb-4764-8196-013aa3a56bab, host: {id: 20233fd6-ebfd-4daf-82bc-a5cbfa9837d7, name: node-01, ip: null}}]
progress:
  description: On a wait time-out, C(total) images triggered, C(done) and C(in_progress).
  returned: on wait time-out
  type: dict
  sample: {total: 4, done: 3, in_progress: 1}
raw:
  description: The ListImageLocal rows of the targeted images (final state after a wait).
  returned: always
  type: dict
  contains:
    images:
      description: The rows.
      type: list
      elements: dict
      sample: []
error:
  description: On an API failure, its details (C(error_code), C(error_msg), C(request_id), C(status), C(operation),
    C(cloud), C(ambiguous)).
  returned: on API failure
  type: dict
  sample: {error_code: APIGW.0308, error_msg: The throttling threshold has been reached, request_id: 0a1b2c,
           status: 429, operation: BatchScanLocalImage, cloud: hss, ambiguous: false}
"""

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_scan as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import HssModule, wait_argument_spec

#: Images given by name are listed with one filtered call each up to this many.
FILTERED_LISTING_MAX = 10
HOST_OPTIONS = ("host_name", "host_id", "host_ip")
VOLATILE_KEYS = ("scan_status", "start_latest_scan_time", "end_latest_scan_time")


def argument_spec():
    spec = dict(
        images=dict(type="list", elements="raw"),
        all_images=dict(type="bool", default=False),
        query=dict(type="dict"),
        host_name=dict(type="str"),
        host_id=dict(type="str"),
        host_ip=dict(type="str"),
        max_age=dict(type="str"),
        force=dict(type="bool", default=False),
        batch_size=dict(type="int", default=100),
    )
    spec.update(wait_argument_spec())
    return spec


def _ref_key(ref):
    return (ref.get("id"), (ref.get("host") or {}).get("id"))


class LocalImageScan(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.result = dict(changed=False, images_triggered=[], images_skipped=[], images=[], raw=dict(images=[]))
        self.host_filters = dict((name, self.params[name]) for name in HOST_OPTIONS if self.params[name])

    def check_input(self):
        p = self.params
        try:
            hs.check_wait(p)
            if p["batch_size"] < 1:
                raise ValueError("batch_size must be 1 or more, got %s" % p["batch_size"])
            self.max_age = hs.check_max_age(p["max_age"])
            if p["images"] is not None and p["all_images"]:
                raise ValueError("images and all_images=true are mutually exclusive")
            if p["query"] and not (p["all_images"] or self.host_filters):
                raise ValueError("query selects images only with all_images=true or a host (host_name, host_id, host_ip)")
            if p["images"] is None and not p["all_images"] and not self.host_filters:
                raise ValueError("one of images, all_images=true, host_name, host_id or host_ip is required")
            self.query = hs.check_query(p["query"], hs.H3_QUERY_FIELDS)
            self.images = hs.check_local_images(p["images"])
        except ValueError as exc:
            self.module.fail_json(msg=str(exc))

    # -- listing -----------------------------------------------------------------------------

    def on_host(self, row):
        name = self.params["host_name"]
        return not name or row.get("host_name") == name

    def list_rows(self, final=False):
        """The H5 rows of the targeted images (one walk, or one filtered walk per named image)."""
        client = self.module.client
        if self.params["images"] is None:
            query = self.query
            if final:
                # The scan changes the status and scan time of the images: select them without those.
                query = dict((key, value) for key, value in query.items() if key not in VOLATILE_KEYS)
            filters, check = hs.listing_filter(query, "local")
            filters.update(self.host_filters)
            return [row for row in hs.walk(client, "list_image_local", **filters) if check(row) and self.on_host(row)]
        if not self.images:
            return []
        by_name = all(spec.get("image_name") and spec.get("image_version") and not spec.get("image_id")
                      and not spec.get("image_digest") for spec in self.images)
        if by_name and len(self.images) <= FILTERED_LISTING_MAX:
            listed = []
            for spec in self.images:
                listed.extend(hs.walk(client, "list_image_local", image_name=spec["image_name"],
                                      image_version=spec["image_version"], **self.host_filters))
        else:
            listed = hs.walk(client, "list_image_local", **self.host_filters)
        rows, missing, seen = [], [], set()
        for spec in self.images:
            found = [row for row in listed if hs.local_image_matches(spec, row) and self.on_host(row)]
            if not found:
                missing.append(hs.describe_local(spec))
            for row in found:
                if hs.row_key(row) not in seen:
                    seen.add(hs.row_key(row))
                    rows.append(row)
        if missing and not final:
            where = " on the host %s" % ", ".join("%s=%s" % item for item in sorted(self.host_filters.items())) \
                if self.host_filters else ""
            self.module.fail_json(msg="HSS lists no local image%s for images: %s" % (where, "; ".join(missing)),
                                  **self.result)
        return rows

    # -- triggering --------------------------------------------------------------------------

    def send(self, body, image_ids):
        """Send one H3 call; after an ambiguous failure, send it again only for the images that
        are not being scanned."""
        client = self.module.client
        for attempt in (1, 2):
            try:
                client.batch_scan_local_image(body)
                self.result["changed"] = True
                return
            except ApiError as exc:
                if not exc.ambiguous:
                    raise
                busy = set(key[0] for key in hs.in_progress_keys(client, **self.host_filters))
                if image_ids is None:
                    if busy:
                        self.result["changed"] = True
                        return
                else:
                    left = [image_id for image_id in image_ids if image_id not in busy]
                    if len(left) < len(image_ids):
                        self.result["changed"] = True
                    if not left:
                        return
                    image_ids = left
                    body = hs.h3_body([{"image_id": image_id} for image_id in left])
                if attempt == 2:
                    self.module.fail_json(msg="%s; the images were not being scanned after two attempts" % exc,
                                          error=exc.to_dict(), **self.result)

    def trigger(self, to_scan):
        p = self.params
        if p["all_images"] and not self.host_filters and (p["force"] or not self.result["images_skipped"]):
            self.send(hs.h3_body(operate_all=True, query=self.query), None)
            return
        image_ids = []
        for row in to_scan:
            if row.get("image_id") not in image_ids:
                image_ids.append(row.get("image_id"))
        for batch in _scan.batches(image_ids, p["batch_size"]):
            self.send(hs.h3_body([{"image_id": image_id} for image_id in batch]), batch)

    # -- waiting -----------------------------------------------------------------------------

    def awaited(self):
        """The images the module waits for: those it triggered and those of its targets that
        were already being scanned (so that a second run resumes waiting for them)."""
        refs = list(self.result["images_triggered"])
        refs.extend(ref for ref in self.result["images_skipped"] if ref.get("scan_status") in _scan.IMAGE_IN_PROGRESS)
        return refs

    def wait(self, refs):
        p = self.params
        ours = set(_ref_key(ref) for ref in refs)
        client = self.module.client
        try:
            _scan.wait_for(lambda: ours & hs.in_progress_keys(client, **self.host_filters), lambda busy: not busy,
                           p["wait_timeout"], p["wait_sleep"], clock=hs.CLOCK, sleeper=hs.SLEEP)
        except _scan.WaitTimeout as exc:
            pending = [ref for ref in refs if _ref_key(ref) in exc.last]
            self.module.fail_json(
                msg="timed out after %ss waiting for %d of %d images to be scanned; run again to wait further" % (
                    p["wait_timeout"], len(pending), len(ours)),
                images_pending=[dict(id=ref["id"], host=ref["host"]) for ref in pending],
                progress=dict(total=len(ours), done=len(ours) - len(pending), in_progress=len(pending)),
                **self.result)

    def set_images(self, rows):
        self.result["raw"]["images"] = rows
        self.result["images"] = [hs.normalise_image(row, "local") for row in rows]

    def run(self):
        self.check_input()
        p = self.params
        try:
            rows = self.list_rows()
            self.set_images(rows)
            to_scan, triggered, skipped = hs.plan_grouped(rows, "local", self.max_age, p["force"])
            self.result["images_triggered"] = triggered
            self.result["images_skipped"] = skipped
            if self.module.check_mode:
                self.result["changed"] = bool(to_scan)
                self.module.exit_json(**self.result)
            if to_scan:
                self.trigger(to_scan)
            refs = self.awaited()
            if p["wait"] and refs:
                self.wait(refs)
                targeted = set(hs.row_key(row) for row in rows)
                self.set_images([row for row in self.list_rows(final=True) if hs.row_key(row) in targeted])
        except ApiError as exc:
            self.module.fail_api_error(exc, **self.result)
        self.module.exit_json(**self.result)


def main():
    module = HssModule(argument_spec=argument_spec(), supports_check_mode=True)
    LocalImageScan(module).run()


if __name__ == "__main__":
    main()
