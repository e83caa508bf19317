# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tcss_image_info against a fake TCSS: paging, filters, findings only where there are
vulnerabilities, hosts without one call per image, the normalised shape."""

from __future__ import annotations

import math

import pytest

from ansible_collections.cloudsec.image_scan.plugins.modules import tcss_image_info as module

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.tcss_fakes import FakeTcss, Runner, host_row, image_row, vul_row

IMAGE_KEYS = {"name", "version", "id", "digest", "host", "hosts", "image_type", "registry", "scan_status",
              "failure_reason", "latest_scan_time", "severity", "vulnerability_count", "counts", "authorized",
              "unscannable_reason"}


def ids(count):
    return ["sha256:%064x" % n for n in range(count)]


@pytest.fixture
def run(monkeypatch, capsys, clock):
    return Runner(monkeypatch, capsys, clock)


def test_lists_every_page(run):
    fake = FakeTcss(images=[image_row(i, name="app%d:1" % n) for n, i in enumerate(ids(250))])
    result = run(module, fake, {})
    assert result["changed"] is False
    assert [image["id"] for image in result["images"]] == ids(250)
    pages = fake.params_of("DescribeAssetImageList")
    assert [(p["Offset"], p["Limit"]) for p in pages] == [(0, 100), (100, 100), (200, 100)]
    assert len(result["raw"]["images"]) == 250


def test_max_results(run):
    fake = FakeTcss(images=[image_row(i) for i in ids(250)])
    result = run(module, fake, {"max_results": 120})
    assert len(result["images"]) == 120
    assert fake.actions("DescribeAssetImageList") == 2


def test_empty_is_an_empty_list(run):
    result = run(module, FakeTcss(), {"vulnerabilities": True, "hosts": True})
    assert result["images"] == [] and result["changed"] is False


def test_normalised_image(run):
    row = image_row("sha256:" + "1" * 64, name="registry.example.com:5000/shop/cart:2.3.1", status="scanned",
                    scan_time="2026-01-01 08:30:00", levels=(1, 2, 0, 3), RiskCnt=4, VirusCnt=5, hosts=2,
                    containers=3)
    result = run(module, FakeTcss(images=[row]), {})
    image = result["images"][0]
    assert set(image) == IMAGE_KEYS
    assert (image["name"], image["version"], image["digest"]) == ("registry.example.com:5000/shop/cart", "2.3.1", None)
    assert image["scan_status"] == "success" and image["failure_reason"] is None
    assert image["latest_scan_time"] == "2026-01-01T00:30:00Z"
    assert image["severity"] == "critical" and image["vulnerability_count"] == 6
    assert image["counts"] == {"critical": 1, "high": 2, "medium": 0, "low": 3, "vulnerabilities": 6, "viruses": 5,
                               "risks": 4, "components": 10, "hosts": 2, "containers": 3}
    assert image["host"] is None and image["hosts"] == [] and image["image_type"] == "local"


@pytest.mark.parametrize("status, scan_error, word, reason, severity", [
    ("notScan", "", "unscanned", None, "unknown"),
    ("scanning", "", "scanning", None, "unknown"),
    ("scanErr", "image download failed", "failed", "image download failed", "unknown"),
    ("scanned", "", "success", None, "none"),
])
def test_scan_status_words(run, status, scan_error, word, reason, severity):
    row = image_row("sha256:" + "2" * 64, status=status, ScanError=scan_error)
    image = run(module, FakeTcss(images=[row]), {})["images"][0]
    assert (image["scan_status"], image["failure_reason"], image["severity"]) == (word, reason, severity)


def test_filters_from_the_convenience_options(run):
    fake = FakeTcss(images=[image_row(i) for i in ids(3)])
    run(module, fake, {"image_ids": ids(2), "image_name": "nginx", "scan_status": ["unscanned", "waiting", "scanning"],
                       "filters": [{"name": "SecurityRisk", "values": ["HighLevelVul"]}]})
    filters = fake.params_of("DescribeAssetImageList")[0]["Filters"]
    assert filters == [
        {"Name": "SecurityRisk", "Values": ["HighLevelVul"]},
        {"Name": "ImageName", "Values": ["nginx"]},
        {"Name": "ScanStatus", "Values": ["notScan", "scanning"]},
        {"Name": "ImageID", "Values": ids(2), "ExactMatch": True},
    ]


def test_many_image_ids_are_asked_in_chunks(run):
    fake = FakeTcss(images=[image_row(i) for i in ids(150)])
    result = run(module, fake, {"image_ids": ids(150)})
    assert len(result["images"]) == 150
    chunks = [p["Filters"][-1]["Values"] for p in fake.params_of("DescribeAssetImageList")]
    assert [len(c) for c in chunks] == [100, 50]


def test_unauthorised_image_is_unscannable_with_the_reason(run):
    allowed, refused = ids(2)
    fake = FakeTcss(images=[image_row(allowed, status="scanned", scan_time="2026-01-01 08:30:00"),
                            image_row(refused, IsAuthorized=0)])
    first, second = run(module, fake, {})["images"]
    assert (first["scan_status"], first["authorized"], first["unscannable_reason"]) == ("success", True, None)
    assert (second["scan_status"], second["authorized"]) == ("unscannable", False)
    assert "IsAuthorized 0" in second["unscannable_reason"]


def test_the_clock_offset_is_how_far_ahead_the_latest_scan_time_is(run):
    now, ahead = ids(2)
    fake = FakeTcss(images=[image_row(now, status="scanned", scan_time="2026-01-01 08:00:00"),
                            image_row(ahead, status="scanned", scan_time="2026-01-01 08:10:00")])
    assert run(module, fake, {})["clock_offset"] == 600
    assert run(module, FakeTcss(images=[image_row(now, status="scanned", scan_time="2026-01-01 08:00:00")]),
               {})["clock_offset"] == 0


def test_findings_only_for_images_with_vulnerabilities(run):
    with_vulns, clean, unscanned = ids(3)
    fake = FakeTcss(
        images=[image_row(with_vulns, status="scanned", levels=(1, 1, 0, 1)),
                image_row(clean, status="scanned"), image_row(unscanned)],
        vulns={with_vulns: [vul_row("CVE-2021-44228", 4, fixed="2.15.0"), vul_row("CVE-2023-44487", 3),
                            vul_row("CVE-2011-3374", 1, tags=["CanBeFixed"])]})
    result = run(module, fake, {"vulnerabilities": True})
    assert fake.params_of("DescribeAssetImageVulList") == [{"ImageID": with_vulns, "Offset": 0, "Limit": 100}]
    first, second, third = result["images"]
    assert [f["id"] for f in first["findings"]] == ["CVE-2021-44228", "CVE-2023-44487", "CVE-2011-3374"]
    assert [f["severity"] for f in first["findings"]] == ["critical", "high", "low"]
    assert [f["fixable"] for f in first["findings"]] == [True, False, True]
    assert first["findings"][0] == {"id": "CVE-2021-44228", "severity": "critical", "package": "libfoo",
                                    "version": "1.0", "fixed_version": "2.15.0", "fixable": True,
                                    "description": "description of CVE-2021-44228",
                                    "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228", "cvss_v3": 7.5,
                                    "severity_source": "rating"}
    assert first["severity_counts"] == {"critical": 1, "high": 1, "medium": 0, "low": 1, "unknown": 0}
    assert second["findings"] == [] and second["severity_counts"]["critical"] == 0 and second["severity"] == "none"
    assert third["findings"] == [] and third["severity"] == "unknown"
    assert result["raw"]["vulnerabilities"][with_vulns][0]["CVEID"] == "CVE-2021-44228"


def test_findings_of_an_image_with_many_vulnerabilities_are_paged(run):
    image_id = ids(1)[0]
    rows = [vul_row("CVE-2024-%05d" % n, 2) for n in range(230)]
    fake = FakeTcss(images=[image_row(image_id, status="scanned", levels=(0, 0, 230, 0))], vulns={image_id: rows})
    result = run(module, fake, {"vulnerabilities": True})
    assert len(result["images"][0]["findings"]) == 230
    assert fake.actions("DescribeAssetImageVulList") == 3


def _fleet(images, hosts):
    image_ids = ids(images)
    host_rows = [host_row("h%03d" % n, "node-%03d" % n, "10.0.%d.%d" % (n // 250, n % 250)) for n in range(hosts)]
    pairs = [(image_ids[n % images], host_rows[n]["HostID"]) for n in range(hosts)]
    pairs += [(image_ids[0], host_rows[n]["HostID"]) for n in range(1, hosts)]
    return FakeTcss(images=[image_row(i) for i in image_ids], hosts=host_rows, pairs=pairs), image_ids, host_rows


def test_hosts_of_every_image_without_one_call_per_image(run):
    fake, image_ids, host_rows = _fleet(images=150, hosts=230)
    result = run(module, fake, {"hosts": True})
    by_id = dict((image["id"], image) for image in result["images"])
    assert by_id[image_ids[1]]["hosts"] == [{"id": "h001", "name": "node-001", "ip": "10.0.0.1"},
                                            {"id": "h151", "name": "node-151", "ip": "10.0.0.151"}]
    assert by_id[image_ids[149]]["hosts"] == [{"id": "h149", "name": "node-149", "ip": "10.0.0.149"}]
    assert len(by_id[image_ids[0]]["hosts"]) == 230
    # One listing of all pairs, hosts by pages: the calls do not grow with one per image.
    assert fake.actions("DescribeAssetImageHostList") == 1
    assert fake.params_of("DescribeAssetImageHostList") == [{}]
    assert fake.actions("DescribeAssetHostList") == math.ceil(230 / 100.0)
    assert len(result["raw"]["image_hosts"]) == len(fake.pairs)


def test_hosts_of_selected_images_are_asked_by_chunks_of_ids(run):
    fake, image_ids, host_rows = _fleet(images=150, hosts=20)
    result = run(module, fake, {"hosts": True, "image_ids": image_ids[:120]})
    assert fake.actions("DescribeAssetImageHostList") == 2
    assert [len(p["Filters"][0]["Values"]) for p in fake.params_of("DescribeAssetImageHostList")] == [100, 20]
    assert all(image["hosts"] for image in result["images"][:20])


def test_unknown_host_keeps_its_id(run):
    image_id = ids(1)[0]
    fake = FakeTcss(images=[image_row(image_id)], pairs=[(image_id, "gone")])
    image = run(module, fake, {"hosts": True})["images"][0]
    assert image["hosts"] == [{"id": "gone", "name": None, "ip": None}]


@pytest.mark.parametrize("args, words", [
    ({"image_ids": []}, ["image_ids must list at least one"]),
    ({"image_ids": [""]}, ["image_ids must not contain empty values"]),
    ({"max_results": 0}, ["max_results must be 1 or more"]),
    ({"scan_status": ["done"]}, ["scan_status", "unscanned, waiting, scanning, success, failed"]),
    ({"filters": [{"name": "ScanStatus", "values": ["SCANNED"]}]}, ["ScanStatus values must be among"]),
    ({"filters": [{"name": "HostID", "values": ["x"]}]}, ["filters", "ImageName, ImageID"]),
    ({"image_name": " "}, ["image_name must not be empty"]),
])
def test_bad_input_fails_before_any_request(run, args, words):
    fake = FakeTcss(images=[image_row(ids(1)[0])])
    result = run(module, fake, args)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"]
    assert fake.calls == []


def test_api_error_is_reported(run):
    fake = FakeTcss()
    fake.fault("DescribeAssetImageList", ("error", "AuthFailure.UnauthorizedOperation", "not allowed"))
    result = run(module, fake, {})
    assert result["failed"] is True
    assert result["error"]["error_code"] == "AuthFailure.UnauthorizedOperation"
    assert "not allowed" in result["msg"] and result["images"] == []


def test_check_mode_reads_the_same(run):
    fake = FakeTcss(images=[image_row(i) for i in ids(2)])
    result = run(module, fake, {}, check_mode=True)
    assert len(result["images"]) == 2 and result["changed"] is False
