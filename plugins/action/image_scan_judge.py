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

With ``collect``, the action also collects the results itself: it runs the provider's
``*_image_info`` module (on the task's host, with the play's module defaults) and judges what it
returns. The collected results, the largest data of a run, then live in this task's process only,
never in the controller's variables.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19 and later
    from ansible.executor.module_common import _apply_action_arg_defaults
    get_action_args_with_defaults = None
except ImportError:  # pragma: no cover - ansible-core before 2.19
    _apply_action_arg_defaults = None
    from ansible.executor.module_common import get_action_args_with_defaults

from ansible_collections.cloudsec.image_scan.plugins.filter.image_scan import image_scan_facts
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._store import write_store
from ansible_collections.cloudsec.image_scan.plugins.plugin_utils._worker import share_inherited_memory

#: The name an error of the collection gives as its task, as the other cloud calls of the role do.
COLLECT_TASK = "Collect the results"

#: The options, passed on to the image_scan_facts filter as they are (but ``return_facts`` and
#: ``collect``). ``match`` and ``images``, the largest, are checked by hand, so
#: that they are not copied.
ARGUMENT_SPEC = dict(
    collect=dict(type="dict"),
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

    def run(self, tmp=None, task_vars=None):
        share_inherited_memory()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Like the filter, no match or no images (a listing that failed) is an empty one.
        match = self._task.args.pop("match", None)
        images = self._task.args.pop("images", None)
        match = {} if match is None else match
        images = [] if images is None else images
        if not isinstance(match, Mapping):
            return dict(result, failed=True, msg="match: expected a dict, got %s" % type(match).__name__)
        if not isinstance(images, list) or not all(isinstance(image, Mapping) for image in images):
            return dict(result, failed=True, msg="images: expected a list of dicts")
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        return_facts = params.pop("return_facts")
        provider, collect = params.pop("provider"), params.pop("collect")
        # The collection needs every earlier call to have worked, and has nothing to read without images;
        # it reads the images of the match unless told which.
        if collect is not None and not params["error"]:
            collect = dict(collect, image_ids=collect.get("image_ids", list(match.get("image_ids") or [])))
        if collect and not params["error"] and collect["image_ids"]:
            collected = self._collect(provider, collect, task_vars)
            for key in ("warnings", "deprecations"):
                if collected.get(key):
                    result.setdefault(key, []).extend(collected[key])
            if collected.get("failed") or not isinstance(collected.get("images"), list):
                # The listing still says which images are the hosts': without a fresh result, not judged.
                # The scans were waited for before: no task is left pending.
                params["error"] = {"task": COLLECT_TASK, "msg": to_text(collected.get("msg") or "failed"),
                                   "wait": False, "task_ids": []}
            else:
                images = collected["images"]
                params["clock_offset"] = collected.get("clock_offset") or params["clock_offset"]
            del collected
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

    def _collect(self, provider, args, task_vars):
        """The result of the provider's image_info module with ``args`` and the play's module defaults."""
        module = "cloudsec.image_scan.%s_image_info" % provider
        if _apply_action_arg_defaults is not None:
            args = _apply_action_arg_defaults(module, self._task, dict(args), self._templar)
        else:  # pragma: no cover - ansible-core before 2.19
            args = get_action_args_with_defaults(module, dict(args), self._task.module_defaults, self._templar,
                                                 action_groups=self._task._parent._play._action_groups)
        collected = self._execute_module(module_name=module, module_args=args, task_vars=task_vars)
        collected.pop("invocation", None)
        return collected
