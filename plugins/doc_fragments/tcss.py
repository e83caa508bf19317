# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Tencent Cloud TCSS: authentication and location. Use with cloudsec.image_scan.connection.
    DOCUMENTATION = r"""
options:
  secret_id:
    description:
      - SecretId of a Tencent Cloud API key or of temporary credentials. Required.
      - If not set, the value of the environment variable E(TENCENTCLOUD_SECRET_ID) is used.
    type: str
  secret_key:
    description:
      - SecretKey that goes with O(secret_id). Required.
      - If not set, the value of the environment variable E(TENCENTCLOUD_SECRET_KEY) is used.
    type: str
  session_token:
    description:
      - Token of temporary credentials, sent as the C(X-TC-Token) header.
      - If not set, the value of the environment variable E(TENCENTCLOUD_SESSION_TOKEN) is used.
    type: str
  region:
    description:
      - Region, for example V(ap-guangzhou), sent as the C(X-TC-Region) header. TCSS does not need it.
      - If not set, the value of the environment variable E(TENCENTCLOUD_REGION) is used.
    type: str
  endpoint:
    description:
      - Full URL of the TCSS endpoint, C(https://host[:port]) or for example C(http://127.0.0.1:8080).
      - Overrides the default endpoint C(https://tcss.tencentcloudapi.com) and O(international).
        Requests always go to the path C(/).
      - If not set, the value of the environment variable E(TENCENTCLOUD_ENDPOINT) is used.
    type: str
  international:
    description:
      - Use the endpoint of the international site, C(https://tcss.intl.tencentcloudapi.com).
      - Ignored when O(endpoint) is set.
    type: bool
    default: false
  language:
    description:
      - Language of the error messages, sent as the C(X-TC-Language) header. The service default applies when not set.
    type: str
    choices:
      - en-US
      - zh-CN
notes:
  - "Tencent Cloud TCSS: O(secret_id) and O(secret_key) are required. A missing setting fails the task before any
    request is sent."
"""
