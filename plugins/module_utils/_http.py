# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP transport shared by the HSS and TCSS clients.

One ``requests.Session`` per module run, the request timeout, TLS settings, proxies from the
environment (as ``requests`` does), the one retry policy of the collection and ``ApiError``,
the single exception type every failed call ends in.

The transport knows nothing about either cloud. A client gives it, for each call:

- ``prepare()``: returns a freshly built and signed ``(method, url, headers, body)`` for
  every attempt (signatures carry a timestamp, so a retry is signed again);
- ``classify(response)``: returns an ``Outcome`` saying whether the answer is a success,
  throttling, a server error, an API error or an unreadable answer;
- ``idempotent``: whether the call may be sent again after an answer that did not come.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import collections
import datetime
import email.utils
import math
import random
import re
import socket
import ssl
import traceback
from urllib.parse import urlsplit

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests import exceptions as requests_exceptions
except ImportError:
    requests = None
    requests_exceptions = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True

try:
    from urllib3 import exceptions as urllib3_exceptions
except ImportError:  # requests always brings urllib3; this only keeps the import test quiet
    urllib3_exceptions = None

COLLECTION_NAME = "cloudsec.image_scan"
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION)

# Codes of failures that carry no code from the cloud.
NETWORK_ERROR = "NetworkError"
TIMEOUT = "Timeout"
INVALID_RESPONSE = "InvalidResponse"

REDACTED = "********"
_MAX_MESSAGE = 512


def redact(text, secrets):
    """Replace every occurrence of each value of ``secrets`` in ``text``."""
    if text is None:
        return None
    text = str(text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def shorten(text, limit=_MAX_MESSAGE):
    """Cut a server-supplied text (an unparsed body, say) to a readable length."""
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + "... (%d characters in all)" % len(text)


_REGION_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def check_region(region):
    """``region`` when it looks like a region id (``cn-north-4``), else ``ValueError``."""
    if not region or not _REGION_RE.match(str(region)):
        raise ValueError("invalid region %r: expected a region id such as cn-north-4" % (region,))
    return str(region)


def drop_none(value):
    """A copy of a JSON-like value without ``None`` members (in dicts, at any depth)."""
    if isinstance(value, dict):
        return dict((key, drop_none(item)) for key, item in value.items() if item is not None)
    if isinstance(value, (list, tuple)):
        return [drop_none(item) for item in value]
    return value


def parse_endpoint(endpoint):
    """``(scheme, netloc)`` of an endpoint URL such as ``https://host[:port]``.

    A value without a scheme gets ``https://``; any path, query or fragment is ignored, as the
    SDKs do. Raises ``ValueError`` for anything else.
    """
    text = str(endpoint or "").strip()
    if not text:
        raise ValueError("the endpoint is empty")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("invalid endpoint: the scheme must be http or https")
    if "@" in parts.netloc:
        # Never repeat the value: it may hold a password.
        raise ValueError("invalid endpoint: user information in the URL is not supported")
    try:
        valid = bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number or out of range
        valid = False
    if not valid:
        raise ValueError("invalid endpoint %r: expected http(s)://host[:port]" % (text,))
    return scheme, parts.netloc


class ApiError(Exception):
    """A call to a cloud API failed.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the cloud's error
    code or one of ``NetworkError``, ``Timeout``, ``InvalidResponse``. ``ambiguous`` is true
    when the request may have been applied although no usable answer came back (read timeout,
    connection reset after sending, server error on a call that is not idempotent): look the
    result up before sending it again.
    """

    def __init__(self, cloud, operation, message, status=None, code=None, request_id=None,
                 ambiguous=False):
        self.cloud = cloud
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.ambiguous = bool(ambiguous)
        self.attempts = 1
        super(ApiError, self).__init__(message)

    def __str__(self):
        parts = ["%s %s failed:" % (self.cloud, self.operation)]
        if self.status is not None and not 200 <= self.status < 300:
            parts.append("HTTP %s" % self.status)
        if self.code:
            parts.append("%s:" % self.code)
        parts.append(str(self.message))
        text = " ".join(parts)
        if self.request_id:
            text += " (request id: %s)" % self.request_id
        if self.ambiguous:
            text += "; the request may have been applied, check its effect before sending it again"
        return text

    def __repr__(self):
        return "ApiError(cloud=%r, operation=%r, status=%r, code=%r, message=%r, request_id=%r, ambiguous=%r)" % (
            self.cloud, self.operation, self.status, self.code, self.message, self.request_id,
            self.ambiguous)

    def to_dict(self):
        return {
            "error_code": self.code,
            "error_msg": self.message,
            "request_id": self.request_id,
            "status": self.status,
            "operation": self.operation,
            "cloud": self.cloud,
            "ambiguous": self.ambiguous,
        }


class Outcome(collections.namedtuple("Outcome", "kind data status code message request_id")):
    """What a client's ``classify(response)`` makes of an HTTP answer: its ``kind`` (one of
    ``KINDS``), the decoded ``data`` of a success, else what the error says."""

    OK, THROTTLED, SERVER_ERROR, API_ERROR, INVALID = KINDS = ("ok", "throttled", "server_error", "api_error",
                                                               "invalid")

    def __new__(cls, kind, data=None, status=None, code=None, message=None, request_id=None):
        if kind not in cls.KINDS:
            raise ValueError("unknown outcome %r" % (kind,))
        return super(Outcome, cls).__new__(cls, kind, data, status, code, message, request_id)


def paginate(fetch, offset, limit, max_results=None):
    """Every row of a paged listing, the same walk for both clouds: ``fetch(offset, limit)``
    returns one page as ``(rows, total)`` (``total`` ``None`` when the API does not say); the walk
    ends at ``total``, on an empty page, on a short page without a total, or at ``max_results``."""
    items = []
    while max_results is None or len(items) < max_results:
        rows, total = fetch(offset, limit)
        items.extend(rows)
        offset += len(rows)
        if not rows or (total is not None and offset >= int(total)) or (total is None and len(rows) < limit):
            break
    return items if max_results is None else items[:max_results]


def walk_or_select(fetch, limit, selected_calls, select, enough=None):
    """The rows of a whole listing, or of a selection, whichever takes fewer calls.

    The first page of the whole listing (``fetch(0, limit)``) tells how many more pages a walk
    needs; when that is more than ``selected_calls`` (what the filtered listings of ``select()``
    cost), ``select()`` gives the rows, else the walk goes on from the page already read. When
    ``enough(rows)`` says the selection may have missed rows a walk would give (filters narrower
    than the matching that follows), the listing is walked after all, from the page already read.
    Returns ``(rows, walked)``. A listing that does not say its total is walked."""
    rows, total = fetch(0, limit)
    if total is not None and rows:
        pages_left = -(-max(int(total) - len(rows), 0) // limit)
        if pages_left > selected_calls:
            selected = select()
            if enough is None or enough(selected):
                return selected, False
    first = [(rows, total)]

    def cached(offset, size):
        return first.pop() if first else fetch(offset, size)

    return paginate(cached, 0, limit), True


# ---------------------------------------------------------------------------------------------
# Retry policy
# ---------------------------------------------------------------------------------------------


def parse_http_date(value):
    """Epoch seconds of an HTTP date (``Date`` header), or ``None`` when missing or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date).

    ``now`` is the current Unix time (for HTTP dates). Returns ``None`` when the value is
    missing or unreadable, never a negative number.
    """
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when = parse_http_date(value)
    if when is None:
        return None
    now = _clock.now() if now is None else now
    return max(0.0, when - now)


class RetryPolicy(object):
    """Full-jitter exponential backoff with an overall deadline.

    Before retry number ``n`` (0-based) the policy sleeps ``uniform(0, min(max_delay,
    delay * 2**n))``, or at least the server's ``Retry-After``. It gives up when ``retries``
    retries are spent or when the next sleep would end after the deadline.

    Each call's deadline is its start plus ``budget()`` plus the time its attempts may take,
    on the collection's monotonic clock (``_clock``).
    """

    def __init__(self, retries=5, delay=1.0, max_delay=30.0, rng=random.random):
        if retries < 0:
            raise ValueError("retries must be zero or more")
        if delay < 0 or max_delay < 0:
            raise ValueError("delays must be zero or more")
        self.retries = int(retries)
        self.delay = float(delay)
        self.max_delay = float(max_delay)
        self.rng = rng

    def backoff_cap(self, attempt):
        """Upper bound of the sleep before retry number ``attempt`` (0-based)."""
        return min(self.max_delay, self.delay * (2.0 ** min(attempt, 64)))

    def backoff(self, attempt):
        """A full-jitter sleep before retry number ``attempt``."""
        return self.rng() * self.backoff_cap(attempt)

    def budget(self):
        """The longest this policy can sleep over one call."""
        return sum(self.backoff_cap(attempt) for attempt in range(self.retries))

    def start(self, attempt_time=0.0):
        """Begin one call: returns the ``RetryState`` that decides on its retries.

        ``attempt_time`` is how long one attempt may take (the request timeout).
        """
        deadline = _clock.monotonic() + self.budget() + attempt_time * (self.retries + 1)
        return RetryState(self, deadline)


class RetryState(object):
    """The retries of one call."""

    def __init__(self, policy, deadline):
        self.policy = policy
        self.deadline = deadline
        self.retries = 0
        self.slept = []

    def next_sleep(self, retry_after=None):
        """Seconds to sleep before the next retry, or ``None`` when the call must give up."""
        if self.retries >= self.policy.retries:
            return None
        sleep = self.policy.backoff(self.retries)
        if retry_after is not None:
            sleep = max(sleep, retry_after)
        if _clock.monotonic() + sleep > self.deadline:
            return None
        return sleep

    def wait(self, retry_after=None):
        """Sleep before the next retry and return ``True``, or return ``False`` to give up."""
        sleep = self.next_sleep(retry_after)
        if sleep is None:
            return False
        _clock.sleep(sleep)
        self.slept.append(sleep)
        self.retries += 1
        return True


# ---------------------------------------------------------------------------------------------
# Network failures
# ---------------------------------------------------------------------------------------------


def _causes(exc):
    """``exc`` and every exception it wraps (args, ``reason``, cause, context), depth first."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), current.__cause__, current.__context__]
        nested.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        stack.extend(reversed(nested))


def _is_instance(exc, module, *names):
    if module is None:
        return False
    classes = tuple(getattr(module, name) for name in names if hasattr(module, name))
    return bool(classes) and isinstance(exc, classes)


def _never_sent(exc):
    """True when the failure provably happened before the request reached the server."""
    for cause in _causes(exc):
        if isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
            return True
        if _is_instance(cause, urllib3_exceptions, "NewConnectionError", "ConnectTimeoutError",
                        "NameResolutionError"):
            return True
        if _is_instance(cause, requests_exceptions, "ConnectTimeout"):
            return True
    return False


def _certificate_failure(exc):
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(exc))


# "HTTPConnectionPool(host='h', port=1): ", "<...Connection object at 0x...>: ", "None: "
_OBJECT_PREFIX_RE = re.compile(r"^(?:<[^>]*>|None|[A-Za-z0-9_.]+\([^)]*\)): ")


def _is_wrapper(exc):
    """Exceptions that only carry another one (requests' and urllib3's envelopes)."""
    if _is_instance(exc, requests_exceptions, "RequestException"):
        return True
    if _is_instance(exc, urllib3_exceptions, "MaxRetryError"):
        return True
    return any(isinstance(arg, BaseException) for arg in getattr(exc, "args", ()))


def _text_of(exc):
    strings = [arg for arg in getattr(exc, "args", ()) if isinstance(arg, str)]
    text = strings[-1] if strings else str(exc)
    return _OBJECT_PREFIX_RE.sub("", text)


def _reason(exc):
    """A short, credential-free description of a network failure."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, OSError) and getattr(cause, "strerror", None):
            if cause.errno is None:
                return str(cause.strerror)
            return "[Errno %s] %s" % (cause.errno, cause.strerror)
    specific = [cause for cause in causes if not _is_wrapper(cause)] or causes
    cause = specific[0]
    text = shorten(_text_of(cause), 200)
    return "%s: %s" % (type(cause).__name__, text) if text else type(cause).__name__


class NetworkFailure(object):
    """How a transport exception is handled: its code, its description, whether the call may
    be sent again and whether it may have been applied."""

    def __init__(self, code, description, retryable, ambiguous):
        self.code = code
        self.description = description
        self.retryable = retryable
        self.ambiguous = ambiguous


def _failure(code, description, idempotent, never_sent):
    """Retry when the call is idempotent or never reached the server; else it is ambiguous."""
    safe = idempotent or never_sent
    return NetworkFailure(code, description, retryable=safe, ambiguous=not safe)


def classify_exception(exc, idempotent):
    """Decide what to do with an exception raised while sending a request."""
    never_sent = _never_sent(exc)
    if _certificate_failure(exc):
        # The TLS handshake failed: nothing was sent, and trying again changes nothing.
        return NetworkFailure(NETWORK_ERROR, "TLS certificate verification failed", False, False)
    if _is_instance(exc, requests_exceptions, "SSLError"):
        return _failure(NETWORK_ERROR, "TLS error", idempotent, never_sent)
    if _is_instance(exc, requests_exceptions, "ConnectTimeout"):
        return _failure(TIMEOUT, "connect timeout", idempotent, True)
    if _is_instance(exc, requests_exceptions, "Timeout") or isinstance(exc, socket.timeout):
        return _failure(TIMEOUT, "read timeout", idempotent, never_sent)
    if _is_instance(exc, requests_exceptions, "ChunkedEncodingError", "ContentDecodingError"):
        return _failure(INVALID_RESPONSE, "broken answer", idempotent, False)
    if _is_instance(exc, requests_exceptions, "ConnectionError") or isinstance(exc, OSError):
        description = "connection failed" if never_sent else "connection lost"
        return _failure(NETWORK_ERROR, description, idempotent, never_sent)
    # Invalid URL, invalid header and the like: nothing was sent and nothing will change.
    return NetworkFailure(NETWORK_ERROR, "request not sent", False, False)


def _transport_exceptions():
    if HAS_REQUESTS:
        return (requests_exceptions.RequestException, OSError)
    return (OSError,)


# ---------------------------------------------------------------------------------------------
# Transport
# ---------------------------------------------------------------------------------------------


def _wire_headers(headers):
    """Header values as ``requests`` should send them: text as is when ASCII, else UTF-8."""
    wire = {}
    for name, value in headers.items():
        value = str(value)
        try:
            value.encode("ascii")
        except UnicodeEncodeError:
            value = value.encode("utf-8")
        wire[name] = value
    return wire


class HttpTransport(object):
    """One HTTP session with timeout, TLS settings and the retry policy.

    ``verify`` is ``ca_bundle`` when given, else ``validate_certs``. Proxies and, with
    ``validate_certs`` true, ``REQUESTS_CA_BUNDLE`` come from the environment as ``requests``
    reads them.
    """

    def __init__(self, timeout=30, validate_certs=True, ca_bundle=None, retry_policy=None,
                 session=None):
        if session is None:
            if not HAS_REQUESTS:
                raise RuntimeError("the Python library requests is required")
            session = requests.Session()
            session.trust_env = True
        self.session = session
        self.timeout = timeout
        self.verify = ca_bundle if ca_bundle else bool(validate_certs)
        self.retry_policy = retry_policy or RetryPolicy()
        self._secrets = set()
        self.stats = {"calls": 0, "attempts": 0, "retries": 0, "throttled": 0, "operations": {}}
        #: Seconds the server's clock is at most ahead of ours (negative: behind), from the
        #: ``Date`` headers of its answers; ``None`` until one came (see ``note_clock``).
        self.clock_offset = None

    def add_secrets(self, *values):
        """Values that must never appear in an error message (credentials)."""
        for value in values:
            if value:
                self._secrets.add(str(value))

    def close(self):
        self.session.close()

    def _error(self, cloud, operation, message, **kwargs):
        return ApiError(cloud, operation, redact(message, self._secrets), **kwargs)

    def _count(self, operation, key):
        self.stats[key] += 1
        if key == "attempts":
            operations = self.stats["operations"]
            operations[operation] = operations.get(operation, 0) + 1

    def _send(self, method, url, headers, body):
        return self.session.request(
            method, url, headers=_wire_headers(headers), data=body, timeout=self.timeout,
            verify=self.verify, allow_redirects=False)

    def note_clock(self, date, sent):
        """Narrow ``clock_offset`` with the ``Date`` of an answer to a request sent at ``sent``
        (our clock). The server wrote the date (whole seconds, truncated) after the request
        reached it, so its clock was ahead of ours by less than ``date + 1 - sent``: the smallest
        such bound is kept. A scan's age measured with it is never less than its true age."""
        server = parse_http_date(date)
        if server is not None:
            bound = server + 1 - sent
            self.clock_offset = bound if self.clock_offset is None else min(self.clock_offset, bound)

    def _network_error(self, cloud, operation, exc, url, idempotent):
        failure = classify_exception(exc, idempotent)
        netloc = urlsplit(url).netloc
        message = "%s (%s): %s" % (failure.description, netloc, _reason(exc))
        error = self._error(cloud, operation, message, code=failure.code, ambiguous=failure.ambiguous)
        return error, failure.retryable

    def _outcome_error(self, cloud, operation, outcome, idempotent):
        unsure = outcome.kind in (Outcome.SERVER_ERROR, Outcome.INVALID)
        error = self._error(
            cloud, operation, outcome.message or "no message", status=outcome.status,
            code=outcome.code or (INVALID_RESPONSE if outcome.kind == Outcome.INVALID else None),
            request_id=outcome.request_id, ambiguous=unsure and not idempotent)
        retryable = outcome.kind == Outcome.THROTTLED or (unsure and idempotent)
        return error, retryable

    def request(self, operation, prepare, classify, idempotent, cloud=""):
        """Send one API call with retries and return the data of the successful ``Outcome``.

        ``idempotent`` says whether the call may be repeated after an answer that did not come
        or could not be read; when false, only throttled calls and failures that provably
        never reached the server are retried, and the rest raise ``ApiError(ambiguous=True)``.
        """
        state = self.retry_policy.start(attempt_time=float(self.timeout or 0))
        self.stats["calls"] += 1
        while True:
            attempt = self._attempt(operation, prepare, classify, idempotent, cloud)
            if attempt.error is None:
                return attempt.data
            if attempt.retryable and state.wait(attempt.retry_after):
                self.stats["retries"] += 1
                continue
            attempt.error.attempts = state.retries + 1
            raise attempt.error

    def _attempt(self, operation, prepare, classify, idempotent, cloud):
        """Send the request once and judge the result."""
        method, url, headers, body = prepare()
        self._count(operation, "attempts")
        failure = None
        sent = _clock.now()
        try:
            response = self._send(method, url, headers, body)
            self.note_clock(response.headers.get("Date"), sent)
        except _transport_exceptions() as exc:  # pylint: disable=catching-non-exception
            failure = self._network_error(cloud, operation, exc, url, idempotent)
        if failure is not None:
            # Returned outside the except block: the error keeps no trace of the request.
            return _Attempt(error=failure[0], retryable=failure[1])
        outcome = classify(response)
        if outcome.kind == Outcome.OK:
            return _Attempt(data=outcome.data)
        if outcome.kind == Outcome.THROTTLED:
            self._count(operation, "throttled")
        error, retryable = self._outcome_error(cloud, operation, outcome, idempotent)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return _Attempt(error=error, retryable=retryable, retry_after=retry_after)


class _Attempt(object):
    """The result of one attempt: ``data`` on success, else ``error`` and what to do next."""

    def __init__(self, data=None, error=None, retryable=False, retry_after=None):
        self.data = data
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after
