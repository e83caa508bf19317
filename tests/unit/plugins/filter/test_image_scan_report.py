# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import hashlib
import html
import html.parser
import json
import re
import xml.etree.ElementTree as ET

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan as f
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_html as h
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as r

CLOUD_HOSTS = [
    {"id": "h-1", "name": "node-01", "ip": "10.0.0.1", "agent_status": "online"},
    {"id": "h-2", "name": "node-02", "ip": "10.0.0.2", "agent_status": "online"},
    {"id": "h-3", "name": "node-03", "ip": "10.0.0.3", "agent_status": "online"},
    {"id": "h-4", "name": "node-04", "ip": "10.0.0.4", "agent_status": "offline"},
    {"id": "h-5", "name": "<b>&\"odd'</b>", "ip": "10.0.0.5", "agent_status": "online"},
]
PLAY_HOSTS = ["web1", "web2", "web3", "ghost", "down", "<b>&\"odd'</b>"]
HOSTVARS = {
    "web1": {"image_scan_host_id": "h-1"},
    "web2": {"image_scan_host_id": "h-2"},
    "web3": {"image_scan_host_id": "h-3"},
    "ghost": {},
    "down": {"image_scan_host_id": "h-4"},
    "<b>&\"odd'</b>": {"image_scan_host_id": "h-5"},
}


def finding(cve, severity, fixable=True, url=None, description="", package="pkg"):
    return {"id": cve, "severity": severity, "package": package, "version": "1.0",
            "fixed_version": "1.1" if fixable else None, "fixable": fixable, "description": description,
            "url": url if url is not None else "https://nvd.nist.gov/vuln/detail/%s" % cve}


def image(image_id, host_ids, severity, findings=None, status="success", name=None, **extra):
    entry = {"id": image_id, "name": name or "img-" + image_id, "version": "1", "digest": None,
             "scan_status": status, "failure_reason": None, "latest_scan_time": "2025-01-02T03:04:05Z",
             "severity": severity, "vulnerability_count": len(findings or []),
             "hosts": [{"id": h} for h in host_ids], "counts": {}}
    if findings is not None:
        entry["findings"] = findings
        entry["severity_counts"] = f._scan.severity_counts(findings)
    entry.update(extra)
    return entry


IMAGES = [
    image("a", ["h-1", "h-2"], "critical", [finding("CVE-1", "critical"), finding("CVE-2", "high", fixable=False)]),
    image("b", ["h-2"], "low", [finding("CVE-3", "low")]),
    image("c", ["h-4"], "high", []),
    image("d", ["h-1"], "none", [], status="failed", failure_reason="download_failed"),
    image("e", ["h-5"], "high", name="<script>alert(1)</script>", findings=[
        finding("CVE-<x>", "high", url="javascript:alert(1)", description="a & b <i>\x01\x0b</i> ]]>"),
        finding("CVE-9", "medium", description="caf\u00e9 \u2603")]),
]


def facts(fail_on="high", ignore_unfixed=False):
    match = f.image_scan_match(f.image_scan_hosts(PLAY_HOSTS, HOSTVARS), CLOUD_HOSTS, IMAGES)
    return f.image_scan_facts(match, IMAGES, "tcss", fail_on=fail_on, ignore_unfixed=ignore_unfixed,
                              scanned_at="2025-01-02T03:00:00Z")


def report(**kwargs):
    return r.image_scan_report(facts(**kwargs), "tcss", generated_at="2025-01-02T03:10:00Z")


# -- the report document -----------------------------------------------------------------------


def test_report_lists_every_host_in_order_with_its_gate_result():
    rep = report()
    assert [h["name"] for h in rep["hosts"]] == PLAY_HOSTS
    results = dict((h["name"], h["result"]) for h in rep["hosts"])
    assert results == {"web1": "failed", "web2": "failed", "web3": "passed", "ghost": "skipped",
                       "down": "skipped", "<b>&\"odd'</b>": "failed"}
    assert dict((h["name"], h["status"]) for h in rep["hosts"])["web3"] == "no_images"
    assert rep["format_version"] == 1 and rep["provider"] == "tcss"
    assert rep["generated_at"] == "2025-01-02T03:10:00Z"
    # The gate settings the facts record, with those the report was given.
    assert {k: rep["gate"][k] for k in ("fail_on", "ignore_unfixed")} == {"fail_on": "high", "ignore_unfixed": False}


def test_report_matches_the_facts():
    source = facts()
    rep = r.image_scan_report(source, "tcss")
    for host in rep["hosts"]:
        fact = source[host["name"]]
        assert host["passed"] == fact["passed"]
        assert host["summary"] == fact["summary"]
        assert host["offending_images"] == fact["offending_images"]
        assert host["worst_severity"] == fact["summary"]["worst_severity"]
        assert [i["id"] for i in host["images"]] == [i["id"] for i in fact["images"]]
        for entry, original in zip(host["images"], fact["images"]):
            assert entry["severity_counts"] == original["severity_counts"]
            assert entry["findings"] == original["findings"]
            assert entry["offending"] == (original["id"] in set(o["id"] for o in fact["offending_images"]))
    # The report is plain data: it survives JSON.
    assert json.loads(json.dumps(rep)) == rep


def test_report_totals():
    totals = report()["totals"]
    assert (totals["hosts"], totals["hosts_passed"], totals["hosts_failed"], totals["hosts_skipped"]) == (6, 1, 3, 2)
    # web1's image d failed to scan: the host is incomplete.
    assert totals["statuses"] == {"scanned": 2, "incomplete": 1, "no_images": 1, "not_enrolled": 1, "agent_offline": 1}
    assert totals["images"] == 4  # a, b, d, e: distinct, c is on the offline host
    assert totals["images_total"] == 5  # a counted on both of its hosts
    assert totals["images_failed"] == 1
    assert (totals["critical"], totals["high"], totals["medium"], totals["low"]) == (2, 3, 1, 1)
    assert totals["worst_severities"] == {"critical": 2, "high": 1, "none": 1}


def test_gate_settings_default_to_those_of_the_facts():
    rep = r.image_scan_report(facts(fail_on="low", ignore_unfixed=True), "tcss")
    assert {k: rep["gate"][k] for k in ("fail_on", "ignore_unfixed")} == {"fail_on": "low", "ignore_unfixed": True}
    assert rep["generated_at"] is None


def test_images_without_findings_keep_the_cloud_counts_and_say_findings_were_not_collected():
    images = [image("a", ["h-1"], "high", counts={"critical": 0, "high": 2, "medium": 1, "low": 0})]
    match = f.image_scan_match(f.image_scan_hosts(["web1"], HOSTVARS), CLOUD_HOSTS, images)
    rep = r.image_scan_report(f.image_scan_facts(match, images, "tcss", fail_on="high"), "tcss")
    entry = rep["hosts"][0]["images"][0]
    assert entry["findings"] is None
    assert entry["severity_counts"] == {"critical": 0, "high": 2, "medium": 1, "low": 0, "unknown": 0}
    assert "not collected" in h.image_scan_html(rep)


def test_no_hosts_gives_an_empty_report():
    rep = r.image_scan_report({}, "hss")
    assert rep["hosts"] == [] and rep["totals"]["hosts"] == 0
    root = ET.fromstring(r.image_scan_junit(rep).encode("utf-8"))
    assert root.get("tests") == "0" and root.findall(".//testcase") == []
    _text, parsed = page(rep)
    assert parsed.rows == [] and parsed.details == []


@pytest.mark.parametrize("bad", [[], "text", None])
def test_report_refuses_what_is_not_the_facts(bad):
    with pytest.raises(AnsibleFilterError, match="dict of image_scan facts"):
        r.image_scan_report(bad, "hss")


@pytest.mark.parametrize("render", [r.image_scan_junit, h.image_scan_html])
def test_renderers_refuse_what_is_not_a_report(render):
    with pytest.raises(AnsibleFilterError, match="image_scan_report"):
        render({"web1": {}})


# -- JUnit XML ---------------------------------------------------------------------------------


def junit(rep=None):
    text = r.image_scan_junit(rep or report())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_junit_one_testcase_per_host_with_correct_counts():
    root = junit()
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "image_scan.tcss"
    for element in (root, suite):
        assert (element.get("tests"), element.get("failures"), element.get("errors"), element.get("skipped")) == (
            "6", "3", "0", "2")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == PLAY_HOSTS
    assert set(c.get("classname") for c in cases) == {"image_scan.tcss"}
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert failed == ["web1", "web2", "<b>&\"odd'</b>"]
    assert skipped == ["ghost", "down"]
    assert len(suite.findall("testcase/failure")) == int(suite.get("failures"))
    assert len(suite.findall("testcase/skipped")) == int(suite.get("skipped"))
    props = dict((p.get("name"), p.get("value")) for p in suite.findall("properties/property"))
    assert props == {"provider": "tcss", "fail_on": "high", "ignore_unfixed": "false",
                     "generated_at": "2025-01-02T03:10:00Z"}
    assert suite.get("timestamp") == "2025-01-02T03:10:00"


def test_junit_failure_names_the_offending_images_and_details_them():
    cases = dict((c.get("name"), c) for c in junit().iter("testcase"))
    failure = cases["web2"].find("failure")
    assert failure.get("type") == "severity_gate"
    # The host's own gate message when the fact has one, else one naming the offending images.
    expected = facts()["web2"].get("message") or "web2 has images at or above severity high: img-a:1 (critical)"
    assert failure.get("message") == expected and "web2" in expected and "img-a:1 (critical)" in expected
    assert "img-b" not in failure.get("message")
    assert "CVE-1" in failure.text and "CVE-2" in failure.text and "fixed in 1.1" in failure.text
    assert "counts: critical 1, high 1" in failure.text
    assert "status scanned" in cases["web2"].find("system-out").text
    assert "not_enrolled" in cases["ghost"].find("skipped").get("message")
    assert "agent_offline" in cases["down"].find("skipped").get("message")


def test_junit_escapes_markup_and_replaces_characters_xml_cannot_carry():
    rep = report()
    root = junit(rep)
    case = [c for c in root.iter("testcase") if c.get("name") == "<b>&\"odd'</b>"][0]
    failure = case.find("failure")
    assert "<script>alert(1)</script>:1 (high)" in failure.get("message")
    assert "CVE-<x>" in failure.text
    assert "<script>" not in r.image_scan_junit(rep)
    rep["hosts"][0]["name"] = "bad\x01name]]>\ud800"
    rep["hosts"][0]["offending_images"][0]["name"] = "img\x0b"
    rep["hosts"][0]["message"] = None  # the message is then made from the offending images
    text = r.image_scan_junit(rep)
    assert "\x01" not in text and "\x0b" not in text
    case = junit(rep).find("testsuite/testcase")
    assert case.get("name") == "bad\ufffdname]]>\ufffd"
    assert "img\ufffd:1" in case.find("failure").get("message")


def test_junit_lists_at_most_a_bounded_number_of_findings_per_image(monkeypatch):
    monkeypatch.setattr(r, "JUNIT_FINDINGS_MAX", 1)
    failure = [c for c in junit().iter("testcase") if c.get("name") == "web1"][0].find("failure")
    assert "CVE-1" in failure.text and "CVE-2" not in failure.text
    assert "... and 1 more findings" in failure.text


# -- HTML --------------------------------------------------------------------------------------


class Page(html.parser.HTMLParser):
    """Collects the tags of a page and the host rows of its host table."""

    def __init__(self):
        super(Page, self).__init__(convert_charrefs=True)
        self.tags = []
        self.rows = []
        self.details = []
        self.links = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "data-host" in attrs:
            self.rows.append((attrs["data-host"], attrs.get("data-result")))
        if tag == "details" and "data-host" in attrs:
            self.details.append((attrs["data-host"], "open" in attrs))
        if tag == "a":
            self.links.append(attrs.get("href"))

    def handle_data(self, data):
        self.text.append(data)


def page(rep=None):
    text = h.image_scan_html(rep or report())
    parser = Page()
    parser.feed(text)
    return text, parser


def test_html_has_a_row_and_a_drill_down_per_host():
    text, parsed = page()
    assert parsed.rows == [("web1", "failed"), ("web2", "failed"), ("web3", "passed"), ("ghost", "skipped"),
                           ("down", "skipped"), ("<b>&\"odd'</b>", "failed")]
    assert parsed.details == [("web1", True), ("web2", True), ("web3", False), ("ghost", False), ("down", False),
                              ("<b>&\"odd'</b>", True)]
    joined = "".join(parsed.text)
    assert "img-a:1" in joined and "CVE-3" in joined and "download_failed" in joined
    assert "Image scan report: TCSS" in joined
    assert text.startswith("<!DOCTYPE html>")


def test_html_is_self_contained():
    text, parsed = page()
    assert "link" not in parsed.tags and "img" not in parsed.tags and "iframe" not in parsed.tags
    assert "src=" not in text and "url(" not in text and "@import" not in text and "http-equiv=\"refresh" not in text
    # One inline script, which the page's policy allows by its hash, and nothing from elsewhere.
    assert parsed.tags.count("script") == 1
    script = text.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert html.unescape(policy) == "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-%s'" % digest
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "http" not in script


def test_html_escapes_everything_and_links_only_web_urls():
    text, parsed = page()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>&" not in text
    assert "javascript:" not in [link.split(":")[0] + ":" for link in parsed.links if link]
    assert "https://nvd.nist.gov/vuln/detail/CVE-1" in parsed.links
    assert "CVE-&lt;x&gt;" in text
    assert "caf\u00e9 \u2603" in "".join(parsed.text)


def test_html_summary_by_severity():
    text, parsed = page()
    assert '<tr data-severity="critical"><td><span class="sev sev-critical">critical</span></td>' \
           '<td class="n">2</td><td class="n">2</td></tr>' in text
    assert '<div class="card" data-total="hosts_failed"><b>3</b>failed</div>' in text


# ansible-core before 2.19 renders a template's `none` as the text "None" (or ""): the role's
# optional inputs must mean "not given" then, not a baseline or an exception list of that text.
@pytest.mark.parametrize("empty", ["None", "", " None "])
def test_optional_inputs_left_empty_by_a_template_are_unset(empty):
    match = f.image_scan_match(f.image_scan_hosts(PLAY_HOSTS, HOSTVARS), CLOUD_HOSTS, IMAGES)
    plain = f.image_scan_facts(match, IMAGES, "tcss", fail_on="high", scanned_at="2025-01-02T03:00:00Z")
    templated = f.image_scan_facts(match, IMAGES, "tcss", fail_on="high", scanned_at="2025-01-02T03:00:00Z",
                                   baseline=empty, error=empty, exceptions=empty, max_findings=empty)
    assert templated == plain
    assert all(fact["delta"] is None for fact in templated.values())
    when = "2025-01-02T03:10:00Z"
    assert (r.image_scan_report(templated, "tcss", generated_at=when, baseline=empty, exceptions=empty)
            == r.image_scan_report(plain, "tcss", generated_at=when))
