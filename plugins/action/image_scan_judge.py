# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Work out the image_scan result of every play host once, and keep it for the per-host gate.

The results are those of the ``image_scan_facts`` filter. They are written to a private
directory of the controller (one file per host, under Ansible's local temporary directory, which
Ansible removes when the run ends) instead of being returned: the results of every host would
otherwise travel through the controller's variables, and every per-host task forks that process.
The gate action (``store``) then reads the one file of its host. What is returned stays small: a
row per host for the summary, and the whole results of the hosts the gate fails, whose facts the
role sets before the gate (Ansible keeps no facts from a task that fails).
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.cloudsec.image_scan.plugins.filter.image_scan import image_scan_facts
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._store import write_store

#: The options, passed on to the image_scan_facts filter as they are (but ``return_facts``).
ARGUMENT_SPEC = dict(
    match=dict(type="dict", default={}),
    images=dict(type="list", elements="dict", default=[]),
    provider=dict(type="str", required=True, choices=["hss", "tcss"]),
    fail_on=dict(type="str", default="critical", choices=["critical", "high", "medium", "low", "none"]),
    ignore_unfixed=dict(type="bool", default=False),
    scanned_at=dict(type="str"),
    max_age=dict(type="raw"),
    force=dict(type="bool", default=False),
    fail_on_incomplete=dict(type="bool", default=True),
    fail_on_unscannable=dict(type="bool", default=False),
    fail_on_unenrolled=dict(type="bool", default=False),
    max_findings=dict(type="dict"),
    exceptions=dict(type="list", elements="dict"),
    baseline=dict(type="dict"),
    fail_on_new_only=dict(type="bool", default=False),
    on_error=dict(type="str", default="fail", choices=["fail", "warn"]),
    error=dict(type="dict"),
    play_hosts=dict(type="list", elements="str"),
    now=dict(type="str"),
    clock_offset=dict(type="float", default=0),
    return_facts=dict(type="bool", default=False),
)


def summary_row(fact):
    """What the summary table shows of one host, without its images."""
    delta = fact.get("delta")
    return {
        "passed": fact.get("passed"),
        "status": fact.get("status"),
        "summary": fact.get("summary") or {},
        "rules": list(dict.fromkeys(to_text(f["rule"]) for f in fact.get("failures") or [] if f.get("rule"))),
        "delta": ({"new": len(delta.get("new") or []), "fixed": len(delta.get("fixed") or [])}
                  if isinstance(delta, dict) else None),
    }


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Like the filter, no match or no images (a listing that failed) is an empty one.
        for name in ("match", "images"):
            if name in self._task.args and self._task.args[name] is None:
                del self._task.args[name]
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        return_facts = params.pop("return_facts")
        match, images, provider = params.pop("match"), params.pop("images"), params.pop("provider")
        try:
            facts = image_scan_facts(match, images, provider, **params)
        except AnsibleError as exc:
            return dict(result, failed=True, msg=to_text(exc.message if hasattr(exc, "message") else exc))
        try:
            store = write_store(facts)
        except OSError as exc:
            return dict(result, failed=True, msg="could not keep the results for the gate: %s" % to_native(exc))
        failing = {host: fact for host, fact in facts.items() if not fact.get("passed")}
        result.update(
            changed=False,
            store=store,
            hosts={host: summary_row(fact) for host, fact in facts.items()},
            failed_hosts=failing,
            msg="%d of %d hosts pass the gate" % (len(facts) - len(failing), len(facts)),
        )
        if return_facts:
            result["facts"] = facts
        return result
