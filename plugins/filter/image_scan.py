# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters the image_scan role uses to turn one fleet-wide listing into per-host facts."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

HOST_SCANNED = "scanned"
HOST_NO_IMAGES = "no_images"
HOST_NOT_ENROLLED = "not_enrolled"
HOST_AGENT_OFFLINE = "agent_offline"

_ONLINE = ("online", "running", "installed_online")


def _norm(value):
    return to_text(value).strip().lower() if value not in (None, "") else ""


def _get(mapping, key, default=None):
    try:
        value = mapping[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


def image_scan_hosts(play_hosts, hostvars):
    """Cloud identity of each play host: inventory variables first, then gathered facts."""
    identities = []
    for host in play_hosts:
        hv = _get(hostvars, host, {})
        facts = _get(hv, "ansible_facts", {}) or {}
        default_ipv4 = _get(facts, "default_ipv4", {}) or {}
        identities.append({
            "inventory_hostname": to_text(host),
            "id": to_text(_get(hv, "image_scan_host_id", "")),
            "name": to_text(_get(hv, "image_scan_host_name", "") or _get(facts, "hostname", "") or host),
            "ip": to_text(_get(hv, "image_scan_host_ip", "") or _get(default_ipv4, "address", "")),
        })
    return identities


def _index_cloud_hosts(cloud_hosts):
    by_id, by_name, by_ip = {}, {}, {}
    for cloud_host in cloud_hosts or []:
        if _norm(cloud_host.get("id")):
            by_id[_norm(cloud_host.get("id"))] = cloud_host
        if _norm(cloud_host.get("name")):
            by_name.setdefault(_norm(cloud_host.get("name")), cloud_host)
        if _norm(cloud_host.get("ip")):
            by_ip.setdefault(_norm(cloud_host.get("ip")), cloud_host)
    return by_id, by_name, by_ip


def _find_cloud_host(identity, index):
    by_id, by_name, by_ip = index
    if _norm(identity.get("id")):
        return by_id.get(_norm(identity["id"]))
    if _norm(identity.get("name")) and _norm(identity["name"]) in by_name:
        return by_name[_norm(identity["name"])]
    if _norm(identity.get("ip")):
        return by_ip.get(_norm(identity["ip"]))
    return None


def _image_hosts(image):
    hosts = list(image.get("hosts") or [])
    if image.get("host"):
        hosts.append(image["host"])
    return [h for h in hosts if h and _norm(h.get("id"))]


def _image_host_ids(image):
    return set(_norm(h.get("id")) for h in _image_hosts(image))


def image_scan_match(identities, cloud_hosts, images):
    """Match play hosts with the cloud's hosts and pick the images to consider.

    Returns ``{"hosts": {inventory_hostname: {"status", "cloud_host"}}, "image_ids": [...],
    "image_hosts": {image_id: [host, ...]}}``: a host is ``not_enrolled`` when the cloud does not
    know it, ``agent_offline`` when its agent is not online, else ``scanned``; ``image_ids`` are
    the distinct ids of the images on the hosts that can be scanned, in listing order;
    ``image_hosts`` keeps where the listed images are, so results collected later without host
    information can still be grouped by host.
    """
    index = _index_cloud_hosts(cloud_hosts)
    hosts = {}
    online_ids = set()
    for identity in identities or []:
        cloud_host = _find_cloud_host(identity, index)
        if cloud_host is None:
            status = HOST_NOT_ENROLLED
        elif _norm(cloud_host.get("agent_status")) not in _ONLINE:
            status = HOST_AGENT_OFFLINE
        else:
            status = HOST_SCANNED
            online_ids.add(_norm(cloud_host.get("id")))
        hosts[identity["inventory_hostname"]] = {"status": status, "cloud_host": cloud_host}
    image_ids = []
    image_hosts = {}
    for image in images or []:
        image_id = image.get("id")
        known = image_hosts.setdefault(image_id, [])
        known.extend(h for h in _image_hosts(image) if h not in known)
        if image_id in image_ids or not (_image_host_ids(image) & online_ids):
            continue
        image_ids.append(image_id)
    return {"hosts": hosts, "image_ids": image_ids, "image_hosts": image_hosts}


def _image_counts(image):
    """Per-severity counts of one image: from its findings when collected, else from the
    per-severity counts the cloud gives (TCSS), else empty."""
    if image.get("severity_counts"):
        return dict(image["severity_counts"])
    counts = image.get("counts") or {}
    return dict((k, int(counts.get(k) or 0)) for k in _scan.COUNTED_SEVERITIES if k in counts)


def _offending(image, threshold, ignore_unfixed):
    """Whether an image breaks the gate, and the severity that does."""
    rank = _scan.severity_rank(threshold)
    if ignore_unfixed:
        worst = _scan.worst_severity(
            f.get("severity", "unknown") for f in image.get("findings") or [] if f.get("fixable"))
        if worst == "unknown":
            return False, worst
        return _scan.severity_rank(worst) >= rank, worst
    words = [image.get("severity") or "unknown"]
    words.extend(k for k, v in _image_counts(image).items() if v)
    worst = _scan.worst_severity(w for w in words if w != "unknown")
    return _scan.severity_rank(worst) >= rank, worst


def image_scan_facts(match, images, provider, fail_on="critical", ignore_unfixed=False, scanned_at=None):
    """The ``image_scan`` fact of every play host, keyed by inventory hostname."""
    if fail_on not in _scan.GATE_LEVELS:
        raise AnsibleFilterError("fail_on must be one of %s, got %r" % (", ".join(_scan.GATE_LEVELS), fail_on))
    by_host = {}
    listed_hosts = (match or {}).get("image_hosts") or {}
    for image in images or []:
        if not _image_hosts(image) and listed_hosts.get(image.get("id")):
            # Collected without host information: the hosts the listing saw it on.
            image = dict(image, hosts=list(listed_hosts[image.get("id")]))
        for host_id in _image_host_ids(image):
            by_host.setdefault(host_id, []).append(image)
    facts = {}
    for inventory_hostname, entry in (match or {}).get("hosts", {}).items():
        cloud_host = entry.get("cloud_host") or {}
        status = entry.get("status")
        host_images = []
        if status == HOST_SCANNED:
            seen = set()
            for image in by_host.get(_norm(cloud_host.get("id")), []):
                if image.get("id") not in seen:
                    seen.add(image.get("id"))
                    host_images.append(image)
            if not host_images:
                status = HOST_NO_IMAGES
        summary = dict.fromkeys(_scan.COUNTED_SEVERITIES, 0)
        summary.update(images_total=len(host_images), images_scanned=0, images_failed=0, images_pending=0)
        offenders = []
        worst = "none"
        for image in host_images:
            scan_status = image.get("scan_status")
            if scan_status == _scan.IMAGE_SUCCESS:
                summary["images_scanned"] += 1
            elif scan_status in _scan.IMAGE_FINISHED_BAD:
                summary["images_failed"] += 1
            else:
                summary["images_pending"] += 1
            for key, value in _image_counts(image).items():
                summary[key] = summary.get(key, 0) + int(value or 0)
            worst = _scan.worst_severity([worst, image.get("severity") or "none"])
            if fail_on != "none":
                bad, image_worst = _offending(image, fail_on, ignore_unfixed)
                if bad:
                    offenders.append({
                        "id": image.get("id"), "name": image.get("name"), "version": image.get("version"),
                        "severity": image_worst,
                    })
        summary["worst_severity"] = worst
        facts[inventory_hostname] = {
            "provider": provider,
            "status": status,
            "scanned_at": scanned_at,
            "cloud_host": cloud_host or None,
            "images": host_images,
            "summary": summary,
            "passed": not offenders,
            "offending_images": offenders,
            "gate": {"fail_on": fail_on, "ignore_unfixed": bool(ignore_unfixed)},
        }
    return facts


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_hosts": image_scan_hosts,
            "image_scan_match": image_scan_match,
            "image_scan_facts": image_scan_facts,
        }
