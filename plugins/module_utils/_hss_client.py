# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Client of the Huawei Cloud Host Security Service (HSS) v5 image-scan APIs.

It builds each request the way the official Python SDK does (path, canonical query, JSON
body, headers), signs it with SDK-HMAC-SHA256 (or sends an IAM token), and turns every
failure into an ``ApiError``. Sending and retrying belong to the ``HttpTransport``.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _http, _signing

CLOUD = "hss"

# The region whose endpoint does not follow the rule.
_SPECIAL_HOSTS = {"eu-west-101": "hss.eu-west-101.myhuaweicloud.eu"}

THROTTLING_CODE = "APIGW.0308"

#: Page size of every listing walk (the largest every HSS list API accepts).
PAGE_SIZE = 200

# operation -> (method, path template, idempotent)
APIS = {
    "CreateManualImageScanTask": ("POST", "/v5/{project_id}/image/image-scan/tasks", False),
    "ListImageScanTask": ("GET", "/v5/{project_id}/image/tasks", True),
    "BatchScanLocalImage": ("POST", "/v5/{project_id}/image/local/batch-scan", False),
    "StopImageScanTask": ("PUT", "/v5/{project_id}/image/image-scan/tasks/{task_id}/stop", False),
    "ListImageLocal": ("GET", "/v5/{project_id}/image/local-repositories", True),
    "ListRegistryImages": ("GET", "/v5/{project_id}/image/registries/images", True),
    "ListImageVulnerabilities": ("GET", "/v5/{project_id}/image/{image_id}/vulnerabilities", True),
    "ListHostStatus": ("GET", "/v5/{project_id}/host-management/hosts", True),
    "ListGeneralImageVuls": ("GET", "/v5/{project_id}/images/vulnerabilities", True),
    "ListVulAffectImages": ("GET", "/v5/{project_id}/vulnerability/images", True),
    "ListVulAffectImageApps": ("GET", "/v5/{project_id}/image/vulnerability/{image_id}/apps", True),
}


def region_endpoint(region):
    """The HSS endpoint URL of a region."""
    _http.check_region(region)
    host = _SPECIAL_HOSTS.get(region, "hss.%s.myhuaweicloud.com" % region)
    return "https://%s" % host


def _error_fields(document):
    """``(code, message)`` from an HSS error document, looked up as the SDK does."""
    for code_key, msg_key in (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")):
        if code_key in document and msg_key in document:
            return document.get(code_key), document.get(msg_key)
    for value in document.values():
        if isinstance(value, dict):
            code, message = _error_fields(value)
            if code or message:
                return code, message
    return None, None


def _request_id(response):
    return response.headers.get("X-Request-Id") or response.headers.get("x-request-id")


def _parse_json(content):
    """The JSON document of a body, ``{}`` for an empty body; ``ValueError`` when garbled."""
    if not content or not content.strip():
        return {}
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    return json.loads(content)


def classify_response(response):
    """Turn an HSS answer into an ``Outcome``."""
    status = response.status_code
    request_id = _request_id(response)
    try:
        document = _parse_json(response.content)
    except ValueError:
        document = None
    if 200 <= status < 300:
        if isinstance(document, dict):
            return _http.Outcome(_http.Outcome.OK, data=document, status=status, request_id=request_id)
        return _http.Outcome(_http.Outcome.INVALID, status=status, code=_http.INVALID_RESPONSE, request_id=request_id,
                             message="unreadable answer (%s)" % _describe_body(response))
    if status < 400:
        return _http.Outcome(_http.Outcome.INVALID, status=status, code=_http.INVALID_RESPONSE, request_id=request_id,
                             message="unexpected HTTP %s answer" % status)
    code = message = None
    if isinstance(document, dict):
        code, message = _error_fields(document)
    code = str(code) if code else str(status)
    message = str(message) if message else _http.shorten(response.text or "no message")
    if status == 429 or code == THROTTLING_CODE:
        kind = _http.Outcome.THROTTLED
    elif status >= 500:
        kind = _http.Outcome.SERVER_ERROR
    else:
        kind = _http.Outcome.API_ERROR
    return _http.Outcome(kind, status=status, code=code, message=message, request_id=request_id)


def _describe_body(response):
    content_type = response.headers.get("Content-Type") or "no content type"
    return "%s, %d bytes" % (content_type, len(response.content or b""))


def _json_body(body):
    """The request body as the SDK writes it: ASCII-escaped JSON, ``None`` fields dropped."""
    return json.dumps(_http.drop_none(body if body is not None else {})).encode("utf-8")


class HssClient(object):
    """HSS v5 client: one method per API, signed with AK/SK or sent with an IAM token.

    ``endpoint`` (a full URL; any path in it is ignored) wins over the endpoint derived from
    ``region``; the ``region`` header is sent on every call when a region is known. With both
    AK/SK and ``auth_token`` set, requests are signed with AK/SK.

    ``user_agent`` overrides the ``User-Agent`` value. Signatures are dated by ``_clock``.

    ``call(operation, params, body)`` sends any API of ``APIS``: the members of ``params`` that
    the path names (``task_id``, ``image_id``) go into the path, the others into the query.
    ``paginate(operation, params, max_results)`` walks a list API, as the TCSS client does.
    """

    def __init__(self, transport, project_id, region=None, endpoint=None, access_key=None,
                 secret_key=None, security_token=None, auth_token=None, enterprise_project_id=None,
                 user_agent=None):
        if not project_id:
            raise ValueError("a project id is required")
        if not ((access_key and secret_key) or auth_token):
            raise ValueError("credentials are required: access key and secret key, or an auth token")
        self.transport = transport
        self.project_id = str(project_id)
        self.region = _http.check_region(region) if region else None
        if endpoint:
            self.scheme, self.netloc = _http.parse_endpoint(endpoint)
        else:
            self.scheme, self.netloc = _http.parse_endpoint(region_endpoint(region))
        self.base_url = "%s://%s" % (self.scheme, self.netloc)
        self.enterprise_project_id = enterprise_project_id or None
        self.user_agent = user_agent or _http.USER_AGENT
        self._access_key = access_key
        self._secret_key = secret_key
        self._security_token = security_token
        self._auth_token = auth_token
        self._signed = bool(access_key and secret_key)
        transport.add_secrets(access_key, secret_key, security_token, auth_token)

    def __repr__(self):
        return "HssClient(endpoint=%r, project_id=%r, region=%r)" % (
            self.base_url, self.project_id, self.region)

    # -- building requests ---------------------------------------------------------------

    def _split(self, template, params):
        """``(path, query)``: the path with the members of ``params`` it names, and the rest."""
        query = {}
        path = template.replace("{project_id}", quote(self.project_id, safe=""))
        for name, value in (params or {}).items():
            placeholder = "{%s}" % name
            if placeholder in path:
                path = path.replace(placeholder, quote(str(value), safe=""))
            else:
                query[name] = value
        return path, query

    def _query_pairs(self, query):
        query = dict(query or {})
        if self.enterprise_project_id and query.get("enterprise_project_id") is None:
            query["enterprise_project_id"] = self.enterprise_project_id
        return _signing.hss_query_pairs(query)

    def _headers(self):
        headers = {"User-Agent": self.user_agent}
        if self.region:
            headers["region"] = self.region
        headers["Content-Type"] = "application/json"
        headers["X-Project-Id"] = self.project_id
        return headers

    def _sdk_date(self):
        return _signing.hss_date(_clock.utc_now())

    def build_request(self, operation, params=None, body=None):
        """``(method, url, headers, body)`` of one call, signed now."""
        method, template, dummy = APIS[operation]
        path, query = self._split(template, params)
        pairs = self._query_pairs(query)
        canonical_query = _signing.hss_canonical_query(pairs)
        url = self.base_url + path + ("?" + canonical_query if canonical_query else "")
        headers = self._headers()
        if self._signed:
            if self._security_token:
                headers["X-Security-Token"] = self._security_token
            headers["X-Sdk-Date"] = self._sdk_date()
            headers = _signing.hss_sign(self._access_key, self._secret_key, method, self.netloc,
                                        path, pairs, headers, body)
        else:
            headers["Host"] = self.netloc
            headers["X-Auth-Token"] = self._auth_token
        return method, url, headers, body

    def call(self, operation, params=None, body=None):
        """Send one API call (see ``APIS``) and return its decoded JSON answer."""
        dummy, dummy2, idempotent = APIS[operation]
        payload = _json_body(body) if body is not None else None

        def prepare():
            return self.build_request(operation, params, payload)

        return self.transport.request(operation, prepare, classify_response, idempotent, cloud=CLOUD)

    # -- the calls that change state (not idempotent) ------------------------------------

    def create_manual_image_scan_task(self, body, global_image_type=None):
        """H1: trigger a scan of registry or local images. Returns no task id."""
        return self.call("CreateManualImageScanTask", {"global_image_type": global_image_type},
                         body=body if body is not None else {})

    def batch_scan_local_image(self, body):
        """H3: scan local (node) images."""
        return self.call("BatchScanLocalImage", body=body if body is not None else {})

    def stop_image_scan_task(self, task_id):
        """H4: stop a task."""
        return self.call("StopImageScanTask", {"task_id": task_id})

    # -- reading ---------------------------------------------------------------------------

    def paginate(self, operation, params=None, max_results=None):
        """Every row of a list API (``data_list``), walking ``offset``/``limit`` (``PAGE_SIZE``)
        until ``total_num`` rows; ``max_results`` caps the rows."""
        params = dict(params or {})
        offset, limit = int(params.pop("offset", 0) or 0), int(params.pop("limit", 0) or PAGE_SIZE)

        def fetch(start, size):
            page = self.call(operation, dict(params, offset=start, limit=size)) or {}
            return page.get("data_list") or [], page.get("total_num")

        return _http.paginate(fetch, offset, limit, max_results)
