# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What HSS says and how it maps onto the collection's shapes. Pure: no I/O.

- HSS's words and tables: scan scopes, ``task_status`` values, image scan states, severities;
- input checks that Ansible cannot do itself (``query`` keys and values, the keys each kind
  of image needs), raising ``ValueError`` with a message that names the option;
- request builders (H1 ``CreateManualImageScanTask`` body, H3 ``BatchScanLocalImage`` body,
  the H5/H6 listing filters that select the same images as a trigger's query);
- normalisers of H2 task rows, H5/H6 image rows, H8 vulnerability rows and host rows into the
  shapes of docs/architecture.md, and the per-image plan of listed rows.

The calls themselves are made by ``_hss_ops``. API labels (H1..H8) as in docs/architecture.md.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import re

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _scan

# ---------------------------------------------------------------------------------------------
# HSS's words
# ---------------------------------------------------------------------------------------------

#: ``scan_scope`` bitmask per risk type (CreateManualImageScanTask).
SCAN_SCOPES = {
    "vulnerability": 0x000F0000,
    "baseline": 0x0000F000,
    "malicious_file": 0x00000F00,
    "sensitive_info": 0x000000F0,
    "compliance": 0x0000000F,
}
SCAN_SCOPE_ALL = 0x7FFFFFFF
SCAN_SCOPE_CHOICES = ["all"] + sorted(SCAN_SCOPES)


def scan_scope_mask(names):
    """Bitmask for a list of scope names (``all`` alone or among others means everything)."""
    names = list(names or ["all"])
    unknown = [n for n in names if n != "all" and n not in SCAN_SCOPES]
    if unknown:
        raise ValueError("unknown scan_scope value(s) %s; allowed: all, %s" % (
            ", ".join(unknown), ", ".join(sorted(SCAN_SCOPES))))
    if "all" in names:
        return SCAN_SCOPE_ALL
    mask = 0
    for name in names:
        mask |= SCAN_SCOPES[name]
    return mask


#: ``task_status`` (ListImageScanTask) negative values.
_TASK_NEGATIVE = {-1: _scan.TASK_STOPPED, -2: _scan.TASK_TIMED_OUT, -3: _scan.TASK_FAILED}


def task_status(value, total=None, counted=None):
    """The collection's task state of an HSS ``task_status`` (0..99 progress, 100 done, -1/-2/-3).

    ``-2`` (scan timed out) and ``-3`` (scan abnormal) may also end a task in which some images
    failed (an oversized one times out): when the row counts a result for every image
    (``success_num + failed_num`` = ``counted`` at least ``total_num`` = ``total``, not 0), the
    task finished, as TCSS's ``END`` does; its failed images are counted in ``failed`` and the
    per-image results tell the rest. ``-1`` (stopped) stays stopped.
    """
    try:
        value = int(value)
    except (TypeError, ValueError):
        return _scan.TASK_RUNNING
    if value >= 100:
        return _scan.TASK_SUCCEEDED
    if value < 0:
        if value in (-2, -3) and total and counted is not None and int(counted) >= int(total):
            return _scan.TASK_SUCCEEDED
        return _TASK_NEGATIVE.get(value, _scan.TASK_FAILED)
    return _scan.TASK_RUNNING


def row_task_status(row):
    """``task_status`` of an H2 row, with its image counts."""
    row = row or {}
    return task_status(row.get("task_status"), total=_scan.int_or(row.get("total_num")),
                       counted=_scan.int_or(row.get("success_num")) + _scan.int_or(row.get("failed_num")))


#: H5/H6 ``scan_status`` words -> the collection's scan states (the others are the same words).
_IMAGE_STATUS_WORDS = dict(unscan=_scan.IMAGE_UNSCANNED, waiting_for_scan=_scan.IMAGE_WAITING)
#: The collection's scan states an option selects -> the H5/H6 ``scan_status`` filter words.
STATUS_FILTERS = dict((state, (word,)) for word, state in _IMAGE_STATUS_WORDS.items())
STATUS_FILTERS.update((state, (state,)) for state in (_scan.IMAGE_SCANNING, _scan.IMAGE_SUCCESS, _scan.IMAGE_FAILED))


def image_status(word):
    """The collection's scan state of an H5/H6 ``scan_status`` word (``unscanned`` when empty)."""
    return _scan.image_status_of(_IMAGE_STATUS_WORDS, word)


_SEVERITY_WORDS = {
    # image severity_level
    "security": "none",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
    # ListImageVulnerabilities repair_necessity
    "immediate_repair": "high",
    "delay_repair": "medium",
    "not_needed_repair": "low",
}


def severity(value):
    """The collection's severity of an HSS ``severity_level`` or ``repair_necessity`` word."""
    if value is None or value == "":
        return "unknown"
    return _SEVERITY_WORDS.get(str(value).strip().lower(), "unknown")


def epoch_ms_to_iso(value):
    """ISO 8601 UTC text for HSS epoch milliseconds (``None`` for 0 or missing)."""
    try:
        value = int(value or 0)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    return _clock.utc_iso(value / 1000.0)


IMAGE_TYPES = ("registry", "local")
REGISTRY_TYPES = ("SwrPrivate", "SwrShared", "SwrEnterprise", "Harbor", "Jfrog", "Other", "Local")
REGISTRY_IMAGE_TYPES = ("private_image", "shared_image", "instance_image", "harbor", "jfrog")
LOCAL_IMAGE_TYPES = ("swr_image", "other_image")
TRIGGER_SCAN_STATUSES = ("unscan", "success", "scanning", "failed", "download_failed", "image_oversized")
LIST_SCAN_STATUSES = ("unscan", "success", "scanning", "failed", "waiting_for_scan")
AGENT_STATUSES = ("installed", "not_installed", "online", "offline", "install_failed", "installing", "not_online")

_TIME_KEYS = ("start_latest_update_time", "end_latest_update_time", "start_latest_scan_time", "end_latest_scan_time")
_INT64_MAX = 9223372036854775807

# ---------------------------------------------------------------------------------------------
# Checking input
# ---------------------------------------------------------------------------------------------

# key -> (kind, limit or choices, which image type it applies to: "any", "local", "registry")
H1_QUERY_FIELDS = {
    "local_image_type": ("choice", LOCAL_IMAGE_TYPES, "local"),
    "host_id": ("str", 128, "local"),
    "host_name": ("str", 128, "local"),
    "public_ip": ("str", 128, "local"),
    "private_ip": ("str", 128, "local"),
    "cluster_id": ("str", 128, "local"),
    "container_id": ("str", 128, "local"),
    "container_name": ("str", 128, "local"),
    "pod_id": ("str", 64, "local"),
    "pod_name": ("str", 512, "local"),
    "app_name": ("str", 256, "local"),
    "has_vul": ("bool", None, "any"),
    "namespace": ("str", 256, "any"),
    "image_name": ("str", 256, "any"),
    "image_version": ("str", 256, "any"),
    "image_type": ("choice", REGISTRY_IMAGE_TYPES, "registry"),
    "scan_status": ("choice", TRIGGER_SCAN_STATUSES, "any"),
    "image_size": ("int", None, "any"),
}
H1_QUERY_FIELDS.update((key, ("int", None, "any")) for key in _TIME_KEYS)

#: H3 takes a few of H1's keys, for local images only.
H3_QUERY_FIELDS = dict((key, (kind, limit, "local")) for key, (kind, limit, dummy) in H1_QUERY_FIELDS.items()
                       if key in ("image_name", "image_version", "local_image_type", "scan_status", "image_size")
                       + _TIME_KEYS)

IMAGE_INFO_KEYS = ("id", "image_id", "image_digest", "registry_id", "registry_name", "registry_type",
                   "image_name", "image_version", "namespace", "instance_id", "instance_url")
IMAGE_INFO_REQUIRED = {
    "registry": ("id", "image_digest", "namespace", "image_name", "image_version", "registry_id",
                 "registry_name", "registry_type"),
    "local": ("image_id", "image_name", "image_version"),
}
LOCAL_IMAGE_KEYS = ("image_id", "image_digest", "image_name", "image_version")


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str) else value
    if text in BOOLEANS_TRUE:
        return True
    if text in BOOLEANS_FALSE:
        return False
    raise ValueError("must be true or false")


def _int(value, low=0, high=_INT64_MAX):
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, str) and re.match(r"^\s*\d+\s*$", value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError("must be an integer")
    if not low <= value <= high:
        raise ValueError("must be between %d and %d" % (low, high))
    return value


def _check_value(kind, limit, value):
    if kind == "bool":
        return _bool(value)
    if kind == "int":
        return _int(value)
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if kind == "choice" and value not in limit:
        raise ValueError("%r is not one of %s" % (value, ", ".join(limit)))
    if kind == "str" and len(value) > limit:
        raise ValueError("must be at most %d characters long" % limit)
    return value


def check_query(query, fields, option="query", image_type=None):
    """The checked, typed copy of a ``query`` option; ``ValueError`` naming the bad key.

    ``fields`` is ``H1_QUERY_FIELDS`` or ``H3_QUERY_FIELDS``. Keys that apply only to the other
    ``image_type`` are refused as well. ``None`` values are dropped.
    """
    if not query:
        return {}
    if not isinstance(query, dict):
        raise ValueError("%s must be a dictionary" % option)
    unknown = sorted(key for key in query if key not in fields)
    if unknown:
        raise ValueError("%s: unknown key(s) %s; allowed keys: %s" % (
            option, ", ".join(unknown), ", ".join(sorted(fields))))
    checked = {}
    for key, value in query.items():
        if value is None:
            continue
        kind, limit, applies = fields[key]
        if image_type and applies not in ("any", image_type):
            raise ValueError("%s.%s applies only to image_type=%s" % (option, key, applies))
        try:
            checked[key] = _check_value(kind, limit, value)
        except ValueError as exc:
            raise ValueError("%s.%s %s" % (option, key, exc))
    for name in ("update", "scan"):
        start, end = checked.get("start_latest_%s_time" % name), checked.get("end_latest_%s_time" % name)
        if start is not None and end is not None and start > end:
            raise ValueError("%s.start_latest_%s_time must not be after %s.end_latest_%s_time" % (
                option, name, option, name))
    return checked


def _string(option, key, value):
    if not isinstance(value, str) or not value:
        raise ValueError("%s.%s must be a non-empty string (quote versions such as '1.10')" % (option, key))
    return value


def check_scan_images(images, image_type, option="images"):
    """The checked copies of the ``images`` of ``hss_image_scan`` (H1 ``image_info``).

    Registry images need ``id`` (the record id of the image in HSS), ``image_digest``,
    ``namespace``, ``image_name``, ``image_version``, ``registry_id``, ``registry_name`` and
    ``registry_type`` (plus ``instance_id`` for ``SwrEnterprise``); local images need
    ``image_id``, ``image_name`` and ``image_version``, their ``registry_type`` is ``Local`` and
    ``registry_id`` / ``registry_name`` default to empty strings.
    """
    checked = []
    required = IMAGE_INFO_REQUIRED[image_type]
    for index, image in enumerate(images or []):
        where = "%s[%d]" % (option, index)
        if not isinstance(image, dict):
            raise ValueError("%s must be a dictionary with the keys %s" % (where, ", ".join(required)))
        unknown = sorted(key for key in image if key not in IMAGE_INFO_KEYS)
        if unknown:
            raise ValueError("%s: unknown key(s) %s; allowed keys: %s" % (
                where, ", ".join(unknown), ", ".join(IMAGE_INFO_KEYS)))
        missing = [key for key in required if image.get(key) in (None, "")]
        if missing:
            raise ValueError("%s: missing key(s) %s; %s images need %s" % (
                where, ", ".join(missing), image_type, ", ".join(required)))
        entry = {}
        for key, value in image.items():
            if value is None:
                continue
            if key == "id":
                try:
                    entry[key] = _int(value)
                except ValueError as exc:
                    raise ValueError("%s.id %s (the record id of the image in HSS)" % (where, exc))
            elif key == "registry_type":
                if value not in REGISTRY_TYPES:
                    raise ValueError("%s.registry_type %r is not one of %s" % (where, value, ", ".join(REGISTRY_TYPES)))
                entry[key] = value
            else:
                entry[key] = _string(where, key, value) if key in required else str(value)
        if image_type == "local":
            if entry.get("registry_type", "Local") != "Local":
                raise ValueError("%s.registry_type must be Local for local images" % where)
            entry["registry_type"] = "Local"
            entry.setdefault("registry_id", "")
            entry.setdefault("registry_name", "")
        else:
            if entry["registry_type"] == "Local":
                raise ValueError("%s.registry_type Local needs image_type=local" % where)
            if entry["registry_type"] == "SwrEnterprise" and not entry.get("instance_id"):
                raise ValueError("%s: missing key instance_id; SwrEnterprise images need it" % where)
        checked.append(entry)
    return checked


def check_local_images(images, option="images"):
    """The checked copies of the ``images`` of ``hss_local_image_scan`` (H3 ``image_info_list``).

    Each element is an image id (a string) or a dictionary with ``image_id``, ``image_digest``,
    or ``image_name`` and ``image_version``.
    """
    checked = []
    for index, image in enumerate(images or []):
        where = "%s[%d]" % (option, index)
        if isinstance(image, str):
            if not image:
                raise ValueError("%s: an image id must not be empty" % where)
            checked.append({"image_id": image})
            continue
        if not isinstance(image, dict):
            raise ValueError("%s must be an image id or a dictionary with image_id, image_digest, "
                             "or image_name and image_version" % where)
        unknown = sorted(key for key in image if key not in LOCAL_IMAGE_KEYS)
        if unknown:
            raise ValueError("%s: unknown key(s) %s; allowed keys: %s" % (
                where, ", ".join(unknown), ", ".join(LOCAL_IMAGE_KEYS)))
        entry = dict((key, _string(where, key, value)) for key, value in image.items() if value is not None)
        if not (entry.get("image_id") or entry.get("image_digest")
                or (entry.get("image_name") and entry.get("image_version"))):
            raise ValueError("%s needs image_id, image_digest, or image_name and image_version" % where)
        checked.append(entry)
    return checked


def check_rate_limit(value):
    if value is not None and not 0 <= value <= 1000:
        raise ValueError("rate_limit must be between 0 and 1000 (images per hour, 0: no limit), got %s" % value)
    return value


# ---------------------------------------------------------------------------------------------
# Request builders
# ---------------------------------------------------------------------------------------------


def h1_body(scan_scope, rate_limit=None, is_all=False, query_info=None, image_info=None):
    """The body of CreateManualImageScanTask (H1), ``None`` members left out."""
    body = {"scan_scope": scan_scope, "rate_limit": rate_limit, "is_all": bool(is_all)}
    if query_info:
        body["query_info"] = dict(query_info)
    if image_info is not None and not is_all:
        body["image_info"] = [dict(item) for item in image_info]
    return body


def h3_body(image_info_list=None, operate_all=False, query=None):
    """The body of BatchScanLocalImage (H3)."""
    if operate_all:
        body = {"operate_all": True}
        body.update(query or {})
        return body
    return {"operate_all": False, "image_info_list": [dict(item) for item in image_info_list or []]}


def image_info_from_row(row, image_type):
    """An H1 ``image_info`` entry for an image listed by H6 (registry) or H5 (local)."""
    if image_type == "local":
        return {"image_id": row.get("image_id"), "image_name": row.get("image_name"),
                "image_version": row.get("image_version"), "registry_id": "", "registry_name": "",
                "registry_type": "Local"}
    entry = {}
    for key in ("id", "image_digest", "namespace", "image_name", "image_version", "registry_id",
                "registry_name", "registry_type", "instance_id", "instance_url"):
        if row.get(key) not in (None, ""):
            entry[key] = row[key]
    return entry


# Query keys of H1 / H3 -> the H5 (local) listing filter that selects the same images.
_H5_FROM_QUERY = {
    "host_id": "host_id", "host_name": "host_name", "private_ip": "host_ip",
    "container_id": "container_id", "container_name": "container_name", "pod_id": "pod_id",
    "pod_name": "pod_name", "app_name": "app_name", "has_vul": "has_vul", "image_name": "image_name",
    "image_version": "image_version", "local_image_type": "local_image_type", "image_size": "image_size",
}
# ... and -> the H6 (registry) listing filter.
_H6_FROM_QUERY = {
    "namespace": "namespace", "image_name": "image_name", "image_version": "image_version",
    "image_type": "image_type", "has_vul": "has_vul", "image_size": "image_size",
}
# Trigger scan_status words -> the listing filter word that selects a superset of them.
_LIST_STATUS = {"unscan": "unscan", "success": "success", "scanning": "scanning", "failed": "failed",
                "download_failed": "failed", "image_oversized": "failed"}
#: Query keys no listing can apply: a plan cannot be made per image with them.
UNPLANNABLE_KEYS = ("public_ip", "cluster_id")


def listing_filter(query, image_type):
    """``(filters, check)``: the H5/H6 filters that select what a trigger with ``query`` selects,
    and a function ``check(row)`` for the conditions the listing cannot apply itself."""
    mapping = _H5_FROM_QUERY if image_type == "local" else _H6_FROM_QUERY
    filters = {}
    checks = []
    for key, value in (query or {}).items():
        if key in mapping:
            filters[mapping[key]] = value
    status = (query or {}).get("scan_status")
    if status:
        filters["scan_status"] = _LIST_STATUS[status]
        if status != _LIST_STATUS[status]:
            checks.append(lambda row, word=status: normalise_image_status(row) == image_status(word))
    for name in ("update", "scan"):
        start = (query or {}).get("start_latest_%s_time" % name)
        end = (query or {}).get("end_latest_%s_time" % name)
        if start is None and end is None:
            continue
        if start is not None and end is not None:
            filters["start_latest_%s_time" % name] = start
            filters["end_latest_%s_time" % name] = end
        field = "latest_%s_time" % name
        checks.append(lambda row, s=start, e=end, f=field: (
            (s is None or int(row.get(f) or 0) >= s) and (e is None or int(row.get(f) or 0) <= e)))
    if image_type == "local" and (query or {}).get("namespace"):
        checks.append(lambda row, ns=query["namespace"]: str(row.get("image_name") or "").rpartition("/")[0] == ns)

    def check(row):
        return all(test(row) for test in checks)

    return filters, check


# ---------------------------------------------------------------------------------------------
# Normalising answers
# ---------------------------------------------------------------------------------------------


def _text_or_none(value):
    return value if value not in (None, "") else None


#: The keys that say where a registry image is.
_REGISTRY_KEYS = ("namespace", "registry_id", "registry_name", "registry_type")


def _texts(row, keys):
    """``{key: text or None}`` of ``keys`` of a row."""
    return dict((key, _text_or_none(row.get(key))) for key in keys)


def normalise_task(row):
    """The normalised ``task`` of an H2 (ListImageScanTask) row."""
    if not row:
        return None
    status = row_task_status(row)
    total = _scan.int_or(row.get("total_num"))
    succeeded = _scan.int_or(row.get("success_num"))
    failed = _scan.int_or(row.get("failed_num"))
    if status == _scan.TASK_SUCCEEDED:
        progress = 100
    elif status == _scan.TASK_RUNNING:
        progress = max(0, min(99, _scan.int_or(row.get("task_status"))))
    else:
        progress = int(100 * (succeeded + failed) / total) if total else 0
    failed_images = []
    for item in row.get("failed_images") or []:
        failed_images.append(dict(_texts(item, _REGISTRY_KEYS), id=item.get("id"), name=item.get("image_name"),
                                  version=item.get("image_version"), reason=_text_or_none(item.get("failed_reason"))))
    remain = row.get("remain_min")
    return {
        "id": row.get("task_id"),
        "name": row.get("task_name"),
        "image_type": row.get("image_type"),
        "status": status,
        "progress": progress,
        "begin_time": epoch_ms_to_iso(row.get("begin_time")),
        "end_time": epoch_ms_to_iso(row.get("end_time")),
        "remaining_minutes": 0 if _scan.task_is_done(status) else (_scan.int_or(remain) if remain is not None else None),
        "total": total,
        "succeeded": succeeded,
        "failed": failed,
        "risky": _scan.int_or(row.get("risky_num")),
        "failed_images": failed_images,
    }


#: H5 reports an oversized image as ``failed`` with this reason: it fails for good.
_OVERSIZED_REASONS = ("huge_image", "image_over_sized", "image_layer_over_sized")


def normalise_image_status(row):
    """The collection's ``scan_status`` of an H5/H6 row.

    H5 words ``waiting``/``waiting_for_scan`` become ``waiting`` and ``unscan`` ``unscanned``; an
    image that ``failed`` because it is too large (``huge_image``) is ``image_oversized``, since
    scanning it again cannot succeed.
    """
    status = image_status(row.get("scan_status"))
    if status == _scan.IMAGE_FAILED:
        reason = row.get("scan_failed_desc") or row.get("scan_failed_code")
        if reason in _OVERSIZED_REASONS:
            return _scan.IMAGE_OVERSIZED
    return status


def unscannable_reason(row):
    """The cloud's reason why it will not scan the image of an H5/H6 row, else ``None``: H5
    ``non_scan_reason`` (empty when the image can be scanned), H6 ``scannable: false``."""
    reason = _text_or_none(row.get("non_scan_reason"))
    if reason:
        return reason
    if row.get("scannable") is False:
        return "HSS marks the image as not scannable (scannable: false)"
    return None


def _host_of(row):
    if not (row.get("host_id") or row.get("host_name")):
        return None
    return {
        "id": _text_or_none(row.get("host_id")),
        "name": _text_or_none(row.get("host_name")),
        "ip": _text_or_none(row.get("host_ip") or row.get("private_ip")),
    }


def normalise_image(row, image_type):
    """The normalised ``image`` of an H5 (``local``) or H6 (``registry``) row."""
    status = normalise_image_status(row)
    cannot = unscannable_reason(row)
    if cannot:
        status = _scan.IMAGE_UNSCANNABLE
    counts = {
        "vulnerabilities": _scan.int_or(row.get("vul_num")),
        "unsafe_settings": _scan.int_or(row.get("unsafe_setting_num")),
        "malicious_files": _scan.int_or(row.get("malicious_file_num")),
    }
    host = None
    registry = None
    if image_type == "local":
        host = _host_of(row)
        counts.update(components=_scan.int_or(row.get("component_num")),
                      containers=_scan.int_or(row.get("container_num")),
                      hosts=_scan.int_or(row.get("host_num")))
    else:
        registry = dict(_texts(row, _REGISTRY_KEYS + ("image_type", "instance_id")), record_id=row.get("id"))
    image = {
        "name": row.get("image_name"),
        "version": row.get("image_version"),
        "id": row.get("image_id"),
        "digest": _text_or_none(row.get("image_digest")),
        "host": host,
        "hosts": [host] if host else [],
        "image_type": image_type,
        "registry": registry,
        "scan_status": status,
        "failure_reason": _text_or_none(row.get("scan_failed_desc") or row.get("scan_failed_code")),
        "latest_scan_time": epoch_ms_to_iso(row.get("latest_scan_time")),
        "severity": severity(row.get("severity_level")),
        "vulnerability_count": counts["vulnerabilities"],
        "counts": counts,
    }
    if image_type == "local":
        image["non_scan_reason"] = _text_or_none(row.get("non_scan_reason"))
    if "scannable" in row:
        image["scannable"] = row.get("scannable") is not False
    if cannot:
        image["unscannable_reason"] = cannot
    return image


_FIXED_PATTERNS = [
    re.compile(r"\b(?:upgrade|update)\b.*?\bto\b\s+(?:version\s+)?v?([0-9][^\s,;]*?)(?:\s+or\s+(?:later|above|higher)|[.,;]?\s*$|[,;]|\.\s|\s)", re.I),
    re.compile(r"\bfixed\s+in\s+(?:version\s+)?v?([0-9][^\s,;]*?)(?:[.,;]?\s*$|[,;]|\.\s|\s)", re.I),
    re.compile(r"\bv?([0-9][^\s,;]*?)\s+or\s+(?:later|above|higher)\b", re.I),
]
_NO_FIX = re.compile(r"\b(?:no\b[^.]*\b(?:fix|patch|solution|fixed version)|not\s+(?:yet\s+)?(?:fixed|available)|"
                     r"won'?t\s+fix|none)\b", re.I)


def parse_fixed_version(solution):
    """The fixed version named in an H8 ``solution`` text (``Upgrade pkg to 1.2.3 or later.``,
    ``fixed in 1.2.3``), or ``None``."""
    if not solution:
        return None
    for pattern in _FIXED_PATTERNS:
        match = pattern.search(solution)
        if match:
            return match.group(1).rstrip(".")
    return None


#: The four-level rating of ListGeneralImageVuls (``severity_level``).
_RATINGS = ("critical", "high", "medium", "low")


def cvss_score(row):
    """The highest CVSS score of a ListGeneralImageVuls row (``max_cvss_score``, ``cve_list``),
    or ``None`` when it gives none (0 counts as none)."""
    scores = [row.get("max_cvss_score")] + [item.get("cvss") for item in row.get("cve_list") or []
                                            if isinstance(item, dict)]
    numbers = []
    for score in scores:
        try:
            number = float(score)
        except (TypeError, ValueError):
            continue
        if 0 < number <= 10:
            numbers.append(number)
    return max(numbers) if numbers else None


def rating(row):
    """``(severity, severity_source, cvss_v3)`` of a ListGeneralImageVuls row: its four-level
    rating (``severity_level``), or where it gives none the severity of its CVSS v3 score
    (:func:`_scan.cvss_severity`), else ``unknown``."""
    score = cvss_score(row)
    word = str(row.get("severity_level") or "").strip().lower()
    if word in _RATINGS:
        return word, "rating", score
    from_score = _scan.cvss_severity(score)
    if from_score is not None and from_score != "none":
        return from_score, "cvss_v3", score
    return "unknown", "rating", score


def _fix(solution):
    solution = _text_or_none(solution)
    fixed = parse_fixed_version(solution)
    return fixed, bool(fixed) or bool(solution and not _NO_FIX.search(solution))


def normalise_finding(row, rated=None):
    """The normalised finding of an H8 (ListImageVulnerabilities, registry images) row.

    H8 rows carry no fixed version: it is read from the ``solution`` text. ``fixable`` is true
    when a fixed version is known, or when there is a solution text that does not say that no
    fix exists. The severity is the four-level rating of the vulnerability's ListGeneralImageVuls
    row ``rated`` when known; else H8's ``repair_necessity`` (``immediate_repair`` is ``high``,
    also for a critical vulnerability; ``severity_source: repair_necessity`` says so).
    """
    fixed, fixable = _fix(row.get("solution"))
    if rated is not None:
        word, source, score = rating(rated)
    else:
        word, source, score = severity(row.get("repair_necessity")), "repair_necessity", None
    return {
        "id": row.get("vul_id"),
        "name": _text_or_none((rated or {}).get("vul_name")),
        "severity": word,
        "severity_source": source,
        "cvss_v3": score,
        "package": _text_or_none(row.get("app_name")),
        "version": _text_or_none(row.get("version")),
        "fixed_version": fixed,
        "fixable": fixable,
        "description": _text_or_none(row.get("description")),
        "url": _text_or_none(row.get("url")),
    }


def _versions(app):
    words = []
    for path in app.get("paths") or []:
        version = _text_or_none(path.get("app_version")) if isinstance(path, dict) else None
        if version and version not in words:
            words.append(version)
    return ", ".join(sorted(words)) or None


def normalise_rated_findings(row, apps=None):
    """The normalised findings of one vulnerability of a local image: its ListGeneralImageVuls
    ``row`` (rating, CVSS, solution) and the ListVulAffectImageApps rows ``apps`` of the image
    (the software it is found in). One finding per package (sorted by name); one without a
    package when the cloud names none."""
    fixed, fixable = _fix(row.get("solution_detail"))
    word, source, score = rating(row)
    base = {
        "id": row.get("vul_id"),
        "name": _text_or_none(row.get("vul_name")),
        "severity": word,
        "severity_source": source,
        "cvss_v3": score,
        "package": None,
        "version": None,
        "fixed_version": fixed,
        "fixable": fixable,
        "description": _text_or_none(row.get("description")),
        "url": _text_or_none(row.get("url")),
    }
    packages = {}
    for app in apps or []:
        if not isinstance(app, dict):
            continue
        name = _text_or_none(app.get("app_name"))
        known = packages.setdefault(name, {"paths": []})
        known["paths"].extend(app.get("paths") or [])
    if not packages:
        return [base]
    return [dict(base, package=name, version=_versions(packages[name]))
            for name in sorted(packages, key=lambda n: (n is None, n or ""))]


def normalise_host(row):
    """The normalised host of a ListHostStatus row."""
    status = row.get("agent_status")
    return {
        "id": row.get("host_id"),
        "name": row.get("host_name"),
        "ip": _text_or_none(row.get("private_ip")),
        "agent_id": _text_or_none(row.get("agent_id")),
        "agent_status": str(status).strip().lower() if status else "unknown",
        "os_type": _text_or_none(row.get("os_type")),
        "protect_status": _text_or_none(row.get("protect_status")),
    }


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------


def row_key(row):
    """What tells two H5 rows apart: the image id and the host."""
    return (row.get("image_id"), row.get("host_id"))


def local_image_matches(spec, row):
    """Whether an H5 row is the image a checked ``images`` entry names."""
    if spec.get("image_id"):
        return row.get("image_id") == spec["image_id"]
    if spec.get("image_digest"):
        return row.get("image_digest") == spec["image_digest"]
    return row.get("image_name") == spec.get("image_name") and row.get("image_version") == spec.get("image_version")


def describe_local(spec):
    if spec.get("image_id"):
        return "image_id %s" % spec["image_id"]
    if spec.get("image_digest"):
        return "image_digest %s" % spec["image_digest"]
    return "%s:%s" % (spec.get("image_name"), spec.get("image_version"))


def plan_grouped(rows, image_type, max_age, force, now=None):
    """The per-image plan of listed rows, grouped by image.

    A scan targets an image, and HSS scans a local image on every host that holds it, so the
    rows (one per host for local images) of an image are planned together: when one of them
    needs a scan, the image is scanned, and its other rows are scanned along with it unless
    they are being scanned already. Returns ``(to_scan_rows, triggered, skipped)``: the rows of
    the images to scan (one per image) and the ``images_triggered`` / ``images_skipped`` entries.
    """
    groups = []
    by_id = {}
    for row in rows:
        image = normalise_image(row, image_type)
        key = image["id"] if image_type == "local" else (row.get("id"), image["id"])
        if key not in by_id:
            by_id[key] = []
            groups.append(key)
        by_id[key].append((row, image))
    to_scan, triggered, skipped = [], [], []
    now = _clock.now() if now is None else now
    for key in groups:
        members = by_id[key]
        decisions = [_scan.plan_image(image, max_age, force, now=now) for dummy, image in members]
        if any(action == "scan" for action, dummy in decisions):
            to_scan.append(members[0][0])
            for (row, image), (action, reason) in zip(members, decisions):
                if action == "scan":
                    triggered.append(_scan.image_ref(image, reason))
                elif image["scan_status"] in _scan.IMAGE_IN_PROGRESS or image["scan_status"] == _scan.IMAGE_UNSCANNABLE:
                    skipped.append(_scan.image_ref(image, reason))
                else:
                    triggered.append(_scan.image_ref(image, "scanned along with the same image on another host"))
        else:
            for (row, image), (action, reason) in zip(members, decisions):
                skipped.append(_scan.image_ref(image, reason))
    return to_scan, triggered, skipped
