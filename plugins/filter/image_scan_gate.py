# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that check the gate's settings before any cloud call: exceptions (with expiry), count
thresholds, a baseline of an earlier run, and the cost guard on what a run would scan."""

from __future__ import annotations

import datetime
import fnmatch

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

try:
    from ansible.utils.display import Display
except ImportError:  # pragma: no cover - always there on a controller
    Display = None


#: Keys of an exception entry, and which are required.
EXCEPTION_KEYS = ("id", "images", "hosts", "until", "reason", "owner")
EXCEPTION_REQUIRED = ("id", "until", "reason")

#: Keys of image_scan_max_findings.
THRESHOLD_KEYS = ("critical", "high", "medium", "low", "unknown")

#: The value of image_scan_baseline that reads each host's cached image_scan fact.
BASELINE_FACT_CACHE = "fact_cache"


def _text(value):
    return "" if value is None else to_text(value)


def unset_if_empty(value):
    """``None`` for a value a template left empty: older ansible-core renders ``{{ none }}`` as the
    text ``None`` (or ``""``) where newer ones keep ``None``."""
    if isinstance(value, str) and value.strip() in ("", "None"):
        return None
    return value


def image_label(image):
    """``name:version`` of an image, ``name`` when it has no version (untagged), else its id."""
    name = _text(image.get("name")) or _text(image.get("id")) or "?"
    version = _text(image.get("version"))
    return "%s:%s" % (name, version) if version else name


# -- time ----------------------------------------------------------------------------------------


def parse_now(now):
    """A timezone-aware UTC datetime for ``now`` (ISO text, a datetime, or ``None``: the clock)."""
    if now is None or now == "":
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(now, datetime.datetime):
        return now if now.tzinfo else now.replace(tzinfo=datetime.timezone.utc)
    parsed = _parse_datetime(_text(now))
    if parsed is None:
        raise AnsibleFilterError("now must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got %r" % (now,))
    return parsed


def _parse_datetime(text):
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _parse_until(value):
    """``(end, text)``: the first instant the exception no longer applies, and its text.

    A date (``2026-12-31``) applies through that whole day, UTC; a time applies until that instant.
    Returns ``None`` when ``value`` is neither.
    """
    if isinstance(value, datetime.datetime):
        end = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
        return end, end.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        start = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
        return start + datetime.timedelta(days=1), value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            return None
        return _parse_until(day)
    end = _parse_datetime(text) if "T" in text or " " in text else None
    if end is None:
        return None
    return end, text


# -- exceptions ----------------------------------------------------------------------------------


def _patterns(entry, key, where):
    value = entry.get(key)
    if value is None:
        return ["*"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise AnsibleFilterError("%s: field '%s' must be a glob pattern or a non-empty list of them "
                                 "(such as 'nginx:*', 'sha256:...', 'web-*'), got %r" % (where, key, value))
    return [to_text(v).strip() for v in value]


def check_exception(entry, where, now):
    """One validated exception entry with ``expired``, or AnsibleFilterError naming the entry and field."""
    if not isinstance(entry, dict):
        raise AnsibleFilterError("%s: must be a dictionary with keys %s, got %r" % (
            where, ", ".join(EXCEPTION_KEYS), entry))
    ident = entry.get("id")
    if isinstance(ident, str) and ident.strip():
        where = "%s (id %s)" % (where, ident.strip())
    unknown = sorted(_text(k) for k in entry if k not in EXCEPTION_KEYS)
    if unknown:
        raise AnsibleFilterError("%s: unknown field(s) %s; allowed: %s" % (
            where, ", ".join("'%s'" % k for k in unknown), ", ".join(EXCEPTION_KEYS)))
    for key in EXCEPTION_REQUIRED:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise AnsibleFilterError("%s: field '%s' is required%s" % (where, key, {
                "id": " (a CVE or the cloud's vulnerability id)",
                "until": " (an ISO date such as 2026-12-31, the last day it applies)",
                "reason": " (why the finding is accepted)"}[key]))
    if not isinstance(ident, str):
        raise AnsibleFilterError("%s: field 'id' must be a string, got %r" % (where, ident))
    if not isinstance(entry["reason"], str):
        raise AnsibleFilterError("%s: field 'reason' must be a string, got %r" % (where, entry["reason"]))
    owner = entry.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise AnsibleFilterError("%s: field 'owner' must be a string, got %r" % (where, owner))
    until = _parse_until(entry["until"])
    if until is None:
        raise AnsibleFilterError("%s: field 'until' must be an ISO date such as 2026-12-31 (or a time such as "
                                 "2026-12-31T12:00:00Z), got %r" % (where, entry["until"]))
    end, until_text = until
    return {
        "id": ident.strip(),
        "images": _patterns(entry, "images", where),
        "hosts": _patterns(entry, "hosts", where),
        "until": until_text,
        "reason": to_text(entry["reason"]).strip(),
        "owner": to_text(owner).strip() if owner else None,
        "expired": now >= end,
    }


def image_scan_exceptions(entries, file_entries=None, file_name=None, now=None, warn=True):
    """Validate ``image_scan_exceptions`` and the entries of ``image_scan_exceptions_file``.

    Returns the entries in order (variable first, then file), each with ``index``, ``source``,
    patterns as lists and ``expired``. A malformed entry raises an error naming it and its field.
    Each expired entry gives one warning.
    """
    moment = parse_now(now)
    checked = []
    sources = [("image_scan_exceptions", entries)]
    if file_entries is not None:
        if isinstance(file_entries, dict) and set(file_entries) == {"exceptions"}:
            file_entries = file_entries["exceptions"]
        sources.append((file_name or "image_scan_exceptions_file", file_entries))
    for source, items in sources:
        if items is None or items == "":
            continue
        if not isinstance(items, (list, tuple)):
            raise AnsibleFilterError("%s must be a list of exceptions {id, images, hosts, until, reason, owner}, got %s"
                                     % (source, type(items).__name__))
        for number, entry in enumerate(items):
            item = check_exception(entry, "%s entry %d" % (source, number + 1), moment)
            item.update(index=len(checked), source=source)
            checked.append(item)
    if warn and Display is not None:
        for item in checked:
            if item["expired"]:
                Display().warning("image_scan: exception %d (%s, %s) expired on %s and no longer applies: %s" % (
                    item["index"] + 1, item["id"], item["source"], item["until"], item["reason"]))
    return checked


def _image_keys(image):
    keys = [image_label(image), _text(image.get("name")), _text(image.get("id")), _text(image.get("digest"))]
    if image.get("name") and image.get("digest"):
        keys.append("%s@%s" % (image["name"], image["digest"]))
    return [k for k in keys if k]


def host_keys(inventory_hostname, cloud_host):
    cloud_host = cloud_host or {}
    keys = [_text(inventory_hostname)] + [_text(cloud_host.get(k)) for k in ("name", "ip", "id")]
    return [k for k in keys if k]


def _any_match(keys, patterns):
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns for key in keys)


def exception_for(finding, image, hosts, exceptions, expired=False):
    """The first exception (active, or expired with ``expired=True``) that matches a finding of
    ``image`` on a host known by the names ``hosts``, else ``None``."""
    finding_id = _text(finding.get("id")).strip().lower()
    if not finding_id:
        return None
    image_keys = None
    for entry in exceptions or []:
        if bool(entry.get("expired")) != expired or entry["id"].lower() != finding_id:
            continue
        if image_keys is None:
            image_keys = _image_keys(image)
        if _any_match(image_keys, entry["images"]) and _any_match(hosts, entry["hosts"]):
            return entry
    return None


def suppression(entry):
    """The ``suppressed`` value of a finding an exception matches."""
    return dict((k, entry.get(k)) for k in ("index", "id", "reason", "owner", "until", "images", "hosts", "source"))


# -- thresholds ----------------------------------------------------------------------------------


def check_max_findings(value):
    """``image_scan_max_findings`` as ``{severity: int}``, or an error naming the bad key or value."""
    if value is None or value == "" or value == {}:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError("image_scan_max_findings must be a dictionary such as {critical: 0, high: 10}, got %r"
                                 % (value,))
    checked = {}
    for key, count in value.items():
        if key not in THRESHOLD_KEYS:
            raise AnsibleFilterError("image_scan_max_findings: unknown severity %r; allowed: %s" % (
                key, ", ".join(THRESHOLD_KEYS)))
        if count is None or count == "":
            continue
        try:
            number = int(count)
        except (TypeError, ValueError):
            number = -1
        if isinstance(count, bool) or number < 0 or (isinstance(count, float) and count != number):
            raise AnsibleFilterError("image_scan_max_findings.%s must be a whole number 0 or more, got %r" % (key, count))
        checked[key] = number
    return checked


# -- baseline ------------------------------------------------------------------------------------


def finding_key(image, finding):
    """What identifies a finding across runs: the image's name (its tag may change), the
    vulnerability id and the package."""
    return (_text(image.get("name")) or _text(image.get("id")), _text(finding.get("id")), _text(finding.get("package")))


def _host_findings(images):
    found = {}
    for image in images or []:
        for finding in image.get("findings") or []:
            found.setdefault(finding_key(image, finding), {
                "image_id": image.get("id"), "image": image_label(image), "name": image.get("name"),
                "id": finding.get("id"),
                "severity": finding.get("severity"), "package": finding.get("package"),
            })
    return found


def image_scan_baseline(source, hostvars=None, play_hosts=None, name=None):
    """Findings of an earlier run by host: from a ``report.json`` document (``source`` a dict) or,
    with ``source`` ``fact_cache``, from each play host's cached ``image_scan`` fact.

    Returns ``{"source": name, "hosts": {host: [finding ref, ...]}}`` (hosts without findings
    collected are left out).
    """
    hosts = {}
    if source == BASELINE_FACT_CACHE:
        for host in play_hosts or []:
            try:
                fact = (hostvars or {})[host].get("image_scan")
            except (KeyError, TypeError, AttributeError):
                fact = None
            if isinstance(fact, dict) and fact.get("images") is not None:
                hosts[_text(host)] = list(_host_findings(fact.get("images")).values())
        return {"source": name or BASELINE_FACT_CACHE, "hosts": hosts}
    if not isinstance(source, dict) or not isinstance(source.get("hosts"), list):
        raise AnsibleFilterError("image_scan_baseline %s is not a report.json of this role (no list 'hosts')"
                                 % (name or "",))
    for entry in source["hosts"]:
        if isinstance(entry, dict) and entry.get("name"):
            hosts[_text(entry["name"])] = list(_host_findings(entry.get("images")).values())
    return {"source": name or "report.json", "hosts": hosts}


def ref_key(ref):
    """The :func:`finding_key` of a finding reference."""
    return (_text(ref.get("name")) or _text(ref.get("image_id")), _text(ref.get("id")), _text(ref.get("package")))


# -- cost guard ----------------------------------------------------------------------------------


def _licences(listing):
    """``{in_use, without}``: distinct images of a listing that hold a scan licence and that do not,
    where the cloud says so (TCSS ``IsAuthorized``, the images' ``authorized``); else None."""
    rated = {}
    for image in listing or []:
        if isinstance(image, dict) and image.get("authorized") in (True, False):
            rated[image.get("id")] = rated.get(image.get("id")) or image["authorized"]
    if not rated:
        return None
    in_use = sum(1 for held in rated.values() if held)
    return {"in_use": in_use, "without": len(rated) - in_use}


def image_scan_plan(scan, match, max_images=None, top=5, listing=None):
    """What a run would scan, from a check-mode scan result (``images_triggered``) and the match.

    Returns ``{count, hosts: [{host, images}], images: [label], exceeded, message, licences}``:
    ``count`` is the number of distinct images, ``hosts`` the play hosts holding the most of them,
    ``licences`` (from the image ``listing``, where the cloud reports them, else None) how many
    listed images hold a scan licence and how many do not.
    """
    triggered = list((scan or {}).get("images_triggered") or []) if isinstance(scan, dict) else []
    match = match or {}
    by_cloud_id = {}
    for name, entry in (match.get("hosts") or {}).items():
        cloud_id = _text((entry.get("cloud_host") or {}).get("id")).lower()
        if cloud_id:
            by_cloud_id.setdefault(cloud_id, []).append(name)
    image_hosts = match.get("image_hosts") or {}
    images, labels, per_host, seen = [], [], {}, set()
    for ref in triggered:
        image_id = ref.get("id")
        holders = [ref["host"]] if isinstance(ref.get("host"), dict) else image_hosts.get(image_id) or []
        for holder in holders:
            for name in by_cloud_id.get(_text(holder.get("id")).lower(), []):
                per_host.setdefault(name, set()).add(image_id)
        if image_id not in seen:
            seen.add(image_id)
            images.append(image_id)
            labels.append(image_label(ref))
    ranked = sorted(per_host.items(), key=lambda item: (-len(item[1]), item[0]))
    hosts = [{"host": name, "images": len(ids)} for name, ids in ranked]
    try:
        limit = None if max_images in (None, "") else int(max_images)
    except (TypeError, ValueError):
        raise AnsibleFilterError("image_scan_max_images must be a whole number, got %r" % (max_images,))
    if limit is not None and limit < 0:
        raise AnsibleFilterError("image_scan_max_images must be 0 or more, got %d" % limit)
    exceeded = limit is not None and len(images) > limit
    head = ", ".join("%s (%d)" % (h["host"], h["images"]) for h in hosts[:top])
    if exceeded:
        message = ("image_scan_max_images is %d but this run would scan %d images on %d hosts; most are on %s. "
                   "Nothing was scanned." % (limit, len(images), len(hosts), head or "no play host"))
    else:
        message = "would scan %d images on %d hosts%s" % (len(images), len(hosts), (": " + head) if head else "")
    licences = _licences(listing)
    if licences is not None:
        message += "; scan licences: %d listed images hold one, %d do not (those are not scanned)" % (
            licences["in_use"], licences["without"])
    return {"count": len(images), "hosts": hosts, "images": labels, "exceeded": exceeded, "max_images": limit,
            "message": message, "licences": licences}


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_exceptions": image_scan_exceptions,
            "image_scan_baseline": image_scan_baseline,
            "image_scan_plan": image_scan_plan,
            "image_scan_max_findings": check_max_findings,
        }
