"""Checks of a sliced job (4 concurrent slices) against an unsliced run of the same inventory.

- Verdicts: every host's status, result and passed in its slice's report, and whether the slice
  failed it (the play recap), equal the unsliced run's.
- Cost: the emulator's own record (GET /_emulator/scans) shows no scan unit scanned more than
  once by the sliced job, the same units scanned as by the unsliced run, and as many scans as the
  unsliced run (GET /_emulator/stats images_scanned).
- Reports: playbooks/merge_reports.yml over the slices' report-<job id>.json equals the unsliced
  report.json except for the fields that say when something happened (RUN_SPECIFIC).
"""

import argparse
import json
import os
import re
import sys

import yaml

failures = []

# What differs between two runs of the same job over the same hosts: when the report was made,
# when each host was judged and when each image's scan ended, also where a text names that time
# (a gate reason says when a failed scan ended). Everything else must be equal.
RUN_SPECIFIC = ("generated_at", "hosts[].scanned_at", "hosts[].images[].latest_scan_time",
                "ISO 8601 times within texts")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

RECAP = re.compile(r"^(\S+)\s*:\s*ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def check(condition, message):
    if not condition:
        failures.append(message)


def _untimed(value):
    if isinstance(value, dict):
        return dict((k, _untimed(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    if isinstance(value, str):
        return ISO_TIME.sub("<time>", value)
    return value


def without_run_specific(report):
    report = json.loads(json.dumps(report))
    report.pop("generated_at", None)
    for host in report["hosts"]:
        host.pop("scanned_at", None)
        for image in host.get("images") or []:
            image.pop("latest_scan_time", None)
    return _untimed(report)


def differences(a, b, path=""):
    """Where two JSON values differ (at most a few paths), for the failure message."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out.extend(differences(a.get(key), b.get(key), "%s.%s" % (path, key)))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(differences(x, y, "%s[%d]" % (path, i)))
        return out
    return [] if a == b else ["%s: %r != %r" % (path or ".", a, b)]


def recap_failed(log):
    """{host: failed} from the PLAY RECAP of an ansible-playbook log."""
    text = open(log).read()
    recap = text[text.rindex("PLAY RECAP"):] if "PLAY RECAP" in text else ""
    return dict((m.group(1), int(m.group(3)) > 0) for m in RECAP.finditer(recap))


def verdicts(report):
    return dict((h["name"], (h["status"], h["result"], h["passed"])) for h in report["hosts"])


def scanned_units(scans, provider):
    """{unit: number of scans} of the units the emulator scanned, a unit named by image and host."""
    units = {}
    for unit in scans[provider]:
        key = (unit["image_id"], unit.get("host") or ",".join(unit.get("hosts") or []))
        if unit["scans"]:
            units[key] = unit["scans"]
    return units


def cmd_job(args):
    inventory = sorted(yaml.safe_load(open(args.inventory))["all"]["hosts"])
    whole = json.load(open(os.path.join(args.whole, "report.json")))
    whole_verdicts = verdicts(whole)
    whole_failed = recap_failed(args.whole_log)
    check(sorted(whole_verdicts) == inventory, "the unsliced report lists %s" % sorted(whole_verdicts))
    check(any(v[2] for v in whole_verdicts.values()) and not all(v[2] for v in whole_verdicts.values()),
          "the job should pass some hosts and fail others: %s" % whole_verdicts)
    check(set(v[0] for v in whole_verdicts.values()) >= {"scanned", "not_enrolled", "agent_offline"},
          "the job should have scanned, offline and unenrolled hosts: %s" % whole_verdicts)

    # Each slice judged its own hosts, as the unsliced run judged them.
    seen = []
    for k, job in enumerate(args.job_ids):
        hosts = inventory[k::args.slices]
        path = os.path.join(args.slice_reports, "report-%s.json" % job)
        check(os.path.exists(path), "slice %d wrote no %s" % (k + 1, os.path.basename(path)))
        if not os.path.exists(path):
            continue
        report = json.load(open(path))
        mine = verdicts(report)
        check(sorted(mine) == sorted(hosts), "slice %d reports %s, its hosts are %s" % (k + 1, sorted(mine), hosts))
        failed = recap_failed("%s-%d.log" % (args.slice_logs, k))
        check(sorted(failed) == sorted(hosts), "slice %d ran on %s, its hosts are %s" % (k + 1, sorted(failed), hosts))
        for host in hosts:
            check(mine.get(host) == whole_verdicts.get(host),
                  "%s: (status, result, passed) %s in slice %d, %s unsliced"
                  % (host, mine.get(host), k + 1, whole_verdicts.get(host)))
            check(failed.get(host) == whole_failed.get(host),
                  "%s: failed=%s in slice %d, %s unsliced" % (host, failed.get(host), k + 1, whole_failed.get(host)))
        seen.extend(hosts)
    check(sorted(seen) == inventory, "the slices cover %s" % sorted(seen))

    # Each image scanned once by the whole sliced job, and what the unsliced run scanned.
    sliced_scans, whole_scans = json.load(open(args.sliced_scans)), json.load(open(args.whole_scans))
    sliced, unsliced = scanned_units(sliced_scans, args.provider), scanned_units(whole_scans, args.provider)
    sliced_count = json.load(open(args.sliced_stats))["images_scanned"][args.provider]
    whole_count = json.load(open(args.whole_stats))["images_scanned"][args.provider]
    twice = sorted("%s on %s (%d scans)" % (k[0], k[1] if len(k[1]) < 60 else k[1][:60] + "...", n)
                   for k, n in sliced.items() if n > 1)
    check(not twice, "%d images scanned more than once by the sliced job: %s" % (len(twice), "; ".join(twice)))
    check(unsliced and max(unsliced.values()) == 1, "the unsliced run scanned an image more than once: %s" % unsliced)
    check(sorted(sliced) == sorted(unsliced), "the sliced job scanned %d units, the unsliced run %d; only sliced: %s; "
          "only unsliced: %s" % (len(sliced), len(unsliced), sorted(set(sliced) - set(unsliced))[:5],
                                 sorted(set(unsliced) - set(sliced))[:5]))
    check(sliced_count == sum(sliced.values()), "stats count %d scans, the units %d" % (sliced_count, sum(sliced.values())))
    check(sliced_count == whole_count, "the sliced job made %d scans, the unsliced run %d" % (sliced_count, whole_count))
    print("%s: images scanned: sliced %d, unsliced %d" % (args.provider, sliced_count, whole_count))

    # The merged report is the unsliced one, but for when things happened.
    merged = json.load(open(os.path.join(args.merged, "report.json")))
    diff = differences(without_run_specific(merged), without_run_specific(whole))
    check(not diff, "the merged report.json differs from the unsliced one beyond %s: %s"
          % (", ".join(RUN_SPECIFIC), "; ".join(diff[:8])))
    merged_order, whole_order = [h["name"] for h in merged["hosts"]], [h["name"] for h in whole["hosts"]]
    check(merged_order == whole_order, "merged hosts in the order %s, unsliced %s" % (merged_order, whole_order))

    finish("slices (%s)" % args.provider)


# The play's hosts among a generated fleet (tests/emulator/dataset.py: node-<n> at 10.20.0.<n>,
# every 20th host offline): a few online hosts, an offline one, one known by its IP address, one
# the clouds do not know, and one whose name is a part of other hosts' names (a filter that matches
# parts of names answers with those hosts, and none of them is this one).
FLEET_HOSTS = (1, 2, 3, 5, 10, 11, 13, 17, 20)


def inventory_hosts(fleet):
    """``(hosts, unknown)``: the inventory's host variables by name, and the names of the hosts the
    clouds do not know."""
    width = max(2, len(str(fleet)))
    hosts = dict(("node-%0*d" % (width, n), None) for n in FLEET_HOSTS)
    hosts["db-primary"] = {"image_scan_host_ip": "10.20.0.7"}
    unknown = ["ghost-1", "node-%0*d" % (width - 1, 1)]
    hosts.update((name, None) for name in unknown)
    return hosts, unknown


def cmd_inventory(args):
    hosts, _unknown = inventory_hosts(args.fleet)
    # AWX hands a job its inventory sorted by host name: so does this one.
    inventory = {"all": {"vars": {"ansible_connection": "local",
                                  "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                         "hosts": dict((name, hosts[name]) for name in sorted(hosts))}}
    print(yaml.safe_dump(inventory, default_flow_style=False, sort_keys=False))


#: The listing calls: hosts, images and where the images are.
LISTING = {"hss": ("hss.ListHostStatus", "hss.ListImageLocal"),
           "tcss": ("tcss.DescribeAssetHostList", "tcss.DescribeAssetImageHostList", "tcss.DescribeAssetImageList")}
#: The hosts one page of each cloud's host listing holds (the collection's page size).
HOST_PAGE = {"hss": 200, "tcss": 100}


def host_walk_pages(provider, fleet, slices):
    """The pages of the host listing that the slices holding a host the clouds do not know read
    after its first: such a slice walks the host listing once (a host its filters do not find may
    be one whose name they compare with case), and these are the only listing calls that grow with
    the fleet."""
    hosts, unknown = inventory_hosts(fleet)
    names = sorted(hosts)
    with_unknown = sum(1 for k in range(slices) if set(names[k::slices]) & set(unknown))
    return with_unknown * (-(-fleet // HOST_PAGE[provider]) - 1)


def listing_calls(path, provider):
    requests = json.load(open(path))["requests"]
    return dict((op, requests.get(op, 0)) for op in LISTING[provider])


def cmd_scale(args):
    """A slice pays for its own hosts: the same 4 slices, run in check mode (they list and plan,
    and scan nothing, so no wait polls the scans), against a fleet five times larger make about
    as many listing calls (a walk of the fleet in every slice made five times as many)."""
    small, large = listing_calls(args.small, args.provider), listing_calls(args.large, args.provider)
    total_small, total_large = sum(small.values()), sum(large.values())
    # The one host walk of each slice with a host the clouds do not know, beyond what it costs in
    # the small fleet (where every slice walks the host listing anyway, it is cheaper there).
    walks = (host_walk_pages(args.provider, args.large_fleet, args.slices)
             - host_walk_pages(args.provider, args.small_fleet, args.slices))
    print("%s listing calls of %d slices: fleet of %d hosts %d %s; fleet of %d hosts %d %s, %d of them host pages"
          " walked for hosts the clouds do not know"
          % (args.provider, args.slices, args.small_fleet, total_small, small, args.large_fleet, total_large, large,
             walks))
    check(total_small > 0, "no listing call was made")
    check(total_large - walks <= 1.5 * total_small,
          "%d listing calls against %d hosts (%d of them host pages walked for hosts the clouds do not know), %d "
          "against %d: the slices' calls grow with the fleet"
          % (total_large, args.large_fleet, walks, total_small, args.small_fleet))
    finish("scale (%s)" % args.provider)


def finish(what):
    if failures:
        print("%s: %d problem(s)" % (what, len(failures)))
        for message in failures:
            print("  - " + message)
        sys.exit(1)
    print("%s: all checks passed" % what)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    inventory = sub.add_parser("inventory")
    inventory.add_argument("--fleet", type=int, required=True)
    scale = sub.add_parser("scale")
    scale.add_argument("--provider", required=True)
    scale.add_argument("--small", required=True)
    scale.add_argument("--large", required=True)
    scale.add_argument("--small-fleet", type=int, required=True)
    scale.add_argument("--large-fleet", type=int, required=True)
    scale.add_argument("--slices", type=int, required=True)
    job = sub.add_parser("job")
    job.add_argument("--provider", required=True)
    job.add_argument("--inventory", required=True)
    job.add_argument("--slices", type=int, required=True)
    job.add_argument("--slice-logs", required=True)
    job.add_argument("--slice-reports", required=True)
    job.add_argument("--job-ids", nargs="+", required=True)
    job.add_argument("--merged", required=True)
    job.add_argument("--whole", required=True)
    job.add_argument("--whole-log", required=True)
    job.add_argument("--sliced-stats", required=True)
    job.add_argument("--sliced-scans", required=True)
    job.add_argument("--whole-stats", required=True)
    job.add_argument("--whole-scans", required=True)
    args = parser.parse_args()
    dict(job=cmd_job, inventory=cmd_inventory, scale=cmd_scale)[args.command](args)


if __name__ == "__main__":
    main()
