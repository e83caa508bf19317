# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Seeded soak of the scan modules against the emulator under faults (see README.md here).

    python tests/soak/soak.py --seeds 1-20 [--jobs 2] [--lag-seconds 1] [--work DIR]

Run from the collection tree that ``make tree`` builds (the modules are imported from the
``ansible_collections`` directory above this file). Each seed chooses a scenario (a module,
its targets, how it waits, a rerun) and a fault plan; the emulator (``serve.py --realism lag``)
is reset, the plan installed, and the modules run as real processes. Every run is then judged
against the emulator's own record (``GET /_emulator/stats``, ``/_emulator/dataset``,
``/_emulator/scans``). A failing seed prints its schedule, the module results and the
violations; ``--seeds N`` replays it.

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
SERVE = os.path.join(COLLECTION, "tests", "emulator", "serve.py")
MODULES = "ansible_collections.cloudsec.image_scan.plugins.modules."
FQCN = "cloudsec.image_scan."

# Fake credentials, long enough that no_log masking does not hit ordinary words.
HSS_AK = "HSSAKSOAKONLY000000001"
HSS_SK = "HSSSKSOAKSECRETONLY0000000000000000001"
HSS_PROJECT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TCSS_ID = "AKIDTCSSSOAKONLY00000000000000000001"
TCSS_KEY = "TCSSKEYSOAKSECRETONLY000000000000001"

TRACEBACK = "Traceback (most recent call last)"
#: Error codes the transport makes up when no cloud answered.
SYNTHETIC_CODES = ("NetworkError", "Timeout", "InvalidResponse")
#: Operations that start a scan, per cloud.
TRIGGERS = {"hss": ["hss.CreateManualImageScanTask", "hss.BatchScanLocalImage"],
            "tcss": ["tcss.CreateAssetImageScanTask"]}
READS = {"hss": ["hss.List*"], "tcss": ["tcss.Describe*"]}
FAULT_KINDS = ("throttle", "server_error", "reset_before", "reset_after", "garbled", "latency")
#: Options of every module run: short pauses and deadlines against an emulator that is fast.
FAST = dict(backoff_delay=0.1, backoff_max_delay=0.5)
WAIT = dict(wait_sleep=1, wait_timeout=60)


def parse_seeds(text):
    """``"1-5,9"`` -> ``[1, 2, 3, 4, 5, 9]``."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            first, last = part.split("-", 1) if not part.startswith("-") else (part, part)
            seeds.extend(range(int(first), int(last) + 1))
        else:
            seeds.append(int(part))
    return seeds


# ---------------------------------------------------------------------------------------------
# The schedule a seed chooses
# ---------------------------------------------------------------------------------------------


def fault_plan(rng, cloud, seed, timeout):
    """A fault plan of one to three kinds, on the triggers, the reads or everything of ``cloud``."""
    plan = {"seed": seed}
    for kind in rng.sample(FAULT_KINDS, rng.randint(1, 3)):
        where = rng.choice(("trigger", "trigger", "reads", "all"))
        ops = {"trigger": TRIGGERS[cloud], "reads": READS[cloud], "all": [cloud + ".*"]}[where]
        rule = {"p": rng.choice((0.3, 0.6, 1.0)), "times": rng.randint(1, 2 if where == "trigger" else 3),
                "ops": ops}
        if kind == "server_error":
            rule["status"] = rng.choice((500, 502, 503, 504))
        elif kind == "latency":
            # With the short timeout, now and then longer than it: the answer comes after the
            # module gave up (the request is applied all the same).
            rule["seconds"] = rng.choice((0.3, 0.8, timeout + 0.5 if timeout <= 5 else 1.5))
        elif kind == "throttle":
            rule["retry_after"] = 1
        plan[kind] = rule
    return plan


def schedule(seed, data):
    """What seed ``seed`` runs: ``{"seed", "faults", "intents": [[step, ...], ...]}``.

    ``data`` is the emulator's dataset (``GET /_emulator/dataset``). An intent is one trigger
    (its first step) and how it is followed: waiting inside the module, with the ``_wait``
    action, or not at all, then a read with an info module. With some seeds the same trigger
    is run again as a second intent (it must start nothing new)."""
    rng = random.Random(seed)
    kind = rng.choice(("hss_local_host", "hss_local_images", "hss_registry", "tcss", "tcss"))
    cloud = "tcss" if kind == "tcss" else "hss"
    follow = rng.choice(("module", "module", "action", "none"))
    timeout = rng.choice((30, 30, 2))
    common = dict(FAST, timeout=timeout, start_timeout=rng.choice((3, 5)), **WAIT)
    common["wait"] = follow == "module"
    if kind == "hss_local_host":
        hosts = sorted(set(row["host_name"] for row in data["hss"]["local_images"]))
        trigger = ("hss_local_image_scan", dict(common, host_name=rng.choice(hosts)))
    elif kind == "hss_local_images":
        ids = sorted(set(row["image_id"] for row in data["hss"]["local_images"]))
        trigger = ("hss_local_image_scan", dict(common, images=rng.sample(ids, rng.randint(1, 2))))
    elif kind == "hss_registry":
        keys = ("id", "image_digest", "namespace", "image_name", "image_version", "registry_id", "registry_name",
                "registry_type", "instance_id")
        rows = rng.sample(data["hss"]["registry_images"], rng.randint(1, 3))
        images = [dict((key, row[key]) for key in keys if row.get(key) not in (None, "")) for row in rows]
        trigger = ("hss_image_scan", dict(common, image_type="registry", images=images))
    else:
        ids = [row["ImageID"] for row in data["tcss"]["images"]]
        trigger = ("tcss_image_scan", dict(common, images=rng.sample(ids, rng.randint(1, 3)),
                                           one_click=rng.random() < 0.2))
    steps = [dict(module=trigger[0], args=trigger[1], role="trigger")]
    if follow == "action":
        steps.append(dict(module=cloud + "_image_scan_wait", args=dict(FAST, **WAIT), role="wait", action=True))
    info = {"hss_local_image_scan": ("hss_image_info", dict(image_type="local")),
            "hss_image_scan": ("hss_image_scan_task_info", dict()),
            "tcss_image_scan": ("tcss_image_scan_task_info", dict())}[trigger[0]]
    steps.append(dict(module=info[0], args=dict(FAST, **info[1]), role="info"))
    intents = [steps]
    if rng.random() < 0.25:
        again = dict(trigger[1], wait=True)
        intents.append([dict(module=trigger[0], args=again, role="trigger")])
    return {"seed": seed, "cloud": cloud, "faults": fault_plan(rng, cloud, seed, timeout), "intents": intents}


def bind(step, before):
    """The arguments of a follow-up step, from the results of the steps before it."""
    args = dict(step["args"])
    trigger = before[0]
    trigger_args = (trigger.get("invocation") or {}).get("module_args") or {}
    if step["role"] == "wait":
        task = trigger.get("task") or {}
        if step["module"] != "hss_image_scan_wait" or trigger.get("task") is not None \
                or "image_type" in trigger_args:
            if not task.get("id"):
                return None  # nothing to wait for by id: the trigger names no task
            args["task_id"] = task["id"]
        else:
            refs = trigger.get("images_triggered") or []
            if not refs:
                return None
            args["images"] = [dict(id=ref["id"], host=dict(id=(ref.get("host") or {}).get("id")),
                                   latest_scan_time=ref.get("latest_scan_time")) for ref in refs]
        if step["module"].startswith("hss"):
            args["start_timeout"] = trigger_args.get("start_timeout", 8)
    elif step["module"].endswith("task_info"):
        task = trigger.get("task") or {}
        if task.get("id"):
            args["task_id"] = task["id"]
    return args


# ---------------------------------------------------------------------------------------------
# Judging a run
# ---------------------------------------------------------------------------------------------


def result_text(result):
    """The result as text, without the echo of the arguments."""
    return json.dumps(dict((key, value) for key, value in result.items() if key != "invocation"), sort_keys=True)


def check_output(step, result, stdout, stderr):
    """No traceback, and a readable result."""
    problems = []
    if TRACEBACK in stdout or TRACEBACK in stderr:
        problems.append("%s: a Python traceback in the output" % step)
    if result is None:
        problems.append("%s: no JSON result (stdout %r, stderr %r)" % (step, stdout[-300:], stderr[-300:]))
    elif TRACEBACK in str(result.get("exception") or "") or "MODULE FAILURE" in str(result.get("msg") or ""):
        problems.append("%s: the module crashed: %s" % (step, result.get("msg")))
    return problems


def check_failure(step, result, started_tasks):
    """A failed result names its error: a message; with an API error its code, message and,
    when the cloud itself answered, its request id; and every task the step started."""
    if not result or not result.get("failed"):
        return []
    problems = []
    if not str(result.get("msg") or "").strip():
        problems.append("%s: failed without a message" % step)
    error = result.get("error")
    if error is not None:
        if not isinstance(error, dict):
            problems.append("%s: error is not a dictionary: %r" % (step, error))
        else:
            code = error.get("error_code") or error.get("code")
            if not code:
                problems.append("%s: the error names no code: %r" % (step, error))
            if not (error.get("error_msg") or error.get("message")):
                problems.append("%s: the error has no message: %r" % (step, error))
            answered = code and code not in SYNTHETIC_CODES and not str(code).isdigit()
            if answered and not error.get("request_id"):
                problems.append("%s: the cloud answered %s but the error has no request id" % (step, code))
    text = result_text(result)
    for task_id in started_tasks:
        if task_id not in text:
            problems.append("%s: failed without naming task %s, which it started" % (step, task_id))
    return problems


def check_changed(step, result, started):
    """A step that started a scan says so (``changed``), also when it failed."""
    if started and result and not result.get("changed"):
        return ["%s: started a scan (%s) but reports changed=false" % (step, ", ".join(started))]
    return []


def check_confirmed(step, result, scans_after, since, tasks_after):
    """A step that ends ok after waiting has a finished scan of every image it triggered (and
    its task, when it names one, has ended)."""
    if not result or result.get("failed"):
        return []
    problems = []
    task = result.get("task") or {}
    if task.get("id"):
        state = tasks_after.get(task["id"])
        if state is None:
            problems.append("%s: ended ok with task %s, which the emulator does not know" % (step, task["id"]))
        elif state != "ended":
            problems.append("%s: ended ok while its task %s is still %s" % (step, task["id"], state))
    for ref in result.get("images_triggered") or []:
        units = matching_units(ref, scans_after)
        if not units:
            problems.append("%s: triggered image %s, which the emulator does not hold" % (step, ref.get("id")))
        for unit in units:
            if unit.get("pending_task") or not unit.get("last_scan") or unit["last_scan"] < since:
                problems.append("%s: ended ok but image %s (%s) has no finished scan from this run: status %s, "
                                "last scan %s" % (step, ref.get("id"), unit.get("host") or unit.get("image"),
                                                  unit.get("status"), unit.get("last_scan")))
    return problems


def matching_units(ref, scans):
    """The emulator's scan units of an ``images_triggered`` entry."""
    host = (ref.get("host") or {}).get("name")
    found = []
    for unit in scans.get("hss", []) + scans.get("tcss", []):
        if unit.get("image_id") == ref.get("id") and (not host or unit.get("host") in (None, host)):
            found.append(unit)
        elif unit.get("record_id") is not None and str(unit["record_id"]) == str(ref.get("id")):
            found.append(unit)
    return found


#: Defects the soak finds that are not fixed yet: ``(description, test)``, where ``test(result,
#: started)`` says whether a step's violations are this defect. A seed whose every violation is a
#: known defect is listed as such and does not fail the run unless ``--strict``.
KNOWN_DEFECTS = ()


def known_defect(result, started):
    """The description of the known defect a failing step shows, else ``None``."""
    for description, test in KNOWN_DEFECTS:
        if result and result.get("failed") and test(result, started):
            return description
    return None


def check_intent(intent, counts, batches):
    """At most one scan per intent: one task, one non-empty batch per batch sent, and no image
    scanned twice (scan results counted against the images scanned)."""
    problems = []
    for cloud, created in sorted(counts["tasks_created"].items()):
        if created > 1:
            problems.append("%s: %d %s scan tasks created for one intent" % (intent, created, cloud))
    if counts["batch_scans"] > batches:
        problems.append("%s: %d BatchScanLocalImage calls applied with images for %d batch(es)"
                        % (intent, counts["batch_scans"], batches))
    for cloud, results in sorted(counts["images_scanned"].items()):
        distinct = counts["units_scanned"].get(cloud, 0)
        if results > distinct:
            problems.append("%s: %d %s scan results for %d images: an image was scanned twice"
                            % (intent, results, cloud, distinct))
    return problems


# ---------------------------------------------------------------------------------------------
# The emulator and the module processes
# ---------------------------------------------------------------------------------------------


class Emulator(object):
    """One ``serve.py`` process (``--realism lag``) and its admin routes."""

    def __init__(self, python, lag_seconds, log):
        self.log = open(log, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [python, SERVE, "--host", "127.0.0.1", "--port", "0", "--hss-ak", HSS_AK, "--hss-sk", HSS_SK,
             "--hss-project-id", HSS_PROJECT, "--tcss-secret-id", TCSS_ID, "--tcss-secret-key", TCSS_KEY,
             "--realism", "lag", "--lag-seconds", str(lag_seconds), "--scan-seconds", "1"],
            stdout=subprocess.PIPE, stderr=self.log, universal_newlines=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("the emulator did not start: %r (log %s)" % (line, log))
        self.url = line[len("listening on "):]

    def admin(self, method, route, body=None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.url + "/_emulator/" + route, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read().decode("utf-8"))

    def quiesce(self, timeout=60):
        """Wait until no scan is pending; the scans view then."""
        deadline = time.monotonic() + timeout
        while True:
            scans = self.admin("GET", "scans")
            if not any(unit.get("pending_task") for unit in scans["hss"] + scans["tcss"]):
                return scans
            if time.monotonic() > deadline:
                raise RuntimeError("scans still pending after %s seconds" % timeout)
            time.sleep(0.25)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def environment(url):
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = COLLECTIONS + (os.pathsep + path if path else "")
    env.update(HUAWEICLOUD_SDK_AK=HSS_AK, HUAWEICLOUD_SDK_SK=HSS_SK, HUAWEICLOUD_SDK_PROJECT_ID=HSS_PROJECT,
               HUAWEICLOUD_SDK_REGION="cn-north-4", HUAWEICLOUD_SDK_ENDPOINT=url, TENCENTCLOUD_SECRET_ID=TCSS_ID,
               TENCENTCLOUD_SECRET_KEY=TCSS_KEY, TENCENTCLOUD_REGION="ap-guangzhou", TENCENTCLOUD_ENDPOINT=url,
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    return env


def run_module(python, module, args, env, workdir, name):
    """Run a module as Ansible's module runner does: a process with the arguments in a JSON file.
    ``(result or None, stdout, stderr)``."""
    path = os.path.join(workdir, name + ".args.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    proc = subprocess.run([python, "-m", MODULES + module, path], env=env, cwd=workdir, capture_output=True,
                          universal_newlines=True, timeout=300, check=False)
    return last_json(proc.stdout), proc.stdout, proc.stderr


def run_action(ansible, module, args, env, workdir):
    """Run an action plugin (the ``_wait`` modules) with ad-hoc ``ansible`` on localhost; its result."""
    proc = subprocess.run([ansible, "localhost", "-c", "local", "-m", FQCN + module, "-a", json.dumps(args)],
                          env=env, cwd=workdir, capture_output=True, universal_newlines=True, timeout=300,
                          check=False)
    # The minimal callback prints "localhost | SUCCESS => {...}" ("FAILED!", "CHANGED", "UNREACHABLE!").
    result = last_json(proc.stdout)
    if result is not None:
        head = proc.stdout.split("=>", 1)[0]
        if "FAILED!" in head or "UNREACHABLE!" in head:
            result["failed"] = True
    return result, proc.stdout, proc.stderr


def last_json(text):
    """The JSON object the output ends with (modules may print a warning line before it)."""
    start = text.find("{")
    while start != -1:
        try:
            return json.loads(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
    return None


def task_states(dataset):
    """``{task id: "running" | "ended"}`` of every task the emulator holds (H2 rows and T1 tasks)."""
    states = {}
    for row in dataset["hss"]["tasks"] + dataset["hss"]["batch_scans"]:
        states[row["task_id"]] = "ended" if row.get("end_time") else "running"
    for row in dataset["tcss"]["tasks"]:
        states[row["TaskID"]] = "ended" if row.get("Status") == "END" else "running"
    return states


def started_between(before, after):
    """The ids of the tasks (with at least one image) that appeared between two datasets."""
    known = set(row["task_id"] for row in before["hss"]["tasks"] + before["hss"]["batch_scans"])
    known.update(row["TaskID"] for row in before["tcss"]["tasks"])
    started, batches = [], 0
    for row in after["hss"]["tasks"]:
        if row["task_id"] not in known and row.get("total_num"):
            started.append(row["task_id"])
    for row in after["hss"]["batch_scans"]:
        if row["task_id"] not in known and row.get("total_num"):
            batches += 1
            started.append("batch scan %s" % row["task_id"])
    for row in after["tcss"]["tasks"]:
        if row["TaskID"] not in known and row.get("ImageTotal"):
            started.append(row["TaskID"])
    return started, batches


def units_scanned_since(scans, since):
    counts = {}
    for cloud in ("hss", "tcss"):
        counts[cloud] = sum(1 for unit in scans[cloud] if unit.get("last_scan") and unit["last_scan"] >= since)
    return counts


def stats_diff(before, after):
    return {
        "tasks_created": dict((c, after["tasks_created"][c] - before["tasks_created"][c]) for c in ("hss", "tcss")),
        "images_scanned": dict((c, after["images_scanned"][c] - before["images_scanned"][c])
                               for c in ("hss", "tcss")),
    }


class Runner(object):
    """One worker: its emulator, its work directory, the seeds given to it."""

    def __init__(self, options, index):
        self.options = options
        self.workdir = tempfile.mkdtemp(prefix="worker%d-" % index, dir=options.work)
        self.emulator = Emulator(options.python, options.lag_seconds, os.path.join(self.workdir, "emulator.log"))
        self.env = environment(self.emulator.url)
        self.data = self.emulator.admin("GET", "dataset")
        #: Step name -> the known defect its violations show (``KNOWN_DEFECTS``), for the last seed.
        self.known = {}

    def close(self):
        self.emulator.stop()

    def run_seed(self, seed):
        """``(schedule, log, problems)`` of one seed."""
        plan = schedule(seed, self.data)
        emulator = self.emulator
        emulator.admin("POST", "reset")
        emulator.admin("POST", "faults", plan["faults"])
        log, problems, self.known = [], [], {}
        for number, intent in enumerate(plan["intents"], 1):
            problems.extend(self.run_intent(seed, number, intent, log))
        emulator.admin("POST", "faults", {})
        fired = emulator.admin("GET", "stats")["faults"]
        return plan, log, fired, problems

    def run_intent(self, seed, number, intent, log):
        emulator = self.emulator
        problems = []
        since = time.time() - 0.001
        stats_before = emulator.admin("GET", "stats")
        data_before = emulator.admin("GET", "dataset")
        results = []
        for index, step in enumerate(intent):
            if self.options.broken and step["role"] != "trigger":
                continue  # the broken schedule only needs the triggers
            name = "seed%d-intent%d-step%d-%s" % (seed, number, index, step["module"])
            args = bind(step, results) if results else dict(step["args"])
            if args is None:
                log.append(dict(step=name, skipped="the trigger named nothing to follow"))
                continue
            step_data_before = emulator.admin("GET", "dataset")
            began = time.monotonic()
            if step.get("action"):
                result, out, err = run_action(self.options.ansible, step["module"], args, self.env, self.workdir)
            else:
                result, out, err = run_module(self.options.python, step["module"], args, self.env, self.workdir,
                                              name)
            scans_now = emulator.admin("GET", "scans")
            data_now = emulator.admin("GET", "dataset")
            started, dummy = started_between(step_data_before, data_now)
            log.append(dict(step=name, args=dict((k, v) for k, v in args.items() if k not in FAST and k not in WAIT),
                            seconds=round(time.monotonic() - began, 1), result=summary(result), started=started))
            found = check_output(name, result, out, err)
            task_ids = [task_id for task_id in started if not task_id.startswith("batch scan")]
            found.extend(check_failure(name, result, task_ids))
            if step["role"] == "trigger":
                found.extend(check_changed(name, result, started))
            if found and known_defect(result, started):
                self.known[name] = known_defect(result, started)
            problems.extend(found)
            waited = result is not None and (step["role"] == "wait" or (step["role"] == "trigger" and bool(args.get("wait"))))
            if waited:
                source = result if step["role"] == "trigger" else dict(result or {}, images_triggered=(
                    results[0].get("images_triggered") if results and (result or {}).get("task") is None else []))
                problems.extend(check_confirmed(name, source, scans_now, since, task_states(data_now)))
            results.append(result or {})
            if self.options.broken and step["role"] == "trigger":
                # The deliberately broken schedule: the same intent triggered a second time.
                emulator.quiesce()
                run_module(self.options.python, step["module"], dict(args, force=True, wait=False), self.env,
                           self.workdir, name + "-again")
        scans_after = emulator.quiesce()
        counts = stats_diff(stats_before, emulator.admin("GET", "stats"))
        data_after = emulator.admin("GET", "dataset")
        dummy, batches_applied = started_between(data_before, data_after)
        counts["batch_scans"] = batches_applied
        counts["units_scanned"] = units_scanned_since(scans_after, since)
        problems.extend(check_intent("seed %d intent %d" % (seed, number), counts, 1))
        log.append(dict(intent=number, counts=counts))
        return problems


def summary(result):
    """The keys of a result worth printing for a failing seed."""
    if result is None:
        return None
    keys = ("failed", "changed", "msg", "error", "task", "task_id", "triggered_at", "images_pending", "attached")
    out = dict((key, result[key]) for key in keys if key in result)
    out["images_triggered"] = [ref.get("id") for ref in result.get("images_triggered") or []]
    return out


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def is_duplicate(problem):
    """Whether a violation is one of ``check_intent``'s (more than one scan for an intent)."""
    return "for one intent" in problem or "scanned twice" in problem or "BatchScanLocalImage calls" in problem


def report(seed, plan, log, fired, problems, out, known=None):
    out.write("\n=== seed %d %s (replay: --seeds %d)\n" % (seed, "KNOWN DEFECT" if known else "FAILED", seed))
    for description in known or ():
        out.write("known defect: %s\n" % description)
    out.write("schedule: %s\n" % json.dumps(plan, sort_keys=True))
    out.write("faults fired: %s\n" % json.dumps(fired, sort_keys=True))
    for entry in log:
        out.write("  %s\n" % json.dumps(entry, sort_keys=True))
    for problem in problems:
        out.write("  VIOLATION %s\n" % problem)
    out.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--seeds", default="1-20", help="seeds to run: 1-300 or 3,7,11 (default 1-20)")
    parser.add_argument("--jobs", type=int, default=2, help="workers, each with its own emulator (default 2)")
    parser.add_argument("--lag-seconds", type=float, default=1.0, help="the lag profile's delay (default 1)")
    parser.add_argument("--python", default=sys.executable, help="the Python the modules run with")
    parser.add_argument("--ansible", default=os.path.join(os.path.dirname(sys.executable), "ansible"),
                        help="the ansible command that runs the _wait action plugins")
    parser.add_argument("--work", help="keep the work files (module arguments, emulator logs) here")
    parser.add_argument("--strict", action="store_true",
                        help="fail the seeds that show only known defects (KNOWN_DEFECTS) too")
    parser.add_argument("--broken", action="store_true",
                        help="check the judge: send every trigger a second time (force=true) and succeed only "
                             "if every seed is caught scanning twice")
    options = parser.parse_args(argv)
    seeds = parse_seeds(options.seeds)
    keep = bool(options.work)
    if keep:
        os.makedirs(options.work, exist_ok=True)
    else:
        options.work = tempfile.mkdtemp(prefix="soak-")
    started = time.monotonic()
    queue = list(seeds)
    lock = threading.Lock()
    failed, known, errors = [], [], []
    durations = {}

    def work(index):
        try:
            runner = Runner(options, index)
        except (RuntimeError, OSError) as exc:
            with lock:
                errors.append(str(exc))
            return
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    seed = queue.pop(0)
                began = time.monotonic()
                try:
                    plan, log, fired, problems = runner.run_seed(seed)
                except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
                    plan, log, fired, problems = schedule(seed, runner.data), [], {}, ["the soak could not run: %s"
                                                                                       % exc]
                with lock:
                    durations[seed] = time.monotonic() - began
                    if options.broken:
                        if not any(is_duplicate(problem) for problem in problems):
                            failed.append(seed)
                            report(seed, plan, log, fired, problems + ["the second scan was not caught"],
                                   sys.stdout)
                        else:
                            sys.stdout.write("x")
                    elif problems and not options.strict and all(
                            problem.split(":", 1)[0] in runner.known for problem in problems):
                        known.append(seed)
                        report(seed, plan, log, fired, problems, sys.stdout, sorted(set(runner.known.values())))
                    elif problems:
                        failed.append(seed)
                        report(seed, plan, log, fired, problems, sys.stdout)
                    else:
                        sys.stdout.write(".")
                        sys.stdout.flush()
        finally:
            runner.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(max(options.jobs, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not keep:
        shutil.rmtree(options.work, ignore_errors=True)
    which = (" (%s)" % ",".join(str(seed) for seed in sorted(failed))) if failed else ""
    sys.stdout.write("\nsoak%s: %d seeds, %d failed%s, %.0f s\n" % (
        " --broken (every seed must be caught)" if options.broken else "", len(seeds), len(failed), which,
        time.monotonic() - started))
    slowest = sorted(durations, key=lambda seed: -durations[seed])[:5]
    sys.stdout.write("soak: slowest seeds: %s\n" % ", ".join(
        "%d (%.0f s)" % (seed, durations[seed]) for seed in slowest))
    if known:
        sys.stdout.write("soak: %d seeds show only known defects (KNOWN_DEFECTS; --strict fails them): %s\n" % (
            len(known), ",".join(str(s) for s in sorted(known))))
    for error in errors:
        sys.stdout.write("soak: %s\n" % error)
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
