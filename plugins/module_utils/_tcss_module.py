# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of the Tencent Cloud TCSS modules and their authentication options
(documented in the doc fragment ``cloudsec.image_scan.tcss``).

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import CloudModule, env, hint
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient


def tcss_auth_argument_spec():
    """Tencent Cloud authentication and location options (no connection options)."""
    return dict(
        secret_id=dict(type="str", no_log=True, fallback=env("TENCENTCLOUD_SECRET_ID")),
        secret_key=dict(type="str", no_log=True, fallback=env("TENCENTCLOUD_SECRET_KEY")),
        session_token=dict(type="str", no_log=True, fallback=env("TENCENTCLOUD_SESSION_TOKEN")),
        region=dict(type="str", fallback=env("TENCENTCLOUD_REGION")),
        endpoint=dict(type="str", fallback=env("TENCENTCLOUD_ENDPOINT")),
        international=dict(type="bool", default=False),
        language=dict(type="str", choices=["en-US", "zh-CN"]),
    )


def missing_tcss_settings(params):
    """Human-readable list of the TCSS settings that are missing from ``params``."""
    spec = tcss_auth_argument_spec()
    return [hint(spec, name) for name in ("secret_id", "secret_key") if not params.get(name)]


class TcssModule(CloudModule):
    """Base class of the Tencent Cloud TCSS modules."""

    CLOUD_TITLE = "Tencent Cloud TCSS"
    CLIENT = TcssClient
    AUTH_SPEC = staticmethod(tcss_auth_argument_spec)
    MISSING = staticmethod(missing_tcss_settings)
