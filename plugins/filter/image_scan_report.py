# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that turn the per-host ``image_scan`` facts into reports: one data document (JSON),
JUnit XML for CI systems and one self-contained HTML page."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloudsec.image_scan.plugins.filter.image_scan import (
    HOST_AGENT_OFFLINE,
    HOST_NOT_ENROLLED,
    _image_counts,
)
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


def _exceptions(exceptions, hosts):
    """The run's exceptions (as the role validated them), else what the facts say of them."""
    if exceptions is not None:
        return [dict(e) for e in exceptions]
    by_key = {}
    for host in hosts:
        for image in host["images"]:
            for finding in image.get("findings") or []:
                entry = finding_suppression(finding)
                if entry:
                    key = entry.get("index", entry.get("id"))
                    known = by_key.setdefault(key, dict(entry, expired=False, matched=0))
                    known["matched"] += 1
    return list(by_key.values())


def _expired(exceptions, hosts):
    expired = [e for e in exceptions if e.get("expired")]
    seen = set(e.get("index", e.get("id")) for e in expired)
    for host in hosts:
        for entry in host.get("expired_exceptions") or []:
            key = entry.get("index", entry.get("id"))
            if key not in seen:
                seen.add(key)
                expired.append(dict(entry, expired=True))
    return expired


def _baseline(baseline, hosts):
    if baseline is not None:
        return baseline
    sources = [h["delta"].get("baseline") for h in hosts if isinstance(h.get("delta"), dict)]
    if not sources:
        return None
    return {"source": sources[0], "hosts": sum(1 for h in hosts if isinstance(h.get("delta"), dict)
                                               and h["delta"].get("baseline_found", True))}


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
    """The one-line message of a host the gate fails, naming its offending images."""
    offenders = ", ".join("%s (%s)" % (image_label(o), _text(o.get("severity"))) for o in host["offending_images"])
    return "%s has images at or above severity %s: %s" % (host["name"], fail_on, offenders)


def _failure_body(host):
    images = dict((image.get("id"), image) for image in host["images"])
    lines = []
    for offender in host["offending_images"]:
        image = images.get(offender.get("id"), {})
        lines.append("%s  id=%s  severity=%s  scan=%s" % (
            image_label(offender), _text(offender.get("id")), _text(offender.get("severity")),
            _text(image.get("scan_status"))))
        lines.append("  counts: %s" % _counts_text(image.get("severity_counts") or {}))
        findings = image.get("findings") or []
        shown = sorted(findings, key=lambda f: -_scan.severity_rank(f.get("severity")))[:JUNIT_FINDINGS_MAX]
        for finding in shown:
            fix = finding.get("fixed_version")
            lines.append("  - %s %s %s %s%s" % (
                _text(finding.get("severity")), _text(finding.get("id")), _text(finding.get("package")),
                _text(finding.get("version")), " (fixed in %s)" % _text(fix) if fix else ""))
        if len(findings) > len(shown):
            lines.append("  ... and %d more findings" % (len(findings) - len(shown)))
    return "\n".join(lines)


def _host_line(host):
    summary = host["summary"]
    return "status %s; %d images (%d scanned, %d failed, %d pending); %s; worst severity %s" % (
        host["status"], _int(summary.get("images_total")), _int(summary.get("images_scanned")),
        _int(summary.get("images_failed")), _int(summary.get("images_pending")), _counts_text(summary),
        host["worst_severity"])


def image_scan_junit(report):
    """JUnit XML of a report: one test case per host, failed when the gate fails it, skipped when
    the host is not enrolled or its agent is offline."""
    _check_report(report, "image_scan_junit")
    provider = _text(report.get("provider"))
    suite_name = "image_scan.%s" % provider
    totals = report["totals"]
    counts = dict(tests=str(totals["hosts"]), failures=str(totals["hosts_failed"]), errors="0",
                  skipped=str(totals["hosts_skipped"]), time="0")
    root = ET.Element("testsuites", dict(name="image_scan", **counts))
    suite = ET.SubElement(root, "testsuite", dict(name=suite_name, **counts))
    if report.get("generated_at"):
        suite.set("timestamp", _xml(report["generated_at"]).rstrip("Z"))
    properties = ET.SubElement(suite, "properties")
    gate = report.get("gate") or {}
    for key, value in (("provider", provider), ("fail_on", gate.get("fail_on")),
                       ("ignore_unfixed", str(bool(gate.get("ignore_unfixed"))).lower()),
                       ("generated_at", report.get("generated_at"))):
        ET.SubElement(properties, "property", name=key, value=_xml(value))
    for host in report["hosts"]:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=_xml(host["name"]), time="0")
        if host["result"] == FAILED:
            failure = ET.SubElement(case, "failure", message=_xml(gate_message(host, gate.get("fail_on"))),
                                    type="severity_gate")
            failure.text = _xml(_failure_body(host))
        elif host["result"] == SKIPPED_RESULT:
            ET.SubElement(case, "skipped", message=_xml("%s: %s" % (host["status"], SKIPPED[host["status"]])))
        ET.SubElement(case, "system-out").text = _xml(_host_line(host))
    if hasattr(ET, "indent"):
        ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + to_text(ET.tostring(root, encoding="unicode")) + "\n"


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem} h2{font-size:1.15rem;margin:2rem 0 .5rem}
.meta{color:#59636e;margin:0 0 1rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d1d9e0;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:.5rem 0}
.card{border:1px solid #d1d9e0;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.6rem}
.sev{display:inline-block;border-radius:4px;padding:0 .4rem;font-weight:600;color:#fff;background:#59636e}
.sev-critical{background:#82071e}.sev-high{background:#cf222e}.sev-medium{background:#bc4c00}
.sev-low{background:#9a6700}.sev-none{background:#1a7f37}.sev-unknown{background:#59636e}
.res{font-weight:700}.res-passed{color:#1a7f37}.res-failed{color:#cf222e}.res-skipped{color:#59636e}
tr.failed td:first-child{border-left:4px solid #cf222e}
details{margin:.4rem 0} details>summary{cursor:pointer;padding:.2rem 0}
details.host{border:1px solid #d1d9e0;border-radius:6px;padding:.3rem .8rem}
.off{font-weight:700;color:#cf222e}
tr.findings-row>td{border-top:none;padding-left:1.5rem} table.findings{margin:.3rem 0 .6rem}
table.findings td:nth-child(2){white-space:nowrap}
"""


def _e(value):
    return html.escape(_text(value), quote=True)


def _sev(word):
    word = _text(word) or "unknown"
    css = word if word in SEVERITY_COLUMNS + ("none",) else "unknown"
    return '<span class="sev sev-%s">%s</span>' % (css, _e(word))


def _res(result):
    return '<span class="res res-%s">%s</span>' % (_e(result), _e(result.upper() if result == FAILED else result))


def _link(url, text):
    url = _text(url)
    if re.match(r"^https?://", url, re.I):
        return '<a href="%s" rel="noopener noreferrer">%s</a>' % (_e(url), _e(text))
    return _e(text)


def _findings_html(findings):
    rows = []
    ordered = sorted(findings, key=lambda f: -_scan.severity_rank(f.get("severity")))
    for finding in ordered:
        rows.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            _sev(finding.get("severity")), _link(finding.get("url"), finding.get("id")), _e(finding.get("package")),
            _e(finding.get("version")), _e(finding.get("fixed_version") or ""),
            "yes" if finding.get("fixable") else "no", _e(finding.get("description") or "")))
    return ('<table class="findings"><thead><tr><th>severity</th><th>id</th><th>package</th><th>version</th>'
            "<th>fixed in</th><th>fixable</th><th>description</th></tr></thead><tbody>%s</tbody></table>"
            % "".join(rows))


def _images_html(host):
    if not host["images"]:
        return "<p>No images.</p>"
    rows = []
    for image in host["images"]:
        counts = image["severity_counts"]
        findings = image.get("findings")
        label = image_label(image)
        rows.append('<tr class="image%s"><td>%s%s</td><td>%s</td><td>%s</td>%s<td class="n">%s</td></tr>' % (
            " offending" if image["offending"] else "",
            _e(label), ' <span class="off">over the gate</span>' if image["offending"] else "",
            _e(image.get("scan_status")) + (" (%s)" % _e(image["failure_reason"]) if image.get("failure_reason")
                                            else ""),
            _sev(image.get("severity")),
            "".join('<td class="n">%d</td>' % _int(counts.get(key)) for key in SEVERITY_COLUMNS[:4]),
            len(findings) if findings is not None else "not collected"))
        if findings:
            rows.append('<tr class="findings-row"><td colspan="8"><details><summary>findings of %s</summary>%s'
                        "</details></td></tr>" % (_e(label), _findings_html(findings)))
    return ("<table><thead><tr><th>image</th><th>scan status</th><th>severity</th><th>critical</th><th>high</th>"
            "<th>medium</th><th>low</th><th>findings</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows))


def image_scan_html(report):
    """One self-contained HTML page of a report: summary by severity, a table of hosts with their
    worst severity and gate result, and per host a drill-down to its images and findings."""
    _check_report(report, "image_scan_html")
    totals = report["totals"]
    gate = report.get("gate") or {}
    provider = _text(report.get("provider"))
    title = "Image scan report: %s" % provider.upper()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s</title><style>%s</style></head><body>" % (_e(title), _CSS),
           "<h1>%s</h1>" % _e(title),
           '<p class="meta">Generated %s. Gate: fail on %s%s.</p>' % (
               _e(report.get("generated_at") or "?"), _e(gate.get("fail_on")),
               ", unfixed vulnerabilities ignored" if gate.get("ignore_unfixed") else "")]
    out.append('<section id="summary"><h2>Summary</h2><div class="cards">')
    for label, key in (("hosts", "hosts"), ("passed", "hosts_passed"), ("failed", "hosts_failed"),
                       ("skipped", "hosts_skipped"), ("images", "images")):
        out.append('<div class="card" data-total="%s"><b>%d</b>%s</div>' % (key, _int(totals.get(key)), label))
    out.append("</div>")
    out.append('<table id="severities"><thead><tr><th>severity</th><th>vulnerabilities</th>'
               "<th>hosts whose worst is this</th></tr></thead><tbody>")
    for key in SEVERITY_COLUMNS:
        out.append('<tr data-severity="%s"><td>%s</td><td class="n">%d</td><td class="n">%d</td></tr>' % (
            key, _sev(key), _int(totals.get(key)), _int(totals["worst_severities"].get(key))))
    out.append("</tbody></table></section>")
    out.append('<section id="hosts"><h2>Hosts</h2><table id="host-table"><thead><tr><th>host</th><th>status</th>'
               "<th>images</th><th>critical</th><th>high</th><th>medium</th><th>low</th><th>worst</th>"
               "<th>gate</th></tr></thead><tbody>")
    for number, host in enumerate(report["hosts"]):
        summary = host["summary"]
        out.append('<tr class="host %s" data-host="%s" data-result="%s"><td><a href="#host-%d">%s</a></td>'
                   "<td>%s</td><td class=\"n\">%d</td>%s<td>%s</td><td>%s</td></tr>" % (
                       _e(host["result"]), _e(host["name"]), _e(host["result"]), number, _e(host["name"]),
                       _e(host["status"]), _int(summary.get("images_total")),
                       "".join('<td class="n">%d</td>' % _int(summary.get(k)) for k in SEVERITY_COLUMNS[:4]),
                       _sev(host["worst_severity"]), _res(host["result"])))
    out.append("</tbody></table></section>")
    out.append('<section id="details"><h2>Images by host</h2>')
    for number, host in enumerate(report["hosts"]):
        summary = host["summary"]
        head = "%s: %s, %d images, worst %s, %s" % (
            _e(host["name"]), _e(host["status"]), _int(summary.get("images_total")), _sev(host["worst_severity"]),
            _res(host["result"]))
        body = ""
        if host["result"] == FAILED:
            body += '<p class="off">%s</p>' % _e(gate_message(host, gate.get("fail_on")))
        elif host["result"] == SKIPPED_RESULT:
            body += "<p>%s.</p>" % _e(SKIPPED[host["status"]].capitalize())
        body += _images_html(host)
        out.append('<details class="host" id="host-%d" data-host="%s"%s><summary>%s</summary>%s</details>' % (
            number, _e(host["name"]), " open" if host["result"] == FAILED else "", head, body))
    out.append("</section></body></html>")
    return "\n".join(out) + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_report": image_scan_report,
            "image_scan_junit": image_scan_junit,
            "image_scan_html": image_scan_html,
        }
