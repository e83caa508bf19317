# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTML page of a report with the full fact shape: filters, sortable columns, charts,
exceptions, delta, hosts not judged and incomplete images. (Filtering and sorting in a real
browser are checked by the role_image_scan integration target in headless chromium.)"""

from __future__ import annotations

import html.parser

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_html as h
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as r

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.filter import report_samples as samples


class Page(html.parser.HTMLParser):
    """Elements by id, table rows by table id, SVG segments by chart, and the text."""

    def __init__(self):
        super(Page, self).__init__(convert_charrefs=True)
        self.ids = {}
        self.rows = {}
        self.cells = {}
        self.segments = {}
        self.host_rows = []
        self.text = []
        self._table = []
        self._chart = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = (tag, attrs)
        if tag == "table":
            self._table.append(attrs.get("id"))
        if tag == "tr" and self._table and self._table[-1]:
            self.rows.setdefault(self._table[-1], []).append(attrs)
            self.cells.setdefault(self._table[-1], []).append([])
        if tag in ("td", "th") and self._table and self._table[-1] and self.cells.get(self._table[-1]):
            self._cell = []
        if tag == "tr" and "data-host" in attrs:
            self.host_rows.append(attrs)
        if tag == "svg":
            self._chart = attrs.get("data-chart")
        if tag == "rect" and self._chart and "data-key" in attrs:
            self.segments.setdefault(self._chart, []).append(
                (attrs["data-group"], attrs["data-key"], int(attrs["data-count"])))

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()
        if tag == "svg":
            self._chart = None
        if tag in ("td", "th") and self._cell is not None:
            self.cells[self._table[-1]][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def report(facts=None, **kwargs):
    kwargs.setdefault("exceptions", samples.run_exceptions())
    return r.image_scan_report(samples.full_facts() if facts is None else facts, "tcss",
                               generated_at="2026-11-30T10:05:00Z", **kwargs)


def page(rep=None):
    text = h.image_scan_html(rep or report())
    parsed = Page()
    parsed.feed(text)
    return text, parsed


def test_host_rows_carry_what_the_filters_and_sorting_read():
    _text, parsed = page()
    rows = [(a["data-host"], a["data-result"], a["data-worst"], a["data-index"], a["data-details"])
            for a in parsed.host_rows]
    assert rows == [("web-1", "failed", "critical", "0", "host-0"), ("web-2", "failed", "none", "1", "host-1"),
                    ("app-1", "passed", "low", "2", "host-2"), ("db-1", "skipped", "none", "3", "host-3"),
                    ("db-2", "failed", "none", "4", "host-4"), ("ghost", "skipped", "none", "5", "host-5"),
                    ("down", "skipped", "none", "6", "host-6")]
    for attrs in parsed.host_rows:
        assert parsed.ids[attrs["data-details"]][0] == "details"


def test_filters_offer_every_result_and_worst_severity_and_a_host_search():
    text, parsed = page()
    assert parsed.ids["filters"][0] == "form" and "hidden" in parsed.ids["filters"][1]
    assert parsed.ids["f-result"][0] == "select" and parsed.ids["f-worst"][0] == "select"
    assert parsed.ids["f-host"][1]["type"] == "search"
    assert '<option value="">any</option><option value="failed">failed</option><option value="passed">passed' in text
    for word in ("critical", "high", "medium", "low", "unknown", "none"):
        assert '<option value="%s">%s</option>' % (word, word) in text


def test_every_column_of_the_host_table_can_be_sorted_with_a_value_per_cell():
    _text, parsed = page()
    heads = parsed.cells["host-table"][0]
    assert heads == ["host", "status", "images", "critical", "high", "medium", "low", "suppressed", "new", "worst",
                     "gate"]
    web1 = parsed.cells["host-table"][1]
    assert web1[:8] == ["web-1", "scanned", "1", "1", "1", "1", "0", "1"] and web1[8] == "1"
    # Without a baseline there is no "new" column.
    _text, old = page(report(samples.old_facts(samples.full_facts()), exceptions=None))
    assert "new" not in old.cells["host-table"][0]


def test_sort_values_rank_severities_and_results():
    text, _parsed = page()
    assert '<td data-sort="5"><span class="sev sev-critical">critical</span></td>' in text
    assert '<td data-sort="2"><span class="res res-failed">FAILED</span></td>' in text
    assert '<td data-sort="1"><span class="res res-skipped">skipped</span></td>' in text


def test_hosts_chart_adds_up_to_the_hosts_by_worst_severity_and_result():
    _text, parsed = page()
    segments = parsed.segments["chart-hosts"]
    assert sorted(segments) == sorted([("critical", "failed", 1), ("low", "passed", 1), ("none", "failed", 2),
                                       ("none", "skipped", 3)])
    assert sum(c for _g, _k, c in segments) == 7


def test_findings_chart_separates_suppressed_findings_and_the_delta_chart_new_from_fixed():
    _text, parsed = page()
    assert sorted(parsed.segments["chart-findings"]) == [("critical", "suppressed", 1), ("high", "counted", 1),
                                                         ("low", "counted", 1), ("medium", "counted", 1)]
    assert sorted(parsed.segments["chart-delta"]) == [("high", "fixed", 1), ("high", "new", 1), ("low", "new", 1)]
    _text, old = page(report(samples.old_facts(samples.full_facts()), exceptions=None))
    assert "chart-delta" not in old.segments and "chart-delta" not in old.ids
    assert sum(c for _g, _k, c in old.segments["chart-findings"]) == 4


def test_exceptions_active_and_expired():
    _text, parsed = page()
    assert parsed.cells["exceptions-active"][1] == ["CVE-2024-0001", "nginx:*", "web-*", "2027-01-31",
                                                    "backported by the vendor", "team-sec", "1"]
    assert parsed.cells["exceptions-expired"][1] == ["CVE-2023-9999", "*", "*", "2026-01-01", "waiting for upstream", ""]
    # Without the run's list, the report takes them from the facts.
    _text, from_facts = page(report(exceptions=None))
    assert from_facts.cells["exceptions-active"][1][0] == "CVE-2024-0001"
    assert from_facts.cells["exceptions-expired"][1][0] == "CVE-2023-9999"


def test_suppressed_findings_show_reason_owner_and_expiry():
    text, _parsed = page()
    assert '<tr class="suppressed">' in text
    assert "suppressed: backported by the vendor; owner team-sec; until 2027-01-31" in text


def test_delta_section():
    text, parsed = page()
    assert parsed.cells["delta-hosts"][1:] == [["web-1", "1", "1", "2", "yes"],
                                               ["app-1", "1", "0", "0", "no: every finding is new"]]
    assert [c[3] for c in parsed.cells["delta-new"][1:]] == ["CVE-2024-0002", "CVE-2024-0004"]
    assert [c[3] for c in parsed.cells["delta-fixed"][1:]] == ["CVE-2023-0100"]
    assert "Baseline: last/report.json." in text
    assert "delta" not in page(report(samples.old_facts(samples.full_facts()), exceptions=None))[1].ids


def test_hosts_not_judged_and_incomplete_or_unscannable_images():
    text, parsed = page()
    assert parsed.cells["not-judged"][1:] == [["db-1", "listing the hosts failed: 503"],
                                              ["db-2", "the trigger failed: 500"]]
    assert parsed.cells["problem-images"][1:] == [
        ["web-2", "redis:7", "incomplete", "download_failed", "the scan failed: download_failed"],
        ["app-1", "legacy:0.9", "unscannable", "unscannable", "the image is not authorised"]]
    assert "Not judged: listing the hosts failed: 503." in text
    assert "db-1 not judged: listing the hosts failed: 503" in text  # its warning
    assert "failed the gate: nginx:1.25 has findings at or above high" in text
    assert "Expired exception CVE-2023-9999 (until 2026-01-01) no longer applies." in text


def test_cards_count_the_new_totals():
    text, _parsed = page()
    for key, value in (("hosts_not_judged", 2), ("hosts_incomplete", 1), ("findings_suppressed", 1), ("new", 2),
                       ("fixed", 1)):
        assert '<div class="card" data-total="%s"><b>%d</b>' % (key, value) in text


def test_old_facts_render_without_the_new_sections():
    text, parsed = page(report(samples.old_facts(samples.full_facts()), exceptions=None))
    assert [a["data-host"] for a in parsed.host_rows] == list(samples.full_facts())
    for section in ("exceptions", "delta", "problems"):
        assert section not in parsed.ids
    assert '<div class="card" data-total="new">' not in text


def test_values_in_the_new_sections_are_escaped():
    facts = samples.full_facts()
    facts["db-1"]["not_judged_reason"] = "<script>alert(1)</script>"
    exceptions = samples.run_exceptions()
    exceptions[0]["reason"] = "<img src=x>"
    text, parsed = page(report(facts, exceptions=exceptions))
    assert "<script>alert(1)</script>" not in text and "<img src=x>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
