# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs and module base classes shared by the modules of the collection.

``HssModule`` and ``TcssModule`` are ``AnsibleModule`` objects that add the cloud's
authentication and connection options to the module's own, check that the credentials are
all there before any request, build the client once (``module.client``) and report API
errors (``module.fail_api_error(exc)``).

The options are documented in the doc fragments ``cloudsec.image_scan.hss``,
``cloudsec.image_scan.tcss``, ``cloudsec.image_scan.connection`` and
``cloudsec.image_scan.wait``; keep both in step.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    HttpTransport,
    RetryPolicy,
)
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient


def _env(*names):
    return (env_fallback, list(names))


def connection_argument_spec():
    """HTTP options: TLS, timeout and the retry policy."""
    return dict(
        validate_certs=dict(type="bool", default=True),
        ca_bundle=dict(type="path"),
        timeout=dict(type="int", default=30),
        backoff_retries=dict(type="int", default=5),
        backoff_delay=dict(type="float", default=1.0),
        backoff_max_delay=dict(type="float", default=30.0),
    )


def wait_argument_spec():
    """Options of the modules that can wait for a scan to end."""
    return dict(
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="int", default=5),
    )


def hss_auth_argument_spec():
    """Huawei Cloud authentication and location options (no connection options)."""
    return dict(
        access_key=dict(type="str", no_log=True, fallback=_env("HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK")),
        secret_key=dict(type="str", no_log=True, fallback=_env("HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK")),
        security_token=dict(type="str", no_log=True, fallback=_env("HUAWEICLOUD_SDK_SECURITY_TOKEN")),
        auth_token=dict(type="str", no_log=True, fallback=_env("HUAWEICLOUD_SDK_AUTH_TOKEN")),
        project_id=dict(type="str", fallback=_env("HUAWEICLOUD_SDK_PROJECT_ID")),
        region=dict(type="str", fallback=_env("HUAWEICLOUD_SDK_REGION")),
        endpoint=dict(type="str", fallback=_env("HUAWEICLOUD_SDK_ENDPOINT")),
        enterprise_project_id=dict(type="str"),
    )


def tcss_auth_argument_spec():
    """Tencent Cloud authentication and location options (no connection options)."""
    return dict(
        secret_id=dict(type="str", no_log=True, fallback=_env("TENCENTCLOUD_SECRET_ID")),
        secret_key=dict(type="str", no_log=True, fallback=_env("TENCENTCLOUD_SECRET_KEY")),
        session_token=dict(type="str", no_log=True, fallback=_env("TENCENTCLOUD_SESSION_TOKEN")),
        region=dict(type="str", fallback=_env("TENCENTCLOUD_REGION")),
        endpoint=dict(type="str", fallback=_env("TENCENTCLOUD_ENDPOINT")),
        international=dict(type="bool", default=False),
        language=dict(type="str", choices=["en-US", "zh-CN"]),
    )


def hss_argument_spec():
    """Every option an HSS module shares: authentication plus connection."""
    spec = hss_auth_argument_spec()
    spec.update(connection_argument_spec())
    return spec


def tcss_argument_spec():
    """Every option a TCSS module shares: authentication plus connection."""
    spec = tcss_auth_argument_spec()
    spec.update(connection_argument_spec())
    return spec


def _hint(spec, name):
    """``name`` followed by the environment variables it falls back to."""
    fallback = spec[name].get("fallback")
    names = fallback[1] if fallback else []
    if not names:
        return name
    return "%s (or environment variable %s)" % (name, " or ".join(names))


def missing_hss_settings(params):
    """Human-readable list of the HSS settings that are missing from ``params``."""
    spec = hss_auth_argument_spec()
    missing = []
    if not params.get("project_id"):
        missing.append(_hint(spec, "project_id"))
    has_ak, has_sk = bool(params.get("access_key")), bool(params.get("secret_key"))
    if not (params.get("auth_token") or (has_ak and has_sk)):
        if has_ak:
            missing.append(_hint(spec, "secret_key") + " to go with access_key")
        elif has_sk:
            missing.append(_hint(spec, "access_key") + " to go with secret_key")
        else:
            missing.append("%s and %s, or %s" % (
                _hint(spec, "access_key"), _hint(spec, "secret_key"), _hint(spec, "auth_token")))
    if not (params.get("region") or params.get("endpoint")):
        missing.append("%s or %s" % (_hint(spec, "region"), _hint(spec, "endpoint")))
    return missing


def missing_tcss_settings(params):
    """Human-readable list of the TCSS settings that are missing from ``params``."""
    spec = tcss_auth_argument_spec()
    return [_hint(spec, name) for name in ("secret_id", "secret_key") if not params.get(name)]


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


class _CloudModule(AnsibleModule):
    """An ``AnsibleModule`` with a cloud's shared options, credential check and client."""

    CLOUD_TITLE = ""

    def __init__(self, argument_spec=None, **kwargs):
        spec = self.shared_argument_spec()
        spec.update(copy.deepcopy(argument_spec or {}))
        super(_CloudModule, self).__init__(argument_spec=spec, **kwargs)
        # An empty value means "not set": credential injectors (AWX) export optional fields
        # such as a session token as empty variables.
        for name, option in self.shared_argument_spec().items():
            if option.get("type") == "str" and self.params.get(name) == "":
                self.params[name] = None
        self._client = None
        self._transport = None
        self.check_settings()

    @staticmethod
    def shared_argument_spec():
        raise NotImplementedError

    def missing_settings(self):
        raise NotImplementedError

    def check_settings(self):
        """Fail, before any request, when credentials are missing or options cannot work."""
        missing = self.missing_settings()
        if missing:
            self.fail_json(msg="Missing %s settings: %s." % (self.CLOUD_TITLE, "; ".join(missing)))
        problems = connection_problems(self.params)
        if problems:
            self.fail_json(msg="Invalid connection options: %s." % "; ".join(problems))

    def _build_transport(self):
        params = self.params
        policy = RetryPolicy(retries=params["backoff_retries"], delay=params["backoff_delay"],
                             max_delay=params["backoff_max_delay"])
        return HttpTransport(timeout=params["timeout"], validate_certs=params["validate_certs"],
                             ca_bundle=params["ca_bundle"], retry_policy=policy)

    def _build_client(self, transport):
        raise NotImplementedError

    def _connect(self):
        """Build the transport and the client once; ``(transport, client)``."""
        if self._client is None:
            if not HAS_REQUESTS:
                self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
            transport = self._build_transport()
            try:
                self._client = self._build_client(transport)
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

    def fail_api_error(self, exc, **result):
        """Fail with an ``ApiError``: its text as ``msg`` and its fields under ``error``."""
        self.fail_json(msg=str(exc), error=exc.to_dict(), **result)


class HssModule(_CloudModule):
    """Base class of the Huawei Cloud HSS modules."""

    CLOUD_TITLE = "Huawei Cloud HSS"

    @staticmethod
    def shared_argument_spec():
        return hss_argument_spec()

    def missing_settings(self):
        return missing_hss_settings(self.params)

    def _build_client(self, transport):
        params = self.params
        return HssClient(
            transport, params["project_id"], region=params["region"], endpoint=params["endpoint"],
            access_key=params["access_key"], secret_key=params["secret_key"],
            security_token=params["security_token"], auth_token=params["auth_token"],
            enterprise_project_id=params["enterprise_project_id"])


class TcssModule(_CloudModule):
    """Base class of the Tencent Cloud TCSS modules."""

    CLOUD_TITLE = "Tencent Cloud TCSS"

    @staticmethod
    def shared_argument_spec():
        return tcss_argument_spec()

    def missing_settings(self):
        return missing_tcss_settings(self.params)

    def _build_client(self, transport):
        params = self.params
        return TcssClient(
            transport, params["secret_id"], params["secret_key"],
            session_token=params["session_token"], region=params["region"],
            endpoint=params["endpoint"], international=params["international"],
            language=params["language"])
