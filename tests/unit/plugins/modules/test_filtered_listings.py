# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Listings of the play's hosts only: hss_host_info/tcss_host_info ``match_hosts`` and
hss_image_info/tcss_image_info ``host_ids``. Few hosts of a large fleet are looked up by filters,
else the fleet is walked once; filters that match parts of names are matched exactly again; when the
filters miss a host (names compared with case, say), the fleet is walked once after all, and a host
that cannot be found that way either is left out (the role then reports it not_enrolled)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _http, _scan
from ansible_collections.cloudsec.image_scan.plugins.modules import hss_host_info, hss_image_info
from ansible_collections.cloudsec.image_scan.plugins.modules import tcss_host_info, tcss_image_info

from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules import hss_fakes
from ansible_collections.cloudsec.image_scan.tests.unit.plugins.modules.tcss_fakes import FakeTcss, Runner, host_row, image_row


# -- the choice: walk or select ------------------------------------------------------------------


def pager(rows, seen):
    def fetch(offset, limit):
        seen.append(offset)
        return rows[offset:offset + limit], len(rows)
    return fetch


def test_a_listing_of_one_page_is_read_once():
    seen = []
    rows, walked = _http.walk_or_select(pager(list(range(150)), seen), 200, 0, lambda: pytest.fail("selected"))
    assert (len(rows), walked, seen) == (150, True, [0])


def test_few_selected_calls_beat_the_rest_of_a_long_walk():
    seen = []
    rows, walked = _http.walk_or_select(pager(list(range(1000)), seen), 200, 3, lambda: ["mine"])
    assert (rows, walked, seen) == (["mine"], False, [0])


def test_the_walk_goes_on_from_the_first_page_when_it_is_cheaper():
    seen = []
    rows, walked = _http.walk_or_select(pager(list(range(1000)), seen), 200, 4, lambda: pytest.fail("selected"))
    assert (rows, walked, seen) == (list(range(1000)), True, [0, 200, 400, 600, 800])


def test_identities_are_looked_up_by_id_else_by_name_and_address():
    ids, names, ips = _scan.host_lookups([
        {"inventory_hostname": "a", "id": "h-1", "name": "a", "ip": "10.0.0.1"},
        {"inventory_hostname": "b", "id": "", "name": "b", "ip": "10.0.0.2"},
        {"inventory_hostname": "c", "id": "", "name": "c", "ip": ""},
        {"inventory_hostname": "c2", "id": "", "name": "c", "ip": ""}])
    assert (ids, names, ips) == (["h-1"], ["b", "c"], ["10.0.0.2"])


# -- HSS -------------------------------------------------------------------------------------------


def hss_host(n):
    return {"host_id": "hid-%d" % n, "host_name": "node-%d" % n, "private_ip": "10.0.%d.%d" % (n // 250, n % 250),
            "agent_status": "online", "os_type": "Linux", "protect_status": "opened", "agent_id": "agent-%d" % n}


def fuzzy_hosts(rows):
    """ListHostStatus as HSS may answer it: host_name matches any part of a name."""

    def handle(call):
        selected = rows
        if "host_name" in call.query:
            selected = [r for r in selected if call.query["host_name"] in r["host_name"]]
        if "host_id" in call.query:
            selected = [r for r in selected if r["host_id"] == call.query["host_id"]]
        if "private_ip" in call.query:
            selected = [r for r in selected if r["private_ip"] == call.query["private_ip"]]
        return hss_fakes.page(selected, call)

    return handle


@pytest.fixture
def hss(monkeypatch):
    return hss_fakes.install(monkeypatch)


IDENTITIES = [{"inventory_hostname": "node-1", "id": "", "name": "node-1", "ip": ""},
              {"inventory_hostname": "db", "id": "", "name": "db", "ip": "10.0.0.7"},
              {"inventory_hostname": "by-id", "id": "hid-9", "name": "by-id", "ip": ""},
              {"inventory_hostname": "ghost", "id": "", "name": "ghost", "ip": ""}]


def host_queries(fake):
    return [dict((k, v) for k, v in call.query.items() if k not in ("offset", "limit")) for call in fake.calls]


def fleet_pages(fake):
    """The offsets of the unfiltered ListHostStatus calls (pages of the fleet's walk)."""
    return [int(call.query.get("offset", 0)) for call in fake.calls
            if call.op == "ListHostStatus" and not [k for k in call.query if k not in ("offset", "limit")]]


def test_hss_few_hosts_of_a_large_fleet_are_looked_up_and_matched_exactly(hss, capsys):
    fake, _clock = hss
    fake.on("ListHostStatus", fuzzy_hosts([hss_host(n) for n in range(1, 2001)]))
    result = hss_fakes.run_module(hss_host_info.main, {"match_hosts": IDENTITIES[:3]}, capsys)
    assert result["fleet_walked"] is False
    # node-1, not node-10..node-1000 that its filter also answered; db by its address.
    assert [h["name"] for h in result["hosts"]] == ["node-9", "node-1", "node-7"]
    queries = host_queries(fake)
    assert queries[0] == {} and fake.calls[0].query["limit"] == "200"
    assert {"host_id": "hid-9"} in queries and {"host_name": "node-1"} in queries
    assert queries[-1] == {"private_ip": "10.0.0.7"}, "an address is asked only for a name not found"
    # One page of the fleet, then the lookups (node-1 answers node-1 and node-10..node-1999: 6 pages); no walk.
    assert fleet_pages(fake) == [0]
    assert len(fake.calls) == 1 + 1 + 6 + 1 + 1


def case_sensitive_hosts(rows):
    """ListHostStatus as HSS may also answer it: host_name only the whole name, with its case."""

    def handle(call):
        selected = rows
        for key in ("host_name", "host_id", "private_ip"):
            if key in call.query:
                selected = [r for r in selected if r[key] == call.query[key]]
        return hss_fakes.page(selected, call)

    return handle


@pytest.mark.parametrize("listing", [fuzzy_hosts, case_sensitive_hosts])
def test_hss_a_name_in_other_case_is_found_as_a_walk_finds_it(hss, capsys, listing):
    fake, _clock = hss
    fake.on("ListHostStatus", listing([hss_host(n) for n in range(1, 2001)]))
    identities = [{"inventory_hostname": "NODE-1234", "id": "", "name": "NODE-1234", "ip": ""},
                  {"inventory_hostname": "by-id", "id": "hid-9", "name": "by-id", "ip": ""}]
    result = hss_fakes.run_module(hss_host_info.main, {"match_hosts": identities}, capsys)
    assert sorted(h["name"] for h in result["hosts"]) == ["node-1234", "node-9"]
    assert result["fleet_walked"] is True
    # The lookups missed NODE-1234; the fleet was then walked once, from the page already read.
    assert fleet_pages(fake) == list(range(0, 2000, 200))
    assert {"host_name": "NODE-1234"} in host_queries(fake)


def test_hss_an_unknown_host_is_not_found_after_one_walk(hss, capsys):
    fake, _clock = hss
    fake.on("ListHostStatus", case_sensitive_hosts([hss_host(n) for n in range(1, 2001)]))
    result = hss_fakes.run_module(hss_host_info.main, {"match_hosts": IDENTITIES}, capsys)
    assert [h["name"] for h in result["hosts"]] == ["node-1", "node-7", "node-9"], "ghost is nowhere"
    assert result["fleet_walked"] is True
    assert fleet_pages(fake) == list(range(0, 2000, 200)), "one walk of the fleet, each page once"
    assert {"host_name": "ghost"} in host_queries(fake)


def test_hss_most_of_a_small_fleet_is_walked_once(hss, capsys):
    fake, _clock = hss
    fake.on("ListHostStatus", fuzzy_hosts([hss_host(n) for n in range(1, 21)]))
    result = hss_fakes.run_module(hss_host_info.main, {"match_hosts": IDENTITIES}, capsys)
    assert result["fleet_walked"] is True and fake.ops("ListHostStatus") == 1
    assert [h["name"] for h in result["hosts"]] == ["node-1", "node-7", "node-9"]


def test_hss_match_hosts_cannot_be_combined_with_a_host_filter(hss, capsys):
    fake, _clock = hss
    result = hss_fakes.run_module(hss_host_info.main, {"match_hosts": IDENTITIES, "host_name": "x"}, capsys)
    assert result["failed"] and "match_hosts" in result["msg"] and fake.calls == []


def local_rows(hosts, per_host=2):
    return [hss_fakes.local_row(image_id="img-%d-%d" % (n, j), name="app-%d" % j, host="node-%d" % n)
            for n in hosts for j in range(per_host)]


def test_hss_images_of_few_hosts_are_listed_host_by_host(hss, capsys):
    fake, _clock = hss
    rows = local_rows(range(1, 501))
    # A host_id filter that also answers other hosts' rows: the module keeps the exact ones.
    fake.on("ListImageLocal", lambda call: hss_fakes.page(
        [r for r in rows if "host_id" not in call.query or r["host_id"].startswith(call.query["host_id"])], call))
    result = hss_fakes.run_module(hss_image_info.main, {"host_ids": ["hid-node-1", "hid-node-7"]}, capsys)
    assert result["fleet_walked"] is False
    assert sorted((i["id"], i["host"]["name"]) for i in result["images"]) == [
        ("img-1-0", "node-1"), ("img-1-1", "node-1"), ("img-7-0", "node-7"), ("img-7-1", "node-7")]
    # One page of the whole listing, then each host (hid-node-1 also answers hid-node-1xx: two pages).
    assert [c.query.get("host_id") for c in fake.calls] == [None, "hid-node-1", "hid-node-1", "hid-node-7"]


def test_hss_images_of_most_hosts_come_from_one_walk(hss, capsys):
    fake, _clock = hss
    rows = local_rows(range(1, 11))
    fake.on("ListImageLocal", hss_fakes.lister(rows, filters=["host_id"]))
    result = hss_fakes.run_module(hss_image_info.main, {"host_ids": ["hid-node-1", "hid-node-2", "hid-node-3"]},
                                  capsys)
    assert result["fleet_walked"] is True and fake.ops("ListImageLocal") == 1
    assert sorted(set(i["host"]["name"] for i in result["images"])) == ["node-1", "node-2", "node-3"]


def test_hss_no_host_lists_nothing(hss, capsys):
    fake, _clock = hss
    result = hss_fakes.run_module(hss_image_info.main, {"host_ids": []}, capsys)
    assert result["images"] == [] and fake.calls == []


# -- TCSS ------------------------------------------------------------------------------------------


@pytest.fixture
def run(monkeypatch, capsys, clock):
    return Runner(monkeypatch, capsys, clock)


def tcss_fleet(count, images_per_host=0):
    hosts = [host_row("h%d" % n, "node-%d" % n, "10.0.%d.%d" % (n // 250, n % 250)) for n in range(1, count + 1)]
    images, pairs = [], []
    for n in range(1, count + 1):
        for j in range(images_per_host):
            images.append(image_row("i-%d-%d" % (n, j), name="app-%d/svc:%d" % (n, j)))
            pairs.append(("i-%d-%d" % (n, j), "h%d" % n))
    images.append(image_row("i-shared", name="nginx:1.25"))
    pairs.extend(("i-shared", "h%d" % n) for n in range(1, count + 1))
    return FakeTcss(images=images, hosts=hosts, pairs=pairs)


TCSS_IDENTITIES = IDENTITIES[:1] + [
    {"inventory_hostname": "db", "id": "", "name": "db", "ip": "10.0.0.7"},
    {"inventory_hostname": "by-id", "id": "h9", "name": "by-id", "ip": ""}]
GHOST = {"inventory_hostname": "ghost", "id": "", "name": "ghost", "ip": ""}


def tcss_fleet_pages(fake):
    """The offsets of the unfiltered T7 calls (pages of the fleet's walk)."""
    return [p.get("Offset", 0) for p in fake.params_of("DescribeAssetHostList") if not p.get("Filters")]


def test_tcss_few_hosts_of_a_large_fleet_are_looked_up_by_filters(run):
    fake = tcss_fleet(1000)
    result = run(tcss_host_info, fake, {"match_hosts": TCSS_IDENTITIES})
    assert result["fleet_walked"] is False
    assert sorted(h["name"] for h in result["hosts"]) == ["node-1", "node-7", "node-9"]
    filters = [p.get("Filters") for p in fake.params_of("DescribeAssetHostList")]
    assert filters[0] is None
    assert [{"Name": "HostID", "Values": ["h9"]}] in filters
    assert [{"Name": "HostName", "Values": ["node-1", "db"], "ExactMatch": True}] in filters
    assert [{"Name": "HostIP", "Values": ["10.0.0.7"]}] in filters
    assert len(filters) == 4, "no walk when every host was found"


def test_tcss_a_name_in_other_case_is_found_as_a_walk_finds_it(run):
    fake = tcss_fleet(1000)  # the fake's HostName filter compares whole names with case
    result = run(tcss_host_info, fake, {"match_hosts": TCSS_IDENTITIES + [
        {"inventory_hostname": "n", "id": "", "name": "NODE-777", "ip": ""}]})
    assert sorted(h["name"] for h in result["hosts"]) == ["node-1", "node-7", "node-777", "node-9"]
    assert result["fleet_walked"] is True
    assert tcss_fleet_pages(fake) == list(range(0, 1000, 100)), "one walk, from the page already read"
    assert len(fake.params_of("DescribeAssetHostList")) == 3 + 10


def test_tcss_an_unknown_host_is_not_found_after_one_walk(run):
    fake = tcss_fleet(1000)
    result = run(tcss_host_info, fake, {"match_hosts": TCSS_IDENTITIES + [GHOST]})
    assert sorted(h["name"] for h in result["hosts"]) == ["node-1", "node-7", "node-9"]
    assert result["fleet_walked"] is True
    assert tcss_fleet_pages(fake) == list(range(0, 1000, 100))
    assert [{"Name": "HostName", "Values": ["node-1", "db", "ghost"], "ExactMatch": True}] in [
        p.get("Filters") for p in fake.params_of("DescribeAssetHostList")]


def test_the_walk_after_a_selection_that_missed_reads_the_first_page_once():
    seen = []
    rows, walked = _http.walk_or_select(pager(list(range(1000)), seen), 200, 3, lambda: ["mine"],
                                        lambda selected: False)
    assert (rows, walked, seen) == (list(range(1000)), True, [0, 200, 400, 600, 800])
    seen = []
    rows, walked = _http.walk_or_select(pager(list(range(1000)), seen), 200, 3, lambda: ["mine"],
                                        lambda selected: selected == ["mine"])
    assert (rows, walked, seen) == (["mine"], False, [0])


def test_tcss_images_of_few_hosts_come_by_their_pairs(run):
    fake = tcss_fleet(150, images_per_host=2)
    result = run(tcss_image_info, fake, {"host_ids": ["h3", "h40"]})
    assert result["fleet_walked"] is False
    assert [i["id"] for i in result["images"]] == ["i-3-0", "i-3-1", "i-40-0", "i-40-1", "i-shared"]
    shared = [i for i in result["images"] if i["id"] == "i-shared"][0]
    assert sorted(h["id"] for h in shared["hosts"]) == ["h3", "h40"], "only the hosts asked for"
    assert sorted(h["name"] for h in shared["hosts"]) == ["node-3", "node-40"]
    t5 = fake.params_of("DescribeAssetImageList")
    assert len(t5) == 2 and t5[1]["Filters"][-1]["Name"] == "ImageID"


def test_tcss_images_of_most_hosts_come_from_one_walk(run):
    fake = tcss_fleet(5, images_per_host=2)
    result = run(tcss_image_info, fake, {"host_ids": ["h1", "h2", "h3", "h4"]})
    assert result["fleet_walked"] is True and fake.actions("DescribeAssetImageList") == 1
    assert "i-5-0" not in [i["id"] for i in result["images"]]
    assert len(result["images"]) == 9


def test_tcss_pairs_of_more_hosts_than_one_filter_takes_come_in_one_call(run):
    fake = tcss_fleet(250, images_per_host=1)
    wanted = ["h%d" % n for n in range(1, 151)]
    result = run(tcss_image_info, fake, {"host_ids": wanted})
    assert fake.params_of("DescribeAssetImageHostList") == [{}], "one unfiltered call, not two HostID filters"
    assert len(result["images"]) == 151 and "i-200-0" not in [i["id"] for i in result["images"]]
    shared = [i for i in result["images"] if i["id"] == "i-shared"][0]
    assert sorted(h["id"] for h in shared["hosts"]) == sorted(wanted), "only the hosts asked for"


def test_tcss_pairs_fall_back_to_host_filters_when_the_whole_answer_is_cut(run):
    fake = tcss_fleet(250, images_per_host=1)
    fake.pair_cap = 200
    wanted = ["h%d" % n for n in range(1, 151)]
    result = run(tcss_image_info, fake, {"host_ids": wanted})
    t8 = fake.params_of("DescribeAssetImageHostList")
    assert t8[0] == {} and [p["Filters"][0]["Values"] for p in t8[1:]] == [wanted[:100], wanted[100:]]
    assert len(result["images"]) == 151
    shared = [i for i in result["images"] if i["id"] == "i-shared"][0]
    assert len(shared["hosts"]) == 150, "every pair of the hosts, none lost to the cut answer"


def test_tcss_pairs_of_few_hosts_are_never_asked_for_the_whole_fleet(run):
    fake = tcss_fleet(250, images_per_host=1)
    run(tcss_image_info, fake, {"host_ids": ["h%d" % n for n in range(1, 101)]})
    assert [p["Filters"][0]["Name"] for p in fake.params_of("DescribeAssetImageHostList")] == ["HostID"]


def test_tcss_match_hosts_cannot_be_combined_with_max_results(run):
    fake = tcss_fleet(3)
    result = run(tcss_host_info, fake, {"match_hosts": IDENTITIES, "max_results": 1})
    assert result["failed"] and "match_hosts" in result["msg"] and fake.calls == []
