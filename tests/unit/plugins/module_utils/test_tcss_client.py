# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TcssClient: endpoints, X-TC-* headers, body building, pagination, the action wrappers."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _signing
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import USER_AGENT, HttpTransport, RetryPolicy
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import NOT_IDEMPOTENT, TcssClient
from ansible_collections.cloudsec.image_scan.tests.unit.clock import FakeClock, install


@pytest.fixture(autouse=True)
def _pinned(monkeypatch):
    install(monkeypatch, FakeClock(wall=TIMESTAMP))


TIMESTAMP = 1735787045


def _ok(**fields):
    return (200, {"Response": dict(fields, RequestId="rid")}, {"Content-Type": "application/json"})


def _client(fakes, script=None, **kwargs):
    session, adapter = fakes.fake_session(list(script or [_ok()]))
    transport = HttpTransport(session=session, retry_policy=RetryPolicy(retries=0))
    options = {}
    options.update(kwargs)
    return TcssClient(transport, "AKIDEXAMPLE", "SECRETKEY", **options), adapter


@pytest.mark.parametrize("options, url, host", [
    ({}, "https://tcss.tencentcloudapi.com/", "tcss.tencentcloudapi.com"),
    ({"international": True}, "https://tcss.intl.tencentcloudapi.com/", "tcss.intl.tencentcloudapi.com"),
    ({"endpoint": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/", "127.0.0.1:8080"),
    ({"endpoint": "https://tcss.ap-guangzhou.tencentcloudapi.com/ignored/path", "international": True},
     "https://tcss.ap-guangzhou.tencentcloudapi.com/", "tcss.ap-guangzhou.tencentcloudapi.com"),
])
def test_endpoints(options, url, host, fakes):
    client, adapter = _client(fakes, **options)
    client.call("DescribeAssetImageScanTask")
    sent = adapter.sent[0]
    assert (sent.method, sent.url, sent.headers["Host"]) == ("POST", url, host)
    expected = _signing.tc3_sign("AKIDEXAMPLE", "SECRETKEY", "tcss", host, "application/json", b"{}", TIMESTAMP)
    assert sent.headers["Authorization"] == expected


def test_headers(fakes):
    client, adapter = _client(fakes, region="ap-guangzhou", language="en-US")
    client.call("DescribeAssetImageScanStatus", dict(TaskID="t-1"))
    headers = adapter.sent[0].headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-TC-Action"] == "DescribeAssetImageScanStatus"
    assert headers["X-TC-Version"] == "2020-11-01"
    assert headers["X-TC-Timestamp"] == str(TIMESTAMP)
    assert headers["X-TC-Region"] == "ap-guangzhou"
    assert headers["X-TC-Language"] == "en-US"
    assert headers["User-Agent"] == USER_AGENT
    assert "X-TC-Token" not in headers
    expected = _signing.tc3_sign("AKIDEXAMPLE", "SECRETKEY", "tcss", "tcss.tencentcloudapi.com", "application/json",
                                 b'{"TaskID": "t-1"}', TIMESTAMP)
    assert headers["Authorization"] == expected


def test_optional_headers_absent_when_unset(fakes):
    client, adapter = _client(fakes)
    client.call("DescribeAssetImageScanTask")
    assert not {"X-TC-Region", "X-TC-Token", "X-TC-Language"} & set(adapter.sent[0].headers)


def test_session_token_is_sent_but_not_signed(fakes):
    plain, plain_adapter = _client(fakes)
    temporary, temporary_adapter = _client(fakes, session_token="TMP-TOKEN/+==")
    plain.call("DescribeAssetImageScanTask")
    temporary.call("DescribeAssetImageScanTask")
    assert temporary_adapter.sent[0].headers["X-TC-Token"] == "TMP-TOKEN/+=="
    assert temporary_adapter.sent[0].headers["Authorization"] == plain_adapter.sent[0].headers["Authorization"]


def test_bad_language_and_region_are_refused(fakes):
    with pytest.raises(ValueError):
        _client(fakes, language="fr-FR")
    with pytest.raises(ValueError):
        _client(fakes, region="ap guangzhou\r\nX-Evil: 1")
    with pytest.raises(ValueError):
        TcssClient(HttpTransport(session=fakes.fake_session()[0]), "AKID", "")


def test_body_drops_none_and_escapes_unicode(fakes):
    client, adapter = _client(fakes)
    client.call("DescribeAssetImageList", dict(Limit=100, Offset=0, By=None,
                                               Filters=[{"Name": "ImageName", "Values": ["nginx 最新"], "ExactMatch": None}]))
    assert adapter.sent[0].body == (b'{"Limit": 100, "Offset": 0, "Filters": [{"Name": "ImageName", '
                                    b'"Values": ["nginx \\u6700\\u65b0"]}]}')


def test_empty_params_give_an_empty_object(fakes):
    client, adapter = _client(fakes)
    client.call("DescribeAssetImageScanTask")
    assert adapter.sent[0].body == b"{}"


def test_call_returns_the_response_object(fakes):
    client, dummy = _client(fakes, [_ok(TaskID="t-9")])
    assert client.create_asset_image_scan_task({"ScanVul": True}, Timeout=60) == {"TaskID": "t-9", "RequestId": "rid"}


@pytest.mark.parametrize("method, action", [
    ("create_asset_image_scan_task", "CreateAssetImageScanTask"),
    ("modify_asset_image_scan_stop", "ModifyAssetImageScanStop"),
])
def test_wrappers(method, action, fakes):
    client, adapter = _client(fakes)
    getattr(client, method)({"A": 1}, B=2)
    assert adapter.sent[0].headers["X-TC-Action"] == action
    assert json.loads(adapter.sent[0].body) == {"A": 1, "B": 2}


def test_only_the_trigger_and_the_stop_are_not_idempotent():
    assert NOT_IDEMPOTENT == {"CreateAssetImageScanTask", "ModifyAssetImageScanStop"}


def _pages(total, limit):
    return [_ok(List=list(range(total))[i:i + limit], TotalCount=total) for i in range(0, max(total, 1), limit)]


def test_paginate(fakes):
    client, adapter = _client(fakes, _pages(250, 100))
    items = client.paginate("DescribeAssetImageList", {"Filters": [{"Name": "ScanStatus", "Values": ["scanned"]}],
                                                       "Offset": 0})
    assert items == list(range(250))
    bodies = [json.loads(r.body) for r in adapter.sent]
    assert [(b["Offset"], b["Limit"]) for b in bodies] == [(0, 100), (100, 100), (200, 100)]
    assert all(b["Filters"][0]["Name"] == "ScanStatus" for b in bodies)


def test_paginate_max_results(fakes):
    pages = [_ok(List=list(range(i, i + 10)), TotalCount=100) for i in range(0, 100, 10)]
    client, adapter = _client(fakes, pages)
    assert client.paginate("DescribeAssetImageList", {"Limit": 10}, max_results=25) == list(range(25))
    assert len(adapter.sent) == 3


def test_paginate_stops_on_empty_or_short_pages(fakes):
    client, adapter = _client(fakes, [_ok(List=[1], TotalCount=9), _ok(List=[], TotalCount=9)])
    assert client.paginate("DescribeAssetImageVulList", {"ImageID": "x", "Limit": 1}) == [1]
    client, adapter = _client(fakes, [_ok(List=[1, 2])])
    assert client.paginate("DescribeAssetHostList", {"Limit": 10}) == [1, 2]
    assert len(adapter.sent) == 1
