"""Full scan lifecycles through the official SDKs: trigger, progress, completion, per-image
results, vulnerability rows, stop, timeout and the TCSS one-scan-at-a-time rule."""

import re
import time

import pytest
from huaweicloudsdkhss.v5 import model as m
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from emulator_support import poll, registry_image_info, tc_call

FINAL_H6 = ("success", "failed", "download_failed", "image_oversized")


def _non_decreasing(values):
    return all(a <= b for a, b in zip(values, values[1:]))


def _now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------------------------
# HSS
# ---------------------------------------------------------------------------------------------


def _find_task(hss, gtype, since_ms):
    """Module flow: H1 returns no id, so pick the newest H2 row created at or after ``since``."""
    tasks = hss.list_image_scan_task(m.ListImageScanTaskRequest(
        type="image_scan", task_type="manual", global_image_type=gtype, create_time=since_ms,
        limit=10)).data_list
    assert tasks, "no task created since %d" % since_ms
    return max(tasks, key=lambda t: t.begin_time)


def _task(hss, task_id):
    rows = hss.list_image_scan_task(m.ListImageScanTaskRequest(
        type="image_scan", task_id=task_id)).data_list
    assert len(rows) == 1
    return rows[0]


def test_hss_registry_scan_lifecycle(emu, hss):
    rows = {r.id: r for r in hss.list_registry_images(m.ListRegistryImagesRequest(limit=200))
            .data_list}
    assert all(r.scan_status == "unscan" and r.latest_scan_time == 0 for r in rows.values())
    chosen = [rows[1001], rows[1006], rows[1010], rows[1011]]  # ok, ok (SWR EE), 2 failures
    before = _now_ms()
    hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        region="cn-north-4", global_image_type="registry",
        body=m.CreateManualImageScanTaskReqInfo(
            scan_scope=2147483647, is_all=False,
            image_info=[registry_image_info(r) for r in chosen])))
    task = _find_task(hss, "registry", before)
    assert (task.task_type, task.image_type, task.total_num) == ("manual", "registry", 4)
    assert task.begin_time >= before and task.end_time == 0 and task.remain_min >= 1

    seen_statuses = set()

    def fetch():
        for row in hss.list_registry_images(m.ListRegistryImagesRequest(limit=200)).data_list:
            if row.id in (1001, 1006, 1010, 1011):
                seen_statuses.add(row.scan_status)
        return _task(hss, task.task_id)

    history = poll(fetch, lambda t: t.task_status == 100)
    progress = [t.task_status for t in history]
    assert _non_decreasing(progress), progress
    assert any(0 < p < 100 for p in progress), progress
    assert {"waiting_for_scan", "scanning"} & seen_statuses
    done = history[-1]
    assert (done.total_num, done.success_num, done.failed_num) == (4, 2, 2)
    assert done.risky_num == 2 and done.remain_min == 0
    assert done.end_time >= done.begin_time
    assert sorted((f.id, f.failed_reason) for f in done.failed_images) == [
        (1010, "download_failed"), (1011, "image_over_sized")]

    after = {r.id: r for r in hss.list_registry_images(m.ListRegistryImagesRequest(limit=200))
             .data_list}
    assert after[1010].scan_status == "download_failed"
    assert after[1011].scan_status == "image_oversized"
    for rid in (1001, 1006):
        row = after[rid]
        assert row.scan_status == "success" and row.latest_scan_time >= before
        assert row.severity_level == "High" and row.vul_num > 0
        vulns = hss.list_image_vulnerabilities(m.ListImageVulnerabilitiesRequest(
            image_id=row.image_id, image_type=row.image_type, namespace=row.namespace,
            image_name=row.image_name, tag_name=row.image_version, limit=200,
            instance_id=row.instance_id))
        assert vulns.total_num == row.vul_num == len(vulns.data_list)
        assert {v.repair_necessity for v in vulns.data_list} <= {
            "immediate_repair", "delay_repair", "not_needed_repair"}
    assert after[1002].scan_status == "unscan"  # not in the task
    finished = hss.list_image_scan_task(m.ListImageScanTaskRequest(
        type="image_scan", task_status="finished")).data_list
    assert [t.task_id for t in finished] == [task.task_id]


def test_hss_local_scan_covers_every_host_of_an_image(emu, hss):
    nginx = hss.list_image_local(m.ListImageLocalRequest(image_name="nginx", limit=200))
    image = nginx.data_list[0]
    hosts = {r.host_name for r in nginx.data_list}
    assert image.host_num == len(hosts) == nginx.total_num and "node-19" in hosts
    before = _now_ms()
    hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        global_image_type="local", body=m.CreateManualImageScanTaskReqInfo(
            image_info=[m.CreateManualImageScanTaskReqInfoImageInfo(
                image_id=image.image_id, image_name=image.image_name,
                image_version=image.image_version, registry_id="", registry_name="",
                registry_type="Local")])))
    task = _find_task(hss, "local", before)
    assert task.total_num == len(hosts)
    done = poll(lambda: _task(hss, task.task_id), lambda t: t.task_status == 100)[-1]
    assert (done.success_num, done.failed_num) == (len(hosts) - 1, 1)
    assert done.failed_images[0].failed_reason == "failed_to_match_agent"
    rows = {r.host_name: r for r in hss.list_image_local(m.ListImageLocalRequest(
        image_name="nginx", limit=200)).data_list}
    assert rows["node-19"].scan_status == "failed"
    assert rows["node-19"].scan_failed_desc == "failed_to_match_agent"
    for name, row in rows.items():
        if name != "node-19":
            assert row.scan_status == "success" and row.vul_num == 9
            assert row.severity_level == "High" and row.latest_scan_time >= before


def test_hss_batch_scan_has_no_task_row(emu, hss):
    hss.batch_scan_local_image(m.BatchScanLocalImageRequest(
        region="cn-north-4", body=m.LocalImageBatchScanRequestBody(
            operate_all=True, image_name="ml/trainer")))
    assert hss.list_image_scan_task(m.ListImageScanTaskRequest(type="image_scan")).total_num == 0

    def fetch():
        return hss.list_image_local(m.ListImageLocalRequest(host_name="node-07", limit=10))

    history = poll(fetch, lambda r: all(x.scan_status != "scanning" and
                                        x.scan_status != "waiting" for x in r.data_list)
                   and any(x.scan_status == "failed" for x in r.data_list))
    assert any(x.scan_status in ("waiting", "scanning") for r in history for x in r.data_list)
    rows = {r.image_name: r for r in history[-1].data_list}
    assert rows["ml/trainer"].scan_status == "failed"
    assert rows["ml/trainer"].scan_failed_desc == "huge_image"
    assert rows["python"].scan_status == "unscan"
    assert emu.stats()["images_scanned"]["hss"] == 1


def test_hss_stop_of_a_second_task(emu, hss):
    images = hss.list_image_local(m.ListImageLocalRequest(host_name="node-03", limit=10))
    first = [m.CreateManualImageScanTaskReqInfoImageInfo(
        image_id=r.image_id, image_name=r.image_name, image_version=r.image_version,
        registry_id="", registry_name="", registry_type="Local") for r in images.data_list[:1]]
    hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        global_image_type="local", body=m.CreateManualImageScanTaskReqInfo(image_info=first)))
    first_task = _find_task(hss, "local", 0)
    poll(lambda: _task(hss, first_task.task_id), lambda t: t.task_status == 100)

    before = _now_ms()
    hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        global_image_type="local", body=m.CreateManualImageScanTaskReqInfo(is_all=True)))
    second = _find_task(hss, "local", before)
    assert second.task_id != first_task.task_id and 0 <= second.task_status < 100
    hss.stop_image_scan_task(m.StopImageScanTaskRequest(task_id=second.task_id))
    stopped = _task(hss, second.task_id)
    assert stopped.task_status == -1 and stopped.end_time >= stopped.begin_time
    assert stopped.success_num + stopped.failed_num < stopped.total_num
    assert _task(hss, first_task.task_id).task_status == 100
    rows = hss.list_image_local(m.ListImageLocalRequest(limit=200)).data_list
    assert not [r for r in rows if r.scan_status in ("waiting", "scanning")]
    # Images the stopped task had not finished are back to their previous status.
    previously_scanned = {(r.host_name, r.image_id) for r in rows
                          if r.image_id == first[0].image_id}
    for row in rows:
        if (row.host_name, row.image_id) in previously_scanned:
            assert row.scan_status in ("success", "failed")
    assert any(r.scan_status == "unscan" for r in rows)
    # Stopping again is harmless; the task stays stopped.
    hss.stop_image_scan_task(m.StopImageScanTaskRequest(task_id=second.task_id))
    assert _task(hss, second.task_id).task_status == -1
    finished = hss.list_image_scan_task(m.ListImageScanTaskRequest(
        type="image_scan", task_status="finished")).total_num
    assert finished == 2


# ---------------------------------------------------------------------------------------------
# TCSS
# ---------------------------------------------------------------------------------------------

SCAN_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def _images_by_name(tcss):
    return {i.ImageName: i for i in tc_call(tcss, "DescribeAssetImageList", {"Limit": 100}).List}


def test_tcss_scan_lifecycle(emu, tcss):
    images = _images_by_name(tcss)
    assert {i.ScanStatus for i in images.values()} == {"notScan"}
    chosen = [images[n].ImageID for n in ("nginx:1.25", "ml/trainer:2024.1",
                                          "batch/archiver:1.1.0", "busybox:1.36")]
    assert tc_call(tcss, "DescribeAssetImageScanTask", {}).Status == "READY"
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {
        "Images": chosen, "ScanVul": True, "ScanVirus": True, "ScanRisk": True,
        "ScanScope": 1, "Timeout": 3600, "IsOneClickScanningTask": True}).TaskID
    assert re.fullmatch(r"[0-9a-f]{24}", task_id)

    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    assert caught.value.get_code() == "FailedOperation.ErrAlreadyScanning"
    running = tc_call(tcss, "DescribeAssetImageScanTask", {})
    assert (running.TaskID, running.Status) == (task_id, "SCANNING")
    scanning = tc_call(tcss, "DescribeAssetImageList", {
        "Filters": [{"Name": "ScanStatus", "Values": ["scanning"]}]})
    assert 1 <= scanning.TotalCount <= 4

    history = poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task_id}),
                   lambda s: s.Status == "END")
    schedules = [s.Schedule for s in history]
    counts = [s.ImageScanCnt for s in history]
    assert _non_decreasing(schedules) and _non_decreasing(counts), (schedules, counts)
    assert any(0 < s < 100 for s in schedules), schedules
    assert all(s.Status == "SCANNING" for s in history[:-1])
    done = history[-1]
    assert (done.ImageTotal, done.ImageScanCnt, done.Schedule, done.LeftSeconds) == (4, 4, 100, 0)
    assert (done.SuccessCount, done.RiskCount) == (1, 1)  # busybox safe, nginx risky

    task = tc_call(tcss, "DescribeAssetImageScanTask", {})
    assert (task.TaskID, task.Status, task.SubStatus) == (task_id, "END", "Success")
    assert SCAN_TIME.match(task.LastScanTime)

    after = _images_by_name(tcss)
    nginx = after["nginx:1.25"]
    assert nginx.ScanStatus == "scanned" and SCAN_TIME.match(nginx.ScanTime)
    assert (nginx.VulCnt, nginx.CriticalLevelVulCnt, nginx.HighLevelVulCnt,
            nginx.MediumLevelVulCnt, nginx.LowLevelVulCnt) == (9, 1, 4, 2, 2)
    assert after["busybox:1.36"].ScanStatus == "scanned" and after["busybox:1.36"].VulCnt == 0
    assert after["ml/trainer:2024.1"].ScanStatus == "scanErr"
    assert after["ml/trainer:2024.1"].ScanError
    assert after["batch/archiver:1.1.0"].ScanStatus == "scanErr"
    assert after["batch/archiver:1.1.0"].AgentError
    assert after["redis:7.2"].ScanStatus == "notScan"

    vulns = tc_call(tcss, "DescribeAssetImageVulList", {"ImageID": nginx.ImageID, "Limit": 100})
    assert vulns.TotalCount == 9
    levels = {v.CVEID: v.Level for v in vulns.List}
    assert levels["CVE-2023-45853"] == 4 and levels["CVE-2011-3374"] == 1
    for vul in vulns.List:
        assert ("CanBeFixed" in vul.Tag) == bool(vul.FixedVersions)
    critical = tc_call(tcss, "DescribeAssetImageVulList", {
        "ImageID": nginx.ImageID, "Filters": [{"Name": "Level", "Values": ["4"]}]})
    assert [v.CVEID for v in critical.List] == ["CVE-2023-45853"]

    # Once the task has ended a new one may start.
    again = tc_call(tcss, "CreateAssetImageScanTask",
                    {"ScanVul": True, "Images": chosen[:1], "ScanScope": 1})
    assert again.TaskID != task_id
    assert emu.stats()["tasks_created"]["tcss"] == 2


def test_tcss_stop_by_task_id(emu, tcss):
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {
        "ScanVul": True, "ScanScope": 0, "IsOneClickScanningTask": True}).TaskID
    assert tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task_id}).ImageTotal == 28
    assert tc_call(tcss, "ModifyAssetImageScanStop", {"TaskID": task_id}).Status == "SUCCESS"
    status = tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task_id})
    assert status.Status == "END" and status.Schedule < 100 and status.ImageScanCnt < 28
    task = tc_call(tcss, "DescribeAssetImageScanTask", {})
    assert (task.Status, task.SubStatus) == ("END", "Cancel")
    statuses = {i.ScanStatus for i in _images_by_name(tcss).values()}
    assert "scanning" not in statuses and "notScan" in statuses
    # No task runs any more: a new one is accepted.
    tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})


def test_tcss_stop_by_images_and_filters(emu, tcss):
    images = _images_by_name(tcss)
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True}).TaskID
    last = images["api/graphql:0.22.1"].ImageID
    tc_call(tcss, "ModifyAssetImageScanStop", {"Images": [last]})
    tc_call(tcss, "ModifyAssetImageScanStop", {
        "Filters": [{"Name": "ImageName", "Values": ["redis"]}],
        "ExcludeImageIds": images["redis:7.2"].ImageID})
    status = poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task_id}),
                  lambda s: s.Status == "END")[-1]
    assert status.ImageTotal == 28 and status.ImageScanCnt == 27
    after = _images_by_name(tcss)
    assert after["api/graphql:0.22.1"].ScanStatus == "notScan"
    assert after["redis:7.2"].ScanStatus == "scanned"


def test_tcss_task_timeout(emu, tcss):
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {
        "ScanVul": True, "Timeout": 1, "IsOneClickScanningTask": True}).TaskID
    task = poll(lambda: tc_call(tcss, "DescribeAssetImageScanTask", {}),
                lambda t: t.Status == "END", timeout=10)[-1]
    assert (task.TaskID, task.SubStatus) == (task_id, "Timeout")
    status = tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task_id})
    assert status.Status == "END" and 0 < status.ImageScanCnt < status.ImageTotal


def test_tcss_selection_options(emu, tcss):
    images = _images_by_name(tcss)
    exclude = images["nginx:1.25"].ImageID
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {
        "ScanVul": True, "ScanScope": 1,
        "Filters": [{"Name": "ImageName", "Values": ["nginx", "redis"]}],
        "ExcludeImageIds": [exclude]}).TaskID
    assert tc_call(tcss, "DescribeAssetImageScanStatus",
                   {"TaskID": task_id}).ImageTotal == 1
    tc_call(tcss, "ModifyAssetImageScanStop", {"TaskID": task_id})
    running = [i.ImageID for i in images.values() if i.ContainerCnt > 0]
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {
        "ScanVul": True, "ContainerRunning": True}).TaskID
    assert tc_call(tcss, "DescribeAssetImageScanStatus",
                   {"TaskID": task_id}).ImageTotal == len(running) < 28
    tc_call(tcss, "ModifyAssetImageScanStop", {"TaskID": task_id})
    task_id = tc_call(tcss, "CreateAssetImageScanTask", {
        "ScanVul": True, "ScanScope": 2}).TaskID
    recommended = sum(1 for i in images.values() if i.IsSuggest)
    assert tc_call(tcss, "DescribeAssetImageScanStatus",
                   {"TaskID": task_id}).ImageTotal == recommended > 0
