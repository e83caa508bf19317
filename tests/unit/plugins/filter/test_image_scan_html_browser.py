# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTML page of the full fact shape (hosts not judged, incomplete images, exceptions, a delta)
in headless chromium, driven as the role_image_scan integration target drives the role's page:
filters and sorting by clicking and typing, charts and sections against the report. Needs
chromium (`make browser`); skipped where it is not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile

import pytest

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_html as h
from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as r

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.filter import report_samples as samples

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "integration", "targets",
                     "role_image_scan", "check.py")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")


def load_check():
    spec = importlib.util.spec_from_file_location("role_image_scan_check", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def browser():
    check = load_check()
    profile = tempfile.mkdtemp(prefix="chromium-")
    tools = check.DevTools(CHROMIUM, [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                      "--disable-background-networking", "--user-data-dir=" + profile])
    try:
        yield check, tools
    finally:
        tools.close()
        shutil.rmtree(profile, ignore_errors=True)


def test_the_full_page_filters_sorts_and_shows_its_sections_in_chromium(browser, tmp_path):
    check, tools = browser
    facts = samples.full_facts()
    report = r.image_scan_report(facts, "tcss", generated_at="2026-11-30T10:05:00Z",
                                 exceptions=samples.run_exceptions())
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    (tmp_path / "report.html").write_text(h.image_scan_html(report), encoding="utf-8")
    failed = set(name for name, fact in facts.items() if not fact["passed"])
    shot = str(tmp_path / "report.png")
    check.check_interaction(tools, "file://%s" % (tmp_path / "report.html"), facts, list(facts), failed, shot)
    assert check.failures == []
    assert check.png_size(shot) == (1280, 1600)
    # The sections were there to compare: the checks above were not vacuous.
    assert tools.js("document.querySelectorAll('#exceptions-expired tbody tr').length") == 1
    assert tools.js("document.querySelectorAll('#not-judged tbody tr').length") == 2
    assert tools.js("document.querySelectorAll('#chart-delta rect[data-key]').length") == 3


def test_the_browser_check_sees_a_page_whose_sections_disagree_with_the_report(browser, tmp_path):
    check, tools = browser
    facts = samples.full_facts()
    report = r.image_scan_report(facts, "tcss", exceptions=samples.run_exceptions())
    (tmp_path / "report.html").write_text(h.image_scan_html(report), encoding="utf-8")
    report["not_judged"] = report["not_judged"][:1]
    report["exceptions"][0]["matched"] = 7
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    tools.call("Page.navigate", {"url": "file://%s" % (tmp_path / "report.html")})
    tools.wait_event("Page.loadEventFired")
    check.check_sections(tools, str(tmp_path / "report.json"))
    assert check.failures == ["the page's counts of suppressed findings differ from report.json",
                              "the page's hosts not judged differ from report.json"]
