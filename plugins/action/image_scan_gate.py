# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Leave a host its image_scan result as a cacheable fact and fail the host the gate does not pass.

The role's one task that runs on every host. It runs on the controller, needs no connection to the
host and calls no module: everything it needs was computed once for the play.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._store import read_store
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._worker import share_inherited_memory

#: The name of the fact, the role's documented output.
FACT = "image_scan"

ARGUMENT_SPEC = dict(
    result=dict(type="raw"),
    store=dict(type="path"),
    judge_var=dict(type="str"),
    judged=dict(type="bool", default=True),
)


def verdict(host, result, judged=True):
    """``(failed, msg)`` for one host and its result from the gate.

    A host that was not judged (it had failed before the role started) fails again; so does a host
    without a readable result, because a gate that cannot confirm a scan must not pass the host.
    """
    host = to_text(host)
    if not judged:
        return True, "%s had failed before the image_scan role started" % host
    if not isinstance(result, Mapping) or not isinstance(result.get("passed"), bool):
        return True, "%s has no image_scan result to judge it by: the gate does not pass it" % host
    if not result["passed"]:
        return True, to_text(result.get("message") or "") or "%s failed the gate" % host
    return False, "%s passed the gate (%s)" % (host, to_text(result.get("status") or "no status"))


def judged_store(task_vars, name):
    """The ``store`` of the image_scan_judge result registered as ``name``, or ``None``."""
    registered = task_vars.get(name)
    store = registered.get("store") if isinstance(registered, Mapping) else None
    return to_text(store) if isinstance(store, str) and store else None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        share_inherited_memory()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                    mutually_exclusive=[("result", "store", "judge_var")])
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "")
        if params["judge_var"] and params["judged"]:
            # The variable is read as it is kept, not templated: on every host of a large play a
            # template costs more than everything else this action does.
            params["store"] = judged_store(task_vars, params["judge_var"])
            if params["store"] is None:
                return dict(result, changed=False, failed=True,
                            msg="judge_var: %s holds no result of image_scan_judge with a store of results; the gate "
                            "does not pass %s" % (params["judge_var"], to_text(host)))
        if params["store"] and params["judged"]:
            if not os.path.isdir(params["store"]):
                return dict(result, changed=False, failed=True,
                            msg="store: %s is not a directory of results; the gate does not pass %s"
                            % (params["store"], to_text(host)))
            try:
                params["result"] = read_store(params["store"], host)
            except (OSError, ValueError) as exc:
                return dict(result, changed=False, failed=True,
                            msg="%s: its image_scan result could not be read, the gate does not pass it: %s"
                            % (to_text(host), to_text(exc)))
            if params["result"] is None:
                # image_scan_judge writes a result for every host of the play: a host without one
                # was not in the play then (it had failed before, and came back).
                return dict(result, changed=False, failed=True,
                            msg="%s has no image_scan result: it was not in the play when the results were worked "
                            "out (it had failed before the image_scan role started); the gate does not pass it"
                            % to_text(host))
        failed, msg = verdict(host, params["result"], params["judged"])
        result.update(changed=False, failed=failed, msg=msg)
        # Ansible keeps the facts of a result that did not fail only (in the fact cache, as for
        # gathered facts): the role sets the facts of the hosts the gate fails before this task.
        if not failed:
            result["ansible_facts"] = {FACT: dict(params["result"])}
        return result
