# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cloud-neutral scan logic shared by the HSS and TCSS modules.

The collection's words (task states, image scan states, the severity scale), durations
(``max_age``) and the per-image scan plan. Each cloud's own words and tables, and how its
answers map onto these, live in ``_hss_shapes`` and ``_tcss_shapes``. Pure standard library,
no I/O.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import datetime
import math
import re

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock

# ---------------------------------------------------------------------------------------------
# Task states: one table decides what is done
# ---------------------------------------------------------------------------------------------

TASK_RUNNING, TASK_SUCCEEDED, TASK_STOPPED, TASK_TIMED_OUT, TASK_FAILED = (
    "running", "succeeded", "stopped", "timed_out", "failed")

#: Normalised task status -> acceptor outcome for a waiter.
TASK_STATE_TABLE = {
    TASK_RUNNING: "retry",
    TASK_SUCCEEDED: "success",
    TASK_STOPPED: "failure",
    TASK_TIMED_OUT: "failure",
    TASK_FAILED: "failure",
}


def task_is_done(status):
    return TASK_STATE_TABLE.get(status, "retry") != "retry"


# ---------------------------------------------------------------------------------------------
# Image status and severity
# ---------------------------------------------------------------------------------------------

IMAGE_UNSCANNED, IMAGE_WAITING, IMAGE_SCANNING, IMAGE_SUCCESS, IMAGE_FAILED = (
    "unscanned", "waiting", "scanning", "success", "failed")
IMAGE_DOWNLOAD_FAILED, IMAGE_OVERSIZED = "download_failed", "image_oversized"
#: The cloud says up front that it will not scan the image (no licence, unsupported...): never
#: triggered, listed by the gate with the cloud's reason (``unscannable_reason``).
IMAGE_UNSCANNABLE = "unscannable"


def image_status_of(words, word):
    """The collection's scan state of a cloud's scan status ``word``, looked up in ``words``
    (lower-case word -> state): ``unscanned`` when empty, the lower-case word when unknown."""
    if not word:
        return IMAGE_UNSCANNED
    text = str(word).strip().lower()
    return words.get(text, text)


#: The scan states an option can select (``scan_status`` of the info modules).
IMAGE_STATUS_CHOICES = (IMAGE_UNSCANNED, IMAGE_WAITING, IMAGE_SCANNING, IMAGE_SUCCESS, IMAGE_FAILED)

IMAGE_IN_PROGRESS = frozenset([IMAGE_WAITING, IMAGE_SCANNING])
IMAGE_FINISHED_BAD = frozenset([IMAGE_FAILED, IMAGE_DOWNLOAD_FAILED, IMAGE_OVERSIZED])

#: The one severity scale of the collection, least to most severe.
SEVERITIES = ("none", "unknown", "low", "medium", "high", "critical")
#: Gate thresholds accepted by the role (``none`` disables the gate).
GATE_LEVELS = ("critical", "high", "medium", "low", "none")
#: Keys of ``severity_counts``.
COUNTED_SEVERITIES = ("critical", "high", "medium", "low", "unknown")


def severity_rank(word):
    return SEVERITIES.index(word) if word in SEVERITIES else SEVERITIES.index("unknown")


def worst_severity(words):
    worst = "none"
    for word in words:
        if severity_rank(word) > severity_rank(worst):
            worst = word
    return worst


def cvss_severity(score):
    """The severity of a CVSS v3 base score: 9.0 and more critical, 7.0 high, 4.0 medium,
    above 0 low, 0 none; ``None`` when it is not a score."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        return None
    if math.isnan(value) or value < 0 or value > 10:
        return None
    if value >= 9.0:
        return "critical"
    if value >= 7.0:
        return "high"
    if value >= 4.0:
        return "medium"
    if value > 0:
        return "low"
    return "none"


def severity_counts(findings):
    counts = dict.fromkeys(COUNTED_SEVERITIES, 0)
    for finding in findings:
        word = finding.get("severity", "unknown")
        counts[word if word in counts else "unknown"] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(value):
    """Seconds in ``value``: an int, or text such as ``90``, ``30m``, ``24h``, ``7d``, ``1d12h``."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must not be negative")
        return int(value)
    text = str(value).strip().lower().replace(" ", "")
    if text.isdigit():
        return int(text)
    if not text or _DURATION_RE.sub("", text):
        raise ValueError("%r is not a duration; use seconds or a number with a unit "
                         "s, m, h, d or w, such as 30m, 24h, 7d or 1d12h" % (value,))
    return sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_RE.findall(text))


def iso_to_epoch(value):
    """Epoch seconds of an ISO 8601 UTC text made by the functions above, or ``None``."""
    if not value:
        return None
    parsed = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    return parsed.replace(tzinfo=datetime.timezone.utc).timestamp()


# ---------------------------------------------------------------------------------------------
# Scan plan: what an idempotent "present" does with each image
# ---------------------------------------------------------------------------------------------


def plan_image(image, max_age, force, now=None):
    """Decide whether a normalised image needs a scan.

    Returns ``(action, reason)`` with ``action`` ``scan`` or ``skip``. An image that is being
    scanned is never scanned again; one whose last scan ended (successfully or not) less than
    ``max_age`` seconds ago is skipped; ``image_oversized`` cannot succeed by rescanning and is
    skipped until ``force``; ``force`` scans every other image; ``unscannable`` (the cloud will
    not scan it) is never scanned.
    """
    status = image.get("scan_status") or IMAGE_UNSCANNED
    if status == IMAGE_UNSCANNABLE:
        return "skip", "unscannable: %s" % (image.get("unscannable_reason") or "the cloud will not scan this image")
    if force:
        return "scan", "force is set"
    if status in IMAGE_IN_PROGRESS:
        return "skip", "a scan is already %s" % status
    if status == IMAGE_UNSCANNED:
        return "scan", "never scanned"
    if status == IMAGE_OVERSIZED:
        return "skip", "image_oversized: the image is too large to scan; use force to retry"
    scanned_at = iso_to_epoch(image.get("latest_scan_time"))
    if scanned_at is None:
        return "scan", "no time of the last scan is known"
    if max_age is None:
        return "skip", "last scan ended %s (%s)" % (image.get("latest_scan_time"), status)
    age = (now if now is not None else _clock.now()) - scanned_at
    if age < max_age:
        return "skip", "last scan %s at %s is within max_age" % (status, image.get("latest_scan_time"))
    return "scan", "last scan at %s is older than max_age" % image.get("latest_scan_time")


_REF_KEYS = ("id", "name", "version", "digest", "host", "scan_status", "latest_scan_time")
#: Keys an ``image_ref`` carries only when the image has them.
_REF_OPTIONAL_KEYS = ("unscannable_reason",)


def image_ref(image, reason=None):
    """The short form of a normalised image used in ``images_triggered`` / ``images_skipped``."""
    ref = dict((key, image.get(key)) for key in _REF_KEYS)
    ref.update((key, image[key]) for key in _REF_OPTIONAL_KEYS if image.get(key))
    if reason is not None:
        ref["reason"] = reason
    return ref


def plan_images(images, max_age, force, now=None):
    """Split normalised images into ``(to_scan, skipped)``; both are lists of :func:`image_ref`
    entries with the ``reason`` of the decision."""
    to_scan, skipped = [], []
    for image in images:
        action, reason = plan_image(image, max_age, force, now=now)
        (to_scan if action == "scan" else skipped).append(image_ref(image, reason))
    return to_scan, skipped


def int_or(value, default=0):
    """``int(value)``, or ``default`` when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def unique(values):
    """``values`` without repeats, in order."""
    seen = set()
    result = []
    for value in values or []:
        if value not in seen:
            seen.add(value)
            result.append(value)
    return result


def batches(items, size):
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    size = max(int(size), 1)
    return [items[i:i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------
# Play hosts and cloud hosts: one matching rule for the role's filter and the host listings
# ---------------------------------------------------------------------------------------------


def host_key(value):
    """How host ids, names and addresses are compared: trimmed, case-insensitive text."""
    return str(value).strip().lower() if value not in (None, "") else ""


def index_hosts(cloud_hosts):
    """``(by_id, by_name, by_ip)`` of normalised cloud hosts (``id``, ``name``, ``ip``); the first
    host of a name or address wins."""
    by_id, by_name, by_ip = {}, {}, {}
    for cloud_host in cloud_hosts or []:
        if host_key(cloud_host.get("id")):
            by_id[host_key(cloud_host.get("id"))] = cloud_host
        if host_key(cloud_host.get("name")):
            by_name.setdefault(host_key(cloud_host.get("name")), cloud_host)
        if host_key(cloud_host.get("ip")):
            by_ip.setdefault(host_key(cloud_host.get("ip")), cloud_host)
    return by_id, by_name, by_ip


def find_host(identity, index):
    """The cloud host of a play host's identity (``id``, ``name``, ``ip``): by id when it has one,
    else by exact name, else by address; ``None`` when the index has none."""
    by_id, by_name, by_ip = index
    if host_key(identity.get("id")):
        return by_id.get(host_key(identity["id"]))
    if host_key(identity.get("name")) and host_key(identity["name"]) in by_name:
        return by_name[host_key(identity["name"])]
    if host_key(identity.get("ip")):
        return by_ip.get(host_key(identity["ip"]))
    return None


def matching_hosts(identities, cloud_hosts):
    """The cloud hosts that ``find_host`` gives for the identities, each once, in listing order."""
    index = index_hosts(cloud_hosts)
    wanted = set()
    for identity in identities or []:
        found = find_host(identity, index)
        if found is not None:
            wanted.add(id(found))
    return [host for host in cloud_hosts or [] if id(host) in wanted]


def all_found(identities, cloud_hosts):
    """Whether ``find_host`` finds a cloud host for every identity that names one (an id, a name
    or an address). A filtered host listing that leaves one unmatched may have missed it (a
    filter that compares names with case, or otherwise more narrowly than ``find_host``): the
    listing is then walked, so that the answer is the one a walk gives."""
    index = index_hosts(cloud_hosts)
    return all(find_host(identity, index) is not None for identity in identities or []
               if any(host_key(identity.get(key)) for key in ("id", "name", "ip")))


def host_lookups(identities):
    """What to ask a filtered host listing for each identity: ``(ids, names, ips)``, each distinct
    and in order. An identity with an id is looked up by id only; one with a name by name, and by
    address too when it has one (the name may not be found)."""
    ids, names, ips = [], [], []
    for identity in identities or []:
        if str(identity.get("id") or "").strip():
            ids.append(str(identity["id"]).strip())
            continue
        if str(identity.get("name") or "").strip():
            names.append(str(identity["name"]).strip())
        if str(identity.get("ip") or "").strip():
            ips.append(str(identity["ip"]).strip())
    return unique(ids), unique(names), unique(ips)
