# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What TCSS says and how it maps onto the collection's shapes. Pure: no I/O.

- TCSS's words and tables: scan types and scopes, task states, image scan states, levels and
  China Standard Time;
- option checks (before any request), request parameters;
- the normalisers that turn TCSS answers into the collection's shapes (``task``, ``image``,
  ``finding``, ``host``; see docs/architecture.md).

The calls themselves are made by ``_tcss_ops``. API labels (T1..T8) as in docs/architecture.md.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

#: Scan types and the CreateAssetImageScanTask flag each one sets.
SCAN_TYPES = {
    "vulnerability": "ScanVul",
    "virus": "ScanVirus",
    "risk": "ScanRisk",
}

#: ``ScanScope`` values.
SCAN_SCOPES = {
    "all_authorized": 0,
    "selected": 1,
    "recommended": 2,
    "cluster": 3,
}

#: One-click task ``SubStatus`` (DescribeAssetImageScanTask) once ``Status`` is ``END``.
_SUBSTATUS = {
    "success": _scan.TASK_SUCCEEDED,
    "timeout": _scan.TASK_TIMED_OUT,
    "cancel": _scan.TASK_STOPPED,
    "error": _scan.TASK_FAILED,
}


#: ``Status`` words of a task that has not ended (the documented ones and those seen).
RUNNING_WORDS = ("", "READY", "SCANNING", "WAITING", "PENDING", "QUEUING", "QUEUED", "RUNNING")
#: ``Status`` words of an ended task.
END_WORDS = ("END", "FINISHED", "DONE", "SUCCESS")
_STOPPED_WORDS = ("CANCEL", "CANCELLED", "STOPPED", "STOP")
_TIMED_OUT_WORDS = ("TIMEOUT",)
_FAILED_WORDS = ("FAILED", "FAIL", "ERROR")


def unknown_status_word(status):
    """The task ``Status`` word when it is none TCSS is known to use, else ``None``."""
    word = (status or "").strip().upper()
    known = RUNNING_WORDS + END_WORDS + _STOPPED_WORDS + _TIMED_OUT_WORDS + _FAILED_WORDS
    return None if word in known else word


def task_status(status, schedule=None, sub_status=None, scanned=None, total=None):
    """The collection's task state of a TCSS task (DescribeAssetImageScanStatus /
    DescribeAssetImageScanTask).

    A task that has not ended (``READY``, ``SCANNING``, ``QUEUING``, ``RUNNING``..., and any word
    not known, see :func:`unknown_status_word`) is running until its ``Schedule`` reaches 100,
    then done. ``END`` is decided by ``SubStatus`` when known; without it, a task that ended
    before it scanned all its images (``ImageScanCnt``, failed scans included, below
    ``ImageTotal``) was stopped, and one that scanned them all finished, whatever its
    ``Schedule``: its failed images are counted in ``failed`` and the per-image results tell the
    rest.
    """
    word = (status or "").strip().upper()
    if word in END_WORDS:
        if sub_status:
            return _SUBSTATUS.get(sub_status.strip().lower(), _scan.TASK_FAILED)
        if total is not None and scanned is not None and int(scanned) < int(total):
            return _scan.TASK_STOPPED
        return _scan.TASK_SUCCEEDED
    if word in _STOPPED_WORDS:
        return _scan.TASK_STOPPED
    if word in _TIMED_OUT_WORDS:
        return _scan.TASK_TIMED_OUT
    if word in _FAILED_WORDS:
        return _scan.TASK_FAILED
    if schedule is not None and _scan.int_or(schedule) >= 100:
        return _scan.TASK_SUCCEEDED
    return _scan.TASK_RUNNING


#: ``ScanStatus`` words (filter words; answers may be upper case) -> the collection's states
#: (``scanning``, ``waiting``, ``success`` and ``failed`` are the same words).
_IMAGE_STATUS_WORDS = dict(notscan=_scan.IMAGE_UNSCANNED, scanned=_scan.IMAGE_SUCCESS, scanerr=_scan.IMAGE_FAILED)


def image_status(word):
    """The collection's scan state of a TCSS ``ScanStatus`` (``unscanned`` when empty)."""
    return _scan.image_status_of(_IMAGE_STATUS_WORDS, word)


#: Vulnerability ``Level``.
LEVELS = {1: "low", 2: "medium", 3: "high", 4: "critical"}

#: ``YYYY-MM-DD HH:MM:SS`` times are China Standard Time, as in the console.
UTC_OFFSET = datetime.timedelta(hours=8)


_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def time_to_iso(value):
    """ISO 8601 UTC text of a TCSS time: ``YYYY-MM-DD HH:MM:SS`` is China Standard Time
    (UTC+8); a time with a UTC offset (``+08:00``, ``-0500``) is at that offset; an ISO time
    ending in ``Z`` or without an offset (``CreateTime``) is UTC. Fractions of a second are
    dropped. ``None`` when empty or unreadable."""
    if not value or str(value).startswith("0000"):
        return None
    text = str(value).strip()
    offset = None
    if text.endswith("Z"):
        text, offset = text[:-1], datetime.timedelta(0)
    else:
        match = _OFFSET_RE.search(text)
        if match and len(text) > 19:
            sign = -1 if match.group(1) == "-" else 1
            offset = sign * datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
            text = text[:match.start()]
    if offset is None:
        offset = datetime.timedelta(0) if "T" in text else UTC_OFFSET
    try:
        parsed = datetime.datetime.strptime(text.replace("T", " ")[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return (parsed - offset).strftime("%Y-%m-%dT%H:%M:%SZ")


#: A scan time more than this many seconds ahead of the controller's clock shows that the
#: cloud's clock runs ahead.
SKEW_MARGIN = 2


def clock_ahead(images, now):
    """How many seconds the cloud's clock is known to run ahead of ``now``: the latest scan time
    of the normalised ``images`` beyond ``now`` (a scan cannot end in the future), or 0. A lower
    bound: the cloud may be further ahead than its latest scan shows."""
    times = [_scan.iso_to_epoch(image.get("latest_scan_time")) for image in images]
    ahead = max([t - now for t in times if t is not None] or [0])
    return int(ahead) if ahead > SKEW_MARGIN else 0


#: Filter names of DescribeAssetImageList (T5), also accepted by CreateAssetImageScanTask (T1).
IMAGE_FILTER_NAMES = ("ImageName", "ImageID", "ScanStatus", "SecurityRisk")
#: Values of the ``ScanStatus`` image filter.
SCAN_STATUS_FILTER_VALUES = ("notScan", "scanning", "scanned", "scanErr")
#: Values of the ``SecurityRisk`` image filter.
SECURITY_RISK_FILTER_VALUES = ("VirusCnt", "RiskCnt", "IsTrustImage", "CriticalLevelVul",
                               "HighLevelVul", "MediumLevelVul", "LowLevelVul")
#: Filter names of DescribeAssetHostList (T7); ``tag:<key>`` is accepted too.
HOST_FILTER_NAMES = ("Status", "HostName", "Group", "HostIP", "HostID", "DockerVersion",
                     "MachineType", "DockerStatus", "ProjectID", "NonClusterNode")
#: Values of the ``Status`` host filter (agent state).
HOST_STATUS_FILTER_VALUES = ("ALL", "ONLINE", "OFFLINE", "UNINSTALL")

#: Normalised image scan status -> ``ScanStatus`` filter value.
SCAN_STATUS_TO_FILTER = {
    _scan.IMAGE_UNSCANNED: "notScan",
    _scan.IMAGE_WAITING: "scanning",
    _scan.IMAGE_SCANNING: "scanning",
    _scan.IMAGE_SUCCESS: "scanned",
    _scan.IMAGE_FAILED: "scanErr",
}

#: TCSS agent ``Status`` -> the collection's ``agent_status`` words (the HSS ones where they exist).
AGENT_STATUS = {
    "ONLINE": "online",
    "OFFLINE": "offline",
    "UNINSTALL": "not_installed",
}
#: ``agent_status`` word -> ``Status`` host filter value.
AGENT_STATUS_TO_FILTER = {
    "online": "ONLINE",
    "offline": "OFFLINE",
    "not_installed": "UNINSTALL",
    "all": "ALL",
}

#: Textual vulnerability levels some TCSS answers use (``MIDDLE`` is TCSS's word for medium).
_LEVEL_WORDS = {"CRITICAL": "critical", "SERIOUS": "critical", "HIGH": "high", "MIDDLE": "medium",
                "MEDIUM": "medium", "LOW": "low", "HINT": "low"}

#: At most this many values in one ``ImageID``/``HostID`` filter of a listing call.
FILTER_CHUNK = 100

ERR_ALREADY_SCANNING = "FailedOperation.ErrAlreadyScanning"

#: The scan state of an image TCSS will not scan (``IsAuthorized: 0``): nothing is tried, so it
#: is neither a failed scan nor one to start.
IMAGE_UNSCANNABLE = "unscannable"
#: Why an image with ``IsAuthorized: 0`` is not scanned.
UNAUTHORISED_REASON = "not authorised for scanning (IsAuthorized 0): no image licence covers it"


# ---------------------------------------------------------------------------------------------
# Option checks (before any request)
# ---------------------------------------------------------------------------------------------


def filter_suboptions(names=None):
    """The ``options`` of a ``filters`` option: ``name`` (one of ``names`` when given), ``values``
    and ``exact_match``."""
    name = dict(type="str", required=True)
    if names:
        name["choices"] = list(names)
    return dict(name=name, values=dict(type="list", elements="str", required=True), exact_match=dict(type="bool"))


def check_filters(filters, option, names, values_check=None):
    """Problems of a ``filters`` option (list of ``{name, values, exact_match}``).

    ``names`` are the allowed filter names (``tag:<key>`` is allowed when ``names`` is the
    host list). ``values_check(name, values)`` may return a problem for one filter.
    """
    problems = []
    for index, item in enumerate(filters or []):
        where = "%s[%d]" % (option, index)
        name = item.get("name")
        allowed = name in names or (names is HOST_FILTER_NAMES and str(name).startswith("tag:"))
        if not name or not allowed:
            extra = ", tag:<key>" if names is HOST_FILTER_NAMES else ""
            problems.append("%s.name must be one of %s%s, got %r" % (where, ", ".join(names), extra, name))
            continue
        values = item.get("values") or []
        if not values or any(v in (None, "") for v in values):
            problems.append("%s.values must list at least one non-empty value" % where)
            continue
        if values_check is not None:
            problem = values_check(name, values)
            if problem:
                problems.append("%s.values: %s" % (where, problem))
    return problems


def image_filter_values_problem(name, values):
    """A problem with the values of an image filter, or ``None``."""
    for allowed, filter_name in ((SCAN_STATUS_FILTER_VALUES, "ScanStatus"),
                                 (SECURITY_RISK_FILTER_VALUES, "SecurityRisk")):
        if name == filter_name:
            bad = [v for v in values if v not in allowed]
            if bad:
                return "%s values must be among %s, got %s" % (name, ", ".join(allowed), ", ".join(map(str, bad)))
    return None


def host_filter_values_problem(name, values):
    if name == "Status":
        bad = [v for v in values if v not in HOST_STATUS_FILTER_VALUES]
        if bad:
            return "Status values must be among %s, got %s" % (", ".join(HOST_STATUS_FILTER_VALUES), ", ".join(map(str, bad)))
    return None


def scan_problems(params):
    """What is wrong with the options of ``tcss_image_scan`` that Ansible cannot check itself
    (its ``mutually_exclusive`` and ``required_if`` rules and ``_module.list_problems`` check
    the rest)."""
    problems = []
    selection = [name for name in ("images", "filters", "host_ids") if params.get(name) is not None]
    if params.get("all_images"):
        selection.append("all_images")
    if params.get("host_ids") is not None and params["state"] != "present":
        problems.append("host_ids is only used with state=present")
    if any(not str(value).strip() for value in params.get("host_ids") or []):
        problems.append("host_ids must not contain empty values")
    problems.extend(listed_hosts_problems(params.get("listed_hosts"), "listed_hosts"))
    if params.get("task_id") is not None:
        if not params["task_id"].strip():
            problems.append("task_id must not be empty")
    elif not selection:
        if params["state"] == "present":
            problems.append("one of images, filters, host_ids or all_images=true is required with state=present "
                            "(or task_id to follow an existing task)")
        else:
            problems.append("one of task_id, images, filters or all_images=true is required with state=absent")
    problems.extend(check_filters(params.get("filters"), "filters", IMAGE_FILTER_NAMES, image_filter_values_problem))
    if not params.get("scan_types"):
        problems.append("scan_types must list at least one of vulnerability, virus, risk")
    scope = params.get("scan_scope")
    if scope is not None:
        if ("images" in selection or "filters" in selection or "host_ids" in selection) and scope != "selected":
            problems.append("scan_scope must be selected (or not set) with images, filters or host_ids, got %s"
                            % scope)
        if "all_images" in selection and scope == "selected":
            problems.append("scan_scope=selected needs images or filters; with all_images use all_authorized, "
                            "recommended or cluster")
    if params.get("cluster_ids") and scope != "cluster":
        problems.append("cluster_ids is only used with scan_scope=cluster")
    if params.get("start_timeout") is not None and params["start_timeout"] < 0:
        problems.append("start_timeout must be 0 or more seconds")
    if params.get("task_timeout") is not None and params["task_timeout"] <= 0:
        problems.append("task_timeout must be greater than 0")
    return problems


# ---------------------------------------------------------------------------------------------
# Request parameters
# ---------------------------------------------------------------------------------------------


def api_filters(filters):
    """``[AssetFilters]`` from the options' ``{name, values, exact_match}`` items."""
    result = []
    for item in filters or []:
        entry = {"Name": item["name"], "Values": [str(v) for v in item["values"]]}
        if item.get("exact_match") is not None:
            entry["ExactMatch"] = bool(item["exact_match"])
        result.append(entry)
    return result


def scan_task_params(scan_types, images=None, filters=None, exclude_image_ids=None,
                     container_running=None, scan_scope=None, cluster_ids=None, timeout=None,
                     one_click=None):
    """Parameters of CreateAssetImageScanTask (T1). Never sets the deprecated ``All``."""
    params = {}
    if images is not None:
        params["Images"] = list(images)
    for name, flag in SCAN_TYPES.items():
        params[flag] = name in (scan_types or [])
    if filters is not None:
        params["Filters"] = api_filters(filters)
    if exclude_image_ids:
        params["ExcludeImageIds"] = list(exclude_image_ids)
    if container_running is not None:
        params["ContainerRunning"] = bool(container_running)
    if scan_scope is not None:
        params["ScanScope"] = SCAN_SCOPES[scan_scope]
    if timeout is not None:
        params["Timeout"] = int(timeout)
    if one_click is not None:
        params["IsOneClickScanningTask"] = bool(one_click)
    if cluster_ids:
        params["ClusterIDs"] = list(cluster_ids)
    return params


def image_list_filters(filters=None, image_ids=None, image_name=None, scan_status=None):
    """``Filters`` of DescribeAssetImageList from the info module's options."""
    result = api_filters(filters)
    if image_ids:
        result.append({"Name": "ImageID", "Values": list(image_ids), "ExactMatch": True})
    if image_name:
        result.append({"Name": "ImageName", "Values": [image_name]})
    if scan_status:
        values = _scan.unique(SCAN_STATUS_TO_FILTER[s] for s in scan_status)
        result.append({"Name": "ScanStatus", "Values": values})
    return result


def host_list_filters(filters=None, status=None, host_name=None, host_ip=None, host_id=None):
    """``Filters`` of DescribeAssetHostList from the host module's options."""
    result = api_filters(filters)
    if status:
        result.append({"Name": "Status", "Values": _scan.unique(AGENT_STATUS_TO_FILTER[s] for s in status)})
    if host_name:
        result.append({"Name": "HostName", "Values": list(host_name)})
    if host_ip:
        result.append({"Name": "HostIP", "Values": list(host_ip)})
    if host_id:
        result.append({"Name": "HostID", "Values": list(host_id)})
    return result


# ---------------------------------------------------------------------------------------------
# Normalisers
# ---------------------------------------------------------------------------------------------


def _text(value):
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def split_image_name(full_name):
    """``(name, version, digest)`` of ``repo[:tag][@digest]``.

    A colon is a tag separator only after the last ``/`` (``host:5000/app`` has no tag).
    """
    text = str(full_name or "")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
    name, version = text, None
    head, sep, tail = text.rpartition(":")
    if sep and "/" not in tail:
        name, version = head, tail
    return name or None, version or None, digest or None


def task_from_status(status, task_id=None, begin_time=None, sub_status=None, end_time=None):
    """Normalised ``task`` from a DescribeAssetImageScanStatus (T2) answer.

    TCSS counts the images found safe (``SuccessCount``) and those with risks (``RiskCount``);
    both were scanned successfully, so ``succeeded`` is their sum and ``failed`` the rest of the
    scanned images.
    """
    status = status or {}
    total = _scan.int_or(status.get("ImageTotal"))
    scanned = _scan.int_or(status.get("ImageScanCnt"))
    safe = _scan.int_or(status.get("SuccessCount"))
    risky = _scan.int_or(status.get("RiskCount"))
    schedule = _scan.int_or(status.get("Schedule"))
    word = task_status(status.get("Status"), schedule=schedule, sub_status=sub_status, scanned=scanned, total=total)
    left = _scan.int_or(status.get("LeftSeconds"))
    return {
        "id": task_id or None,
        "name": None,
        "image_type": "local",
        "status": word,
        "progress": 100 if word == _scan.TASK_SUCCEEDED else max(0, min(schedule, 100)),
        "begin_time": begin_time,
        "end_time": end_time,
        "remaining_minutes": 0 if _scan.task_is_done(word) else (left + 59) // 60,
        "total": total,
        "succeeded": safe + risky,
        "failed": max(scanned - safe - risky, 0),
        "risky": risky,
        "failed_images": [],
    }


def task_from_one_click(answer):
    """Normalised ``task`` from a DescribeAssetImageScanTask (T3) answer, or ``None`` when it
    names no task. T3 gives no counts: they are ``None`` until T2 is read."""
    answer = answer or {}
    task_id = _text(answer.get("TaskID"))
    if not task_id:
        return None
    word = task_status(answer.get("Status"), sub_status=_text(answer.get("SubStatus")))
    return {
        "id": task_id,
        "name": None,
        "image_type": "local",
        "status": word,
        "progress": 100 if word == _scan.TASK_SUCCEEDED else None,
        "begin_time": time_to_iso(answer.get("LastScanTime")),
        "end_time": None,
        "remaining_minutes": None,
        "total": None,
        "succeeded": None,
        "failed": None,
        "risky": None,
        "failed_images": [],
    }


def merge_task(status_task, one_click_task):
    """The T2 view of a task completed with what T3 knows of the same task (times, SubStatus)."""
    if not one_click_task or one_click_task.get("id") != status_task.get("id"):
        return status_task
    merged = dict(status_task)
    if merged.get("begin_time") is None:
        merged["begin_time"] = one_click_task.get("begin_time")
    if _scan.task_is_done(one_click_task["status"]) and _scan.task_is_done(merged["status"]):
        # T3's SubStatus tells a stop or a timeout from a success better than T2's counts.
        merged["status"] = one_click_task["status"]
    return merged


def image_counts(row):
    """The ``counts`` of an image: per-severity vulnerabilities plus the other counters."""
    return {
        "critical": _scan.int_or(row.get("CriticalLevelVulCnt")),
        "high": _scan.int_or(row.get("HighLevelVulCnt")),
        "medium": _scan.int_or(row.get("MediumLevelVulCnt")),
        "low": _scan.int_or(row.get("LowLevelVulCnt")),
        "vulnerabilities": _scan.int_or(row.get("VulCnt")),
        "viruses": _scan.int_or(row.get("VirusCnt")),
        "risks": _scan.int_or(row.get("RiskCnt")),
        "components": _scan.int_or(row.get("ComponentCnt")),
        "hosts": _scan.int_or(row.get("HostCnt")),
        "containers": _scan.int_or(row.get("ContainerCnt")),
    }


def image_severity(scan_status, counts, findings=None):
    """Worst severity of an image: from its per-severity counts (or findings), ``none`` for a
    successfully scanned image without vulnerabilities, else ``unknown``."""
    words = [word for word in ("critical", "high", "medium", "low") if counts.get(word)]
    if findings:
        words.extend(f.get("severity") for f in findings if f.get("severity") != "unknown")
    if words:
        return _scan.worst_severity(words)
    if counts.get("vulnerabilities"):
        return "unknown"
    if scan_status == _scan.IMAGE_SUCCESS:
        return "none"
    return "unknown"


def _failure_reason(row, scan_status):
    if scan_status not in _scan.IMAGE_FINISHED_BAD:
        return None
    for key in ("ScanError", "ScanVulError", "ScanVirusError", "ScanRiskError", "AgentError"):
        text = _text(row.get(key))
        if text:
            return text
    return None


def normalise_image(row):
    """Normalised ``image`` from a DescribeAssetImageList (T5) row.

    ``host`` is always ``None`` (a TCSS image may be on many hosts) and ``hosts`` stays empty
    until :func:`attach_hosts` fills it; ``image_type`` is ``local`` like HSS's images on hosts.
    """
    name, version, digest = split_image_name(row.get("ImageName"))
    scan_status = image_status(row.get("ScanStatus"))
    counts = image_counts(row)
    authorized = row.get("IsAuthorized")
    authorized = None if authorized is None or authorized == "" else _scan.int_or(authorized, 1) != 0
    reason = None
    if authorized is False:
        scan_status, reason = IMAGE_UNSCANNABLE, UNAUTHORISED_REASON
    return {
        "name": name,
        "version": version,
        "id": _text(row.get("ImageID")),
        "digest": digest,
        "host": None,
        "hosts": [],
        "image_type": "local",
        "registry": None,
        "scan_status": scan_status,
        "failure_reason": _failure_reason(row, scan_status),
        "latest_scan_time": time_to_iso(row.get("ScanTime")),
        "severity": image_severity(scan_status, counts),
        "vulnerability_count": counts["vulnerabilities"],
        "counts": counts,
        "authorized": authorized,
        "unscannable_reason": reason,
    }


def finding_severity(level):
    """The collection's severity word of a TCSS vulnerability ``Level`` (1 low .. 4 critical,
    see ``LEVELS``; textual levels such as ``MIDDLE`` are understood too)."""
    if level is None or level == "" or isinstance(level, bool):
        return "unknown"
    if isinstance(level, str) and level.strip().upper() in _LEVEL_WORDS:
        return _LEVEL_WORDS[level.strip().upper()]
    try:
        return LEVELS.get(int(str(level).strip()), "unknown")
    except ValueError:
        return "unknown"


def normalise_finding(row):
    """Normalised finding from a DescribeAssetImageVulList (T6) row."""
    fixed = _text(row.get("FixedVersions"))
    tags = row.get("Tag") or []
    return {
        "id": _text(row.get("CVEID")) or _text(row.get("Name")),
        "severity": finding_severity(row.get("Level")),
        "package": _text(row.get("Component")),
        "version": _text(row.get("Version")),
        "fixed_version": fixed,
        "fixable": bool(fixed) or "CanBeFixed" in tags,
        "description": _text(row.get("Des")),
        "url": _text(row.get("Reference")),
        "cvss_v3": _score(row.get("CVSSV3Score")),
        # ``Level`` is TCSS's four-level rating.
        "severity_source": "rating",
    }


def _score(value):
    """A CVSS score as a float, or ``None`` when missing or not a number (0 counts as missing)."""
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0 < score <= 10 else None


def add_findings(image, rows):
    """Add ``findings`` and ``severity_counts`` to a normalised image (in place)."""
    findings = [normalise_finding(row) for row in rows or []]
    image["findings"] = findings
    image["severity_counts"] = _scan.severity_counts(findings)
    image["severity"] = image_severity(image["scan_status"], image["counts"], findings)
    return image


def agent_status(status):
    """The collection's ``agent_status`` word of a TCSS host ``Status``."""
    text = _text(status)
    if text is None:
        return "unknown"
    return AGENT_STATUS.get(text.upper(), text.lower())


def listed_hosts_problems(hosts, option):
    """What is wrong with a list of hosts as ``tcss_host_info`` returns them (each a dict with a
    non-empty ``id``)."""
    problems = []
    for index, host in enumerate(hosts or []):
        if not isinstance(host, dict) or not _text(host.get("id")):
            problems.append("%s[%d] must be a host with an id (the hosts of tcss_host_info), got %r"
                            % (option, index, host))
    return problems


def listed_host_refs(hosts):
    """``{id: {id, name, ip}}`` of hosts as ``tcss_host_info`` returns them."""
    refs = {}
    for host in hosts or []:
        ref = {"id": _text(host["id"]), "name": _text(host.get("name")), "ip": _text(host.get("ip"))}
        refs[ref["id"]] = ref
    return refs


def host_ref(row):
    """``{id, name, ip}`` of a DescribeAssetHostList (T7) row."""
    return {"id": _text(row.get("HostID")), "name": _text(row.get("HostName")), "ip": _text(row.get("HostIP"))}


def normalise_host(row):
    """Normalised host from a DescribeAssetHostList (T7) row."""
    cluster_id = _text(row.get("ClusterID"))
    project = row.get("Project") if isinstance(row.get("Project"), dict) else {}
    host = host_ref(row)
    host.update({
        "agent_status": agent_status(row.get("Status")),
        "cluster": {"id": cluster_id, "name": _text(row.get("ClusterName"))} if cluster_id else None,
        "docker_version": _text(row.get("DockerVersion")),
        "docker_file_system_driver": _text(row.get("DockerFileSystemDriver")),
        "is_containerd": bool(row.get("IsContainerd")),
        "image_count": _scan.int_or(row.get("ImageCnt")),
        "container_count": _scan.int_or(row.get("ContainerCnt")),
        "group": _text(row.get("Group")),
        "machine_type": _text(row.get("MachineType")),
        "public_ip": _text(row.get("PublicIp")),
        "instance_id": _text(row.get("InstanceID")),
        "uuid": _text(row.get("Uuid")),
        "project": {"id": project.get("ProjectID"), "name": _text(project.get("ProjectName"))} if project else None,
        "defend_status": _text(row.get("DefendStatus")),
        "last_online_time": time_to_iso(row.get("LastOnlineTime")),
    })
    return host


def attach_hosts(images, pairs, hosts_by_id):
    """Set ``hosts`` (``[{id, name, ip}]``) of normalised images from DescribeAssetImageHostList
    (T8) pairs; a host that T7 does not list keeps its id with no name or ip."""
    by_image = {}
    for pair in pairs or []:
        image_id, host_id = _text(pair.get("ImageID")), _text(pair.get("HostID"))
        if image_id and host_id:
            ids = by_image.setdefault(image_id, [])
            if host_id not in ids:
                ids.append(host_id)
    for image in images:
        refs = []
        for host_id in by_image.get(image["id"], []):
            refs.append(dict(hosts_by_id.get(host_id) or {"id": host_id, "name": None, "ip": None}))
        image["hosts"] = refs
    return images
