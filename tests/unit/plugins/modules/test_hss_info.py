# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""hss_image_info, hss_image_scan_task_info and hss_host_info: the filters each option sends,
pagination, normalised returns, and that H8 is asked only for images with vulnerabilities."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan as image_filter
from ansible_collections.cloudsec.image_scan.plugins.modules import hss_host_info, hss_image_info, hss_image_scan_task_info

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.hss_fakes import (
    NOW_MS, install, lister, local_row, page, registry_row, run_module, task_row)

H8 = "ListImageVulnerabilities"


@pytest.fixture
def hss(monkeypatch):
    return install(monkeypatch)


def vuln(vul_id, necessity="immediate_repair", solution="Upgrade libc6 to 2.36-9+deb12u7 or later."):
    return {"vul_id": vul_id, "repair_necessity": necessity, "description": "d " + vul_id, "position": "",
            "app_name": "libc6", "version": "2.36-9", "solution": solution, "url": "https://nvd/" + vul_id}


# -- hss_image_info --------------------------------------------------------------------------------------


def test_local_images_with_every_local_filter(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([]))
    result = run_module(hss_image_info.main, {
        "image_name": "nginx", "image_version": "1.25", "scan_status": ["waiting"], "has_vul": True,
        "host_name": "node-01", "host_id": "h1", "host_ip": "10.0.0.1", "local_image_type": "other_image"}, capsys)
    assert result == dict(result, changed=False, images=[])
    assert result["raw"] == {"images": []}
    query = fake.of("ListImageLocal")[0].query
    assert query == {"image_name": "nginx", "image_version": "1.25", "scan_status": "waiting_for_scan",
                     "has_vul": "true", "host_name": "node-01", "host_id": "h1", "host_ip": "10.0.0.1",
                     "local_image_type": "other_image", "offset": "0", "limit": "200"}


def test_registry_images_with_every_registry_filter(hss, capsys):
    fake, dummy = hss
    fake.on("ListRegistryImages", lister([registry_row()]))
    result = run_module(hss_image_info.main, {
        "image_type": "registry", "namespace": "shop", "registry_name": "swr-1", "registry_image_type": "harbor",
        "latest_version": True, "image_name": "cart"}, capsys)
    query = fake.of("ListRegistryImages")[0].query
    assert query == {"namespace": "shop", "registry_name": "swr-1", "image_type": "harbor",
                     "latest_version": "true", "image_name": "cart", "offset": "0", "limit": "200"}
    image = result["images"][0]
    assert image["registry"] == {"record_id": 1001, "registry_id": "reg-1", "registry_name": "swr-1",
                                 "registry_type": "SwrPrivate", "namespace": "shop", "image_type": "private_image",
                                 "instance_id": None}
    assert image["host"] is None and image["hosts"] == [] and image["image_type"] == "registry"


@pytest.mark.parametrize("args, words", [
    ({"image_type": "registry", "host_name": "node-01"}, ["host_name", "image_type=local"]),
    ({"namespace": "shop", "latest_version": True}, ["namespace, latest_version", "image_type=registry"]),
    ({"scan_status": "waiting_for_scan"}, ["scan_status", "unscanned, waiting, scanning, success, failed"]),
    ({"image_type": "swr"}, ["image_type", "local, registry"]),
])
def test_image_info_bad_input_sends_nothing(hss, capsys, args, words):
    fake, dummy = hss
    result = run_module(hss_image_info.main, args, capsys)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"]
    assert fake.calls == []


def test_all_pages_are_walked(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-%03d" % i, host="node-%03d" % i) for i in range(450)]
    fake.on("ListImageLocal", lister(rows))
    result = run_module(hss_image_info.main, {}, capsys)
    assert len(result["images"]) == 450
    assert [call.query["offset"] for call in fake.of("ListImageLocal")] == ["0", "200", "400"]


def test_image_ids_and_exact_host_name_are_applied_on_the_rows(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-1", host="node-1"), local_row("li-2", host="node-1"), local_row("li-1", host="node-10")]
    fake.on("ListImageLocal", lister(rows))
    result = run_module(hss_image_info.main, {"host_name": "node-1", "image_ids": ["li-1", "li-9"]}, capsys)
    assert [(image["id"], image["host"]["name"]) for image in result["images"]] == [("li-1", "node-1")]
    assert result["raw"]["images"] == [rows[0]]


def test_an_image_hss_will_not_scan_is_unscannable_with_the_clouds_reason(hss, capsys):
    fake, dummy = hss
    local = dict(local_row("li-1"), non_scan_reason="no licence is bound to this image")
    fake.on("ListImageLocal", lister([local]))
    image = run_module(hss_image_info.main, {}, capsys)["images"][0]
    assert image["scan_status"] == "unscannable"
    assert image["unscannable_reason"] == image["non_scan_reason"] == "no licence is bound to this image"
    fake.on("ListRegistryImages", lister([dict(registry_row(), scannable=False), registry_row(rid=1002)]))
    images = run_module(hss_image_info.main, {"image_type": "registry"}, capsys)["images"]
    states = [(image["scan_status"], image["scannable"]) for image in images]
    assert states == [("unscannable", False), ("unscanned", True)]
    assert "unscannable_reason" not in images[1]


def test_local_image_normalised(hss, capsys):
    fake, dummy = hss
    row = local_row("li-1", status="success", scan_ms=NOW_MS, vul_num=3, severity="Medium")
    fake.on("ListImageLocal", lister([row]))
    image = run_module(hss_image_info.main, {}, capsys)["images"][0]
    assert image == {
        "name": "nginx", "version": "1.25", "id": "li-1", "digest": "sha256:d-li-1",
        "host": {"id": "hid-node-01", "name": "node-01", "ip": None},
        "hosts": [{"id": "hid-node-01", "name": "node-01", "ip": None}],
        "image_type": "local", "registry": None, "scan_status": "success", "failure_reason": None,
        "latest_scan_time": "2026-01-01T00:00:00Z", "severity": "medium", "vulnerability_count": 3,
        "counts": {"vulnerabilities": 3, "unsafe_settings": 0, "malicious_files": 0, "components": 3,
                   "containers": 0, "hosts": 1},
        "non_scan_reason": None, "latest_scan_time_local": "2026-01-01T00:00:00Z",
    }


def general_vul(vul_id, level, cvss, solution="Upgrade libc6 to 2.36-9+deb12u7 or later.", image_num=1,
                vul_type="linux_vul"):
    return {"vul_id": vul_id, "vul_name": "libc6 vulnerability (%s)" % vul_id, "type": vul_type,
            "image_type": "local", "severity_level": level, "image_num": image_num, "max_cvss_score": cvss,
            "cve_list": [{"cve_id": vul_id, "cvss": cvss}], "scan_time": NOW_MS, "description": "d " + vul_id,
            "url": "https://nvd/" + vul_id, "solution_detail": solution, "label_list": [], "cluster_num": 0}


def affected(image_id, host, vul_id):
    return {"image_id": image_id, "agent_id": "agent-%s" % host, "vul_id": vul_id, "image_type": "local_image"}


def app(name, *versions):
    return {"app_name": name, "rule": "", "paths": [
        {"status": "vul_status_unfix", "app_version": version, "app_path": "/usr/lib/%s" % name} for version in versions]}


def findings_fake(fake, vuls, hit, apps):
    """ListGeneralImageVuls over ``vuls`` (by type), ListVulAffectImages over ``hit`` (by vul,
    filtered by image id when asked) and ListVulAffectImageApps over ``apps`` (by image and vul)."""
    fake.on("ListGeneralImageVuls", lambda call: page([v for v in vuls if v["type"] == call.query["type"]], call))
    fake.on("ListVulAffectImages", lambda call: page(
        [row for row in hit.get(call.query["vul_id"], [])
         if call.query.get("image_id") in (None, row["image_id"])], call))
    fake.on("ListVulAffectImageApps", lambda call: page(apps.get((call.params["image_id"], call.query["vul_id"]), []),
                                                        call))


def test_local_findings_come_from_the_documented_local_image_apis(hss, capsys):
    fake, dummy = hss
    rows = [
        local_row("li-1", host="a", status="success", scan_ms=NOW_MS, vul_num=2, severity="High"),
        local_row("li-1", host="b", status="success", scan_ms=NOW_MS, vul_num=1, severity="High"),
        local_row("li-2", name="busybox", status="success", scan_ms=NOW_MS, vul_num=0, severity="Security"),
        local_row("li-3", name="redis", status="unscan"),
    ]
    fake.on("ListImageLocal", lister(rows))
    vuls = [general_vul("CVE-1", "Critical", 9.8),
            general_vul("CVE-2", "Low", 3.1, "No fixed version is available yet."),
            general_vul("CVE-9", "High", 7.5, vul_type="app_vul")]
    hit = {"CVE-1": [affected("li-1", "a", "CVE-1"), affected("li-1", "b", "CVE-1"), affected("li-7", "z", "CVE-1")],
           "CVE-2": [affected("li-1", "a", "CVE-2")],
           "CVE-9": [affected("li-7", "z", "CVE-9")]}
    apps = {("li-1", "CVE-1"): [app("libc6", "2.36-9")], ("li-1", "CVE-2"): [app("libc6", "2.36-9")]}
    findings_fake(fake, vuls, hit, apps)
    result = run_module(hss_image_info.main, {"vulnerabilities": True}, capsys)
    assert fake.ops(H8) == 0
    assert [call.query for call in fake.of("ListGeneralImageVuls")] == [
        {"type": vul_type, "handle_status": "unhandled", "image_type": "local", "offset": "0", "limit": "200"}
        for vul_type in ("linux_vul", "app_vul")]
    # One image with vulnerabilities: one filtered look-up per vulnerability is the cheapest.
    asked = (("CVE-1", "linux_vul"), ("CVE-2", "linux_vul"), ("CVE-9", "app_vul"))
    assert [call.query for call in fake.of("ListVulAffectImages")] == [
        {"vul_id": vul_id, "type": vul_type, "image_type": "local", "is_handled": "false", "image_id": "li-1",
         "offset": "0", "limit": "200"} for vul_id, vul_type in asked]
    # The software: once per vulnerability of the image, not per host, and not for li-7 (not listed).
    assert sorted((call.params["image_id"], call.query["vul_id"]) for call in fake.of("ListVulAffectImageApps")) == [
        ("li-1", "CVE-1"), ("li-1", "CVE-2")]
    assert fake.of("ListVulAffectImageApps")[0].query == {
        "vul_id": "CVE-1", "image_type": "local", "is_handled": "false", "offset": "0", "limit": "200"}
    on_a, on_b, clean, unscanned = result["images"]
    assert on_a["findings"][0] == {"id": "CVE-1", "name": "libc6 vulnerability (CVE-1)", "severity": "critical",
                                   "severity_source": "rating", "cvss_v3": 9.8, "package": "libc6",
                                   "version": "2.36-9", "fixed_version": "2.36-9+deb12u7", "fixable": True,
                                   "description": "d CVE-1", "url": "https://nvd/CVE-1"}
    assert on_a["findings"][1]["fixable"] is False and on_a["findings"][1]["severity"] == "low"
    assert on_a["severity_counts"] == {"critical": 1, "high": 0, "medium": 0, "low": 1, "unknown": 0}
    # per host: the image on b has only the vulnerability ListVulAffectImages names there
    assert [finding["id"] for finding in on_b["findings"]] == ["CVE-1"]
    assert clean["findings"] == [] and clean["severity"] == "none"
    assert unscanned["findings"] == [] and unscanned["severity"] == "unknown"


def test_one_finding_per_package_and_none_when_the_cloud_names_no_software(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([local_row("li-1", status="success", scan_ms=NOW_MS, vul_num=2)]))
    vuls = [general_vul("CVE-1", "High", 7.1), general_vul("CVE-2", "", 9.1)]
    hit = {"CVE-1": [affected("li-1", "node-01", "CVE-1")], "CVE-2": [affected("li-1", "node-01", "CVE-2")]}
    apps = {("li-1", "CVE-1"): [app("openssl", "3.0.7", "3.0.2"), app("libssl3", "3.0.7")]}
    findings_fake(fake, vuls, hit, apps)
    findings = run_module(hss_image_info.main, {"vulnerabilities": True}, capsys)["images"][0]["findings"]
    assert [(f["id"], f["package"], f["version"]) for f in findings] == [
        ("CVE-1", "libssl3", "3.0.7"), ("CVE-1", "openssl", "3.0.2, 3.0.7"), ("CVE-2", None, None)]
    # No rating: the CVSS v3 score decides (9.1 is critical), and the source says so.
    assert (findings[2]["severity"], findings[2]["severity_source"]) == ("critical", "cvss_v3")


def test_a_vulnerability_on_many_images_is_walked_once_when_the_play_has_more_images(hss, capsys):
    fake, dummy = hss
    rows = [local_row("li-%d" % n, status="success", scan_ms=NOW_MS, vul_num=1) for n in range(3)]
    fake.on("ListImageLocal", lister(rows))
    vuls = [general_vul("CVE-1", "Medium", 5.0, image_num=150)]
    hit = {"CVE-1": [affected("li-%d" % n, "node-01", "CVE-1") for n in range(150)]}
    findings_fake(fake, vuls, hit, {})
    result = run_module(hss_image_info.main, {"vulnerabilities": True}, capsys)
    assert [call.query.get("image_id") for call in fake.of("ListVulAffectImages")] == [None]
    assert fake.ops("ListVulAffectImageApps") == 3
    assert all([f["id"] for f in image["findings"]] == ["CVE-1"] for image in result["images"])


def test_no_finding_api_is_asked_when_no_local_image_has_vulnerabilities(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([local_row("li-1", status="success", scan_ms=NOW_MS, vul_num=0)]))
    result = run_module(hss_image_info.main, {"vulnerabilities": True}, capsys)
    assert result["images"][0]["findings"] == [] and fake.ops("ListGeneralImageVuls") == 0 and fake.ops(H8) == 0


def test_registry_findings_take_the_four_level_rating_of_the_vulnerability(hss, capsys):
    fake, dummy = hss
    row = dict(registry_row(status="success", scan_ms=NOW_MS, vul_num=2, severity="High"), instance_id="ins-1")
    fake.on("ListRegistryImages", lister([row]))
    fake.on(H8, {"total_num": 2, "data_list": [vuln("CVE-3", "immediate_repair"), vuln("CVE-4", "delay_repair")]})
    rated = dict(general_vul("CVE-3", "Critical", 10.0), image_type="registry")
    fake.on("ListGeneralImageVuls", lambda call: page([rated] if call.query["type"] == "linux_vul" else [], call))
    result = run_module(hss_image_info.main, {"image_type": "registry", "vulnerabilities": True}, capsys)
    assert fake.of(H8)[0].query == {"image_type": "private_image", "namespace": "shop", "image_name": "cart",
                                    "tag_name": "2.3.1", "instance_id": "ins-1", "offset": "0", "limit": "200"}
    assert [call.query["image_type"] for call in fake.of("ListGeneralImageVuls")] == ["registry", "registry"]
    rated_finding, unrated = result["images"][0]["findings"]
    assert (rated_finding["severity"], rated_finding["severity_source"], rated_finding["cvss_v3"],
            rated_finding["package"]) == ("critical", "rating", 10.0, "libc6")
    # Not in ListGeneralImageVuls: H8's repair necessity, and the source says so.
    assert (unrated["severity"], unrated["severity_source"], unrated["cvss_v3"]) == ("medium", "repair_necessity", None)
    assert result["images"][0]["severity_counts"]["critical"] == 1


def test_findings_are_absent_without_vulnerabilities(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", lister([local_row(vul_num=4, status="success", scan_ms=NOW_MS)]))
    result = run_module(hss_image_info.main, {}, capsys)
    assert "findings" not in result["images"][0] and fake.ops(H8) == 0


def test_image_info_api_error(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageLocal", (401, {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication"}))
    result = run_module(hss_image_info.main, {}, capsys)
    assert result["failed"] is True and "APIGW.0301" in result["msg"] and result["images"] == []


# -- hss_image_scan_task_info ------------------------------------------------------------------------


def test_task_info_sends_every_filter(hss, capsys):
    fake, dummy = hss
    fake.on("ListImageScanTask", {"total_num": 0, "data_list": []})
    result = run_module(hss_image_scan_task_info.main, {
        "task_id": "t-1", "task_name": "manual", "image_type": "local", "type": "image_scan", "task_type": "manual",
        "task_status": "finished", "scan_scope": ["vulnerability"], "create_time": 1, "end_time": 2}, capsys)
    assert result["tasks"] == [] and result["raw"] == [] and result["changed"] is False
    assert fake.of("ListImageScanTask")[0].query == {
        "task_id": "t-1", "task_name": "manual", "global_image_type": "local", "type": "image_scan",
        "task_type": "manual", "task_status": "finished", "scan_scope": str(0x000F0000), "create_time": "1",
        "end_time": "2", "offset": "0", "limit": "200"}


def test_task_info_walks_pages_and_stops_at_max_results(hss, capsys):
    fake, dummy = hss
    rows = [task_row("t-%d" % i, status=i % 100) for i in range(250)]
    fake.on("ListImageScanTask", lister(rows))
    result = run_module(hss_image_scan_task_info.main, {}, capsys)
    assert len(result["tasks"]) == 250 and fake.ops("ListImageScanTask") == 2
    assert fake.of("ListImageScanTask")[0].query["type"] == "image_scan"
    result = run_module(hss_image_scan_task_info.main, {"max_results": 5}, capsys)
    assert [task["id"] for task in result["tasks"]] == ["t-0", "t-1", "t-2", "t-3", "t-4"]
    assert len(result["raw"]) == 5
    assert result["tasks"][1]["status"] == "running" and result["tasks"][1]["progress"] == 1


@pytest.mark.parametrize("args, words", [
    ({"create_time": -1}, ["create_time"]),
    ({"max_results": 0}, ["max_results"]),
    ({"task_status": "running"}, ["task_status", "scanning, finished"]),
    ({"scan_scope": ["everything"]}, ["scan_scope"]),
    ({"task_name": "x" * 257}, ["task_name"]),
])
def test_task_info_bad_input_sends_nothing(hss, capsys, args, words):
    fake, dummy = hss
    result = run_module(hss_image_scan_task_info.main, args, capsys)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"]
    assert fake.calls == []


# -- hss_host_info ---------------------------------------------------------------------------------------


def host(name, status, agent=True):
    row = {"host_name": name, "host_id": "hid-" + name, "private_ip": "10.0.0.%d" % len(name), "public_ip": "",
           "os_type": "Linux", "agent_status": status, "protect_status": "opened" if status == "online" else "closed"}
    if agent:
        row["agent_id"] = "agent-" + name
    return row


def test_host_info_filters_and_normalises(hss, capsys):
    fake, dummy = hss
    fake.on("ListHostStatus", lister([host("a", "online"), host("bb", "NOT_INSTALLED", agent=False)]))
    result = run_module(hss_host_info.main, {"host_name": "a", "host_id": "h", "host_ip": "10.0.0.1",
                                             "agent_status": "online"}, capsys)
    assert fake.of("ListHostStatus")[0].query == {
        "host_name": "a", "host_id": "h", "private_ip": "10.0.0.1", "agent_status": "online", "offset": "0",
        "limit": "200"}
    assert result["hosts"] == [
        {"id": "hid-a", "name": "a", "ip": "10.0.0.1", "agent_id": "agent-a", "agent_status": "online",
         "os_type": "Linux", "protect_status": "opened"},
        {"id": "hid-bb", "name": "bb", "ip": "10.0.0.2", "agent_id": None, "agent_status": "not_installed",
         "os_type": "Linux", "protect_status": "closed"},
    ]
    assert len(result["raw"]) == 2 and result["changed"] is False


def test_host_info_empty_and_check_mode(hss, capsys):
    fake, dummy = hss
    fake.on("ListHostStatus", lister([]))
    result = run_module(hss_host_info.main, {}, capsys, check_mode=True)
    assert result["hosts"] == [] and result["raw"] == [] and result["changed"] is False


def test_host_info_bad_agent_status_sends_nothing(hss, capsys):
    fake, dummy = hss
    result = run_module(hss_host_info.main, {"agent_status": "up"}, capsys)
    assert result["failed"] is True and "agent_status" in result["msg"] and "not_installed" in result["msg"]
    assert fake.calls == []


def test_image_info_gives_the_scan_time_on_our_clock_when_the_cloud_runs_ahead(hss, capsys):
    fake, dummy = hss
    fake.server_ahead = 600
    fake.on("ListImageLocal", lister([local_row("li-1", status="success", scan_ms=NOW_MS + 590000)]))
    image = run_module(hss_image_info.main, {}, capsys)["images"][0]
    assert image["latest_scan_time"] == "2026-01-01T00:09:50Z"
    assert image["latest_scan_time_local"] in ("2025-12-31T23:59:50Z", "2025-12-31T23:59:49Z")


def test_an_hss_critical_finding_fails_the_default_gate(hss, capsys):
    # HSS rates the image High (its rating stops there); the finding's rating is Critical, and
    # the default gate (critical) fails the host, as it does on TCSS.
    fake, dummy = hss
    log4shell = "CVE-2021-44228"
    fake.on("ListImageLocal", lister([local_row("li-1", host="node-01", status="success", scan_ms=NOW_MS, vul_num=1,
                                                severity="High")]))
    findings_fake(fake, [general_vul(log4shell, "Critical", 10.0, vul_type="app_vul")],
                  {log4shell: [affected("li-1", "node-01", log4shell)]},
                  {("li-1", log4shell): [app("log4j-core", "2.14.1")]})
    images = run_module(hss_image_info.main, {"vulnerabilities": True}, capsys)["images"]
    assert images[0]["severity"] == "high"
    assert [(x["id"], x["severity"], x["package"]) for x in images[0]["findings"]] == [
        (log4shell, "critical", "log4j-core")]
    identities = image_filter.image_scan_hosts(["web"], {"web": {"image_scan_host_name": "node-01"}})
    cloud_hosts = [{"id": "hid-node-01", "name": "node-01", "ip": "10.0.0.1", "agent_status": "online"}]
    match = image_filter.image_scan_match(identities, cloud_hosts, images)
    fact = image_filter.image_scan_facts(match, images, "hss", fail_on="critical", scanned_at="2026-01-01T00:00:00Z",
                                         now="2026-01-01T00:05:00Z")["web"]
    assert fact["passed"] is False
    assert [x["rule"] for x in fact["failures"]] == ["severity"]
    assert fact["offending_images"][0]["severity"] == "critical"
