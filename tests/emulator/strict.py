"""Strict request checks: only what the official SDK models define, and what they require.

The allowed sets come from ``sdk_table.json``, generated from the SDK model classes by
``tests/conformance/sdk_table.py`` (the conformance suite regenerates it and fails when the
committed file differs). The emulator itself never imports the SDKs.

- HSS: an unknown query parameter or body field, a missing required one (the ``region`` header
  included) or a string outside the field's documented enumeration is HTTP 400 ``HSS.0001``
  naming it. Where the SDK documents that an out-of-range value gives an empty result
  (``ListImageLocal`` ``scan_status`` / ``local_image_type``), the handler answers so instead.
- TCSS: an unknown field (top level or inside a nested model such as ``Filters[]``) is
  ``UnknownParameter``; a missing required field is ``MissingParameter``.

``ALLOWANCES`` lists the known exceptions, each with the reason it exists; it is meant to shrink.
"""

import json
import os

from common import ApiError, hss_invalid

_TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk_table.json")

# (cloud, api, field, value) -> why it is accepted although the SDK model does not define it.
# The conformance suite checks that this is the complete list of exceptions.
ALLOWANCES = {}


def load_table(path=_TABLE_PATH):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def allowance_counter(key):
    """The ``stats.counters`` name that counts the requests an allowance let through."""
    cloud, api, field, value = key
    return "allowance.%s.%s.%s=%s" % (cloud, api, field, value)


class Strict:
    """Checks one request against the table; ``enabled=False`` (``--lenient``) skips them.

    ``count(name)`` is called once per request an allowance lets through."""

    def __init__(self, table=None, enabled=True, count=None):
        self.table = table if table is not None else load_table()
        self.enabled = enabled
        self.count = count or (lambda _name: None)

    def _allowed(self, key):
        if key in ALLOWANCES:
            self.count(allowance_counter(key))
            return True
        return False

    # -- HSS -------------------------------------------------------------------------------------

    def check_hss(self, api, query_pairs, headers, body):
        """``query_pairs`` decoded, ``headers`` case-insensitive, ``body`` parsed JSON or None."""
        if not self.enabled:
            return
        entry = self.table["hss"]["apis"].get(api)
        if entry is None:
            return
        query = {}
        for key, value in query_pairs:
            if key not in entry["query"]:
                raise hss_invalid("%s is not a parameter of %s" % (key, api))
            query.setdefault(key, value)
        for key, field in entry["query"].items():
            if key not in query:
                if field["required"]:
                    raise hss_invalid("%s is required by %s" % (key, api))
                continue
            self._hss_enum(api, key, query[key], field)
        for key, field in entry["header"].items():
            if field["required"] and headers.get(key) is None:
                raise hss_invalid("the %s header is required by %s" % (key, api))
            if headers.get(key) is not None:
                self._hss_enum(api, key, headers.get(key), field)
        spec = entry.get("body")
        if spec is None:
            if body not in (None, {}):
                raise hss_invalid("%s takes no request body" % api)
            return
        if body is None:
            if spec["required"]:
                raise hss_invalid("the request body is required by %s" % api)
            return
        self._hss_value(api, body, spec, "body")

    @staticmethod
    def _hss_enum(api, name, value, field):
        values = field.get("enum")
        if values and isinstance(value, str) and value not in values:
            if field.get("out_of_range") == "empty":
                return  # the handler answers an empty list, as the SDK documents
            raise hss_invalid("%s must be one of %s (%s)" % (name, ", ".join(values), api))

    def _hss_value(self, api, value, field, where):
        model = field.get("model")
        if value is None:
            return
        if field["type"].startswith("list["):
            if not isinstance(value, list):
                return  # the handler reports the wrong type
            for i, item in enumerate(value):
                self._hss_value(api, item, dict(field, type=field["type"][5:-1]),
                                "%s[%d]" % (where, i))
            return
        if model is None:
            self._hss_enum(api, where, value, field)
            return
        if not isinstance(value, dict):
            return
        fields = self.table["hss"]["models"][model]
        for key in value:
            if key not in fields:
                raise hss_invalid("%s.%s is not a field of %s (%s)" % (where, key, model, api))
        for key, sub in fields.items():
            name = "%s.%s" % (where, key)
            if value.get(key) is None:
                if sub["required"]:
                    raise hss_invalid("%s is required (%s)" % (name, api))
                continue
            self._hss_value(api, value[key], sub, name)

    # -- TCSS ------------------------------------------------------------------------------------

    def check_tcss(self, action, params):
        if not self.enabled:
            return
        entry = self.table["tcss"]["actions"].get(action)
        if entry is None:
            return
        self._tc_object(action, params, entry["fields"], "")

    def _tc_object(self, action, params, fields, where):
        for key in params:
            if key not in fields:
                raise ApiError("UnknownParameter", "The parameter %s%s is not defined for %s."
                               % (where, key, action))
        for key, field in fields.items():
            value = params.get(key)
            name = where + key
            if value is None:
                if field["required"]:
                    raise ApiError("MissingParameter", "The request is missing a required "
                                                       "parameter: %s." % name)
                continue
            model = field.get("model")
            if model is None:
                continue
            sub = self.table["tcss"]["models"][model]
            if (field["type"] or "").startswith("list of "):
                if not isinstance(value, list):
                    continue  # the handler reports the wrong type
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        self._tc_object(action, item, sub, "%s.%d." % (name, i))
            elif isinstance(value, dict):
                self._tc_object(action, value, sub, name + ".")
