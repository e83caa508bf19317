# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Request signing for Huawei Cloud (SDK-HMAC-SHA256) and Tencent Cloud (TC3-HMAC-SHA256).

Pure standard library, no I/O: the functions take the parts of a request and return the
strings the clouds expect. The same functions serve the client side (our modules) and the
server side (the test emulator verifies signatures by recomputing them).

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from urllib.parse import quote, unquote

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

HSS_ALGORITHM = "SDK-HMAC-SHA256"
HSS_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

TC3_ALGORITHM = "TC3-HMAC-SHA256"
TC3_SIGNED_HEADERS = "content-type;host"

# RFC 3986 unreserved characters other than letters and digits: the only ones left as is.
_UNRESERVED = "-_.~"


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data or b"").hexdigest()


def _hmac_sha256(key, msg):
    if isinstance(key, str):
        key = key.encode("utf-8")
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256)


def _escape(value):
    return quote(value, safe=_UNRESERVED)


# ---------------------------------------------------------------------------------------------
# Huawei Cloud: SDK-HMAC-SHA256
# ---------------------------------------------------------------------------------------------


def hss_query_value(value):
    """The text form of one query value, as the Huawei SDK writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hss_query_pairs(params):
    """Flatten query parameters to a sorted list of ``(key, text value)`` pairs.

    ``params`` is a mapping or a sequence of ``(key, value)`` pairs. A list value expands to
    repeated pairs, ``None`` values are dropped, booleans become ``true``/``false``. Pairs are
    sorted by key, then by value, on their text form: what the canonical query string and
    the wire query string (the SDK sends the canonical one) both use.
    """
    items = params.items() if hasattr(params, "items") else params
    pairs = []
    for key, value in items:
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append((str(key), hss_query_value(item)))
    pairs.sort()
    return pairs


def hss_canonical_query(pairs):
    """CanonicalQueryString from ``(key, text value)`` pairs (sorted here again)."""
    return "&".join("%s=%s" % (_escape(k), _escape(v)) for k, v in sorted(pairs))


def hss_canonical_uri(path):
    """CanonicalURI: decode the wire path fully, re-encode each segment, end with ``/``."""
    segments = unquote(path).split("/")
    uri = "/".join(_escape(segment) for segment in segments)
    if not uri.endswith("/"):
        uri += "/"
    return uri


def hss_signed_headers(headers):
    """Lower-cased, sorted names of the headers that are signed (names without ``_``)."""
    return sorted(name.lower() for name in headers if "_" not in name)


def hss_canonical_request(method, path, query_pairs, headers, body):
    """Return ``(canonical_request, signed_headers)`` for a request.

    ``headers`` must already hold every header that is signed (``Host``, ``X-Sdk-Date``,...).
    ``body`` is the exact body bytes (or text) or ``None``.
    """
    lowered = {}
    for name, value in headers.items():
        if "_" in name:
            continue
        lowered[name.lower()] = str(value).strip()
    names = sorted(lowered)
    canonical_headers = "".join("%s:%s\n" % (name, lowered[name]) for name in names)
    signed = ";".join(names)
    content_sha = lowered.get("x-sdk-content-sha256")
    payload_hash = content_sha if content_sha else sha256_hex(body)
    canonical = "\n".join([
        method.upper(),
        hss_canonical_uri(path),
        hss_canonical_query(query_pairs),
        canonical_headers,
        signed,
        payload_hash,
    ])
    return canonical, signed


def hss_string_to_sign(sdk_date, canonical_request):
    return "\n".join([HSS_ALGORITHM, sdk_date, sha256_hex(canonical_request)])


def hss_signature(secret_key, string_to_sign):
    return _hmac_sha256(secret_key, string_to_sign).hexdigest()


def hss_authorization(access_key, signed_headers, signature):
    return "%s Access=%s, SignedHeaders=%s, Signature=%s" % (
        HSS_ALGORITHM, access_key, signed_headers, signature)


def hss_date(now=None):
    """``X-Sdk-Date`` value for ``now`` (a UTC datetime) or the current time."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime(HSS_DATE_FORMAT)


def hss_sign(access_key, secret_key, method, host, path, query_pairs, headers, body, sdk_date=None):
    """Sign a Huawei Cloud request.

    Returns a new header dict: the given headers plus ``Host`` (when absent), ``X-Sdk-Date``
    (kept when already present) and ``Authorization``, every value stripped of outer
    whitespace as it was signed (and as the SDK sends it). The given dict is not changed.
    """
    signed_headers = dict((name, str(value).strip()) for name, value in headers.items())
    present = {name.lower(): name for name in signed_headers}
    if "x-sdk-date" not in present:
        signed_headers["X-Sdk-Date"] = sdk_date or hss_date()
    if "host" not in present:
        signed_headers["Host"] = host
    date_value = signed_headers[present.get("x-sdk-date", "X-Sdk-Date")]
    canonical, signed = hss_canonical_request(method, path, query_pairs, signed_headers, body)
    signature = hss_signature(secret_key, hss_string_to_sign(date_value, canonical))
    signed_headers["Authorization"] = hss_authorization(access_key, signed, signature)
    return signed_headers


# ---------------------------------------------------------------------------------------------
# Tencent Cloud: TC3-HMAC-SHA256
# ---------------------------------------------------------------------------------------------


def tc3_date(timestamp):
    """The UTC date (``YYYY-MM-DD``) of a Unix timestamp: the date in the credential scope."""
    return datetime.datetime.fromtimestamp(int(timestamp), datetime.timezone.utc).strftime("%Y-%m-%d")


def tc3_canonical_request(content_type, host, body, method="POST", query="", payload_hash=None):
    """CanonicalRequest for TC3 (only ``content-type`` and ``host`` are signed)."""
    return "\n".join([
        method,
        "/",
        query,
        "content-type:%s\nhost:%s\n" % (content_type, host),
        TC3_SIGNED_HEADERS,
        payload_hash if payload_hash is not None else sha256_hex(body),
    ])


def tc3_string_to_sign(timestamp, service, canonical_request):
    scope = "%s/%s/tc3_request" % (tc3_date(timestamp), service)
    return "\n".join([TC3_ALGORITHM, str(int(timestamp)), scope, sha256_hex(canonical_request)])


def tc3_signature(secret_key, timestamp, service, string_to_sign):
    k_date = _hmac_sha256("TC3" + secret_key, tc3_date(timestamp)).digest()
    k_service = _hmac_sha256(k_date, service).digest()
    k_signing = _hmac_sha256(k_service, "tc3_request").digest()
    return _hmac_sha256(k_signing, string_to_sign).hexdigest()


def tc3_authorization(secret_id, timestamp, service, signature):
    return "%s Credential=%s/%s/%s/tc3_request, SignedHeaders=%s, Signature=%s" % (
        TC3_ALGORITHM, secret_id, tc3_date(timestamp), service, TC3_SIGNED_HEADERS, signature)


def tc3_sign(secret_id, secret_key, service, host, content_type, body, timestamp):
    """Return the ``Authorization`` value for a TC3 ``POST /`` request."""
    canonical = tc3_canonical_request(content_type, host, body)
    signature = tc3_signature(secret_key, timestamp, service,
                              tc3_string_to_sign(timestamp, service, canonical))
    return tc3_authorization(secret_id, timestamp, service, signature)
