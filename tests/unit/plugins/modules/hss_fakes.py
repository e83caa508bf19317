# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fake HSS transport for the module tests, and a runner for module ``main()`` functions.

``FakeHss`` is a ``requests`` adapter: the real client signs and sends every request to it,
it records each one (operation, query, body) and answers from per-operation handlers that a
test sets. List APIs page their rows by ``offset``/``limit`` as HSS does.
"""

from __future__ import annotations

import email.utils
import fcntl
import json
import os
import re
from urllib.parse import parse_qsl, urlsplit

import requests
from ansible.module_utils.testing import patch_module_args
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _hss_module
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import HttpTransport, RetryPolicy
from ansible_collections.cloudsec.image_scan.tests.unit import clock as fake_clock

PROJECT = "0123456789abcdef0123456789abcdef"
SECRET = "SKSECRETUNITTEST0000000000000001"
ARGS = {"access_key": "AKUNITTEST", "secret_key": SECRET, "project_id": PROJECT,
        "region": "cn-north-4", "endpoint": "https://hss.test.invalid"}
ENV_NAMES = ["HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK",
             "HUAWEICLOUD_SDK_SECURITY_TOKEN", "HUAWEICLOUD_SDK_AUTH_TOKEN", "HUAWEICLOUD_SDK_PROJECT_ID",
             "HUAWEICLOUD_SDK_REGION", "HUAWEICLOUD_SDK_ENDPOINT"]

NOW = 1767225600.0  # 2026-01-01T00:00:00Z
NOW_MS = int(NOW * 1000)

_ROUTES = [
    ("POST", r"/image/image-scan/tasks$", "CreateManualImageScanTask"),
    ("GET", r"/image/tasks$", "ListImageScanTask"),
    ("POST", r"/image/local/batch-scan$", "BatchScanLocalImage"),
    ("PUT", r"/image/image-scan/tasks/(?P<task_id>[^/]+)/stop$", "StopImageScanTask"),
    ("GET", r"/image/local-repositories$", "ListImageLocal"),
    ("GET", r"/image/registries/images$", "ListRegistryImages"),
    ("GET", r"/image/(?P<image_id>[^/]+)/vulnerabilities$", "ListImageVulnerabilities"),
    ("GET", r"/host-management/hosts$", "ListHostStatus"),
    ("GET", r"/images/vulnerabilities$", "ListGeneralImageVuls"),
    ("GET", r"/vulnerability/images$", "ListVulAffectImages"),
    ("GET", r"/image/vulnerability/(?P<image_id>[^/]+)/apps$", "ListVulAffectImageApps"),
]


class Call(object):
    """One request as the fake received it."""

    def __init__(self, op, method, path, query, body, headers, params):
        self.op = op
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
        self.params = params

    def __repr__(self):
        return "Call(%s %s %s)" % (self.op, self.query, self.body)


def _response(request, status, body, headers=None):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode("utf-8") if not isinstance(body, bytes) else body  # pylint: disable=protected-access
    response.headers = CaseInsensitiveDict(dict({"X-Request-Id": "req-%d" % status}, **(headers or {})))
    response.encoding = "utf-8"
    response.request = request
    response.url = request.url
    return response


def page(rows, call):
    """An HSS list answer of ``rows`` for the ``offset``/``limit`` of ``call``."""
    offset = int(call.query.get("offset", 0))
    limit = int(call.query.get("limit", 10))
    return {"total_num": len(rows), "data_list": rows[offset:offset + limit]}


class FakeHss(BaseAdapter):
    """Records every request and answers from ``handlers[operation]``.

    A handler is a callable ``f(call)`` returning a body (status 200), a ``(status, body)``
    tuple, or raising an exception (a network failure); or a list of such callables/values,
    consumed one per call (the last one stays).
    """

    def __init__(self):
        super(FakeHss, self).__init__()
        self.handlers = {}
        self.calls = []
        self.warnings = []
        #: When set, every answer has a ``Date`` header this many seconds ahead of the (fake) clock.
        self.server_ahead = None

    def on(self, op, *handlers):
        self.handlers[op] = list(handlers)

    def ops(self, op=None):
        names = [call.op for call in self.calls]
        return names if op is None else names.count(op)

    def of(self, op):
        return [call for call in self.calls if call.op == op]

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        prefix = "/v5/%s" % PROJECT
        assert parts.path.startswith(prefix), parts.path
        rest = parts.path[len(prefix):]
        for method, pattern, op in _ROUTES:
            match = re.search(pattern, rest)
            if method == request.method and match:
                break
        else:
            raise AssertionError("no route for %s %s" % (request.method, request.url))
        body = json.loads(request.body) if request.body else None
        call = Call(op, request.method, rest, dict(parse_qsl(parts.query, keep_blank_values=True)), body,
                    request.headers, match.groupdict())
        self.calls.append(call)
        queue = self.handlers.get(op)
        if not queue:
            raise AssertionError("unexpected request %s %s" % (op, call.query))
        handler = queue.pop(0) if len(queue) > 1 else queue[0]
        answer = handler(call) if callable(handler) else handler
        if isinstance(answer, BaseException):
            raise answer
        status, data = answer if isinstance(answer, tuple) else (200, answer)
        headers = None
        if self.server_ahead is not None:
            headers = {"Date": email.utils.formatdate(_clock.now() + self.server_ahead, usegmt=True)}
        return _response(request, status, data, headers)

    def close(self):
        pass


def lister(rows, filters=(), status_words=None):
    """A list handler over ``rows`` (a list, or a callable returning one) that applies the equality
    ``filters`` named (query key, or ``(query key, row key)``) and pages the result."""
    words = status_words or {"waiting_for_scan": ("waiting", "waiting_for_scan")}

    def handle(call):
        selected = rows() if callable(rows) else rows
        for item in filters:
            key, field = item if isinstance(item, tuple) else (item, item)
            if key not in call.query:
                continue
            wanted = call.query[key]
            if key == "scan_status":
                accepted = words.get(wanted, (wanted,))
                selected = [row for row in selected if row.get(field) in accepted]
            else:
                selected = [row for row in selected if str(row.get(field)).lower() == wanted.lower()]
        return page(list(selected), call)

    return handle


def install(monkeypatch, retries=2):
    """Route every HSS module's traffic to a new ``FakeHss``; pin the clocks. Returns
    ``(fake, clock)``."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    fake = FakeHss()
    clock = fake_clock.install(monkeypatch, fake_clock.FakeClock(start=100.0, wall=NOW))

    def build_transport(self):
        session = requests.Session()
        session.mount("https://", fake)
        session.mount("http://", fake)
        return HttpTransport(session=session, retry_policy=RetryPolicy(
            retries=retries, delay=0.0, max_delay=0.0))

    def warn(self, warning):
        fake.warnings.append(warning)

    monkeypatch.setattr(_hss_module.HssModule, "_build_transport", build_transport)
    monkeypatch.setattr(_hss_module.HssModule, "warn", warn)
    return fake, clock


def run_module(main, args, capsys, check_mode=False, with_credentials=True):
    """Run a module's ``main()``; returns its result (with ``failed`` when it failed)."""
    module_args = dict(ARGS) if with_credentials else {}
    module_args.update(args)
    if check_mode:
        module_args["_ansible_check_mode"] = True
    with patch_module_args(module_args):
        try:
            main()
        except SystemExit:
            pass
        else:
            raise AssertionError("the module did not exit")
    out = capsys.readouterr().out
    return json.loads(out)


# -- rows as HSS returns them ----------------------------------------------------------------


def task_row(task_id="t-1", status=100, begin_ms=None, image_type="registry", total=1, success=1, failed=0,
             risky=0, failed_images=None, remain=0):
    begin_ms = NOW_MS + 1000 if begin_ms is None else begin_ms
    return {
        "task_id": task_id, "policy_id": "", "task_name": "manual_scan_%s" % task_id, "begin_time": begin_ms,
        "end_time": begin_ms + 60000 if status == 100 or status < 0 else 0, "remain_min": remain,
        "task_type": "manual", "image_type": image_type, "task_status": status, "scan_scope": 2147483647,
        "rate_limit": 0, "is_all": False, "failed_num": failed, "success_num": success, "total_num": total,
        "risky_num": risky, "sync_task_type": "", "failed_reason": "", "failed_images": failed_images or [],
    }


def registry_row(rid=1001, name="cart", version="2.3.1", namespace="shop", status="unscan", scan_ms=0,
                 vul_num=0, severity=None, rtype="SwrPrivate", failed=""):
    row = {
        "id": rid, "namespace": namespace, "image_name": name, "image_id": "img-%d" % rid,
        "image_digest": "sha256:%064d" % rid, "image_version": version, "image_type": "private_image",
        "latest_version": True, "scan_status": status, "scan_failed_desc": failed, "image_size": 1000,
        "latest_update_time": NOW_MS - 86400000, "latest_scan_time": scan_ms, "vul_num": vul_num,
        "unsafe_setting_num": 0, "malicious_file_num": 0, "domain_name": "swr.example", "scannable": True,
        "association_images": [], "registry_id": "reg-1", "registry_name": "swr-1", "registry_type": rtype,
        "scan_failed_code": failed, "is_multiple_arch": False,
    }
    if severity:
        row["severity_level"] = severity
    return row


def registry_image(row):
    """The ``images`` entry of ``hss_image_scan`` for a registry row."""
    return {"id": row["id"], "image_digest": row["image_digest"], "namespace": row["namespace"],
            "image_name": row["image_name"], "image_version": row["image_version"],
            "registry_id": row["registry_id"], "registry_name": row["registry_name"],
            "registry_type": row["registry_type"]}


def local_row(image_id="li-1", name="nginx", version="1.25", host="node-01", status="unscan", scan_ms=0,
              vul_num=0, severity=None, failed=""):
    row = {
        "image_name": name, "image_id": image_id, "image_digest": "sha256:d-%s" % image_id,
        "image_version": version, "local_image_type": "other_image", "scan_status": status,
        "image_size": 1000, "latest_update_time": NOW_MS - 86400000, "latest_scan_time": scan_ms,
        "vul_num": vul_num, "unsafe_setting_num": 0, "malicious_file_num": 0, "host_num": 1,
        "container_num": 0, "component_num": 3, "scan_failed_desc": failed, "host_name": host,
        "host_id": "hid-%s" % host, "agent_id": "agent-%s" % host, "non_scan_reason": "",
    }
    if severity:
        row["severity_level"] = severity
    return row


# -- turns to trigger ---------------------------------------------------------------------------


def lock_held(path):
    """Whether another holder has the lock file ``path`` now (``None``: no such file yet)."""
    if path is None or not os.path.exists(path):
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
