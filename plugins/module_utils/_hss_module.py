# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of the Huawei Cloud HSS modules and their authentication options
(documented in the doc fragment ``cloudsec.image_scan.hss``).

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import CloudModule, env, hint


def hss_auth_argument_spec():
    """Huawei Cloud authentication and location options (no connection options)."""
    return dict(
        access_key=dict(type="str", no_log=True, fallback=env("HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK")),
        secret_key=dict(type="str", no_log=True, fallback=env("HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK")),
        security_token=dict(type="str", no_log=True, fallback=env("HUAWEICLOUD_SDK_SECURITY_TOKEN")),
        auth_token=dict(type="str", no_log=True, fallback=env("HUAWEICLOUD_SDK_AUTH_TOKEN")),
        project_id=dict(type="str", fallback=env("HUAWEICLOUD_SDK_PROJECT_ID")),
        region=dict(type="str", fallback=env("HUAWEICLOUD_SDK_REGION")),
        endpoint=dict(type="str", fallback=env("HUAWEICLOUD_SDK_ENDPOINT")),
        enterprise_project_id=dict(type="str"),
    )


def missing_hss_settings(params):
    """Human-readable list of the HSS settings that are missing from ``params``."""
    spec = hss_auth_argument_spec()
    missing = []
    if not params.get("project_id"):
        missing.append(hint(spec, "project_id"))
    has_ak, has_sk = bool(params.get("access_key")), bool(params.get("secret_key"))
    if not (params.get("auth_token") or (has_ak and has_sk)):
        if has_ak:
            missing.append(hint(spec, "secret_key") + " to go with access_key")
        elif has_sk:
            missing.append(hint(spec, "access_key") + " to go with secret_key")
        else:
            missing.append("%s and %s, or %s" % (
                hint(spec, "access_key"), hint(spec, "secret_key"), hint(spec, "auth_token")))
    if not (params.get("region") or params.get("endpoint")):
        missing.append("%s or %s" % (hint(spec, "region"), hint(spec, "endpoint")))
    return missing


class HssModule(CloudModule):
    """Base class of the Huawei Cloud HSS modules."""

    CLOUD_TITLE = "Huawei Cloud HSS"
    CLIENT = HssClient
    AUTH_SPEC = staticmethod(hss_auth_argument_spec)
    MISSING = staticmethod(missing_hss_settings)
