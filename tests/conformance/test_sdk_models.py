"""Every API (HSS H1-H8, ListHostStatus and the findings APIs, TCSS T1-T8) called through the
official SDKs.

Responses must deserialise into the SDK models, and every field the emulator returns must have
the type the model declares (Huawei ``openapi_types``, Tencent ``:rtype:`` docstrings). The
checks run on a dedicated emulator in which every image has been scanned once, so rows of every
status (success, failed, download_failed, image_oversized, ...) are covered.
"""

import json
import os
import sys

import pytest

import emulator_support as support
from emulator_support import check_hw_types, check_tc_types, hw_fields, tc_call, tc_fields
from huaweicloudsdkhss.v5 import model as m

sys.path.insert(0, os.path.join(support.REPO, "tests", "emulator"))
import dataset as emu_dataset  # noqa: E402  pylint: disable=wrong-import-position


def _hw_check(response, model, complete_rows=None, allowed_missing=()):
    """Type-check the raw JSON of an SDK response; optionally check row completeness."""
    raw = json.loads(response.raw_content)
    problems = check_hw_types(raw, model)
    assert not problems, problems
    if complete_rows:
        for row in raw["data_list"]:
            missing = hw_fields(complete_rows) - set(row) - set(allowed_missing)
            assert not missing, "%s row lacks %s" % (complete_rows, sorted(missing))
    return raw


def _tc_check(response, complete=True, allowed_missing=()):
    problems = check_tc_types(response)
    assert not problems, problems
    if complete:
        missing = {name for name in tc_fields(type(response).__name__)
                   if getattr(response, name) is None} - set(allowed_missing)
        assert not missing, "%s lacks %s" % (type(response).__name__, sorted(missing))
    return response


@pytest.fixture(scope="module")
def scanned(spawn_module):
    """An emulator where every HSS and TCSS image has been scanned once."""
    emu = spawn_module()
    hss = emu.hss_client()
    tcss = emu.tcss_client()
    for gtype in ("local", "registry"):
        hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
            global_image_type=gtype, body=m.CreateManualImageScanTaskReqInfo(is_all=True)))
    tc_call(tcss, "CreateAssetImageScanTask",
            {"ScanVul": True, "ScanVirus": True, "ScanRisk": True, "ScanScope": 0})

    def all_done():
        tasks = hss.list_image_scan_task(m.ListImageScanTaskRequest(type="image_scan"))
        status = tc_call(tcss, "DescribeAssetImageScanStatus", {})
        return [t.task_status for t in tasks.data_list], status.Status

    support.poll(all_done, lambda v: v[0] == [100, 100] and v[1] == "END")
    return emu


@pytest.fixture(scope="module")
def spawn_module():
    started = []

    def start(*args, **kwargs):
        emu = support.Emulator(*args, **kwargs)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        assert emu.stop() == 0


@pytest.fixture
def hss(scanned):
    return scanned.hss_client()


@pytest.fixture
def tcss(scanned):
    return scanned.tcss_client()


# ---------------------------------------------------------------------------------------------
# Huawei HSS
# ---------------------------------------------------------------------------------------------


def test_h5_list_image_local(hss):
    response = hss.list_image_local(m.ListImageLocalRequest(
        enterprise_project_id="all_granted_eps", offset=0, limit=200))
    raw = _hw_check(response, "ListImageLocalResponse", "ImageLocalInfo", ["severity_level"])
    assert response.total_num == len(raw["data_list"]) > 60
    statuses = {row.scan_status for row in response.data_list}
    assert statuses == {"success", "failed"}
    assert all(isinstance(row.host_num, int) and row.host_num >= 1 for row in response.data_list)


def test_h6_list_registry_images(hss):
    response = hss.list_registry_images(m.ListRegistryImagesRequest(limit=200))
    raw = _hw_check(response, "ListRegistryImagesResponse", "RegistryImagesInfo",
                    ["shared_status", "instance_name", "instance_id", "instance_url",
                     "severity_level"])
    assert {row["scan_status"] for row in raw["data_list"]} == {
        "success", "download_failed", "image_oversized"}
    assert {row["registry_type"] for row in raw["data_list"]} == {
        "SwrPrivate", "SwrShared", "SwrEnterprise", "Harbor", "Jfrog"}


@pytest.mark.filterwarnings("ignore:Method 'list_swr_image_repository':DeprecationWarning")
@pytest.mark.parametrize("image_type", ["private_image", "shared_image", "instance_image",
                                        "local_image"])
def test_h7_list_swr_image_repository(hss, image_type):
    response = hss.list_swr_image_repository(m.ListSwrImageRepositoryRequest(
        region="cn-north-4", image_type=image_type, limit=200))
    _hw_check(response, "ListSwrImageRepositoryResponse", "PrivateImageRepositoryInfo",
              ["shared_status", "instance_name", "instance_id", "instance_url"])
    assert response.total_num >= 1
    assert {row.image_type for row in response.data_list} == {image_type}


def test_h8_list_image_vulnerabilities_registry(hss):
    images = hss.list_registry_images(m.ListRegistryImagesRequest(limit=200)).data_list
    image = next(i for i in images if i.vul_num >= 4)
    response = hss.list_image_vulnerabilities(m.ListImageVulnerabilitiesRequest(
        image_id=image.image_id, image_type=image.image_type, namespace=image.namespace,
        image_name=image.image_name, tag_name=image.image_version, offset=0, limit=10))
    _hw_check(response, "ListImageVulnerabilitiesResponse", "ImageVulInfo", ["app_path"])
    assert response.total_num == image.vul_num


def _local_findings(hss):
    """{(agent_id, image_id): {vul_id, ...}} of every local row with vulnerabilities: the
    dataset's vulnerabilities of the image (H8 does not serve local images)."""
    catalogue = dict((image["hss_image_id"], set(image["vulnerabilities"]))
                     for image in emu_dataset.builtin()["local_images"])
    rows = hss.list_image_local(m.ListImageLocalRequest(limit=200)).data_list
    found = {}
    for row in rows:
        if row.vul_num:
            assert len(catalogue[row.image_id]) == row.vul_num
            found[(row.agent_id, row.image_id)] = catalogue[row.image_id]
    return found


def test_list_general_image_vuls_local(hss):
    expected = set().union(*_local_findings(hss).values())
    seen = {}
    for vtype in ("linux_vul", "app_vul"):
        response = hss.list_general_image_vuls(m.ListGeneralImageVulsRequest(
            type=vtype, handle_status="unhandled", image_type="local", limit=200))
        raw = _hw_check(response, "ListGeneralImageVulsResponse", "GeneralImageVulsResponseInfo")
        assert response.total_num == len(raw["data_list"])
        for row in response.data_list:
            assert row.type == vtype and row.image_type == "local" and row.image_num >= 1
            assert row.severity_level in ("Critical", "High", "Medium", "Low")
            assert row.cve_list[0].cve_id == row.vul_id and row.max_cvss_score == row.cve_list[0].cvss
            seen[row.vul_id] = row
    assert set(seen) == expected
    # The four-level rating: the local images carry a Critical finding (log4shell), which the
    # older H8 view can only call immediate_repair.
    assert seen["CVE-2021-44228"].severity_level == "Critical"
    assert seen["CVE-2021-44228"].max_cvss_score == 10.0
    critical = hss.list_general_image_vuls(m.ListGeneralImageVulsRequest(
        type="app_vul", handle_status="unhandled", image_type="local", severity_level="Critical",
        limit=200)).data_list
    assert critical and all(r.severity_level == "Critical" for r in critical)
    assert hss.list_general_image_vuls(m.ListGeneralImageVulsRequest(
        type="app_vul", handle_status="handled", image_type="local")).total_num == 0


def test_list_vul_affect_images_local(hss):
    findings = _local_findings(hss)
    vul_id = "CVE-2021-44228"
    response = hss.list_vul_affect_images(m.ListVulAffectImagesRequest(
        is_handled=False, vul_id=vul_id, type="app_vul", image_type="local", limit=200))
    raw = _hw_check(response, "ListVulAffectImagesResponse", "VulAffectImagesResponseInfo")
    assert response.total_num == len(raw["data_list"]) >= 1
    assert {(r.agent_id, r.image_id) for r in response.data_list} == {
        key for key, vulns in findings.items() if vul_id in vulns}
    assert {r.repair_necessity for r in response.data_list} == {"Critical"}
    assert all(r.image_type == "local_image" and int(r.latest_scan_time) > 0
               for r in response.data_list)
    assert hss.list_vul_affect_images(m.ListVulAffectImagesRequest(
        is_handled=False, vul_id=vul_id, type="linux_vul", image_type="local")).total_num == 0
    assert hss.list_vul_affect_images(m.ListVulAffectImagesRequest(
        is_handled=True, vul_id=vul_id, type="app_vul", image_type="local")).total_num == 0


def test_list_vul_affect_image_apps_local(hss):
    vulns = emu_dataset.builtin()["vulnerabilities"]
    (agent_id, image_id), found = next(item for item in sorted(_local_findings(hss).items())
                                       if "CVE-2021-44228" in item[1])
    for vul_id in sorted(found):
        response = hss.list_vul_affect_image_apps(m.ListVulAffectImageAppsRequest(
            image_id=image_id, is_handled=False, image_type="local", vul_id=vul_id, limit=200))
        raw = _hw_check(response, "ListVulAffectImageAppsResponse", "VulAffectImageAppsResponseInfo")
        assert response.total_num == len(raw["data_list"]) == 1
        app = response.data_list[0]
        assert app.app_name == vulns[vul_id]["package"]
        assert [path.app_version for path in app.paths] == [vulns[vul_id]["version"]]
        assert all(path.app_path and path.status == "vul_status_unfix" for path in app.paths)
    # Handled, or a vulnerability the image does not have: no software.
    assert hss.list_vul_affect_image_apps(m.ListVulAffectImageAppsRequest(
        image_id=image_id, is_handled=True, image_type="local", vul_id="CVE-2021-44228")).total_num == 0
    other = next(v for v in sorted(vulns) if v not in found)
    assert hss.list_vul_affect_image_apps(m.ListVulAffectImageAppsRequest(
        image_id=image_id, is_handled=False, image_type="local", vul_id=other)).total_num == 0


def test_findings_apis_on_registry_images(hss):
    registry = hss.list_registry_images(m.ListRegistryImagesRequest(limit=200)).data_list
    image = next(i for i in registry if i.vul_num)
    vulns = hss.list_image_vulnerabilities(m.ListImageVulnerabilitiesRequest(
        image_id=image.image_id, image_type=image.image_type, namespace=image.namespace,
        image_name=image.image_name, tag_name=image.image_version, limit=200)).data_list
    vuln = vulns[0]
    vtype = "app_vul" if vuln.app_path else None
    rows = []
    for kind in ([vtype] if vtype else ["linux_vul", "app_vul"]):
        rows += hss.list_vul_affect_images(m.ListVulAffectImagesRequest(
            is_handled=False, vul_id=vuln.vul_id, type=kind, image_type="registry",
            limit=200)).data_list
    mine = [r for r in rows if r.image_id == image.image_id]
    assert len(mine) == 1 and mine[0].registry_name == image.registry_name
    assert mine[0].organization == image.namespace and mine[0].agent_id == ""


def test_list_host_status(hss):
    response = hss.list_host_status(m.ListHostStatusRequest(limit=200))
    raw = _hw_check(response, "ListHostStatusResponse")
    assert response.total_num == 20
    for row in raw["data_list"]:
        assert {"host_id", "host_name", "private_ip", "agent_id", "agent_status", "os_type",
                "protect_status"} <= set(row)


def test_h1_h2_h3_h4(hss, scanned):
    registry = hss.list_registry_images(m.ListRegistryImagesRequest(
        image_type="private_image", limit=1)).data_list[0]
    response = hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        region="cn-north-4", enterprise_project_id="all_granted_eps",
        global_image_type="registry", body=m.CreateManualImageScanTaskReqInfo(
            scan_scope=2147483647, rate_limit=0, is_all=False,
            image_info=[m.CreateManualImageScanTaskReqInfoImageInfo(
                id=registry.id, image_digest=registry.image_digest,
                namespace=registry.namespace, image_name=registry.image_name,
                image_version=registry.image_version, registry_id=registry.registry_id,
                registry_name=registry.registry_name,
                registry_type=registry.registry_type)])))
    assert isinstance(response, m.CreateManualImageScanTaskResponse)
    assert response.status_code == 200 and json.loads(response.raw_content) == {}

    tasks = hss.list_image_scan_task(m.ListImageScanTaskRequest(
        enterprise_project_id="all_granted_eps", global_image_type="registry",
        type="image_scan", task_type="manual", task_status="scanning", offset=0, limit=10))
    _hw_check(tasks, "ListImageScanTaskResponse", "ImageScanTaskInfo")
    assert tasks.total_num == 1 and tasks.data_list[0].total_num == 1

    stop = hss.stop_image_scan_task(m.StopImageScanTaskRequest(
        region="cn-north-4", enterprise_project_id="all_granted_eps",
        task_id=tasks.data_list[0].task_id))
    assert isinstance(stop, m.StopImageScanTaskResponse) and stop.status_code == 200

    local = hss.list_image_local(m.ListImageLocalRequest(host_name="node-04", limit=10))
    batch = hss.batch_scan_local_image(m.BatchScanLocalImageRequest(
        region="cn-north-4", enterprise_project_id="all_granted_eps",
        body=m.LocalImageBatchScanRequestBody(operate_all=False, image_info_list=[
            m.LocalImageInfo(image_id=row.image_id, image_digest=row.image_digest,
                             image_name=row.image_name, image_version=row.image_version)
            for row in local.data_list])))
    assert isinstance(batch, m.BatchScanLocalImageResponse) and batch.status_code == 200
    stats = scanned.stats()
    assert stats["counters"]["hss.batch_scans"] == 1


# ---------------------------------------------------------------------------------------------
# Tencent TCSS
# ---------------------------------------------------------------------------------------------


def test_t5_describe_asset_image_list(tcss):
    response = _tc_check(tc_call(tcss, "DescribeAssetImageList", {
        "Limit": 100, "Offset": 0, "By": "ScanTime", "Order": "desc"}))
    assert response.TotalCount == len(response.List) == 28
    for image in response.List:
        _tc_check(image)
    assert {i.ScanStatus for i in response.List} == {"scanned", "scanErr"}


def test_t6_describe_asset_image_vul_list(tcss):
    images = tc_call(tcss, "DescribeAssetImageList", {"Limit": 100}).List
    image = max(images, key=lambda i: i.VulCnt)
    response = _tc_check(tc_call(tcss, "DescribeAssetImageVulList", {
        "ImageID": image.ImageID, "Limit": 100, "Offset": 0, "By": "Level", "Order": "-"}))
    assert response.TotalCount == image.VulCnt == len(response.List)
    for vul in response.List:
        _tc_check(vul)
    levels = [v.Level for v in response.List]
    assert levels == sorted(levels, reverse=True)


def test_t7_describe_asset_host_list(tcss):
    response = _tc_check(tc_call(tcss, "DescribeAssetHostList", {"Limit": 100}))
    assert response.TotalCount == 20
    for host in response.List:
        _tc_check(host)
    assert {h.Status for h in response.List} == {"ONLINE", "OFFLINE"}


def test_t8_describe_asset_image_host_list(tcss):
    host = tc_call(tcss, "DescribeAssetHostList", {
        "Filters": [{"Name": "HostName", "Values": ["node-03"], "ExactMatch": True}]}).List[0]
    response = _tc_check(tc_call(tcss, "DescribeAssetImageHostList", {
        "Filters": [{"Name": "HostID", "Values": [host.HostID]}]}))
    assert response.TotalCount == len(response.List) == host.ImageCnt == 5
    for pair in response.List:
        _tc_check(pair)
        assert pair.HostID == host.HostID


def test_t1_t2_t3_t4(tcss):
    images = tc_call(tcss, "DescribeAssetImageList", {"Limit": 2}).List
    created = _tc_check(tc_call(tcss, "CreateAssetImageScanTask", {
        "Images": [i.ImageID for i in images], "ScanVul": True, "ScanVirus": True,
        "ScanRisk": True, "ScanScope": 1, "Timeout": 3600, "IsOneClickScanningTask": True}))
    assert len(created.TaskID) == 24 and int(created.TaskID, 16) >= 0
    status = _tc_check(tc_call(tcss, "DescribeAssetImageScanStatus",
                               {"TaskID": created.TaskID}))
    assert status.ImageTotal == 2 and status.Status == "SCANNING"
    task = _tc_check(tc_call(tcss, "DescribeAssetImageScanTask", {}))
    assert task.TaskID == created.TaskID and task.Status == "SCANNING"
    stop = _tc_check(tc_call(tcss, "ModifyAssetImageScanStop", {"TaskID": created.TaskID}))
    assert stop.Status == "SUCCESS"
    task = _tc_check(tc_call(tcss, "DescribeAssetImageScanTask", {}))
    assert (task.Status, task.SubStatus) == ("END", "Cancel")
