"""Server-side signature checks: SDK-HMAC-SHA256 (HSS) and TC3-HMAC-SHA256 (TCSS).

The canonical strings come from the collection's own ``_signing`` module (pure stdlib), so the
emulator recomputes exactly what the SDKs sign.
"""

import calendar
import hmac
import os
import sys
import time
from urllib.parse import parse_qsl

_MODULE_UTILS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "plugins",
                                             "module_utils"))
if _MODULE_UTILS not in sys.path:
    sys.path.insert(0, _MODULE_UTILS)

import _signing  # noqa: E402  pylint: disable=wrong-import-position

from common import ApiError  # noqa: E402  pylint: disable=wrong-import-position

HSS_MAX_SKEW = 15 * 60
TC3_MAX_SKEW = 5 * 60
HSS_AUTH_FAILED = "APIGW.0301"


def hss_parse_authorization(value):
    """Split an ``SDK-HMAC-SHA256`` Authorization value into a dict, or ``None``."""
    if not value or not value.startswith(_signing.HSS_ALGORITHM + " "):
        return None
    parts = {}
    for part in value[len(_signing.HSS_ALGORITHM) + 1:].split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            return None
        parts[key] = val
    if not {"Access", "SignedHeaders", "Signature"} <= set(parts):
        return None
    return parts


def tc3_parse_authorization(value):
    """Split a TC3 Authorization value into ``{secret_id, date, service, signed_headers,
    signature}``, or ``None`` when it is not of that form."""
    if not value or not value.startswith(_signing.TC3_ALGORITHM + " "):
        return None
    parts = {}
    for part in value[len(_signing.TC3_ALGORITHM) + 1:].split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            return None
        parts[key] = val
    credential = parts.get("Credential", "").split("/")
    if len(credential) != 4 or credential[3] != "tc3_request" or "Signature" not in parts:
        return None
    return {
        "secret_id": credential[0],
        "date": credential[1],
        "service": credential[2],
        "signed_headers": parts.get("SignedHeaders", ""),
        "signature": parts["Signature"],
    }


def _hss_denied(message):
    return ApiError(HSS_AUTH_FAILED, "Incorrect IAM authentication information: %s" % message,
                    401)


def verify_hss(method, raw_path, raw_query, headers, body, config, now=None):
    """Check an HSS request; raise ``ApiError`` (401 ``APIGW.0301``) when it is not accepted.

    ``headers`` is a case-insensitive mapping (``email.message.Message``), ``raw_path`` the
    path exactly as on the wire and ``raw_query`` the raw query string.
    """
    authorization = headers.get("Authorization")
    token = headers.get("X-Auth-Token")
    if not authorization:
        if token is None:
            raise _hss_denied("the request carries neither an Authorization header nor a token")
        if not config.hss_token:
            raise _hss_denied("token authentication is not enabled")
        if not hmac.compare_digest(token.encode("utf-8"), config.hss_token.encode("utf-8")):
            raise _hss_denied("the X-Auth-Token is not valid")
        return
    parts = hss_parse_authorization(authorization)
    if parts is None:
        raise _hss_denied("the Authorization header is malformed")
    if parts["Access"] != config.hss_ak:
        raise _hss_denied("the access key %s does not exist" % parts["Access"])
    sdk_date = headers.get("X-Sdk-Date")
    if not sdk_date:
        raise _hss_denied("the X-Sdk-Date header is missing")
    try:
        signed_at = calendar.timegm(time.strptime(sdk_date, _signing.HSS_DATE_FORMAT))
    except ValueError:
        raise _hss_denied("the X-Sdk-Date header is malformed") from None
    now = time.time() if now is None else now
    if abs(now - signed_at) > HSS_MAX_SKEW:
        raise _hss_denied("the request has expired (X-Sdk-Date is more than 15 minutes off)")
    signed_names = [n for n in parts["SignedHeaders"].split(";") if n]
    signed = {}
    for name in signed_names:
        value = headers.get(name)
        if value is None:
            raise _hss_denied("the signed header %s is missing" % name)
        signed[name] = value
    if "x-sdk-date" not in signed_names:
        raise _hss_denied("X-Sdk-Date is not a signed header")
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    canonical, _signed = _signing.hss_canonical_request(method, raw_path, pairs, signed, body)
    expected = _signing.hss_signature(config.hss_sk,
                                      _signing.hss_string_to_sign(sdk_date, canonical))
    if not hmac.compare_digest(expected, parts["Signature"]):
        raise _hss_denied("the signature does not match")


def verify_tc3(headers, body, config, now=None):
    """Check a TCSS request; raise ``ApiError`` with the Tencent code when it is not accepted."""
    authorization = headers.get("Authorization")
    if not authorization:
        raise ApiError("AuthFailure.SignatureFailure", "The Authorization header is missing.")
    parts = tc3_parse_authorization(authorization)
    if parts is None:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "The Authorization header is not a valid TC3-HMAC-SHA256 authorization.")
    if parts["secret_id"] != config.tcss_secret_id:
        raise ApiError("AuthFailure.SecretIdNotFound",
                       "The SecretId is not found, please ensure that your SecretId is correct.")
    stamp = headers.get("X-TC-Timestamp")
    try:
        timestamp = int(stamp)
    except (TypeError, ValueError):
        raise ApiError("AuthFailure.SignatureFailure",
                       "The X-TC-Timestamp header is missing or not an integer.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > TC3_MAX_SKEW:
        raise ApiError("AuthFailure.SignatureExpire",
                       "Signature expired. Timestamp: %d, server time: %d." % (timestamp, now))
    if parts["service"] != "tcss" or parts["date"] != _signing.tc3_date(timestamp):
        raise ApiError("AuthFailure.SignatureFailure",
                       "The credential scope does not match the timestamp or the service.")
    if parts["signed_headers"] != _signing.TC3_SIGNED_HEADERS:
        raise ApiError("AuthFailure.SignatureFailure",
                       "Only content-type;host may be signed.")
    payload_hash = None
    if headers.get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD":
        payload_hash = _signing.sha256_hex("UNSIGNED-PAYLOAD")
    canonical = _signing.tc3_canonical_request(headers.get("Content-Type", ""),
                                               headers.get("Host", ""), body,
                                               payload_hash=payload_hash)
    expected = _signing.tc3_signature(config.tcss_secret_key, timestamp, "tcss",
                                      _signing.tc3_string_to_sign(timestamp, "tcss", canonical))
    if not hmac.compare_digest(expected, parts["signature"]):
        raise ApiError("AuthFailure.SignatureFailure",
                       "The provided credentials could not be validated. "
                       "Please check your signature is correct.")
