# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared test helpers: fixture files, a scripted ``requests`` adapter, a fake clock, and the
exceptions ``requests`` raises for each kind of network failure (built as requests builds
them, so the transport sees the same exception chains as in real life)."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import types

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
import urllib3
from urllib3 import exceptions as u3

from ansible_collections.cloudsec.image_scan.tests.unit.clock import FakeClock, install

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def load_fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def make_response(status=200, body=b"", headers=None, request=None):
    """A ``requests.Response`` as an adapter returns it."""
    response = requests.Response()
    response.status_code = status
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode("utf-8")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    response._content = body  # pylint: disable=protected-access
    response.headers = CaseInsensitiveDict(headers or {})
    response.encoding = "utf-8"
    response.request = request
    response.url = request.url if request is not None else "http://fake/"
    response.reason = http.client.responses.get(status, "")
    return response


class FakeAdapter(BaseAdapter):
    """Plays a script: each item is an exception to raise, a ``(status, body[, headers])``
    tuple, or a callable ``f(prepared_request)`` returning one of those."""

    def __init__(self, script=()):
        super(FakeAdapter, self).__init__()
        self.script = list(script)
        self.sent = []
        self.send_kwargs = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append(request)
        self.send_kwargs.append({"timeout": timeout, "verify": verify, "proxies": proxies})
        if not self.script:
            raise AssertionError("unexpected request %s %s" % (request.method, request.url))
        item = self.script.pop(0)
        if callable(item) and not isinstance(item, BaseException):
            item = item(request)
        if isinstance(item, BaseException):
            raise item
        status, body = item[0], item[1]
        headers = item[2] if len(item) > 2 else {}
        return make_response(status, body, headers, request)

    def close(self):
        pass


def fake_session(script=()):
    """A real ``requests.Session`` whose HTTP(S) traffic goes to a ``FakeAdapter``."""
    adapter = FakeAdapter(script)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter


# -- exceptions exactly as requests raises them ------------------------------------------------

class _Conn(object):
    host = "127.0.0.1"
    port = 9

    def __repr__(self):
        return "HTTPConnection(host='127.0.0.1', port=9)"


def _refused_cause():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError:
            raise u3.NewConnectionError(_Conn(), "Failed to establish a new connection: [Errno 111] Connection refused")
    except u3.NewConnectionError as exc:
        return exc


def connection_refused():
    return requests.exceptions.ConnectionError(u3.MaxRetryError(None, "/", reason=_refused_cause()))


def name_not_resolved():
    cause = u3.NameResolutionError("hss.nowhere.invalid", _Conn(), OSError(-2, "Name or service not known"))
    return requests.exceptions.ConnectionError(u3.MaxRetryError(None, "/", reason=cause))


def connect_timeout():
    cause = u3.ConnectTimeoutError(_Conn(), "Connection to 127.0.0.1 timed out. (connect timeout=30)")
    return requests.exceptions.ConnectTimeout(u3.MaxRetryError(None, "/", reason=cause))


def read_timeout():
    pool = urllib3.HTTPConnectionPool("127.0.0.1", 9)
    return requests.exceptions.ReadTimeout(u3.ReadTimeoutError(pool, "/", "Read timed out. (read timeout=30)"))


def remote_disconnected():
    cause = http.client.RemoteDisconnected("Remote end closed connection without response")
    return requests.exceptions.ConnectionError(u3.ProtocolError("Connection aborted.", cause))


def connection_reset():
    cause = ConnectionResetError(104, "Connection reset by peer")
    return requests.exceptions.ConnectionError(u3.ProtocolError("Connection aborted.", cause))


def certificate_failure():
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    return requests.exceptions.SSLError(u3.MaxRetryError(None, "/", reason=u3.SSLError(cause)))


def chunked_encoding_error():
    return requests.exceptions.ChunkedEncodingError(u3.ProtocolError("Response ended prematurely"))


NETWORK_FAILURES = {
    "connection_refused": connection_refused,
    "name_not_resolved": name_not_resolved,
    "connect_timeout": connect_timeout,
    "read_timeout": read_timeout,
    "remote_disconnected": remote_disconnected,
    "connection_reset": connection_reset,
    "certificate_failure": certificate_failure,
    "chunked_encoding_error": chunked_encoding_error,
}


@pytest.fixture
def fakes():
    """The helpers above, for tests (conftest modules are not imported by name)."""
    return types.SimpleNamespace(
        load_fixture=load_fixture,
        make_response=make_response,
        FakeAdapter=FakeAdapter,
        fake_session=fake_session,
        FakeClock=FakeClock,
        failures=NETWORK_FAILURES,
        **NETWORK_FAILURES
    )


@pytest.fixture
def clock(monkeypatch):
    """A ``FakeClock`` installed as the collection's clock."""
    return install(monkeypatch)
