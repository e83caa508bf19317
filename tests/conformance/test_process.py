"""The command line: start-up line, signals, HTTP/1.1 keep-alive, datasets from files and large
generated datasets."""

import http.client
import json
import signal
import subprocess
import sys
import time

import pytest
from huaweicloudsdkhss.v5 import model as m

import emulator_support as support
from emulator_support import SERVE, tc_call


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly(sig):
    emu = support.Emulator()
    assert emu.first_line == "listening on http://127.0.0.1:%d" % emu.port
    assert emu.stats()["requests"] == {}
    assert emu.stop(sig) == 0


def test_keep_alive(emu):
    connection = http.client.HTTPConnection(emu.host, emu.port, timeout=10)
    for _attempt in range(3):
        connection.request("GET", "/_emulator/stats")
        response = connection.getresponse()
        assert response.status == 200 and response.version == 11
        json.loads(response.read())
    sock = connection.sock
    connection.request("GET", "/_emulator/stats")
    connection.getresponse().read()
    assert connection.sock is sock  # the same TCP connection served every request
    connection.close()


def _run(*args, timeout=60):
    return subprocess.run([sys.executable, SERVE] + list(args), capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_missing_credentials_are_a_usage_error():
    result = _run("--port", "0")
    assert result.returncode == 2
    assert "--hss-ak" in result.stderr and "--tcss-secret-key" in result.stderr


def test_dump_and_load_a_dataset(spawn, tmp_path):
    result = _run("--dump-data")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["version"] == 1 and len(data["hosts"]) == 20
    # A smaller world: two hosts, one of them only enrolled in TCSS, an image that now fails.
    data["hosts"] = [data["hosts"][0], dict(data["hosts"][1])]
    del data["hosts"][1]["hss"]
    nginx = next(i for i in data["local_images"] if i["key"] == "nginx:1.25")
    nginx["outcome"] = "failed"
    nginx["failure_reason"] = "docker_offline"
    path = tmp_path / "small.json"
    path.write_text(json.dumps(data))
    emu = spawn("--data", str(path), scan_seconds=0.3)
    hss = emu.hss_client()
    assert hss.list_host_status(m.ListHostStatusRequest()).total_num == 1
    tcss = emu.tcss_client()
    assert tc_call(tcss, "DescribeAssetHostList", {}).TotalCount == 2
    hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        global_image_type="local", body=m.CreateManualImageScanTaskReqInfo(
            is_all=True, query_info=m.CreateManualImageScanTaskReqInfoQueryInfo(
                image_name="nginx"))))
    rows = support.poll(lambda: hss.list_image_local(m.ListImageLocalRequest(
        image_name="nginx")).data_list, lambda r: r[0].scan_status == "failed")[-1]
    assert rows[0].scan_failed_desc == "docker_offline" and rows[0].host_num == 1


def test_a_broken_dataset_is_refused(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"hosts": [{"name": "n1", "ip": "10.0.0.1",
                                           "images": ["missing:1"]}]}))
    result = _run("--data", str(path), "--dump-data")
    assert result.returncode == 2 and "missing:1" in result.stderr


def test_large_generated_dataset(spawn):
    started = time.monotonic()
    emu = spawn("--generate-hosts", "5000", "--images-per-host", "10", timeout=30)
    assert time.monotonic() - started < 15
    hss = emu.hss_client()
    assert hss.list_image_local(m.ListImageLocalRequest(limit=10)).total_num == 50000
    assert hss.list_image_local(m.ListImageLocalRequest(
        host_name="node-4711", limit=10)).total_num == 10
    assert hss.list_host_status(m.ListHostStatusRequest(
        agent_status="offline")).total_num == 250
    assert tc_call(emu.tcss_client(), "DescribeAssetHostList", {}).TotalCount == 5000
