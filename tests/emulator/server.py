"""The HTTP layer: one threading HTTP/1.1 server for both clouds plus the admin routes.

Request flow for an API call: route (operation name) -> count -> pre-faults (reset before,
rate limit, throttle, 5xx, latency) -> authentication -> handler under the state lock ->
post-faults (reset after, garbled) -> answer.
"""

import json
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import auth
import hss
import realism
import strict
import tcss
from common import ApiError
from faults import FaultPlan, FaultSpecError, TokenBucket

ADMIN_PREFIX = "/_emulator/"
TC_CONTENT_TYPE = "application/json"
HSS_CONTENT_TYPE = "application/json;charset=UTF-8"
MAX_BODY = 16 * 1024 * 1024


class _Abort(Exception):
    """The connection was reset on purpose: nothing more is written."""


class Emulator:
    """Everything a request handler needs: configuration, state, APIs, faults, rate limits."""

    def __init__(self, config, state, fault_spec=None):
        self.config = config
        self.state = state
        self.hss = hss.HssApi(state, config)
        self.tcss = tcss.TcssApi(state, config)
        self.strict = strict.Strict(enabled=not getattr(config, "lenient", False),
                                    count=state.count)
        self.initial_faults = fault_spec or {}
        self.faults = FaultPlan(self.initial_faults, default_seed=config.seed)
        self.faults_lock = threading.Lock()
        self._make_buckets()

    def _make_buckets(self):
        rate = self.config.rate_limit
        self.buckets = {"hss": TokenBucket(rate), "tcss": TokenBucket(rate)} if rate else {}

    def set_faults(self, spec):
        plan = FaultPlan(spec, default_seed=self.config.seed)
        with self.faults_lock:
            self.faults = plan

    def reset(self):
        self.state.reset()
        self.set_faults(self.initial_faults)
        self._make_buckets()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cloud-emulator/1"
    timeout = 120
    disable_nagle_algorithm = True

    # BaseHTTPRequestHandler calls do_<METHOD>.
    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        """The ``Date`` header on the server's clock (the ``skew`` profile runs it ahead, as the
        times in the answers)."""
        now = time.time() if timestamp is None else timestamp
        return super(Handler, self).date_time_string(self.emu.state.clock(now))

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    @property
    def emu(self):
        return self.server.emulator

    # -- plumbing --------------------------------------------------------------------------------

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # Headers and body in one write: one segment for small answers.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _reset_connection(self):
        """Close the connection with a TCP RST (SO_LINGER 0) and write nothing more."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for stream in (self.rfile, self.wfile):
            try:
                stream.close()
            except OSError:
                pass
        try:
            sock.close()
        except OSError:
            pass
        raise _Abort()

    def _dispatch(self):
        try:
            raw_path, _sep, raw_query = self.path.partition("?")
            try:
                body = self._read_body()
            except ValueError:
                self.close_connection = True
                self._send(400, b'{"error": "bad request body"}', "application/json")
                return
            if raw_path.startswith(ADMIN_PREFIX):
                self._admin(raw_path[len(ADMIN_PREFIX):], body)
            elif hss.is_hss_path(raw_path) or (raw_path != "/"
                                               and not self.headers.get("X-TC-Action")):
                self._hss(raw_path, raw_query, body)
            else:
                self._tcss(raw_path, body)
        except _Abort:
            return
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    # -- faults shared by both clouds ------------------------------------------------------------

    def _pre_faults(self, cloud, op, throttled, server_error):
        emu = self.emu
        faults = emu.faults
        if faults.fire("reset_before", op):
            emu.state.count_fault("reset_before", op)
            self._reset_connection()
        bucket = emu.buckets.get(cloud)
        if bucket is not None and not bucket.take():
            emu.state.count_fault("rate_limit", op)
            throttled(1)
            return True
        rule = faults.fire("throttle", op)
        if rule is not None:
            emu.state.count_fault("throttle", op)
            throttled(rule.retry_after)
            return True
        rule = faults.fire("server_error", op)
        if rule is not None:
            emu.state.count_fault("server_error", op)
            server_error(rule)
            return True
        rule = faults.fire("latency", op)
        if rule is not None:
            emu.state.count_fault("latency", op)
            time.sleep(rule.seconds)
        return False

    def _post_faults(self, op, body):
        """Apply reset_after / garbled to an answer that is ready; returns the body to send."""
        emu = self.emu
        if emu.faults.fire("reset_after", op):
            emu.state.count_fault("reset_after", op)
            self._reset_connection()
        if emu.faults.fire("garbled", op):
            emu.state.count_fault("garbled", op)
            return body[:max(1, len(body) // 2)]
        return body

    # -- HSS -------------------------------------------------------------------------------------

    def _hss_send(self, status, payload, request_id, op=None, headers=None):
        body = json.dumps(payload).encode("utf-8")
        if op is not None:
            body = self._post_faults(op, body)
        extra = {"X-Request-Id": request_id}
        extra.update(headers or {})
        self._send(status, body, HSS_CONTENT_TYPE, extra)

    def _hss_error(self, error, request_id, op=None):
        self._hss_send(error.status, {"error_code": error.code, "error_msg": error.message},
                       request_id, op, error.headers)

    def _hss(self, raw_path, raw_query, body):
        emu = self.emu
        request_id = uuid.uuid4().hex
        match = hss.route(self.command, raw_path)
        op = "hss.%s" % (match[0] if match else "UnknownApi")
        emu.state.count_request(op)
        if match is None:
            emu.state.count_rejected(op, "APIGW.0101")
            self._hss_error(ApiError("APIGW.0101", "The API does not exist or has not been "
                                     "published in the environment.", 404), request_id)
            return
        api_name, handler_name, params = match

        def throttled(retry_after):
            self._hss_error(ApiError("APIGW.0308", "The throttling threshold has been reached: "
                                     "policy user over ratelimit, limit:%s, time:1 second"
                                     % (emu.config.rate_limit or 20), 429,
                                     {"Retry-After": str(retry_after)}), request_id)

        def server_error(rule):
            status = rule.status or emu.faults.pick((500, 503))
            code, message = {500: ("HSS.1000", "Internal server error."),
                             502: ("APIGW.0202", "Bad gateway."),
                             503: ("APIGW.0203", "Backend unavailable."),
                             504: ("APIGW.0204", "Backend timeout.")}[status]
            self._hss_error(ApiError(code, message, status), request_id)

        if self._pre_faults("hss", op, throttled, server_error):
            return
        try:
            auth.verify_hss(self.command, raw_path, raw_query, self.headers, body, emu.config)
            emu.hss.check_project(params)
            with emu.state.lock:
                now = emu.state.advance()
                pairs = parse_qsl(raw_query, keep_blank_values=True)
                request = hss.Request(self.command, params, pairs, self.headers, body, now)
                emu.strict.check_hss(api_name, pairs, self.headers,
                                     request.json() if body.strip() else None)
                status, payload = getattr(emu.hss, handler_name)(request)
        except ApiError as error:
            emu.state.count_rejected(op, error.code)
            self._hss_error(error, request_id, op)
            return
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc()
            emu.state.count_rejected(op, "HSS.1000")
            self._hss_error(ApiError("HSS.1000", "Internal server error.", 500), request_id)
            return
        self._hss_send(status, payload, request_id, op)

    # -- TCSS ------------------------------------------------------------------------------------

    def _tcss_send(self, response, request_id, op=None):
        response["RequestId"] = request_id
        body = json.dumps({"Response": response}).encode("utf-8")
        if op is not None:
            body = self._post_faults(op, body)
        self._send(200, body, TC_CONTENT_TYPE)

    def _tcss_error(self, error, request_id, op=None):
        self._tcss_send({"Error": {"Code": error.code, "Message": error.message}}, request_id, op)

    def _tcss(self, raw_path, body):
        emu = self.emu
        request_id = str(uuid.uuid4())
        action = self.headers.get("X-TC-Action", "")
        op = "tcss.%s" % (action or "MissingAction")
        emu.state.count_request(op)

        def throttled(_retry_after):
            self._tcss_error(ApiError("RequestLimitExceeded",
                                      "Your current request times exceeds the frequency limit "
                                      "for a second. Please reduce the frequency of calls."),
                             request_id)

        def server_error(rule):
            status = rule.status or emu.faults.pick((502, 503))
            reason = {500: "Internal Server Error", 502: "Bad Gateway",
                      503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}[status]
            page = ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s"
                    "</h1></center>\r\n</body>\r\n</html>\r\n" % (status, reason, status, reason))
            self._send(status, page.encode("ascii"), "text/html")

        if self._pre_faults("tcss", op, throttled, server_error):
            return
        try:
            if self.command != "POST" or raw_path != "/":
                raise ApiError("InvalidParameter", "Only POST / with a JSON body is supported.")
            if not action:
                raise ApiError("MissingParameter", "The request is missing a required "
                                                   "parameter: Action (X-TC-Action).")
            auth.verify_tc3(self.headers, body, emu.config)
            handler_name = tcss.TcssApi.ACTIONS.get(action)
            if handler_name is None:
                raise ApiError("InvalidAction", "The action %s does not exist." % action)
            version = self.headers.get("X-TC-Version")
            if not version:
                raise ApiError("MissingParameter", "The request is missing a required "
                                                   "parameter: Version (X-TC-Version).")
            if version != tcss.VERSION:
                raise ApiError("InvalidParameter", "The Version %s is not valid for tcss; "
                                                   "use %s." % (version, tcss.VERSION))
            language = self.headers.get("X-TC-Language")
            if language and language not in ("zh-CN", "en-US"):
                raise ApiError("InvalidParameterValue", "X-TC-Language must be zh-CN or en-US.")
            with emu.state.lock:
                now = emu.state.advance()
                request = tcss.Request(action, body, now)
                emu.strict.check_tcss(action, request.params)
                response = getattr(emu.tcss, handler_name)(request)
        except ApiError as error:
            emu.state.count_rejected(op, error.code)
            self._tcss_error(error, request_id, op)
            return
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc()
            emu.state.count_rejected(op, "InternalError")
            self._tcss_error(ApiError("InternalError", "Internal error."), request_id)
            return
        self._tcss_send(response, request_id, op)

    # -- admin -----------------------------------------------------------------------------------

    def _admin_send(self, status, payload):
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _admin(self, name, body):
        emu = self.emu
        method = self.command
        if name == "stats" and method == "GET":
            self._admin_send(200, emu.state.stats_snapshot())
        elif name == "reset" and method == "POST":
            emu.reset()
            self._admin_send(200, {"reset": True})
        elif name == "faults" and method == "GET":
            self._admin_send(200, emu.faults.spec)
        elif name == "faults" and method == "POST":
            try:
                spec = json.loads(body.decode("utf-8") or "{}")
                emu.set_faults(spec)
            except (ValueError, FaultSpecError) as exc:
                self._admin_send(400, {"error": str(exc)})
                return
            self._admin_send(200, {"faults": spec})
        elif name == "realism" and method == "GET":
            with emu.state.lock:
                self._admin_send(200, self._realism_view())
        elif name == "realism" and method == "POST":
            try:
                spec = json.loads(body.decode("utf-8") or "{}")
                value = spec.get("realism", "") if isinstance(spec, dict) else None
                if isinstance(value, list):
                    value = ",".join(str(v) for v in value)
                if not isinstance(value, str):
                    raise realism.RealismError('the body is {"realism": "NAME[,NAME...]"}')
                profiles = realism.parse(value)
            except (ValueError, realism.RealismError) as exc:
                self._admin_send(400, {"error": str(exc)})
                return
            with emu.state.lock:
                emu.state.advance()
                emu.state.realism = set(profiles)
                self._admin_send(200, self._realism_view())
        elif name == "dataset" and method == "GET":
            with emu.state.lock:
                now = emu.state.advance()
                payload = {"hss": emu.hss.snapshot(now), "tcss": emu.tcss.snapshot(now)}
            self._admin_send(200, payload)
        elif name == "scans" and method == "GET":
            with emu.state.lock:
                payload = emu.state.scans_snapshot(emu.state.advance())
            self._admin_send(200, payload)
        else:
            self._admin_send(404, {"error": "unknown admin route %s %s%s"
                                   % (method, ADMIN_PREFIX, name)})

    def _realism_view(self):
        state = self.emu.state
        return {"realism": [p for p in realism.PROFILES if p in state.realism],
                "initial": [p for p in realism.PROFILES if p in state.initial_realism],
                "lag_seconds": state.lag_seconds}


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, emulator, ssl_context=None, verbose=False):
        self.emulator = emulator
        self.ssl_context = ssl_context
        self.verbose = verbose
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens on the first read, in the handler's thread.
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, _Abort, OSError)):
            return
        super().handle_error(request, client_address)
