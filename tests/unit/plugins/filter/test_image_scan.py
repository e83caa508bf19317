# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan as f

RUN_START = "2026-12-01T10:00:00Z"
NOW = "2026-12-01T10:05:00Z"
HOSTVARS = {
    "web1": {"image_scan_host_id": "h-1"},
    "web2": {"ansible_facts": {"hostname": "node-02", "default_ipv4": {"address": "10.0.0.2"}}},
    "web3": {"image_scan_host_ip": "10.0.0.3"},
    "ghost": {},
    "down": {"image_scan_host_name": "NODE-04"},
}
CLOUD_HOSTS = [
    {"id": "h-1", "name": "node-01", "ip": "10.0.0.1", "agent_status": "online"},
    {"id": "h-2", "name": "node-02", "ip": "10.0.0.2", "agent_status": "online"},
    {"id": "h-3", "name": "node-03", "ip": "10.0.0.3", "agent_status": "online"},
    {"id": "h-4", "name": "node-04", "ip": "10.0.0.4", "agent_status": "offline"},
]


def img(image_id, host_ids, severity="none", status="success", **extra):
    image = {"id": image_id, "name": "img-" + image_id, "version": "1", "scan_status": status,
             "severity": severity, "hosts": [{"id": h} for h in host_ids], "latest_scan_time": RUN_START}
    image.update(extra)
    return image


IMAGES = [
    img("a", ["h-1", "h-2"], "critical", counts={"critical": 2, "high": 1, "medium": 0, "low": 0}),
    img("b", ["h-2"], "low", counts={"critical": 0, "high": 0, "medium": 0, "low": 3}),
    img("c", ["h-4"], "high"),
    img("d", ["h-1"], "none", status="image_oversized"),
]


def identities():
    return f.image_scan_hosts(["web1", "web2", "web3", "ghost", "down"], HOSTVARS)


def test_identities_prefer_inventory_vars_then_facts_then_hostname():
    ids = {i["inventory_hostname"]: i for i in identities()}
    assert ids["web1"]["id"] == "h-1"
    assert (ids["web2"]["name"], ids["web2"]["ip"]) == ("node-02", "10.0.0.2")
    assert ids["web3"]["ip"] == "10.0.0.3" and ids["web3"]["name"] == "web3"
    assert ids["ghost"] == {"inventory_hostname": "ghost", "id": "", "name": "ghost", "ip": ""}


def test_match_statuses_and_images_of_online_hosts_only():
    match = f.image_scan_match(identities(), CLOUD_HOSTS, IMAGES)
    statuses = {h: e["status"] for h, e in match["hosts"].items()}
    assert statuses == {"web1": "scanned", "web2": "scanned", "web3": "scanned",
                        "ghost": "not_enrolled", "down": "agent_offline"}
    assert match["image_ids"] == ["a", "b", "d"]
    assert [h["id"] for h in match["image_hosts"]["a"]] == ["h-1", "h-2"]
    assert match["host_ids"] == ["h-1", "h-2", "h-3"], "the online hosts, not the offline h-4"


def test_match_without_images_names_the_hosts_whose_images_can_be_scanned():
    match = f.image_scan_match(identities(), CLOUD_HOSTS, [])
    assert match["host_ids"] == ["h-1", "h-2", "h-3"]
    assert match["image_ids"] == [] and match["image_hosts"] == {}
    twice = f.image_scan_match(identities() + identities()[:1], CLOUD_HOSTS, [])
    assert twice["host_ids"] == ["h-1", "h-2", "h-3"], "each host once"


def test_results_without_hosts_are_grouped_by_the_listing():
    match = f.image_scan_match(identities(), CLOUD_HOSTS, IMAGES)
    results = [dict(image, hosts=[]) for image in IMAGES]
    facts = f.image_scan_facts(match, results, "tcss")
    assert sorted(i["id"] for i in facts["web2"]["images"]) == ["a", "b"]
    # The listing saw image a on h-1 and h-2; web2's fact names its own host (h-2) only.
    assert [h["id"] for h in facts["web2"]["images"][0]["hosts"]] == ["h-2"]
    assert facts["web3"]["status"] == "no_images"
    unmatched = f.image_scan_facts({"hosts": match["hosts"]}, results, "tcss")
    assert unmatched["web2"]["status"] == "no_images"


def test_facts_group_images_and_apply_the_gate():
    match = f.image_scan_match(identities(), CLOUD_HOSTS, IMAGES)
    facts = f.image_scan_facts(match, IMAGES, "tcss", fail_on="critical", scanned_at="T")
    assert facts["web1"]["passed"] is False
    assert [o["id"] for o in facts["web1"]["offending_images"]] == ["a"]
    assert facts["web1"]["summary"]["images_failed"] == 1
    assert facts["web2"]["summary"]["critical"] == 2 and facts["web2"]["summary"]["low"] == 3
    assert facts["web2"]["passed"] is False
    assert facts["web3"]["status"] == "no_images" and facts["web3"]["passed"] is True
    assert facts["ghost"]["status"] == "not_enrolled" and facts["ghost"]["images"] == []
    assert facts["down"]["status"] == "agent_offline"
    low_gate = f.image_scan_facts(match, IMAGES, "tcss", fail_on="low")
    assert [o["id"] for o in low_gate["web2"]["offending_images"]] == ["a", "b"]
    off = f.image_scan_facts(match, IMAGES, "tcss", fail_on="none", fail_on_incomplete=False)
    assert all(v["passed"] for v in off.values())
    # The severity gate off still fails a host whose image could not be scanned.
    assert not f.image_scan_facts(match, IMAGES, "tcss", fail_on="none")["web1"]["passed"]


def test_ignore_unfixed_counts_only_fixable_findings():
    images = [img("a", ["h-1"], "critical", findings=[
        {"id": "CVE-1", "severity": "critical", "fixable": False},
        {"id": "CVE-2", "severity": "medium", "fixable": True}])]
    match = f.image_scan_match(identities(), CLOUD_HOSTS, images)
    assert f.image_scan_facts(match, images, "hss", fail_on="high", ignore_unfixed=True)["web1"]["passed"]
    assert not f.image_scan_facts(match, images, "hss", fail_on="medium", ignore_unfixed=True)["web1"]["passed"]
    assert not f.image_scan_facts(match, images, "hss", fail_on="high")["web1"]["passed"]


def test_bad_threshold_is_refused():
    with pytest.raises(AnsibleFilterError, match="critical, high, medium, low, none"):
        f.image_scan_facts({"hosts": {}}, [], "hss", fail_on="severe")


# -- fail closed -------------------------------------------------------------------------------


def gate(images, **kwargs):
    """Facts of web1 (h-1) alone with the given images."""
    kwargs.setdefault("scanned_at", RUN_START)
    kwargs.setdefault("now", NOW)
    match = f.image_scan_match(identities(), CLOUD_HOSTS, images)
    return f.image_scan_facts(match, images, kwargs.pop("provider", "tcss"), **kwargs)


def test_a_failed_scan_fails_the_host_as_incomplete():
    # The built-in dataset's legacy/reporting:0.9 on node-15: its scan failed, it has no findings.
    facts = gate([img("ok", ["h-1"]), img("rep", ["h-1"], "unknown", status="failed", failure_reason="scan error",
                                          name="legacy/reporting", version="0.9")], fail_on="critical")
    web1 = facts["web1"]
    assert web1["status"] == "incomplete" and web1["passed"] is False
    assert [(i["id"], i["scan_status"]) for i in web1["incomplete_images"]] == [("rep", "failed")]
    assert "scan error" in web1["incomplete_images"][0]["reason"]
    assert [x["rule"] for x in web1["failures"]] == ["incomplete"]
    assert web1["message"].startswith("web1 failed the gate (incomplete): 1 image without a fresh successful scan: "
                                      "legacy/reporting:0.9 (the scan ended failed: scan error")
    assert web1["summary"]["images_incomplete"] == 1 and web1["summary"]["images_fresh"] == 1
    assert [i["gate_status"] for i in web1["images"]] == ["fresh", "incomplete"]
    relaxed = gate(facts and [img("rep", ["h-1"], status="failed")], fail_on_incomplete=False)["web1"]
    assert relaxed["passed"] is True and relaxed["status"] == "incomplete"
    assert relaxed["warnings"] and "without a fresh successful scan" in relaxed["warnings"][0]


@pytest.mark.parametrize("image, reason", [
    (img("big", ["h-1"], "unknown", status="image_oversized", failure_reason="huge_image"),
     "the scan ended image_oversized: huge_image"),
    (img("new", ["h-1"], "unknown", status="unscanned", latest_scan_time=None), "never scanned"),
    (img("q", ["h-1"], "unknown", status="waiting", latest_scan_time=None), "the scan is still waiting"),
    (img("run", ["h-1"], "unknown", status="scanning"), "the scan is still scanning"),
    (img("old", ["h-1"], latest_scan_time="2026-11-29T10:00:00Z"),
     "the last successful scan (2026-11-29T10:00:00Z) is older than max_age"),
    (img("t", ["h-1"], latest_scan_time=None), "scanned, but the time of the scan is unknown"),
])
def test_images_without_a_fresh_successful_result_fail_the_host(image, reason):
    # An oversized image on node-07/node-12 was never scanned: the host does not pass.
    web1 = gate([image], max_age="24h", fail_on="none")["web1"]
    assert web1["passed"] is False and web1["status"] == "incomplete"
    assert web1["incomplete_images"][0]["reason"].startswith(reason)


def test_freshness_is_this_run_or_max_age():
    earlier = img("a", ["h-1"], latest_scan_time="2026-12-01T08:00:00Z")
    assert gate([earlier], max_age="3h")["web1"]["passed"]
    assert not gate([earlier], max_age="1h")["web1"]["passed"]
    assert gate([img("a", ["h-1"], latest_scan_time="2026-12-01T10:01:00Z")], max_age=0)["web1"]["passed"]
    # force asks for a scan in this run: an older success, even a recent one, is not enough.
    forced = gate([earlier], max_age="3h", force=True)["web1"]
    assert not forced["passed"] and "force is set" in forced["incomplete_images"][0]["reason"]
    # Without max_age any success counts.
    assert gate([img("a", ["h-1"], latest_scan_time="2020-01-01T00:00:00Z")])["web1"]["passed"]


def test_the_age_of_a_scan_is_measured_on_our_clock_when_the_module_gives_it():
    # The cloud's clock runs 10 minutes ahead: its time says "in this run", ours says 3 hours ago.
    ahead = img("a", ["h-1"], latest_scan_time="2026-12-01T10:05:00Z", latest_scan_time_local="2026-12-01T07:05:00Z")
    web1 = gate([ahead], max_age="1h")["web1"]
    assert not web1["passed"] and "older than max_age" in web1["incomplete_images"][0]["reason"]
    assert gate([ahead], max_age="4h")["web1"]["passed"]


@pytest.mark.parametrize("extra, reason", [
    ({"scannable": False, "non_scan_reason": "image_oversized"}, "image_oversized"),
    ({"non_scan_reason": "unsupported_os"}, "unsupported_os"),
    ({"authorized": False}, "not authorized: no image licence covers it"),
    ({"is_authorized": 0}, "not authorized: no image licence covers it"),
    ({"scan_status": "unscannable", "unscannable_reason": "no licence"}, "no licence"),
])
def test_unscannable_images_are_listed_and_fail_only_on_request(extra, reason):
    image = img("u", ["h-1"], "unknown", status="unscanned", latest_scan_time=None, **extra)
    web1 = gate([img("a", ["h-1"]), image])["web1"]
    assert web1["passed"] is True and web1["status"] == "scanned"
    assert [(i["id"], i["reason"]) for i in web1["unscannable_images"]] == [("u", reason)]
    assert web1["summary"]["images_unscannable"] == 1 and web1["incomplete_images"] == []
    strict = gate([img("a", ["h-1"]), image], fail_on_unscannable=True)["web1"]
    assert strict["passed"] is False and [x["rule"] for x in strict["failures"]] == ["unscannable"]
    assert "1 image the cloud cannot scan: img-u:1 (%s)" % reason in strict["message"]


def test_unenrolled_hosts_fail_only_on_request():
    facts = gate([img("a", ["h-1"])])
    assert facts["ghost"]["passed"] and facts["down"]["passed"]
    assert facts["ghost"]["warnings"] == ["not enrolled in TCSS"]
    strict = gate([img("a", ["h-1"])], fail_on_unenrolled=True)
    assert strict["ghost"]["message"] == "ghost failed the gate (unenrolled): not enrolled in TCSS"
    assert strict["down"]["message"] == "down failed the gate (unenrolled): its TCSS security agent is not online"
    assert strict["web1"]["passed"]


def test_the_gate_message_labels_untagged_images_by_name():
    untagged = img("u", ["h-1"], "critical", version=None, name="app")
    web1 = gate([untagged])["web1"]
    assert web1["message"] == "web1 failed the gate (severity): images at or above severity critical: app (critical)"
    assert "None" not in web1["message"]


def test_a_wait_that_timed_out_names_the_tasks_to_resume_with():
    error = {"task": "Wait for the scan of the batch", "msg": "timed out after 30s", "wait": True,
             "task_ids": ["task-1", "task-1", None]}
    facts = gate([img("a", ["h-1"]), img("b", ["h-1"], status="scanning"), img("c", ["h-2"])], error=error)
    web1 = facts["web1"]
    assert web1["status"] == "incomplete" and web1["judged"] is True and not web1["passed"]
    assert web1["incomplete_images"][0]["task_ids"] == ["task-1"]
    assert web1["incomplete_images"][0]["reason"] == (
        "the scan is still scanning; the wait for the scans ran out: resume with task task-1")
    assert web1["warnings"] == ["Wait for the scan of the batch: timed out after 30s"]
    assert facts["web2"]["passed"] and facts["web2"]["status"] == "scanned"


def test_scanner_errors_leave_the_hosts_they_concern_unjudged():
    error = {"task": "Scan the images that need it", "msg": "HSS.1000 internal error (request id r-1)"}
    images = [img("a", ["h-1"], status="unscanned", latest_scan_time=None), img("c", ["h-2"])]
    facts = gate(images, error=error)
    assert facts["web1"]["status"] == "error" and facts["web1"]["judged"] is False
    assert facts["web1"]["not_judged_reason"] == "Scan the images that need it: HSS.1000 internal error (request id r-1)"
    assert [x["rule"] for x in facts["web1"]["failures"]] == ["error"]
    assert facts["web2"]["judged"] and facts["web2"]["passed"]
    warned = gate(images, error=error, on_error="warn")["web1"]
    assert warned["passed"] and not warned["judged"] and "not judged" in warned["warnings"][0]
    # A listing error: nothing is known of any host.
    listing = f.image_scan_facts({}, [], "hss", play_hosts=["web1", "web2"], error=error)
    assert set(listing) == {"web1", "web2"}
    assert all(x["status"] == "error" and not x["judged"] and not x["passed"] for x in listing.values())


def test_cvss_decides_where_the_cloud_has_no_four_level_rating():
    assert [f.cvss_severity(s) for s in (10, 9.0, 8.9, 7.0, 6.9, 4.0, 3.9, 0.1, 0, "x", 11)] == [
        "critical", "critical", "high", "high", "medium", "medium", "low", "low", "none", None, None]
    # HSS's repair necessity puts critical and high together: a score tells them apart.
    log4shell = {"id": "CVE-2021-44228", "severity": "high", "cvss_v3": 10.0, "fixable": True}
    assert f.finding_severity(log4shell, "hss") == "critical"
    assert f.finding_severity(dict(log4shell, severity_source="repair_necessity"), "tcss") == "critical"
    assert f.finding_severity(dict(log4shell, severity="medium"), "tcss") == "medium"
    assert f.finding_severity({"severity": "unknown", "cvss": "9.1"}) == "critical"
    assert f.finding_severity({"severity": "high"}, "hss") == "high"
    image = img("l", ["h-1"], "high", findings=[log4shell])
    for provider in ("hss", "tcss"):
        web1 = gate([dict(image, findings=[dict(log4shell, severity="critical" if provider == "tcss" else "high")])],
                    provider=provider)["web1"]
        assert web1["offending_images"][0]["severity"] == "critical", provider


def findings_image(image_id, host_ids, *found, **extra):
    findings = [{"id": cve, "severity": sev, "package": "pkg", "fixable": True} for cve, sev in found]
    return img(image_id, host_ids, f._scan.worst_severity(s for _c, s in found), findings=findings,
               severity_counts=f._scan.severity_counts(findings), **extra)


def test_thresholds_count_findings_per_host():
    images = [findings_image("a", ["h-1"], ("CVE-1", "high"), ("CVE-2", "high"), ("CVE-3", "low"))]
    assert gate(images, fail_on="critical", max_findings={"high": 2})["web1"]["passed"]
    web1 = gate(images, fail_on="critical", max_findings={"high": 1, "low": 5})["web1"]
    assert web1["failures"] == [{"rule": "threshold", "severity": "high", "count": 2, "max": 1,
                                 "message": "2 high findings, more than image_scan_max_findings.high 1"}]
    both = gate(images, fail_on="high", max_findings={"low": 0})["web1"]
    assert [x["rule"] for x in both["failures"]] == ["severity", "threshold"]
    with pytest.raises(AnsibleFilterError, match="unknown severity 'severe'"):
        gate(images, max_findings={"severe": 1})


def exceptions(*entries, **kwargs):
    return f._gate.image_scan_exceptions(list(entries), now=kwargs.get("now", NOW), warn=False)


def test_exceptions_suppress_matching_findings_only():
    images = [findings_image("a", ["h-1", "h-2"], ("CVE-1", "critical"), ("CVE-2", "high"), name="nginx")]
    rules = exceptions(
        {"id": "cve-1", "images": "nginx:*", "hosts": ["web1"], "until": "2026-12-31", "reason": "no exploit path",
         "owner": "sec"},
        {"id": "CVE-2", "until": "2026-11-30", "reason": "old"})
    facts = gate(images, fail_on="critical", exceptions=rules)
    web1, web2 = facts["web1"], facts["web2"]
    assert web1["passed"] and not web2["passed"]
    suppressed = web1["images"][0]["findings"][0]["suppressed"]
    assert suppressed["reason"] == "no exploit path" and suppressed["owner"] == "sec"
    assert suppressed["until"] == "2026-12-31" and suppressed["index"] == 0
    assert web2["images"][0]["findings"][0]["suppressed"] is None
    assert web1["summary"]["suppressed"] == 1 and web1["summary"]["critical"] == 1
    assert web1["summary"]["counted"]["critical"] == 0 and web1["summary"]["counted"]["high"] == 1
    # The expired entry no longer applies and is named on the hosts whose findings it matched.
    assert [e["id"] for e in web1["expired_exceptions"]] == ["CVE-2"]
    assert gate(images, fail_on="high", exceptions=rules)["web1"]["passed"] is False
    # The input images are not changed (they are shared by hosts).
    assert "suppressed" not in images[0]["findings"][0]


def test_delta_against_a_baseline_and_new_only_gate():
    before = findings_image("a", ["h-1"], ("CVE-1", "critical"), ("CVE-2", "high"), name="nginx", version="1.25")
    baseline = f._gate.image_scan_baseline({"hosts": [{"name": "web1", "images": [before]}]}, name="last.json")
    after = findings_image("a2", ["h-1"], ("CVE-1", "critical"), ("CVE-3", "high"), name="nginx", version="1.26")
    web1 = gate([after], fail_on="high", baseline=baseline)["web1"]
    delta = web1["delta"]
    assert delta["baseline"] == "last.json" and delta["baseline_found"] is True
    assert [r["id"] for r in delta["new"]] == ["CVE-3"]
    assert [r["id"] for r in delta["fixed"]] == ["CVE-2"]
    assert [r["id"] for r in delta["unchanged"]] == ["CVE-1"]
    assert [x["baseline"] for x in web1["images"][0]["findings"]] == ["unchanged", "new"]
    assert web1["offending_images"][0]["severity"] == "critical"
    new_only = gate([after], fail_on="high", baseline=baseline, fail_on_new_only=True)["web1"]
    assert new_only["offending_images"][0]["severity"] == "high" and not new_only["passed"]
    assert gate([after], fail_on="critical", baseline=baseline, fail_on_new_only=True)["web1"]["passed"]
    # A host the baseline does not have: every finding is new.
    assert gate([after], baseline={"source": "x", "hosts": {}})["web1"]["delta"]["baseline_found"] is False


def test_a_cloud_clock_running_ahead_does_not_make_an_old_scan_fresh():
    # Scanned 20 minutes ago by the cloud's clock, which runs 10 minutes ahead: 30 minutes ago on
    # ours, older than a max_age of 25 minutes, and from before this run.
    image = {"id": "i", "scan_status": "success", "latest_scan_time": "2026-01-01T11:40:00Z"}
    now = f._epoch("2026-01-01T12:00:00Z")
    started = now - 60
    assert f.image_gate_status(image, started, now, 25 * 60)[0] == f.GATE_FRESH
    status, reason = f.image_gate_status(image, started, now, 25 * 60, clock_offset=600)
    assert status == f.GATE_INCOMPLETE and "older than max_age" in reason
    # The module's own measure on our clock wins over the offset.
    local = dict(image, latest_scan_time_local="2026-01-01T11:59:30Z")
    assert f.image_gate_status(local, started, now, 25 * 60, clock_offset=600)[0] == f.GATE_FRESH


def _steps(hosts=None, scan=None, waited=None, results=None):
    return [{"task": "Find the play hosts", "result": hosts},
            {"task": "Scan the images that need it", "result": scan},
            {"task": "Wait for the scans", "result": waited, "wait": True},
            {"task": "Collect the results", "result": results}]


def test_no_failed_step_is_no_error():
    skipped = {"changed": False, "skipped": True}
    assert f.image_scan_error(_steps({"hosts": []}, skipped, skipped, None), skipped) is None
    assert f.image_scan_error(_steps(None, None, "not run", None)) is None


def test_the_first_failed_step_is_the_error_and_names_the_task_started():
    scan = {"changed": True, "task": {"id": "T-1"}}
    waited = {"failed": True, "msg": "the wait ran out", "task": {"id": "T-2"}}
    later = {"failed": True, "msg": "later"}
    error = f.image_scan_error(_steps({"hosts": []}, scan, waited, later), scan)
    assert error == {"task": "Wait for the scans", "msg": "the wait ran out", "wait": True, "task_ids": ["T-2", "T-1"]}


def test_a_failed_step_without_a_message_or_a_task_still_counts():
    error = f.image_scan_error(_steps({"failed": True}), None)
    assert error == {"task": "Find the play hosts", "msg": "failed", "wait": False, "task_ids": []}
    scan = {"failed": True, "msg": "HTTP 500", "task": {"id": "T-9"}}
    assert f.image_scan_error(_steps({"hosts": []}, scan), scan)["task_ids"] == ["T-9"]


@pytest.mark.parametrize("steps", [{"task": "x"}, ["x"], [{"result": {"failed": True}}]])
def test_malformed_steps_are_refused(steps):
    with pytest.raises(AnsibleFilterError, match="image_scan_error"):
        f.image_scan_error(steps)


def test_a_host_fact_names_its_own_host_of_a_shared_image_whatever_the_fleet():
    import json

    def fact_of_first(fleet):
        hostvars = dict(("n%d" % i, {"image_scan_host_id": "h-%d" % i}) for i in range(fleet))
        cloud = [{"id": "h-%d" % i, "name": "n%d" % i, "ip": "", "agent_status": "online"} for i in range(fleet)]
        shared = img("s", ["h-%d" % i for i in range(fleet)], "low")
        match = f.image_scan_match(f.image_scan_hosts(sorted(hostvars), hostvars), cloud, [shared])
        return f.image_scan_facts(match, [shared], "tcss", scanned_at=RUN_START, now=NOW)

    small, large = fact_of_first(2), fact_of_first(60)
    assert [h["id"] for h in large["n7"]["images"][0]["hosts"]] == ["h-7"]
    assert len(json.dumps(large["n0"], sort_keys=True)) == len(json.dumps(small["n0"], sort_keys=True))
    assert all(len(fact["images"][0]["hosts"]) == 1 for fact in large.values())
