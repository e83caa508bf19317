"""Helpers for the conformance tests: starting the emulator, SDK clients, raw signed requests,
model type checks and polling."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVE = os.path.join(REPO, "tests", "emulator", "serve.py")

# The Huawei SDK writes $HOME/.huaweicloud/application_id when it is imported: give it a
# private HOME for the import (conftest keeps HOME pointed there while tests run).
SDK_HOME = tempfile.mkdtemp(prefix="conformance-home-")
_saved_home = os.environ.get("HOME")
os.environ["HOME"] = SDK_HOME
try:
    import requests  # noqa: E402
    from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
    from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402
    from huaweicloudsdkcore.signer.signer import Signer  # noqa: E402
    from huaweicloudsdkhss.v5 import HssClient  # noqa: E402
    from huaweicloudsdkhss.v5 import model as hss_models  # noqa: E402
    from tencentcloud.common import credential  # noqa: E402
    from tencentcloud.common.http.request import RequestInternal  # noqa: E402
    from tencentcloud.common.profile.client_profile import ClientProfile  # noqa: E402
    from tencentcloud.common.profile.http_profile import HttpProfile  # noqa: E402
    from tencentcloud.tcss.v20201101 import models as tc_models  # noqa: E402
    from tencentcloud.tcss.v20201101 import tcss_client  # noqa: E402
finally:
    if _saved_home is None:
        os.environ.pop("HOME", None)
    else:
        os.environ["HOME"] = _saved_home

HSS_AK = "HWAKCONFORMANCE00001"
HSS_SK = "hwSkConformanceSecret000000000000000000"
HSS_PROJECT = "0123456789abcdef0123456789abcdef"
HSS_TOKEN = "conformance-iam-token"
TC_ID = "AKIDCONFORMANCE000000000000000000000"
TC_KEY = "tcConformanceSecretKey0000000000"
SCAN_SECONDS = 2.0


# ---------------------------------------------------------------------------------------------
# Process control
# ---------------------------------------------------------------------------------------------


class Emulator:
    """A running ``serve.py`` subprocess."""

    def __init__(self, *extra, scan_seconds=SCAN_SECONDS, token=True, timeout=20):
        args = [sys.executable, SERVE, "--host", "127.0.0.1", "--port", "0",
                "--hss-ak", HSS_AK, "--hss-sk", HSS_SK, "--hss-project-id", HSS_PROJECT,
                "--tcss-secret-id", TC_ID, "--tcss-secret-key", TC_KEY,
                "--scan-seconds", str(scan_seconds)]
        if token:
            args += ["--hss-token", HSS_TOKEN]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.first_line = self._read_first_line(timeout)
        match = re.fullmatch(r"listening on (https?)://([^:]+):(\d+)", self.first_line)
        if not match:
            self.stop()
            raise AssertionError("unexpected first line %r" % self.first_line)
        self.scheme, self.host, self.port = match.group(1), match.group(2), int(match.group(3))
        self.url = "%s://%s:%d" % (self.scheme, self.host, self.port)
        self.netloc = "%s:%d" % (self.host, self.port)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or CA bundles from the environment

    def _read_first_line(self, timeout):
        deadline = time.monotonic() + timeout
        import selectors  # pylint: disable=import-outside-toplevel
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                line = self.proc.stdout.readline()
                if line:
                    return line.strip()
            if self.proc.poll() is not None:
                raise AssertionError("the emulator exited: %s" % self.proc.stderr.read())
        self.proc.kill()
        raise AssertionError("the emulator did not print its address in %ss" % timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop with ``sig``; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("the emulator ignored signal %s" % sig)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.proc.returncode

    # -- admin -----------------------------------------------------------------------------------

    def admin(self, method, name, payload=None, **kwargs):
        response = self.session.request(method, "%s/_emulator/%s" % (self.url, name),
                                        json=payload, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self, **kwargs):
        return self.admin("GET", "stats", **kwargs)

    def reset(self, **kwargs):
        return self.admin("POST", "reset", **kwargs)

    def faults(self, spec, **kwargs):
        return self.admin("POST", "faults", spec, **kwargs)

    def dataset(self, **kwargs):
        return self.admin("GET", "dataset", **kwargs)

    # -- SDK clients -----------------------------------------------------------------------------

    def hss_client(self, ak=HSS_AK, sk=HSS_SK, project=HSS_PROJECT, verify=None):
        from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa
        config = HttpConfig.get_default_config()
        config.timeout = (5, 30)
        if verify:
            config.ssl_ca_cert = verify
        return (HssClient.new_builder().with_http_config(config)
                .with_credentials(BasicCredentials(ak, sk, project))
                .with_endpoints([self.url]).build())

    def tcss_client(self, secret_id=TC_ID, secret_key=TC_KEY):
        profile = HttpProfile(endpoint=self.netloc, protocol=self.scheme, reqTimeout=30)
        return tcss_client.TcssClient(credential.Credential(secret_id, secret_key), "",
                                      ClientProfile(httpProfile=profile))

    # -- raw signed requests -----------------------------------------------------------------------

    def hss_signed(self, method, path, query=None, body=None, ak=HSS_AK, sk=HSS_SK,
                   sdk_date=None, extra_headers=None):
        """Sign with the Huawei SDK signer; returns ``(url, headers, body bytes)``.

        ``body`` is JSON-encoded unless it is already ``bytes``."""
        headers = {"Content-Type": "application/json", "X-Project-Id": HSS_PROJECT}
        if sdk_date:
            headers["X-Sdk-Date"] = sdk_date
        headers.update(extra_headers or {})
        if isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode("utf-8") if body is not None else b""
        request = SdkRequest(method=method, schema=self.scheme, host=self.netloc,
                             resource_path=path, query_params=list((query or {}).items()),
                             header_params=headers, body=data)
        signed = Signer(BasicCredentials(ak, sk, HSS_PROJECT)).sign(request)
        return "%s://%s%s" % (self.scheme, self.netloc, signed.uri), signed.header_params, data

    def hss_raw(self, method, path, query=None, body=None, **kwargs):
        url, headers, data = self.hss_signed(method, path, query, body, **kwargs)
        return self.session.request(method, url, headers=headers, data=data, timeout=30)

    def tc_signed(self, action, params, secret_id=TC_ID, secret_key=TC_KEY, timestamp=None):
        """Build and sign a TCSS request with the Tencent SDK itself; returns
        ``(url, headers, body bytes)``."""
        client = self.tcss_client(secret_id, secret_key)
        request = RequestInternal(self.netloc, "POST", "/", header={})
        if timestamp is None:
            client._build_req_inter(action, params, request)  # pylint: disable=protected-access
        else:
            from tencentcloud.common import abstract_client  # noqa
            real_time = abstract_client.time.time
            abstract_client.time.time = lambda: timestamp
            try:
                client._build_req_inter(action, params, request)  # pylint: disable=protected-access
            finally:
                abstract_client.time.time = real_time
        data = request.data if isinstance(request.data, bytes) else request.data.encode("utf-8")
        return "%s://%s/" % (self.scheme, self.netloc), dict(request.header), data

    def tc_raw(self, action, params, **kwargs):
        url, headers, data = self.tc_signed(action, params, **kwargs)
        return self.session.post(url, headers=headers, data=data, timeout=30)


def registry_image_info(row):
    """The H1 ``image_info`` entry that names the registry image of an H6 row."""
    return hss_models.CreateManualImageScanTaskReqInfoImageInfo(
        id=row.id, image_digest=row.image_digest, namespace=row.namespace,
        image_name=row.image_name, image_version=row.image_version,
        registry_id=row.registry_id, registry_name=row.registry_name,
        registry_type=row.registry_type, instance_id=row.instance_id)


def tc_call(client, action, params):
    """Call a TCSS action through its typed SDK method; returns the response model."""
    request = getattr(tc_models, action + "Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


# ---------------------------------------------------------------------------------------------
# Type checks against the SDK models
# ---------------------------------------------------------------------------------------------

_PRIMITIVES = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float),
               "object": (object,)}


def check_hw_types(data, model, path="$"):
    """Check raw JSON ``data`` against a Huawei model's ``openapi_types``.

    Returns the list of problems (wrong types). Unknown keys are ignored.
    """
    cls = getattr(hss_models, model) if isinstance(model, str) else model
    problems = []
    if not isinstance(data, dict):
        return ["%s: expected an object for %s, got %r" % (path, cls.__name__, data)]
    for attr, type_name in cls.openapi_types.items():
        key = cls.attribute_map[attr]
        if key in data and data[key] is not None:
            problems += _check_hw_value(data[key], type_name, "%s.%s" % (path, key))
    return problems


def _check_hw_value(value, type_name, path):
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return ["%s: expected a list, got %r" % (path, value)]
        inner = type_name[5:-1]
        problems = []
        for i, item in enumerate(value):
            problems += _check_hw_value(item, inner, "%s[%d]" % (path, i))
        return problems
    if type_name in _PRIMITIVES:
        ok = isinstance(value, _PRIMITIVES[type_name])
        if type_name in ("int", "float") and isinstance(value, bool):
            ok = False
        return [] if ok else ["%s: expected %s, got %r" % (path, type_name, value)]
    return check_hw_types(value, type_name, path)


def hw_fields(model):
    cls = getattr(hss_models, model)
    return {cls.attribute_map[a] for a in cls.openapi_types}


_RTYPE = re.compile(r":rtype:\s*(.+?)\s*$", re.S)


def tc_property_types(cls):
    """``{field: rtype text}`` of a Tencent model class, read from its property docstrings."""
    types = {}
    for name, member in vars(cls).items():
        if isinstance(member, property) and member.fget.__doc__:
            match = _RTYPE.search(member.fget.__doc__)
            if match:
                types[name] = match.group(1).strip()
    return types


def _tc_class(rtype):
    match = re.search(r"models\.(\w+)", rtype)
    return getattr(tc_models, match.group(1)) if match else getattr(tc_models, rtype, None)


def check_tc_types(obj, path="$"):
    """Check every field of a deserialised Tencent model object against its docstring type."""
    problems = []
    for name, rtype in tc_property_types(type(obj)).items():
        value = getattr(obj, name)
        if value is None:
            continue
        problems += _check_tc_value(value, rtype, "%s.%s" % (path, name))
    return problems


def _check_tc_value(value, rtype, path):
    if rtype.startswith("list of "):
        if not isinstance(value, list):
            return ["%s: expected a list, got %r" % (path, value)]
        problems = []
        for i, item in enumerate(value):
            problems += _check_tc_value(item, rtype[len("list of "):], "%s[%d]" % (path, i))
        return problems
    if rtype in _PRIMITIVES:
        ok = isinstance(value, _PRIMITIVES[rtype])
        if rtype in ("int", "float") and isinstance(value, bool):
            ok = False
        return [] if ok else ["%s: expected %s, got %r" % (path, rtype, value)]
    cls = _tc_class(rtype)
    if cls is None:
        return ["%s: unknown type %s" % (path, rtype)]
    if not isinstance(value, cls):
        return ["%s: expected %s, got %r" % (path, cls.__name__, value)]
    return check_tc_types(value, path)


def tc_fields(model):
    return set(tc_property_types(getattr(tc_models, model)))


# ---------------------------------------------------------------------------------------------
# Polling
# ---------------------------------------------------------------------------------------------


def poll(fetch, done, timeout=15.0, interval=0.1):
    """Call ``fetch()`` until ``done(value)`` is true; returns every value seen (in order).

    Fails when the deadline passes first.
    """
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        seen.append(value)
        if done(value):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in %ss; last value: %r" % (timeout, value))
        time.sleep(interval)
