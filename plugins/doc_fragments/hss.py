# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Huawei Cloud HSS: authentication and location. Use with cloudsec.image_scan.connection.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - Access key ID (AK) of a Huawei Cloud IAM user or of temporary credentials.
      - Requests are signed with O(access_key) and O(secret_key) (SDK-HMAC-SHA256) when both are set.
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_AK) is used, then E(CLOUD_SDK_AK).
    type: str
  secret_key:
    description:
      - Secret access key (SK) that goes with O(access_key).
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_SK) is used, then E(CLOUD_SDK_SK).
    type: str
  security_token:
    description:
      - Security token of temporary credentials (a temporary O(access_key) and O(secret_key)).
      - Sent as the C(X-Security-Token) header, which is signed.
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_SECURITY_TOKEN) is used.
    type: str
  auth_token:
    description:
      - IAM token sent as the C(X-Auth-Token) header instead of a signature.
      - Used only when O(access_key) and O(secret_key) are not both set.
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_AUTH_TOKEN) is used.
    type: str
  project_id:
    description:
      - ID of the project of the region, placed in every request path. Required.
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_PROJECT_ID) is used.
    type: str
  region:
    description:
      - Region ID, for example V(cn-north-4).
      - Gives the endpoint C(https://hss.<region>.myhuaweicloud.com) (C(https://hss.eu-west-101.myhuaweicloud.eu)
        for V(eu-west-101)) unless O(endpoint) is set, and is sent as the C(region) header on every call.
      - One of O(region) and O(endpoint) is required.
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_REGION) is used.
    type: str
  endpoint:
    description:
      - Full URL of the HSS endpoint, C(https://host[:port]) or for example C(http://127.0.0.1:8080).
      - Overrides the endpoint derived from O(region). A path in the URL is ignored.
      - If not set, the value of the environment variable E(HUAWEICLOUD_SDK_ENDPOINT) is used.
    type: str
  enterprise_project_id:
    description:
      - Enterprise project ID added to the query of every call.
      - V(0) is the default enterprise project, V(all_granted_eps) means all enterprise projects.
      - Only meaningful when enterprise projects are enabled for the account.
    type: str
notes:
  - "Huawei Cloud HSS: the credentials need O(project_id), O(access_key) and O(secret_key) (or O(auth_token)),
    and O(region) or O(endpoint). A missing setting fails the task before any request is sent."
"""
