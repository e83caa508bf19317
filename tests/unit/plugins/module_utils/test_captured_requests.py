# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Our clients send what the official SDKs sent (tests/unit/fixtures/captured-requests.json).

Given the inputs of each captured call, with the time pinned to the captured ``X-Sdk-Date`` /
``X-TC-Timestamp`` and the SDK's ``User-Agent`` (HSS signs it), the request that reaches the
wire (through a real ``requests.Session`` and a fake adapter) has the same method, path,
query, body bytes and signed headers, hence the same ``Authorization``.

Our HSS client sends the ``region`` header on every call when a region is known, while the
SDK sends it only for some APIs: each case gives our client a region exactly when the SDK
sent one, so both sign the same header set.
"""

from __future__ import annotations

import datetime
import json
import os
from urllib.parse import urlsplit

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import HttpTransport, RetryPolicy
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient
from ansible_collections.cloudsec.image_scan.tests.unit.clock import at

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")
with open(os.path.join(FIXTURES, "captured-requests.json"), encoding="utf-8") as _handle:
    CAPTURED = json.load(_handle)

HW_AK, HW_SK = "HWAKFAKEORACLE000001", "hwSkFakeOracleSecret0000000000000000000"
PROJECT = "0123456789abcdef0123456789abcdef"
TC_ID, TC_KEY = "AKIDFAKEORACLE0000000000000000000000", "tcFakeOracleSecretKey00000000000"
ENDPOINT = "http://127.0.0.1:18080"

HW_CASES = [r for r in CAPTURED["requests"] if r["cloud"] == "huawei" and r["api"] != "ListSwrImageRepository"]
TC_CASES = [r for r in CAPTURED["requests"] if r["cloud"] == "tencent"]


def test_every_api_is_captured():
    assert {r["api"] for r in HW_CASES} == {
        "CreateManualImageScanTask", "BatchScanLocalImage", "ListImageScanTask", "ListImageLocal",
        "ListRegistryImages", "ListImageVulnerabilities", "StopImageScanTask"}
    assert {r["api"] for r in TC_CASES} == {
        "CreateAssetImageScanTask", "DescribeAssetImageScanStatus", "DescribeAssetImageScanTask",
        "DescribeAssetImageList", "DescribeAssetImageVulList", "ModifyAssetImageScanStop"}


def _headers(case):
    return dict(case["headers"])


def _query(case):
    """The captured query without ``enterprise_project_id`` (the client adds it itself)."""
    return dict((k, v) for k, v in case["query"] if k != "enterprise_project_id")


def _call_hss(client, case):
    """Call the client method of a captured HSS request with the captured inputs."""
    api, query = case["api"], _query(case)
    body = json.loads(case["body"]) if case["body"] else None
    path = case["path"].split("/")
    if api == "CreateManualImageScanTask":
        return client.create_manual_image_scan_task(body, query.pop("global_image_type"))
    if api == "BatchScanLocalImage":
        return client.batch_scan_local_image(body)
    if api == "StopImageScanTask":
        return client.stop_image_scan_task(path[-2])
    if api == "ListImageVulnerabilities":
        return client.call("ListImageVulnerabilities", dict(image_id=path[-2], **query))
    return client.call(api, query)


@pytest.mark.parametrize("case", HW_CASES, ids=lambda c: c["api"])
def test_hss_request_matches_sdk(case, fakes):
    captured = _headers(case)
    when = datetime.datetime.strptime(captured["X-Sdk-Date"], "%Y%m%dT%H%M%SZ")
    session, adapter = fakes.fake_session([(200, b"{}", {"X-Request-Id": "r-1"})])
    client = HssClient(HttpTransport(session=session, retry_policy=RetryPolicy(retries=0)), PROJECT,
                       region=captured.get("region"), endpoint=ENDPOINT, access_key=HW_AK, secret_key=HW_SK,
                       enterprise_project_id="all_granted_eps", user_agent=captured["User-Agent"])
    with at(when):
        assert _call_hss(client, case) == {}

    sent = adapter.sent[0]
    url = urlsplit(sent.url)
    assert sent.method == case["method"]
    assert url.path == case["path"]
    assert url.query == case["raw_query"]
    assert (sent.body or b"") == case["body"].encode("utf-8")
    signed = captured["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    lowered = dict((k.lower(), v) for k, v in sent.headers.items())
    for name in signed:
        assert lowered[name] == captured[[k for k in captured if k.lower() == name][0]], name
    assert sent.headers["Authorization"] == captured["Authorization"]
    if "Content-Length" in captured:
        assert sent.headers["Content-Length"] == captured["Content-Length"]
    else:
        assert "Content-Length" not in sent.headers


def _call_tcss(client, case):
    api = case["api"]
    params = json.loads(case["body"])
    return client.call(api, params)


@pytest.mark.parametrize("case", TC_CASES, ids=lambda c: c["api"])
def test_tcss_request_matches_sdk(case, fakes):
    captured = _headers(case)
    answer = {"Response": {"RequestId": "r-1"}}
    session, adapter = fakes.fake_session([(200, answer, {"Content-Type": "application/json"})])
    client = TcssClient(HttpTransport(session=session, retry_policy=RetryPolicy(retries=0)), TC_ID, TC_KEY,
                        region=captured["X-TC-Region"], endpoint=ENDPOINT, language=captured["X-TC-Language"])
    with at(int(captured["X-TC-Timestamp"])):
        assert _call_tcss(client, case) == {"RequestId": "r-1"}

    sent = adapter.sent[0]
    assert (sent.method, sent.url) == ("POST", ENDPOINT + "/")
    assert sent.body == case["body"].encode("utf-8")
    for name in ("Content-Type", "Host", "X-TC-Action", "X-TC-Timestamp", "X-TC-Version", "X-TC-Region",
                 "X-TC-Language", "Authorization", "Content-Length"):
        assert sent.headers[name] == captured[name], name
    assert "X-TC-Token" not in sent.headers
