# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Descriptions of the attributes. Every attribute also needs a support level: a module adds
    # them with INFO_MODULE, or with CHECK_MODE plus IDEMPOTENT or its own ``idempotent`` entry
    # (a module's own attribute values win over the fragments').
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
    details:
      - The module calls a cloud API over HTTPS; run it on the controller (C(delegate_to) V(localhost)).
"""

    # A module that only reads.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # A module that changes state (starts or stops scans) and supports check mode.
    CHECK_MODE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module only reads; it reports what it would start or stop.
  diff_mode:
    support: none
"""

    # A module whose second run with the same arguments changes nothing.
    IDEMPOTENT = r"""
options: {}
attributes:
  idempotent:
    support: full
"""

    ACTIONGROUP_HSS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/cloudsec.image_scan.hss) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - cloudsec.image_scan.hss
"""

    ACTIONGROUP_TCSS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/cloudsec.image_scan.tcss) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - cloudsec.image_scan.tcss
"""

    # An action that runs on the controller only, calls no module and changes nothing on any host
    # (image_scan_judge, image_scan_gate): complete, the base DOCUMENTATION is not needed with it.
    CONTROLLER_ACTION = r"""
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host, this bypasses per host templating and
      serial, throttle and other loop considerations.
    support: none
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
    details:
      - The action changes nothing on any host; in check mode it does the same as in a normal run.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff
      mode.
    support: none
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
"""
