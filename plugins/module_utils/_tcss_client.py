# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Client of the Tencent Cloud Container Security Service (TCSS) API 2020-11-01.

Every call is ``POST /`` with a JSON body, the ``X-TC-*`` headers and a TC3-HMAC-SHA256
signature, built the way the official Python SDK builds it. Errors arrive as HTTP 200 with
``Response.Error``; they become ``ApiError``. Sending and retrying belong to the
``HttpTransport``.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import json

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _http, _signing

CLOUD = "tcss"
SERVICE = "tcss"
API_VERSION = "2020-11-01"
DEFAULT_ENDPOINT = "https://tcss.tencentcloudapi.com"
INTERNATIONAL_ENDPOINT = "https://tcss.intl.tencentcloudapi.com"
CONTENT_TYPE = "application/json"
LANGUAGES = ("en-US", "zh-CN")

THROTTLING_PREFIX = "RequestLimitExceeded"
# Codes that mean the service failed, not the request: like an HTTP 5xx.
SERVER_ERROR_PREFIXES = ("InternalError",)

# Actions that may change state: never repeated after an answer that did not come.
NOT_IDEMPOTENT = frozenset(["CreateAssetImageScanTask", "ModifyAssetImageScanStop"])
#: Page size of every listing walk.
PAGE_SIZE = 100


def _invalid(status, message, request_id=None):
    return _http.Outcome(_http.Outcome.INVALID, status=status, code=_http.INVALID_RESPONSE, message=message,
                         request_id=request_id)


def classify_response(response):
    """Turn a TCSS answer into an ``Outcome``.

    A status other than 200 comes from a gateway, not from the API: a server error (or
    throttling for 429). Otherwise the body must be ``{"Response": {...}}``; an ``Error``
    inside is throttling when its code starts with ``RequestLimitExceeded``, a server error
    for ``InternalError*`` and an API error for anything else.
    """
    status = response.status_code
    if status != 200:
        kind = _http.Outcome.THROTTLED if status == 429 else _http.Outcome.SERVER_ERROR
        return _http.Outcome(kind, status=status, code=str(status),
                             message=_http.shorten(response.text or "HTTP %s without a body" % status))
    try:
        document = json.loads(response.content.decode("utf-8"))
    except ValueError:
        return _invalid(status, "unreadable answer (%d bytes)" % len(response.content or b""))
    answer = document.get("Response") if isinstance(document, dict) else None
    if not isinstance(answer, dict):
        return _invalid(status, "answer without a Response object")
    request_id = answer.get("RequestId")
    error = answer.get("Error")
    if error is None:
        return _http.Outcome(_http.Outcome.OK, data=answer, status=status, request_id=request_id)
    if not isinstance(error, dict):
        return _invalid(status, "answer with an unreadable Error", request_id)
    code = str(error.get("Code") or "UnknownError")
    message = str(error.get("Message") or "no message")
    if code.startswith(THROTTLING_PREFIX):
        kind = _http.Outcome.THROTTLED
    elif code.startswith(SERVER_ERROR_PREFIXES):
        kind = _http.Outcome.SERVER_ERROR
    else:
        kind = _http.Outcome.API_ERROR
    return _http.Outcome(kind, status=status, code=code, message=message, request_id=request_id)


class TcssClient(object):
    """TCSS client: ``call(action, params)``, ``paginate(action, params, max_results)`` and a
    named method for each action that changes state.

    The endpoint is ``endpoint`` (a full URL; the path is ignored, calls go to ``/``), else
    the international host when ``international`` is true, else the default host.
    Signatures are dated by ``_clock``.
    """

    def __init__(self, transport, secret_id, secret_key, session_token=None, region=None,
                 endpoint=None, international=False, language=None, user_agent=None):
        if not (secret_id and secret_key):
            raise ValueError("credentials are required: secret id and secret key")
        if language is not None and language not in LANGUAGES:
            raise ValueError("language must be one of %s" % ", ".join(LANGUAGES))
        self.transport = transport
        if not endpoint:
            endpoint = INTERNATIONAL_ENDPOINT if international else DEFAULT_ENDPOINT
        self.scheme, self.netloc = _http.parse_endpoint(endpoint)
        self.url = "%s://%s/" % (self.scheme, self.netloc)
        self.region = _http.check_region(region) if region else None
        self.language = language or None
        self.user_agent = user_agent or _http.USER_AGENT
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._session_token = session_token or None
        transport.add_secrets(secret_id, secret_key, session_token)

    def __repr__(self):
        return "TcssClient(url=%r, region=%r)" % (self.url, self.region)

    def build_request(self, action, body):
        """``(method, url, headers, body)`` of one call, signed now. ``body`` is bytes."""
        timestamp = int(_clock.now())
        headers = {
            "User-Agent": self.user_agent,
            "Content-Type": CONTENT_TYPE,
            "Host": self.netloc,
            "X-TC-Action": action,
            "X-TC-RequestClient": self.user_agent,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
        }
        if self.region:
            headers["X-TC-Region"] = self.region
        if self._session_token:
            headers["X-TC-Token"] = self._session_token
        if self.language:
            headers["X-TC-Language"] = self.language
        headers["Authorization"] = _signing.tc3_sign(
            self._secret_id, self._secret_key, SERVICE, self.netloc, CONTENT_TYPE, body, timestamp)
        return "POST", self.url, headers, body

    def call(self, action, params=None, idempotent=None):
        """Send one action and return its ``Response`` object (``RequestId`` included).

        ``idempotent`` defaults to false for the actions that change state
        (``NOT_IDEMPOTENT``) and true for the others.
        """
        if idempotent is None:
            idempotent = action not in NOT_IDEMPOTENT
        body = json.dumps(_http.drop_none(params or {})).encode("utf-8")

        def prepare():
            return self.build_request(action, body)

        return self.transport.request(action, prepare, classify_response, idempotent, cloud=CLOUD)

    def paginate(self, action, params=None, max_results=None):
        """Every item of a list action (``List``), walking ``Offset``/``Limit`` (``PAGE_SIZE``) up
        to ``TotalCount``; ``max_results`` caps the items. (DescribeAssetImageHostList has no
        paging: ``_tcss_ops.image_host_pairs`` reads it.)"""
        params = dict(params or {})
        offset, limit = int(params.pop("Offset", 0) or 0), int(params.pop("Limit", 0) or PAGE_SIZE)

        def fetch(start, size):
            page = self.call(action, dict(params, Offset=start, Limit=size))
            return page.get("List") or [], page.get("TotalCount")

        return _http.paginate(fetch, offset, limit, max_results)

    # -- the actions that change state (not idempotent) -----------------------------------

    def create_asset_image_scan_task(self, params=None, **kwargs):
        """T1: start a scan; returns ``TaskID``."""
        return self.call("CreateAssetImageScanTask", dict(params or {}, **kwargs))

    def modify_asset_image_scan_stop(self, params=None, **kwargs):
        """T4: stop a scan."""
        return self.call("ModifyAssetImageScanStop", dict(params or {}, **kwargs))
