# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""report.json and JUnit with the full fact shape: fail-closed statuses, hosts not judged,
exceptions (suppressed findings, expired entries) and a baseline delta."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as r

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.filter import report_samples as samples


def report(facts=None, **kwargs):
    kwargs.setdefault("exceptions", samples.run_exceptions())
    return r.image_scan_report(samples.full_facts() if facts is None else facts, "tcss",
                               generated_at="2026-11-30T10:05:00Z", **kwargs)


def hosts_of(rep):
    return dict((h["name"], h) for h in rep["hosts"])


# -- report.json -------------------------------------------------------------------------------


def test_results_with_hosts_not_judged():
    results = dict((name, h["result"]) for name, h in hosts_of(report()).items())
    assert results == {"web-1": "failed", "web-2": "failed", "app-1": "passed", "db-1": "skipped",
                       "db-2": "failed", "ghost": "skipped", "down": "skipped"}


def test_host_entries_copy_the_new_fact_keys():
    facts = samples.full_facts()
    rep = report(facts)
    for name, host in hosts_of(rep).items():
        for key in ("judged", "not_judged_reason", "incomplete_images", "unscannable_images", "failures", "message",
                    "warnings", "expired_exceptions", "delta"):
            assert host[key] == facts[name][key], (name, key)
    web1 = hosts_of(rep)["web-1"]
    image = web1["images"][0]
    assert (image["gate_status"], image["offending"], image["worst_counted"]) == ("fresh", True, "high")
    assert image["findings"][0]["suppressed"]["reason"] == "backported by the vendor"
    assert image["findings"][1]["baseline"] == "new"
    assert hosts_of(rep)["web-2"]["images"][0]["gate_reason"] == "the scan failed: download_failed"
    assert json.loads(json.dumps(rep)) == rep


def test_top_level_exceptions_baseline_and_not_judged():
    rep = report(baseline={"source": "last/report.json", "hosts": 12})
    assert [e["id"] for e in rep["exceptions"]] == ["CVE-2024-0001", "CVE-2023-9999"]
    assert [e["id"] for e in rep["expired_exceptions"]] == ["CVE-2023-9999"]
    assert rep["baseline"] == {"source": "last/report.json", "hosts": 12}
    assert rep["not_judged"] == [{"host": "db-1", "reason": "listing the hosts failed: 503"},
                                 {"host": "db-2", "reason": "the trigger failed: 500"}]
    assert rep["gate"]["max_findings"] == {"critical": 0} and rep["gate"]["on_error"] == "warn"


def test_without_the_run_values_the_report_takes_them_from_the_facts():
    rep = report(exceptions=None)
    assert [(e["id"], e["matched"], e["expired"]) for e in rep["exceptions"]] == [("CVE-2024-0001", 1, False)]
    assert [(e["id"], e["expired"]) for e in rep["expired_exceptions"]] == [("CVE-2023-9999", True)]
    assert rep["baseline"] == {"source": "last/report.json"}


def test_new_totals():
    totals = report()["totals"]
    assert (totals["hosts"], totals["hosts_passed"], totals["hosts_failed"], totals["hosts_skipped"]) == (7, 1, 3, 3)
    assert (totals["hosts_incomplete"], totals["hosts_not_judged"]) == (1, 2)
    assert (totals["images_incomplete"], totals["images_unscannable"]) == (1, 1)
    assert totals["findings_suppressed"] == 1
    assert (totals["new"], totals["fixed"], totals["unchanged"]) == (2, 1, 2)
    assert totals["statuses"] == {"scanned": 2, "incomplete": 1, "error": 2, "not_enrolled": 1, "agent_offline": 1}


def test_old_facts_still_make_a_report_without_the_new_values():
    rep = report(samples.old_facts(samples.full_facts()), exceptions=None)
    assert rep["exceptions"] == [] and rep["expired_exceptions"] == [] and rep["baseline"] is None
    assert rep["not_judged"] == []
    totals = rep["totals"]
    assert "new" not in totals and totals["findings_suppressed"] == 0 and totals["hosts_not_judged"] == 0
    host = hosts_of(rep)["web-1"]
    assert host["judged"] is True and host["failures"] == [] and host["delta"] is None
    assert host["images"][0]["gate_status"] is None
    # db-1 and db-2 had no judged key: "error" hosts that passed are simply passed then.
    assert hosts_of(rep)["db-1"]["result"] == "passed"


@pytest.mark.parametrize("key, value", [("exceptions", {"id": "x"}), ("baseline", ["x"])])
def test_run_values_of_the_wrong_type_are_refused(key, value):
    with pytest.raises(AnsibleFilterError, match=key):
        report(**{key: value})


# -- JUnit -------------------------------------------------------------------------------------


def junit(rep=None):
    root = ET.fromstring(r.image_scan_junit(rep or report()).encode("utf-8"))
    return root, dict((c.get("name"), c) for c in root.iter("testcase"))


def test_junit_counts_a_host_not_judged_that_fails_as_an_error():
    root, cases = junit()
    suite = root.find("testsuite")
    for element in (root, suite):
        assert (element.get("tests"), element.get("failures"), element.get("errors"), element.get("skipped")) == (
            "7", "2", "1", "3")
    error = cases["db-2"].find("error")
    assert error is not None and cases["db-2"].find("failure") is None
    assert error.get("type") == "scanner_error" and "the trigger failed: 500" in error.get("message")


def test_junit_failure_type_and_message_follow_the_gate_rule():
    _root, cases = junit()
    web1 = cases["web-1"].find("failure")
    assert web1.get("type") == "severity_gate"
    assert web1.get("message") == "failed the gate: nginx:1.25 has findings at or above high"
    web2 = cases["web-2"].find("failure")
    assert web2.get("type") == "incomplete_scan"
    assert "incomplete: redis:7  id=r1  scan=download_failed  the scan failed: download_failed" in web2.text
    assert "CVE-2024-0001" in web1.text and "[suppressed: backported by the vendor]" in web1.text
    assert "[new]" in web1.text


def test_junit_skips_hosts_not_judged_that_pass_saying_why():
    _root, cases = junit()
    assert cases["db-1"].find("skipped").get("message") == "not judged: listing the hosts failed: 503"
    assert cases["ghost"].find("skipped").get("message").startswith("not_enrolled: ")
    assert "warning: db-1 not judged: listing the hosts failed: 503" in cases["db-1"].find("system-out").text


def test_junit_system_out_shows_suppressed_findings_expired_exceptions_delta_and_unscannable_images():
    _root, cases = junit()
    out = cases["web-1"].find("system-out").text
    assert ("suppressed: CVE-2024-0001 in nginx:1.25 openssl (backported by the vendor; owner team-sec; "
            "until 2027-01-31)") in out
    assert "expired exception: CVE-2023-9999 (until 2026-01-01; waiting for upstream) no longer applies" in out
    assert "against last/report.json: 1 new, 1 fixed, 2 unchanged" in out
    assert "  new: high CVE-2024-0002 zlib in nginx:1.25" in out and "  fixed: high CVE-2023-0100 bash" in out
    app = cases["app-1"].find("system-out").text
    assert "(the host was not in the baseline)" in app
    assert "unscannable: legacy:0.9  id=l1  scan=unscannable  the image is not authorised" in app


def test_junit_properties_name_exceptions_and_the_baseline():
    root, _cases = junit(report(baseline={"source": "last/report.json", "hosts": 2}))
    props = dict((p.get("name"), p.get("value")) for p in root.find("testsuite").findall("properties/property"))
    assert props["exceptions"] == "1" and props["expired_exceptions"] == "CVE-2023-9999 (until 2026-01-01)"
    assert props["findings_suppressed"] == "1" and props["hosts_not_judged"] == "2"
    assert (props["baseline"], props["new"], props["fixed"], props["unchanged"]) == ("last/report.json", "2", "1", "2")


def test_exceptions_without_a_count_get_the_findings_they_suppressed_in_the_report():
    exceptions = [dict(e) for e in samples.run_exceptions()]
    for entry in exceptions:
        entry.pop("matched")
    assert [(e["id"], e["matched"]) for e in report(exceptions=exceptions)["exceptions"]] == [
        ("CVE-2024-0001", 1), ("CVE-2023-9999", 0)]
