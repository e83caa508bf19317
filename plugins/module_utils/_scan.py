# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cloud-neutral scan logic shared by the HSS and TCSS modules.

Scope names, the table of task states, status and severity normalisation, ``max_age``
handling, the per-image scan plan and the waiter. Pure standard library, no I/O.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import datetime
import re
import time

# ---------------------------------------------------------------------------------------------
# Scope names
# ---------------------------------------------------------------------------------------------

#: HSS ``scan_scope`` bitmask per risk type (CreateManualImageScanTask).
HSS_SCAN_SCOPES = {
    "vulnerability": 0x000F0000,
    "baseline": 0x0000F000,
    "malicious_file": 0x00000F00,
    "sensitive_info": 0x000000F0,
    "compliance": 0x0000000F,
}
HSS_SCAN_SCOPE_ALL = 0x7FFFFFFF

#: TCSS scan types and the CreateAssetImageScanTask flag each one sets.
TCSS_SCAN_TYPES = {
    "vulnerability": "ScanVul",
    "virus": "ScanVirus",
    "risk": "ScanRisk",
}

#: TCSS ``ScanScope`` values.
TCSS_SCAN_SCOPES = {
    "all_authorized": 0,
    "selected": 1,
    "recommended": 2,
    "cluster": 3,
}


def hss_scan_scope_mask(names):
    """Bitmask for a list of scope names (``all`` alone or among others means everything)."""
    names = list(names or ["all"])
    unknown = [n for n in names if n != "all" and n not in HSS_SCAN_SCOPES]
    if unknown:
        raise ValueError("unknown scan_scope value(s) %s; allowed: all, %s" % (
            ", ".join(unknown), ", ".join(sorted(HSS_SCAN_SCOPES))))
    if "all" in names:
        return HSS_SCAN_SCOPE_ALL
    mask = 0
    for name in names:
        mask |= HSS_SCAN_SCOPES[name]
    return mask


# ---------------------------------------------------------------------------------------------
# Task states: one table decides what is done
# ---------------------------------------------------------------------------------------------

TASK_RUNNING = "running"
TASK_SUCCEEDED = "succeeded"
TASK_STOPPED = "stopped"
TASK_TIMED_OUT = "timed_out"
TASK_FAILED = "failed"

#: Normalised task status -> acceptor outcome for a waiter.
TASK_STATE_TABLE = {
    TASK_RUNNING: "retry",
    TASK_SUCCEEDED: "success",
    TASK_STOPPED: "failure",
    TASK_TIMED_OUT: "failure",
    TASK_FAILED: "failure",
}

#: HSS ``task_status`` (ListImageScanTask) negative values.
_HSS_TASK_NEGATIVE = {-1: TASK_STOPPED, -2: TASK_TIMED_OUT, -3: TASK_FAILED}

#: TCSS one-click task ``SubStatus`` (DescribeAssetImageScanTask) once ``Status`` is ``END``.
_TCSS_SUBSTATUS = {
    "success": TASK_SUCCEEDED,
    "timeout": TASK_TIMED_OUT,
    "cancel": TASK_STOPPED,
    "error": TASK_FAILED,
}


def task_is_done(status):
    return TASK_STATE_TABLE.get(status, "retry") != "retry"


def hss_task_status(task_status):
    """Normalise HSS ``task_status`` (0..99 progress, 100 done, -1/-2/-3)."""
    try:
        value = int(task_status)
    except (TypeError, ValueError):
        return TASK_RUNNING
    if value >= 100:
        return TASK_SUCCEEDED
    if value < 0:
        return _HSS_TASK_NEGATIVE.get(value, TASK_FAILED)
    return TASK_RUNNING


def tcss_task_status(status, schedule=None, sub_status=None, scanned=None, total=None):
    """Normalise a TCSS task from DescribeAssetImageScanStatus / DescribeAssetImageScanTask.

    ``READY``/``SCANNING`` (and anything unknown before the end) is running; ``END`` is decided
    by ``SubStatus`` when known; without it, an ended task that did not scan all its images was
    stopped, and one that did, succeeded.
    """
    word = (status or "").strip().upper()
    if word in ("", "READY", "SCANNING", "WAITING", "PENDING"):
        if word == "" and schedule is not None and int(schedule) >= 100:
            return TASK_SUCCEEDED
        return TASK_RUNNING
    if word == "END" or word in ("FINISHED", "DONE", "SUCCESS"):
        if sub_status:
            return _TCSS_SUBSTATUS.get(sub_status.strip().lower(), TASK_FAILED)
        if total is not None and scanned is not None and int(scanned) < int(total):
            return TASK_STOPPED
        return TASK_SUCCEEDED
    if word in ("CANCEL", "CANCELLED", "STOPPED", "STOP"):
        return TASK_STOPPED
    if word in ("TIMEOUT",):
        return TASK_TIMED_OUT
    return TASK_FAILED


# ---------------------------------------------------------------------------------------------
# Image status and severity
# ---------------------------------------------------------------------------------------------

IMAGE_UNSCANNED = "unscanned"
IMAGE_WAITING = "waiting"
IMAGE_SCANNING = "scanning"
IMAGE_SUCCESS = "success"
IMAGE_FAILED = "failed"
IMAGE_DOWNLOAD_FAILED = "download_failed"
IMAGE_OVERSIZED = "image_oversized"

IMAGE_IN_PROGRESS = frozenset([IMAGE_WAITING, IMAGE_SCANNING])
IMAGE_FINISHED_BAD = frozenset([IMAGE_FAILED, IMAGE_DOWNLOAD_FAILED, IMAGE_OVERSIZED])

_IMAGE_STATUS_WORDS = {
    # HSS
    "unscan": IMAGE_UNSCANNED,
    "waiting": IMAGE_WAITING,
    "waiting_for_scan": IMAGE_WAITING,
    "scanning": IMAGE_SCANNING,
    "success": IMAGE_SUCCESS,
    "failed": IMAGE_FAILED,
    "download_failed": IMAGE_DOWNLOAD_FAILED,
    "image_oversized": IMAGE_OVERSIZED,
    # TCSS (filter words; responses may be upper case)
    "notscan": IMAGE_UNSCANNED,
    "scanned": IMAGE_SUCCESS,
    "scanerr": IMAGE_FAILED,
}


def image_status(word):
    """Normalise an image scan status of either cloud (``unscanned`` when empty)."""
    if not word:
        return IMAGE_UNSCANNED
    return _IMAGE_STATUS_WORDS.get(str(word).strip().lower(), str(word).strip().lower())


#: The one severity scale of the collection, least to most severe.
SEVERITIES = ("none", "unknown", "low", "medium", "high", "critical")
#: Gate thresholds accepted by the role (``none`` disables the gate).
GATE_LEVELS = ("critical", "high", "medium", "low", "none")
#: Keys of ``severity_counts``.
COUNTED_SEVERITIES = ("critical", "high", "medium", "low", "unknown")

_SEVERITY_WORDS = {
    # HSS image severity_level
    "security": "none",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
    # HSS ListImageVulnerabilities repair_necessity
    "immediate_repair": "high",
    "delay_repair": "medium",
    "not_needed_repair": "low",
}

#: TCSS vulnerability ``Level``.
TCSS_LEVELS = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def severity(value):
    """Map an HSS word or a TCSS level number onto the collection's scale."""
    if value is None or value == "":
        return "unknown"
    if isinstance(value, int) and not isinstance(value, bool):
        return TCSS_LEVELS.get(value, "unknown")
    text = str(value).strip().lower()
    if text.isdigit():
        return TCSS_LEVELS.get(int(text), "unknown")
    return _SEVERITY_WORDS.get(text, "unknown")


def severity_rank(word):
    return SEVERITIES.index(word) if word in SEVERITIES else SEVERITIES.index("unknown")


def worst_severity(words):
    worst = "none"
    for word in words:
        if severity_rank(word) > severity_rank(worst):
            worst = word
    return worst


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


def epoch_ms_to_iso(value):
    """ISO 8601 UTC text for epoch milliseconds (``None`` for 0 or missing)."""
    try:
        value = int(value or 0)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    return datetime.datetime.fromtimestamp(value / 1000.0, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


#: TCSS writes ``YYYY-MM-DD HH:MM:SS`` times in China Standard Time.
TCSS_UTC_OFFSET = datetime.timedelta(hours=8)


def tcss_time_to_iso(value):
    """ISO 8601 UTC text of a TCSS time: ``YYYY-MM-DD HH:MM:SS`` is China Standard Time
    (UTC+8); an ISO time ending in ``Z`` (``CreateTime``) is UTC. ``None`` when empty or
    unreadable."""
    if not value or str(value).startswith("0000"):
        return None
    text = str(value).strip()
    in_utc = text.endswith("Z") or "T" in text
    try:
        parsed = datetime.datetime.strptime(text.replace("T", " ").rstrip("Z")[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if not in_utc:
        parsed -= TCSS_UTC_OFFSET
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


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
    skipped until ``force``; ``force`` always scans.
    """
    status = image.get("scan_status") or IMAGE_UNSCANNED
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
    age = (now if now is not None else time.time()) - scanned_at
    if age < max_age:
        return "skip", "last scan %s at %s is within max_age" % (status, image.get("latest_scan_time"))
    return "scan", "last scan at %s is older than max_age" % image.get("latest_scan_time")


_REF_KEYS = ("id", "name", "version", "digest", "host", "scan_status", "latest_scan_time")


def image_ref(image, reason=None):
    """The short form of a normalised image used in ``images_triggered`` / ``images_skipped``."""
    ref = dict((key, image.get(key)) for key in _REF_KEYS)
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


def batches(items, size):
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    size = max(int(size), 1)
    return [items[i:i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------------------------


class WaitTimeout(Exception):
    """The deadline passed before the task reached a terminal state."""

    def __init__(self, last):
        super(WaitTimeout, self).__init__("timed out waiting")
        self.last = last


def wait_for(poll, is_done, timeout, sleep, max_sleep=None, clock=time.monotonic, sleeper=time.sleep):
    """Call ``poll()`` until ``is_done(result)``; return the last result.

    The deadline is monotonic (``timeout`` seconds from now). The pause between polls starts
    at ``sleep`` seconds and grows by half each time up to ``max_sleep`` (default four times
    ``sleep``, at most 60), never sleeping past the deadline. Raises ``WaitTimeout`` carrying
    the last result when the deadline passes first.
    """
    deadline = clock() + timeout
    pause = max(float(sleep), 0.1)
    ceiling = float(max_sleep) if max_sleep else min(max(pause * 4, pause), 60.0)
    result = poll()
    while not is_done(result):
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(result)
        sleeper(min(pause, remaining))
        pause = min(pause * 1.5, ceiling)
        result = poll()
    return result
