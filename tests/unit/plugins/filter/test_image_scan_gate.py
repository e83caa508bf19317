# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_gate as g

NOW = "2026-12-01T10:00:00Z"


def check(*entries, **kwargs):
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("warn", False)
    return g.image_scan_exceptions(list(entries), **kwargs)


def entry(**extra):
    base = {"id": "CVE-2024-1", "until": "2026-12-31", "reason": "accepted"}
    base.update(extra)
    return base


# -- validation --------------------------------------------------------------------------------


def test_a_valid_entry_gets_defaults_and_its_place():
    (item,) = check(entry(owner="team-a"))
    assert item == {"id": "CVE-2024-1", "images": ["*"], "hosts": ["*"], "until": "2026-12-31",
                    "reason": "accepted", "owner": "team-a", "expired": False, "index": 0,
                    "source": "image_scan_exceptions"}


@pytest.mark.parametrize("bad, message", [
    ({"until": "2026-12-31", "reason": "r"}, r"image_scan_exceptions entry 2: field 'id' is required"),
    (entry(until=None), r"entry 2 \(id CVE-2024-1\): field 'until' is required"),
    (entry(reason="  "), r"entry 2 \(id CVE-2024-1\): field 'reason' is required"),
    (entry(until="31/12/2026"), r"field 'until' must be an ISO date such as 2026-12-31"),
    (entry(until="2026-02-30"), r"field 'until' must be an ISO date"),
    (entry(until=20261231), r"field 'until' must be an ISO date"),
    (entry(images=[]), r"field 'images' must be a glob pattern or a non-empty list"),
    (entry(hosts=[1]), r"field 'hosts' must be a glob pattern"),
    (entry(owner=["a"]), r"field 'owner' must be a string"),
    (entry(expires="2026-12-31"), r"unknown field\(s\) 'expires'; allowed: id, images, hosts, until, reason, owner"),
    ("CVE-2024-1", r"entry 2: must be a dictionary"),
])
def test_malformed_entries_name_the_entry_and_the_field(bad, message):
    with pytest.raises(AnsibleFilterError, match=message):
        check(entry(), bad)


def test_entries_from_a_file_follow_the_variable_and_name_the_file():
    items = g.image_scan_exceptions([entry()], {"exceptions": [entry(id="CVE-2")]}, file_name="ignore.yml",
                                    now=NOW, warn=False)
    assert [(i["index"], i["source"]) for i in items] == [(0, "image_scan_exceptions"), (1, "ignore.yml")]
    with pytest.raises(AnsibleFilterError, match=r"ignore.yml entry 1 \(id CVE-9\): field 'reason' is required"):
        g.image_scan_exceptions([], [{"id": "CVE-9", "until": "2027-01-01"}], file_name="ignore.yml", now=NOW)
    with pytest.raises(AnsibleFilterError, match="ignore.yml must be a list"):
        g.image_scan_exceptions([], {"CVE-9": {}}, file_name="ignore.yml", now=NOW)


def test_expiry_on_the_boundary_day():
    # A date is the last day the exception applies, through its end (UTC).
    last_day = entry(until="2026-12-01")
    assert check(last_day, now="2026-12-01T00:00:00Z")[0]["expired"] is False
    assert check(last_day, now="2026-12-01T23:59:59Z")[0]["expired"] is False
    assert check(last_day, now="2026-12-02T00:00:00Z")[0]["expired"] is True
    assert check(entry(until="2026-11-30"), now=NOW)[0]["expired"] is True
    # A time applies until that instant; YAML dates and datetimes are understood too.
    assert check(entry(until="2026-12-01T10:00:00Z"), now=NOW)[0]["expired"] is True
    assert check(entry(until="2026-12-01T10:00:01+00:00"), now=NOW)[0]["expired"] is False
    assert check(entry(until=datetime.date(2026, 12, 1)), now=NOW)[0]["until"] == "2026-12-01"
    assert check(entry(until=datetime.datetime(2026, 12, 1, 9)), now=NOW)[0]["expired"] is True


def test_expired_entries_warn_once_each(monkeypatch):
    warnings = []

    class FakeDisplay(object):
        def warning(self, msg):
            warnings.append(msg)

    monkeypatch.setattr(g, "Display", FakeDisplay)
    check(entry(until="2026-01-01"), entry(id="CVE-2"), warn=True)
    assert len(warnings) == 1 and "CVE-2024-1" in warnings[0] and "expired on 2026-01-01" in warnings[0]


# -- matching ----------------------------------------------------------------------------------

IMAGE = {"id": "3ae8cd28", "name": "nginx", "version": "1.25", "digest": "sha256:7943aa"}


@pytest.mark.parametrize("images, hosts, finding_id, matched", [
    (["*"], ["*"], "CVE-2024-1", True),
    (["*"], ["*"], "cve-2024-1", True),          # ids are compared without case
    (["*"], ["*"], "CVE-2024-10", False),        # ids are exact, not prefixes
    (["nginx:*"], ["*"], "CVE-2024-1", True),
    (["nginx:1.2?"], ["*"], "CVE-2024-1", True),
    (["nginx:1.24"], ["*"], "CVE-2024-1", False),
    (["redis:*", "nginx"], ["*"], "CVE-2024-1", True),
    (["sha256:7943*"], ["*"], "CVE-2024-1", True),
    (["3ae8cd28"], ["*"], "CVE-2024-1", True),
    (["nginx@sha256:7943aa"], ["*"], "CVE-2024-1", True),
    (["NGINX:*"], ["*"], "CVE-2024-1", False),   # image names are case-sensitive
    (["*"], ["web-*"], "CVE-2024-1", True),
    (["*"], ["db-*"], "CVE-2024-1", False),
    (["*"], ["10.20.0.*"], "CVE-2024-1", True),  # the cloud's name, IP or id of the host
    (["*"], ["node-01"], "CVE-2024-1", True),
])
def test_patterns_and_ids(images, hosts, finding_id, matched):
    rules = check(entry(images=images, hosts=hosts))
    host = g.host_keys("web-1", {"id": "h-1", "name": "node-01", "ip": "10.20.0.1"})
    found = g.exception_for({"id": finding_id}, IMAGE, host, rules)
    assert (found is not None) == matched


def test_expired_entries_match_only_when_asked():
    rules = check(entry(until="2026-01-01"), entry(id="CVE-2024-2"))
    host = g.host_keys("web-1", None)
    assert g.exception_for({"id": "CVE-2024-1"}, IMAGE, host, rules) is None
    assert g.exception_for({"id": "CVE-2024-1"}, IMAGE, host, rules, expired=True)["index"] == 0
    assert g.exception_for({"id": "CVE-2024-2"}, IMAGE, host, rules)["index"] == 1
    assert g.exception_for({"id": None}, IMAGE, host, rules) is None


def test_untagged_images_are_labelled_by_name():
    assert g.image_label({"name": "app", "version": None}) == "app"
    assert g.image_label({"name": "app", "version": "2"}) == "app:2"
    assert g.image_label({"id": "sha256:1"}) == "sha256:1"


# -- thresholds --------------------------------------------------------------------------------


def test_max_findings():
    assert g.check_max_findings(None) == {}
    assert g.check_max_findings({"critical": 0, "high": "10", "low": None}) == {"critical": 0, "high": 10}
    for bad, message in (({"high": -1}, "high must be a whole number"), ({"high": 1.5}, "whole number"),
                         ({"high": True}, "whole number"), ({"severe": 1}, "unknown severity"),
                         ([1], "must be a dictionary")):
        with pytest.raises(AnsibleFilterError, match=message):
            g.check_max_findings(bad)


# -- baseline ----------------------------------------------------------------------------------


def test_baseline_from_a_report_and_from_the_fact_cache():
    images = [{"id": "i1", "name": "nginx", "version": "1.25",
               "findings": [{"id": "CVE-1", "package": "zlib", "severity": "high"}]},
              {"id": "i2", "name": "redis", "version": "7", "findings": None}]
    report = {"hosts": [{"name": "web1", "images": images}, {"name": "web2", "images": []}]}
    baseline = g.image_scan_baseline(report, name="last/report.json")
    assert baseline["source"] == "last/report.json"
    assert baseline["hosts"] == {"web1": [{"image_id": "i1", "image": "nginx:1.25", "name": "nginx", "id": "CVE-1",
                                           "severity": "high", "package": "zlib"}], "web2": []}
    assert g.ref_key(baseline["hosts"]["web1"][0]) == g.finding_key(images[0], images[0]["findings"][0])
    cached = g.image_scan_baseline("fact_cache", hostvars={"web1": {"image_scan": {"images": images}}, "web2": {}},
                                   play_hosts=["web1", "web2"])
    assert cached["source"] == "fact_cache" and list(cached["hosts"]) == ["web1"]
    with pytest.raises(AnsibleFilterError, match="not a report.json"):
        g.image_scan_baseline({"totals": {}}, name="x.json")


# -- cost guard --------------------------------------------------------------------------------

MATCH = {"hosts": {"web1": {"cloud_host": {"id": "h-1"}}, "web2": {"cloud_host": {"id": "H-2"}},
                   "ghost": {"cloud_host": None}},
         "image_hosts": {"a": [{"id": "h-1"}, {"id": "h-2"}], "b": [{"id": "h-2"}], "c": [{"id": "h-2"}]}}


def test_plan_counts_distinct_images_and_names_the_hosts_holding_most():
    scan = {"images_triggered": [{"id": "a", "name": "nginx", "version": "1"}, {"id": "b", "name": "app"},
                                 {"id": "c", "name": "c", "version": "2"}]}
    plan = g.image_scan_plan(scan, MATCH, max_images=2)
    assert plan["count"] == 3 and plan["exceeded"] is True
    assert plan["hosts"] == [{"host": "web2", "images": 3}, {"host": "web1", "images": 1}]
    assert plan["images"] == ["nginx:1", "app", "c:2"]
    assert plan["message"] == ("image_scan_max_images is 2 but this run would scan 3 images on 2 hosts; most are on "
                               "web2 (3), web1 (1). Nothing was scanned.")
    assert g.image_scan_plan(scan, MATCH, max_images=3)["exceeded"] is False
    assert g.image_scan_plan(scan, MATCH)["message"] == "would scan 3 images on 2 hosts: web2 (3), web1 (1)"


def test_plan_of_hss_rows_counts_each_image_once():
    scan = {"images_triggered": [{"id": "a", "host": {"id": "h-1"}}, {"id": "a", "host": {"id": "h-2"}}]}
    plan = g.image_scan_plan(scan, MATCH, max_images=1)
    assert plan["count"] == 1 and not plan["exceeded"]
    assert plan["hosts"] == [{"host": "web1", "images": 1}, {"host": "web2", "images": 1}]
    assert g.image_scan_plan({"skipped": True}, MATCH, max_images=0)["count"] == 0


def test_plan_guard_of_zero_and_bad_values():
    scan = {"images_triggered": [{"id": "a"}]}
    assert g.image_scan_plan(scan, MATCH, max_images=0)["exceeded"] is True
    assert g.image_scan_plan(scan, MATCH, max_images="1")["exceeded"] is False
    assert g.image_scan_plan(scan, MATCH, max_images="")["max_images"] is None
    with pytest.raises(AnsibleFilterError, match="whole number"):
        g.image_scan_plan(scan, MATCH, max_images="many")
    with pytest.raises(AnsibleFilterError, match="0 or more"):
        g.image_scan_plan(scan, MATCH, max_images=-1)


def test_plan_says_how_many_images_hold_a_scan_licence_where_the_cloud_reports_it():
    scan = {"images_triggered": [{"id": "a", "name": "nginx", "version": "1"}]}
    listing = [{"id": "a", "authorized": True}, {"id": "b", "authorized": False}, {"id": "a", "authorized": True},
               {"id": "c", "authorized": True}]
    plan = g.image_scan_plan(scan, MATCH, listing=listing)
    assert plan["licences"] == {"in_use": 2, "without": 1}
    assert plan["message"].endswith("scan licences: 2 listed images hold one, 1 do not (those are not scanned)")
    # HSS listings say nothing of licences: nothing is claimed.
    plain = g.image_scan_plan(scan, MATCH, listing=[{"id": "a"}])
    assert plain["licences"] is None and "licence" not in plain["message"]
