# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tcss_host_info against a fake TCSS: filters, paging, agent states."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.modules import tcss_host_info as module

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.tcss_fakes import FakeTcss, Runner, host_row


@pytest.fixture
def run(monkeypatch, capsys, clock):
    return Runner(monkeypatch, capsys, clock)


def fleet():
    return FakeTcss(hosts=[
        host_row("h1", "node-01", "10.0.0.1", "ONLINE", cluster="cls-1"),
        host_row("h2", "node-02", "10.0.0.2", "OFFLINE"),
        host_row("h3", "node-03", "10.0.0.3", "UNINSTALL"),
    ])


def test_every_host_with_its_agent_state(run):
    fake = fleet()
    result = run(module, fake, {})
    assert result["changed"] is False
    assert [(h["id"], h["name"], h["ip"], h["agent_status"]) for h in result["hosts"]] == [
        ("h1", "node-01", "10.0.0.1", "online"),
        ("h2", "node-02", "10.0.0.2", "offline"),
        ("h3", "node-03", "10.0.0.3", "not_installed"),
    ]
    first = result["hosts"][0]
    assert first["cluster"] == {"id": "cls-1", "name": "prod"} and result["hosts"][1]["cluster"] is None
    assert "status" not in first, "the agent state has one name on both clouds: agent_status"
    assert (first["docker_version"], first["image_count"], first["container_count"]) == ("24.0.7", 2, 3)
    assert result["raw"][0]["HostID"] == "h1"
    assert fake.params_of("DescribeAssetHostList") == [{"Offset": 0, "Limit": 100}]


def test_filters(run):
    fake = fleet()
    result = run(module, fake, {"agent_status": ["offline", "not_installed"], "host_ip": ["10.0.0.2"],
                                "filters": [{"name": "tag: env", "values": ["prod"], "exact_match": True}]})
    assert fake.params_of("DescribeAssetHostList")[0]["Filters"] == [
        {"Name": "tag: env", "Values": ["prod"], "ExactMatch": True},
        {"Name": "Status", "Values": ["OFFLINE", "UNINSTALL"]},
        {"Name": "HostIP", "Values": ["10.0.0.2"]},
    ]
    assert [h["id"] for h in result["hosts"]] == ["h2"]


def test_every_page(run):
    fake = FakeTcss(hosts=[host_row("h%d" % n, "node-%d" % n, "10.1.0.%d" % n) for n in range(205)])
    result = run(module, fake, {})
    assert len(result["hosts"]) == 205
    assert fake.actions("DescribeAssetHostList") == 3


def test_no_host_is_an_empty_list(run):
    result = run(module, FakeTcss(), {"host_name": ["nope"]})
    assert result["hosts"] == [] and result["raw"] == []


@pytest.mark.parametrize("args, words", [
    ({"filters": [{"name": "Colour", "values": ["red"]}]}, ["filters[0].name must be one of", "tag:<key>"]),
    ({"filters": [{"name": "Status", "values": ["online"]}]}, ["Status values must be among ALL, ONLINE"]),
    ({"agent_status": ["sleeping"]}, ["agent_status", "online, offline, not_installed, all"]),
    ({"host_id": []}, ["host_id must list at least one value"]),
    ({"host_ip": ["10.0.0.1", ""]}, ["host_ip must not contain empty values"]),
    ({"max_results": 0}, ["max_results must be 1 or more"]),
])
def test_bad_input_fails_before_any_request(run, args, words):
    fake = fleet()
    result = run(module, fake, args)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"]
    assert fake.calls == []
