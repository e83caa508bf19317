# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One self-contained HTML page of an image scan report: summary, inline SVG charts, a host table
to filter and sort (one inline script, allowed by its hash), exceptions, delta and drill-downs."""

from __future__ import annotations

import base64
import hashlib
import html
import re

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as _report
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

SEVERITY_COLUMNS = _report.SEVERITY_COLUMNS
#: Worst severities a host can have, most severe first.
WORST_SEVERITIES = SEVERITY_COLUMNS + ("none",)
RESULTS = (_report.FAILED, _report.PASSED, _report.SKIPPED_RESULT)
_RESULT_RANK = {_report.FAILED: 2, _report.SKIPPED_RESULT: 1, _report.PASSED: 0}
_COLORS = {"critical": "#82071e", "high": "#cf222e", "medium": "#bc4c00", "low": "#9a6700", "unknown": "#59636e",
           "none": "#1a7f37", "failed": "#cf222e", "passed": "#1a7f37", "skipped": "#8c959f", "counted": "#bc4c00",
           "suppressed": "#8c959f", "new": "#cf222e", "fixed": "#1a7f37"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem} h2{font-size:1.15rem;margin:2rem 0 .5rem} h3{font-size:1rem;margin:1rem 0 .3rem}
.meta{color:#59636e;margin:0 0 1rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d1d9e0;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" \\25B2"} th[aria-sort=descending] button::after{content:" \\25BC"}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:.5rem 0}
.card{border:1px solid #d1d9e0;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.6rem}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem} .charts figure{margin:0} figcaption{font-weight:600;margin:.3rem 0}
svg text{font-size:12px;fill:#1f2328}
.sev{display:inline-block;border-radius:4px;padding:0 .4rem;font-weight:600;color:#fff;background:#59636e}
.sev-critical{background:#82071e}.sev-high{background:#cf222e}.sev-medium{background:#bc4c00}
.sev-low{background:#9a6700}.sev-none{background:#1a7f37}.sev-unknown{background:#59636e}
.res{font-weight:700}.res-passed{color:#1a7f37}.res-failed{color:#cf222e}.res-skipped{color:#59636e}
tr.failed td:first-child{border-left:4px solid #cf222e}
details{margin:.4rem 0} details>summary{cursor:pointer;padding:.2rem 0}
details.host{border:1px solid #d1d9e0;border-radius:6px;padding:.3rem .8rem}
.off{font-weight:700;color:#cf222e} .warn{color:#9a6700} .sup{color:#59636e} tr.suppressed td{color:#59636e}
tr.findings-row>td{border-top:none;padding-left:1.5rem} table.findings{margin:.3rem 0 .6rem}
table.findings td:nth-child(2){white-space:nowrap}
form#filters{display:flex;flex-wrap:wrap;gap:1rem;align-items:end;margin:.5rem 0}
form#filters label{display:flex;flex-direction:column;font-size:.85rem;color:#59636e}
[hidden]{display:none!important}
"""

# Filters and sorting of the host table. No other script runs: the page's policy allows this one
# by its hash, and nothing is loaded from anywhere.
_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("host-table");
  var form = document.getElementById("filters");
  if (!table || !form) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var result = document.getElementById("f-result");
  var worst = document.getElementById("f-worst");
  var host = document.getElementById("f-host");
  var shown = document.getElementById("f-shown");
  function apply() {
    var r = result.value, w = worst.value, q = host.value.trim().toLowerCase(), count = 0;
    rows.forEach(function (row) {
      var ok = (!r || row.getAttribute("data-result") === r) && (!w || row.getAttribute("data-worst") === w) &&
        (!q || row.getAttribute("data-host").toLowerCase().indexOf(q) >= 0);
      row.hidden = !ok;
      var details = document.getElementById(row.getAttribute("data-details"));
      if (details) { details.hidden = !ok; }
      if (ok) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " hosts shown";
    form.setAttribute("data-shown", String(count));
  }
  function sortBy(index) {
    var head = heads[index];
    var direction = head.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var sign = direction === "ascending" ? 1 : -1;
    var numeric = head.getAttribute("data-type") === "number";
    heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
    head.setAttribute("aria-sort", direction);
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-sort"), y = b.cells[index].getAttribute("data-sort");
      var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return order * sign || Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  heads.forEach(function (head, index) {
    var button = head.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(index); }); }
  });
  result.addEventListener("change", apply);
  worst.addEventListener("change", apply);
  host.addEventListener("input", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
}());
"""


def _script_hash(script):
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src '%s'" % _script_hash(_SCRIPT)

_text = _report._text
_int = _report._int
image_label = _report.image_label


def _e(value):
    return html.escape(_text(value), quote=True)


def _sev(word):
    word = _text(word) or "unknown"
    css = word if word in WORST_SEVERITIES else "unknown"
    return '<span class="sev sev-%s">%s</span>' % (css, _e(word))


def _res(result):
    shown = result.upper() if result == _report.FAILED else result
    return '<span class="res res-%s">%s</span>' % (_e(result), _e(shown))


def _link(url, text):
    url = _text(url)
    if re.match(r"^https?://", url, re.I):
        return '<a href="%s" rel="noopener noreferrer">%s</a>' % (_e(url), _e(text))
    return _e(text)


def _table(attrs, heads, rows):
    return "<table%s><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (
        attrs, "".join("<th>%s</th>" % _e(h) for h in heads), "".join(rows))


# -- charts ------------------------------------------------------------------------------------


def _chart(chart_id, caption, groups, legend):
    """A horizontal bar chart as inline SVG. ``groups`` is ``[(label, [bar, ...])]``, each bar a
    list of ``(key, count)`` segments; ``legend`` the segment keys in order."""
    label_width, bar_width, bar_height, gap = 90, 360, 16, 4
    top = 22
    count = sum(len(group_bars) for _label, group_bars in groups)
    height = top + count * (bar_height + gap) + len(groups) * 6 + 8
    largest = max([sum(c for _k, c in segments) for _l, group_bars in groups for segments in group_bars] + [1])
    out = ['<figure><figcaption id="%s-title">%s</figcaption>' % (chart_id, _e(caption)),
           '<svg xmlns="http://www.w3.org/2000/svg" id="%s" data-chart="%s" role="img" aria-labelledby="%s-title" '
           'width="%d" height="%d" viewBox="0 0 %d %d">' % (chart_id, chart_id, chart_id, label_width + bar_width + 60,
                                                            height, label_width + bar_width + 60, height)]
    x = label_width
    for key in legend:
        out.append('<rect x="%d" y="4" width="10" height="10" fill="%s"></rect><text x="%d" y="13">%s</text>'
                   % (x, _COLORS.get(key, "#59636e"), x + 14, _e(key)))
        x += 14 + 8 * len(key) + 14
    y = top
    for label, group_bars in groups:
        out.append('<text x="0" y="%d">%s</text>' % (y + bar_height - 4, _e(label)))
        for segments in group_bars:
            x = label_width
            total = 0
            for key, number in segments:
                if number:
                    width = max(1, int(round(bar_width * number / float(largest))))
                    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s" data-group="%s" data-key="%s" '
                               'data-count="%d"><title>%s, %s: %d</title></rect>' % (
                                   x, y, width, bar_height, _COLORS.get(key, "#59636e"), _e(label), _e(key), number,
                                   _e(label), _e(key), number))
                    x += width
                    total += number
            out.append('<text x="%d" y="%d">%d</text>' % (x + 4, y + bar_height - 4, total))
            y += bar_height + gap
        y += 6
    out.append("</svg></figure>")
    return "".join(out)


def _suppressed_by_severity(report):
    counts = dict.fromkeys(SEVERITY_COLUMNS, 0)
    for host in report["hosts"]:
        for image in host.get("images") or []:
            for finding in image.get("findings") or []:
                if _report.finding_suppression(finding):
                    word = _text(finding.get("severity"))
                    counts[word if word in counts else "unknown"] += 1
    return counts


def _delta_by_severity(report, key):
    counts = dict.fromkeys(SEVERITY_COLUMNS, 0)
    for host in report["hosts"]:
        for entry in (host.get("delta") or {}).get(key) or []:
            word = _text(entry.get("severity"))
            counts[word if word in counts else "unknown"] += 1
    return counts


def _charts(report):
    totals = report["totals"]
    by_worst = dict((w, dict.fromkeys(RESULTS, 0)) for w in WORST_SEVERITIES)
    for host in report["hosts"]:
        worst = host.get("worst_severity") if host.get("worst_severity") in by_worst else "unknown"
        by_worst[worst][host["result"]] += 1
    charts = [_chart("chart-hosts", "Hosts by worst severity and gate result",
                     [(w, [[(r, by_worst[w][r]) for r in RESULTS]]) for w in WORST_SEVERITIES], RESULTS)]
    suppressed = _suppressed_by_severity(report)
    charts.append(_chart("chart-findings", "Findings by severity", [
        (s, [[("counted", max(0, _int(totals.get(s)) - suppressed[s])), ("suppressed", suppressed[s])]])
        for s in SEVERITY_COLUMNS], ("counted", "suppressed")))
    if report.get("baseline") or "new" in totals:
        new, fixed = _delta_by_severity(report, "new"), _delta_by_severity(report, "fixed")
        charts.append(_chart("chart-delta", "New and fixed findings against the baseline, by severity",
                             [(s, [[("new", new[s])], [("fixed", fixed[s])]]) for s in SEVERITY_COLUMNS],
                             ("new", "fixed")))
    return '<div class="charts">%s</div>' % "".join(charts)


# -- sections ----------------------------------------------------------------------------------


def _gate_text(gate):
    parts = ["fail on %s" % _text(gate.get("fail_on"))]
    if gate.get("ignore_unfixed"):
        parts.append("unfixed vulnerabilities ignored")
    limits = gate.get("max_findings") or {}
    if limits:
        parts.append("at most " + ", ".join("%s %s" % (_int(v), k) for k, v in sorted(limits.items())))
    for key, words in (("fail_on_incomplete", "incomplete hosts fail"), ("fail_on_unscannable", "unscannable images fail"),
                       ("fail_on_unenrolled", "unenrolled hosts fail"), ("fail_on_new_only", "only new findings count")):
        if gate.get(key):
            parts.append(words)
    if gate.get("on_error"):
        parts.append("scanner errors: %s" % _text(gate["on_error"]))
    if gate.get("max_age"):
        parts.append("results fresh for %s" % _text(gate["max_age"]))
    return "; ".join(parts)


def _cards(report):
    totals = report["totals"]
    cards = [("hosts", "hosts"), ("passed", "hosts_passed"), ("failed", "hosts_failed"), ("skipped", "hosts_skipped"),
             ("not judged", "hosts_not_judged"), ("incomplete", "hosts_incomplete"), ("images", "images"),
             ("suppressed findings", "findings_suppressed")]
    if "new" in totals:
        cards.extend([("new findings", "new"), ("fixed findings", "fixed")])
    return '<div class="cards">%s</div>' % "".join(
        '<div class="card" data-total="%s"><b>%d</b>%s</div>' % (key, _int(totals.get(key)), label)
        for label, key in cards)


def _severity_table(report):
    totals = report["totals"]
    rows = ['<tr data-severity="%s"><td>%s</td><td class="n">%d</td><td class="n">%d</td></tr>' % (
        key, _sev(key), _int(totals.get(key)), _int(totals["worst_severities"].get(key))) for key in SEVERITY_COLUMNS]
    return ('<table id="severities"><thead><tr><th>severity</th><th>vulnerabilities</th>'
            "<th>hosts whose worst is this</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows))


def _filters():
    def select(name, label, options):
        return '<label>%s<select id="%s" name="%s"><option value="">any</option>%s</select></label>' % (
            label, name, name, "".join('<option value="%s">%s</option>' % (o, o) for o in options))
    return ('<form id="filters" hidden>%s%s<label>host name contains<input id="f-host" name="f-host" type="search" '
            'autocomplete="off"></label><output id="f-shown" for="f-result f-worst f-host"></output></form>' % (
                select("f-result", "gate result", RESULTS), select("f-worst", "worst severity", WORST_SEVERITIES)))


_HOST_COLUMNS = (("host", "text"), ("status", "text"), ("images", "number"), ("critical", "number"),
                 ("high", "number"), ("medium", "number"), ("low", "number"), ("suppressed", "number"),
                 ("new", "number"), ("worst", "number"), ("gate", "number"))


def _host_table(report):
    with_delta = "new" in report["totals"]
    columns = [c for c in _HOST_COLUMNS if with_delta or c[0] != "new"]
    heads = "".join('<th data-key="%s" data-type="%s"><button type="button">%s</button></th>' % (name, kind, name)
                    for name, kind in columns)
    rows = []
    for number, host in enumerate(report["hosts"]):
        summary = host["summary"]
        delta = host.get("delta") or {}
        values = {
            "host": (_e(host["name"]), '<a href="#host-%d">%s</a>' % (number, _e(host["name"]))),
            "status": (_e(host["status"]), _e(host["status"])),
            "images": (_int(summary.get("images_total")), _int(summary.get("images_total"))),
            "suppressed": (_report._host_suppressed(host), _report._host_suppressed(host)),
            "new": (len(delta.get("new") or []), len(delta.get("new") or []) if delta else ""),
            "worst": (_scan.severity_rank(host["worst_severity"]), _sev(host["worst_severity"])),
            "gate": (_RESULT_RANK.get(host["result"], 0), _res(host["result"])),
        }
        for key in SEVERITY_COLUMNS[:4]:
            values[key] = (_int(summary.get(key)), _int(summary.get(key)))
        cells = "".join('<td%s data-sort="%s">%s</td>' % (' class="n"' if kind == "number" and name not in (
            "worst", "gate") else "", values[name][0], values[name][1]) for name, kind in columns)
        rows.append('<tr class="host %s" data-host="%s" data-result="%s" data-worst="%s" data-index="%d" '
                    'data-details="host-%d">%s</tr>' % (_e(host["result"]), _e(host["name"]), _e(host["result"]),
                                                        _e(host["worst_severity"]), number, number, cells))
    return ('<table id="host-table"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>' % (heads, "".join(rows)))


def _exceptions_section(report):
    active = [e for e in report.get("exceptions") or [] if not e.get("expired")]
    expired = report.get("expired_exceptions") or []
    if not active and not expired:
        return ""
    out = ['<section id="exceptions"><h2>Exceptions</h2>']
    heads = ("id", "images", "hosts", "until", "reason", "owner")

    def row(entry, extra):
        return "<tr data-exception=\"%s\">%s%s</tr>" % (_e(entry.get("id")), "".join(
            "<td>%s</td>" % _e(", ".join(_text(v) for v in entry.get(k)) if isinstance(entry.get(k), list)
                               else entry.get(k) or "") for k in heads), extra)
    if active:
        out.append("<h3>Active</h3>")
        out.append(_table(' id="exceptions-active"', heads + ("suppressed findings",),
                          [row(e, '<td class="n">%d</td>' % _int(e.get("matched"))) for e in active]))
    if expired:
        out.append('<h3>Expired</h3><p class="warn">These no longer apply: their findings count again.</p>')
        out.append(_table(' id="exceptions-expired"', heads, [row(e, "") for e in expired]))
    out.append("</section>")
    return "".join(out)


def _delta_section(report):
    if not report.get("baseline") and "new" not in report["totals"]:
        return ""
    baseline = report.get("baseline") or {}
    out = ['<section id="delta"><h2>Against the baseline</h2><p class="meta">Baseline: %s.</p>' % _e(
        baseline.get("source") or "?")]
    rows = []
    for host in report["hosts"]:
        delta = host.get("delta")
        if not isinstance(delta, dict):
            continue
        rows.append('<tr data-for-host="%s"><td>%s</td>%s<td>%s</td></tr>' % (
            _e(host["name"]), _e(host["name"]),
            "".join('<td class="n">%d</td>' % len(delta.get(k) or []) for k in _report.DELTA_KEYS),
            "yes" if delta.get("baseline_found", True) else "no: every finding is new"))
    out.append(_table(' id="delta-hosts"', ("host", "new", "fixed", "unchanged", "in the baseline"), rows))
    for key in ("new", "fixed"):
        entries = [(host["name"], e) for host in report["hosts"] for e in (host.get("delta") or {}).get(key) or []]
        if entries:
            out.append("<h3>%s findings</h3>" % key.capitalize())
            out.append(_table(' id="delta-%s"' % key, ("host", "image", "severity", "id", "package"), [
                "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
                    _e(name), _e(e.get("image")), _sev(e.get("severity")), _e(e.get("id")), _e(e.get("package")))
                for name, e in entries]))
    out.append("</section>")
    return "".join(out)


def _problems_section(report):
    """Hosts not judged, and images without a fresh result or that cannot be scanned."""
    not_judged = report.get("not_judged") or []
    images = [(host["name"], kind, entry) for host in report["hosts"]
              for kind in ("incomplete", "unscannable") for entry in host.get(kind + "_images") or []]
    if not not_judged and not images:
        return ""
    out = ['<section id="problems"><h2>Not judged and incomplete</h2>']
    if not_judged:
        out.append(_table(' id="not-judged"', ("host", "why it was not judged"), [
            '<tr data-for-host="%s"><td>%s</td><td>%s</td></tr>' % (
                _e(e.get("host")), _e(e.get("host")), _e(e.get("reason"))) for e in not_judged]))
    if images:
        out.append(_table(' id="problem-images"', ("host", "image", "gate status", "scan status", "reason"), [
            '<tr data-for-host="%s" data-kind="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                _e(name), kind, _e(name), _e(image_label(entry)), kind, _e(entry.get("scan_status")),
                _e(entry.get("reason"))) for name, kind, entry in images]))
    out.append("</section>")
    return "".join(out)


def _findings_html(findings, with_baseline):
    rows = []
    ordered = sorted(findings, key=lambda f: -_scan.severity_rank(f.get("severity")))
    for finding in ordered:
        suppression = _report.finding_suppression(finding)
        sup = ""
        if suppression:
            sup = '<span class="sup">suppressed: %s%s%s</span>' % (
                _e(suppression.get("reason")),
                "; owner %s" % _e(suppression["owner"]) if suppression.get("owner") else "",
                "; until %s" % _e(suppression["until"]) if suppression.get("until") else "")
        cells = [_sev(finding.get("severity")), _link(finding.get("url"), finding.get("id")),
                 _e(finding.get("package")), _e(finding.get("version")), _e(finding.get("fixed_version") or ""),
                 "yes" if finding.get("fixable") else "no"]
        if with_baseline:
            cells.append(_e(finding.get("baseline") or ""))
        cells.extend([sup, _e(finding.get("description") or "")])
        rows.append('<tr%s>%s</tr>' % (' class="suppressed"' if suppression else "",
                                       "".join("<td>%s</td>" % cell for cell in cells)))
    heads = ("severity", "id", "package", "version", "fixed in", "fixable") + (("baseline",) if with_baseline else ()) \
        + ("exception", "description")
    return _table(' class="findings"', heads, rows)


def _images_html(host, with_baseline):
    if not host["images"]:
        return "<p>No images.</p>"
    rows = []
    for image in host["images"]:
        counts = image["severity_counts"]
        findings = image.get("findings")
        label = image_label(image)
        gate_status = _text(image.get("gate_status"))
        status = _e(image.get("scan_status")) + (" (%s)" % _e(image["failure_reason"]) if image.get("failure_reason")
                                                 else "")
        if gate_status and gate_status != "fresh":
            status += '<br><span class="warn">%s%s</span>' % (
                _e(gate_status), ": %s" % _e(image["gate_reason"]) if image.get("gate_reason") else "")
        rows.append('<tr class="image%s" data-gate-status="%s"><td>%s%s</td><td>%s</td><td>%s</td>%s'
                    '<td class="n">%s</td></tr>' % (
                        " offending" if image["offending"] else "", _e(gate_status),
                        _e(label), ' <span class="off">over the gate</span>' if image["offending"] else "",
                        status, _sev(image.get("severity")),
                        "".join('<td class="n">%d</td>' % _int(counts.get(key)) for key in SEVERITY_COLUMNS[:4]),
                        len(findings) if findings is not None else "not collected"))
        if findings:
            rows.append('<tr class="findings-row"><td colspan="8"><details><summary>findings of %s</summary>%s'
                        "</details></td></tr>" % (_e(label), _findings_html(findings, with_baseline)))
    return ("<table><thead><tr><th>image</th><th>scan status</th><th>severity</th><th>critical</th><th>high</th>"
            "<th>medium</th><th>low</th><th>findings</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows))


def _host_details(number, host, gate, with_baseline):
    summary = host["summary"]
    head = "%s: %s, %d images, worst %s, %s" % (
        _e(host["name"]), _e(host["status"]), _int(summary.get("images_total")), _sev(host["worst_severity"]),
        _res(host["result"]))
    body = ""
    if host["result"] == _report.FAILED:
        body += '<p class="off">%s</p>' % _e(_report.gate_message(host, gate.get("fail_on")))
        if len(host.get("failures") or []) > 1:
            body += "<ul>%s</ul>" % "".join("<li>%s: %s</li>" % (_e(f.get("rule")), _e(f.get("message")))
                                            for f in host["failures"])
    elif host["result"] == _report.SKIPPED_RESULT:
        body += "<p>%s.</p>" % _e(_report.skip_reason(host).capitalize())
    for warning in host.get("warnings") or []:
        body += '<p class="warn">%s</p>' % _e(warning)
    for entry in host.get("expired_exceptions") or []:
        body += '<p class="warn">Expired exception %s (until %s) no longer applies.</p>' % (
            _e(entry.get("id")), _e(entry.get("until")))
    body += _images_html(host, with_baseline)
    return '<details class="host" id="host-%d" data-host="%s"%s><summary>%s</summary>%s</details>' % (
        number, _e(host["name"]), " open" if host["result"] == _report.FAILED else "", head, body)


def image_scan_html(report):
    """One self-contained HTML page of a report."""
    _report.check_report(report, "image_scan_html")
    gate = report.get("gate") or {}
    provider = _text(report.get("provider"))
    title = "Image scan report: %s" % provider.upper()
    with_baseline = "new" in report["totals"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="%s">' % _e(_CSP),
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s</title><style>%s</style></head><body>" % (_e(title), _CSS),
           "<h1>%s</h1>" % _e(title),
           '<p class="meta">Generated %s. Gate: %s.</p>' % (_e(report.get("generated_at") or "?"), _e(_gate_text(gate)))]
    out.append('<section id="summary"><h2>Summary</h2>%s%s%s</section>' % (
        _cards(report), _charts(report), _severity_table(report)))
    out.append('<section id="hosts"><h2>Hosts</h2>%s%s</section>' % (_filters(), _host_table(report)))
    out.append(_problems_section(report))
    out.append(_exceptions_section(report))
    out.append(_delta_section(report))
    out.append('<section id="details"><h2>Images by host</h2>')
    for number, host in enumerate(report["hosts"]):
        out.append(_host_details(number, host, gate, with_baseline))
    out.append("</section><script>%s</script></body></html>" % _SCRIPT)
    return "\n".join(part for part in out if part) + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_html": image_scan_html,
        }
