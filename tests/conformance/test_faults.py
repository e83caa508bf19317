"""Injected faults, rate limiting, the admin routes and TLS, each observed from the client side."""

import datetime
import ipaddress
import json
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from huaweicloudsdkcore.exceptions.exceptions import (ClientRequestException, ConnectionException,
                                                      ServerResponseException)
from huaweicloudsdkhss.v5 import model as m
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from emulator_support import HSS_PROJECT, poll, tc_call

LOCAL = "/v5/%s/image/local-repositories" % HSS_PROJECT
H1 = "hss.CreateManualImageScanTask"
T1 = "tcss.CreateAssetImageScanTask"


def _h1(hss):
    return hss.create_manual_image_scan_task(m.CreateManualImageScanTaskRequest(
        global_image_type="registry", body=m.CreateManualImageScanTaskReqInfo(is_all=True)))


def _h2(hss):
    return hss.list_image_scan_task(m.ListImageScanTaskRequest(type="image_scan"))


# ---------------------------------------------------------------------------------------------
# Throttling and 5xx
# ---------------------------------------------------------------------------------------------


def test_hss_throttle(emu, hss):
    emu.faults({"seed": 1, "throttle": {"p": 1.0, "times": 1, "ops": ["hss.ListImageLocal"],
                                        "retry_after": 3}})
    response = emu.hss_raw("GET", LOCAL, {"limit": 10})
    assert response.status_code == 429
    assert response.json()["error_code"] == "APIGW.0308"
    assert response.headers["Retry-After"] == "3"
    assert response.headers["X-Request-Id"]
    assert emu.hss_raw("GET", LOCAL, {"limit": 10}).status_code == 200  # times: 1 is spent
    emu.faults({"throttle": {"p": 1.0, "ops": ["hss.List*", H1]}})
    with pytest.raises(ClientRequestException) as caught:
        _h2(hss)
    # For a GET the SDK's urllib3 retry policy turns a 429 into error_code "429" ...
    assert (caught.value.status_code, caught.value.error_code) == (429, "429")
    with pytest.raises(ClientRequestException) as caught:
        _h1(hss)
    # ... while a POST surfaces the gateway's own code.
    assert (caught.value.status_code, caught.value.error_code) == (429, "APIGW.0308")
    tc_call(emu.tcss_client(), "DescribeAssetImageList", {})  # other operations unaffected
    assert emu.stats()["faults"]["throttle"] == {"hss.ListImageLocal": 1,
                                                 "hss.ListImageScanTask": 1, H1: 1}


def test_tcss_throttle(emu, tcss):
    emu.faults({"throttle": {"p": 1.0, "times": 1, "ops": [T1]}})
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    assert caught.value.get_code() == "RequestLimitExceeded"
    assert emu.stats()["tasks_created"]["tcss"] == 0
    tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    assert emu.stats()["tasks_created"]["tcss"] == 1


@pytest.mark.parametrize("status", [500, 503])
def test_hss_server_error(emu, hss, status):
    emu.faults({"server_error": {"p": 1.0, "times": 1, "ops": [H1], "status": status}})
    with pytest.raises(ServerResponseException) as caught:
        _h1(hss)
    assert caught.value.status_code == status and caught.value.error_code
    assert emu.stats()["tasks_created"]["hss"] == 0


def test_tcss_server_error_is_a_gateway_5xx(emu, tcss):
    emu.faults({"server_error": {"p": 1.0, "ops": ["tcss.DescribeAssetImageList"]}})
    response = emu.tc_raw("DescribeAssetImageList", {})
    assert response.status_code in (502, 503)
    assert response.headers["Content-Type"] == "text/html"
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "DescribeAssetImageList", {})
    assert caught.value.get_code() == "ServerNetworkError"
    assert emu.stats()["faults"]["server_error"]["tcss.DescribeAssetImageList"] == 2


# ---------------------------------------------------------------------------------------------
# Latency, resets, garbled answers
# ---------------------------------------------------------------------------------------------


def test_latency(emu, tcss):
    emu.faults({"latency": {"p": 1.0, "seconds": 0.4, "ops": ["tcss.DescribeAssetHostList"]}})
    started = time.monotonic()
    assert tc_call(tcss, "DescribeAssetHostList", {}).TotalCount == 20
    assert time.monotonic() - started >= 0.4
    assert emu.stats()["faults"]["latency"] == {"tcss.DescribeAssetHostList": 1}


def test_hss_reset_before_apply(emu, hss):
    emu.faults({"reset_before": {"p": 1.0, "times": 1, "ops": [H1]}})
    with pytest.raises(ConnectionException):
        _h1(hss)
    stats = emu.stats()
    assert stats["tasks_created"]["hss"] == 0
    assert stats["faults"]["reset_before"] == {H1: 1}
    assert stats["requests"][H1] == 1
    assert _h2(hss).total_num == 0
    _h1(hss)  # the fault is spent
    assert _h2(hss).total_num == 1


def test_hss_reset_after_apply(emu, hss):
    emu.faults({"seed": 1, "reset_after": {"p": 1.0, "times": 1, "ops": [H1]}})
    with pytest.raises(ConnectionException):
        _h1(hss)
    assert emu.stats()["tasks_created"]["hss"] == 1
    tasks = _h2(hss)
    assert tasks.total_num == 1 and tasks.data_list[0].total_num == 12


def test_raw_resets_are_connection_errors(emu):
    emu.faults({"reset_before": {"p": 1.0, "times": 1, "ops": ["hss.ListImageLocal"]},
                "reset_after": {"p": 1.0, "times": 1, "ops": ["hss.ListImageLocal"]}})
    for _attempt in range(2):
        with pytest.raises(requests.exceptions.ConnectionError):
            emu.hss_raw("GET", LOCAL, {"limit": 10})
    assert emu.hss_raw("GET", LOCAL, {"limit": 10}).status_code == 200


def test_tcss_reset_after_apply_leaves_a_running_task(emu, tcss):
    emu.faults({"reset_after": {"p": 1.0, "times": 1, "ops": [T1]}})
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    assert caught.value.get_code() == "ClientNetworkError"
    assert tc_call(tcss, "DescribeAssetImageScanStatus", {}).Status == "SCANNING"
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    assert caught.value.get_code() == "FailedOperation.ErrAlreadyScanning"


def test_tcss_reset_before_apply(emu, tcss):
    emu.faults({"reset_before": {"p": 1.0, "times": 1, "ops": [T1]}})
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    assert caught.value.get_code() == "ClientNetworkError"
    assert emu.stats()["tasks_created"]["tcss"] == 0
    assert tc_call(tcss, "DescribeAssetImageScanStatus", {}).Status == "READY"


def test_garbled_answers(emu, tcss):
    emu.faults({"garbled": {"p": 1.0, "ops": ["hss.ListImageLocal",
                                              "tcss.DescribeAssetImageList"]}})
    response = emu.hss_raw("GET", LOCAL, {"limit": 10})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    response = emu.tc_raw("DescribeAssetImageList", {})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "DescribeAssetImageList", {})
    assert caught.value.get_code() == "JSONDecodeError"
    assert emu.stats()["faults"]["garbled"]["tcss.DescribeAssetImageList"] == 2


def test_probabilities_are_seeded(emu):
    def pattern():
        emu.faults({"seed": 42, "throttle": {"p": 0.5, "ops": ["hss.ListImageLocal"]}})
        return [emu.hss_raw("GET", LOCAL, {"limit": 10}).status_code for _n in range(30)]

    first = pattern()
    assert set(first) == {200, 429}
    assert pattern() == first


def test_fault_spec_is_validated(emu):
    for spec in ({"throttle": 2}, {"explode": 1}, {"latency": {"p": 1, "colour": 1}}):
        response = emu.session.post(emu.url + "/_emulator/faults", json=spec)
        assert response.status_code == 400 and response.json()["error"]


@pytest.mark.parametrize("as_file", [False, True])
def test_faults_from_the_command_line(spawn, tmp_path, as_file):
    spec = json.dumps({"seed": 3, "server_error": {"p": 1, "times": 1, "status": 503,
                                                   "ops": ["hss.ListHostStatus"]}})
    if as_file:
        path = tmp_path / "faults.json"
        path.write_text(spec)
        spec = str(path)
    emu = spawn("--faults", spec)
    hss = emu.hss_client()
    with pytest.raises(ServerResponseException) as caught:
        hss.list_host_status(m.ListHostStatusRequest())
    assert caught.value.status_code == 503
    assert hss.list_host_status(m.ListHostStatusRequest()).total_num == 20
    emu.reset()  # back to the command-line plan, counters included
    with pytest.raises(ServerResponseException):
        hss.list_host_status(m.ListHostStatusRequest())


# ---------------------------------------------------------------------------------------------
# Rate limit
# ---------------------------------------------------------------------------------------------


def _burst(call, count):
    started = time.monotonic()
    results = [call() for _n in range(count)]
    return results, time.monotonic() - started


def test_rate_limit_per_cloud(spawn):
    rate = 4
    emu = spawn("--rate-limit", str(rate))
    codes, elapsed = _burst(lambda: emu.hss_raw("GET", LOCAL, {"limit": 10}).status_code, 12)
    # A full bucket lets `rate` requests through at once, then `rate` per second.
    assert rate <= codes.count(200) <= rate + int(elapsed * rate) + 1, (codes, elapsed)
    assert codes.count(429) >= 1 and set(codes) == {200, 429}
    # TCSS has its own bucket, untouched by the HSS burst.
    errors, elapsed = _burst(lambda: emu.tc_raw("DescribeAssetImageList", {}).json()
                             ["Response"].get("Error", {}).get("Code"), 12)
    assert errors[:rate] == [None] * rate
    assert errors.count("RequestLimitExceeded") >= 12 - rate - int(elapsed * rate) - 1
    assert "RequestLimitExceeded" in errors
    stats = emu.stats()["faults"]["rate_limit"]
    assert stats["hss.ListImageLocal"] == codes.count(429)
    # Tokens come back over time.
    poll(lambda: emu.hss_raw("GET", LOCAL, {"limit": 10}).status_code, lambda c: c == 200,
         timeout=5)


# ---------------------------------------------------------------------------------------------
# Admin routes
# ---------------------------------------------------------------------------------------------


def test_admin_reset(emu, hss, tcss):
    emu.faults({"latency": {"p": 1.0, "seconds": 0.01}})
    _h1(hss)
    tc_call(tcss, "CreateAssetImageScanTask", {"ScanVul": True})
    stats = emu.stats()
    assert stats["tasks_created"] == {"hss": 1, "tcss": 1}
    assert stats["requests"][H1] == 1 and stats["requests"][T1] == 1
    emu.reset()
    stats = emu.stats()
    assert stats["tasks_created"] == {"hss": 0, "tcss": 0}
    assert stats["requests"] == {} and stats["faults"] == {}
    assert _h2(hss).total_num == 0
    data = emu.dataset()
    assert {r["scan_status"] for r in data["hss"]["registry_images"]} == {"unscan"}
    assert {i["ScanStatus"] for i in data["tcss"]["images"]} == {"notScan"}
    assert emu.stats()["faults"] == {}  # the runtime fault plan was dropped too


def test_stats_count_every_operation(emu, hss, tcss):
    _h2(hss)
    _h2(hss)
    emu.hss_raw("GET", LOCAL, {"limit": 1})  # rejected: limit below 10
    tc_call(tcss, "DescribeAssetImageScanTask", {})
    stats = emu.stats()
    assert stats["requests"] == {"hss.ListImageScanTask": 2, "hss.ListImageLocal": 1,
                                 "tcss.DescribeAssetImageScanTask": 1}
    assert stats["rejected"] == {"hss.ListImageLocal": {"HSS.0001": 1}}
    assert stats["images_scanned"] == {"hss": 0, "tcss": 0}


def test_unknown_admin_route(emu):
    assert emu.session.get(emu.url + "/_emulator/nothing").status_code == 404


# ---------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 / localhost."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls(spawn, certificate):
    cert, key = certificate
    emu = spawn("--tls-cert", cert, "--tls-key", key)
    assert emu.first_line.startswith("listening on https://127.0.0.1:")
    response = requests.get(emu.url + "/_emulator/stats", verify=cert, timeout=10)
    assert response.status_code == 200 and "requests" in response.json()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu.url + "/_emulator/stats", timeout=10)  # not a trusted certificate
    emu.session.verify = cert
    assert emu.hss_raw("GET", LOCAL, {"limit": 10}).status_code == 200
    assert "Error" not in emu.tc_raw("DescribeAssetImageList", {}).json()["Response"]
    hss = emu.hss_client(verify=cert)
    assert hss.list_host_status(m.ListHostStatusRequest()).total_num == 20
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://%s/_emulator/stats" % emu.netloc, timeout=10)
