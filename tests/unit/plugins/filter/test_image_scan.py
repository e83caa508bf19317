# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan as f

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
             "severity": severity, "hosts": [{"id": h} for h in host_ids]}
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


def test_results_without_hosts_are_grouped_by_the_listing():
    match = f.image_scan_match(identities(), CLOUD_HOSTS, IMAGES)
    results = [dict(image, hosts=[]) for image in IMAGES]
    facts = f.image_scan_facts(match, results, "tcss")
    assert sorted(i["id"] for i in facts["web2"]["images"]) == ["a", "b"]
    assert [h["id"] for h in facts["web2"]["images"][0]["hosts"]] == ["h-1", "h-2"]
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
    off = f.image_scan_facts(match, IMAGES, "tcss", fail_on="none")
    assert all(v["passed"] for v in off.values())


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
