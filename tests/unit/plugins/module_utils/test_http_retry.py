# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The retry policy and the transport, against a scripted ``requests`` adapter (no network).

What is retried (see docs/architecture.md, "Retries"):

| failure                                   | idempotent | not idempotent          |
|-------------------------------------------|------------|-------------------------|
| throttling                                | retried    | retried                 |
| connection refused / DNS / connect timeout| retried    | retried                 |
| 5xx, read timeout, reset, garbled answer  | retried    | ApiError(ambiguous=True)|
| other API errors, certificate failure     | not retried| not retried             |
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import threading

import pytest
import requests

from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import (
    ApiError,
    HttpTransport,
    Outcome,
    RetryPolicy,
    RetryState,
    classify_exception,
    parse_retry_after,
)
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient

PROJECT = "0123456789abcdef0123456789abcdef"


# -- the policy alone --------------------------------------------------------------------------

def test_backoff_is_full_jitter_within_exponential_bounds():
    seeded = random.Random(1234)
    policy = RetryPolicy(retries=8, delay=1.0, max_delay=30.0, rng=seeded.random)
    check = random.Random(1234)
    for attempt in range(8):
        cap = min(30.0, 1.0 * 2 ** attempt)
        sleep = policy.backoff(attempt)
        assert 0 <= sleep <= cap
        assert sleep == pytest.approx(check.random() * cap)
    assert [policy.backoff_cap(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_backoff_bounds_hold_for_many_seeds():
    for seed in range(200):
        policy = RetryPolicy(retries=6, delay=0.5, max_delay=5.0, rng=random.Random(seed).random)
        for attempt in range(10):
            assert 0 <= policy.backoff(attempt) <= min(5.0, 0.5 * 2 ** attempt)


def test_budget_is_the_sum_of_the_caps():
    assert RetryPolicy(retries=5, delay=1.0, max_delay=30.0).budget() == 1 + 2 + 4 + 8 + 16
    assert RetryPolicy(retries=0).budget() == 0


def test_policy_rejects_negative_knobs():
    with pytest.raises(ValueError):
        RetryPolicy(retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(delay=-1)


def test_state_stops_after_the_retries(clock):
    policy = RetryPolicy(retries=3, delay=1.0, max_delay=30.0, rng=lambda: 1.0)
    state = policy.start()
    assert [state.wait() for dummy in range(5)] == [True, True, True, False, False]
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_default_deadline_is_start_plus_budget_plus_attempt_time(clock):
    policy = RetryPolicy(retries=3, delay=1.0, max_delay=30.0)
    assert policy.start(attempt_time=10).deadline == clock.now + 7 + 40


def test_state_never_sleeps_past_the_deadline(clock):
    policy = RetryPolicy(retries=10, delay=1.0, max_delay=30.0, rng=lambda: 1.0)
    state = RetryState(policy, clock.now + 10)
    while state.wait():
        pass
    assert clock.sleeps == [1.0, 2.0, 4.0]  # the next one (8) would end at 15 > 10
    assert clock.now <= state.deadline


def test_retry_after_is_a_minimum_sleep(clock):
    policy = RetryPolicy(retries=3, delay=1.0, max_delay=30.0, rng=lambda: 0.5)
    state = RetryState(policy, clock.now + 100)
    assert state.wait(retry_after=7) is True
    assert state.wait(retry_after=0.1) is True
    assert clock.sleeps == [7, 1.0]


def test_retry_after_beyond_the_deadline_gives_up(clock):
    policy = RetryPolicy(retries=3)
    state = RetryState(policy, clock.now + 60)
    assert state.wait(retry_after=3600) is False
    assert clock.sleeps == []


@pytest.mark.parametrize("value, expected", [
    ("5", 5.0), ("1.5", 1.5), (" 3 ", 3.0), ("-3", 0.0), ("0", 0.0),
    ("soon", None), ("", None), (None, None), ("nan", None), ("inf", None),
])
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = 1735787045.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(42.0)
    past = email.utils.formatdate(now - 42, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


# -- the transport -------------------------------------------------------------------------------

def _policy(clock, retries=3, rng=lambda: 0.5):
    return RetryPolicy(retries=retries, delay=1.0, max_delay=8.0, rng=rng)


def _hss(fakes, clock, script, retries=3, **kwargs):
    session, adapter = fakes.fake_session(script)
    transport = HttpTransport(session=session, retry_policy=_policy(clock, retries))
    client = HssClient(transport, PROJECT, region="cn-north-4", access_key="AK", secret_key="SK", **kwargs)
    return client, adapter, transport


def _tcss(fakes, clock, script, retries=3):
    session, adapter = fakes.fake_session(script)
    transport = HttpTransport(session=session, retry_policy=_policy(clock, retries))
    client = TcssClient(transport, "AKID", "KEY", endpoint="https://tcss.example")
    return client, adapter, transport


OK_HSS = (200, {"total_num": 0, "data_list": []}, {"X-Request-Id": "req-ok"})


def _hss_error(status, code, msg="boom", headers=None):
    return (status, {"error_code": code, "error_msg": msg}, dict({"X-Request-Id": "req-%s" % status}, **(headers or {})))


def _call(client, idempotent):
    if idempotent:
        return client.call("ListImageScanTask", dict(type="image_scan"))
    return client.create_manual_image_scan_task({"is_all": True}, "registry")


# (script item factory, retried when idempotent, retried when not, code, ambiguous when not idempotent)
CASES = {
    "connection_refused": (lambda f: f.connection_refused(), True, True, "NetworkError", False),
    "name_not_resolved": (lambda f: f.name_not_resolved(), True, True, "NetworkError", False),
    "connect_timeout": (lambda f: f.connect_timeout(), True, True, "Timeout", False),
    "read_timeout": (lambda f: f.read_timeout(), True, False, "Timeout", True),
    "remote_disconnected": (lambda f: f.remote_disconnected(), True, False, "NetworkError", True),
    "connection_reset": (lambda f: f.connection_reset(), True, False, "NetworkError", True),
    "chunked_encoding_error": (lambda f: f.chunked_encoding_error(), True, False, "InvalidResponse", True),
    "certificate_failure": (lambda f: f.certificate_failure(), False, False, "NetworkError", False),
    "http_500": (lambda f: _hss_error(500, "HSS.0041"), True, False, "HSS.0041", True),
    "http_503_plain": (lambda f: (503, b"Service Unavailable", {}), True, False, "503", True),
    "http_429": (lambda f: _hss_error(429, "APIGW.0308"), True, True, "APIGW.0308", False),
    "apigw_0308_without_429": (lambda f: _hss_error(403, "APIGW.0308"), True, True, "APIGW.0308", False),
    "http_400": (lambda f: _hss_error(400, "HSS.0001"), False, False, "HSS.0001", False),
    "http_401": (lambda f: _hss_error(401, "APIGW.0301"), False, False, "APIGW.0301", False),
    "garbled_200": (lambda f: (200, b"<html>oops</html>", {}), True, False, "InvalidResponse", True),
}


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "not-idempotent"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_what_is_retried(name, idempotent, fakes, clock):
    make, retried_idem, retried_not, code, ambiguous_not = CASES[name]
    retried = retried_idem if idempotent else retried_not
    client, adapter, transport = _hss(fakes, clock, [make(fakes) for dummy in range(4)], retries=3)
    with pytest.raises(ApiError) as info:
        _call(client, idempotent)
    error = info.value
    assert len(adapter.sent) == (4 if retried else 1)
    assert error.attempts == len(adapter.sent)
    assert error.code == code
    assert error.ambiguous is (ambiguous_not and not idempotent)
    assert error.operation == ("ListImageScanTask" if idempotent else "CreateManualImageScanTask")
    assert error.cloud == "hss"
    assert len(clock.sleeps) == (3 if retried else 0)
    assert transport.stats["attempts"] == len(adapter.sent)


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "not-idempotent"])
@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[1]))
def test_retry_then_success(name, idempotent, fakes, clock):
    make, dummy, retried_not = CASES[name][:3]
    client, adapter, transport = _hss(fakes, clock, [make(fakes), OK_HSS])
    if idempotent or retried_not:
        assert _call(client, idempotent) == OK_HSS[1]
        assert len(adapter.sent) == 2
        assert transport.stats["retries"] == 1
    else:
        with pytest.raises(ApiError) as info:
            _call(client, idempotent)
        assert info.value.ambiguous is True
        assert len(adapter.sent) == 1


def test_unsafe_post_not_repeated_after_read_timeout_reset_or_5xx(fakes, clock):
    for failure in (fakes.read_timeout(), fakes.remote_disconnected(), fakes.connection_reset(),
                    _hss_error(502, "APIG.0201")):
        client, adapter, dummy = _hss(fakes, clock, [failure, OK_HSS])
        with pytest.raises(ApiError) as info:
            client.batch_scan_local_image({"operate_all": True})
        assert info.value.ambiguous is True
        assert "may have been applied" in str(info.value)
        assert len(adapter.sent) == 1


def test_unsafe_post_repeated_after_connection_refused_and_throttling(fakes, clock):
    client, adapter, dummy = _hss(fakes, clock, [
        fakes.connection_refused(), _hss_error(429, "APIGW.0308"), fakes.connect_timeout(), (200, b"", {})])
    assert client.create_manual_image_scan_task({"is_all": True}, "registry") == {}
    assert [r.method for r in adapter.sent] == ["POST"] * 4
    assert len({r.body for r in adapter.sent}) == 1


def test_stop_is_not_idempotent(fakes, clock):
    client, adapter, dummy = _hss(fakes, clock, [fakes.read_timeout(), (200, b"{}", {})])
    with pytest.raises(ApiError) as info:
        client.stop_image_scan_task("task-1")
    assert info.value.ambiguous and info.value.operation == "StopImageScanTask"
    assert len(adapter.sent) == 1


def test_max_attempts_is_retries_plus_one(fakes, clock):
    client, adapter, transport = _hss(fakes, clock, [_hss_error(503, "X")] * 6, retries=5)
    client.transport.retry_policy.max_delay = 1.0
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    assert len(adapter.sent) == 6 and info.value.attempts == 6
    assert len(clock.sleeps) == 5
    assert transport.stats["retries"] == 5


def test_zero_retries_means_one_attempt(fakes, clock):
    client, adapter, dummy = _hss(fakes, clock, [_hss_error(429, "APIGW.0308")], retries=0)
    with pytest.raises(ApiError):
        client.call("ListImageLocal")
    assert len(adapter.sent) == 1 and clock.sleeps == []


def test_retry_after_honoured(fakes, clock):
    throttled = _hss_error(429, "APIGW.0308", headers={"Retry-After": "7"})
    client, adapter, dummy = _hss(fakes, clock, [throttled, OK_HSS])
    client.transport.retry_policy.rng = lambda: 0.0
    client.call("ListImageLocal")
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_honoured(fakes, clock):
    later = email.utils.formatdate(clock.time() + 20, usegmt=True)
    throttled = _hss_error(429, "APIGW.0308", headers={"Retry-After": later})
    client, adapter, dummy = _hss(fakes, clock, [throttled, OK_HSS])
    client.transport.retry_policy.rng = lambda: 0.0
    client.call("ListImageLocal")
    assert 18 <= clock.sleeps[0] <= 20


def test_retry_after_past_the_deadline_fails_at_once(fakes, clock):
    throttled = _hss_error(429, "APIGW.0308", headers={"Retry-After": "3600"})
    client, adapter, dummy = _hss(fakes, clock, [throttled, OK_HSS])
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    assert info.value.code == "APIGW.0308" and info.value.status == 429
    assert clock.sleeps == [] and len(adapter.sent) == 1


def test_every_attempt_is_signed_again(fakes, clock):
    client, adapter, dummy = _hss(fakes, clock, [fakes.connection_refused(), OK_HSS])
    clock.sleep(5.6)  # the retry sleeps 0.5 s: into the next second
    client.call("ListImageLocal", dict(limit=10))
    first, second = adapter.sent
    assert first.headers["X-Sdk-Date"] == "20260101T000005Z"
    assert second.headers["X-Sdk-Date"] == "20260101T000006Z"


def _tc_ok(**fields):
    return (200, {"Response": dict(fields, RequestId="req-ok")}, {"Content-Type": "application/json"})


def _tc_error(code, message="no", request_id="req-err"):
    body = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}
    return (200, body, {"Content-Type": "application/json"})


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
                                  "RequestLimitExceeded.GlobalRegionUinLimitExceeded"])
def test_tcss_throttling_in_http_200_is_retried_even_for_a_trigger(code, fakes, clock):
    client, adapter, transport = _tcss(fakes, clock, [_tc_error(code), _tc_ok(TaskID="t-1")])
    assert client.create_asset_image_scan_task(ScanVul=True)["TaskID"] == "t-1"
    assert len(adapter.sent) == 2
    assert transport.stats["throttled"] == 1


def test_tcss_api_error_is_not_retried(fakes, clock):
    client, adapter, dummy = _tcss(fakes, clock, [_tc_error("FailedOperation.ErrAlreadyScanning", "busy", "rid-9")])
    with pytest.raises(ApiError) as info:
        client.create_asset_image_scan_task(ScanVul=True)
    error = info.value
    assert (error.code, error.message, error.request_id, error.status) == (
        "FailedOperation.ErrAlreadyScanning", "busy", "rid-9", 200)
    assert error.ambiguous is False and len(adapter.sent) == 1
    assert str(error) == "tcss CreateAssetImageScanTask failed: FailedOperation.ErrAlreadyScanning: busy (request id: rid-9)"


def test_tcss_internal_error_is_a_server_error(fakes, clock):
    client, adapter, dummy = _tcss(fakes, clock, [_tc_error("InternalError"), _tc_ok(List=[], TotalCount=0)])
    assert client.call("DescribeAssetImageList", dict(Limit=10))["TotalCount"] == 0
    client, adapter, dummy = _tcss(fakes, clock, [_tc_error("InternalError.Db"), _tc_ok()])
    with pytest.raises(ApiError) as info:
        client.modify_asset_image_scan_stop(TaskID="t")
    assert info.value.ambiguous is True and len(adapter.sent) == 1


def test_tcss_non_200_is_a_gateway_error(fakes, clock):
    client, adapter, dummy = _tcss(fakes, clock, [(502, b"Bad Gateway", {}), _tc_ok(Status="SCANNING")])
    assert client.call("DescribeAssetImageScanStatus", dict(TaskID="t"))["Status"] == "SCANNING"
    client, adapter, dummy = _tcss(fakes, clock, [(502, b"Bad Gateway", {}), _tc_ok(TaskID="x")])
    with pytest.raises(ApiError) as info:
        client.create_asset_image_scan_task(ScanVul=True)
    assert info.value.ambiguous is True and info.value.status == 502 and len(adapter.sent) == 1


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"NoResponse": {}}', b'{"Response": []}',
                                  b'{"Response": {"Error": "x"}}'])
def test_tcss_garbled_answers(body, fakes, clock):
    client, adapter, dummy = _tcss(fakes, clock, [(200, body, {})] * 4)
    with pytest.raises(ApiError) as info:
        client.call("DescribeAssetImageScanTask")
    assert info.value.code == "InvalidResponse" and len(adapter.sent) == 4
    client, adapter, dummy = _tcss(fakes, clock, [(200, body, {})] * 4)
    with pytest.raises(ApiError) as info:
        client.create_asset_image_scan_task()
    assert info.value.ambiguous is True and len(adapter.sent) == 1


def test_call_idempotency_defaults_from_the_action(fakes, clock):
    client, adapter, dummy = _tcss(fakes, clock, [fakes.read_timeout(), _tc_ok()])
    with pytest.raises(ApiError) as info:
        client.call("CreateAssetImageScanTask", {"ScanVul": True})
    assert info.value.ambiguous is True
    client, adapter, dummy = _tcss(fakes, clock, [fakes.read_timeout(), _tc_ok()])
    assert client.call("CreateAssetImageScanTask", {"ScanVul": True}, idempotent=True) == {"RequestId": "req-ok"}


# -- session settings ------------------------------------------------------------------------------

@pytest.fixture
def no_env_tls(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
                 "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("validate_certs, ca_bundle, verify", [
    (True, None, True), (False, None, False), (True, "/etc/ca.pem", "/etc/ca.pem"), (False, "/etc/ca.pem", "/etc/ca.pem"),
])
def test_tls_settings_reach_the_adapter(validate_certs, ca_bundle, verify, fakes, no_env_tls):
    session, adapter = fakes.fake_session([OK_HSS])
    transport = HttpTransport(timeout=12, validate_certs=validate_certs, ca_bundle=ca_bundle, session=session)
    HssClient(transport, PROJECT, region="cn-north-4", access_key="AK", secret_key="SK").call("ListImageLocal")
    assert adapter.send_kwargs[0]["verify"] == verify
    assert adapter.send_kwargs[0]["timeout"] == 12


def test_proxies_and_ca_bundle_come_from_the_environment(fakes, no_env_tls, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/env/ca.pem")
    session, adapter = fakes.fake_session([OK_HSS])
    HssClient(HttpTransport(session=session), PROJECT, region="cn-north-4", access_key="AK",
              secret_key="SK").call("ListImageLocal")
    assert adapter.send_kwargs[0]["proxies"]["https"] == "http://proxy.example:3128"
    assert adapter.send_kwargs[0]["verify"] == "/env/ca.pem"


def test_default_transport_uses_one_requests_session():
    transport = HttpTransport()
    assert isinstance(transport.session, requests.Session)
    assert transport.session.trust_env is True
    assert transport.verify is True and transport.timeout == 30
    assert transport.retry_policy.retries == 5


def test_redirects_are_not_followed(fakes, clock):
    client, adapter, dummy = _hss(fakes, clock, [(302, b"", {"Location": "http://elsewhere/"})] * 4)
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    assert info.value.code == "InvalidResponse"
    assert all(urlpart.url.startswith("https://hss.cn-north-4.myhuaweicloud.com/") for urlpart in adapter.sent)


def test_generic_request_with_custom_classify(fakes, clock):
    session, adapter = fakes.fake_session([(200, b"pong", {})])
    transport = HttpTransport(session=session, retry_policy=_policy(clock))
    data = transport.request("Ping", lambda: ("GET", "http://x/ping", {}, None),
                             lambda r: Outcome(Outcome.OK, data=r.text), idempotent=True, cloud="test")
    assert data == "pong"
    with pytest.raises(ValueError):
        Outcome("maybe")


# -- real exceptions from real sockets (loopback only) -------------------------------------------------

def _server(handler):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, dummy = listener.accept()
            except OSError:
                return
            handler(conn)

    threading.Thread(target=serve, daemon=True).start()
    return listener


def _closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _send_for_real(url, method="POST", timeout=2):
    try:
        requests.Session().request(method, url, data=b"{}", timeout=timeout)
    except requests.exceptions.RequestException as exc:  # what requests really raises
        return exc
    raise AssertionError("no failure")


def test_real_connection_refused_is_safe_to_repeat(no_env_tls):
    failure = classify_exception(_send_for_real("http://127.0.0.1:%d/" % _closed_port()), idempotent=False)
    assert (failure.retryable, failure.ambiguous, failure.code) == (True, False, "NetworkError")


def test_real_disconnect_after_send_is_ambiguous(no_env_tls):
    def close_after_reading(conn):
        conn.recv(65536)
        conn.close()
    listener = _server(close_after_reading)
    try:
        exc = _send_for_real("http://127.0.0.1:%d/" % listener.getsockname()[1])
    finally:
        listener.close()
    failure = classify_exception(exc, idempotent=False)
    assert (failure.retryable, failure.ambiguous) == (False, True)
    assert classify_exception(exc, idempotent=True).retryable is True


def test_real_read_timeout_is_ambiguous(no_env_tls):
    held = []
    listener = _server(held.append)
    try:
        exc = _send_for_real("http://127.0.0.1:%d/" % listener.getsockname()[1], timeout=0.2)
    finally:
        listener.close()
        for conn in held:
            conn.close()
    failure = classify_exception(exc, idempotent=False)
    assert (failure.retryable, failure.ambiguous, failure.code) == (False, True, "Timeout")


def test_stats_count_operations(fakes, clock):
    client, adapter, transport = _hss(fakes, clock, [fakes.connection_refused(), OK_HSS, OK_HSS])
    client.call("ListImageLocal")
    client.call("ListRegistryImages")
    assert transport.stats["calls"] == 2 and transport.stats["attempts"] == 3
    assert transport.stats["operations"] == {"ListImageLocal": 2, "ListRegistryImages": 1}
    assert json.dumps(transport.stats)
