# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every case of tests/unit/fixtures/signing-vectors.json, reproduced byte for byte.

The vectors were produced by the official SDK signers. The HSS cases go through
``_signing.hss_sign``; the TCSS cases through both ``_signing.tc3_sign`` and the request our
``TcssClient`` builds. Two reference-only cases (the derived Huawei signer and a TCSS GET)
are checked with the ``_signing`` building blocks plus a few lines of test code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _signing
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import HttpTransport
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient
from ansible_collections.cloudsec.image_scan.tests.unit.clock import at

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")

with open(os.path.join(FIXTURES, "signing-vectors.json"), encoding="utf-8") as _handle:
    VECTORS = json.load(_handle)["vectors"]
HW = [v for v in VECTORS if v["cloud"] == "huawei"]
TC = [v for v in VECTORS if v["cloud"] == "tencent"]
HW_DERIVED = "hw-7-derived-signer-for-reference"
TC_GET = "tc-7-get-method-reference"


def ids(vectors):
    return [v["id"] for v in vectors]


def test_all_vectors_are_covered():
    assert len(VECTORS) == 14
    assert HW_DERIVED in ids(HW) and TC_GET in ids(TC)


def _hw_body(inputs):
    body = inputs["body_utf8"]
    return None if body is None else body.encode("utf-8")


@pytest.mark.parametrize("vector", [v for v in HW if v["id"] != HW_DERIVED], ids=lambda v: v["id"])
def test_hss_vector(vector):
    inputs, expected = vector["inputs"], vector["expected"]
    pairs = _signing.hss_query_pairs(inputs["query_params"])
    body = _hw_body(inputs)
    headers = dict(inputs["headers_before_signing"])

    assert _signing.hss_canonical_uri(inputs["resource_path"]) == expected["canonical_uri"]
    assert _signing.hss_canonical_query(pairs) == expected["canonical_query_string"]

    with_host = dict(headers, Host=inputs["host"])
    canonical, signed = _signing.hss_canonical_request(inputs["method"], inputs["resource_path"], pairs,
                                                       with_host, body)
    assert canonical == expected["canonical_request"]
    assert signed == expected["signed_headers"]
    string_to_sign = _signing.hss_string_to_sign(headers["X-Sdk-Date"], canonical)
    assert string_to_sign == expected["string_to_sign"]

    signed_headers = _signing.hss_sign(inputs["ak"], inputs["sk"], inputs["method"], inputs["host"],
                                       inputs["resource_path"], pairs, headers, body)
    assert signed_headers == expected["headers_after_signing"]
    assert list(signed_headers) == list(expected["headers_after_signing"])  # same order too
    assert signed_headers["Authorization"] == expected["authorization"]
    assert headers == inputs["headers_before_signing"], "the given headers must not change"

    query = _signing.hss_canonical_query(pairs)
    wire = inputs["resource_path"] + ("?" + query if query else "")
    assert wire == expected["request_uri_on_wire"]


def _hkdf_sha256_hex(salt, ikm, info):
    """HKDF-SHA256 (RFC 5869) with one 32-byte block, as lower-case hex text."""
    prk = hmac.new(salt.encode("utf-8"), ikm.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(prk, info.encode("utf-8") + b"\x01", hashlib.sha256).hexdigest()


def test_hss_derived_signer_reference_vector():
    """hw-7: the V11-HMAC-SHA256 signer HSS does not use; our canonical request feeds it."""
    vector = next(v for v in HW if v["id"] == HW_DERIVED)
    inputs, expected = vector["inputs"], vector["expected"]
    pairs = _signing.hss_query_pairs(inputs["query_params"])
    headers = dict(inputs["headers_before_signing"], Host=inputs["host"])
    canonical, signed = _signing.hss_canonical_request(inputs["method"], inputs["resource_path"], pairs,
                                                       headers, _hw_body(inputs))
    assert canonical == expected["canonical_request"]
    sdk_date = headers["X-Sdk-Date"]
    info = "%s/%s/%s" % (sdk_date[:8], "cn-north-4", "hss")
    key = _hkdf_sha256_hex(inputs["ak"], inputs["sk"], info)
    string_to_sign = "\n".join(["V11-HMAC-SHA256", sdk_date, info, _signing.sha256_hex(canonical)])
    signature = hmac.new(key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = "V11-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        inputs["ak"], info, signed, signature)
    assert authorization == expected["authorization"]


def _tc_scope(inputs):
    return "%s/%s/tc3_request" % (_signing.tc3_date(inputs["timestamp"]), inputs["service"])


@pytest.mark.parametrize("vector", [v for v in TC if v["id"] != TC_GET], ids=lambda v: v["id"])
def test_tc3_vector_signing(vector):
    inputs, expected = vector["inputs"], vector["expected"]
    body = expected["body_on_wire"]
    host = inputs["endpoint_host"]
    timestamp = inputs["timestamp"]
    assert _signing.tc3_date(timestamp) == expected["date"]
    assert _tc_scope(inputs) == expected["credential_scope"]
    canonical = _signing.tc3_canonical_request("application/json", host, body)
    assert canonical == expected["canonical_request"]
    string_to_sign = _signing.tc3_string_to_sign(timestamp, inputs["service"], canonical)
    assert string_to_sign == expected["string_to_sign"]
    assert _signing.tc3_signature(inputs["secret_key"], timestamp, inputs["service"],
                                  string_to_sign) == expected["signature"]
    assert _signing.tc3_sign(inputs["secret_id"], inputs["secret_key"], inputs["service"], host,
                             "application/json", body, timestamp) == expected["authorization"]


@pytest.mark.parametrize("vector", [v for v in TC if v["id"] != TC_GET], ids=lambda v: v["id"])
def test_tc3_vector_client_request(vector):
    """Our TcssClient builds the same body and headers (but its own X-TC-RequestClient)."""
    inputs, expected = vector["inputs"], vector["expected"]
    host = inputs["endpoint_host"]
    international = host == "tcss.intl.tencentcloudapi.com"
    endpoint = None if host.startswith("tcss.") else "https://" + host
    client = TcssClient(HttpTransport(), inputs["secret_id"], inputs["secret_key"],
                        session_token=inputs["token"], region=inputs["region"], endpoint=endpoint,
                        international=international, language=inputs["language"])
    body = _json_body(inputs["params"])
    with at(inputs["timestamp"]):
        method, url, headers, sent = client.build_request(inputs["action"], body)
    assert (method, url) == ("POST", "https://%s/" % host)
    assert sent.decode("utf-8") == expected["body_on_wire"]
    wanted = dict(expected["headers"])
    wanted.pop("X-TC-RequestClient")  # the SDK's name and version; ours differs
    wanted.pop("X-TC-TraceId", None)  # an SDK-only trace id, never signed
    if inputs["token"]:
        assert headers["X-TC-Token"] == inputs["token"]
    for name, value in wanted.items():
        assert headers[name] == value, name
    assert set(headers) - set(wanted) <= {"User-Agent", "X-TC-RequestClient", "X-TC-Token"}


def _json_body(params):
    return json.dumps(params).encode("utf-8")


def test_tc3_get_reference_vector():
    """tc-7: TC3 over GET (query signed, empty payload); modules only POST."""
    vector = next(v for v in TC if v["id"] == TC_GET)
    inputs, expected = vector["inputs"], vector["expected"]
    canonical = _signing.tc3_canonical_request(
        expected["headers"]["Content-Type"], inputs["endpoint_host"], "", method="GET",
        query=expected["query_on_wire"])
    assert canonical == expected["canonical_request"]
    string_to_sign = _signing.tc3_string_to_sign(inputs["timestamp"], inputs["service"], canonical)
    assert string_to_sign == expected["string_to_sign"]
    signature = _signing.tc3_signature(inputs["secret_key"], inputs["timestamp"], inputs["service"],
                                       string_to_sign)
    assert signature == expected["signature"]
    assert _signing.tc3_authorization(inputs["secret_id"], inputs["timestamp"], inputs["service"],
                                      signature) == expected["authorization"]
