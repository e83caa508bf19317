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
import time

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _signing
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import (
    INVALID_RESPONSE,
    ApiError,
    USER_AGENT,
    Outcome,
    check_region,
    drop_none,
    parse_endpoint,
    shorten,
)

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


def _invalid(status, message, request_id=None):
    return Outcome(Outcome.INVALID, status=status, code=INVALID_RESPONSE, message=message,
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
        kind = Outcome.THROTTLED if status == 429 else Outcome.SERVER_ERROR
        return Outcome(kind, status=status, code=str(status),
                       message=shorten(response.text or "HTTP %s without a body" % status))
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
        return Outcome(Outcome.OK, data=answer, status=status, request_id=request_id)
    if not isinstance(error, dict):
        return _invalid(status, "answer with an unreadable Error", request_id)
    code = str(error.get("Code") or "UnknownError")
    message = str(error.get("Message") or "no message")
    if code.startswith(THROTTLING_PREFIX):
        kind = Outcome.THROTTLED
    elif code.startswith(SERVER_ERROR_PREFIXES):
        kind = Outcome.SERVER_ERROR
    else:
        kind = Outcome.API_ERROR
    return Outcome(kind, status=status, code=code, message=message, request_id=request_id)


class TcssClient(object):
    """TCSS client: ``call(action, params)`` plus thin wrappers for the actions we use.

    The endpoint is ``endpoint`` (a full URL; the path is ignored, calls go to ``/``), else
    the international host when ``international`` is true, else the default host.
    ``clock`` returns the current Unix time (tests pin it).
    """

    def __init__(self, transport, secret_id, secret_key, session_token=None, region=None,
                 endpoint=None, international=False, language=None, user_agent=None,
                 clock=time.time):
        if not (secret_id and secret_key):
            raise ValueError("credentials are required: secret id and secret key")
        if language is not None and language not in LANGUAGES:
            raise ValueError("language must be one of %s" % ", ".join(LANGUAGES))
        self.transport = transport
        if not endpoint:
            endpoint = INTERNATIONAL_ENDPOINT if international else DEFAULT_ENDPOINT
        self.scheme, self.netloc = parse_endpoint(endpoint)
        self.url = "%s://%s/" % (self.scheme, self.netloc)
        self.region = check_region(region) if region else None
        self.language = language or None
        self.user_agent = user_agent or USER_AGENT
        self._clock = clock
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._session_token = session_token or None
        transport.add_secrets(secret_id, secret_key, session_token)

    def __repr__(self):
        return "TcssClient(url=%r, region=%r)" % (self.url, self.region)

    def build_request(self, action, body):
        """``(method, url, headers, body)`` of one call, signed now. ``body`` is bytes."""
        timestamp = int(self._clock())
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

    def call(self, action, params=None, idempotent=None, deadline=None):
        """Send one action and return its ``Response`` object (``RequestId`` included).

        ``idempotent`` defaults to false for the actions that change state
        (``NOT_IDEMPOTENT``) and true for the others.
        """
        if idempotent is None:
            idempotent = action not in NOT_IDEMPOTENT
        body = json.dumps(drop_none(params or {})).encode("utf-8")

        def prepare():
            return self.build_request(action, body)

        return self.transport.request(action, prepare, classify_response, idempotent,
                                      cloud=CLOUD, deadline=deadline)

    def paginate(self, action, params=None, limit=100, max_results=None, list_key="List"):
        """Every item of a list action, walking ``Offset``/``Limit`` up to ``TotalCount``."""
        params = dict(params or {})
        offset = int(params.pop("Offset", 0) or 0)
        params.pop("Limit", None)
        items = []
        while max_results is None or len(items) < max_results:
            page = self.call(action, dict(params, Offset=offset, Limit=limit))
            rows = page.get(list_key) or []
            items.extend(rows)
            offset += len(rows)
            total = page.get("TotalCount")
            if not rows or (total is not None and offset >= int(total)):
                break
            if total is None and len(rows) < limit:
                break
        return items if max_results is None else items[:max_results]

    # -- thin wrappers (T1..T8) -----------------------------------------------------------

    def _action(self, action, params, kwargs):
        return self.call(action, dict(params or {}, **kwargs))

    def create_asset_image_scan_task(self, params=None, **kwargs):
        """T1: start a scan; returns ``TaskID``. Not idempotent."""
        return self._action("CreateAssetImageScanTask", params, kwargs)

    def describe_asset_image_scan_status(self, params=None, **kwargs):
        """T2: progress of a task (``TaskID``)."""
        return self._action("DescribeAssetImageScanStatus", params, kwargs)

    def describe_asset_image_scan_task(self, params=None, **kwargs):
        """T3: the current one-click scan task."""
        return self._action("DescribeAssetImageScanTask", params, kwargs)

    def modify_asset_image_scan_stop(self, params=None, **kwargs):
        """T4: stop a scan. Not idempotent."""
        return self._action("ModifyAssetImageScanStop", params, kwargs)

    def describe_asset_image_list(self, params=None, **kwargs):
        """T5: one page of images with their scan status and counts."""
        return self._action("DescribeAssetImageList", params, kwargs)

    def describe_asset_image_vul_list(self, params=None, **kwargs):
        """T6: one page of vulnerabilities of one image (``ImageID``)."""
        return self._action("DescribeAssetImageVulList", params, kwargs)

    def describe_asset_host_list(self, params=None, **kwargs):
        """T7: one page of hosts."""
        return self._action("DescribeAssetHostList", params, kwargs)

    def describe_asset_image_host_list(self, params=None, **kwargs):
        """T8: image-to-host pairs."""
        return self._action("DescribeAssetImageHostList", params, kwargs)

    def image_host_pairs(self, name=None, values=None, chunk=100):
        """Every T8 pair, optionally only those whose ``name`` (``ImageID`` / ``HostID``) is in
        ``values``.

        T8 takes ``Filters`` only (no ``Limit``/``Offset``). When an answer holds fewer pairs
        than its ``TotalCount``, the values are split and asked again; without values the
        whole listing cannot be narrowed and that is an error, as is a single value whose
        answer is still short: a partial mapping would leave hosts without their images.
        """
        if name is None:
            return self._complete_pairs({}, None)
        pairs = []
        values = list(values or ())
        for start in range(0, len(values), chunk):
            pairs.extend(self._pairs_for(name, values[start:start + chunk]))
        return pairs

    def _pairs_for(self, name, values):
        params = {"Filters": [{"Name": name, "Values": values}]}
        if len(values) == 1:
            return self._complete_pairs(params, "%s %s" % (name, values[0]))
        answer = self.describe_asset_image_host_list(params)
        rows = list(answer.get("List") or [])
        total = answer.get("TotalCount")
        if total is None or len(rows) >= int(total):
            return rows
        half = len(values) // 2
        return self._pairs_for(name, values[:half]) + self._pairs_for(name, values[half:])

    def _complete_pairs(self, params, what):
        answer = self.describe_asset_image_host_list(params)
        rows = list(answer.get("List") or [])
        total = answer.get("TotalCount")
        if total is not None and len(rows) < int(total):
            raise ApiError(CLOUD, "DescribeAssetImageHostList",
                           "the answer for %s holds %d of %s image-host pairs and cannot be "
                           "narrowed further" % (what or "every image", len(rows), total),
                           code="IncompleteAnswer", request_id=answer.get("RequestId"))
        return rows
