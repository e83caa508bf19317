"""Checks of the image_scan role's results, computed independently from the emulator's dataset.

    check.py facts     the image_scan fact of every host, and which hosts the gate failed
    check.py rerun     the second run changed nothing and sent no trigger
    check.py inventory write an inventory of N generated hosts
    check.py scale     API calls for a large inventory do not grow with its hosts
"""

import argparse
import json
import re
import sys

import yaml

RANK = {"none": 0, "unknown": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
# HSS reports vulnerabilities by repair necessity: critical and high both mean immediate repair.
HSS_SEVERITY = {"critical": "high", "high": "high", "medium": "medium", "low": "low"}
TRIGGERS = {"hss": ["hss.BatchScanLocalImage", "hss.CreateManualImageScanTask"],
            "tcss": ["tcss.CreateAssetImageScanTask"]}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def finish(what):
    if failures:
        print("%s: %d problem(s)" % (what, len(failures)))
        for message in failures[:50]:
            print("  - " + message)
        sys.exit(1)
    print("%s: all checks passed" % what)


def recap(log):
    """Host -> dict of recap counters from ansible-playbook output."""
    hosts = {}
    for match in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", log, re.M):
        hosts[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return hosts


def expected_host(inventory_host, hostvars, dataset):
    by_name = dict((h["name"], h) for h in dataset["hosts"])
    by_ip = dict((h["ip"], h) for h in dataset["hosts"])
    if inventory_host in by_name:
        return by_name[inventory_host]
    return by_ip.get((hostvars or {}).get("image_scan_host_ip"))


def cmd_facts(args):
    dataset = json.load(open(args.dataset))
    inventory = yaml.safe_load(open(args.inventory))["all"]["hosts"]
    images = dict((i["key"], i) for i in dataset["local_images"])
    vulns = dataset["vulnerabilities"]
    threshold = RANK[args.fail_on]
    log = open(args.log).read()
    counters = recap(log)
    expect_failed = set()
    facts = json.load(open(args.facts))
    for host, hostvars in inventory.items():
        fact = facts.get(host)
        check(fact is not None, "%s: no image_scan fact" % host)
        if fact is None:
            continue
        check(fact["provider"] == args.provider, "%s: provider %s" % (host, fact["provider"]))
        record = expected_host(host, hostvars, dataset)
        if record is None:
            check(fact["status"] == "not_enrolled", "%s: status %s, expected not_enrolled" % (host, fact["status"]))
            check(fact["images"] == [] and fact["passed"], "%s: not enrolled but has images or failed" % host)
            continue
        online = (record["hss"]["agent_status"] == "online") if args.provider == "hss" \
            else (record["tcss"]["status"] == "ONLINE")
        if not online:
            check(fact["status"] == "agent_offline", "%s: status %s, expected agent_offline" % (host, fact["status"]))
            continue
        check(fact["status"] == "scanned", "%s: status %s, expected scanned" % (host, fact["status"]))
        id_key = "hss_image_id" if args.provider == "hss" else "tcss_image_id"
        expected_ids = sorted(images[k][id_key] for k in record["images"])
        got_ids = sorted(i["id"] for i in fact["images"])
        check(got_ids == expected_ids, "%s: images %s, expected %s" % (host, got_ids, expected_ids))
        offending = False
        for image in fact["images"]:
            spec = next((images[k] for k in record["images"] if images[k][id_key] == image["id"]), None)
            if spec is None:
                continue
            ok = spec["outcome"] == "success"
            check((image["scan_status"] == "success") == ok,
                  "%s: image %s scan_status %s, dataset outcome %s" % (host, spec["key"], image["scan_status"], spec["outcome"]))
            words = [vulns[v]["severity"] for v in spec["vulnerabilities"]] if ok else []
            if args.provider == "hss":
                words = [HSS_SEVERITY[w] for w in words]
            counts = dict((w, words.count(w)) for w in ("critical", "high", "medium", "low"))
            got = dict((w, (image.get("severity_counts") or {}).get(w, 0)) for w in counts)
            check(got == counts, "%s: image %s severity_counts %s, expected %s" % (host, spec["key"], got, counts))
            check(len(image.get("findings") or []) == len(words),
                  "%s: image %s has %d findings, expected %d" % (host, spec["key"], len(image.get("findings") or []), len(words)))
            if any(RANK[w] >= threshold for w in words):
                offending = True
        check(fact["summary"]["images_total"] == len(expected_ids), "%s: images_total" % host)
        check(fact["passed"] == (not offending), "%s: passed=%s, expected %s" % (host, fact["passed"], not offending))
        if offending:
            expect_failed.add(host)
    failed = set(h for h, c in counters.items() if c.get("failed"))
    check(failed == expect_failed, "hosts failed by the gate %s, expected %s" % (sorted(failed), sorted(expect_failed)))
    check(expect_failed and len(expect_failed) < len(inventory), "the dataset should fail some hosts, not all")
    for host in expect_failed:
        check(re.search(r"%s has images at or above severity %s" % (re.escape(host), args.fail_on), log) is not None,
              "%s: no gate message naming its images" % host)
    finish("facts (%s)" % args.provider)


def cmd_rerun(args):
    counters = recap(open(args.log).read())
    check(counters, "no PLAY RECAP in the log")
    changed = sorted(h for h, c in counters.items() if c.get("changed"))
    check(not changed, "hosts changed on the second run: %s" % changed)
    before = json.load(open(args.before))["requests"]
    after = json.load(open(args.after))["requests"]
    for op in TRIGGERS[args.provider]:
        check(after.get(op, 0) == before.get(op, 0),
              "%s sent again on the second run (%s -> %s)" % (op, before.get(op, 0), after.get(op, 0)))
    check(sum(before.get(op, 0) for op in TRIGGERS[args.provider]) > 0, "the first run triggered nothing")
    finish("rerun (%s)" % args.provider)


def cmd_inventory(args):
    hosts = dict(("node-%0*d" % (args.width, n), None) for n in range(1, args.hosts + 1))
    inventory = {"all": {"vars": {"ansible_connection": "local",
                                  "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                         "hosts": hosts}}
    print(yaml.safe_dump(inventory, default_flow_style=False))


def calls(path, provider):
    requests = json.load(open(path))["requests"]
    return dict((k, v) for k, v in requests.items() if k.startswith(provider + "."))


def cmd_scale(args):
    small, large = calls(args.small, args.provider), calls(args.large, args.provider)
    total_small, total_large = sum(small.values()), sum(large.values())
    print("%s calls: 10 hosts %d %s; 120 hosts %d %s" % (args.provider, total_small, small, total_large, large))
    # No call per host: far fewer calls than hosts, and the cost per host falls as the
    # inventory grows (calls follow images, batches and pages, which grow far slower here).
    check(total_large < 120 / 2, "%d calls for 120 hosts: calls grow with hosts" % total_large)
    check(total_large / 120.0 <= (total_small / 10.0) / 3,
          "calls per host went from %.2f (10 hosts) to %.2f (120 hosts)" % (total_small / 10.0, total_large / 120.0))
    finish("scale (%s)" % args.provider)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("facts")
    for name in ("--provider", "--facts", "--dataset", "--log", "--inventory", "--fail-on"):
        p.add_argument(name, required=True)
    p = sub.add_parser("rerun")
    for name in ("--provider", "--log", "--before", "--after"):
        p.add_argument(name, required=True)
    p = sub.add_parser("inventory")
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--width", type=int, required=True)
    p = sub.add_parser("scale")
    for name in ("--provider", "--small", "--large"):
        p.add_argument(name, required=True)
    args = parser.parse_args()
    globals()["cmd_" + args.command](args)


if __name__ == "__main__":
    main()
