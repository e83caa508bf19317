# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Synthetic image_scan facts in the full shape (fail-closed statuses, exceptions, expired
exceptions, a baseline delta, hosts not judged), shared by the report tests."""

from __future__ import annotations

import copy

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan

GATE = {"fail_on": "high", "ignore_unfixed": False, "max_findings": {"critical": 0}, "fail_on_incomplete": True,
        "fail_on_unscannable": False, "fail_on_unenrolled": False, "fail_on_new_only": False, "on_error": "warn",
        "max_age": "24h"}

EXCEPTION = {"index": 0, "id": "CVE-2024-0001", "images": ["nginx:*"], "hosts": ["web-*"], "until": "2027-01-31",
             "reason": "backported by the vendor", "owner": "team-sec"}
EXPIRED = {"index": 1, "id": "CVE-2023-9999", "images": ["*"], "hosts": ["*"], "until": "2026-01-01",
           "reason": "waiting for upstream", "owner": None, "expired": True}


def finding(cve, severity, package="openssl", fixed="3.0.9", suppressed=None, baseline=None, **extra):
    entry = {"id": cve, "severity": severity, "package": package, "version": "3.0.1", "fixed_version": fixed,
             "fixable": bool(fixed), "description": "%s in %s." % (cve, package),
             "url": "https://nvd.nist.gov/vuln/detail/%s" % cve, "suppressed": suppressed}
    if baseline:
        entry["baseline"] = baseline
    entry.update(extra)
    return entry


def image(image_id, name, version, findings=None, gate_status="fresh", gate_reason=None, scan_status="success",
          offending=False):
    entry = {"id": image_id, "name": name, "version": version, "digest": "sha256:" + image_id * 8,
             "scan_status": scan_status, "failure_reason": None if scan_status == "success" else scan_status,
             "latest_scan_time": "2026-11-30T10:00:00Z", "vulnerability_count": len(findings or []),
             "counts": {}, "gate_status": gate_status, "gate_reason": gate_reason, "offending": offending}
    if findings is not None:
        entry["findings"] = findings
        entry["severity_counts"] = _scan.severity_counts(findings)
    entry["severity"] = _scan.worst_severity([f["severity"] for f in findings or []] or ["none"])
    entry["worst_counted"] = _scan.worst_severity(
        [f["severity"] for f in findings or [] if not f.get("suppressed")] or ["none"])
    return entry


def delta_entry(img, f):
    label = "%s:%s" % (img["name"], img["version"]) if img["version"] else img["name"]
    return {"image_id": img["id"], "image": label, "id": f["id"],
            "severity": f["severity"], "package": f["package"]}


def fact(status, images=(), passed=True, failures=(), judged=True, not_judged_reason=None, delta=None,
         expired=(), warnings=(), cloud_host=None):
    images = list(images)
    summary = dict.fromkeys(_scan.COUNTED_SEVERITIES, 0)
    counted = dict.fromkeys(_scan.COUNTED_SEVERITIES, 0)
    summary.update(images_total=len(images), images_scanned=0, images_failed=0, images_pending=0, images_fresh=0,
                   images_incomplete=0, images_unscannable=0, suppressed=0)
    for img in images:
        summary["images_scanned"] += img["scan_status"] == "success"
        summary["images_failed"] += img["scan_status"] in _scan.IMAGE_FINISHED_BAD
        summary["images_" + img["gate_status"]] += 1
        for f in img.get("findings") or []:
            word = f["severity"] if f["severity"] in summary else "unknown"
            summary[word] += 1
            if f.get("suppressed"):
                summary["suppressed"] += 1
            else:
                counted[word] += 1
    summary["worst_severity"] = _scan.worst_severity([i["severity"] for i in images] or ["none"])
    summary["counted"] = counted
    failures = list(failures)
    return {
        "provider": "tcss", "status": status, "scanned_at": "2026-11-30T10:00:00Z",
        "cloud_host": cloud_host, "images": images, "summary": summary, "passed": passed, "judged": judged,
        "not_judged_reason": not_judged_reason,
        "offending_images": [{"id": i["id"], "name": i["name"], "version": i["version"], "severity": i["worst_counted"]}
                             for i in images if i["offending"]],
        "incomplete_images": [{"id": i["id"], "name": i["name"], "version": i["version"],
                               "scan_status": i["scan_status"], "reason": i["gate_reason"], "task_ids": []}
                              for i in images if i["gate_status"] == "incomplete"],
        "unscannable_images": [{"id": i["id"], "name": i["name"], "version": i["version"],
                                "scan_status": i["scan_status"], "reason": i["gate_reason"]}
                               for i in images if i["gate_status"] == "unscannable"],
        "failures": failures,
        "message": None if not failures else "failed the gate: " + "; ".join(f["message"] for f in failures),
        "warnings": list(warnings), "expired_exceptions": list(expired), "delta": delta, "gate": dict(GATE),
    }


def full_facts():
    """Seven hosts, one of each kind the reports must show."""
    suppressed = dict(EXCEPTION)
    nginx = image("n1", "nginx", "1.25", [
        finding("CVE-2024-0001", "critical", suppressed=suppressed, baseline="unchanged", cvss_score=9.8,
                cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        finding("CVE-2024-0002", "high", package="zlib", fixed="1.3", baseline="new"),
        finding("CVE-2024-0003", "medium", package="curl", fixed=None, baseline="unchanged"),
    ], offending=True)
    fixed = {"image_id": "n1", "image": "nginx:1.25", "id": "CVE-2023-0100", "severity": "high", "package": "bash"}
    web1_delta = {"baseline": "last/report.json", "baseline_found": True,
                  "new": [delta_entry(nginx, nginx["findings"][1])], "fixed": [fixed],
                  "unchanged": [delta_entry(nginx, nginx["findings"][0]), delta_entry(nginx, nginx["findings"][2])]}
    redis = image("r1", "redis", "7", None, gate_status="incomplete", gate_reason="the scan failed: download_failed",
                  scan_status="download_failed")
    app = image("a1", "app", "", [finding("CVE-2024-0004", "low", package="libxml2", baseline="new")])
    legacy = image("l1", "legacy", "0.9", [], gate_status="unscannable", gate_reason="the image is not authorised",
                   scan_status="unscannable")
    app_delta = {"baseline": "last/report.json", "baseline_found": False,
                 "new": [delta_entry(app, app["findings"][0])], "fixed": [], "unchanged": []}
    return {
        "web-1": fact("scanned", [nginx], passed=False, delta=web1_delta, expired=[dict(EXPIRED)],
                      cloud_host={"id": "h-1", "name": "web-1", "ip": "10.0.0.1", "agent_status": "online"},
                      failures=[{"rule": "severity", "message": "nginx:1.25 has findings at or above high"}]),
        "web-2": fact("incomplete", [redis], passed=False,
                      failures=[{"rule": "incomplete", "message": "redis:7 has no fresh result"}]),
        "app-1": fact("scanned", [app, legacy], delta=app_delta),
        "db-1": fact("error", passed=True, judged=False, not_judged_reason="listing the hosts failed: 503",
                     warnings=["db-1 not judged: listing the hosts failed: 503"]),
        "db-2": fact("error", passed=False, judged=False, not_judged_reason="the trigger failed: 500",
                     failures=[{"rule": "error", "message": "the trigger failed: 500"}]),
        "ghost": fact("not_enrolled"),
        "down": fact("agent_offline"),
    }


def run_exceptions():
    """The run's exceptions as the role gives them to the report."""
    return [dict(EXCEPTION, expired=False, matched=1), dict(EXPIRED, matched=0)]


def old_facts(facts):
    """The same facts without any of the keys added for fail-closed gating, exceptions and deltas."""
    facts = copy.deepcopy(facts)
    for entry in facts.values():
        for key in ("judged", "not_judged_reason", "incomplete_images", "unscannable_images", "failures", "message",
                    "warnings", "expired_exceptions", "delta"):
            entry.pop(key)
        entry["gate"] = {"fail_on": "high", "ignore_unfixed": False}
        for key in ("images_fresh", "images_incomplete", "images_unscannable", "counted", "suppressed"):
            entry["summary"].pop(key)
        for img in entry["images"]:
            for key in ("gate_status", "gate_reason", "offending", "worst_counted"):
                img.pop(key)
            for f in img.get("findings") or []:
                f.pop("suppressed")
                f.pop("baseline", None)
    return facts
