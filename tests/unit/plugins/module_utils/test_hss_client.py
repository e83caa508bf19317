# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HssClient: endpoints, headers, query and body building, errors, pagination."""

from __future__ import annotations

import datetime
import os
import re
from urllib.parse import urlsplit

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _signing
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import (
    APIS,
    HssClient,
    region_endpoint,
)
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import (
    COLLECTION_VERSION,
    USER_AGENT,
    ApiError,
    HttpTransport,
    RetryPolicy,
    parse_endpoint,
)
from ansible_collections.cloudsec.image_scan.tests.unit.clock import FakeClock, install

PROJECT = "0123456789abcdef0123456789abcdef"
WHEN = datetime.datetime(2025, 1, 2, 3, 4, 5)


@pytest.fixture(autouse=True)
def _pinned(monkeypatch):
    install(monkeypatch, FakeClock(wall=WHEN.replace(tzinfo=datetime.timezone.utc).timestamp()))


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")


def _client(fakes, script=((200, b"{}", {}),), **kwargs):
    session, adapter = fakes.fake_session(list(script))
    transport = HttpTransport(session=session, retry_policy=RetryPolicy(retries=0))
    options = dict(region="cn-north-4", access_key="AK", secret_key="SK")
    options.update(kwargs)
    return HssClient(transport, PROJECT, **options), adapter


def test_user_agent_carries_the_collection_version():
    assert USER_AGENT == "cloudsec.image_scan/" + COLLECTION_VERSION
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = re.search(r"^version:\s*(\S+)", handle.read(), re.M).group(1)
    assert COLLECTION_VERSION == version


@pytest.mark.parametrize("region, url", [
    ("cn-north-4", "https://hss.cn-north-4.myhuaweicloud.com"),
    ("ap-southeast-1", "https://hss.ap-southeast-1.myhuaweicloud.com"),
    ("eu-west-101", "https://hss.eu-west-101.myhuaweicloud.eu"),
])
def test_region_endpoint(region, url):
    assert region_endpoint(region) == url


@pytest.mark.parametrize("region", ["", "CN-NORTH-4", "cn north", "cn-north-4/evil", "x.y", None])
def test_bad_region_is_refused(region):
    with pytest.raises(ValueError):
        region_endpoint(region)


@pytest.mark.parametrize("endpoint, scheme, netloc", [
    ("http://127.0.0.1:8080", "http", "127.0.0.1:8080"),
    ("https://hss.example.com", "https", "hss.example.com"),
    ("https://hss.example.com:8443/v5/ignored?x=1#y", "https", "hss.example.com:8443"),
    ("hss.example.com:8443", "https", "hss.example.com:8443"),
    ("HTTPS://[::1]:9000/", "https", "[::1]:9000"),
])
def test_parse_endpoint(endpoint, scheme, netloc):
    assert parse_endpoint(endpoint) == (scheme, netloc)


@pytest.mark.parametrize("endpoint", ["", "ftp://host", "https://", "https://host:99999", "https://host:port"])
def test_bad_endpoint_is_refused(endpoint):
    with pytest.raises(ValueError):
        parse_endpoint(endpoint)


def test_endpoint_with_user_information_is_refused_without_repeating_it():
    with pytest.raises(ValueError) as info:
        parse_endpoint("https://user:hunter2@hss.example.com")
    assert "hunter2" not in str(info.value)


def test_endpoint_overrides_region_and_path_is_ignored(fakes):
    client, adapter = _client(fakes, endpoint="http://127.0.0.1:8080/some/prefix")
    client.call("ListImageLocal", dict(limit=10))
    sent = adapter.sent[0]
    assert sent.url == "http://127.0.0.1:8080/v5/%s/image/local-repositories?limit=10" % PROJECT
    assert sent.headers["Host"] == "127.0.0.1:8080"
    assert sent.headers["region"] == "cn-north-4"
    assert "host;region;" in sent.headers["Authorization"]


def test_signed_headers_like_the_sdk(fakes):
    client, adapter = _client(fakes)
    client.call("ListImageScanTask", dict(type="image_scan"))
    headers = adapter.sent[0].headers
    assert headers["Content-Type"] == "application/json"  # on GET too, like the SDK
    assert headers["User-Agent"] == USER_AGENT
    assert headers["X-Project-Id"] == PROJECT
    assert headers["X-Sdk-Date"] == "20250102T030405Z"
    assert headers["Host"] == "hss.cn-north-4.myhuaweicloud.com"
    assert headers["Authorization"].startswith(
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;region;user-agent;x-project-id;x-sdk-date, ")
    assert "X-Auth-Token" not in headers and "Content-Length" not in headers


def test_region_header_on_every_call_when_known(fakes):
    client, adapter = _client(fakes, script=[(200, b"{}", {})] * len(APIS))
    client.create_manual_image_scan_task({}, "registry")
    client.call("ListImageScanTask")
    client.batch_scan_local_image({})
    client.stop_image_scan_task("t")
    client.call("ListImageLocal")
    client.call("ListRegistryImages")
    client.call("ListImageVulnerabilities", dict(image_id="img"))
    client.call("ListHostStatus")
    client.call("ListGeneralImageVuls")
    client.call("ListVulAffectImages")
    client.call("ListVulAffectImageApps", dict(image_id="img"))
    assert [r.headers["region"] for r in adapter.sent] == ["cn-north-4"] * len(APIS)


def test_no_region_header_without_region(fakes):
    client, adapter = _client(fakes, region=None, endpoint="https://hss.example.com")
    client.call("ListImageLocal")
    assert "region" not in adapter.sent[0].headers


def test_security_token_is_sent_and_signed(fakes):
    client, adapter = _client(fakes, security_token="TOKEN/+==")
    client.call("ListImageLocal")
    headers = adapter.sent[0].headers
    assert headers["X-Security-Token"] == "TOKEN/+=="
    assert ";x-security-token," in headers["Authorization"]


def test_auth_token_instead_of_a_signature(fakes):
    client, adapter = _client(fakes, access_key=None, secret_key=None, auth_token="IAM-TOKEN")
    client.call("ListImageLocal")
    headers = adapter.sent[0].headers
    assert headers["X-Auth-Token"] == "IAM-TOKEN"
    assert "Authorization" not in headers and "X-Sdk-Date" not in headers
    assert headers["X-Project-Id"] == PROJECT and headers["Host"] == "hss.cn-north-4.myhuaweicloud.com"


def test_aksk_wins_over_auth_token(fakes):
    client, adapter = _client(fakes, auth_token="IAM-TOKEN")
    client.call("ListImageLocal")
    assert "X-Auth-Token" not in adapter.sent[0].headers
    assert adapter.sent[0].headers["Authorization"].startswith("SDK-HMAC-SHA256 ")


def test_credentials_and_project_are_required(fakes):
    transport = HttpTransport(session=fakes.fake_session()[0])
    with pytest.raises(ValueError):
        HssClient(transport, PROJECT, region="cn-north-4", access_key="AK")
    with pytest.raises(ValueError):
        HssClient(transport, "", region="cn-north-4", access_key="AK", secret_key="SK")
    with pytest.raises(ValueError):
        HssClient(transport, PROJECT, access_key="AK", secret_key="SK")


def test_query_building(fakes):
    client, adapter = _client(fakes, enterprise_project_id="all_granted_eps")
    client.call("ListImageLocal", dict(image_name="my app/nginx", has_vul=True, host_name=None, tag=["b v", "a+1"],
                                       task_name="", limit=200, offset=0))
    query = urlsplit(adapter.sent[0].url).query
    assert query == ("enterprise_project_id=all_granted_eps&has_vul=true&image_name=my%20app%2Fnginx"
                     "&limit=200&offset=0&tag=a%2B1&tag=b%20v&task_name=")


def test_explicit_enterprise_project_wins(fakes):
    client, adapter = _client(fakes, enterprise_project_id="0")
    client.call("ListImageLocal", dict(enterprise_project_id="ep-1"))
    assert urlsplit(adapter.sent[0].url).query == "enterprise_project_id=ep-1"


def test_enterprise_project_on_posts_and_stop(fakes):
    client, adapter = _client(fakes, script=[(200, b"{}", {})] * 3, enterprise_project_id="0")
    client.create_manual_image_scan_task({"is_all": True}, "local")
    client.batch_scan_local_image({"operate_all": True})
    client.stop_image_scan_task("t-1")
    queries = [urlsplit(r.url).query for r in adapter.sent]
    assert queries == ["enterprise_project_id=0&global_image_type=local", "enterprise_project_id=0",
                       "enterprise_project_id=0"]


def test_body_is_serialised_like_the_sdk(fakes):
    client, adapter = _client(fakes)
    body = {"scan_scope": 2147483647, "rate_limit": None, "is_all": False,
            "image_info": [{"image_name": "团队/web 应用", "image_version": "v1.0", "id": None, "registry_type": "SwrPrivate"}],
            "query_info": {"host_id": None}}
    client.create_manual_image_scan_task(body, "registry")
    sent = adapter.sent[0]
    assert sent.body == (b'{"scan_scope": 2147483647, "is_all": false, "image_info": [{"image_name": '
                         b'"\\u56e2\\u961f/web \\u5e94\\u7528", "image_version": "v1.0", "registry_type": '
                         b'"SwrPrivate"}], "query_info": {}}')
    assert sent.headers["Content-Length"] == str(len(sent.body))
    path, dummy, query = sent.path_url.partition("?")
    names = ("User-Agent", "region", "Content-Type", "X-Project-Id", "X-Sdk-Date", "Host")
    headers = dict((name, sent.headers[name]) for name in names)
    resigned = _signing.hss_sign("AK", "SK", "POST", "hss.cn-north-4.myhuaweicloud.com", path,
                                 [tuple(p.split("=")) for p in query.split("&")], headers, sent.body)
    assert resigned["Authorization"] == sent.headers["Authorization"]


def test_empty_body_is_an_empty_object(fakes):
    client, adapter = _client(fakes)
    client.create_manual_image_scan_task(None, None)
    assert adapter.sent[0].body == b"{}"
    assert urlsplit(adapter.sent[0].url).query == ""


def test_stop_quotes_the_task_id_and_sends_no_body(fakes):
    client, adapter = _client(fakes)
    client.stop_image_scan_task("task id/1")
    sent = adapter.sent[0]
    assert sent.method == "PUT"
    assert sent.path_url == "/v5/%s/image/image-scan/tasks/task%%20id%%2F1/stop" % PROJECT
    assert sent.body is None and sent.headers["Content-Length"] == "0"


def test_image_id_is_quoted(fakes):
    client, adapter = _client(fakes)
    client.call("ListImageVulnerabilities", dict(image_id="sha256:abc/def", image_type="private_image", namespace="ns",
                                                 image_name="app", tag_name="v1"))
    assert adapter.sent[0].path_url.startswith("/v5/%s/image/sha256%%3Aabc%%2Fdef/vulnerabilities?" % PROJECT)


def test_list_host_status(fakes):
    client, adapter = _client(fakes)
    client.call("ListHostStatus", dict(host_name="web-1", agent_status="online", limit=10, offset=0))
    assert adapter.sent[0].path_url == (
        "/v5/%s/host-management/hosts?agent_status=online&host_name=web-1&limit=10&offset=0" % PROJECT)


@pytest.mark.parametrize("operation, method, path", [
    ("CreateManualImageScanTask", "POST", "/v5/{project_id}/image/image-scan/tasks"),
    ("ListImageScanTask", "GET", "/v5/{project_id}/image/tasks"),
    ("BatchScanLocalImage", "POST", "/v5/{project_id}/image/local/batch-scan"),
    ("StopImageScanTask", "PUT", "/v5/{project_id}/image/image-scan/tasks/{task_id}/stop"),
    ("ListImageLocal", "GET", "/v5/{project_id}/image/local-repositories"),
    ("ListRegistryImages", "GET", "/v5/{project_id}/image/registries/images"),
    ("ListImageVulnerabilities", "GET", "/v5/{project_id}/image/{image_id}/vulnerabilities"),
    ("ListHostStatus", "GET", "/v5/{project_id}/host-management/hosts"),
])
def test_api_table(operation, method, path):
    assert APIS[operation][:2] == (method, path)
    assert APIS[operation][2] is (method == "GET")


# -- answers and errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("body, code, message", [
    ({"error_code": "HSS.0001", "error_msg": "bad"}, "HSS.0001", "bad"),
    ({"errorCode": "HSS.0002", "errorMsg": "camel"}, "HSS.0002", "camel"),
    ({"code": "HSS.0003", "message": "plain"}, "HSS.0003", "plain"),
    ({"error": {"code": "APIGW.0301", "message": "nested"}}, "APIGW.0301", "nested"),
    ({"error_code": "HSS.0004", "error_msg": "both", "code": "x", "message": "y"}, "HSS.0004", "both"),
    ({"unrelated": 1}, "400", '{"unrelated": 1}'),
    (b"plain text failure", "400", "plain text failure"),
])
def test_error_fields(body, code, message, fakes):
    client, dummy = _client(fakes, script=[(400, body, {"x-request-id": "rid-1"})])
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    error = info.value
    assert (error.cloud, error.operation, error.status, error.code, error.message, error.request_id) == (
        "hss", "ListImageLocal", 400, code, message, "rid-1")
    assert str(error) == "hss ListImageLocal failed: HTTP 400 %s: %s (request id: rid-1)" % (code, message)
    assert error.to_dict() == {"error_code": code, "error_msg": message, "request_id": "rid-1", "status": 400,
                               "operation": "ListImageLocal", "cloud": "hss", "ambiguous": False}


def test_long_raw_bodies_are_shortened(fakes):
    client, dummy = _client(fakes, script=[(404, b"x" * 5000, {})])
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    assert len(info.value.message) < 600 and "5000 characters" in info.value.message


@pytest.mark.parametrize("body, data", [(b"", {}), (b"  ", {}), (b"{}", {}), (b'{"total_num": 1}', {"total_num": 1})])
def test_success_bodies(body, data, fakes):
    client, dummy = _client(fakes, script=[(200, body, {})])
    assert client.call("ListImageLocal") == data


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b"\xff\xfe"])
def test_unreadable_success_bodies(body, fakes):
    client, dummy = _client(fakes, script=[(200, body, {"Content-Type": "text/html"})])
    with pytest.raises(ApiError) as info:
        client.call("ListImageLocal")
    assert info.value.code == "InvalidResponse" and info.value.status == 200
    assert "text/html" in info.value.message


# -- pagination ------------------------------------------------------------------------------------

def _pages(total, limit, rows=None):
    rows = rows if rows is not None else list(range(total))
    return [(200, {"total_num": total, "data_list": rows[i:i + limit]}, {}) for i in range(0, max(total, 1), limit)]


def test_paginate_walks_offset_and_limit(fakes):
    client, adapter = _client(fakes, script=_pages(25, 10))
    assert client.paginate("ListImageLocal", dict(image_name="app", limit=10)) == list(range(25))
    queries = [urlsplit(r.url).query for r in adapter.sent]
    assert queries == ["image_name=app&limit=10&offset=%d" % o for o in (0, 10, 20)]


def test_paginate_by_name_with_path_parameter(fakes):
    client, adapter = _client(fakes, script=_pages(3, 2))
    rows = client.paginate("ListImageVulnerabilities", dict(image_id="img-1", image_type="private_image", limit=2))
    assert rows == [0, 1, 2]
    assert all("/image/img-1/vulnerabilities?" in r.url for r in adapter.sent)


def test_paginate_max_results(fakes):
    client, adapter = _client(fakes, script=_pages(100, 10))
    assert client.paginate("ListRegistryImages", dict(limit=10), max_results=15) == list(range(15))
    assert len(adapter.sent) == 2


def test_paginate_stops_on_an_empty_page(fakes):
    client, adapter = _client(fakes, script=[(200, {"total_num": 50, "data_list": [1, 2]}, {}),
                                             (200, {"total_num": 50, "data_list": []}, {})])
    assert client.paginate("ListImageScanTask", dict(limit=10)) == [1, 2]
    assert len(adapter.sent) == 2


def test_paginate_without_total_stops_on_a_short_page(fakes):
    client, adapter = _client(fakes, script=[(200, {"data_list": list(range(10))}, {}),
                                             (200, {"data_list": [10]}, {})])
    assert client.paginate("ListHostStatus", dict(limit=10)) == list(range(11))


def test_paginate_starts_at_the_given_offset(fakes):
    client, adapter = _client(fakes, script=[(200, {"total_num": 12, "data_list": [10, 11]}, {})])
    assert client.paginate("ListImageLocal", dict(limit=10, offset=10)) == [10, 11]
    assert urlsplit(adapter.sent[0].url).query == "limit=10&offset=10"


def test_paginate_empty(fakes):
    client, adapter = _client(fakes, script=[(200, {"total_num": 0, "data_list": []}, {})])
    assert client.paginate("ListImageLocal", dict(limit=10)) == []
