# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Property tests: our signers and clients against the official SDKs (test-only oracles).

- HSS: ``_signing.hss_sign`` equals ``huaweicloudsdkcore.signer.signer.Signer.sign`` for
  random methods, hosts, paths (with escaped path parameters), query dicts (unicode, spaces,
  reserved characters, repeated keys, empty values, booleans, integers), headers (names with
  ``_``, values with outer spaces) and bodies; and ``HssClient`` builds the same URL and
  signature as the SDK signer for random list queries.
- TCSS: ``TcssClient`` builds the same body, headers and Authorization as the SDK client's
  ``_build_req_with_tc3_signature`` for random bodies, hosts, credentials and timestamps
  (many around UTC midnight); ``_signing.tc3_signature`` equals ``Sign.sign_tc3``.

Known, deliberate difference (not generated here): for a *list of integers* the SDK sorts
the values as numbers (``9`` before ``10``) while the canonical query the gateway rebuilds is
sorted as text; our client always sorts the text form, like the server side.
"""

from __future__ import annotations

import datetime
import json
from unittest import mock
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _signing
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import HttpTransport
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient
from ansible_collections.cloudsec.image_scan.tests.unit.clock import at

hw_signer = pytest.importorskip("huaweicloudsdkcore.signer.signer")
hw_request = pytest.importorskip("huaweicloudsdkcore.sdk_request")
tc_client_module = pytest.importorskip("tencentcloud.common.abstract_client")
tc_credential = pytest.importorskip("tencentcloud.common.credential")
tc_profile = pytest.importorskip("tencentcloud.common.profile.client_profile")
tc_http_profile = pytest.importorskip("tencentcloud.common.profile.http_profile")
tc_request = pytest.importorskip("tencentcloud.common.http.request")
tc_sign = pytest.importorskip("tencentcloud.common.sign")
tcss_sdk = pytest.importorskip("tencentcloud.tcss.v20201101.tcss_client")

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Text that can be encoded (no surrogates) and carried in a header (no control characters).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=16)
RESERVED = "".join(chr(c) for c in range(0x21, 0x7f))
QUERY_TEXT = st.one_of(TEXT, st.text(RESERVED + " ", max_size=12),
                       st.sampled_from(["", " ", "a b", "x~y*z=1&2", "主机-01", "100%", "a+b/c?d#e"]))
QUERY_VALUE = st.one_of(QUERY_TEXT, st.booleans(), st.integers(-10**6, 10**9),
                        st.lists(QUERY_TEXT, max_size=4))
QUERY_KEY = st.one_of(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10), TEXT.filter(bool))
QUERY = st.dictionaries(QUERY_KEY, QUERY_VALUE, max_size=6)

HOST_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
HOST = st.builds(
    lambda labels, port: ".".join(labels) + (":%d" % port if port else ""),
    st.lists(HOST_LABEL, min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(1, 65535)))
SEGMENT = st.one_of(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=10),
                    TEXT.filter(bool).map(lambda text: quote(text, safe="")))
PATH = st.builds(lambda segments, slash: "/" + "/".join(segments) + ("/" if slash else ""),
                 st.lists(SEGMENT, min_size=1, max_size=6), st.booleans())

RESERVED_HEADERS = {"host", "x-sdk-date", "authorization", "content-type", "x-sdk-content-sha256"}
HEADER_NAME = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_-]{0,15}\Z").filter(
    lambda name: name.lower() not in RESERVED_HEADERS)
HEADER_VALUE = st.builds(lambda left, value, right: " " * left + value + " " * right,
                         st.integers(0, 2), HEADER_TEXT, st.integers(0, 2))
HEADERS = st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=5).map(
    lambda headers: dict((k, v) for k, v in headers.items()
                         if [n.lower() for n in headers].count(k.lower()) == 1))
DATES = st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 12, 31))
BODY = st.one_of(st.none(), st.binary(max_size=64), TEXT.map(lambda text: text.encode("utf-8")))
CREDENTIAL = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=40)


class _Credentials(object):
    def __init__(self, ak, sk):
        self.ak = ak
        self.sk = sk


def _sdk_sign(ak, sk, method, host, path, query, headers, body):
    """The SDK signer on an ``SdkRequest`` (query as the SDK client passes it: pairs)."""
    request = hw_request.SdkRequest(
        method=method, schema="https", host=host, resource_path=path,
        query_params=[(k, list(v) if isinstance(v, list) else v) for k, v in query.items()],
        header_params=dict(headers), body=body)
    return hw_signer.Signer(_Credentials(ak, sk)).sign(request)


def _on_wire(value):
    """How the SDK hands a header value to requests (UTF-8 bytes seen as latin-1 text)."""
    return value.encode("utf-8").decode("iso-8859-1")


@settings(max_examples=1500, **SETTINGS)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]), host=HOST, path=PATH,
       query=QUERY, extra=HEADERS, body=BODY, when=DATES, ak=CREDENTIAL, sk=CREDENTIAL)
def test_hss_signer_equals_sdk_signer(method, host, path, query, extra, body, when, ak, sk):
    headers = dict(extra)
    headers["Content-Type"] = "application/json"
    headers["X-Sdk-Date"] = when.strftime("%Y%m%dT%H%M%SZ")
    ours = _signing.hss_sign(ak, sk, method, host, path, _signing.hss_query_pairs(query), headers, body)
    sdk = _sdk_sign(ak, sk, method, host, path, query, headers, body)

    assert ours["Authorization"] == sdk.header_params["Authorization"]
    assert dict((k, _on_wire(v)) for k, v in ours.items()) == sdk.header_params
    canonical_query = _signing.hss_canonical_query(_signing.hss_query_pairs(query))
    assert path + ("?" + canonical_query if canonical_query else "") == sdk.uri


LIST_QUERY_VALUE = st.one_of(QUERY_TEXT, st.booleans(), st.integers(0, 2000000), st.lists(QUERY_TEXT, max_size=3))
LIST_QUERY = st.dictionaries(st.sampled_from(
    ["image_name", "image_version", "scan_status", "host_name", "host_id", "has_vul", "offset", "limit",
     "app_name", "image_type", "namespace", "tag_name", "enterprise_project_id"]), LIST_QUERY_VALUE, max_size=6)
REGION = st.sampled_from([None, "cn-north-4", "ap-southeast-1", "eu-west-101"])


@settings(max_examples=600, **SETTINGS)
@given(query=LIST_QUERY, host=HOST, region=REGION, when=DATES, token=st.one_of(st.none(), CREDENTIAL))
def test_hss_client_request_equals_sdk_signer(query, host, region, when, token):
    project = "0123456789abcdef0123456789abcdef"
    client = HssClient(HttpTransport(), project, region=region, endpoint="https://" + host,
                       access_key="AK", secret_key="SK", security_token=token,
                       user_agent="test-agent")
    with at(when):
        method, url, headers, body = client.build_request("ListImageLocal", query)

    sdk_headers = {"User-Agent": "test-agent", "Content-Type": "application/json", "X-Project-Id": project,
                   "X-Sdk-Date": when.strftime("%Y%m%dT%H%M%SZ")}
    if region:
        sdk_headers["region"] = region
    if token:
        sdk_headers["X-Security-Token"] = token
    path = "/v5/%s/image/local-repositories" % project
    sdk = _sdk_sign("AK", "SK", "GET", host, path, query, sdk_headers, None)

    assert (method, body) == ("GET", None)
    assert url == "https://%s%s" % (host, sdk.uri)
    assert headers == sdk.header_params


# -- Tencent Cloud ---------------------------------------------------------------------------

JSON_SCALAR = st.one_of(st.booleans(), st.integers(-10**12, 10**12), TEXT)
JSON_VALUE = st.recursive(JSON_SCALAR, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)), max_leaves=10)
PARAMS = st.dictionaries(st.sampled_from(["Images", "ScanVul", "Filters", "TaskID", "Limit", "Offset", "By",
                                          "Order", "ImageID", "Timeout", "ExcludeImageIds"]),
                         JSON_VALUE, max_size=5)
DAY = 86400
TIMESTAMP = st.one_of(
    st.builds(lambda day, delta: day * DAY + delta, st.integers(1, 50000), st.integers(-3, 3)),
    st.integers(0, 4102444800))
ACTION = st.sampled_from(["CreateAssetImageScanTask", "DescribeAssetImageScanStatus", "DescribeAssetImageList",
                          "ModifyAssetImageScanStop", "DescribeAssetImageVulList"])


def _sdk_tc3_request(secret_id, secret_key, token, region, host, language, action, params, timestamp):
    http_profile = tc_http_profile.HttpProfile(endpoint=host)
    profile = tc_profile.ClientProfile(httpProfile=http_profile, language=language or "zh-CN")
    client = tcss_sdk.TcssClient(tc_credential.Credential(secret_id, secret_key, token), region or "", profile)
    request = tc_request.RequestInternal(host, "POST", "/", header={})
    with mock.patch.object(tc_client_module.time, "time", return_value=float(timestamp)):
        client._build_req_with_tc3_signature(action, params, request)  # pylint: disable=protected-access
    return request


@settings(max_examples=1200, **SETTINGS)
@given(params=PARAMS, host=HOST, timestamp=TIMESTAMP, action=ACTION, secret_id=CREDENTIAL, secret_key=CREDENTIAL,
       token=st.one_of(st.none(), CREDENTIAL), region=st.sampled_from([None, "ap-guangzhou", "ap-singapore"]),
       language=st.sampled_from(["zh-CN", "en-US"]))
def test_tcss_client_request_equals_sdk(params, host, timestamp, action, secret_id, secret_key, token, region,
                                        language):
    client = TcssClient(HttpTransport(), secret_id, secret_key, session_token=token, region=region,
                        endpoint="https://" + host, language=language)
    body = json.dumps(params).encode("utf-8")
    with at(timestamp):
        method, url, headers, sent = client.build_request(action, body)
    sdk = _sdk_tc3_request(secret_id, secret_key, token, region, host, language, action, params, timestamp)

    assert (method, url) == ("POST", "https://%s/" % host)
    assert sent == sdk.data.encode("utf-8")
    assert headers["Authorization"] == sdk.header["Authorization"]
    for name in ("Content-Type", "Host", "X-TC-Action", "X-TC-Timestamp", "X-TC-Version", "X-TC-Region",
                 "X-TC-Token", "X-TC-Language"):
        assert headers.get(name) == sdk.header.get(name), name


@settings(max_examples=1000, **SETTINGS)
@given(secret_key=CREDENTIAL, timestamp=TIMESTAMP, string_to_sign=TEXT)
def test_tc3_signature_equals_sdk_sign_tc3(secret_key, timestamp, string_to_sign):
    date = _signing.tc3_date(timestamp)
    assert date == datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d")
    assert _signing.tc3_signature(secret_key, timestamp, "tcss", string_to_sign) == \
        tc_sign.Sign.sign_tc3(secret_key, date, "tcss", string_to_sign)
