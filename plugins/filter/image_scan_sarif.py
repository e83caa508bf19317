# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SARIF 2.1.0 of image scan reports, for code scanning services such as GitHub's."""

from __future__ import annotations

import gzip
import hashlib
import json
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as _report
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "cloudsec.image_scan"
INFORMATION_URI = "https://github.com/cloudsec/image_scan"
PROVIDER_NAMES = {"hss": "Huawei Cloud HSS", "tcss": "Tencent Cloud TCSS"}

#: GitHub code scanning's limits for one uploaded file.
MAX_RESULTS_PER_RUN = 25000
MAX_RUNS = 20
MAX_GZIPPED_BYTES = 10 * 1000 * 1000

#: The key of our partial fingerprint, versioned so that a change of its recipe is a new key.
FINGERPRINT_KEY = "imageScanFinding/v1"

#: SARIF level of each severity.
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "unknown": "note"}

#: ``security-severity`` (a CVSS-like score, as GitHub reads it) of a severity when no CVSS score is known:
#: the middle of the band GitHub maps back to the same severity.
SECURITY_SEVERITY = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.0}

#: ``problem.severity`` of each severity, as GitHub reads it for rules that are not security rules.
PROBLEM_SEVERITY = {"critical": "error", "high": "error", "medium": "warning", "low": "recommendation",
                    "unknown": "recommendation"}

_URI_UNSAFE = re.compile(r"[^A-Za-z0-9._~/-]")


def _text(value):
    return _report._text(value)


def _severity(finding):
    word = _text(finding.get("severity")).lower()
    return word if word in LEVELS else "unknown"


def _cvss(finding):
    """(score, vector) of a finding when the cloud gave them, else (None, None)."""
    cvss = finding.get("cvss")
    score = finding.get("cvss_score")
    vector = finding.get("cvss_vector")
    if isinstance(cvss, dict):
        score = cvss.get("score", score)
        vector = cvss.get("vector", vector)
    elif cvss not in (None, ""):
        score = cvss if score is None else score
    try:
        score = float(score) if score not in (None, "") else None
    except (TypeError, ValueError):
        score = None
    if score is not None and not 0.0 <= score <= 10.0:
        score = None
    return score, (_text(vector) or None)


def _uri(image):
    """A relative URI naming an image's repository: what code scanning shows as the file."""
    name = _text(image.get("name")).strip("/") or "image/%s" % _text(image.get("id") or "unknown")
    return _URI_UNSAFE.sub(lambda m: "".join("%%%02X" % b for b in m.group(0).encode("utf-8")), name)


def _fingerprint(provider, host, image, finding):
    """Stable across runs for the same vulnerability in the same package of the same image
    repository on the same host: a rebuilt image (new ID, new tag) keeps its findings' alerts."""
    parts = (provider, host, _text(image.get("name")) or _text(image.get("id")), _text(finding.get("id")),
             _text(finding.get("package")))
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def _web_url(url):
    url = _text(url)
    return url if re.match(r"^https?://\S+$", url, re.I) else None


def _fix_text(finding):
    fix = _text(finding.get("fixed_version"))
    package = _text(finding.get("package")) or "the package"
    if fix:
        return "Upgrade %s to %s or later." % (package, fix)
    if finding.get("fixable"):
        return "A fix exists for %s: see the vulnerability's references." % package
    return "No fixed version of %s is known yet." % package


def _suppression(finding):
    """The SARIF suppression of a finding an exception covers, else None."""
    entry = _report.finding_suppression(finding)
    if not entry:
        return None
    suppression = {"kind": "external", "status": "accepted",
                   "justification": _text(entry.get("reason")) or "suppressed by an image_scan exception"}
    props = dict((key, entry.get(key)) for key in ("id", "owner", "until") if entry.get(key) not in (None, ""))
    if props:
        suppression["properties"] = props
    return suppression


class _Rule(object):
    """What a run knows of one vulnerability id."""

    def __init__(self, vuln_id):
        self.id = vuln_id
        self.severity = "unknown"
        self.description = ""
        self.url = None
        self.cvss_score = None
        self.cvss_vector = None
        self.fixes = []

    def add(self, finding):
        severity = _severity(finding)
        if _scan.severity_rank(severity) > _scan.severity_rank(self.severity):
            self.severity = severity
        self.description = self.description or _text(finding.get("description")).strip()
        self.url = self.url or _web_url(finding.get("url"))
        score, vector = _cvss(finding)
        if score is not None and (self.cvss_score is None or score > self.cvss_score):
            self.cvss_score, self.cvss_vector = score, vector or self.cvss_vector
        fix = _fix_text(finding)
        if fix not in self.fixes:
            self.fixes.append(fix)

    def sarif(self):
        summary = self.description.split("\n", 1)[0].strip()
        if len(summary) > 200:
            summary = summary[:197].rstrip() + "..."
        text = ["%s (%s)." % (self.id, self.severity)]
        if self.description:
            text.append(self.description)
        text.extend(self.fixes)
        if self.url:
            text.append("Reference: %s" % self.url)
        markdown = ["**%s** (%s)" % (self.id, self.severity)]
        if self.description:
            markdown.append(self.description)
        markdown.append("Fix:\n\n" + "\n".join("- %s" % fix for fix in self.fixes))
        if self.url:
            markdown.append("Reference: <%s>" % self.url)
        properties = {"tags": ["security", "vulnerability", self.severity], "severity": self.severity,
                      "problem.severity": PROBLEM_SEVERITY[self.severity], "precision": "very-high"}
        score = self.cvss_score if self.cvss_score is not None else SECURITY_SEVERITY.get(self.severity)
        if score is not None:
            properties["security-severity"] = "%.1f" % score
        if self.cvss_score is not None:
            properties["cvss_score"] = self.cvss_score
        if self.cvss_vector:
            properties["cvss_vector"] = self.cvss_vector
        rule = {
            "id": self.id,
            "name": self.id,
            "shortDescription": {"text": "%s: %s" % (self.id, summary) if summary else self.id},
            "fullDescription": {"text": self.description or self.id},
            "help": {"text": "\n".join(text), "markdown": "\n\n".join(markdown)},
            "defaultConfiguration": {"level": LEVELS[self.severity]},
            "properties": properties,
        }
        if self.url:
            rule["helpUri"] = self.url
        return rule


def _result(provider, host, image, finding, baseline_state):
    severity = _severity(finding)
    label = _report.image_label(image)
    fix = _text(finding.get("fixed_version"))
    message = "%s (%s) in %s %s of image %s on host %s%s" % (
        _text(finding.get("id")), severity, _text(finding.get("package")) or "a package",
        _text(finding.get("version")), label, host, "; fixed in %s." % fix if fix else "; no fix known.")
    properties = {"host": host, "image": label, "image_id": image.get("id"), "severity": severity,
                  "package": finding.get("package"), "installed_version": finding.get("version"),
                  "fixed_version": finding.get("fixed_version"), "fixable": bool(finding.get("fixable"))}
    result = {
        "ruleId": _text(finding.get("id")),
        "level": LEVELS[severity],
        "message": {"text": re.sub(r"\s+", " ", message)},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": _uri(image)}, "region": {"startLine": 1}},
            "logicalLocations": [{"name": label, "fullyQualifiedName": "%s/%s" % (host, label), "kind": "image"}],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(provider, host, image, finding)},
        "properties": properties,
    }
    suppression = _suppression(finding)
    if suppression:
        result["suppressions"] = [suppression]
    if baseline_state:
        result["baselineState"] = baseline_state
    return result


def _candidates(report):
    """(sort key, provider, host, image, finding, baseline state) of every finding of a report."""
    provider = _text(report.get("provider"))
    order = 0
    for host in report.get("hosts") or []:
        name = _text(host.get("name"))
        for image in host.get("images") or []:
            for finding in image.get("findings") or []:
                if not _text(finding.get("id")):
                    continue
                order += 1
                suppressed = bool(_report.finding_suppression(finding))
                key = (suppressed, -_scan.severity_rank(_severity(finding)), order)
                yield key, provider, name, image, finding, _report.finding_baseline_state(finding, image, host)


def _gzipped_size(document):
    return len(gzip.compress(json.dumps(document).encode("utf-8"), 6))


def _run(provider, reports, max_results):
    candidates = []
    for report in reports:
        candidates.extend(_candidates(report))
    candidates.sort(key=lambda c: c[0])
    kept, left_out = candidates[:max_results], candidates[max_results:]
    rules, results = {}, []
    for _key, prov, host, image, finding, state in kept:
        rule = rules.get(_text(finding.get("id")))
        if rule is None:
            rule = rules[_text(finding.get("id"))] = _Rule(_text(finding.get("id")))
        rule.add(finding)
        results.append(_result(prov, host, image, finding, state))
    rule_ids = sorted(rules)
    index = dict((rule_id, number) for number, rule_id in enumerate(rule_ids))
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    levels = dict.fromkeys(("error", "warning", "note"), 0)
    for result in results:
        levels[result["level"]] += 1
    generated = [r.get("generated_at") for r in reports if r.get("generated_at")]
    first = reports[0]
    properties = {
        "provider": provider,
        "gate": first.get("gate") or {},
        "hosts": sum(len(r.get("hosts") or []) for r in reports),
        "results_total": len(candidates),
        "results": len(results),
        "results_omitted": len(left_out),
        "results_suppressed": sum(1 for r in results if r.get("suppressions")),
        "results_by_level": levels,
    }
    fixed = _report.fixed_count(reports)
    if fixed is not None:
        properties["baseline_fixed"] = fixed
    invocation = {"executionSuccessful": True, "toolExecutionNotifications": []}
    if generated:
        invocation["endTimeUtc"] = max(generated)
    if left_out:
        worst_left = _scan.worst_severity(_severity(c[4]) for c in left_out)
        invocation["toolExecutionNotifications"].append({
            "descriptor": {"id": "results-omitted"},
            "level": "warning",
            "message": {"text": "%d of %d results left out to stay within %d results per run; the most severe "
                                "were kept (the worst left out is %s)." % (
                                    len(left_out), len(candidates), max_results, worst_left)},
        })
    if not invocation["toolExecutionNotifications"]:
        del invocation["toolExecutionNotifications"]
    return {
        "tool": {"driver": {
            "name": TOOL_NAME,
            "fullName": "%s on %s" % (TOOL_NAME, PROVIDER_NAMES.get(provider, provider.upper() or "?")),
            "informationUri": INFORMATION_URI,
            "rules": [rules[rule_id].sarif() for rule_id in rule_ids],
        }},
        # Code scanning tells runs of one tool apart by this category.
        "automationDetails": {"id": "image_scan/%s/" % provider},
        "invocations": [invocation],
        "results": results,
        "properties": properties,
    }


def image_scan_sarif(reports, max_results=MAX_RESULTS_PER_RUN, max_gzipped_bytes=MAX_GZIPPED_BYTES):
    """SARIF 2.1.0 of one report or a list of them: one run per provider."""
    if isinstance(reports, dict):
        reports = [reports]
    if not isinstance(reports, (list, tuple)):
        raise AnsibleFilterError("image_scan_sarif expects a report of cloudsec.image_scan.image_scan_report "
                                 "or a list of them, got %s" % type(reports).__name__)
    for report in reports:
        _report.check_report(report, "image_scan_sarif")
    try:
        max_results = int(max_results)
        max_gzipped_bytes = int(max_gzipped_bytes)
    except (TypeError, ValueError):
        raise AnsibleFilterError("image_scan_sarif: max_results and max_gzipped_bytes must be integers")
    if not 1 <= max_results <= MAX_RESULTS_PER_RUN:
        raise AnsibleFilterError("image_scan_sarif: max_results must be between 1 and %d, got %d"
                                 % (MAX_RESULTS_PER_RUN, max_results))
    by_provider = {}
    for report in reports:
        by_provider.setdefault(_text(report.get("provider")), []).append(report)
    if len(by_provider) > MAX_RUNS:
        raise AnsibleFilterError("image_scan_sarif: %d providers make more than %d runs" % (len(by_provider), MAX_RUNS))
    document = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": []}
    for provider, group in by_provider.items():
        limit = max_results
        while True:
            run = _run(provider, group, limit)
            document["runs"].append(run)
            size = _gzipped_size(document)
            if size <= max_gzipped_bytes or not run["results"]:
                break
            document["runs"].pop()
            # Fewer results, in proportion to the excess, until the file fits.
            limit = min(len(run["results"]) - 1, int(len(run["results"]) * max_gzipped_bytes * 0.9 / size))
            limit = max(limit, 0)
    return document


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_sarif": image_scan_sarif,
        }
