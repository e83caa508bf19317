# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Merging the reports of a sliced job: the merged report of the slices is the report of the
whole job, and so are the JUnit, HTML and SARIF made from it."""

from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_html as h
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_merge as m
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as r
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_sarif as s

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.filter import report_samples as samples
from ansible_collections.cloudsec.image_scan.tests.unit.plugins.filter.test_image_scan_report import facts as role_facts

GENERATED = "2026-11-30T10:05:00Z"


def many_facts():
    """The full sample fleet, three times over under other names: 21 hosts of every kind."""
    facts = {}
    for copy in ("a", "b", "c"):
        for name, fact in samples.full_facts().items():
            facts["%s-%s" % (name, copy)] = fact
    return facts


def slices(facts, count):
    """The hosts AWX gives each of ``count`` slices: slice k has hosts k-1, k-1+count, ..."""
    names = list(facts)
    return [dict((name, facts[name]) for name in names[k::count]) for k in range(count)]


def run_exceptions(facts):
    """The run's exceptions as the role of a run on these hosts gives them: matched counts the
    findings each suppressed on them."""
    exceptions = samples.run_exceptions()
    for entry in exceptions:
        entry["matched"] = sum(1 for fact in facts.values() for image in fact["images"]
                               for finding in image.get("findings") or []
                               if (finding.get("suppressed") or {}).get("index") == entry["index"])
    return exceptions


def report_of(facts, **kwargs):
    if kwargs.get("exceptions") == "run":
        kwargs["exceptions"] = run_exceptions(facts)
    return json.loads(json.dumps(r.image_scan_report(facts, "tcss", generated_at=GENERATED, **kwargs)))


@pytest.mark.parametrize("count", [1, 2, 4, 5, 21, 30])
@pytest.mark.parametrize("run_values", [
    {"exceptions": "run", "baseline": {"source": "last/report.json", "hosts": 12}},
    {},
], ids=["run-values", "from-facts"])
def test_the_merged_slices_are_the_report_of_the_whole_job(count, run_values):
    facts = many_facts()
    whole = report_of(facts, **run_values)
    parts = [report_of(part, **run_values) for part in slices(facts, count)]
    merged = m.image_scan_merge(parts)
    assert merged == whole
    assert r.image_scan_junit(merged) == r.image_scan_junit(whole)
    assert h.image_scan_html(merged) == h.image_scan_html(whole)
    assert s.image_scan_sarif(merged) == s.image_scan_sarif(whole)
    assert merged["totals"]["hosts"] == 21 and merged["totals"]["findings_suppressed"] == 3


def test_merging_the_slices_of_facts_the_role_makes():
    facts = role_facts()
    whole = report_of(facts)
    assert m.image_scan_merge([report_of(part) for part in slices(facts, 4)]) == whole


def test_exceptions_add_up_their_matches_and_stay_in_list_order():
    facts = many_facts()
    parts = [report_of(part, exceptions="run") for part in slices(facts, 3)]
    merged = m.image_scan_merge(list(reversed(parts)), order="name")
    assert [(e["id"], e["matched"]) for e in merged["exceptions"]] == [("CVE-2024-0001", 3), ("CVE-2023-9999", 0)]
    assert [e["id"] for e in merged["expired_exceptions"]] == ["CVE-2023-9999"]


def test_a_fact_cache_baseline_adds_up_the_hosts_of_the_slices_and_a_file_does_not():
    facts = many_facts()
    for source, expected in (("fact_cache", 21), ("last/report.json", 7)):
        parts = [report_of(part, baseline={"source": source, "hosts": len(part)}) for part in slices(facts, 3)]
        assert m.image_scan_merge(parts)["baseline"] == {"source": source, "hosts": expected}


def test_orders():
    facts = many_facts()
    parts = [report_of(part) for part in slices(facts, 4)]
    assert [x["name"] for x in m.image_scan_merge(parts)["hosts"]] == list(facts)
    assert [x["name"] for x in m.image_scan_merge(parts, order="name")["hosts"]] == sorted(facts)
    assert [x["name"] for x in m.image_scan_merge(parts, order="given")["hosts"]] == \
        [x["name"] for part in parts for x in part["hosts"]]


def test_the_latest_generation_time_is_kept():
    facts = many_facts()
    parts = [report_of(part) for part in slices(facts, 2)]
    parts[1]["generated_at"] = "2026-11-30T11:00:00Z"
    assert m.image_scan_merge(parts)["generated_at"] == "2026-11-30T11:00:00Z"


def test_a_single_report_merges_to_itself():
    rep = report_of(many_facts())
    assert m.image_scan_merge(rep) == rep
    assert m.image_scan_merge([report_of({})])["hosts"] == []


def test_refuses_reports_that_are_not_slices_of_one_job():
    facts = many_facts()
    one, two = [report_of(part) for part in slices(facts, 2)]
    with pytest.raises(AnsibleFilterError, match="host web-1-a is in report 1 and report 2"):
        m.image_scan_merge([one, one])
    other = dict(two, provider="hss")
    with pytest.raises(AnsibleFilterError, match="different providers"):
        m.image_scan_merge([one, other])
    regated = dict(two, gate=dict(two["gate"], fail_on="critical"))
    with pytest.raises(AnsibleFilterError, match="different settings"):
        m.image_scan_merge([one, regated])
    with pytest.raises(AnsibleFilterError, match="format_version 1"):
        m.image_scan_merge([one, dict(two, format_version=2)])
    rebased = dict(two, baseline={"source": "other.json"})
    with pytest.raises(AnsibleFilterError, match="different baselines"):
        m.image_scan_merge([dict(one, baseline={"source": "last.json"}), rebased])


@pytest.mark.parametrize("bad, match", [([], "non-empty list"), (None, "non-empty list"), ("x", "non-empty list"),
                                        ([{"hosts": []}], "image_scan_report")])
def test_refuses_what_is_not_a_list_of_reports(bad, match):
    with pytest.raises(AnsibleFilterError, match=match):
        m.image_scan_merge(bad)


def test_refuses_an_unknown_order():
    with pytest.raises(AnsibleFilterError, match="order must be one of interleave, name, given"):
        m.image_scan_merge([report_of({})], order="random")


def test_old_facts_merge_too():
    facts = samples.old_facts(many_facts())
    whole = report_of(facts)
    assert m.image_scan_merge([report_of(part) for part in slices(facts, 3)]) == whole
