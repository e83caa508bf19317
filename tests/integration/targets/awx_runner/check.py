"""Checks of an ansible-runner job's artifacts, computed independently from the emulator's dataset.

    check.py job       rc and status, the image_scan fact of every host in the job events and the
                       fact cache, the collection used is the installed tarball, and credential
                       values only where ansible-runner itself puts them (the command file's env)
    check.py redact    hide the credential values in artifacts/<ident>/command
    check.py scan      no credential value in any file under the given directories
    check.py selfcheck the checks above do fail: a planted secret, a missing or wrong fact

The credential values are the emulator's fake keys, read from the environment (EMULATOR_HSS_AK,
EMULATOR_HSS_SK, EMULATOR_TCSS_ID, EMULATOR_TCSS_KEY); they are never printed, only named.
"""

import argparse
import copy
import glob
import json
import os
import re
import shutil
import stat
import sys
import tempfile

import yaml

SECRET_VARIABLES = ("EMULATOR_HSS_AK", "EMULATOR_HSS_SK", "EMULATOR_TCSS_ID", "EMULATOR_TCSS_KEY")
HIDDEN = "**********"  # what AWX shows for a hidden value
COLLECTION = os.path.join("ansible_collections", "cloudsec", "image_scan")


def secrets():
    values = {}
    for name in SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) < 8:
            raise SystemExit("%s is unset or too short to search for" % name)
        values[name] = value.encode()
    return values


def finish(what, problems):
    if problems:
        print("%s: %d problem(s)" % (what, len(problems)))
        for message in problems[:50]:
            print("  - " + message)
        sys.exit(1)
    print("%s: all checks passed" % what)


def find_secrets(roots, values):
    """(path, secret name) for every file under roots holding a secret value, as bytes."""
    hits = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue  # a FIFO such as ssh_key_data would block
                with open(path, "rb") as handle:
                    data = handle.read()
                hits.extend((path, secret) for secret, value in sorted(values.items()) if value in data)
    return hits


def load_events(artifacts):
    events = []
    for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
        with open(path) as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda e: e["counter"])


def untag(value):
    """A fact from ansible-core's fact cache, without the data tags (2.19 and later)."""
    if isinstance(value, dict):
        if "__ansible_type" in value:
            return untag(value.get("value"))
        return dict((k, untag(v)) for k, v in value.items())
    if isinstance(value, list):
        return [untag(v) for v in value]
    return value


def event_facts(events):
    """Where the image_scan facts appear in the job events.

    The role's one per-host task (the image_scan_gate action) returns the fact of a host that
    passes as its own ansible_facts: a runner_on_ok of that host (``direct``). The hosts the gate
    fails get theirs before, from one run_once loop with delegate_to each host and delegate_facts:
    each loop item is a runner_item_on_ok of the run_once host whose
    res._ansible_delegated_vars.ansible_host is the host the fact belongs to (res.item too), and
    the loop's closing runner_on_ok repeats them all in res.results[] (each with its item).
    Returns ({host: [fact]} direct, {host: [(fact, item)]} from loop items, {host: [fact]} from
    the loop's results).
    """
    direct, items, results = {}, {}, {}
    for event in events:
        res = event.get("event_data", {}).get("res")
        if not isinstance(res, dict):
            continue
        fact = (res.get("ansible_facts") or {}).get("image_scan")
        if fact is not None and event["event"] == "runner_item_on_ok":
            host = (res.get("_ansible_delegated_vars") or {}).get("ansible_host") or event["event_data"]["host"]
            items.setdefault(host, []).append((fact, res.get("item")))
        elif fact is not None and event["event"] == "runner_on_ok" and not res.get("_ansible_delegated_vars"):
            direct.setdefault(event["event_data"]["host"], []).append(fact)
        for result in res.get("results") or []:
            fact = (result.get("ansible_facts") or {}).get("image_scan")
            if fact is not None:
                results.setdefault(result.get("item"), []).append(fact)
    return direct, items, results


def expected_statuses(inventory, dataset, provider):
    """{host: (status, [image ids] or None)} from the emulator's dataset."""
    by_name = dict((h["name"], h) for h in dataset["hosts"])
    by_ip = dict((h["ip"], h) for h in dataset["hosts"])
    images = dict((i["key"], i) for i in dataset["local_images"])
    expected = {}
    for host, hostvars in inventory.items():
        record = by_name.get(host) or by_ip.get((hostvars or {}).get("image_scan_host_ip"))
        if record is None or provider not in record:
            expected[host] = ("not_enrolled", [])
        elif (record["hss"]["agent_status"] == "online") if provider == "hss" else (record["tcss"]["status"] == "ONLINE"):
            id_key = "hss_image_id" if provider == "hss" else "tcss_image_id"
            expected[host] = ("scanned", sorted(images[k][id_key] for k in record["images"]))
        else:
            expected[host] = ("agent_offline", None)
    return expected


def check_facts(events, fact_cache, expected, provider):
    problems = []
    direct, items, results = event_facts(events)
    for host, (status, image_ids) in sorted(expected.items()):
        found = [(fact, host) for fact in direct.get(host, [])] + items.get(host, [])
        if len(found) != 1:
            problems.append("%s: %d image_scan facts in the job events (gate task or fact loop), expected 1"
                            % (host, len(found)))
            continue
        fact, item = found[0]
        if item != host:
            problems.append("%s: the fact's event has item %r" % (host, item))
        if host in items and results.get(host) != [fact]:
            problems.append("%s: the loop's runner_on_ok results do not repeat the item event's fact" % host)
        if fact.get("provider") != provider:
            problems.append("%s: provider %s, expected %s" % (host, fact.get("provider"), provider))
        if fact.get("status") != status:
            problems.append("%s: status %s, expected %s" % (host, fact.get("status"), status))
        if not fact.get("passed"):
            problems.append("%s: failed the gate, with image_scan_fail_on none" % host)
        got_ids = sorted(i["id"] for i in fact.get("images") or [])
        if image_ids is not None and got_ids != image_ids:
            problems.append("%s: images %s, expected %s" % (host, got_ids, image_ids))
        if fact_cache.get(host, {}).get("image_scan") != fact:
            problems.append("%s: the fact cache does not hold the event's image_scan fact" % host)
    extra = sorted(set(items) - set(expected))
    if extra:
        problems.append("image_scan facts for hosts not in the inventory: %s" % extra)
    return problems


def read_fact_cache(artifacts, hosts):
    """{host: facts} from the runner's jsonfile fact cache (file names may carry a schema prefix)."""
    cache = {}
    for path in glob.glob(os.path.join(artifacts, "fact_cache", "*")):
        name = os.path.basename(path)
        host = re.sub(r"^s[0-9]+_", "", name)  # ansible-core 2.19 prefixes a schema id
        host = name if name in hosts else host if host in hosts else None
        if host is None:
            continue
        with open(path) as handle:
            data = json.load(handle)
        if "__payload__" in data:
            data = json.loads(data["__payload__"])
        cache[host] = untag(data)
    return cache


def confined_to_command_env(artifacts, envvars, values):
    """Problems unless every credential value under artifacts is in the command file's env, under
    a variable that env/envvars sets. Returns (problems, credential variables found there)."""
    problems, found = [], set()
    command_path = os.path.join(artifacts, "command")
    for path, secret in find_secrets([artifacts], values):
        if path != command_path:
            problems.append("%s holds %s" % (os.path.relpath(path, artifacts), secret))
    if os.path.exists(command_path):
        with open(command_path) as handle:
            command = json.load(handle)
        env = command.get("env") or {}
        rest = json.dumps(dict((k, v) for k, v in command.items() if k != "env")).encode()
        for secret, value in sorted(values.items()):
            if value in rest:
                problems.append("command holds %s outside its env" % secret)
            for name, text in sorted(env.items()):
                if value in str(text).encode():
                    found.add(name)
                    if name not in envvars or name.startswith("ANSIBLE_"):
                        problems.append("command env %s holds %s and does not come from env/envvars" % (name, secret))
    return problems, found


def cmd_job(args):
    problems = []
    artifacts = os.path.join(args.dir, "artifacts", args.ident)
    with open(os.path.join(args.dir, "env", "envvars")) as handle:
        envvars = yaml.safe_load(handle)
    for name, want in (("rc", "0"), ("status", "successful")):
        with open(os.path.join(artifacts, name)) as handle:
            got = handle.read().strip()
        if got != want:
            problems.append("artifacts/%s/%s is %r, expected %r" % (args.ident, name, got, want))

    # The collection: installed from the built tarball into the private data directory, and the
    # only one the job could use.
    requirements = os.path.join(args.dir, "requirements_collections")
    installed = os.path.join(requirements, COLLECTION)
    if envvars.get("ANSIBLE_COLLECTIONS_PATH") != requirements:
        problems.append("ANSIBLE_COLLECTIONS_PATH of the job is %s, expected %s" % (envvars.get("ANSIBLE_COLLECTIONS_PATH"), requirements))
    with open(args.galaxy) as handle:
        version = yaml.safe_load(handle)["version"]
    try:
        with open(os.path.join(installed, "MANIFEST.json")) as handle:
            manifest = json.load(handle)["collection_info"]
        if (manifest["namespace"], manifest["name"], manifest["version"]) != ("cloudsec", "image_scan", version):
            problems.append("installed collection is %s" % manifest)
    except OSError:
        problems.append("%s has no MANIFEST.json: not installed from a built tarball" % installed)

    events = load_events(artifacts)
    # The role's task files, wherever they were loaded from (its argument check is the play's).
    role_paths = [e["event_data"]["task_path"] for e in events
                  if os.path.join("roles", "image_scan", "tasks") in e.get("event_data", {}).get("task_path", "")]
    if not role_paths:
        problems.append("no event of the role's tasks")
    outside = sorted(set(p.split(":")[0] for p in role_paths
                         if not os.path.realpath(p.split(":")[0]).startswith(os.path.realpath(installed) + os.sep)))
    if outside:
        problems.append("role tasks ran from outside the installed collection: %s" % outside[:3])
    failed = [e["event"] for e in events if e["event"] in ("runner_on_failed", "runner_on_unreachable", "runner_item_on_failed")]
    if failed:
        problems.append("failure events: %s" % failed)

    with open(args.inventory) as handle:
        inventory = yaml.safe_load(handle)["all"]["hosts"]
    with open(args.dataset) as handle:
        dataset = json.load(handle)
    expected = expected_statuses(inventory, dataset, args.provider)
    if "not_enrolled" not in [status for status, ids in expected.values()]:
        problems.append("the inventory should hold a host the cloud does not know")
    problems += check_facts(events, read_fact_cache(artifacts, list(inventory)), expected, args.provider)

    leaks, found = confined_to_command_env(artifacts, envvars, secrets())
    problems += leaks
    print("job %s: %d events, facts for %s; credential variables ansible-runner wrote into "
          "artifacts/%s/command: %s" % (args.ident, len(events), ", ".join(sorted(expected)), args.ident,
                                        ", ".join(sorted(found)) or "none"))
    finish("job (%s)" % args.provider, problems)


def cmd_redact(args):
    """Hide the values of the variables env/envvars sets (the credentials AWX injected) in the
    command file, as AWX hides them in the environment it keeps for a job."""
    artifacts = os.path.join(args.dir, "artifacts", args.ident)
    with open(os.path.join(args.dir, "env", "envvars")) as handle:
        envvars = yaml.safe_load(handle)
    path = os.path.join(artifacts, "command")
    with open(path) as handle:
        command = json.load(handle)
    hidden = []
    for name in sorted(envvars):
        if not name.startswith("ANSIBLE_") and command.get("env", {}).get(name):
            command["env"][name] = HIDDEN
            hidden.append(name)
    with open(path + ".tmp", "w") as handle:
        json.dump(command, handle, ensure_ascii=False)
    os.chmod(path + ".tmp", stat.S_IRUSR | stat.S_IWUSR)
    os.rename(path + ".tmp", path)
    print("redacted artifacts/%s/command: %s" % (args.ident, ", ".join(hidden)))


def cmd_scan(args):
    hits = find_secrets(args.dirs, secrets())
    files = sum(len(walked[2]) for d in args.dirs for walked in os.walk(d))
    print("searched %d files for %s" % (files, ", ".join(SECRET_VARIABLES)))
    finish("secrets", ["%s holds %s" % (path, secret) for path, secret in hits] + (["no file searched"] if not files else []))


def cmd_selfcheck(args):
    """The checks catch what they look for."""
    problems = []
    values = secrets()
    scratch = tempfile.mkdtemp()
    try:
        # The secret search finds a planted key anywhere, in a binary file, deep down; not elsewhere.
        os.makedirs(os.path.join(scratch, "job_events", "deep"))
        with open(os.path.join(scratch, "job_events", "clean.json"), "w") as handle:
            handle.write('{"res": "nothing here", "half": "%s"}' % values["EMULATOR_HSS_SK"][:-1].decode())
        with open(os.path.join(scratch, "job_events", "deep", "planted.bin"), "wb") as handle:
            handle.write(b"\x00\xff" * 1000 + values["EMULATOR_TCSS_KEY"] + b"\x00\x01")
        hits = find_secrets([scratch], values)
        want = [(os.path.join(scratch, "job_events", "deep", "planted.bin"), "EMULATOR_TCSS_KEY")]
        if hits != want:
            problems.append("secret search found %s in the scratch tree, expected exactly the planted key" % hits)
        # A key outside the command file's env is a leak for the job check too.
        shutil.copy(os.path.join(args.dir, "artifacts", args.ident, "command"), os.path.join(scratch, "command"))
        with open(os.path.join(args.dir, "env", "envvars")) as handle:
            envvars = yaml.safe_load(handle)
        leaks = confined_to_command_env(scratch, envvars, values)[0]
        if not any("planted.bin holds EMULATOR_TCSS_KEY" in p for p in leaks):
            problems.append("the job check let a key outside the command file pass: %s" % leaks)
    finally:
        shutil.rmtree(scratch)

    # The fact check fails on a missing fact and on a wrong status.
    artifacts = os.path.join(args.dir, "artifacts", args.ident)
    events = load_events(artifacts)
    with open(args.inventory) as handle:
        inventory = yaml.safe_load(handle)["all"]["hosts"]
    with open(args.dataset) as handle:
        expected = expected_statuses(inventory, json.load(handle), args.provider)
    cache = read_fact_cache(artifacts, list(inventory))
    unknown = next(host for host, (status, ids) in expected.items() if status == "not_enrolled")
    if check_facts(events, cache, expected, args.provider):
        problems.append("the fact check fails on the real events")
    dropped = copy.deepcopy(events)
    for event in dropped:
        data = event.get("event_data", {})
        res = data.get("res") or {}
        # The host's fact, wherever it came: the gate task's own event or a loop item.
        if res.get("item") == unknown or (data.get("host") == unknown and not res.get("_ansible_delegated_vars")):
            res.pop("ansible_facts", None)
    if not any(p.startswith(unknown + ":") for p in check_facts(dropped, cache, expected, args.provider)):
        problems.append("the fact check did not notice %s's fact missing" % unknown)
    wrong = dict(expected)
    wrong[unknown] = ("scanned", [])
    if not any(p.startswith(unknown + ": status") for p in check_facts(events, cache, wrong, args.provider)):
        problems.append("the fact check did not notice a wrong status for %s" % unknown)
    finish("selfcheck", problems)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("job")
    for name in ("--dir", "--ident", "--provider", "--dataset", "--inventory", "--galaxy"):
        p.add_argument(name, required=True)
    p = sub.add_parser("redact")
    for name in ("--dir", "--ident"):
        p.add_argument(name, required=True)
    p = sub.add_parser("scan")
    p.add_argument("dirs", nargs="+")
    p = sub.add_parser("selfcheck")
    for name in ("--dir", "--ident", "--provider", "--dataset", "--inventory"):
        p.add_argument(name, required=True)
    args = parser.parse_args()
    globals()["cmd_" + args.command](args)


if __name__ == "__main__":
    main()
