"""Realism profiles and the per-image scan model, through the official SDKs (whose models must
still accept every answer)."""

import datetime
import time

import pytest
from huaweicloudsdkhss.v5 import model as m
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from emulator_support import check_tc_types, poll, registry_image_info, tc_call

REGION = "cn-north-4"
CST = datetime.timezone(datetime.timedelta(hours=8))


def _registry(hss):
    return {r.id: r for r in hss.list_registry_images(m.ListRegistryImagesRequest(limit=200))
            .data_list}


def _h1(hss, rows):
    hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        region=REGION, global_image_type="registry",
        body=m.CreateManualImageScanTaskReqInfo(image_info=[registry_image_info(r) for r in rows])))


def _h2(hss, **kwargs):
    kwargs.setdefault("limit", 200)
    return hss.list_image_scan_task(m.ListImageScanTaskRequest(type="image_scan", **kwargs))


def _tc_images(tcss):
    return tc_call(tcss, "DescribeAssetImageList", {"Limit": 100}).List


# ---------------------------------------------------------------------------------------------
# Command line and admin route
# ---------------------------------------------------------------------------------------------


def test_realism_admin_route_and_reset(spawn):
    emu = spawn("--realism", "lag,skew", "--lag-seconds", "2")
    assert emu.admin("GET", "realism") == {"realism": ["lag", "skew"],
                                           "initial": ["lag", "skew"], "lag_seconds": 2.0}
    assert emu.admin("POST", "realism", {"realism": "all"})["realism"] == [
        "lag", "unordered", "skew", "vocabulary", "licences", "pages", "names"]
    assert emu.admin("POST", "realism", {"realism": ["pages"]})["realism"] == ["pages"]
    response = emu.session.post(emu.url + "/_emulator/realism", json={"realism": "fast"})
    assert response.status_code == 400 and "fast" in response.json()["error"]
    emu.reset()
    assert emu.admin("GET", "realism")["realism"] == ["lag", "skew"]


def test_unknown_profile_is_a_usage_error(spawn):
    with pytest.raises(AssertionError, match="unknown realism profile"):
        spawn("--realism", "lag,fast")


def test_no_profile_by_default(emu):
    assert emu.admin("GET", "realism")["realism"] == []


# ---------------------------------------------------------------------------------------------
# lag
# ---------------------------------------------------------------------------------------------


def test_lag_hides_a_trigger_until_the_lag_passed(spawn):
    emu = spawn("--realism", "lag", "--lag-seconds", "1.5", scan_seconds=0.5)
    hss, tcss = emu.hss_client(), emu.tcss_client()
    row = _registry(hss)[1001]
    start = time.monotonic()
    _h1(hss, [row])
    image = _tc_images(tcss)[0]
    task = tc_call(tcss, "CreateAssetImageScanTask",
                   {"ScanVul": True, "Images": [image.ImageID], "ScanScope": 1})
    early = time.monotonic()
    assert early - start < 1.0
    # Nothing shows yet: no H2 row, T2 does not know the task, statuses and times unchanged.
    assert _h2(hss).total_num == 0
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task.TaskID})
    assert caught.value.get_code() == "ResourceNotFound"
    assert _registry(hss)[1001].scan_status == "unscan"
    again = next(i for i in _tc_images(tcss) if i.ImageID == image.ImageID)
    assert (again.ScanStatus, again.ScanTime) == ("notScan", "")
    # A second trigger meets the (invisible) running task.
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True, "Images": [image.ImageID]})
    assert caught.value.get_code() == "FailedOperation.ErrAlreadyScanning"
    seen = poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task.TaskID})
                if time.monotonic() - start > 1.6 else None,
                lambda s: s is not None and s.Status == "END", timeout=10)
    assert seen[-1].ImageScanCnt == 1
    rows = _h2(hss).data_list
    assert len(rows) == 1 and rows[0].task_status == 100


# ---------------------------------------------------------------------------------------------
# unordered
# ---------------------------------------------------------------------------------------------


def test_unordered_lists(spawn, emu):
    plain_hss, plain_tcss = emu.hss_client(), emu.tcss_client()
    odd = spawn("--realism", "unordered", scan_seconds=0.2)
    hss, tcss = odd.hss_client(), odd.tcss_client()
    rows = _registry(hss)
    for rid in (1001, 1002, 1003):
        _h1(hss, [rows[rid]])
        time.sleep(0.01)
    tasks = _h2(hss).data_list
    assert [t.begin_time for t in tasks] == sorted(t.begin_time for t in tasks)  # oldest first
    assert len(tasks) == 3
    plain = [i.ImageID for i in _tc_images(plain_tcss)]
    shuffled = [i.ImageID for i in _tc_images(tcss)]
    assert shuffled != plain and sorted(shuffled) == sorted(plain)
    assert shuffled == [i.ImageID for i in _tc_images(tcss)]  # stable
    local = [(r.host_id, r.image_id) for r in hss.list_image_local(
        m.ListImageLocalRequest(limit=200)).data_list]
    plain_local = [(r.host_id, r.image_id) for r in plain_hss.list_image_local(
        m.ListImageLocalRequest(limit=200)).data_list]
    assert local != plain_local and sorted(local) == sorted(plain_local)
    pairs = tc_call(tcss, "DescribeAssetImageHostList", {}).List
    plain_pairs = tc_call(plain_tcss, "DescribeAssetImageHostList", {}).List
    assert [(p.ImageID, p.HostID) for p in pairs] != [(p.ImageID, p.HostID) for p in plain_pairs]


# ---------------------------------------------------------------------------------------------
# skew
# ---------------------------------------------------------------------------------------------


def test_skew_runs_the_server_clock_ten_minutes_ahead(spawn):
    emu = spawn("--realism", "skew", "--image-seconds", "0.5", "--scan-parallelism", "1")
    hss, tcss = emu.hss_client(), emu.tcss_client()
    rows = _registry(hss)
    before = time.time()
    _h1(hss, [rows[1001], rows[1002]])
    _h1(hss, [rows[1003]])  # queued behind the first task's images
    tasks = sorted(_h2(hss).data_list, key=lambda t: t.total_num, reverse=True)
    first, queued = tasks
    assert 599 <= first.begin_time / 1000.0 - before <= 605
    assert queued.begin_time == 0 and queued.task_status == 0
    poll(lambda: _h2(hss).data_list, lambda ts: all(t.task_status == 100 for t in ts))
    scanned = _registry(hss)[1001]
    assert 599 <= scanned.latest_scan_time / 1000.0 - before <= 610
    image = _tc_images(tcss)[0]
    task = tc_call(tcss, "CreateAssetImageScanTask",
                   {"ScanVul": True, "Images": [image.ImageID], "ScanScope": 1})
    poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task.TaskID}),
         lambda s: s.Status == "END")
    row = next(i for i in _tc_images(tcss) if i.ImageID == image.ImageID)
    scan_time = datetime.datetime.strptime(row.ScanTime, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    assert 598 <= scan_time.timestamp() - before <= 610


# ---------------------------------------------------------------------------------------------
# vocabulary
# ---------------------------------------------------------------------------------------------


def test_vocabulary(spawn):
    emu = spawn("--realism", "vocabulary", "--image-seconds", "0.25", "--scan-parallelism", "1")
    hss, tcss = emu.hss_client(), emu.tcss_client()
    rows = _registry(hss)
    _h1(hss, [rows[1001], rows[1010]])  # 1010: download_failed
    poll(lambda: _h2(hss).data_list, lambda ts: ts[0].end_time > 0)
    _h1(hss, [rows[1002], rows[1011]])  # 1011: image_oversized
    poll(lambda: _h2(hss).data_list, lambda ts: all(t.end_time > 0 for t in ts))
    by_image = {t.failed_images[0].id: t.task_status for t in _h2(hss).data_list}
    assert by_image == {1010: -3, 1011: -2}
    # TCSS: QUEUING, then RUNNING while images scan; END with Schedule below 100.
    failing = [i.ImageID for i in _tc_images(tcss) if i.ImageName.startswith("legacy/")]
    ok = [i.ImageID for i in _tc_images(tcss)
          if not i.ImageName.startswith(("legacy/", "ml/", "analytics/"))][:2]
    task = tc_call(tcss, "CreateAssetImageScanTask",
                   {"ScanVul": True, "Images": ok + failing, "ScanScope": 1})
    seen = poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task.TaskID}),
                lambda s: s.Status == "END", interval=0.03)
    words = [s.Status for s in seen]
    assert "RUNNING" in words and "SCANNING" not in words
    assert set(words) <= {"QUEUING", "RUNNING", "END"}
    assert seen[-1].Schedule == 66 and seen[-1].ImageScanCnt == 3
    assert not check_tc_types(seen[-1])


# ---------------------------------------------------------------------------------------------
# licences
# ---------------------------------------------------------------------------------------------


def test_licences(spawn):
    emu = spawn("--realism", "licences", scan_seconds=0.3)
    hss, tcss = emu.hss_client(), emu.tcss_client()
    images = _tc_images(tcss)
    unauthorised = [i for i in images if i.IsAuthorized == 0]
    assert 0 < len(unauthorised) < len(images)
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask",
                {"ScanVul": True, "Images": [unauthorised[0].ImageID], "ScanScope": 1})
    assert caught.value.get_code() == "FailedOperation.ErrAlreadyScanning"
    task = tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True, "ScanScope": 0})
    status = tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task.TaskID})
    assert status.ImageTotal == len(images) - len(unauthorised)
    local = hss.list_image_local(m.ListImageLocalRequest(limit=200)).data_list
    blocked = {r.image_id for r in local if r.non_scan_reason}
    assert blocked and len(blocked) < len({r.image_id for r in local})
    registry = _registry(hss)
    unscannable = [r for r in registry.values() if r.scannable is False]
    assert 0 < len(unscannable) < len(registry)
    _h1(hss, unscannable[:1])
    assert _h2(hss).data_list[0].total_num == 0


# ---------------------------------------------------------------------------------------------
# pages
# ---------------------------------------------------------------------------------------------


def test_pages(spawn):
    emu = spawn("--realism", "pages", scan_seconds=0.2)
    hss, tcss = emu.hss_client(), emu.tcss_client()
    answer = tc_call(tcss, "DescribeAssetImageHostList", {})
    assert len(answer.List) == 20 < answer.TotalCount
    first = tc_call(tcss, "DescribeAssetImageHostList", {
        "Filters": [{"Name": "ImageID", "Values": [answer.List[0].ImageID]}]})
    assert first.TotalCount >= len(first.List) >= 1
    rows = _registry(hss)
    for rid in sorted(rows)[:11]:
        _h1(hss, [rows[rid]])
    page1 = _h2(hss, offset=0, limit=10)
    page2 = _h2(hss, offset=10, limit=10)  # someone else's task came in between
    assert (page1.total_num, page2.total_num) == (11, 12)
    ids = [t.task_id for t in page1.data_list + page2.data_list]
    assert len(ids) != len(set(ids))  # offset paging read one row twice
    assert emu.stats()["tasks_created"]["hss"] == 11


def _hss_names(hss, host_name):
    return sorted(h.host_name for h in hss.list_host_status(
        m.ListHostStatusRequest(host_name=host_name, limit=200)).data_list)


def _tc_names(tcss, values, exact):
    return sorted(h.HostName for h in tc_call(tcss, "DescribeAssetHostList", {
        "Limit": 100, "Filters": [{"Name": "HostName", "Values": values, "ExactMatch": exact}]}).List)


def test_names(spawn, emu):
    """By default the name filters match parts of names (HSS; TCSS without ExactMatch), with case;
    under names only the whole name with its case."""
    for server, whole in ((emu, False), (spawn("--realism", "names"), True)):
        hss, tcss = server.hss_client(), server.tcss_client()
        assert _hss_names(hss, "node-04") == ["node-04"]
        assert _hss_names(hss, "NODE-04") == [] and _tc_names(tcss, ["NODE-04"], True) == []
        assert _tc_names(tcss, ["node-04"], True) == ["node-04"]
        if whole:
            assert _hss_names(hss, "node-0") == [] and _tc_names(tcss, ["node-0"], False) == []
        else:
            assert "node-01" in _hss_names(hss, "node-0") and "node-01" in _tc_names(tcss, ["node-0"], False)


# ---------------------------------------------------------------------------------------------
# The per-image scan model
# ---------------------------------------------------------------------------------------------


def test_images_are_scanned_p_at_a_time_across_tasks(spawn):
    emu = spawn("--image-seconds", "0.6", "--scan-parallelism", "2")
    hss = emu.hss_client()
    rows = _registry(hss)
    _h1(hss, [rows[1001], rows[1002], rows[1003]])
    _h1(hss, [rows[1004], rows[1005]])  # shares the two slots with the first task
    poll(lambda: _h2(hss).data_list, lambda ts: all(t.task_status == 100 for t in ts))
    after = _registry(hss)
    times = sorted(after[rid].latest_scan_time for rid in (1001, 1002, 1003, 1004, 1005))
    base = times[0] - 600
    steps = [round((t - base) / 600.0, 1) for t in times]
    assert steps == [1.0, 1.0, 2.0, 2.0, 3.0], times
    # The second task's images waited for the first task's.
    assert min(after[1004].latest_scan_time, after[1005].latest_scan_time) >= \
        max(after[1001].latest_scan_time, after[1002].latest_scan_time)


def test_a_big_task_takes_longer_than_a_small_one(spawn):
    emu = spawn("--image-seconds", "0.1", "--scan-parallelism", "1")
    tcss = emu.tcss_client()
    ids = [i.ImageID for i in _tc_images(tcss)]
    small = tc_call(tcss, "CreateAssetImageScanTask",
                    {"ScanVul": True, "Images": ids[:1], "ScanScope": 1})
    status = tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": small.TaskID})
    assert status.LeftSeconds <= 1
    poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": small.TaskID}),
         lambda s: s.Status == "END")
    big = tc_call(tcss, "CreateAssetImageScanTask",
                  {"ScanVul": True, "Images": ids[1:11], "ScanScope": 1})
    status = tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": big.TaskID})
    assert 1 <= status.LeftSeconds <= 2  # ten images of 0.1 s, one at a time
    seen = poll(lambda: tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": big.TaskID}),
                lambda s: s.Status == "END", interval=0.05)
    counts = [s.ImageScanCnt for s in seen]
    assert counts == sorted(counts) and counts[-1] == 10 and len(set(counts)) >= 3


def test_scan_model_options_are_checked(spawn):
    for args in (("--image-seconds", "0"), ("--image-seconds", "1", "--scan-parallelism", "0")):
        with pytest.raises(AssertionError, match="must"):
            spawn(*args)


def test_collection_client_reads_every_t8_pair_under_pages(spawn, emu):
    """The collection's TCSS client narrows a cut T8 answer until every pair is read."""
    client_mod = pytest.importorskip(
        "ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client")
    http_mod = pytest.importorskip(
        "ansible_collections.cloudsec.image_scan.plugins.module_utils._http")
    ops_mod = pytest.importorskip(
        "ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_ops")
    from emulator_support import TC_ID, TC_KEY  # pylint: disable=import-outside-toplevel
    everything = {(p.ImageID, p.HostID)
                  for p in tc_call(emu.tcss_client(), "DescribeAssetImageHostList", {}).List}
    paged = spawn("--realism", "pages")
    client = client_mod.TcssClient(http_mod.HttpTransport(timeout=10), TC_ID, TC_KEY,
                                   endpoint=paged.url)
    with pytest.raises(http_mod.ApiError) as caught:
        ops_mod.image_host_pairs(client)
    assert caught.value.code == "IncompleteAnswer"
    image_ids = sorted({image for image, _host in everything})
    pairs = ops_mod.image_host_pairs(client, "ImageID", image_ids)
    assert {(p["ImageID"], p["HostID"]) for p in pairs} == everything
    assert len(pairs) == len(everything) > 20
    stats = paged.stats()
    assert stats["requests"]["tcss.DescribeAssetImageHostList"] > 2
    assert not stats["rejected"]


# ---------------------------------------------------------------------------------------------
# The scans view: every unit's state on the real clock
# ---------------------------------------------------------------------------------------------


def test_scans_view_gives_last_successful_scans_on_the_real_clock(spawn):
    emu = spawn("--realism", "skew,licences,lag", "--lag-seconds", "0.5",
                "--image-seconds", "0.1", "--scan-parallelism", "4")
    hss, tcss = emu.hss_client(), emu.tcss_client()
    view = emu.admin("GET", "scans")
    assert view["clock_offset"] == 600.0 and abs(view["now"] - time.time()) < 5
    assert view["realism"] == ["lag", "skew", "licences"]
    local = [u for u in view["hss"] if u["kind"] == "local"]
    assert len(local) == len(emu.dataset()["hss"]["local_images"])
    assert all(u["last_success"] is None and u["status"] == "unscan" for u in view["hss"])
    blocked = {u["image"] for u in view["tcss"] if u["unscannable"]}
    assert "node:20-alpine" in blocked and "nginx:1.25" not in blocked
    # A TCSS scan of one good and one failing image: during the lag the task is pending and
    # nothing is scanned; afterwards only the good image has a last successful scan.
    images = {i.ImageName: i.ImageID for i in _tc_images(tcss)}
    before = time.time()
    task = tc_call(tcss, "CreateAssetImageScanTask", {
        "ScanVul": True, "ScanScope": 1,
        "Images": [images["nginx:1.25"], images["legacy/reporting:0.9"]]})
    tcss_view = {u["image"]: u for u in emu.admin("GET", "scans")["tcss"]}
    assert tcss_view["nginx:1.25"]["pending_task"] == task.TaskID
    assert tcss_view["nginx:1.25"]["last_success"] is None
    poll(lambda: {u["image"]: u for u in emu.admin("GET", "scans")["tcss"]},
         lambda v: v["nginx:1.25"]["pending_task"] is None
         and v["legacy/reporting:0.9"]["pending_task"] is None)
    tcss_view = {u["image"]: u for u in emu.admin("GET", "scans")["tcss"]}
    good, bad = tcss_view["nginx:1.25"], tcss_view["legacy/reporting:0.9"]
    assert before + 0.5 <= good["last_success"] <= time.time()  # real clock, not skewed
    assert good["status"] == "success" and good["last_scan"] == good["last_success"]
    assert bad["status"] == "failed" and bad["last_success"] is None and bad["last_scan"]
    assert bad["failure"]
    assert "node-01" in good["hosts"]
    # The API reports the same scan 10 minutes ahead.
    row = next(i for i in _tc_images(tcss) if i.ImageID == images["nginx:1.25"])
    reported = datetime.datetime.strptime(row.ScanTime, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    assert abs(reported.timestamp() - good["last_success"] - 600) < 2
    # HSS local rows are per host; a reset forgets every scan.
    assert all(u["last_success"] is None for u in emu.admin("GET", "scans")["hss"])
    hss.batch_scan_local_image(m.BatchScanLocalImageRequest(
        region=REGION, body=m.LocalImageBatchScanRequestBody(operate_all=True, image_name="busybox")))
    seen = poll(lambda: [u for u in emu.admin("GET", "scans")["hss"] if u["image"] == "busybox:1.36"],
                lambda rows: all(u["pending_task"] is None for u in rows))
    assert {u["host"] for u in seen[-1]} == {"node-04", "node-08", "node-12", "node-15"}
    assert all(u["last_success"] and u["last_success"] >= before for u in seen[-1])
    emu.reset()
    view = emu.admin("GET", "scans")
    assert all(u["last_success"] is None for u in view["hss"] + view["tcss"])
