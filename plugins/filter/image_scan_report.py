# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that turn the per-host ``image_scan`` facts into reports: one data document (JSON) and
JUnit XML for CI systems (the HTML page and SARIF have filters of their own)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.filter.image_scan import (
    HOST_AGENT_OFFLINE,
    HOST_NOT_ENROLLED,
    _image_counts,
)
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_gate as _gate
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

#: Version of the shape of the report document; raised when a key changes meaning or goes away.
FORMAT_VERSION = 1

#: Severity columns of the reports, most severe first.
SEVERITY_COLUMNS = ("critical", "high", "medium", "low", "unknown")

#: Host statuses that are reported as skipped, and why.
SKIPPED = {
    HOST_NOT_ENROLLED: "the cloud does not know this host",
    HOST_AGENT_OFFLINE: "the security agent of this host is not online",
}

#: Gate results of a host.
PASSED = "passed"
FAILED = "failed"
SKIPPED_RESULT = "skipped"

#: Findings listed per image in a JUnit failure body.
JUNIT_FINDINGS_MAX = 50

_IMAGE_KEYS = ("id", "name", "version", "digest", "scan_status", "failure_reason", "latest_scan_time", "severity",
               "vulnerability_count", "gate_status", "gate_reason", "worst_counted")
_SUMMARY_KEYS = ("images_total", "images_scanned", "images_failed", "images_pending")
# Keys a host's fact may carry beside the original ones, with what an older fact means by their absence.
_HOST_EXTRA = (("judged", True), ("not_judged_reason", None), ("incomplete_images", []),
               ("unscannable_images", []), ("failures", []), ("message", None), ("warnings", []),
               ("expired_exceptions", []), ("delta", None))
#: Findings of a delta, in the order the reports show them.
DELTA_KEYS = ("new", "fixed", "unchanged")
#: SARIF ``baselineState`` of a finding's ``baseline`` word.
_BASELINE_STATES = {"new": "new", "unchanged": "unchanged"}
# Characters XML 1.0 cannot carry, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value):
    return "" if value is None else to_text(value)


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def image_label(image):
    """``name:version`` of an image (``name`` when untagged, its ID when it has no name)."""
    name = _text(image.get("name")) or _text(image.get("id")) or "?"
    version = _text(image.get("version"))
    return "%s:%s" % (name, version) if version else name


def finding_suppression(finding):
    """The exception that suppresses a finding (``{id, reason, owner, until, ...}``), else None."""
    entry = finding.get("suppressed") if isinstance(finding, dict) else None
    return entry if isinstance(entry, dict) and entry else None


def _delta_key(image_id, vuln_id, package):
    return (_text(image_id), _text(vuln_id), _text(package))


def finding_baseline_state(finding, image, host):
    """``new`` or ``unchanged`` when a baseline says so for this finding, else None."""
    state = _BASELINE_STATES.get(_text(finding.get("baseline")))
    if state:
        return state
    delta = host.get("delta") if isinstance(host, dict) else None
    if not isinstance(delta, dict):
        return None
    key = _delta_key(image.get("id"), finding.get("id"), finding.get("package"))
    for word in ("new", "unchanged"):
        if any(_delta_key(e.get("image_id"), e.get("id"), e.get("package")) == key for e in delta.get(word) or []):
            return word
    return None


def fixed_count(reports):
    """Findings a baseline had that the reports no longer have, or None without a baseline."""
    counts = [r["totals"].get("fixed") for r in reports if (r.get("totals") or {}).get("fixed") is not None]
    return sum(_int(c) for c in counts) if counts else None


def _report_image(image, offending_ids):
    entry = dict((key, image.get(key)) for key in _IMAGE_KEYS)
    counts = dict.fromkeys(SEVERITY_COLUMNS, 0)
    for key, value in _image_counts(image).items():
        if key in counts:
            counts[key] = _int(value)
    entry["severity_counts"] = counts
    entry["findings"] = list(image["findings"]) if image.get("findings") is not None else None
    entry["offending"] = bool(image["offending"]) if "offending" in image else image.get("id") in offending_ids
    return entry


def _result(fact):
    if not fact.get("passed", True):
        return FAILED
    if fact.get("status") in SKIPPED or fact.get("judged") is False:
        return SKIPPED_RESULT
    return PASSED


def skip_reason(host):
    """Why a skipped host was not judged."""
    if host.get("status") in SKIPPED:
        return "%s: %s" % (host["status"], SKIPPED[host["status"]])
    return "not judged: %s" % (_text(host.get("not_judged_reason")) or "a scanner error concerned this host")


def _host_entry(name, fact):
    summary = dict(fact.get("summary") or {})
    offending = list(fact.get("offending_images") or [])
    offending_ids = set(o.get("id") for o in offending)
    entry = {
        "name": _text(name),
        "status": fact.get("status"),
        "result": _result(fact),
        "passed": bool(fact.get("passed", True)),
        "worst_severity": summary.get("worst_severity") or "none",
        "scanned_at": fact.get("scanned_at"),
        "cloud_host": fact.get("cloud_host"),
        "summary": summary,
        "offending_images": offending,
        "images": [_report_image(image, offending_ids) for image in fact.get("images") or []],
    }
    for key, default in _HOST_EXTRA:
        value = fact.get(key, default)
        entry[key] = list(value) if isinstance(value, list) else value
    return entry


def _host_suppressed(host):
    if "suppressed" in host["summary"]:
        return _int(host["summary"]["suppressed"])
    return sum(1 for image in host["images"] for f in image.get("findings") or [] if finding_suppression(f))


def _totals(hosts):
    """The totals of a report: a function of its host entries only, so that merged slices add up."""
    totals = dict(hosts=0, hosts_passed=0, hosts_failed=0, hosts_skipped=0, hosts_incomplete=0,
                  hosts_not_judged=0, statuses={}, worst_severities={}, images=0, images_incomplete=0,
                  images_unscannable=0, findings_suppressed=0)
    totals.update(dict.fromkeys(_SUMMARY_KEYS, 0))
    totals.update(dict.fromkeys(SEVERITY_COLUMNS, 0))
    distinct_images = set()
    with_delta = False
    deltas = dict.fromkeys(DELTA_KEYS, 0)
    for host in hosts:
        summary = host["summary"]
        totals["hosts"] += 1
        totals["hosts_" + host["result"]] += 1
        totals["statuses"][host["status"]] = totals["statuses"].get(host["status"], 0) + 1
        if host["status"] == "incomplete":
            totals["hosts_incomplete"] += 1
        if host.get("judged") is False:
            totals["hosts_not_judged"] += 1
        if host["result"] != SKIPPED_RESULT:
            worst = host["worst_severity"]
            totals["worst_severities"][worst] = totals["worst_severities"].get(worst, 0) + 1
        for key in _SUMMARY_KEYS + SEVERITY_COLUMNS:
            totals[key] += _int(summary.get(key))
        totals["images_incomplete"] += _int(summary.get("images_incomplete", len(host.get("incomplete_images") or [])))
        totals["images_unscannable"] += _int(summary.get("images_unscannable",
                                                         len(host.get("unscannable_images") or [])))
        totals["findings_suppressed"] += _host_suppressed(host)
        distinct_images.update(image.get("id") for image in host["images"])
        if isinstance(host.get("delta"), dict):
            with_delta = True
            for key in DELTA_KEYS:
                deltas[key] += len(host["delta"].get(key) or [])
    totals["images"] = len(distinct_images)
    if with_delta:
        totals.update(deltas)
    return totals


def exception_key(entry):
    """What identifies an exception: its place in the list and its vulnerability id."""
    return (entry.get("index"), _text(entry.get("id")))


def exception_order(entry):
    """Exceptions in the order of the list they were given in."""
    index = entry.get("index")
    return (0, index, _text(entry.get("id"))) if isinstance(index, int) else (1, 0, _text(entry.get("id")))


def _exceptions(exceptions, hosts):
    """The run's exceptions (as the role validated them), else what the facts say of them; each
    with ``matched``, the findings it suppressed in the report (when the role did not count them)."""
    exceptions = _gate.unset_if_empty(exceptions)
    if exceptions is not None:
        matched = {}
        for host in hosts:
            for image in host["images"]:
                for finding in image.get("findings") or []:
                    entry = finding_suppression(finding)
                    if entry:
                        matched[exception_key(entry)] = matched.get(exception_key(entry), 0) + 1
        return [dict(e, matched=e["matched"] if "matched" in e else matched.get(exception_key(e), 0))
                for e in exceptions]
    by_key = {}
    for host in hosts:
        for image in host["images"]:
            for finding in image.get("findings") or []:
                entry = finding_suppression(finding)
                if entry:
                    known = by_key.setdefault(exception_key(entry), dict(entry, expired=False, matched=0))
                    known["matched"] += 1
    return sorted(by_key.values(), key=exception_order)


def _expired(exceptions, hosts):
    expired = dict((exception_key(e), dict(e)) for e in exceptions if e.get("expired"))
    for host in hosts:
        for entry in host.get("expired_exceptions") or []:
            expired.setdefault(exception_key(entry), dict(entry, expired=True))
    return sorted(expired.values(), key=exception_order)


def _baseline(baseline, hosts):
    """What the run compared with: ``source`` and, when the role said, ``hosts`` (how many hosts
    the baseline has); else the source the hosts' deltas name."""
    baseline = _gate.unset_if_empty(baseline)
    if baseline is not None:
        entry = {"source": baseline.get("source")}
        count = baseline.get("hosts")
        if count is not None:
            entry["hosts"] = len(count) if isinstance(count, (dict, list)) else _int(count)
        return entry
    sources = [h["delta"].get("baseline") for h in hosts if isinstance(h.get("delta"), dict)]
    return {"source": sources[0]} if sources else None


def assemble_report(provider, generated_at, gate, hosts, exceptions=None, baseline=None, expired_exceptions=None):
    """A report document of host entries: what image_scan_report and image_scan_merge share."""
    exceptions = _exceptions(exceptions, hosts)
    return {
        "format_version": FORMAT_VERSION,
        "provider": provider,
        "generated_at": generated_at,
        "gate": gate,
        "exceptions": exceptions,
        "expired_exceptions": expired_exceptions if expired_exceptions is not None else _expired(exceptions, hosts),
        "baseline": _baseline(baseline, hosts),
        "not_judged": [{"host": h["name"], "reason": h.get("not_judged_reason")}
                       for h in hosts if h.get("judged") is False],
        "totals": _totals(hosts),
        "hosts": hosts,
    }


def image_scan_report(facts, provider, generated_at=None, fail_on=None, ignore_unfixed=None, exceptions=None,
                      baseline=None):
    """The report document: every host in the order of ``facts``, its images with their severity
    counts, and its gate decision, with totals."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError("image_scan_report expects the dict of image_scan facts by host, got %s"
                                 % type(facts).__name__)
    exceptions, baseline = _gate.unset_if_empty(exceptions), _gate.unset_if_empty(baseline)
    if exceptions is not None and not isinstance(exceptions, list):
        raise AnsibleFilterError("image_scan_report: exceptions must be a list, got %s" % type(exceptions).__name__)
    if baseline is not None and not isinstance(baseline, dict):
        raise AnsibleFilterError("image_scan_report: baseline must be a dict, got %s" % type(baseline).__name__)
    first_gate = next((f.get("gate") for f in facts.values() if isinstance(f, dict) and f.get("gate")), {}) or {}
    gate = dict(first_gate)
    gate["fail_on"] = fail_on if fail_on is not None else first_gate.get("fail_on", "critical")
    gate["ignore_unfixed"] = bool(ignore_unfixed if ignore_unfixed is not None else first_gate.get("ignore_unfixed"))
    hosts = [_host_entry(name, fact or {}) for name, fact in facts.items()]
    return assemble_report(provider, generated_at, gate, hosts, exceptions=exceptions, baseline=baseline)


def check_report(report, name):
    if not isinstance(report, dict) or "hosts" not in report or "totals" not in report:
        raise AnsibleFilterError("%s expects the result of cloudsec.image_scan.image_scan_report" % name)


_check_report = check_report


# -- JUnit XML ---------------------------------------------------------------------------------


def _xml(value):
    return _XML_INVALID.sub("\ufffd", _text(value))


def _counts_text(counts):
    return ", ".join("%s %d" % (key, _int(counts.get(key))) for key in SEVERITY_COLUMNS if key in counts)


def gate_message(host, fail_on):
    """The one-line message of a host the gate fails: the fact's own, else one naming its
    offending images."""
    if host.get("message"):
        return _text(host["message"])
    offenders = ", ".join("%s (%s)" % (image_label(o), _text(o.get("severity"))) for o in host["offending_images"])
    return "%s has images at or above severity %s: %s" % (host["name"], fail_on, offenders)


#: JUnit failure type of each gate rule (the first rule that failed a host names it).
FAILURE_TYPES = {"severity": "severity_gate", "threshold": "threshold_gate", "incomplete": "incomplete_scan",
                 "unscannable": "unscannable_image", "unenrolled": "not_enrolled", "error": "scanner_error"}


def failure_type(host):
    """The JUnit type of a failed host: ``scanner_error`` (a JUnit error) when a scanner error kept
    the role from judging it, else the gate rule that failed it first."""
    rules = [_text(f.get("rule")) for f in host.get("failures") or [] if isinstance(f, dict)]
    return FAILURE_TYPES.get(rules[0], rules[0] + "_gate") if rules else "severity_gate"


def _findings_lines(findings):
    shown = sorted(findings, key=lambda f: -_scan.severity_rank(f.get("severity")))[:JUNIT_FINDINGS_MAX]
    lines = []
    for finding in shown:
        fix = finding.get("fixed_version")
        suppression = finding_suppression(finding)
        lines.append("  - %s %s %s %s%s%s%s" % (
            _text(finding.get("severity")), _text(finding.get("id")), _text(finding.get("package")),
            _text(finding.get("version")), " (fixed in %s)" % _text(fix) if fix else "",
            " [%s]" % _text(finding["baseline"]) if finding.get("baseline") else "",
            " [suppressed: %s]" % _text(suppression.get("reason")) if suppression else ""))
    if len(findings) > len(shown):
        lines.append("  ... and %d more findings" % (len(findings) - len(shown)))
    return lines


def _failure_body(host):
    images = dict((image.get("id"), image) for image in host["images"])
    lines = ["%s: %s" % (_text(f.get("rule")), _text(f.get("message"))) for f in host.get("failures") or []
             if isinstance(f, dict)]
    for offender in host["offending_images"]:
        image = images.get(offender.get("id"), {})
        lines.append("%s  id=%s  severity=%s  scan=%s" % (
            image_label(offender), _text(offender.get("id")), _text(offender.get("severity")),
            _text(image.get("scan_status"))))
        lines.append("  counts: %s" % _counts_text(image.get("severity_counts") or {}))
        lines.extend(_findings_lines(image.get("findings") or []))
    lines.extend(_problem_lines(host))
    return "\n".join(lines)


def _problem_lines(host):
    lines = []
    for kind in ("incomplete", "unscannable"):
        for entry in host.get(kind + "_images") or []:
            lines.append("%s: %s  id=%s  scan=%s  %s" % (kind, image_label(entry), _text(entry.get("id")),
                                                         _text(entry.get("scan_status")), _text(entry.get("reason"))))
    return lines


def _host_line(host):
    summary = host["summary"]
    return "status %s; %d images (%d scanned, %d failed, %d pending); %s; worst severity %s" % (
        host["status"], _int(summary.get("images_total")), _int(summary.get("images_scanned")),
        _int(summary.get("images_failed")), _int(summary.get("images_pending")), _counts_text(summary),
        host["worst_severity"])


def _system_out(host):
    """The summary of a host, then what the reports know beside the verdict: suppressed findings,
    expired exceptions, the delta, images without a fresh result, warnings."""
    lines = [_host_line(host)]
    if host.get("judged") is False:
        lines.append("not judged: %s" % _text(host.get("not_judged_reason")))
    for image in host["images"]:
        for finding in image.get("findings") or []:
            entry = finding_suppression(finding)
            if entry:
                lines.append("suppressed: %s in %s %s (%s; owner %s; until %s)" % (
                    _text(finding.get("id")), image_label(image), _text(finding.get("package")),
                    _text(entry.get("reason")), _text(entry.get("owner")) or "none", _text(entry.get("until"))))
    for entry in host.get("expired_exceptions") or []:
        lines.append("expired exception: %s (until %s; %s) no longer applies" % (
            _text(entry.get("id")), _text(entry.get("until")), _text(entry.get("reason"))))
    delta = host.get("delta")
    if isinstance(delta, dict):
        lines.append("against %s: %d new, %d fixed, %d unchanged%s" % (
            _text(delta.get("baseline")), len(delta.get("new") or []), len(delta.get("fixed") or []),
            len(delta.get("unchanged") or []), "" if delta.get("baseline_found", True) else
            " (the host was not in the baseline)"))
        for key in ("new", "fixed"):
            for entry in (delta.get(key) or [])[:JUNIT_FINDINGS_MAX]:
                lines.append("  %s: %s %s %s in %s" % (key, _text(entry.get("severity")), _text(entry.get("id")),
                                                       _text(entry.get("package")), _text(entry.get("image"))))
    if host["result"] != FAILED:
        lines.extend(_problem_lines(host))
    lines.extend("warning: %s" % _text(w) for w in host.get("warnings") or [])
    return "\n".join(lines)


def image_scan_junit(report):
    """JUnit XML of a report: one test case per host, failed when the gate fails it (an error
    when a scanner error kept it from being judged), skipped when the host is not enrolled, its
    agent is offline or it was not judged but let pass."""
    _check_report(report, "image_scan_junit")
    provider = _text(report.get("provider"))
    suite_name = "image_scan.%s" % provider
    totals = report["totals"]
    errors = sum(1 for host in report["hosts"] if host["result"] == FAILED and failure_type(host) == "scanner_error")
    counts = dict(tests=str(totals["hosts"]), failures=str(totals["hosts_failed"] - errors), errors=str(errors),
                  skipped=str(totals["hosts_skipped"]), time="0")
    root = ET.Element("testsuites", dict(name="image_scan", **counts))
    suite = ET.SubElement(root, "testsuite", dict(name=suite_name, **counts))
    if report.get("generated_at"):
        suite.set("timestamp", _xml(report["generated_at"]).rstrip("Z"))
    properties = ET.SubElement(suite, "properties")
    gate = report.get("gate") or {}
    pairs = [("provider", provider), ("fail_on", gate.get("fail_on")),
             ("ignore_unfixed", str(bool(gate.get("ignore_unfixed"))).lower()),
             ("generated_at", report.get("generated_at"))]
    if report.get("exceptions") or report.get("expired_exceptions"):
        pairs.extend([("exceptions", len([e for e in report.get("exceptions") or [] if not e.get("expired")])),
                      ("expired_exceptions", ", ".join("%s (until %s)" % (_text(e.get("id")), _text(e.get("until")))
                                                       for e in report.get("expired_exceptions") or [])),
                      ("findings_suppressed", totals.get("findings_suppressed", 0))])
    if totals.get("hosts_not_judged"):
        pairs.append(("hosts_not_judged", totals["hosts_not_judged"]))
    if report.get("baseline"):
        pairs.extend([("baseline", (report["baseline"] or {}).get("source"))] +
                     [(key, totals.get(key, 0)) for key in DELTA_KEYS])
    for key, value in pairs:
        ET.SubElement(properties, "property", name=key, value=_xml(value))
    for host in report["hosts"]:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=_xml(host["name"]), time="0")
        if host["result"] == FAILED:
            kind = failure_type(host)
            failure = ET.SubElement(case, "error" if kind == "scanner_error" else "failure",
                                    message=_xml(gate_message(host, gate.get("fail_on"))), type=kind)
            failure.text = _xml(_failure_body(host))
        elif host["result"] == SKIPPED_RESULT:
            ET.SubElement(case, "skipped", message=_xml(skip_reason(host)))
        ET.SubElement(case, "system-out").text = _xml(_system_out(host))
    if hasattr(ET, "indent"):
        ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + to_text(ET.tostring(root, encoding="unicode")) + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_report": image_scan_report,
            "image_scan_junit": image_scan_junit,
        }
