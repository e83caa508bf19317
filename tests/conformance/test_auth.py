"""Signatures: SDK-signed requests pass; one changed byte, another key or an old timestamp fail
with the cloud's own error."""

import datetime
import json
import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkhss.v5 import model as m
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import emulator_support as support
from emulator_support import HSS_PROJECT, tc_call

LOCAL = "/v5/%s/image/local-repositories" % HSS_PROJECT
TASKS = "/v5/%s/image/image-scan/tasks" % HSS_PROJECT
H1_BODY = {"scan_scope": 2147483647, "is_all": True}


def _sdk_date(minutes_ago):
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes_ago)
    return when.strftime("%Y%m%dT%H%M%SZ")


def _flip(data, index):
    """``data`` with the byte at ``index`` changed to another printable byte."""
    raw = bytearray(data.encode("utf-8") if isinstance(data, str) else data)
    raw[index] = ord("1") if raw[index] != ord("1") else ord("2")
    return bytes(raw)


def _hss_denied(response):
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_code"] == "APIGW.0301"
    assert response.headers.get("X-Request-Id")
    return body["error_msg"]


def _tc_error(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["Response"]
    assert body["RequestId"]
    return body["Error"]["Code"]


# ---------------------------------------------------------------------------------------------
# HSS: SDK-HMAC-SHA256
# ---------------------------------------------------------------------------------------------


def test_hss_sdk_signed_requests_are_accepted(emu):
    response = emu.hss_raw("GET", LOCAL, {"limit": 10, "offset": 0,
                                          "enterprise_project_id": "all_granted_eps"})
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-Id"]
    assert response.json()["total_num"] > 0
    response = emu.hss_raw("POST", TASKS, {"global_image_type": "registry"}, H1_BODY,
                           extra_headers={"region": "cn-north-4"})
    assert response.status_code == 200, response.text
    assert emu.stats()["tasks_created"]["hss"] == 1


def test_hss_changed_body_byte_is_rejected_and_not_applied(emu):
    url, headers, body = emu.hss_signed("POST", TASKS, {"global_image_type": "registry"},
                                        H1_BODY)
    index = body.index(b"2147483647")
    response = emu.session.post(url, headers=headers, data=_flip(body, index + 3))
    assert "signature" in _hss_denied(response)
    stats = emu.stats()
    assert stats["tasks_created"]["hss"] == 0
    assert stats["rejected"]["hss.CreateManualImageScanTask"] == {"APIGW.0301": 1}


def test_hss_changed_query_byte_is_rejected(emu):
    url, headers, _body = emu.hss_signed("GET", LOCAL, {"limit": 10, "host_name": "node-01"})
    assert "limit=10" in url
    response = emu.session.get(url.replace("limit=10", "limit=11"), headers=headers)
    _hss_denied(response)
    response = emu.session.get(url.replace("node-01", "node-02"), headers=headers)
    _hss_denied(response)


def test_hss_changed_path_byte_is_rejected(emu):
    image = emu.dataset()["hss"]["registry_images"][0]
    image_id = image["image_id"]
    path = "/v5/%s/image/%s/vulnerabilities" % (HSS_PROJECT, image_id)
    url, headers, _body = emu.hss_signed("GET", path, {
        "limit": 10, "image_type": image["image_type"], "namespace": image["namespace"],
        "image_name": image["image_name"], "tag_name": image["image_version"]})
    assert emu.session.get(url, headers=headers).status_code == 200
    changed = image_id[:-1] + ("0" if image_id[-1] != "0" else "1")
    _hss_denied(emu.session.get(url.replace(image_id, changed), headers=headers))


def test_hss_changed_signed_header_is_rejected(emu):
    url, headers, _body = emu.hss_signed("GET", LOCAL, {"limit": 10})
    headers = dict(headers, **{"X-Sdk-Date": _sdk_date(1)})
    _hss_denied(emu.session.get(url, headers=headers))


def test_hss_other_keys_are_rejected(emu):
    wrong_sk = _hss_denied(emu.hss_raw("GET", LOCAL, {"limit": 10}, sk="another-secret-key"))
    unknown_ak = _hss_denied(emu.hss_raw("GET", LOCAL, {"limit": 10}, ak="HWAKUNKNOWN000000000"))
    assert wrong_sk != unknown_ak
    with pytest.raises(ClientRequestException) as caught:
        emu.hss_client(sk="another-secret-key").list_image_local(m.ListImageLocalRequest())
    assert (caught.value.status_code, caught.value.error_code) == (401, "APIGW.0301")
    assert caught.value.request_id


@pytest.mark.parametrize("minutes,accepted", [(14, True), (16, False), (-16, False)])
def test_hss_timestamp_window_is_15_minutes(emu, minutes, accepted):
    response = emu.hss_raw("GET", LOCAL, {"limit": 10}, sdk_date=_sdk_date(minutes))
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert "expired" in _hss_denied(response)


def test_hss_failures_have_distinct_messages(emu):
    url, headers, _body = emu.hss_signed("GET", LOCAL, {"limit": 10})
    messages = {
        _hss_denied(emu.session.get(url.replace("limit=10", "limit=20"), headers=headers)),
        _hss_denied(emu.hss_raw("GET", LOCAL, {"limit": 10}, ak="HWAKUNKNOWN000000000")),
        _hss_denied(emu.hss_raw("GET", LOCAL, {"limit": 10}, sdk_date=_sdk_date(30))),
        _hss_denied(emu.session.get(url)),
        _hss_denied(emu.session.get(url, headers={"Authorization": "SDK-HMAC-SHA256 junk"})),
        _hss_denied(emu.session.get(url, headers={"X-Auth-Token": "wrong-token"})),
    }
    assert len(messages) == 6, messages


def test_hss_token_authentication(emu, spawn):
    url = emu.url + LOCAL + "?limit=10"
    ok = emu.session.get(url, headers={"X-Auth-Token": support.HSS_TOKEN})
    assert ok.status_code == 200 and ok.json()["total_num"] > 0
    assert "token" in _hss_denied(
        emu.session.get(url, headers={"X-Auth-Token": "nope"})).lower()
    without_token = spawn(token=False)
    response = without_token.session.get(without_token.url + LOCAL,
                                         headers={"X-Auth-Token": support.HSS_TOKEN})
    _hss_denied(response)


def test_hss_project_id_must_match(emu):
    response = emu.hss_raw("GET", "/v5/ffffffffffffffffffffffffffffffff/image/local-repositories",
                           {"limit": 10})
    assert response.status_code == 403
    assert response.json()["error_code"] == "APIGW.0302"
    assert response.headers["X-Request-Id"]


def test_hss_unknown_api_is_404(emu):
    response = emu.hss_raw("GET", "/v5/%s/image/no-such-api" % HSS_PROJECT)
    assert response.status_code == 404
    assert response.json()["error_code"] == "APIGW.0101"
    response = emu.hss_raw("DELETE", LOCAL)
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------------
# TCSS: TC3-HMAC-SHA256
# ---------------------------------------------------------------------------------------------


def test_tcss_sdk_signed_requests_are_accepted(emu, tcss):
    response = emu.tc_raw("DescribeAssetImageList", {"Limit": 10})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["Response"]
    assert "Error" not in body and body["TotalCount"] == 28 and body["RequestId"]
    assert tc_call(tcss, "DescribeAssetHostList", {}).TotalCount == 20


def test_tcss_changed_body_byte_is_signature_failure(emu):
    url, headers, body = emu.tc_signed("CreateAssetImageScanTask",
                                       {"ScanVul": True, "ScanScope": 0, "Timeout": 3600})
    response = emu.session.post(url, headers=headers, data=_flip(body, body.index(b"3600")))
    assert _tc_error(response) == "AuthFailure.SignatureFailure"
    assert emu.stats()["tasks_created"]["tcss"] == 0


def test_tcss_changed_signed_header_is_signature_failure(emu):
    url, headers, body = emu.tc_signed("DescribeAssetImageList", {"Limit": 10})
    headers["Host"] = "localhost:%d" % emu.port
    assert _tc_error(emu.session.post(url, headers=headers, data=body)) == \
        "AuthFailure.SignatureFailure"


def test_tcss_wrong_key_and_unknown_secret_id(emu):
    response = emu.tc_raw("DescribeAssetImageList", {}, secret_key="another-secret-key")
    assert _tc_error(response) == "AuthFailure.SignatureFailure"
    response = emu.tc_raw("DescribeAssetImageList", {},
                          secret_id="AKIDUNKNOWN00000000000000000000000000")
    assert _tc_error(response) == "AuthFailure.SecretIdNotFound"
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(emu.tcss_client(secret_key="another-secret-key"), "DescribeAssetImageList", {})
    assert caught.value.get_code() == "AuthFailure.SignatureFailure"
    assert caught.value.get_request_id()


@pytest.mark.parametrize("seconds,accepted", [(240, True), (360, False), (-360, False)])
def test_tcss_timestamp_window_is_5_minutes(emu, seconds, accepted):
    response = emu.tc_raw("DescribeAssetImageList", {"Limit": 1},
                          timestamp=int(time.time()) - seconds)
    if accepted:
        assert "Error" not in response.json()["Response"]
    else:
        assert _tc_error(response) == "AuthFailure.SignatureExpire"


def test_tcss_action_and_version(emu):
    url, headers, body = emu.tc_signed("DescribeAssetImageList", {})
    for name, value, code in (("X-TC-Action", "StopAssetImageScan", "InvalidAction"),
                              ("X-TC-Version", "2018-03-17", "InvalidParameter")):
        response = emu.session.post(url, headers=dict(headers, **{name: value}), data=body)
        assert _tc_error(response) == code
    stats = emu.stats()
    assert stats["rejected"]["tcss.StopAssetImageScan"] == {"InvalidAction": 1}
    assert stats["requests"]["tcss.StopAssetImageScan"] == 1


def test_tcss_errors_are_http_200_json(emu):
    response = emu.session.post(emu.url + "/", data=json.dumps({}),
                                headers={"X-TC-Action": "DescribeAssetImageList",
                                         "Content-Type": "application/json"})
    assert _tc_error(response).startswith("AuthFailure")
