"""Facts of the built-in dataset, read through the SDKs and compared with ``/_emulator/dataset``."""

import collections

from huaweicloudsdkhss.v5 import model as m

from emulator_support import tc_call

NODES = ["node-%02d" % i for i in range(1, 21)]


def test_hosts_are_enrolled_in_both_clouds(emu, hss, tcss):
    hss_hosts = {h.host_name: h for h in hss.list_host_status(
        m.ListHostStatusRequest(limit=200)).data_list}
    tc_hosts = {h.HostName: h for h in tc_call(tcss, "DescribeAssetHostList",
                                               {"Limit": 100}).List}
    assert sorted(hss_hosts) == sorted(tc_hosts) == NODES
    for name in NODES:
        assert hss_hosts[name].private_ip == tc_hosts[name].HostIP
        assert hss_hosts[name].host_id and hss_hosts[name].agent_id
    assert hss_hosts["node-01"].private_ip == "10.20.0.1"
    offline_hss = {h.host_name for h in hss.list_host_status(
        m.ListHostStatusRequest(agent_status="offline")).data_list}
    offline_tc = {h.HostName for h in tc_call(tcss, "DescribeAssetHostList", {
        "Filters": [{"Name": "Status", "Values": ["OFFLINE"]}]}).List}
    assert offline_hss == offline_tc == {"node-19"}


def test_node_21_is_not_enrolled(hss, tcss):
    assert hss.list_host_status(m.ListHostStatusRequest(host_name="node-21")).total_num == 0
    assert hss.list_image_local(m.ListImageLocalRequest(host_name="node-21")).total_num == 0
    assert tc_call(tcss, "DescribeAssetHostList", {
        "Filters": [{"Name": "HostName", "Values": ["node-21"]}]}).TotalCount == 0


def test_local_images(emu, hss, tcss):
    rows = hss.list_image_local(m.ListImageLocalRequest(limit=200)).data_list
    per_host = collections.Counter(r.host_name for r in rows)
    assert sorted(per_host) == NODES and set(per_host.values()) <= {3, 4, 5}
    hosts_of = collections.defaultdict(set)
    for row in rows:
        hosts_of["%s:%s" % (row.image_name, row.image_version)].add(row.host_name)
        assert row.scan_status == "unscan" and row.latest_scan_time == 0
    for row in rows:
        assert row.host_num == len(hosts_of["%s:%s" % (row.image_name, row.image_version)])
    assert len(hosts_of["nginx:1.25"]) > 5 and len(hosts_of["redis:7.2"]) > 3
    assert sum(1 for hosts in hosts_of.values() if len(hosts) == 1) >= 10
    # TCSS lists each image once, with the same names and host counts.
    images = tc_call(tcss, "DescribeAssetImageList", {"Limit": 100}).List
    assert {i.ImageName: i.HostCnt for i in images} == {k: len(v) for k, v in hosts_of.items()}
    assert all(i.ScanStatus == "notScan" and i.ImageID.startswith("sha256:") for i in images)
    # T8 pairs and H5 rows describe the same placement.
    tc_hosts = {h.HostID: h.HostName for h in tc_call(tcss, "DescribeAssetHostList",
                                                      {"Limit": 100}).List}
    names = {i.ImageID: i.ImageName for i in images}
    pairs = tc_call(tcss, "DescribeAssetImageHostList", {}).List
    assert {(tc_hosts[p.HostID], names[p.ImageID]) for p in pairs} == {
        (r.host_name, "%s:%s" % (r.image_name, r.image_version)) for r in rows}


def test_registry_images(hss):
    rows = hss.list_registry_images(m.ListRegistryImagesRequest(limit=200)).data_list
    assert len(rows) == 12
    assert collections.Counter(r.registry_type for r in rows) == {
        "SwrPrivate": 3, "SwrShared": 2, "SwrEnterprise": 2, "Harbor": 3, "Jfrog": 2}
    assert all(r.scan_status == "unscan" for r in rows)
    assert all(r.instance_id for r in rows if r.registry_type == "SwrEnterprise")
    harbor = hss.list_registry_images(m.ListRegistryImagesRequest(image_type="harbor", limit=10))
    assert harbor.total_num == 3


def test_dataset_view_matches_the_apis(emu, hss, tcss):
    data = emu.dataset()
    rows = hss.list_image_local(m.ListImageLocalRequest(limit=200)).data_list
    assert len(data["hss"]["local_images"]) == len(rows)
    assert [r["image_id"] for r in data["hss"]["local_images"]] == [r.image_id for r in rows]
    assert len(data["tcss"]["images"]) == 28 and len(data["tcss"]["hosts"]) == 20
    assert data["hss"]["tasks"] == [] and data["tcss"]["tasks"] == []
