# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs and the module base class shared by both clouds.

Each group of shared options has its spec and, beside it, the checks of its values that
Ansible cannot express (``*_problems``): connection, wait and plan (``max_age``, ``force``,
``batch_size``). They are documented in the doc fragments ``cloudsec.image_scan.connection``,
``cloudsec.image_scan.wait`` and ``cloudsec.image_scan.plan``; keep both in step.

``CloudModule`` is an ``AnsibleModule`` that adds a cloud's shared options (``_hss_module`` /
``_tcss_module`` say which), checks every shared option before any request, builds the
client once (``module.client``) and runs the module's work through ``execute()``: the one
place where a ``ModuleError`` or an ``ApiError`` ends a run.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    HttpTransport,
    RetryPolicy,
)
from ansible_collections.cloudsec.image_scan.plugins.module_utils._ops import ModuleError


def env(*names):
    """An ``env_fallback`` on the first of ``names`` that is set."""
    return (env_fallback, list(names))


def connection_argument_spec():
    """HTTP options (TLS, timeout and the retry policy) and whether the result carries ``raw``."""
    return dict(
        validate_certs=dict(type="bool", default=True),
        ca_bundle=dict(type="path"),
        timeout=dict(type="int", default=30),
        backoff_retries=dict(type="int", default=5),
        backoff_delay=dict(type="float", default=1.0),
        backoff_max_delay=dict(type="float", default=30.0),
        return_raw=dict(type="bool", default=True),
    )


def connection_problems(params):
    """Values of the connection options that cannot work."""
    problems = []
    if params.get("timeout") is not None and params["timeout"] <= 0:
        problems.append("timeout must be greater than 0")
    if params.get("backoff_retries") is not None and params["backoff_retries"] < 0:
        problems.append("backoff_retries must be 0 or more")
    for name in ("backoff_delay", "backoff_max_delay"):
        if params.get(name) is not None and params[name] < 0:
            problems.append("%s must be 0 or more" % name)
    return problems


def wait_argument_spec():
    """Options of the modules that can wait for a scan to end."""
    return dict(
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="int", default=5),
    )


def wait_problems(params):
    """Values of the wait options that cannot work."""
    problems = []
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        problems.append("wait_timeout must be 0 or more seconds")
    if params.get("wait_sleep") is not None and params["wait_sleep"] < 1:
        problems.append("wait_sleep must be 1 or more seconds")
    return problems


#: Default of ``start_timeout``: how long a trigger's effect may take to show.
START_TIMEOUT = 60


def start_argument_spec():
    """The option of the modules that confirm a trigger's effect before they trust any state."""
    return dict(start_timeout=dict(type="int", default=START_TIMEOUT))


def start_problems(params):
    """Values of the start option that cannot work."""
    if params.get("start_timeout") is not None and params["start_timeout"] < 0:
        return ["start_timeout must be 0 or more seconds"]
    return []


#: Default of ``lock_timeout``: how long a run waits for its turn to trigger.
LOCK_TIMEOUT = 300


def lock_argument_spec():
    """The options of the modules that take turns to trigger (``_lock``)."""
    return dict(lock_dir=dict(type="path"), lock_timeout=dict(type="int", default=LOCK_TIMEOUT))


def lock_problems(params):
    """Values of the lock options that cannot work."""
    if params.get("lock_timeout") is not None and params["lock_timeout"] < 0:
        return ["lock_timeout must be 0 or more seconds"]
    if params.get("lock_dir") is not None and not str(params["lock_dir"]).strip():
        return ["lock_dir must not be empty (leave it unset for the default directory)"]
    return []


def plan_argument_spec(batch=True, batch_default=100):
    """Options of the scan modules that decide per image whether it needs a scan; with
    ``batch``, ``batch_size`` (default ``batch_default``; ``None``: no batches)."""
    spec = dict(max_age=dict(type="str"), force=dict(type="bool", default=False))
    if batch:
        spec["batch_size"] = dict(type="int", default=batch_default)
    return spec


def scan_argument_spec(spec, batch=True, batch_default=100):
    """A scan module's own options ``spec`` with the plan and wait options."""
    spec = dict(spec)
    spec.update(plan_argument_spec(batch=batch, batch_default=batch_default))
    spec.update(wait_argument_spec())
    return spec


def parse_max_age(value):
    """Seconds of a ``max_age`` value, ``None`` when unset (an empty text is unset too);
    ``ValueError`` naming the option."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return _scan.parse_duration(value)
    except ValueError as exc:
        raise ValueError("max_age: %s" % exc)


def plan_problems(params):
    """Values of the plan options that cannot work."""
    problems = []
    try:
        parse_max_age(params.get("max_age"))
    except ValueError as exc:
        problems.append(str(exc))
    if params.get("batch_size") is not None and params["batch_size"] < 1:
        problems.append("batch_size must be 1 or more, got %s" % params["batch_size"])
    return problems


def list_problems(params, names=(), max_results="max_results"):
    """Problems of list options that must hold at least one value and no empty one, and of the
    ``max_results`` option (1 or more) when the module has it."""
    problems = []
    for name in names:
        values = params.get(name)
        if values is not None and not values:
            problems.append("%s must list at least one value" % name)
        elif values and any(not str(value).strip() for value in values):
            problems.append("%s must not contain empty values" % name)
    if max_results and params.get(max_results) is not None and params[max_results] < 1:
        problems.append("%s must be 1 or more, got %s" % (max_results, params[max_results]))
    return problems


#: Option that marks a group of shared options -> the checks of that group.
_GROUP_CHECKS = (("timeout", connection_problems), ("wait_timeout", wait_problems), ("force", plan_problems),
                 ("start_timeout", start_problems), ("lock_timeout", lock_problems))


def hint(spec, name):
    """``name`` followed by the environment variables it falls back to."""
    fallback = spec[name].get("fallback")
    names = fallback[1] if fallback else []
    if not names:
        return name
    return "%s (or environment variable %s)" % (name, " or ".join(names))


class CloudModule(AnsibleModule):
    """An ``AnsibleModule`` with a cloud's shared options, their checks, its client and the
    one exception handler of the collection (``execute``).

    A cloud's subclass names its ``CLOUD_TITLE``, its ``CLIENT`` class, ``AUTH_SPEC`` (the
    authentication options, whose names are the client's keyword arguments) and ``MISSING``
    (``params`` -> the settings missing for a call).
    """

    CLOUD_TITLE = ""
    CLIENT = None
    AUTH_SPEC = None
    MISSING = None

    def __init__(self, argument_spec=None, **kwargs):
        spec = self.shared_argument_spec()
        spec.update(copy.deepcopy(argument_spec or {}))
        super(CloudModule, self).__init__(argument_spec=spec, **kwargs)
        # An empty value means "not set": credential injectors (AWX) export optional fields
        # such as a session token as empty variables.
        for name, option in self.shared_argument_spec().items():
            if option.get("type") == "str" and self.params.get(name) == "":
                self.params[name] = None
        self._client = None
        self._transport = None
        self.check_settings()

    @classmethod
    def shared_argument_spec(cls):
        """The cloud's authentication options and the connection options."""
        spec = cls.AUTH_SPEC()
        spec.update(connection_argument_spec())
        return spec

    def check_settings(self):
        """Fail, before any request, when credentials are missing or shared options cannot work."""
        missing = self.MISSING(self.params)
        if missing:
            self.fail_json(msg="Missing %s settings: %s." % (self.CLOUD_TITLE, "; ".join(missing)))
        problems = []
        for marker, check in _GROUP_CHECKS:
            if marker in self.argument_spec:
                problems.extend(check(self.params))
        if problems:
            self.fail_json(msg="Invalid options: %s." % "; ".join(problems))

    @property
    def max_age(self):
        """Seconds of the ``max_age`` option (already checked), or ``None``."""
        return parse_max_age(self.params.get("max_age"))

    def _build_transport(self):
        params = self.params
        policy = RetryPolicy(retries=params["backoff_retries"], delay=params["backoff_delay"],
                             max_delay=params["backoff_max_delay"])
        return HttpTransport(timeout=params["timeout"], validate_certs=params["validate_certs"],
                             ca_bundle=params["ca_bundle"], retry_policy=policy)

    def _connect(self):
        """Build the transport and the client once; ``(transport, client)``."""
        if self._client is None:
            if not HAS_REQUESTS:
                self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
            transport = self._build_transport()
            try:
                self._client = self.CLIENT(transport, **dict((name, self.params[name]) for name in self.AUTH_SPEC()))
            except ValueError as exc:
                self.fail_json(msg="Invalid %s settings: %s" % (self.CLOUD_TITLE, exc))
            self._transport = transport
        return self._transport, self._client

    @property
    def client(self):
        """The cloud client, built on first use."""
        return self._connect()[1]

    @property
    def transport(self):
        """The module's one ``HttpTransport`` (its ``stats`` count attempts and retries)."""
        return self._connect()[0]

    def execute(self, run, partial=None):
        """Run the module's work and end the run: ``exit_json`` with the result ``run()``
        returns, or ``fail_json`` on a ``ModuleError`` or an ``ApiError`` with ``partial`` (the
        result built so far, a dict the work fills in) under the error's own keys. A
        ``ValueError`` from ``run()`` is an invalid option, found before any request.

        ``run`` may also be an operation (an ``_ops.ScanRun``): its ``run()`` and its ``result``.
        """
        if hasattr(run, "result"):
            run, partial = run.run, run.result
        partial = partial if partial is not None else {}
        try:
            result = run()
        except ModuleError as exc:
            self.fail_json(**self._returned(dict(partial, **exc.result), partial))
        except ApiError as exc:
            self.fail_json(**self._returned(dict(partial, msg=str(exc), error=exc.to_dict()), partial))
        except ValueError as exc:
            self.fail_json(**self._returned(dict(partial, msg="Invalid options: %s" % exc), partial))
        del run
        self.exit_json(**self._returned(result, partial))

    def _returned(self, result, *holders):
        """``result`` without ``raw`` when ``return_raw`` is false (what Ansible keeps of a
        registered result is then only the normalised figures).

        ``raw`` is taken out of ``result`` and of the ``holders`` (the partial result) themselves,
        not of copies: the raw answers, the largest part of a big listing, are then freed before
        Ansible copies the result (to hide no_log values) and serialises it, instead of being held
        through both.
        """
        if self.params.get("return_raw") is False:
            for held in (result,) + holders:
                if isinstance(held, dict):
                    held.pop("raw", None)
        return result
