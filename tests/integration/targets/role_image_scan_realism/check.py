"""Judge the role's verdicts against the emulator's own state, after one run under one realism
profile.

    check.py verdicts --provider hss --profile lag --facts facts.json --before scans-0.json
                      --after scans-1.json --settled scans-2.json --dataset dataset.json
                      --stats stats.json --log run.log --rc 2 --inventory inventory.yml
                      --max-age 86400 [--report cell.json]
    check.py settle URL OUT [--older-than S]
                      wait until the emulator runs no scan task (and its newest successful scan
                      is more than S seconds old), then write its scans view

The invariant (fail closed): a host with ``passed: true`` has, for every image the emulator has
on it, a last successful scan at or after the start of the run or within ``max_age`` (times on
the emulator's real clock, whatever the ``skew`` profile makes it report), or the image is one
the emulator cannot scan and the fact lists it, with a reason, in ``unscannable_images``. A
host the role calls ``agent_offline`` or ``not_enrolled`` may pass only when the emulator says
so too. Besides: every image the emulator cannot scan on a judged host is listed with its
reason; every host that failed names why (``failures`` and a message the log shows); the play
ended normally (rc 0 or 2), every host has its fact, and the log holds no traceback.

The converse (a gate that fails every host is closed, but useless): no fault is injected, so
no host is left not judged, and no image is called incomplete while the emulator holds a
successful scan of it from this run once its tasks have ended (``--settled``: the role stopped
waiting, or read the results too early).

``--report`` writes the problems as JSON (for the summary of a run of several cells).
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import urllib.request

import yaml

SKIPPED = ("agent_offline", "not_enrolled")


def load_facts(path, hosts):
    """The ``image_scan`` fact of every host that has one (dump.yml's file)."""
    with open(path) as handle:
        dumped = json.load(handle)
    return dict((host, dumped[host]) for host in hosts if dumped.get(host) is not None)


def every_profile():
    """The emulator's realism profiles (tests/emulator/realism.py, found as the emulator is, under
    ANSIBLE_COLLECTIONS_PATH), which --realism all turns on."""
    tail = os.path.join("ansible_collections", "cloudsec", "image_scan", "tests", "emulator", "realism.py")
    places = [os.path.join(root, tail) for root in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if root]
    places.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "emulator", "realism.py"))
    path = next((place for place in places if os.path.isfile(place)), places[-1])
    spec = importlib.util.spec_from_file_location("emulator_realism", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PROFILES


def emulator_images(provider, scans, host):
    """The units the emulator holds for ``host``: one per image."""
    if provider == "hss":
        return [u for u in scans["hss"] if u["kind"] == "local" and u["host"] == host]
    return [u for u in scans["tcss"] if host in u["hosts"]]


def emulator_host(provider, dataset, host):
    """(known, online) of ``host`` in the emulator."""
    if provider == "hss":
        rows = [h for h in dataset["hss"]["hosts"] if h["host_name"] == host]
        return bool(rows), any(h["agent_status"] == "online" for h in rows)
    rows = [h for h in dataset["tcss"]["hosts"] if h.get("HostName") == host]
    return bool(rows), any(h.get("Status") == "ONLINE" for h in rows)


def image_label(unit):
    return unit["image"] or str(unit["record_id"])


def fact_entry(entries, unit):
    """The entry of a fact's image list that names the emulator's unit (by id, else label)."""
    for entry in entries or ():
        if entry.get("id") == unit["image_id"]:
            return entry
    label = unit["image"]
    for entry in entries or ():
        name = entry.get("name") or ""
        version = entry.get("version") or ""
        if label in (name, "%s:%s" % (name, version)):
            return entry
    return None


def describe(fact_image):
    """What the module said of an image, for the evidence."""
    if fact_image is None:
        return "the fact does not list the image"
    return "fact: scan_status=%s latest_scan_time=%s gate_status=%s gate_reason=%s" % (
        fact_image.get("scan_status"), fact_image.get("latest_scan_time"),
        fact_image.get("gate_status"), fact_image.get("gate_reason"))


def fresh(unit, run_start, max_age):
    """Whether the emulator's last successful scan of ``unit`` counts as fresh: from this run,
    or younger than ``max_age`` when the run started (the role judges a little later, so this
    is the most it may accept)."""
    last = unit["last_success"]
    return last is not None and (last >= run_start or run_start - last <= max_age)


def cmd_verdicts(args):
    before = json.load(open(args.before))
    scans = json.load(open(args.after))
    settled = json.load(open(args.settled))
    settled_units = dict(((u["host"] if args.provider == "hss" else None, u["kind"], u["image_id"]), u)
                         for u in settled[args.provider])
    dataset = json.load(open(args.dataset))
    hosts = list(yaml.safe_load(open(args.inventory))["all"]["hosts"])
    log = open(args.log).read()
    stats = json.load(open(args.stats))
    rejected = dict((op, codes) for op, codes in stats["rejected"].items())
    facts = load_facts(args.facts, hosts)
    run_start, offset = before["now"], scans["clock_offset"]
    problems = []

    def problem(host, image, what):
        problems.append({"provider": args.provider, "profile": args.profile, "run": args.label,
                         "host": host,
                         "image": image, "problem": what})

    if any(stats["faults"].values()):
        problem(None, None, "faults were injected: %s" % stats["faults"])
    if args.rc not in (0, 2):
        problem(None, None, "ansible-playbook ended with rc %d (0 or 2 expected)" % args.rc)
    if "Traceback (most recent call last)" in log:
        at = log.index("Traceback (most recent call last)")
        problem(None, None, "a traceback in the log: %s" % log[at:at + 600].replace("\n", " | "))
    expected = ",".join(sorted(args.profile.split(","))) if args.profile != "none" else ""
    got = ",".join(sorted(scans["realism"]))
    if args.profile == "all":
        expected = ",".join(sorted(every_profile()))
    if got != expected:
        problem(None, None, "the emulator ran with profiles %r, not %r" % (got, expected))
    if args.profile in ("skew", "all") and offset != 600:
        problem(None, None, "the skew profile is on but the server clock is %ss ahead" % offset)

    for host in hosts:
        fact = facts.get(host)
        if fact is None:
            problem(host, None, "no image_scan fact")
            continue
        status = fact.get("status")
        passed = fact.get("passed")
        known, online = emulator_host(args.provider, dataset, host)
        units = emulator_images(args.provider, scans, host)
        listed_images = fact.get("images") or []
        unscannable = fact.get("unscannable_images") or []

        # Every host that failed names why, and the log shows it.
        if passed is not True:
            if not fact.get("failures") or not fact.get("message"):
                problem(host, None, "failed (status %s) without failures and a message" % status)
            elif "%s failed the gate" % host not in log:
                problem(host, None, "failed, but the log does not show its gate message")
            for entry in fact.get("incomplete_images") or ():
                if not entry.get("reason"):
                    problem(host, entry.get("name"), "an incomplete image without a reason")

        # Hosts the gate skips must really be unknown or offline.
        if status in SKIPPED:
            if status == "not_enrolled" and known:
                problem(host, None, "the role says not_enrolled, the emulator knows the host")
            if status == "agent_offline" and (not known or online):
                problem(host, None, "the role says agent_offline, the emulator has it %s"
                        % ("online" if online else "unknown"))
            continue
        if status == "error" or fact.get("judged") is False:
            problem(host, None, "not judged (no fault was injected): %s; emulator rejected: %s"
                    % (fact.get("not_judged_reason"), rejected or "nothing"))
            if passed:
                problem(host, None, "not judged, yet passed")
            continue
        incomplete = fact.get("incomplete_images") or []

        for unit in units:
            label = image_label(unit)
            image = fact_entry(listed_images, unit)
            reason = unit["unscannable"]
            if reason is not None:
                entry = fact_entry(unscannable, unit)
                if entry is None:
                    problem(host, label, "the emulator cannot scan it (%s) but the fact does not "
                            "list it in unscannable_images; %s" % (reason, describe(image)))
                elif not entry.get("reason"):
                    problem(host, label, "listed as unscannable without a reason")
                elif args.provider == "hss" and reason not in entry["reason"]:
                    problem(host, label, "unscannable reason %r does not give the cloud's %r"
                            % (entry["reason"], reason))
                continue
            if passed and not fresh(unit, run_start, args.max_age):
                last = unit["last_success"]
                problem(host, label, "passed, but the emulator's last successful scan is %s "
                        "(run started %.1f; status %s%s%s); %s" % (
                            "never" if last is None else "%.1f" % last, run_start, unit["status"],
                            ", failure " + unit["failure"] if unit["failure"] else "",
                            ", task %s still running" % unit["pending_task"]
                            if unit["pending_task"] else "",
                            describe(image)))
            if passed and image is not None and image.get("gate_status") == "unscannable":
                problem(host, label, "the fact calls it unscannable, the emulator can scan it")
            entry = fact_entry(incomplete, unit)
            later = settled_units.get((unit.get("host"), unit["kind"], unit["image_id"]), {})
            if entry is not None and (later.get("last_success") or 0) >= run_start:
                problem(host, label, "incomplete (%s), but the emulator's scan of it in this run "
                        "succeeded %.1f s after the run started%s; %s" % (
                            entry.get("reason"), later["last_success"] - run_start,
                            " (task %s still ran when the play ended)" % unit["pending_task"]
                            if unit["pending_task"] else "", describe(image)))

    if args.report:
        with open(args.report, "w") as handle:
            json.dump(problems, handle, indent=1)
    cell = "%s/%s%s" % (args.provider, args.profile, " (%s)" % args.label if args.label else "")
    if problems:
        print("%s: %d problem(s)" % (cell, len(problems)))
        for item in problems[:40]:
            print("  - %s %s: %s" % (item["host"] or "-", item["image"] or "-", item["problem"]))
        sys.exit(1)
    verdicts = sorted("%s=%s" % (h, "passed" if f.get("passed") else f.get("status"))
                      for h, f in facts.items())
    print("%s: all checks passed (%s)" % (cell, ", ".join(verdicts)))


def cmd_settle(args):
    deadline = time.monotonic() + args.timeout
    while True:
        with urllib.request.urlopen(args.url.rstrip("/") + "/_emulator/scans", timeout=10) as answer:
            view = json.load(answer)
        units = view["hss"] + view["tcss"]
        newest = max([u["last_success"] or 0 for u in units] + [0])
        if not any(u["pending_task"] for u in units) and view["now"] - newest > args.older_than:
            break
        if time.monotonic() > deadline:
            sys.exit("the emulator still runs scan tasks after %ss" % args.timeout)
        time.sleep(0.5)
    with open(args.out, "w") as handle:
        json.dump(view, handle)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    verdicts = sub.add_parser("verdicts")
    verdicts.add_argument("--provider", choices=("hss", "tcss"), required=True)
    verdicts.add_argument("--profile", required=True)
    verdicts.add_argument("--facts", required=True, help="dump.yml's file of the cached facts")
    verdicts.add_argument("--before", required=True, help="GET /_emulator/scans before the run")
    verdicts.add_argument("--after", required=True, help="GET /_emulator/scans after the run")
    verdicts.add_argument("--settled", required=True,
                          help="GET /_emulator/scans once no scan task runs (check.py settle)")
    verdicts.add_argument("--dataset", required=True, help="GET /_emulator/dataset after the run")
    verdicts.add_argument("--stats", required=True, help="GET /_emulator/stats after the run")
    verdicts.add_argument("--log", required=True)
    verdicts.add_argument("--rc", type=int, required=True)
    verdicts.add_argument("--inventory", required=True)
    verdicts.add_argument("--max-age", type=float, default=86400.0)
    verdicts.add_argument("--report")
    verdicts.add_argument("--label", help="which run of the cell, for the output")
    settle = sub.add_parser("settle")
    settle.add_argument("url")
    settle.add_argument("out")
    settle.add_argument("--older-than", type=float, default=-1.0)
    settle.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    {"verdicts": cmd_verdicts, "settle": cmd_settle}[args.command](args)


if __name__ == "__main__":
    main()
