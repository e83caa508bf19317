# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters the image_scan role uses to turn one fleet-wide listing into per-host facts."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_gate as _gate
from ansible_collections.cloudsec.image_scan.plugins.filter.image_scan_gate import Display
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


def _image_hosts(image):
    hosts = list(image.get("hosts") or [])
    if image.get("host"):
        hosts.append(image["host"])
    return [h for h in hosts if h and _norm(h.get("id"))]


def _image_host_ids(image):
    return set(_norm(h.get("id")) for h in _image_hosts(image))


def image_scan_match(identities, cloud_hosts, images):
    """Match play hosts with the cloud's hosts and pick the images to consider.

    Returns ``{"hosts": {inventory_hostname: {"status", "cloud_host"}}, "host_ids": [...],
    "image_ids": [...], "image_hosts": {image_id: [host, ...]}}``: a host is ``not_enrolled`` when
    the cloud does not know it, ``agent_offline`` when its agent is not online, else ``scanned``;
    ``host_ids`` are the distinct cloud ids of the ``scanned`` hosts (whose images can be
    scanned), in play order, whatever ``images`` holds; ``image_ids`` are
    the distinct ids of the images on the hosts that can be scanned, in listing order;
    ``image_hosts`` keeps where the listed images are, so results collected later without host
    information can still be grouped by host.
    """
    # Every "seen" below is a set next to the list it keeps distinct: the listing of a large fleet
    # has tens of thousands of rows, and a list's membership test would make this quadratic.
    index = _scan.index_hosts(cloud_hosts)
    hosts = {}
    online_ids = set()
    host_ids = []
    seen_host_ids = set()
    for identity in identities or []:
        cloud_host = _scan.find_host(identity, index)
        if cloud_host is None:
            status = HOST_NOT_ENROLLED
        elif _norm(cloud_host.get("agent_status")) not in _ONLINE:
            status = HOST_AGENT_OFFLINE
        else:
            status = HOST_SCANNED
            online_ids.add(_norm(cloud_host.get("id")))
            if cloud_host.get("id") and cloud_host["id"] not in seen_host_ids:
                seen_host_ids.add(cloud_host["id"])
                host_ids.append(cloud_host.get("id"))
        hosts[identity["inventory_hostname"]] = {"status": status, "cloud_host": cloud_host}
    image_ids = []
    seen_image_ids = set()
    image_hosts = {}
    seen_image_hosts = {}
    for image in images or []:
        image_id = image.get("id")
        known = image_hosts.setdefault(image_id, [])
        seen = seen_image_hosts.setdefault(image_id, set())
        for host in _image_hosts(image):
            key = _host_key(host)
            if key not in seen:
                seen.add(key)
                known.append(host)
        if image_id in seen_image_ids or not (_image_host_ids(image) & online_ids):
            continue
        seen_image_ids.add(image_id)
        image_ids.append(image_id)
    return {"hosts": hosts, "host_ids": host_ids, "image_ids": image_ids, "image_hosts": image_hosts}


def _host_key(host):
    """A hashable key of a host reference (a small dict) that two equal references share."""
    def hashable(value):
        try:
            hash(value)
        except TypeError:
            return json.dumps(value, sort_keys=True, default=str)
        return value
    return tuple(sorted((to_text(key), hashable(value)) for key, value in host.items()))


def _image_counts(image):
    """Per-severity counts of one image: from its findings when collected, else from the
    per-severity counts the cloud gives (TCSS), else empty."""
    if image.get("severity_counts"):
        return dict(image["severity_counts"])
    counts = image.get("counts") or {}
    return dict((k, int(counts.get(k) or 0)) for k in _scan.COUNTED_SEVERITIES if k in counts)


# -- one severity scale ------------------------------------------------------------------------

#: Severities of the clouds' four-level ratings.
_FOUR_LEVELS = ("critical", "high", "medium", "low")
#: Keys a finding may carry its CVSS v3 base score in.
_CVSS_KEYS = ("cvss_v3", "cvss3", "cvss")
#: Sources of a finding's severity that are not a four-level rating.
_NOT_FOUR_LEVEL = ("repair_necessity",)


#: The severity of a CVSS v3 base score (9.0 and more critical, 7.0 high, 4.0 medium, else low).
cvss_severity = _scan.cvss_severity


def finding_severity(finding, provider=None):
    """A finding's severity on the one scale of the collection.

    The cloud's four-level rating (critical, high, medium, low) when it gave one; where it did not
    (unknown, or an HSS repair necessity, which puts critical and high together) and a CVSS v3
    score is known, the score decides (9.0 and more is critical).
    """
    word = finding.get("severity") or "unknown"
    source = finding.get("severity_source")
    rated = word in _FOUR_LEVELS and source not in _NOT_FOUR_LEVEL and not (
        provider == "hss" and source is None and word == "high")
    if rated:
        return word
    for key in _CVSS_KEYS:
        from_score = cvss_severity(finding.get(key))
        if from_score is not None:
            return from_score
    return word


# -- freshness ---------------------------------------------------------------------------------

GATE_FRESH = "fresh"
GATE_INCOMPLETE = "incomplete"
GATE_UNSCANNABLE = "unscannable"

HOST_INCOMPLETE = "incomplete"
HOST_ERROR = "error"

#: The clouds' words for an image they will not scan (not a failed scan: nothing was tried).
IMAGE_UNSCANNABLE = "unscannable"
#: Scan times may be a little behind the controller's clock at the start of the run.
_RUN_CLOCK_MARGIN = 60


def unscannable_reason(image):
    """The cloud's reason why it cannot scan ``image``, or ``None`` when it can."""
    reason = _get(image, "unscannable_reason") or _get(image, "non_scan_reason")
    if image.get("scan_status") == IMAGE_UNSCANNABLE or image.get("scannable") is False or reason:
        return to_text(reason or image.get("failure_reason") or "the cloud does not scan this image")
    authorized = image.get("authorized", image.get("is_authorized"))
    if authorized in (False, 0, "0"):
        return "not authorized: no image licence covers it"
    return None


def _epoch(value):
    try:
        return _scan.iso_to_epoch(value)
    except (TypeError, ValueError):
        return None


def image_gate_status(image, run_started, now, max_age, force=False, clock_offset=0):
    """``(gate_status, reason)`` of one image: ``fresh`` when its scan succeeded in this run or
    within ``max_age`` seconds (only this run with ``force``); ``unscannable`` when the cloud will
    not scan it; else ``incomplete`` with why."""
    reason = unscannable_reason(image)
    if reason:
        return GATE_UNSCANNABLE, reason
    status = image.get("scan_status") or _scan.IMAGE_UNSCANNED
    when = image.get("latest_scan_time")
    if status == _scan.IMAGE_SUCCESS:
        # On our clock: as the module measured it (``latest_scan_time_local``), else the cloud's
        # time less how far the module saw the cloud's clock run ahead (``clock_offset``).
        local = _epoch(image.get("latest_scan_time_local"))
        scanned = local if local is not None else _epoch(when)
        if local is None and scanned is not None:
            scanned -= max(0, clock_offset or 0)
        if scanned is None:
            return GATE_INCOMPLETE, "scanned, but the time of the scan is unknown"
        if run_started is not None and scanned >= run_started - _RUN_CLOCK_MARGIN:
            return GATE_FRESH, None
        if force:
            return GATE_INCOMPLETE, "force is set and the last successful scan (%s) is from before this run" % when
        if max_age is None or now - scanned < max_age:
            return GATE_FRESH, None
        return GATE_INCOMPLETE, "the last successful scan (%s) is older than max_age" % when
    if status in _scan.IMAGE_IN_PROGRESS:
        return GATE_INCOMPLETE, "the scan is still %s" % status
    if status == _scan.IMAGE_UNSCANNED:
        return GATE_INCOMPLETE, "never scanned"
    failure = image.get("failure_reason")
    if status in _scan.IMAGE_FINISHED_BAD:
        return GATE_INCOMPLETE, "the scan ended %s%s%s" % (
            status, ": %s" % failure if failure else "", " at %s" % when if when else "")
    return GATE_INCOMPLETE, "scan status %s" % status


# -- counting ----------------------------------------------------------------------------------


def _findings_usable(image):
    """Whether the image's findings tell the whole story (collected, and consistent with what the
    cloud counted)."""
    findings = image.get("findings")
    if not isinstance(findings, list):
        return False
    if findings:
        return True
    reported = [image.get("severity") or "unknown"] + [k for k, v in _image_counts(image).items() if v]
    return not int(image.get("vulnerability_count") or 0) and _scan.worst_severity(
        w for w in reported if w != "unknown") == "none"


def _counted(finding, ignore_unfixed, new_only):
    if finding.get("suppressed"):
        return False
    if ignore_unfixed and not finding.get("fixable"):
        return False
    if new_only and finding.get("baseline") not in (None, "new"):
        return False
    return True


def _image_verdict(image, provider, ignore_unfixed, new_only):
    """``(worst counted severity, counts)`` of one image, as the gate sees it."""
    counts = dict.fromkeys(_scan.COUNTED_SEVERITIES, 0)
    if _findings_usable(image):
        words = []
        for finding in image["findings"]:
            if _counted(finding, ignore_unfixed, new_only):
                word = finding_severity(finding, provider)
                words.append(word)
                if word in counts:
                    counts[word] += 1
                elif word != "none":
                    counts["unknown"] += 1
        return _scan.worst_severity(w for w in words if w != "unknown"), counts
    if ignore_unfixed:
        # Without findings nothing is known to be fixable.
        return "none", counts
    words = [image.get("severity") or "unknown"]
    for key, value in _image_counts(image).items():
        if key in counts:
            counts[key] += int(value or 0)
        if value:
            words.append(key)
    return _scan.worst_severity(w for w in words if w != "unknown"), counts


# -- exceptions and baseline -------------------------------------------------------------------


def _apply_exceptions(image, host_names, exceptions, expired_seen):
    findings = []
    for finding in image["findings"]:
        finding = dict(finding)
        entry = _gate.exception_for(finding, image, host_names, exceptions)
        finding["suppressed"] = _gate.suppression(entry) if entry else None
        if entry is None:
            stale = _gate.exception_for(finding, image, host_names, exceptions, expired=True)
            if stale is not None:
                expired_seen.setdefault(stale["index"], stale)
        findings.append(finding)
    image["findings"] = findings


def _delta(host, host_images, baseline, provider):
    """``delta`` of a host against the baseline, and the baseline state of each finding key."""
    hosts = baseline.get("hosts") or {}
    found = host in hosts
    before = dict((_gate.ref_key(ref), ref) for ref in hosts.get(host) or [])
    now_refs = {}
    unsure = set()
    for image in host_images:
        name = to_text(image.get("name") or image.get("id") or "")
        if image.get("gate_status") != GATE_FRESH or not isinstance(image.get("findings"), list):
            unsure.add(name)
            continue
        for finding in image["findings"]:
            key = _gate.finding_key(image, finding)
            now_refs.setdefault(key, {
                "image_id": image.get("id"), "image": _gate.image_label(image), "name": image.get("name"),
                "id": finding.get("id"), "severity": finding_severity(finding, provider), "package": finding.get("package"),
                "suppressed": bool(finding.get("suppressed")),
            })
    states = dict((key, "unchanged" if key in before else "new") for key in now_refs)
    fixed = [ref for key, ref in before.items() if key not in now_refs and key[0] not in unsure]
    delta = {
        "baseline": baseline.get("source"),
        "baseline_found": found,
        "new": [ref for key, ref in now_refs.items() if states[key] == "new"],
        "fixed": fixed,
        "unchanged": [ref for key, ref in now_refs.items() if states[key] == "unchanged"],
    }
    return delta, states


# -- the facts ---------------------------------------------------------------------------------

#: Rules of the gate, in the order the message names them.
RULES = ("error", "unenrolled", "incomplete", "unscannable", "severity", "threshold")

_UNENROLLED = {
    HOST_NOT_ENROLLED: "not enrolled in %s",
    HOST_AGENT_OFFLINE: "its %s security agent is not online",
}


def _labels(entries, key="reason", limit=10):
    text = ", ".join("%s (%s)" % (_gate.image_label(e), e.get(key)) for e in entries[:limit])
    if len(entries) > limit:
        text += ", and %d more" % (len(entries) - limit)
    return text


def _images_text(entries, what):
    return "%d image%s %s: %s" % (len(entries), "" if len(entries) == 1 else "s", what, _labels(entries))


def gate_message(host, failures):
    """The one message of a host the gate fails: the rules that failed it and why."""
    if not failures:
        return None
    return "%s failed the gate (%s): %s" % (
        host, ", ".join(f["rule"] for f in failures), "; ".join(f["message"] for f in failures))


def _error_concerns(error, status, host_images):
    """Whether a scanner error keeps the role from judging a host."""
    if not error or error.get("wait"):
        return False
    if not error.get("matched"):
        return True
    return status in (HOST_SCANNED, HOST_NO_IMAGES) and any(
        i.get("gate_status") == GATE_INCOMPLETE for i in host_images)


def image_scan_facts(match, images, provider, fail_on="critical", ignore_unfixed=False, scanned_at=None,
                     max_age=None, force=False, fail_on_incomplete=True, fail_on_unscannable=False,
                     fail_on_unenrolled=False, max_findings=None, exceptions=None, baseline=None,
                     fail_on_new_only=False, on_error="fail", error=None, play_hosts=None, now=None,
                     clock_offset=0):
    """The ``image_scan`` fact of every play host, keyed by inventory hostname."""
    if fail_on not in _scan.GATE_LEVELS:
        raise AnsibleFilterError("fail_on must be one of %s, got %r" % (", ".join(_scan.GATE_LEVELS), fail_on))
    if on_error not in ("fail", "warn"):
        raise AnsibleFilterError("on_error must be one of fail, warn, got %r" % (on_error,))
    baseline, error, exceptions = (_gate.unset_if_empty(v) for v in (baseline, error, exceptions))
    max_findings = _gate.unset_if_empty(max_findings)
    thresholds = _gate.check_max_findings(max_findings)
    try:
        max_age_s = _scan.parse_duration(max_age) if max_age not in (None, "") else None
    except ValueError as exc:
        raise AnsibleFilterError("max_age: %s" % exc)
    moment = _gate.parse_now(now).timestamp()
    try:
        offset = float(_gate.unset_if_empty(clock_offset) or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError("clock_offset must be a number of seconds, got %r" % (clock_offset,))
    run_started = _epoch(scanned_at)
    new_only = bool(fail_on_new_only) and baseline is not None
    error = dict(error) if error else None
    if error is not None:
        error.setdefault("matched", bool((match or {}).get("hosts")))
    active = [e for e in exceptions or [] if not e.get("expired")]
    expired_all = [e for e in exceptions or [] if e.get("expired")]
    gate = {
        "fail_on": fail_on, "ignore_unfixed": bool(ignore_unfixed), "max_findings": thresholds,
        "fail_on_incomplete": bool(fail_on_incomplete), "fail_on_unscannable": bool(fail_on_unscannable),
        "fail_on_unenrolled": bool(fail_on_unenrolled), "fail_on_new_only": bool(fail_on_new_only),
        "on_error": on_error, "max_age": None if max_age in (None, "") else to_text(max_age),
    }

    by_host = {}
    listed_hosts = (match or {}).get("image_hosts") or {}
    for image in images or []:
        if not _image_hosts(image) and listed_hosts.get(image.get("id")):
            # Collected without host information: the hosts the listing saw it on.
            image = dict(image, hosts=list(listed_hosts[image.get("id")]))
        for host_id in _image_host_ids(image):
            by_host.setdefault(host_id, []).append(image)

    # Image-level judgement does not depend on the host: once per image.
    judged_images = {}

    def judge(image):
        key = id(image)
        if key not in judged_images:
            status, reason = image_gate_status(image, run_started, moment, max_age_s, force=force,
                                               clock_offset=offset)
            judged_images[key] = dict(image, gate_status=status, gate_reason=reason)
        return judged_images[key]

    # An image's list of hosts is indexed by host id once, not walked for each of its hosts (a base
    # image may be on every host of the fleet). Keyed by the list itself, which every copy of the
    # image shares and ``images`` keeps alive.
    host_entries = {}

    def own_hosts(hosts, host_id):
        if id(hosts) not in host_entries:
            index = {}
            for entry in hosts:
                if isinstance(entry, dict):
                    index.setdefault(_norm(entry.get("id")), []).append(entry)
            host_entries[id(hosts)] = (hosts, index)
        return list(host_entries[id(hosts)][1].get(host_id, []))

    entries = dict((match or {}).get("hosts") or {})
    for host in play_hosts or []:
        entries.setdefault(to_text(host), {"status": HOST_ERROR if error else HOST_NOT_ENROLLED, "cloud_host": None})
    facts = {}
    for inventory_hostname, entry in entries.items():
        cloud_host = entry.get("cloud_host") or {}
        status = entry.get("status")
        host_images = []
        if status == HOST_SCANNED:
            seen = set()
            for image in by_host.get(_norm(cloud_host.get("id")), []):
                if image.get("id") not in seen:
                    seen.add(image.get("id"))
                    host_images.append(judge(image))
            if not host_images:
                status = HOST_NO_IMAGES
        host_names = _gate.host_keys(inventory_hostname, cloud_host)
        expired_seen = {}
        if active or expired_all:
            host_images = [dict(i) for i in host_images]
            for image in host_images:
                if isinstance(image.get("findings"), list):
                    _apply_exceptions(image, host_names, active + expired_all, expired_seen)
        delta = None
        if baseline is not None and status in (HOST_SCANNED, HOST_NO_IMAGES):
            delta, states = _delta(inventory_hostname, host_images, baseline, provider)
            host_images = [dict(i) for i in host_images] if not (active or expired_all) else host_images
            for image in host_images:
                if isinstance(image.get("findings"), list):
                    image["findings"] = [dict(f, baseline=states.get(_gate.finding_key(image, f)))
                                         for f in image["findings"]]

        summary = dict.fromkeys(_scan.COUNTED_SEVERITIES, 0)
        summary.update(images_total=len(host_images), images_scanned=0, images_failed=0, images_pending=0,
                       images_fresh=0, images_incomplete=0, images_unscannable=0, suppressed=0)
        counted = dict.fromkeys(_scan.COUNTED_SEVERITIES, 0)
        offenders, incomplete, unscannable = [], [], []
        worst = "none"
        task_ids = []
        for task_id in (error or {}).get("task_ids") or [] if (error or {}).get("wait") else []:
            if task_id and to_text(task_id) not in task_ids:
                task_ids.append(to_text(task_id))
        final_images = []
        own_id = _norm(cloud_host.get("id"))
        for image in host_images:
            scan_status = image.get("scan_status")
            if scan_status == _scan.IMAGE_SUCCESS:
                summary["images_scanned"] += 1
            elif scan_status in _scan.IMAGE_FINISHED_BAD:
                summary["images_failed"] += 1
            elif image.get("gate_status") != GATE_UNSCANNABLE:
                summary["images_pending"] += 1
            summary["images_" + image["gate_status"]] += 1
            for key, value in _image_counts(image).items():
                summary[key] = summary.get(key, 0) + int(value or 0)
            summary["suppressed"] += sum(1 for f in image.get("findings") or [] if f.get("suppressed"))
            worst = _scan.worst_severity([worst, image.get("severity") or "none"])
            ref = {"id": image.get("id"), "name": image.get("name"), "version": image.get("version"),
                   "scan_status": scan_status, "reason": image.get("gate_reason")}
            image = dict(image, offending=False, worst_counted="none")
            if isinstance(image.get("hosts"), list):
                # The host's own entry only: every host of a shared image would otherwise carry the
                # whole list of that image's hosts, a fact that grows with the fleet.
                image["hosts"] = own_hosts(image["hosts"], own_id)
            if image["gate_status"] == GATE_UNSCANNABLE:
                unscannable.append(ref)
            elif image["gate_status"] == GATE_INCOMPLETE:
                if task_ids:
                    ref["reason"] += "; the wait for the scans ran out: resume with task %s" % ", ".join(task_ids)
                elif error and error.get("wait"):
                    ref["reason"] += "; the wait for the scans ran out: run the role again to wait further"
                ref["task_ids"] = task_ids
                incomplete.append(ref)
            if image["gate_status"] != GATE_UNSCANNABLE and scan_status == _scan.IMAGE_SUCCESS:
                image_worst, image_counts = _image_verdict(image, provider, ignore_unfixed, new_only)
                image["worst_counted"] = image_worst
                for key, value in image_counts.items():
                    counted[key] += value
                if fail_on != "none" and _scan.severity_rank(image_worst) >= _scan.severity_rank(fail_on):
                    image["offending"] = True
                    offenders.append({"id": image.get("id"), "name": image.get("name"),
                                      "version": image.get("version"), "severity": image_worst})
            final_images.append(image)
        summary["worst_severity"] = worst
        summary["counted"] = counted

        judged = not _error_concerns(error, status, final_images)
        failures, warnings = [], []

        def note(rule, text, fails):
            if fails:
                failures.append({"rule": rule, "message": text})
            else:
                warnings.append(text)

        if not judged:
            status = HOST_ERROR
            reason = "%s: %s" % (error.get("task") or "a cloud call", error.get("msg") or "failed")
            note("error", "not judged (image_scan_on_error is %s), %s" % (on_error, reason), on_error == "fail")
        if status in _UNENROLLED:
            note("unenrolled", _UNENROLLED[status] % to_text(provider).upper(), fail_on_unenrolled)
        if incomplete and judged:
            status = HOST_INCOMPLETE
            if error and error.get("wait"):
                warnings.append("%s: %s" % (error.get("task") or "the wait", error.get("msg")))
            note("incomplete", _images_text(incomplete, "without a fresh successful scan"), fail_on_incomplete)
        if unscannable:
            note("unscannable", _images_text(unscannable, "the cloud cannot scan"), fail_on_unscannable)
        if offenders:
            failures.append({"rule": "severity", "message": "images at or above severity %s: %s" % (
                fail_on, _labels(offenders, "severity"))})
        for severity in THRESHOLD_ORDER:
            if severity in thresholds and counted.get(severity, 0) > thresholds[severity]:
                failures.append({"rule": "threshold", "severity": severity, "count": counted[severity],
                                 "max": thresholds[severity],
                                 "message": "%s %s findings, more than image_scan_max_findings.%s %s" % (
                                     counted[severity], severity, severity, thresholds[severity])})
        facts[inventory_hostname] = {
            "provider": provider,
            "status": status,
            "scanned_at": scanned_at,
            "cloud_host": cloud_host or None,
            "images": final_images,
            "summary": summary,
            "passed": not failures,
            "judged": judged,
            "not_judged_reason": None if judged else "%s: %s" % (error.get("task") or "a cloud call", error.get("msg")),
            "offending_images": offenders,
            "incomplete_images": incomplete,
            "unscannable_images": unscannable,
            "failures": failures,
            "message": gate_message(inventory_hostname, failures),
            "warnings": warnings,
            "expired_exceptions": [_gate.suppression(e) for _i, e in sorted(expired_seen.items())],
            "delta": delta,
            "gate": gate,
        }
    unjudged = sorted(h for h, fact in facts.items() if not fact["judged"])
    if unjudged and on_error == "warn" and Display is not None:
        Display().warning("image_scan: %d host%s not judged (image_scan_on_error is warn): %s; %s: %s" % (
            len(unjudged), "" if len(unjudged) == 1 else "s", ", ".join(unjudged[:10]) + (", ..." if len(unjudged) > 10 else ""),
            error.get("task") or "a cloud call", error.get("msg")))
    return facts


def image_scan_error(steps, scan=None):
    """The first failed step of the role's cloud calls, as the role keeps it for the judge; None when none failed.

    ``steps`` lists, in the order the calls ran, ``{task, result, wait}``: the task's name, its registered result
    (None or any non-mapping when the task did not run) and whether the task waits for scans. The task ids are
    those the failed result names and that of the scan started (``scan.task.id``), so that no task is lost.
    """
    if not isinstance(steps, (list, tuple)):
        raise AnsibleFilterError("image_scan_error expects a list of steps, got %s" % type(steps).__name__)
    for step in steps:
        if not isinstance(step, dict) or "task" not in step:
            raise AnsibleFilterError("image_scan_error: every step needs a task (its name) and a result")
        result = step.get("result")
        if not isinstance(result, dict) or not result.get("failed"):
            continue
        task_ids = []
        for source in (result, scan):
            task = source.get("task") if isinstance(source, dict) else None
            task_id = task.get("id") if isinstance(task, dict) else None
            if task_id and to_text(task_id) not in task_ids:
                task_ids.append(to_text(task_id))
        return {"task": to_text(step["task"]), "msg": to_text(result.get("msg") or "failed"),
                "wait": bool(step.get("wait")), "task_ids": task_ids}
    return None


#: Severities image_scan_max_findings is checked in, most severe first.
THRESHOLD_ORDER = ("critical", "high", "medium", "low", "unknown")


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_hosts": image_scan_hosts,
            "image_scan_match": image_scan_match,
            "image_scan_facts": image_scan_facts,
            "image_scan_error": image_scan_error,
        }
