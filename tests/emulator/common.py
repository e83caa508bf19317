"""Shared helpers: the API error, time formats, paging, and input checking for both clouds."""

import datetime
import math

HSS_INVALID = "HSS.0001"
TC_INVALID = "InvalidParameter"
TC_INVALID_VALUE = "InvalidParameterValue"
TC_MISSING = "MissingParameter"

INT64_MAX = 9223372036854775807

_CST = datetime.timezone(datetime.timedelta(hours=8))


class ApiError(Exception):
    """A failure answered in the cloud's error shape.

    ``status`` is the HTTP status (used by HSS only: TCSS always answers 200), ``code`` the
    cloud's error code (``error_code`` / ``Response.Error.Code``), ``message`` the text.
    """

    def __init__(self, code, message, status=400, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}


def hss_invalid(message):
    return ApiError(HSS_INVALID, "Invalid parameter: %s" % message, 400)


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------


def ms(seconds):
    return int(seconds * 1000)


def tc_datetime(seconds):
    """TCSS ``YYYY-MM-DD HH:MM:SS`` strings are China Standard Time (UTC+8), like the console."""
    if not seconds:
        return ""
    return datetime.datetime.fromtimestamp(seconds, _CST).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def ceil_div(a, b):
    return int(math.ceil(a / b)) if b else 0


def page(items, offset, limit):
    if limit is None:
        return items[offset:]
    return items[offset:offset + limit]


def drop_none(mapping):
    return {k: v for k, v in mapping.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# HSS query strings: every value is a string on the wire ("true", "10").
# ---------------------------------------------------------------------------------------------


class Query:
    """Typed access to decoded query pairs; every failure is HSS 400 ``HSS.0001``."""

    def __init__(self, pairs):
        self._values = {}
        for key, value in pairs:
            self._values.setdefault(key, value)

    def has(self, name):
        return name in self._values

    def raw(self, name):
        return self._values.get(name)

    def str(self, name, min_len=0, max_len=256, choices=None, required=False):
        value = self._values.get(name)
        if value is None:
            if required:
                raise hss_invalid("%s is required" % name)
            return None
        if not min_len <= len(value) <= max_len:
            raise hss_invalid("%s must be %d-%d characters long" % (name, min_len, max_len))
        if choices is not None and value not in choices:
            raise hss_invalid("%s must be one of %s" % (name, ", ".join(choices)))
        return value

    def int(self, name, low=0, high=INT64_MAX, default=None, required=False):
        value = self._values.get(name)
        if value is None:
            if required:
                raise hss_invalid("%s is required" % name)
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise hss_invalid("%s must be an integer" % name) from None
        if not low <= number <= high:
            raise hss_invalid("%s must be between %d and %d" % (name, low, high))
        return number

    def bool(self, name):
        value = self._values.get(name)
        if value is None:
            return None
        if value.lower() == "true":
            return True
        if value.lower() == "false":
            return False
        raise hss_invalid("%s must be true or false" % name)


# ---------------------------------------------------------------------------------------------
# JSON body fields (HSS bodies and TCSS parameters)
# ---------------------------------------------------------------------------------------------


class Fields:
    """Typed access to a JSON object with a per-cloud error factory.

    ``invalid(message, value_error)`` builds the error: for HSS always ``HSS.0001``; for TCSS
    ``InvalidParameter`` (wrong type) or ``InvalidParameterValue`` (value out of range).
    """

    def __init__(self, data, where, invalid):
        self.data = data
        self.where = where
        self.invalid = invalid

    def _name(self, name):
        return "%s.%s" % (self.where, name) if self.where else name

    def has(self, name):
        return self.data.get(name) is not None

    def str(self, name, min_len=0, max_len=None, choices=None, required=False):
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.invalid("%s is required" % self._name(name), "missing")
            return None
        if not isinstance(value, str):
            raise self.invalid("%s must be a string" % self._name(name), "type")
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            raise self.invalid("%s must be %d-%s characters long"
                               % (self._name(name), min_len, max_len or "any"), "value")
        if choices is not None and value not in choices:
            raise self.invalid("%s must be one of %s" % (self._name(name), ", ".join(choices)),
                               "value")
        return value

    def int(self, name, low=0, high=INT64_MAX, default=None, required=False):
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.invalid("%s is required" % self._name(name), "missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid("%s must be an integer" % self._name(name), "type")
        if not low <= value <= high:
            raise self.invalid("%s must be between %d and %d" % (self._name(name), low, high),
                               "value")
        return value

    def bool(self, name, default=None):
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.invalid("%s must be a boolean" % self._name(name), "type")
        return value

    def list(self, name, required=False):
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.invalid("%s is required" % self._name(name), "missing")
            return None
        if not isinstance(value, list):
            raise self.invalid("%s must be an array" % self._name(name), "type")
        return value

    def str_list(self, name, required=False, max_len=None):
        items = self.list(name, required=required)
        if items is None:
            return None
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.invalid("%s[%d] must be a string" % (self._name(name), i), "type")
            if max_len is not None and len(item) > max_len:
                raise self.invalid("%s[%d] is too long" % (self._name(name), i), "value")
        return items

    def obj(self, name):
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.invalid("%s must be an object" % self._name(name), "type")
        return Fields(value, self._name(name), self.invalid)


def hss_fields(data, where=""):
    return Fields(data, where, lambda message, _kind: hss_invalid(message))


def tc_error_factory(message, kind):
    if kind == "missing":
        return ApiError(TC_MISSING, "The request is missing a required parameter: %s" % message)
    if kind == "value":
        return ApiError(TC_INVALID_VALUE, "The parameter value is invalid: %s" % message)
    return ApiError(TC_INVALID, "The parameter is invalid: %s" % message)


def tc_fields(data, where=""):
    return Fields(data, where, tc_error_factory)
