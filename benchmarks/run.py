"""Benchmark of the image_scan role against the clouds' official SDKs, on the bundled emulator.

    make bench        # builds the collection tree, then runs this script with the .venv Python
    make bench BENCH_ARGS="--sizes 200 --slice-sizes 200"   # a shorter run
    make bench-short  # every measurement once on 20 hosts, and a check of the output (make test)
    python benchmarks/run.py [--sizes 200,1000,5000,10000] [--slice-sizes 200,1000] [--slices 4]
                             [--images-per-host 5] [--image-seconds 0.02] [--scan-parallelism 10]
                             [--wait-sleep 1] [--calls 20] [--providers hss,tcss] [--gc-sizes ...]
                             [--defaults-sizes 1000] [--role-only-sizes ...]
                             [--results benchmarks/results.md] [--out benchmarks/out]
                             [--render FILE.json] [--short]

For every fleet size N, one emulator serves N generated hosts (``--generate-hosts N
--images-per-host M``) with the per-image scan model (``--image-seconds S --scan-parallelism P``:
each cloud scans P images at a time, S seconds each, across all its running tasks). For HSS then
TCSS the emulator is reset (every image unscanned) and measured:

- the role: ``ansible-playbook playbooks/scan_images.yml`` over a generated inventory of the
  emulator's hosts (local connection);
- the same job written as a plain script on the official SDKs (``benchmarks/sdk_job.py``);
- at the sizes of ``--gc-sizes``: the role again with the collection's ``gc_freeze`` callback;
- at the sizes of ``--defaults-sizes`` (1000): the role again with its default
  ``image_scan_findings=false``, whose facts are about a third of the size;
- at the sizes of ``--slice-sizes``: the role as AWX runs a sliced job, ``--slices`` concurrent
  ``ansible-playbook`` processes, slice k with the hosts ``hosts[k-1::n]``, against the same
  emulator (reset once before all of them).

Once per size, the per-host floor: ``benchmarks/floor.yml``, one skipped task on every host of
the same inventory; the role's per-host tasks are stated as a ratio to it. The same playbook also
times the run floor, a task that runs on every host and leaves nothing, and the fact floor: the
cheapest task that leaves every host a fact of the role's size
(``benchmarks/action_plugins/bench_fact.py``), what that fact alone costs, and
``benchmarks/floor_role.yml`` the same task as the one task of a role (Ansible ends a role with an
implicit task on every host), what a role that leaves such a fact costs, after the task that runs
and leaves nothing as a role's one task (``benchmarks/roles/bench_run_role``). Then, on the first
emulator, one module run (``hss_image_scan_task_info``) is compared with ``ansible.builtin.uri``
making the same single call (``benchmarks/module_vs_uri.yml``).

Each run gives its wall time, CPU time, peak memory, the API calls the emulator counted, the images
it scanned and how many of them it scanned more than once (``GET /_emulator/scans``: the units
whose last scan is from this run, against the scans the emulator counted).

Memory, two figures per run:
- peak PSS of the process tree: /proc/PID/smaps_rollup of the measured process and all its
  descendants (of all the slices' processes for a sliced job), summed, sampled every 0.1 s (PSS
  splits shared pages between the processes that share them, so forked Ansible workers are not
  counted several times);
- largest RSS of one process: ``ru_maxrss`` from ``wait4()`` of the measured process, which covers
  it and all its waited-for descendants (the largest single process, not a sum).

Writes benchmarks/results.md and, with the logs and raw figures, benchmarks/out/. Measurements,
not tests: nothing here asserts a time. It fails when a run fails; with ``--short`` it also checks
that every figure the results need was measured and that the runs agree with each other (the
role, the SDK script and the sliced job scanned the same images).
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import selectors
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "benchmarks")
OUT = os.path.join(BENCH, "out")
BIN = os.path.dirname(sys.executable)
SERVE = os.path.join("tests", "emulator", "serve.py")

# The emulator's fake credentials (the same as the integration tests').
HSS_AK = "HSSAKTESTONLY0000001"
HSS_SK = "HSSSKSECRETTESTONLY00000000000000000001"
HSS_PROJECT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
HSS_TOKEN = "BENCHIAMTOKENTESTONLY0001"
TCSS_ID = "AKIDTCSSTESTONLY000000000000000000001"
TCSS_KEY = "TCSSKEYSECRETTESTONLY00000000000001"

# No host fails the gate (nor for an image the cloud could not scan): every host is judged by the
# one per-host task, and none goes through the loop that leaves failing hosts their facts.
ROLE_VARS = ("image_scan_fail_on=none", "image_scan_fail_on_incomplete=false", "image_scan_findings=true",
             "image_scan_show_summary=false")
CLOUD = {"hss": "HSS", "tcss": "TCSS"}


def rel(path):
    return os.path.relpath(path, REPO)


def show(cmd):
    return " ".join(rel(part) if os.path.isabs(part) else part for part in cmd)


# ---------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------


class Emulator(object):
    def __init__(self, hosts, args):
        self.cmd = [sys.executable, SERVE, "--host", "127.0.0.1", "--port", "0",
                    "--hss-ak", HSS_AK, "--hss-sk", HSS_SK, "--hss-project-id", HSS_PROJECT,
                    "--hss-token", HSS_TOKEN, "--tcss-secret-id", TCSS_ID, "--tcss-secret-key", TCSS_KEY,
                    "--generate-hosts", str(hosts), "--images-per-host", str(args.images_per_host),
                    "--image-seconds", str(args.image_seconds), "--scan-parallelism", str(args.scan_parallelism)]
        self.log = open(os.path.join(OUT, "emulator-%d.log" % hosts), "w", encoding="utf-8")
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        line = ""
        if selector.select(timeout=60):
            line = self.proc.stdout.readline().strip()
        selector.close()
        if not line.startswith("listening on "):
            self.stop()
            raise SystemExit("the emulator did not start (see %s)" % rel(self.log.name))
        self.url = line[len("listening on "):]

    def admin(self, method, route):
        request = urllib.request.Request("%s/_emulator/%s" % (self.url, route), method=method,
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8") or "{}")

    def scans(self, since):
        """``(distinct, units)``: per cloud, how many units (HSS: image and host; TCSS: image) were
        last scanned at or after ``since`` (epoch seconds)."""
        snapshot = self.admin("GET", "scans")
        return dict((cloud, sum(1 for row in snapshot[cloud] if (row.get("last_scan") or 0) >= since))
                    for cloud in ("hss", "tcss"))

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()

    def environment(self):
        """The variables the collection and sdk_job.py read."""
        return {
            "HUAWEICLOUD_SDK_AK": HSS_AK, "HUAWEICLOUD_SDK_SK": HSS_SK, "HUAWEICLOUD_SDK_PROJECT_ID": HSS_PROJECT,
            "HUAWEICLOUD_SDK_REGION": "cn-north-4", "HUAWEICLOUD_SDK_ENDPOINT": self.url,
            "TENCENTCLOUD_SECRET_ID": TCSS_ID, "TENCENTCLOUD_SECRET_KEY": TCSS_KEY,
            "TENCENTCLOUD_REGION": "ap-guangzhou", "TENCENTCLOUD_ENDPOINT": self.url,
        }


# ---------------------------------------------------------------------------------------------
# Measuring one process tree
# ---------------------------------------------------------------------------------------------


def descendants(pid):
    """``pid`` and every process below it (``/proc/PID/task/TID/children``)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for tid in os.listdir("/proc/%d/task" % current):
                with open("/proc/%d/task/%s/children" % (current, tid), encoding="ascii") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def memory_kib(pid):
    """``(PSS, RSS)`` of one process in KiB (0, 0 once it is gone)."""
    pss = rss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return pss, rss


def measure(cmd, env, log_path, interval=0.1):
    """Run ``cmd`` (cwd: the repository); wall and CPU time, peak memory, exit status."""
    return measure_all([cmd], [env], [log_path], interval)


def measure_all(cmds, envs, log_paths, interval=0.1):
    """Run every command of ``cmds`` at once (cwd: the repository), each with its environment and
    log; wall time (the first start to the last end), CPU time (the sum), peak memory (of all the
    process trees together), the worst exit status and the system load around the run."""
    peak = {"pss": 0, "rss": 0, "processes": 0}
    samples = []
    done = threading.Event()
    logs = [open(path, "w", encoding="utf-8") for path in log_paths]
    try:
        for log, cmd in zip(logs, cmds):
            log.write("$ %s\n\n" % show(cmd))
            log.flush()
        load_before = os.getloadavg()[0]
        epoch = time.time()
        started = time.monotonic()
        procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
                 for cmd, env, log in zip(cmds, envs, logs)]

        def sample():
            while not done.is_set():
                pids = [pid for proc in procs for pid in descendants(proc.pid)]
                sizes = [memory_kib(pid) for pid in pids]
                top = sum(memory_kib(proc.pid)[0] for proc in procs)
                samples.append((time.monotonic(), sum(size[0] for size in sizes), top))
                peak["pss"] = max(peak["pss"], sum(size[0] for size in sizes))
                peak["rss"] = max(peak["rss"], sum(size[1] for size in sizes))
                peak["processes"] = max(peak["processes"], len(pids))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        codes, cpu, largest = [], 0.0, 0
        for proc in procs:
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            codes.append(proc.returncode)
            cpu += usage.ru_utime + usage.ru_stime
            largest = max(largest, usage.ru_maxrss)
        wall = time.monotonic() - started
        done.set()
        sampler.join()
    finally:
        for log in logs:
            log.close()
    return {"rc": max(codes, key=abs), "rcs": codes, "wall": round(wall, 2), "cpu": round(cpu, 2),
            "started": started, "epoch": epoch, "peak_pss_mib": round(peak["pss"] / 1024.0, 1),
            "peak_rss_sum_mib": round(peak["rss"] / 1024.0, 1), "max_processes": peak["processes"],
            "largest_rss_mib": round(largest / 1024.0, 1), "command": show(cmds[0]),
            "commands": [show(cmd) for cmd in cmds], "log": rel(log_paths[0]),
            "logs": [rel(path) for path in log_paths], "samples": samples,
            "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def task_memory(tasks, samples):
    """Each task's peak PSS (whole tree, and of the ansible-playbook process alone) from the
    memory samples taken while it ran, in MiB."""
    for task in tasks or []:
        if "start" not in task:
            continue
        inside = [sample for sample in samples if task["start"] <= sample[0] <= task["end"]]
        task["peak_pss_mib"] = round(max(sample[1] for sample in inside) / 1024.0, 1) if inside else None
        task["main_pss_mib"] = round(max(sample[2] for sample in inside) / 1024.0, 1) if inside else None
    return tasks


def api_calls(stats):
    requests = dict((op, count) for op, count in stats.get("requests", {}).items() if count)
    return requests, sum(requests.values())


def read_timer(path, started):
    """The per-task breakdown of a playbook run from the bench_timer callback's file."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    tasks = record["tasks"]
    rows = [{"name": "start-up (Python, inventory, playbook) before the first task",
             "seconds": round(tasks[0]["start"] - started if tasks else 0, 2), "results": None, "items": 0}]
    for index, task in enumerate(tasks):
        end = tasks[index + 1]["start"] if index + 1 < len(tasks) else record["end"]
        rows.append({"name": task["name"].split(" : ", 1)[-1], "seconds": round(end - task["start"], 2),
                     "results": task["results"], "items": len(task["items"]), "start": task["start"],
                     "item_ends": task["items"], "end": end})
    return rows


# ---------------------------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------------------------


def write_inventory(hosts, names, tag=None):
    path = os.path.join(OUT, "inventory-%s.yml" % (tag or hosts))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("---\n# %d hosts generated by benchmarks/run.py: the emulator's --generate-hosts\n" % len(names))
        handle.write("all:\n  vars:\n    ansible_connection: local\n"
                     "    ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n  hosts:\n")
        for name in names:
            handle.write("    %s:\n" % name)
    return path


def base_env(emulator):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("HUAWEICLOUD_", "CLOUD_SDK_", "TENCENTCLOUD_")):
            del env[name]
    env.update(emulator.environment())
    env["PYTHONUNBUFFERED"] = "1"
    return env


#: The collection's callback that freezes the controller's objects before Ansible forks.
GC_FREEZE = "cloudsec.image_scan.gc_freeze"


def timer_env(emulator, timer, gc_freeze=False):
    env = base_env(emulator)
    env.update(ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_timer" + ("," + GC_FREEZE if gc_freeze else ""),
               BENCH_TIMER_OUT=timer)
    return env


#: What the role collects by default: no findings (a host's fact without them is about a third of
#: the size). The run with the role's defaults replaces ROLE_VARS' image_scan_findings=true by this.
DEFAULT_FINDINGS = "image_scan_findings=false"


def role_cmd(provider, inventory, args, findings=True):
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "playbooks/scan_images.yml",
           "-e", "image_scan_provider=%s" % provider]
    for var in ROLE_VARS + ("image_scan_wait_sleep=%d" % args.wait_sleep,):
        if not findings and var.startswith("image_scan_findings="):
            var = DEFAULT_FINDINGS
        cmd += ["-e", var]
    return cmd


def emulator_figures(emulator, result, cpu):
    """What the emulator counted during a run: API calls, images scanned, and how many of those
    scans were of a unit this run had scanned already."""
    result["emulator_cpu"] = round(emulator.cpu_seconds() - cpu, 2)
    result["stats"] = emulator.admin("GET", "stats")
    distinct = emulator.scans(result["epoch"] - 1)
    result["images_distinct"] = distinct
    result["scanned_twice"] = dict((cloud, result["stats"]["images_scanned"][cloud] - distinct[cloud])
                                   for cloud in distinct)
    return result


def run_role(emulator, provider, hosts, inventory, args, gc_freeze=False, findings=True):
    tag = "role-%s%s%s-%d" % ("gc-" if gc_freeze else "", "" if findings else "defaults-", provider, hosts)
    timer = os.path.join(OUT, tag + ".tasks.json")
    emulator.admin("POST", "reset")
    cpu = emulator.cpu_seconds()
    result = measure(role_cmd(provider, inventory, args, findings), timer_env(emulator, timer, gc_freeze),
                     os.path.join(OUT, tag + ".log"))
    if gc_freeze:
        result["command"] = "ANSIBLE_CALLBACKS_ENABLED=%s " % GC_FREEZE + result["command"]
    emulator_figures(emulator, result, cpu)
    result["tasks"] = task_memory(read_timer(timer, result["started"]), result.pop("samples"))
    return result


def run_sliced(emulator, provider, hosts, names, args):
    """The role as AWX runs a sliced job: ``--slices`` ansible-playbook processes at once, slice k
    with the hosts ``names[k-1::n]`` of the sorted inventory, one emulator reset before them all."""
    count = args.slices
    ordered = sorted(names)
    cmds, envs, logs, timers = [], [], [], []
    for k in range(1, count + 1):
        tag = "sliced-%s-%d-%dof%d" % (provider, hosts, k, count)
        inventory = rel(write_inventory(hosts, ordered[k - 1::count], tag="%d-slice%dof%d" % (hosts, k, count)))
        timers.append(os.path.join(OUT, tag + ".tasks.json"))
        cmds.append(role_cmd(provider, inventory, args))
        envs.append(timer_env(emulator, timers[-1]))
        logs.append(os.path.join(OUT, tag + ".log"))
    emulator.admin("POST", "reset")
    cpu = emulator.cpu_seconds()
    result = measure_all(cmds, envs, logs)
    del result["samples"]
    emulator_figures(emulator, result, cpu)
    result["slices"] = count
    result["slice_tasks"] = [read_timer(timer, result["started"]) for timer in timers]
    return result


def run_floor(emulator, hosts, inventory):
    tag = "floor-%d" % hosts
    timer = os.path.join(OUT, tag + ".tasks.json")
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "benchmarks/floor.yml"]
    result = measure(cmd, timer_env(emulator, timer), os.path.join(OUT, tag + ".log"))
    del result["samples"]
    result["tasks"] = read_timer(timer, result["started"])
    # The fact floor of a role, in a playbook of its own (no host has the fact when it starts).
    tag = "floor-role-%d" % hosts
    timer = os.path.join(OUT, tag + ".tasks.json")
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "benchmarks/floor_role.yml"]
    role = measure(cmd, timer_env(emulator, timer), os.path.join(OUT, tag + ".log"))
    result["role_command"], result["role_wall"] = role["command"], role["wall"]
    result["rc"] = result["rc"] or role["rc"]
    # Its tasks without its start-up (the floor playbook's is the one of the floor).
    result["tasks"] += (read_timer(timer, role["started"]) or [])[1:]
    return result


def run_sdk(emulator, provider, hosts, inventory, args):
    tag = "sdk-%s-%d" % (provider, hosts)
    cmd = [sys.executable, "benchmarks/sdk_job.py", "--provider", provider, "--inventory", inventory,
           "--wait-sleep", str(args.wait_sleep), "--output", os.path.join(OUT, tag + ".json")]
    emulator.admin("POST", "reset")
    cpu = emulator.cpu_seconds()
    log = os.path.join(OUT, tag + ".log")
    result = measure(cmd, base_env(emulator), log)
    del result["samples"]
    emulator_figures(emulator, result, cpu)
    with open(log, encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.startswith("{")]
    result["summary"] = json.loads(lines[-1]) if lines else None
    return result


def run_module_vs_uri(emulator, args):
    tag = "module-vs-uri"
    timer = os.path.join(OUT, tag + ".tasks.json")
    inventory = os.path.join(OUT, "localhost.yml")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("---\nall:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                     "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
    variables = os.path.join(OUT, tag + ".vars.json")
    with open(variables, "w", encoding="utf-8") as handle:
        json.dump({"bench_endpoint": emulator.url, "bench_project_id": HSS_PROJECT, "bench_auth_token": HSS_TOKEN,
                   "bench_access_key": HSS_AK, "bench_secret_key": HSS_SK, "bench_calls": args.calls}, handle)
    env = base_env(emulator)
    for name in list(env):  # the token variant must not find AK/SK in the environment
        if name.startswith("HUAWEICLOUD_"):
            del env[name]
    env.update(ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_timer", BENCH_TIMER_OUT=timer)
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "benchmarks/module_vs_uri.yml",
           "-e", "@" + rel(variables)]
    emulator.admin("POST", "reset")
    result = measure(cmd, env, os.path.join(OUT, tag + ".log"))
    del result["samples"]
    result["stats"] = emulator.admin("GET", "stats")
    tasks = read_timer(timer, result["started"]) or []
    result["variants"] = []
    for task in tasks[1:]:
        ends = task["item_ends"]
        intervals = [b - a for a, b in zip([task["start"]] + ends[:-1], ends)]
        result["variants"].append({
            "name": task["name"], "calls": len(ends),
            "mean": round(task["seconds"] / max(len(ends), 1), 4),
            "median": round(statistics.median(intervals), 4) if intervals else None,
            "first": round(intervals[0], 4) if intervals else None})
    return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


EMULATOR_MIN_RPS = 500


def run_emulator_throughput():
    """The emulator's own list throughput on 5,000 hosts x 10 images (tests/emulator/bench.py)."""
    cmd = [os.path.join(BIN, "python"), os.path.join(REPO, "tests", "emulator", "bench.py"),
           "--hosts", "5000", "--images-per-host", "10", "--min-rps", str(EMULATOR_MIN_RPS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return {"cmd": show(["python", "tests/emulator/bench.py"] + cmd[2:]),
            "rc": proc.returncode, "output": (proc.stdout + proc.stderr).strip()}


def machine():
    with open("/proc/meminfo", encoding="ascii") as handle:
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", handle.read()).group(1))
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            found = re.search(r"model name\s*:\s*(.+)", handle.read())
            model = found.group(1).strip() if found else ""
    except OSError:
        pass

    def version(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "nproc": os.cpu_count(), "memory_gib": round(mem_kib / 1024.0 / 1024.0, 1), "cpu": model,
        "kernel": platform.release(), "python": platform.python_version(),
        "ansible_core": version("ansible-core"), "forks": os.environ.get("ANSIBLE_FORKS", "5 (default)"),
        "sdks": "huaweicloudsdkhss %s, huaweicloudsdkcore %s, tencentcloud-sdk-python-tcss %s, "
                "tencentcloud-sdk-python-common %s" % (
                    version("huaweicloudsdkhss"), version("huaweicloudsdkcore"),
                    version("tencentcloud-sdk-python-tcss"), version("tencentcloud-sdk-python-common")),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def ratio(a, b):
    return "%.1fx" % (a / b) if a and b else "-"


def fmt(value, digits=1):
    return ("%%.%df" % digits) % value if isinstance(value, (int, float)) else "-"


def job_rows(data):
    lines = ["| cloud | hosts | job | wall s | CPU s | peak PSS, tree MiB | largest RSS MiB | API calls | "
             "calls / host | images scanned | emulator CPU s |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in data["fleets"]:
        for provider in data["providers"]:
            pair = run["jobs"].get(provider)
            if not pair:
                continue
            for label, key in (("role", "role"), ("SDK script", "sdk"), ("role with gc_freeze", "role_gc"),
                               ("role with its default findings=false", "role_defaults")):
                res = pair.get(key)
                if res is None:
                    continue
                dummy, calls = api_calls(res["stats"])
                status = "" if res["rc"] == 0 else " (FAILED rc %s)" % res["rc"]
                lines.append("| %s | %d | %s%s | %s | %s | %s | %s | %d | %s | %s | %s |" % (
                    CLOUD[provider], run["hosts"], label, status, fmt(res["wall"]), fmt(res["cpu"]),
                    fmt(res["peak_pss_mib"], 0), fmt(res["largest_rss_mib"], 0), calls,
                    fmt(calls / float(run["hosts"]), 2), res["stats"]["images_scanned"][provider],
                    fmt(res["emulator_cpu"])))
            role, sdk = pair["role"], pair.get("sdk")
            if sdk is None:
                continue
            lines.append("| %s | %d | **role / SDK** | **%s** | **%s** | **%s** | **%s** | **%s** | | | |" % (
                CLOUD[provider], run["hosts"], ratio(role["wall"], sdk["wall"]), ratio(role["cpu"], sdk["cpu"]),
                ratio(role["peak_pss_mib"], sdk["peak_pss_mib"]), ratio(role["largest_rss_mib"], sdk["largest_rss_mib"]),
                ratio(api_calls(role["stats"])[1], api_calls(sdk["stats"])[1])))
    return lines


def calls_rows(data, provider):
    columns = []
    for run in data["fleets"]:
        pair = run["jobs"].get(provider)
        if pair:
            columns.append(("role %d" % run["hosts"], api_calls(pair["role"]["stats"])[0]))
            if pair.get("sdk"):
                columns.append(("SDK %d" % run["hosts"], api_calls(pair["sdk"]["stats"])[0]))
    ops = sorted(set(op for dummy, calls in columns for op in calls))
    lines = ["| %s API | %s |" % (CLOUD[provider], " | ".join(name for name, dummy in columns)),
             "|---|%s" % ("---:|" * len(columns))]
    for op in ops:
        lines.append("| %s | %s |" % (op.split(".", 1)[1], " | ".join(str(calls.get(op, 0)) for dummy, calls in columns)))
    lines.append("| **total** | %s |" % " | ".join("**%d**" % sum(calls.values()) for dummy, calls in columns))
    return lines


def task_kind(task, hosts):
    if task["results"] is None:
        return "once"
    if task["items"] >= hosts:
        return "once, a loop over the hosts"
    if task["results"] >= hosts:
        return "per host"
    return "once"


def task_groups(tasks, hosts):
    """Tasks by name, in order: total seconds, how many times the task ran, per host or once."""
    groups = {}
    for task in tasks:
        group = groups.setdefault(task["name"], {"seconds": 0.0, "count": 0, "kind": task_kind(task, hosts),
                                                 "peak": None, "main": None})
        group["seconds"] += task["seconds"]
        group["count"] += 1
        for key, field in (("peak", "peak_pss_mib"), ("main", "main_pss_mib")):
            if task.get(field) is not None:
                group[key] = max(group[key] or 0, task[field])
    return groups


def task_rows(data, provider):
    runs = [(run["hosts"], run["jobs"][provider]["role"]) for run in data["fleets"]
            if provider in run["jobs"] and run["jobs"][provider]["role"].get("tasks")]
    if not runs:
        return []
    grouped = [(hosts, task_groups(res["tasks"], hosts)) for hosts, res in runs]
    names = []
    for dummy, groups in grouped:
        names.extend(name for name in groups if name not in names)
    lines = ["| task (%s) | runs | %s |" % (CLOUD[provider], " | ".join(
        "%d hosts: s | ms / host | peak PSS MiB, tree (ansible-playbook)" % hosts for hosts, dummy in runs)),
        "|---|---|%s" % ("---:|---:|---:|" * len(runs))]
    for name in names:
        cells, kind = [], None
        for hosts, groups in grouped:
            group = groups.get(name)
            if group is None:
                cells.append("- | - | -")
                continue
            kind = kind or group["kind"]
            times = " (%d tasks)" % group["count"] if group["count"] > 1 else ""
            memory = "%s (%s)" % (fmt(group["peak"], 0), fmt(group["main"], 0)) if group["peak"] is not None else "-"
            cells.append("%s%s | %s | %s" % (fmt(group["seconds"]), times, fmt(1000.0 * group["seconds"] / hosts), memory))
        lines.append("| %s | %s | %s |" % (name.replace("|", "/"), kind, " | ".join(cells)))
    lines.append("| **whole run (wall)** | | %s |" % " | ".join(
        "**%s** | **%s** | **%s**" % (fmt(res["wall"]), fmt(1000.0 * res["wall"] / hosts), fmt(res["peak_pss_mib"], 0))
        for hosts, res in runs))
    per_host = []
    for hosts, groups in grouped:
        seconds = sum(group["seconds"] for group in groups.values() if group["kind"] != "once")
        per_host.append("%s | %s | " % (fmt(seconds), fmt(1000.0 * seconds / hosts)))
    lines.append("| of which the per-host tasks and the loop over the hosts | | %s |" % " | ".join(per_host))
    return lines


def highlights(data):
    """A few sentences computed from the figures of the largest fleet."""
    lines = []
    if not data["fleets"]:
        return lines
    compared = [run for run in data["fleets"] if any(pair.get("sdk") for pair in run["jobs"].values())]
    if not compared:
        return lines
    run = compared[-1]
    hosts = run["hosts"]
    for provider in data["providers"]:
        pair = run["jobs"].get(provider)
        if not pair or not pair["role"].get("tasks") or not pair.get("sdk"):
            continue
        role, sdk = pair["role"], pair["sdk"]
        role_calls, sdk_calls = api_calls(role["stats"])[1], api_calls(sdk["stats"])[1]
        groups = task_groups(role["tasks"], hosts)
        per_host = sum(group["seconds"] for group in groups.values() if group["kind"] != "once")
        vuln_ops = (("hss.ListGeneralImageVuls", "hss.ListVulAffectImages", "hss.ListVulAffectImageApps")
                    if provider == "hss" else ("tcss.DescribeAssetImageVulList",))
        lines.append(
            "- %s, %d hosts: the role took %s s wall and %s s CPU, the SDK script %s s and %s s, for %d and %d API "
            "calls (%s per host; %d of the SDK script's are vulnerability listings). "
            "%s s of the role's wall time (%.0f%%) went to the tasks that run per host or loop over the hosts: "
            "%.0f ms per host." % (
                CLOUD[provider], hosts, fmt(role["wall"]), fmt(role["cpu"]), fmt(sdk["wall"]), fmt(sdk["cpu"]),
                role_calls, sdk_calls, fmt(role_calls / float(hosts), 1),
                sum(sdk["stats"]["requests"].get(op, 0) for op in vuln_ops),
                fmt(per_host), 100.0 * per_host / role["wall"], 1000.0 * per_host / hosts))
        summary = sdk.get("summary") or {}
        batches = summary.get("trigger_calls", 0)
        if provider == "tcss" and batches > 1 and "trigger_and_wait" in summary.get("phases", {}):
            repeated = sum(group["seconds"] for group in groups.values() if group["count"] == batches)
            lines.append(
                "- TCSS scans one task at a time: the SDK script started %d tasks one after the other and spent %s s "
                "per task starting and waiting; the role %s s in its per-batch tasks." % (
                    batches, fmt(summary["phases"]["trigger_and_wait"] / batches), fmt(repeated / batches)))
    mvu = data.get("module_vs_uri")
    if mvu and len(mvu["variants"]) >= 2:
        uri, module = mvu["variants"][0], mvu["variants"][1]
        lines.append(
            "- One call: `hss_image_scan_task_info` %s s against `ansible.builtin.uri` %s s (%s): both are one "
            "Ansible module run, whose start-up is most of the cost." % (
                fmt(module["mean"], 3), fmt(uri["mean"], 3), ratio(module["mean"], uri["mean"])))
    return lines


def per_host_seconds(res, hosts):
    """Seconds of a playbook run spent in its tasks that run on every host (or loop over them)."""
    if not res or not res.get("tasks"):
        return None
    return sum(group["seconds"] for group in task_groups(res["tasks"], hosts).values() if group["kind"] != "once")


def per_host_ms(res, hosts):
    seconds = per_host_seconds(res, hosts)
    return None if seconds is None else 1000.0 * seconds / hosts


#: The tasks of benchmarks/floor.yml: the floor, the run floor (a task that runs and leaves
#: nothing) and the fact floor; and of benchmarks/floor_role.yml: the run floor and the fact floor
#: of a role (each task's time runs to the next task or the end of the playbook, the role's implicit
#: last task on every host included, as the image_scan role's gate task's does).
FLOOR_TASK = "One skipped task on every host"
RUN_FLOOR_TASK = "One task on every host that runs and leaves nothing"
ROLE_RUN_FLOOR_TASK = "One task of a role on every host that runs and leaves nothing"
FACT_FLOOR_TASK = "One task on every host that leaves it a fact of the role's size"
ROLE_FACT_FLOOR_TASK = "One task of a role on every host that leaves it a fact of the role's size"


def task_ms(res, name, hosts):
    """Milliseconds per host of the task ``name`` of a playbook run, or None when it did not run."""
    if not res or not res.get("tasks"):
        return None
    seconds = sum(task["seconds"] for task in res["tasks"] if task["name"] == name)
    return 1000.0 * seconds / hosts if seconds else None


def calls_of(res):
    return api_calls(res["stats"])[1] if res and res.get("stats") else None


def ratio_value(a, b):
    return a / float(b) if a is not None and b else None


def ratios(data, run, provider):
    """The ratios the targets are about, for one fleet size and cloud."""
    pair = run["jobs"].get(provider) or {}
    role, sdk, sliced, gc = pair.get("role"), pair.get("sdk"), pair.get("sliced"), pair.get("role_gc")
    defaults = pair.get("role_defaults")
    floor = task_ms(run.get("floor"), FLOOR_TASK, run["hosts"])
    run_floor_ms = task_ms(run.get("floor"), RUN_FLOOR_TASK, run["hosts"])
    role_run_floor = task_ms(run.get("floor"), ROLE_RUN_FLOOR_TASK, run["hosts"])
    fact_floor = task_ms(run.get("floor"), FACT_FLOOR_TASK, run["hosts"])
    role_fact_floor = task_ms(run.get("floor"), ROLE_FACT_FLOOR_TASK, run["hosts"])
    row = {
        "wall": ratio_value(role and role["wall"], sdk and sdk["wall"]),
        "calls": ratio_value(calls_of(role), calls_of(sdk)),
        "pss": ratio_value(role and role["peak_pss_mib"], sdk and sdk["peak_pss_mib"]),
        "role_pss": role and role["peak_pss_mib"],
        "per_host": per_host_ms(role, run["hosts"]), "floor": floor,
        "per_host_floor": ratio_value(per_host_ms(role, run["hosts"]), floor),
        "run_floor_ratio": ratio_value(run_floor_ms, floor),
        "role_run_floor_ratio": ratio_value(role_run_floor, floor),
        "fact_floor": fact_floor,
        "fact_floor_ratio": ratio_value(fact_floor, floor),
        "per_host_fact_floor": ratio_value(per_host_ms(role, run["hosts"]), fact_floor),
        "role_fact_floor": role_fact_floor,
        "role_fact_floor_ratio": ratio_value(role_fact_floor, floor),
        "per_host_role_fact_floor": ratio_value(per_host_ms(role, run["hosts"]), role_fact_floor),
        "sliced_wall": ratio_value(sliced and sliced["wall"], role and role["wall"]),
        "sliced_calls": ratio_value(calls_of(sliced), calls_of(role)),
        "twice": sliced["scanned_twice"][provider] if sliced else None,
        "gc_wall": ratio_value(gc and gc["wall"], sdk and sdk["wall"]),
        "gc_pss": gc and gc["peak_pss_mib"],
        "gc_per_host_floor": ratio_value(per_host_ms(gc, run["hosts"]), floor),
        "defaults_per_host": per_host_ms(defaults, run["hosts"]),
        "defaults_per_host_floor": ratio_value(per_host_ms(defaults, run["hosts"]), floor),
        "role_twice": role["scanned_twice"][provider] if role else None,
    }
    return row


def x(value):
    return "%.2fx" % value if value is not None else "-"


def ratio_rows(data):
    lines = ["| cloud | hosts | role / SDK wall | role / SDK API calls | role / SDK peak PSS | role peak PSS MiB | "
             "role per-host ms / host | floor ms / host | **role per-host / floor** | fact floor ms / host | "
             "fact floor / floor | role per-host / fact floor | role fact floor ms / host | role fact floor / floor | "
             "**role per-host / role fact floor** | sliced / one job wall | "
             "sliced / one job API calls | images scanned twice (sliced; one job) | with gc_freeze: role / SDK wall | "
             "with gc_freeze: role peak PSS MiB | with gc_freeze: **role per-host / floor** | "
             "run floor / floor | role run floor / floor | with default findings=false: role per-host ms / host | "
             "with default findings=false: **role per-host / floor** |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             "---:|---:|---:|---:|"]
    for run in data["fleets"]:
        for provider in data["providers"]:
            if provider not in run["jobs"]:
                continue
            r = ratios(data, run, provider)
            twice = "%s; %s" % ("-" if r["twice"] is None else r["twice"], "-" if r["role_twice"] is None else r["role_twice"])
            row = "| %s | %d | %s | %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s | %s | **%s** | %s | %s | %s " \
                  "| %s | %s | **%s** | %s | %s | %s | **%s** |"
            lines.append(row % (
                CLOUD[provider], run["hosts"], x(r["wall"]), x(r["calls"]), x(r["pss"]), fmt(r["role_pss"], 0),
                fmt(r["per_host"]), fmt(r["floor"]), x(r["per_host_floor"]), fmt(r["fact_floor"]),
                x(r["fact_floor_ratio"]), x(r["per_host_fact_floor"]), fmt(r["role_fact_floor"]),
                x(r["role_fact_floor_ratio"]), x(r["per_host_role_fact_floor"]), x(r["sliced_wall"]),
                x(r["sliced_calls"]), twice, x(r["gc_wall"]), fmt(r["gc_pss"], 0), x(r["gc_per_host_floor"]),
                x(r["run_floor_ratio"]), x(r["role_run_floor_ratio"]), fmt(r["defaults_per_host"]), x(r["defaults_per_host_floor"])))
    return lines


#: (what, provider or None for both, fleet size, key of ratios(), limit, how the figure reads)
TARGETS = (
    ("role per-host cost / one skipped per-host task", None, 1000, "per_host_floor", 1.5, "x"),
    ("with the role's default image_scan_findings=false: role per-host cost / one skipped per-host task", None, 1000,
     "defaults_per_host_floor", 1.5, "x"),
    ("API calls, role / SDK script", None, 1000, "calls", 1.0, "x"),
    ("wall time, role / SDK script", "hss", 1000, "wall", 2.0, "x"),
    ("wall time, role / SDK script", "tcss", 1000, "wall", 1.2, "x"),
    ("images scanned twice, %d slices", None, 1000, "twice", 0, "n"),
    ("images scanned twice, %d slices", None, 200, "twice", 0, "n"),
    ("wall time, %d slices / one job", "tcss", 1000, "sliced_wall", 1.2, "x"),
    ("peak PSS of one job (whole tree)", None, 10000, "role_pss", 1536, "MiB"),
    ("peak PSS of one job (whole tree)", "tcss", 1000, "role_pss", 250, "MiB"),
    ("with gc_freeze: role per-host cost / one skipped per-host task", None, 1000, "gc_per_host_floor", 1.5, "x"),
    ("with gc_freeze: wall time, role / SDK script", "hss", 1000, "gc_wall", 2.0, "x"),
    ("with gc_freeze: wall time, role / SDK script", "tcss", 1000, "gc_wall", 1.2, "x"),
    ("with gc_freeze: peak PSS of one job (whole tree)", None, 10000, "gc_pss", 1536, "MiB"),
    ("with gc_freeze: peak PSS of one job (whole tree)", "tcss", 1000, "gc_pss", 250, "MiB"),
)


def target_rows(data):
    lines = ["| target | cloud | hosts | limit | measured | |", "|---|---|---:|---:|---:|---|"]
    by_size = dict((run["hosts"], run) for run in data["fleets"])
    slices = data["options"].get("slices", 4)
    for what, only, hosts, key, limit, unit in TARGETS:
        for provider in data["providers"]:
            if only and provider != only:
                continue
            run = by_size.get(hosts)
            value = ratios(data, run, provider)[key] if run and provider in run["jobs"] else None
            if unit == "x":
                shown, bound = ("%.3fx" % value if value is not None else "-"), "%.1fx" % limit
            elif unit == "MiB":
                shown, bound = fmt(value, 0) + " MiB" if value is not None else "-", "%d MiB" % limit
            else:
                shown, bound = "-" if value is None else str(value), str(limit)
            verdict = "not measured" if value is None else ("met" if value <= limit else "**not met**")
            lines.append("| %s | %s | %d | %s | %s | %s |" % (
                what.replace("%d", str(slices)), CLOUD[provider], hosts, bound, shown, verdict))
    return lines


def floor_rows(data):
    lines = ["| hosts | floor playbook wall s | the skipped per-host task: ms / host | "
             "the task that runs and leaves nothing: ms / host | run floor / floor | "
             "the task that only leaves a fact of the role's size: ms / host | fact floor / floor | "
             "the same task as a role's one task: ms / host | role fact floor / floor | "
             "the task that runs and leaves nothing as a role's one task: ms / host | role run floor / floor |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in data["fleets"]:
        floor = run.get("floor")
        if floor:
            skipped = task_ms(floor, FLOOR_TASK, run["hosts"])
            ran = task_ms(floor, RUN_FLOOR_TASK, run["hosts"])
            fact = task_ms(floor, FACT_FLOOR_TASK, run["hosts"])
            role_fact = task_ms(floor, ROLE_FACT_FLOOR_TASK, run["hosts"])
            role_ran = task_ms(floor, ROLE_RUN_FLOOR_TASK, run["hosts"])
            lines.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                run["hosts"], fmt(floor["wall"]), fmt(skipped), fmt(ran), x(ratio_value(ran, skipped)),
                fmt(fact), x(ratio_value(fact, skipped)),
                fmt(role_fact), x(ratio_value(role_fact, skipped)), fmt(role_ran), x(ratio_value(role_ran, skipped))))
    return lines


def sliced_rows(data):
    lines = ["| cloud | hosts | job | wall s | CPU s | peak PSS, all trees MiB | API calls | images scanned | "
             "distinct images scanned | scanned twice | load (1 min) before, after |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for run in data["fleets"]:
        for provider in data["providers"]:
            pair = run["jobs"].get(provider) or {}
            if not pair.get("sliced"):
                continue
            for label, res in (("one job", pair["role"]), ("%d slices at once" % pair["sliced"]["slices"], pair["sliced"])):
                status = "" if res["rc"] == 0 else " (FAILED rc %s)" % res.get("rcs", res["rc"])
                lines.append("| %s | %d | %s%s | %s | %s | %s | %d | %d | %d | %d | %s, %s |" % (
                    CLOUD[provider], run["hosts"], label, status, fmt(res["wall"]), fmt(res["cpu"]),
                    fmt(res["peak_pss_mib"], 0), calls_of(res), res["stats"]["images_scanned"][provider],
                    res["images_distinct"][provider], res["scanned_twice"][provider],
                    res["load"][0], res["load"][1]))
            sliced, role = pair["sliced"], pair["role"]
            lines.append("| %s | %d | **sliced / one job** | **%s** | **%s** | **%s** | **%s** | | | | |" % (
                CLOUD[provider], run["hosts"], ratio(sliced["wall"], role["wall"]), ratio(sliced["cpu"], role["cpu"]),
                ratio(sliced["peak_pss_mib"], role["peak_pss_mib"]), ratio(calls_of(sliced), calls_of(role))))
    return lines


def render(data):
    m = data["machine"]
    opts = data["options"]
    lines = ["# Benchmark: the image_scan role against the official SDKs", "",
             "Produced by `make bench` (`benchmarks/run.py %s`) on %s; this run took %.1f minutes. "
             "Rerun it with `make bench`: every size (%s hosts, slices at %s) takes about %s on this machine "
             "when it is idle; `make bench BENCH_ARGS=\"--sizes 200 --slice-sizes 200\"` is a run of a few "
             "minutes, `python benchmarks/run.py --help` lists the options." % (
                 " ".join(data.get("argv") or []), m["date"], data["total_seconds"] / 60.0,
                 ", ".join(str(s) for s in DEFAULT_SIZES), ", ".join(str(s) for s in DEFAULT_SLICE_SIZES),
                 FULL_RUN_EXPECTED), ""]
    if data.get("note"):
        lines += ["**Note:** %s" % data["note"], ""]
    lines += ["## Machine", "",
              "| CPUs (nproc) | memory | CPU | kernel | Python | ansible-core | Ansible forks |",
              "|---:|---:|---|---|---|---|---|",
              "| %s | %s GiB | %s | %s | %s | %s | %s |" % (
                  m["nproc"], m["memory_gib"], m["cpu"] or "-", m["kernel"], m["python"], m["ansible_core"],
                  m["forks"]), "",
              "SDKs: %s." % m["sdks"], "",
              "## What runs", "",
              "One emulator per fleet size, serving the hosts it generates (`node-NNN...`; the generator puts "
              "every 20th host's agents offline) with %d images each, with the per-image scan model: each cloud "
              "scans %d images at a time, %s s each, across all its running tasks (`--image-seconds %s "
              "--scan-parallelism %d`), the same for the role, the SDK script and the sliced job. The inventory "
              "lists the same hosts, local connection. Before every run the emulator is reset "
              "(`POST /_emulator/reset`), so every image starts unscanned; the %d slices of a sliced job share one "
              "reset and one emulator. Commands, from the repository root (`make bench` provides `.venv`, the "
              "collection tree and `ANSIBLE_COLLECTIONS_PATH`):" % (
                  opts["images_per_host"], opts["scan_parallelism"], opts["image_seconds"], opts["image_seconds"],
                  opts["scan_parallelism"], opts["slices"]), "", "```"]
    run0 = data["fleets"][0] if data["fleets"] else None
    for run in data["fleets"]:
        lines.append("# %d hosts: %s" % (run["hosts"], run["fleet"]))
        lines.append(run["emulator"])
        for provider in data["providers"]:
            pair = run["jobs"].get(provider)
            if pair:
                lines.append(pair["role"]["command"])
                if pair.get("sdk"):
                    lines.append(pair["sdk"]["command"])
                if pair.get("role_gc"):
                    lines.append(pair["role_gc"]["command"])
                if pair.get("role_defaults"):
                    lines.append(pair["role_defaults"]["command"])
                if pair.get("sliced"):
                    lines.append("# %d slices at once:" % pair["sliced"]["slices"])
                    lines.extend(pair["sliced"]["commands"])
        if run.get("floor"):
            lines.append(run["floor"]["command"])
            if run["floor"].get("role_command"):
                lines.append(run["floor"]["role_command"])
    if data.get("module_vs_uri"):
        lines.append("# one call: module against uri (on the %d-host emulator, started with --hss-token)" % (
            run0["hosts"]))
        lines.append(data["module_vs_uri"]["command"])
    lines += ["```", "",
              "The environment carries the emulator's address and fake credentials in the variables the "
              "collection reads (`HUAWEICLOUD_SDK_*`, `TENCENTCLOUD_*`). The role runs with `%s` and "
              "`image_scan_wait_sleep=%s`, other variables at their defaults (`image_scan_batch_size` 100, "
              "max age 24h). The SDK script does the same job: HSS in batches of 100 images, TCSS in one task "
              "with every image that needs a scan (TCSS takes any number of images in one task), the same page "
              "sizes (the largest each API accepts: HSS 200, TCSS 100) and the same polling policy (first pause "
              "%s s, growing by half up to four times that)." % (
                  "`, `".join(ROLE_VARS), opts["wait_sleep"], opts["wait_sleep"]), "",
              "## The ratios side by side", "",
              "Every figure below is from this one run: the role, the SDK script, the floor and the sliced job "
              "ran one after the other on the same machine and emulator, so the ratios are like for like even "
              "where the absolute times depend on the machine's load. *role per-host* is the time of the role's "
              "tasks that run on every host (or loop over the hosts), per host; *floor* the time of one skipped "
              "task on every host (`benchmarks/floor.yml`, same inventory); *sliced* is %d concurrent "
              "`ansible-playbook` processes on the round-robin slices `hosts[k-1::%d]`, as AWX runs a sliced job, "
              "against one job over all the hosts; *with gc_freeze* is the role run again, alone, with the collection's "
              "callback `cloudsec.image_scan.gc_freeze` enabled (`ANSIBLE_CALLBACKS_ENABLED`), which freezes the "
              "controller's objects before Ansible forks its workers." % (opts["slices"], opts["slices"]), ""]
    lines += ratio_rows(data)
    lines += ["", "### Targets", ""] + target_rows(data)
    lines += ["", "## The role against a plain SDK script", ""]
    lines += job_rows(data)
    found = highlights(data)
    if found:
        lines += ["", "What stands out:", ""] + found
    lines += ["", "## The per-host floor", "",
              "`ansible-playbook -i INVENTORY benchmarks/floor.yml`: one `run_once` task, then one task on every "
              "host, skipped (`when: false`). A role that can fail hosts one by one needs at least one task on "
              "every host; this is what that task costs on this machine, without any work in it. Then one task "
              "on every host that runs and leaves nothing (`bench_fact` with `fact: false`): what running the task "
              "adds, before any fact. Then one task on every host that only leaves it a fact of the role's size (`bench_fact`, a host's fact from a "
              "1,000-host TCSS run with findings, about 9 KB of JSON): what Ansible's handling of such a fact "
              "costs, whatever computes it. Then, in a playbook of its own (`benchmarks/floor_role.yml`), the same "
              "task as the one task of a role (`benchmarks/roles/bench_fact_role`): Ansible ends every role with "
              "an implicit task on every host (`meta: role_complete`), which works out the host's variables, its "
              "new fact among them, once more; that time counts in the role's last task, as it does in the "
              "image_scan role's gate task. Before it, in the same playbook, the task that runs and leaves nothing "
              "as the one task of a role (`benchmarks/roles/bench_run_role`): what any role whose one task runs on "
              "every host costs, before that task does anything or leaves any fact.", ""]
    lines += floor_rows(data)
    found_sliced = sliced_rows(data)
    if len(found_sliced) > 2:
        lines += ["", "## Sliced job against one job", "",
                  "*Images scanned* counts the scans the emulator ran; *distinct* the units (HSS: image on a host; "
                  "TCSS: image) whose last scan is from the run; *scanned twice* the difference: scans billed twice. "
                  "Peak PSS is of all the slices' process trees together; CPU the sum of all the slices'.", ""]
        lines += found_sliced
    lines += ["", "## API calls per API", ""]
    for provider in data["providers"]:
        lines += calls_rows(data, provider) + [""]
    lines += ["## Where the role's time and memory go", "",
              "From a callback that timestamps every task (`benchmarks/callback_plugins/bench_timer.py`): a task "
              "lasts from its start to the start of the next one. *Per host* tasks run once for every host "
              "(the gate task, which leaves each host its fact); the others run once for the play. *Peak PSS* "
              "is the largest memory sample taken while the task ran: of the whole process tree (the "
              "ansible-playbook process, its forked workers and the module they run), and in brackets of the "
              "ansible-playbook process alone, which holds every variable of the play: where memory goes.", ""]
    for provider in data["providers"]:
        lines += task_rows(data, provider) + [""]
    mvu = data.get("module_vs_uri")
    if mvu:
        lines += ["## One module run against `ansible.builtin.uri`", "",
                  "The same HSS `ListImageScanTask` call (one page, `limit=200`) to the same emulator, %d times per "
                  "task in a loop. `uri` can only send a static token, so the emulator accepts the IAM token "
                  "`X-Auth-Token` (`--hss-token`), and the module is run with `auth_token` for the like-for-like "
                  "figure; the signed variant (`access_key`/`secret_key`, SDK-HMAC-SHA256, what users normally "
                  "run) is shown too. Time per call is measured between loop item results; the first call of "
                  "each task also pays for building the module's AnsiballZ payload." % opts["calls"], "",
                  "| task | calls | mean s / call | median s / call | first call s | ratio (mean) to uri |",
                  "|---|---:|---:|---:|---:|---:|"]
        base = mvu["variants"][0]["mean"] if mvu["variants"] else None
        for variant in mvu["variants"]:
            lines.append("| %s | %d | %s | %s | %s | %s |" % (
                variant["name"], variant["calls"], fmt(variant["mean"], 3), fmt(variant["median"], 3),
                fmt(variant["first"], 3), ratio(variant["mean"], base)))
        dummy, calls = api_calls(mvu["stats"])
        lines += ["", "The emulator counted %d `ListImageScanTask` calls and %s rejected ones." % (
            calls, sum(sum(codes.values()) for codes in mvu["stats"].get("rejected", {}).values()) or "no"), ""]
    lines += ["## How to read this", "",
              "*Wall s* is the elapsed time of the whole command, start-up included; *CPU s* the user and system "
              "time of the command and all its child processes (`wait4`). The emulator runs in its own process "
              "on the same machine (*emulator CPU s*), so the client and the API compete for the same cores. "
              "*Peak PSS, tree* is the largest sum, over one sample every 0.1 s, of the proportional set size of "
              "the measured process and all its descendants (ansible-playbook, its forked workers and the "
              "module processes; shared pages are split between the processes that share them); *largest RSS* "
              "is `ru_maxrss` from `wait4`: the resident size of the largest single process of the tree. API "
              "calls are what the emulator counted (`GET /_emulator/stats`), admin routes excluded; *calls / "
              "host* divides them by the inventory's hosts. *Images scanned* counts scan results (HSS: one per "
              "image and host; TCSS: one per image), the same for both jobs when they did the same work. The "
              "TCSS runs one scan task at a time: a job that sends batches waits for each before it starts the "
              "next, and pays the polling granularity once per batch; the SDK script sends one task with every "
              "image (TCSS takes any number), HSS batches of 100 like the role's default. HSS scans all batches "
              "at once. Ratios are role / SDK script: how much "
              "more the role costs than a hand-written script doing the same job. The figures are from one run "
              "on the machine above; expect a few percent of noise between runs.", "",
              "Load: %s" % data.get("load_note", "the machine's load during the run is shown with the sliced "
                                                 "runs (1-minute load average before and after)."), ""]
    throughput = data.get("emulator_throughput")
    if throughput:
        lines += ["## The emulator's list throughput", "",
                  "The emulator serves every run above; its list calls must not be what limits them. "
                  "`%s` (at least %d requests/s per case, keep-alive connections, signed requests):"
                  % (throughput["cmd"], EMULATOR_MIN_RPS), "", "```", throughput["output"], "```", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def fleet_of(emulator):
    dataset = emulator.admin("GET", "dataset")
    names = [host["host_name"] for host in dataset["hss"]["hosts"]]
    offline = sum(1 for host in dataset["hss"]["hosts"] if host.get("agent_status") != "online")
    description = "%d hosts (%d with agents offline), %d HSS image rows (image x host), %d distinct TCSS images" % (
        len(names), offline, len(dataset["hss"]["local_images"]), len(dataset["tcss"]["images"]))
    return names, description


DEFAULT_SIZES = (200, 1000, 5000, 10000)
DEFAULT_SLICE_SIZES = (200, 1000)
#: What the full run (the defaults) takes on the 2-CPU machine of results.md when it is idle: an
#: estimate from the 10,000-host runs of each cloud without gc_freeze, which took 33 (TCSS) and
#: about 90 minutes (HSS) at a load average of 5 to 14 on those 2 CPUs.
FULL_RUN_EXPECTED = ("3 hours (estimated from the 10,000-host runs of each cloud, 33 and about 90 minutes "
                     "on a loaded machine, without gc_freeze)")


def check(data):
    """The short run's check of the harness: every figure the results need was measured, and the
    runs agree with each other. No time is asserted: only that the figures exist and add up."""
    problems = []

    def need(condition, text):
        if not condition:
            problems.append(text)

    need(data["fleets"], "no fleet was measured")
    for run in data["fleets"]:
        hosts = run["hosts"]
        role_only = hosts in data["options"].get("role_only_sizes", [])
        floor = run.get("floor")
        if not role_only:
            need(floor and floor["rc"] == 0, "%d hosts: the floor playbook did not run" % hosts)
            need(task_ms(floor, FLOOR_TASK, hosts), "%d hosts: no per-host task in the floor's timings" % hosts)
            for name in (RUN_FLOOR_TASK, FACT_FLOOR_TASK, ROLE_FACT_FLOOR_TASK, ROLE_RUN_FLOOR_TASK):
                need(task_ms(floor, name, hosts), "%d hosts: no task %r in the floor's timings" % (hosts, name))
        for provider in data["providers"]:
            where = "%s %d hosts" % (CLOUD[provider], hosts)
            pair = run["jobs"].get(provider) or {}
            sliced_here = hosts in data["options"]["slice_sizes"] and provider in data["options"]["slice_providers"]
            gc_here = hosts in data["options"].get("gc_sizes", [])
            defaults_here = hosts in data["options"].get("defaults_sizes", [])
            for key in ("role",) + (() if role_only else ("sdk",)) + (("sliced",) if sliced_here else ()) + (
                    ("role_gc",) if gc_here else ()) + (("role_defaults",) if defaults_here else ()):
                res = pair.get(key)
                need(res is not None, "%s: no %s run" % (where, key))
                if res is None:
                    continue
                need(res["rc"] == 0, "%s: the %s run failed (%s)" % (where, key, ", ".join(res.get("logs", [res["log"]]))))
                need(res["wall"] > 0 and res["peak_pss_mib"] > 0 and res["max_processes"] >= 1,
                     "%s: %s run without wall time or memory figures" % (where, key))
                need(calls_of(res), "%s: the emulator counted no API call for the %s run" % (where, key))
                need(res["stats"]["images_scanned"][provider] > 0, "%s: the %s run scanned nothing" % (where, key))
                need(res["images_distinct"][provider] + res["scanned_twice"][provider]
                     == res["stats"]["images_scanned"][provider] and res["scanned_twice"][provider] >= 0,
                     "%s: the %s run's distinct and repeated scans do not add up" % (where, key))
            role, sdk, sliced = pair.get("role"), pair.get("sdk"), pair.get("sliced")
            if role and sdk:
                need(role["images_distinct"][provider] == sdk["images_distinct"][provider],
                     "%s: the role scanned %d distinct images, the SDK script %d" % (
                         where, role["images_distinct"][provider], sdk["images_distinct"][provider]))
                need(per_host_ms(role, hosts), "%s: no per-host task in the role's timings" % where)
                need(sdk.get("summary") and sum(sdk["summary"]["host_status"].values()) == hosts,
                     "%s: the SDK script did not judge every host" % where)
            if role and sliced:
                need(sliced["images_distinct"][provider] == role["images_distinct"][provider],
                     "%s: the sliced job scanned %d distinct images, one job %d" % (
                         where, sliced["images_distinct"][provider], role["images_distinct"][provider]))
                need(len(sliced["rcs"]) == data["options"]["slices"] and all(sliced["slice_tasks"]),
                     "%s: not every slice ran to its end" % where)
            ratio_row = ratios(data, run, provider)
            for key in (() if role_only else ("wall", "calls", "pss", "per_host_floor")) + (
                    ("sliced_wall", "sliced_calls") if sliced else ()):
                need(ratio_row[key] is not None, "%s: no ratio %s" % (where, key))
    mvu = data.get("module_vs_uri")
    need(mvu and mvu["rc"] == 0 and len(mvu["variants"]) == 3 and all(
        v["calls"] == data["options"]["calls"] for v in mvu["variants"]), "the module / uri comparison is incomplete")
    text = render(data)
    for title in ("## The ratios side by side", "### Targets", "## The role against a plain SDK script",
                  "## The per-host floor", "## Sliced job against one job", "## API calls per API",
                  "## Where the role's time and memory go", "## One module run against `ansible.builtin.uri`"):
        need(title in text, "the results lack the section %r" % title)
    return problems


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="fleet sizes, comma-separated (default %(default)s)")
    parser.add_argument("--slice-sizes", default=",".join(str(s) for s in DEFAULT_SLICE_SIZES),
                        help="fleet sizes at which the sliced job runs too (default %(default)s; empty: none)")
    parser.add_argument("--gc-sizes", default=None,
                        help="fleet sizes at which the role runs a second time with the collection's gc_freeze "
                        "callback (default: every size; empty: none)")
    parser.add_argument("--defaults-sizes", default=None,
                        help="fleet sizes at which the role runs a second time with its default image_scan_findings=false "
                        "(default: 1000 where it is measured, --short: every size; empty: none)")
    parser.add_argument("--role-only-sizes", default="",
                        help="fleet sizes at which only the role runs (and --gc-sizes, --defaults-sizes, --slice-sizes "
                        "there): no floor, no SDK script; its memory and API calls without the comparison that "
                        "takes longest (default: none)")
    parser.add_argument("--slices", type=int, default=4, help="concurrent slices of the sliced job (default 4)")
    parser.add_argument("--images-per-host", type=int, default=5)
    parser.add_argument("--image-seconds", type=float, default=0.02, help="the emulator's --image-seconds")
    parser.add_argument("--scan-parallelism", type=int, default=10, help="the emulator's --scan-parallelism")
    parser.add_argument("--wait-sleep", type=int, default=1, help="image_scan_wait_sleep and the SDK script's")
    parser.add_argument("--calls", type=int, default=20, help="calls per task in the module / uri comparison")
    parser.add_argument("--providers", default="hss,tcss")
    parser.add_argument("--slice-providers", default=None,
                        help="the clouds of the sliced job (default: --providers; --short: tcss)")
    parser.add_argument("--results", default=None, help="default benchmarks/results.md (--short: OUT/results.md)")
    parser.add_argument("--out", default=None, help="logs and raw figures (default benchmarks/out, --short: "
                                                    "build/bench-short)")
    parser.add_argument("--render", metavar="JSON", help="only write the results from a previous run's raw figures")
    parser.add_argument("--note", help="a remark on the run (the machine's load, say), printed under the title")
    parser.add_argument("--short", action="store_true",
                        help="every measurement once on 20 hosts (2 slices, of TCSS only; 1 call), then check that the output is "
                             "complete and consistent; writes nothing under benchmarks/")
    args = parser.parse_args(argv)
    global OUT  # pylint: disable=global-statement
    if args.short:
        if "--sizes" not in " ".join(argv):
            args.sizes = "20"
        if "--slice-sizes" not in " ".join(argv):
            args.slice_sizes = args.sizes
        if "--calls" not in " ".join(argv):
            args.calls = 1
        if "--slices" not in " ".join(argv):
            args.slices = 2
        if args.slice_providers is None:
            args.slice_providers = "tcss"
    OUT = os.path.abspath(args.out or (os.path.join(REPO, "build", "bench-short") if args.short else OUT))
    results = args.results or (os.path.join(OUT, "results.md") if args.short else os.path.join(BENCH, "results.md"))

    if args.render:
        with open(args.render, encoding="utf-8") as handle:
            data = json.load(handle)
        if args.note is not None:
            data["note"] = args.note
        with open(results, "w", encoding="utf-8") as handle:
            handle.write(render(data))
        return 0

    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
    if not any(os.path.isdir(os.path.join(path, "ansible_collections", "cloudsec", "image_scan"))
               for path in collections.split(os.pathsep) if path):
        raise SystemExit("ANSIBLE_COLLECTIONS_PATH does not hold cloudsec.image_scan: run `make bench`")
    if args.slices < 1:
        parser.error("--slices must be at least 1")
    os.makedirs(OUT, exist_ok=True)
    began = time.monotonic()
    slice_sizes = [int(size) for size in args.slice_sizes.split(",") if size.strip()]
    sizes = sorted(set([int(size) for size in args.sizes.split(",") if size.strip()] + slice_sizes))
    providers = [p.strip() for p in args.providers.split(",") if p.strip()]
    slice_providers = [p.strip() for p in (args.slice_providers or args.providers).split(",") if p.strip()]
    gc_sizes = sizes if args.gc_sizes is None else [int(size) for size in args.gc_sizes.split(",") if size.strip()]
    role_only_sizes = [int(size) for size in args.role_only_sizes.split(",") if size.strip()]
    if set(role_only_sizes) - set(sizes):
        parser.error("--role-only-sizes must be among --sizes")
    if args.defaults_sizes is None:
        defaults_sizes = sizes if args.short else [size for size in sizes if size == 1000]
    else:
        defaults_sizes = [int(size) for size in args.defaults_sizes.split(",") if size.strip()]
    data = {"machine": machine(), "providers": providers, "fleets": [], "module_vs_uri": None, "argv": argv,
            "note": args.note,
            "options": {"sizes": sizes, "slice_sizes": slice_sizes, "slices": args.slices, "gc_sizes": gc_sizes,
                        "defaults_sizes": defaults_sizes, "role_only_sizes": role_only_sizes,
                        "slice_providers": slice_providers,
                        "images_per_host": args.images_per_host, "image_seconds": args.image_seconds,
                        "scan_parallelism": args.scan_parallelism, "wait_sleep": args.wait_sleep,
                        "calls": args.calls}}
    failed = []

    def report(provider, key, hosts, res):
        print("   %-4s %-6s %5d hosts: rc %s, %7.1f s wall, %6.1f s CPU, %6.0f MiB PSS, %6d API calls, "
              "%d images scanned (%d twice), load %s" % (
                  provider, key, hosts, res["rc"], res["wall"], res["cpu"], res["peak_pss_mib"], calls_of(res),
                  res["stats"]["images_scanned"][provider], res["scanned_twice"][provider], res["load"]), flush=True)
        if res["rc"] != 0:
            failed.append("%s %s %d (see %s)" % (key, provider, hosts, ", ".join(res.get("logs", [res["log"]]))))

    for number, hosts in enumerate(sizes):
        emulator = Emulator(hosts, args)
        try:
            names, description = fleet_of(emulator)
            print("== %d hosts: emulator on %s; %s" % (hosts, emulator.url, description), flush=True)
            inventory = rel(write_inventory(hosts, names))
            run = {"hosts": hosts, "fleet": description, "jobs": {},
                   "emulator": show([os.path.join(BIN, "python")] + emulator.cmd[1:])}
            data["fleets"].append(run)
            role_only = hosts in role_only_sizes
            run["floor"] = None if role_only else run_floor(emulator, hosts, inventory)
            if role_only:
                print("   floor skipped: only the role runs at this size", flush=True)
            else:
                print("   floor       %5d hosts: rc %s, %7.1f s wall, %.1f ms per host (run, no fact: %.1f; a fact of "
                      "the role's size: %.1f; in a role: %.1f; run in a role: %.1f)" % (
                          hosts, run["floor"]["rc"], run["floor"]["wall"], task_ms(run["floor"], FLOOR_TASK, hosts) or 0,
                          task_ms(run["floor"], RUN_FLOOR_TASK, hosts) or 0,
                          task_ms(run["floor"], FACT_FLOOR_TASK, hosts) or 0,
                          task_ms(run["floor"], ROLE_FACT_FLOOR_TASK, hosts) or 0,
                          task_ms(run["floor"], ROLE_RUN_FLOOR_TASK, hosts) or 0), flush=True)
            if run["floor"] and run["floor"]["rc"] != 0:
                failed.append("floor %d (see %s)" % (hosts, run["floor"]["log"]))
            for provider in providers:
                pair = {}
                jobs = [("role", run_role)] + ([] if role_only else [("sdk", run_sdk)])
                if hosts in gc_sizes:
                    jobs.append(("role_gc", lambda emu, prov, size, inv, opts: run_role(emu, prov, size, inv, opts, True)))
                if hosts in defaults_sizes:
                    jobs.append(("role_defaults", lambda emu, prov, size, inv, opts: run_role(
                        emu, prov, size, inv, opts, findings=False)))
                if hosts in slice_sizes and provider in slice_providers:
                    jobs.append(("sliced", lambda emu, prov, size, _inv, opts: run_sliced(emu, prov, size, names, opts)))
                for key, job in jobs:
                    res = job(emulator, provider, hosts, inventory, args)
                    pair[key] = res
                    report(provider, key, hosts, res)
                if pair.get("sdk") and pair["role"]["images_distinct"] != pair["sdk"]["images_distinct"]:
                    print("   note: the role and the SDK script scanned different images", flush=True)
                run["jobs"][provider] = pair
            if number == 0 and args.calls > 0:
                res = run_module_vs_uri(emulator, args)
                data["module_vs_uri"] = res
                print("   module vs uri: rc %s, %s" % (res["rc"], ", ".join(
                    "%.3f s/call" % variant["mean"] for variant in res["variants"])), flush=True)
                if res["rc"] != 0:
                    failed.append("module vs uri (see %s)" % res["log"])
        finally:
            emulator.stop()
    if not args.short:
        data["emulator_throughput"] = run_emulator_throughput()
        print("== emulator list throughput: rc %s" % data["emulator_throughput"]["rc"], flush=True)
        print(data["emulator_throughput"]["output"], flush=True)
        if data["emulator_throughput"]["rc"] != 0:
            failed.append("emulator list throughput below %d requests/s" % EMULATOR_MIN_RPS)
    data["total_seconds"] = round(time.monotonic() - began, 1)
    with open(os.path.join(OUT, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    with open(results, "w", encoding="utf-8") as handle:
        handle.write(render(data))
    print()
    for line in ratio_rows(data):
        print(line)
    print("\nwrote %s (raw figures and logs in %s/) in %.1f minutes" % (
        rel(results), rel(OUT), data["total_seconds"] / 60.0))
    if args.short:
        problems = check(data)
        for problem in problems:
            print("bench-short: %s" % problem)
        if problems:
            failed.append("the short run's output is incomplete or inconsistent (%d problems)" % len(problems))
        else:
            print("bench-short: every measurement ran and the figures are complete and consistent")
    if failed:
        print("failed runs: %s" % "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
