# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Errors carry code, message and request id, and never a credential.

Every credential field holds a secret-shaped value; every error path is triggered (HTTP
errors, network failures, unreadable answers, a server that echoes the request headers back,
missing or invalid settings through the module base classes). No secret may appear in a
message, ``to_dict()``, ``repr``, a formatted traceback, or a module's JSON output.
"""

from __future__ import annotations

import json
import traceback

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_module, _tcss_module
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError, HttpTransport, RetryPolicy
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient

HSS_SECRETS = {
    "access_key": "SECRETSECRETHWAK0001",
    "secret_key": "SECRETSECRETHWSK0002",
    "security_token": "SECRETSECRETHWTOKEN0003",
    "auth_token": "SECRETSECRETHWIAM0004",
}
TCSS_SECRETS = {
    "secret_id": "SECRETSECRETTCID0005",
    "secret_key": "SECRETSECRETTCKEY0006",
    "session_token": "SECRETSECRETTCTOKEN0007",
}
ALL_SECRETS = list(HSS_SECRETS.values()) + list(TCSS_SECRETS.values())


def assert_clean(text):
    for secret in ALL_SECRETS:
        assert secret not in text, "a credential leaked: %s" % text
    assert "SECRETSECRET" not in text


def assert_error_clean(error):
    assert isinstance(error, ApiError)
    assert error.__cause__ is None and error.__context__ is None
    assert_clean(str(error))
    assert_clean(repr(error))
    assert_clean(json.dumps(error.to_dict()))
    assert_clean(repr(error.args))
    assert_clean("".join(traceback.format_exception(type(error), error, error.__traceback__)))


def _echo(status, headers_in_body=True):
    """A server that puts the request's headers into its error message."""
    def answer(request):
        echoed = "; ".join("%s=%s" % item for item in request.headers.items())
        body = {"error_code": "APIGW.0301", "error_msg": "bad signature for " + echoed} if headers_in_body else echoed
        return (status, body, {"X-Request-Id": "rid-echo"})
    return answer


def _tc_echo(request):
    echoed = "; ".join("%s=%s" % item for item in request.headers.items())
    body = {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": echoed}, "RequestId": "r"}}
    return (200, body, {})


def _hss_client(fakes, script, token_only=False):
    session, adapter = fakes.fake_session(script)
    transport = HttpTransport(session=session, retry_policy=RetryPolicy(retries=0))
    secrets = dict(HSS_SECRETS)
    if token_only:
        secrets.pop("access_key")
        secrets.pop("secret_key")
    return HssClient(transport, "p1", region="cn-north-4", **secrets), adapter


def _tcss_client(fakes, script):
    session, adapter = fakes.fake_session(script)
    transport = HttpTransport(session=session, retry_policy=RetryPolicy(retries=0))
    return TcssClient(transport, session_token=TCSS_SECRETS["session_token"], region="ap-guangzhou",
                      secret_id=TCSS_SECRETS["secret_id"], secret_key=TCSS_SECRETS["secret_key"]), adapter


HTTP_FAILURES = [
    (400, {"error_code": "HSS.0001", "error_msg": "invalid parameter"}, {"X-Request-Id": "rid-400"}),
    (401, {"error_code": "APIGW.0301", "error_msg": "signature failed"}, {"X-Request-Id": "rid-401"}),
    (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}, {"X-Request-Id": "rid-429"}),
    (500, {"error_code": "HSS.0041", "error_msg": "server"}, {"X-Request-Id": "rid-500"}),
    (503, b"<html>unavailable</html>", {}),
    (200, b"garbled", {}),
]


@pytest.mark.parametrize("token_only", [False, True], ids=["aksk", "iam-token"])
@pytest.mark.parametrize("answer", HTTP_FAILURES, ids=lambda a: str(a[0]))
def test_hss_http_errors_carry_fields_and_no_secret(answer, token_only, fakes):
    client, adapter = _hss_client(fakes, [answer], token_only)
    with pytest.raises(ApiError) as info:
        client.create_manual_image_scan_task({"is_all": True}, "registry")
    error = info.value
    assert_error_clean(error)
    assert error.status == answer[0] and error.code
    if isinstance(answer[1], dict):
        assert (error.code, error.message) == (answer[1]["error_code"], answer[1]["error_msg"])
        assert error.request_id == answer[2]["X-Request-Id"]
        assert error.code in str(error) and error.request_id in str(error)
    # the secrets really were on the wire, so the test would see a leak
    sent = "".join("%s%s" % item for item in adapter.sent[0].headers.items())
    assert (HSS_SECRETS["auth_token"] in sent) if token_only else (HSS_SECRETS["access_key"] in sent)


@pytest.mark.parametrize("token_only", [False, True], ids=["aksk", "iam-token"])
@pytest.mark.parametrize("status", [401, 500])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_hss_server_echoing_the_request_is_redacted(status, as_json, token_only, fakes):
    client, dummy = _hss_client(fakes, [_echo(status, as_json)], token_only)
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    assert_error_clean(info.value)
    assert "********" in info.value.message


@pytest.mark.parametrize("failure", ["connection_refused", "name_not_resolved", "connect_timeout", "read_timeout",
                                     "remote_disconnected", "connection_reset", "certificate_failure",
                                     "chunked_encoding_error"])
def test_network_errors_carry_no_secret(failure, fakes):
    client, dummy = _hss_client(fakes, [fakes.failures[failure]()])
    with pytest.raises(ApiError) as info:
        client.batch_scan_local_image({"operate_all": True})
    assert_error_clean(info.value)
    assert info.value.code in ("NetworkError", "Timeout", "InvalidResponse")
    client, dummy = _tcss_client(fakes, [fakes.failures[failure]()])
    with pytest.raises(ApiError) as info:
        client.create_asset_image_scan_task(ScanVul=True)
    assert_error_clean(info.value)


@pytest.mark.parametrize("answer", [
    (200, {"Response": {"Error": {"Code": "AuthFailure.SecretIdNotFound", "Message": "unknown"}, "RequestId": "r1"}}, {}),
    (200, {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "slow"}, "RequestId": "r2"}}, {}),
    (502, b"bad gateway", {}),
    (200, b"garbled", {}),
], ids=["api-error", "throttled", "gateway", "garbled"])
def test_tcss_errors_carry_fields_and_no_secret(answer, fakes):
    client, dummy = _tcss_client(fakes, [answer])
    with pytest.raises(ApiError) as info:
        client.call("DescribeAssetImageList", dict(Limit=10))
    assert_error_clean(info.value)
    if isinstance(answer[1], dict):
        error = answer[1]["Response"]["Error"]
        assert (info.value.code, info.value.message, info.value.request_id) == (
            error["Code"], error["Message"], answer[1]["Response"]["RequestId"])


def test_tcss_server_echoing_the_request_is_redacted(fakes):
    client, dummy = _tcss_client(fakes, [_tc_echo])
    with pytest.raises(ApiError) as info:
        client.call("DescribeAssetImageScanTask")
    assert_error_clean(info.value)
    assert "********" in info.value.message


def test_client_reprs_carry_no_secret(fakes):
    hss, dummy = _hss_client(fakes, [])
    tcss, dummy = _tcss_client(fakes, [])
    assert_clean(repr(hss) + repr(tcss) + str(hss) + str(tcss))


# -- through the module base classes -------------------------------------------------------------------

def _run_module(cls, args, capsys, action=None):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module = cls(argument_spec={})
            action(module)
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK",
                 "HUAWEICLOUD_SDK_SECURITY_TOKEN", "HUAWEICLOUD_SDK_AUTH_TOKEN", "HUAWEICLOUD_SDK_PROJECT_ID",
                 "HUAWEICLOUD_SDK_REGION", "HUAWEICLOUD_SDK_ENDPOINT", "TENCENTCLOUD_SECRET_ID",
                 "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION", "TENCENTCLOUD_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("drop", ["project_id", "region", "secret_key", "access_key"])
def test_missing_settings_message_has_no_secret(drop, capsys):
    args = dict(HSS_SECRETS, project_id="p1", region="cn-north-4")
    args.pop(drop)
    if drop in ("secret_key", "access_key"):
        args.pop("auth_token")
    out = _run_module(_hss_module.HssModule, args, capsys)
    assert_clean(out)
    assert json.loads(out)["msg"].startswith("Missing Huawei Cloud HSS settings")


def test_missing_tcss_settings_from_environment_has_no_secret(capsys, monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", TCSS_SECRETS["secret_key"])
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", TCSS_SECRETS["session_token"])
    out = _run_module(_tcss_module.TcssModule, {}, capsys)
    assert_clean(out)
    assert "secret_id" in json.loads(out)["msg"]


def test_invalid_endpoint_with_credentials_in_it(capsys):
    args = dict(HSS_SECRETS, project_id="p1", endpoint="https://user:%s@hss.example.com" % HSS_SECRETS["secret_key"])
    out = _run_module(_hss_module.HssModule, args, capsys, action=lambda m: m.client)
    assert_clean(out)
    assert "user information" in json.loads(out)["msg"]


@pytest.mark.parametrize("cls, args, call, script", [
    (_hss_module.HssModule, dict(HSS_SECRETS, project_id="p1", region="cn-north-4"),
     lambda c: c.call("ListImageLocal"), [_echo(401)]),
    (_hss_module.HssModule, dict(HSS_SECRETS, project_id="p1", region="cn-north-4"),
     lambda c: c.stop_image_scan_task("t"), ["read_timeout"]),
    (_tcss_module.TcssModule, dict(TCSS_SECRETS), lambda c: c.call("DescribeAssetImageScanTask"), [_tc_echo]),
    (_tcss_module.TcssModule, dict(TCSS_SECRETS), lambda c: c.create_asset_image_scan_task(), ["connection_reset"]),
], ids=["hss-echo", "hss-timeout", "tcss-echo", "tcss-reset"])
def test_fail_api_error_output_has_no_secret(cls, args, call, script, capsys, fakes):
    script = [fakes.failures[item]() if isinstance(item, str) else item for item in script]

    def act(module):
        session, dummy = fakes.fake_session(script)
        module.transport.session = session
        module.execute(lambda: call(module.client), dict(changed=False))

    out = _run_module(cls, dict(args, backoff_retries=0), capsys, action=act)
    assert_clean(out)
    result = json.loads(out)
    assert result["failed"] is True and result["error"]["operation"]
    assert result["msg"].startswith(result["error"]["cloud"] + " ")
