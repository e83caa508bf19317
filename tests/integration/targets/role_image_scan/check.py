"""Checks of the image_scan role's results, computed independently from the emulator's dataset.

    check.py facts     the image_scan fact of every host, and which hosts the gate failed
    check.py progress  the wait showed progress lines, not a wall of retries
    check.py reports   report.json, report.xml and report.html agree with the facts and the gate
    check.py browser   report.html renders in headless chromium with a row per host
    check.py rerun     the second run changed nothing and sent no trigger
    check.py change    print the dataset of the second run: nginx:1.25 lost a vulnerability, redis:7.2 gained one
    check.py gate      exceptions, a threshold and the delta against the first run, on the changed dataset
    check.py guard     the cost guard stopped the run and check mode scanned nothing
    check.py errors    a failed cloud call left the hosts not judged, said why, and the reports were written
    check.py timeout   a wait that ran out left the pending images incomplete, naming the tasks to resume with
    check.py inventory write an inventory of N generated hosts
    check.py scale     API calls for a large inventory do not grow with its hosts
    check.py onetask   the role ran one task on every host; everything else ran once
    check.py badargs   bad role arguments failed the play once, naming the option, before any cloud call
"""

import argparse
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

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
        id_key = "hss_image_id" if args.provider == "hss" else "tcss_image_id"
        expected_ids = sorted(images[k][id_key] for k in record["images"])
        got_ids = sorted(i["id"] for i in fact["images"])
        check(got_ids == expected_ids, "%s: images %s, expected %s" % (host, got_ids, expected_ids))
        offending = False
        # Fail closed: an image whose scan did not succeed (failed, oversized: never scanned)
        # leaves the host incomplete, and the host fails whatever its other images say.
        not_scanned = sorted(images[k][id_key] for k in record["images"] if images[k]["outcome"] != "success")
        listed = sorted(i["id"] for i in fact.get("incomplete_images", []))
        check(listed == not_scanned, "%s: incomplete_images %s, expected %s" % (host, listed, not_scanned))
        for entry in fact.get("incomplete_images", []):
            spec = next(images[k] for k in record["images"] if images[k][id_key] == entry["id"])
            check((entry["reason"] or "").startswith("the scan ended %s: " % entry["scan_status"]),
                  "%s: incomplete image %s without its reason: %r" % (host, spec["key"], entry["reason"]))
        expected_status = "incomplete" if not_scanned else "scanned"
        check(fact["status"] == expected_status, "%s: status %s, expected %s" % (host, fact["status"], expected_status))
        for image in fact["images"]:
            spec = next((images[k] for k in record["images"] if images[k][id_key] == image["id"]), None)
            if spec is None:
                continue
            ok = spec["outcome"] == "success"
            check((image["scan_status"] == "success") == ok,
                  "%s: image %s scan_status %s, dataset outcome %s" % (host, spec["key"], image["scan_status"], spec["outcome"]))
            check(image.get("gate_status") == ("fresh" if ok else "incomplete"),
                  "%s: image %s gate_status %s" % (host, spec["key"], image.get("gate_status")))
            words = [vulns[v]["severity"] for v in spec["vulnerabilities"]] if ok else []
            if args.provider == "hss":
                words = [HSS_SEVERITY[w] for w in words]
            counts = dict((w, words.count(w)) for w in ("critical", "high", "medium", "low"))
            got = dict((w, (image.get("severity_counts") or {}).get(w, 0)) for w in counts)
            check(got == counts, "%s: image %s severity_counts %s, expected %s" % (host, spec["key"], got, counts))
            check(len(image.get("findings") or []) == len(words),
                  "%s: image %s has %d findings, expected %d" % (host, spec["key"], len(image.get("findings") or []), len(words)))
            if args.fail_on != "none" and any(RANK[w] >= threshold for w in words):
                offending = True
        check(fact["summary"]["images_total"] == len(expected_ids), "%s: images_total" % host)
        should_pass = not offending and not not_scanned
        check(fact["passed"] == should_pass, "%s: passed=%s, expected %s" % (host, fact["passed"], should_pass))
        rules = [f["rule"] for f in fact.get("failures", [])]
        expected_rules = (["incomplete"] if not_scanned else []) + (["severity"] if offending else [])
        check(rules == expected_rules, "%s: failed rules %s, expected %s" % (host, rules, expected_rules))
        if not should_pass:
            expect_failed.add(host)
            check(re.search(r"^%s failed the gate \(%s\): " % (re.escape(host), ", ".join(expected_rules)),
                            fact.get("message") or "") is not None, "%s: message %r" % (host, fact.get("message")))
    failed = set(h for h, c in counters.items() if c.get("failed"))
    check(failed == expect_failed, "hosts failed by the gate %s, expected %s" % (sorted(failed), sorted(expect_failed)))
    check(expect_failed and len(expect_failed) < len(inventory), "the dataset should fail some hosts, not all")
    # The hosts of the built-in dataset whose images were never scanned successfully.
    if args.builtin:
        check({"node-07", "node-12", "node-15"} <= failed,
              "node-07, node-12 (oversized images) and node-15 (failed scan) must fail: failed %s" % sorted(failed))
    for host in expect_failed:
        fact = facts[host]
        message = fact.get("message")
        check(message and message in log, "%s: the play did not print the gate message" % host)
        check("None" not in (message or ""), "%s: the message prints None: %s" % (host, message))
    finish("facts (%s)" % args.provider)


PROGRESS = re.compile(r"^(HSS|TCSS) scan(?: batch \d+ of \d+)?: (\d+)% \((\d+)/(\d+) images done\) after \d+s$", re.M)


def cmd_progress(args):
    log = open(args.log).read()
    lines = PROGRESS.findall(log)
    check(lines, "no progress line in the log")
    check(all(cloud == args.provider.upper() for cloud, _p, _d, _t in lines), "progress lines of the other cloud")
    check(lines and lines[-1][1] == "100" and lines[-1][2] == lines[-1][3],
          "the last progress line is not 100%%: %s" % (lines[-1:],))
    percents = [int(p) for _c, p, _d, _t in lines]
    check(len(lines) < 30, "%d progress lines: more than a person wants to read" % len(lines))
    check("RETRYING" not in log, "retry lines in the log")
    print("progress lines: %s" % ", ".join("%d%%" % p for p in percents))
    finish("progress (%s)" % args.provider)


SKIPPED_STATUSES = ("not_enrolled", "agent_offline")


def inventory_hosts(path):
    return list(yaml.safe_load(open(path))["all"]["hosts"])


def gate_failed(log):
    return set(h for h, c in recap(open(log).read()).items() if c.get("failed"))


def label(image):
    return "%s:%s" % (image["name"], image["version"])


def cmd_reports(args):
    facts = json.load(open(args.facts))
    hosts = inventory_hosts(args.inventory)
    failed = gate_failed(args.log)
    check(failed, "the run failed no host: the reports cannot show failures")
    for name in ("report.json", "report.xml", "report.html"):
        path = os.path.join(args.dir, name)
        check(os.path.isfile(path) and os.path.getsize(path) > 0, "%s is missing or empty" % name)
        if os.path.isfile(path):
            check(oct(os.stat(path).st_mode & 0o777) == "0o644", "%s has mode %o" % (name, os.stat(path).st_mode & 0o777))
    if failures:
        finish("reports (%s)" % args.provider)

    # report.json: every host, image, severity count and gate decision, as in the facts.
    report = json.load(open(os.path.join(args.dir, "report.json")))
    check(report["provider"] == args.provider, "report.json provider %s" % report["provider"])
    check(report["gate"]["fail_on"] == args.fail_on, "report.json gate %s" % report["gate"])
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", report["generated_at"] or ""), "generated_at %r" % report["generated_at"])
    check([h["name"] for h in report["hosts"]] == hosts, "report.json hosts %s" % [h["name"] for h in report["hosts"]])
    for entry in report["hosts"]:
        fact = facts.get(entry["name"], {})
        for key in ("status", "passed", "summary", "offending_images", "cloud_host", "scanned_at"):
            check(entry[key] == fact.get(key), "report.json %s: %s differs from the fact" % (entry["name"], key))
        check([i["id"] for i in entry["images"]] == [i["id"] for i in fact.get("images", [])],
              "report.json %s: images differ from the fact" % entry["name"])
        for image, original in zip(entry["images"], fact.get("images", [])):
            counts = dict((k, v) for k, v in (original.get("severity_counts") or {}).items())
            check(image["severity_counts"] == counts,
                  "report.json %s %s: severity_counts %s, fact %s" % (entry["name"], image["id"], image["severity_counts"], counts))
            check(image["findings"] == original.get("findings"), "report.json %s %s: findings differ" % (entry["name"], image["id"]))
        expected = "failed" if not fact.get("passed") else "skipped" if fact.get("status") in SKIPPED_STATUSES else "passed"
        check(entry["result"] == expected, "report.json %s: result %s, expected %s" % (entry["name"], entry["result"], expected))
        check((entry["result"] == "failed") == (entry["name"] in failed),
              "report.json %s: result %s but the gate %s it" % (entry["name"], entry["result"], "failed" if entry["name"] in failed else "passed"))
    totals = report["totals"]
    check(totals["hosts"] == len(hosts) and totals["hosts_failed"] == len(failed),
          "report.json totals %s" % {k: totals[k] for k in ("hosts", "hosts_failed")})
    for key in ("critical", "high", "medium", "low"):
        check(totals[key] == sum(f["summary"][key] for f in facts.values()), "report.json totals.%s" % key)

    # report.xml: JUnit, one testcase per host, failures exactly for the hosts the gate failed.
    root = ET.parse(os.path.join(args.dir, "report.xml")).getroot()
    suites = root.findall("testsuite")
    check(root.tag == "testsuites" and len(suites) == 1, "report.xml: one testsuite inside testsuites expected")
    suite = suites[0]
    cases = suite.findall("testcase")
    check([c.get("name") for c in cases] == hosts, "report.xml testcases %s" % [c.get("name") for c in cases])
    check(set(c.get("classname") for c in cases) == {"image_scan." + args.provider}, "report.xml classnames")
    xml_failed = set(c.get("name") for c in cases if c.find("failure") is not None)
    xml_skipped = set(c.get("name") for c in cases if c.find("skipped") is not None)
    check(xml_failed == failed, "report.xml failures %s, gate failed %s" % (sorted(xml_failed), sorted(failed)))
    expected_skipped = set(h for h in hosts if facts[h]["status"] in SKIPPED_STATUSES)
    check(xml_skipped == expected_skipped, "report.xml skipped %s, expected %s" % (sorted(xml_skipped), sorted(expected_skipped)))
    for element in (root, suite):
        got = dict((k, element.get(k)) for k in ("tests", "failures", "errors", "skipped"))
        want = {"tests": str(len(hosts)), "failures": str(len(failed)), "errors": "0", "skipped": str(len(expected_skipped))}
        check(got == want, "report.xml <%s> counts %s, expected %s" % (element.tag, got, want))
    for case in cases:
        failure = case.find("failure")
        if failure is None:
            continue
        check(failure.get("type") == "severity_gate", "report.xml %s: failure type %s" % (case.get("name"), failure.get("type")))
        for offender in facts[case.get("name")]["offending_images"]:
            check(label(offender) in failure.get("message"), "report.xml %s: %s not in the failure message" % (case.get("name"), label(offender)))
            check(offender["id"] in (failure.text or ""), "report.xml %s: %s not in the failure details" % (case.get("name"), offender["id"]))

    # report.html: a row per host with its gate result, and a drill-down per host.
    page = Page()
    page.feed(open(os.path.join(args.dir, "report.html"), encoding="utf-8").read())
    check_page(page, facts, hosts, failed, "report.html")
    finish("reports (%s)" % args.provider)


class Page(html.parser.HTMLParser):
    """The host rows, drill-downs and tags of a report page."""

    def __init__(self):
        super(Page, self).__init__(convert_charrefs=True)
        self.rows, self.details, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "data-host" in attrs:
            self.rows.append((attrs["data-host"], attrs.get("data-result")))
        if tag == "details" and "data-host" in attrs:
            self.details.append(attrs["data-host"])


def check_page(page, facts, hosts, failed, what):
    check([h for h, _r in page.rows] == hosts, "%s host rows %s" % (what, [h for h, _r in page.rows]))
    results = dict(page.rows)
    for host in hosts:
        expected = "failed" if host in failed else "skipped" if facts[host]["status"] in SKIPPED_STATUSES else "passed"
        check(results.get(host) == expected, "%s %s: row says %s, expected %s" % (what, host, results.get(host), expected))
    check(page.details == hosts, "%s: drill-downs %s" % (what, page.details))
    check(not set(page.tags) & {"script", "link", "img", "iframe"}, "%s loads or runs something" % what)


def png_size(path):
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def cmd_browser(args):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("browser: chromium is not installed; `make browser` installs it (apt-get install chromium)")
        sys.exit(1)
    facts = json.load(open(args.facts))
    hosts = inventory_hosts(args.inventory)
    failed = gate_failed(args.log)
    url = "file://" + os.path.abspath(args.html)
    profile = tempfile.mkdtemp(prefix="chromium-")
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile]
    try:
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120, check=False)
        check(dom.returncode == 0, "chromium --dump-dom exited with %s: %s" % (dom.returncode, dom.stderr[-2000:]))
        page = Page()
        page.feed(dom.stdout)
        check_page(page, facts, hosts, failed, "the DOM chromium built")
        if args.screenshot:
            shot = subprocess.run(base + ["--window-size=1280,1600", "--screenshot=" + args.screenshot, url],
                                  capture_output=True, text=True, timeout=120, check=False)
            check(shot.returncode == 0 and os.path.isfile(args.screenshot),
                  "chromium --screenshot failed (%s): %s" % (shot.returncode, shot.stderr[-2000:]))
            size = png_size(args.screenshot) if os.path.isfile(args.screenshot) else None
            check(size == (1280, 1600), "the screenshot is not a 1280x1600 PNG: %s" % (size,))
            check(os.path.getsize(args.screenshot) > 20000 if size else False, "the screenshot looks empty")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print("browser: chromium rendered %d host rows" % len(page.rows))
    finish("browser (%s)" % args.provider)


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


# The second run's dataset, and the gate settings it is judged with (gate_vars.yml).
FIXED = ("nginx:1.25", "CVE-2023-44487")
NEW = ("redis:7.2", "CVE-2021-44228")
ACTIVE = {"id": "CVE-2023-45853", "images": "nginx:*", "hosts": "node-0*"}
EXPIRED = "CVE-2024-2961"
MAX_FINDINGS = {"medium": 2}


def cmd_change(args):
    dataset = json.load(open(args.dataset))
    for image in dataset["local_images"]:
        if image["key"] == FIXED[0]:
            image["vulnerabilities"].remove(FIXED[1])
        if image["key"] == NEW[0]:
            image["vulnerabilities"].append(NEW[1])
    print(json.dumps(dataset))


def host_findings(record, images, vulns, provider):
    """(image key, image name, cve, package, severity) of every finding of a host's successfully
    scanned images."""
    found = []
    for key in record["images"]:
        spec = images[key]
        if spec["outcome"] != "success":
            continue
        for cve in spec["vulnerabilities"]:
            word = vulns[cve]["severity"]
            found.append((key, spec["name"], cve, vulns[cve]["package"], HSS_SEVERITY[word] if provider == "hss" else word))
    return found


def cmd_gate(args):
    before_data, dataset = json.load(open(args.before)), json.load(open(args.dataset))
    inventory = yaml.safe_load(open(args.inventory))["all"]["hosts"]
    images, vulns = dict((i["key"], i) for i in dataset["local_images"]), dataset["vulnerabilities"]
    before_images = dict((i["key"], i) for i in before_data["local_images"])
    facts = json.load(open(args.facts))
    log = open(args.log).read()
    failed = gate_failed(args.log)
    threshold = RANK[args.fail_on]
    expect_failed = set()
    suppressed_seen = expired_seen = delta_seen = 0
    for host, hostvars in inventory.items():
        fact, record = facts[host], expected_host(host, hostvars, dataset)
        online = record and ((record["hss"]["agent_status"] == "online") if args.provider == "hss"
                             else (record["tcss"]["status"] == "ONLINE"))
        if not online:
            check(fact["delta"] is None and fact["passed"], "%s: not scanned, yet delta %s" % (host, fact["delta"]))
            continue
        found = host_findings(record, images, vulns, args.provider)
        # Exceptions: the active one on the nginx images of node-0*, the expired one nowhere.
        got = {}
        for image in fact["images"]:
            for finding in image.get("findings") or []:
                got[(image["name"], finding["id"], finding["package"])] = finding
        counted = []
        for key, name, cve, package, word in found:
            finding = got.get((name, cve, package))
            check(finding is not None, "%s: finding %s %s missing" % (host, key, cve))
            if finding is None:
                continue
            should = cve == ACTIVE["id"] and name == "nginx" and host.startswith("node-0")
            mark = finding.get("suppressed")
            check(bool(mark) == should, "%s: %s %s suppressed=%s, expected %s" % (host, key, cve, mark, should))
            if mark:
                suppressed_seen += 1
                check(mark["reason"] == "accepted in the integration test" and mark["owner"] == "integration"
                      and mark["until"] == "2999-12-31", "%s: %s %s suppressed with %s" % (host, key, cve, mark))
            else:
                counted.append(word)
        has_expired = any(cve == EXPIRED for _k, _n, cve, _p, _w in found)
        listed = [e["id"] for e in fact["expired_exceptions"]]
        check(listed == ([EXPIRED] if has_expired else []), "%s: expired_exceptions %s" % (host, listed))
        expired_seen += bool(listed)
        # Threshold and severity on the counted findings; incomplete as before.
        incomplete = any(images[k]["outcome"] != "success" for k in record["images"])
        offending = any(RANK[w] >= threshold for w in counted)
        over = [sev for sev, most in MAX_FINDINGS.items() if counted.count(sev) > most]
        rules = (["incomplete"] if incomplete else []) + (["severity"] if offending else []) + ["threshold"] * len(over)
        got_rules = [f["rule"] for f in fact["failures"]]
        check(got_rules == rules, "%s: failed rules %s, expected %s" % (host, got_rules, rules))
        for failure in fact["failures"]:
            if failure["rule"] == "threshold":
                check(failure["count"] == counted.count(failure["severity"]), "%s: threshold %s" % (host, failure))
        check(fact["summary"]["suppressed"] == sum(1 for f in got.values() if f.get("suppressed")),
              "%s: summary.suppressed" % host)
        if rules:
            expect_failed.add(host)
        # Delta against the first run (the same fleet on the first dataset).
        before = set((n, c, p) for _k, n, c, p, _w in host_findings(record, before_images, before_data["vulnerabilities"], args.provider))
        now = set((n, c, p) for _k, n, c, p, _w in found)
        delta = fact["delta"] or {}
        for state, keys in (("new", now - before), ("fixed", before - now), ("unchanged", now & before)):
            listed = set((r["name"], r["id"], r["package"]) for r in delta.get(state, []))
            check(listed == keys, "%s: delta.%s %s, expected %s" % (host, state, sorted(listed), sorted(keys)))
        check(delta.get("baseline_found") is True, "%s: not found in the baseline" % host)
        delta_seen += bool(delta.get("new") or delta.get("fixed"))
        for (name, cve, package), finding in got.items():
            want = "new" if (name, cve, package) in now - before else "unchanged"
            check(finding.get("baseline") == want, "%s: %s %s baseline %s, expected %s" % (host, name, cve, finding.get("baseline"), want))
    check(failed == expect_failed, "hosts failed %s, expected %s" % (sorted(failed), sorted(expect_failed)))
    check(suppressed_seen and expired_seen and delta_seen, "the run showed no suppression, expiry or delta")
    # Warnings may be wrapped: compare with the whitespace folded.
    warnings = re.findall(r"exception \d+ \(%s, [^)]*\) expired on 2020-01-01" % EXPIRED, " ".join(log.split()))
    check(len(warnings) == 1, "%d warnings about the expired exception, expected 1" % len(warnings))
    report = json.load(open(os.path.join(args.dir, "report.json")))
    marks = [f["suppressed"] for h in report["hosts"] for i in h["images"] for f in i.get("findings") or []
             if f.get("suppressed")]
    check(len(marks) == suppressed_seen and all(m["reason"] for m in marks),
          "report.json shows %d suppressed findings, the facts %d" % (len(marks), suppressed_seen))
    finish("gate (%s)" % args.provider)


def cmd_guard(args):
    before = json.load(open(args.before))["requests"]
    for path in (args.after, args.after_check):
        after = json.load(open(path))["requests"]
        for op in TRIGGERS[args.provider]:
            check(after.get(op, 0) == before.get(op, 0), "%s: %s sent (%s -> %s)" % (path, op, before.get(op, 0), after.get(op, 0)))
    log = open(args.log).read()
    match = re.search(r"image_scan_max_images is %d but this run would scan (\d+) images on (\d+) hosts; most are on "
                      r"(\S+) \((\d+)\)" % args.max_images, log)
    check(match is not None, "the guard did not name the count and the hosts")
    if match:
        check(int(match.group(1)) > args.max_images, "the guard's count %s" % match.group(1))
    check(recap(log), "no PLAY RECAP")
    check(any(c.get("failed") for c in recap(log).values()), "the guard did not fail the play")
    check_log = open(args.check_log).read()
    check(re.search(r"Check mode: would scan \d+ images on \d+ hosts", check_log) is not None,
          "check mode did not say what it would scan")
    calls_before = sum(json.load(open(args.after_check))["requests"].values())
    calls_after = sum(json.load(open(args.after_malformed))["requests"].values())
    check(calls_after == calls_before, "a malformed exception still let %d cloud calls through" % (calls_after - calls_before))
    check("image_scan_exceptions entry 1 (id CVE-2023-45853): field 'until' is required" in open(args.malformed_log).read(),
          "the error does not name the malformed entry and its field")
    finish("guard (%s)" % args.provider)


def cmd_errors(args):
    facts = json.load(open(args.facts))
    hosts = inventory_hosts(args.inventory)
    counters = recap(open(args.log).read())
    failed = set(h for h, c in counters.items() if c.get("failed"))
    unjudged = sorted(h for h, f in facts.items() if not f["judged"])
    check(unjudged, "no host was left not judged")
    for host in unjudged:
        fact = facts[host]
        check(fact["status"] == "error", "%s: status %s" % (host, fact["status"]))
        check(args.task in (fact["not_judged_reason"] or "") and args.error in fact["not_judged_reason"],
              "%s: not_judged_reason %r names neither the task nor the error" % (host, fact["not_judged_reason"]))
        if args.on_error == "fail":
            check(host in failed and [f["rule"] for f in fact["failures"]][:1] == ["error"],
                  "%s: not judged but not failed (%s)" % (host, fact["failures"]))
        else:
            check(host not in failed and fact["warnings"] and "not judged" in fact["warnings"][0],
                  "%s: on_error=warn, yet failed or not warned" % host)
    check(sorted(facts) == sorted(hosts), "facts for %s" % sorted(facts))
    if args.on_error == "warn":
        check(re.search(r"\[WARNING\]: image_scan: %d hosts not judged" % len(unjudged), " ".join(open(args.log).read().split())),
              "no warning about the hosts not judged")
    report = json.load(open(os.path.join(args.dir, "report.json")))
    check(sorted(h["name"] for h in report["hosts"]) == sorted(hosts), "report.json does not list every host")
    after = json.load(open(args.stats))["requests"]
    check(after.get(args.op, 0) > 0, "the failing call %s was not made" % args.op)
    finish("errors (%s, on_error=%s)" % (args.provider, args.on_error))


def cmd_timeout(args):
    facts = json.load(open(args.facts))
    state = json.load(open(args.state))
    task_ids = sorted(t.get("TaskID") for t in state["tcss"]["tasks"]) if args.provider == "tcss" else []
    check(args.provider == "hss" or task_ids, "no TCSS task was created")
    failed = gate_failed(args.log)
    incomplete = sorted(h for h, f in facts.items() if f["status"] == "incomplete")
    check(incomplete, "no host is incomplete after the wait ran out")
    for host in incomplete:
        fact = facts[host]
        check(host in failed and fact["judged"], "%s: incomplete but not failed" % host)
        for entry in fact["incomplete_images"]:
            check("the wait for the scans ran out" in entry["reason"], "%s %s: reason %r" % (host, entry["id"], entry["reason"]))
            check(sorted(entry["task_ids"]) == task_ids, "%s %s: task_ids %s, expected %s" % (host, entry["id"], entry["task_ids"], task_ids))
            for task_id in task_ids:
                check("resume with task %s" % task_id in entry["reason"], "%s: the reason does not name %s" % (host, task_id))
    report = json.load(open(os.path.join(args.dir, "report.json")))
    check(sorted(h["name"] for h in report["hosts"] if h["status"] == "incomplete") == incomplete,
          "report.json does not show the incomplete hosts")
    finish("timeout (%s)" % args.provider)


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


TASK_LINE = re.compile(r"^TASK \[(.+)\] \*+$")
# A host's result line, without the host a task was delegated to; loop items (" => (item=") are left out.
RESULT_LINE = re.compile(r"^(?:ok|changed|skipping|failed|fatal): \[([^\]\s]+)(?: -> [^\]]+)?\]")
INCLUDED_LINE = re.compile(r"^included: \S+ for ([^=>]+)$")


def task_results(log):
    """[(task name, {host: number of results})] of an ansible-playbook log of the default callback."""
    tasks = []
    for line in log.splitlines():
        match = TASK_LINE.match(line)
        if match:
            tasks.append((match.group(1), {}))
            continue
        if not tasks or " => (item=" in line:
            continue
        hosts = []
        match = RESULT_LINE.match(line)
        if match:
            hosts = [match.group(1)]
        else:
            match = INCLUDED_LINE.match(line)
            if match:
                hosts = [h.strip() for h in match.group(1).split(",")]
        for host in hosts:
            tasks[-1][1][host] = tasks[-1][1].get(host, 0) + 1
    return tasks


def cmd_onetask(args):
    hosts = inventory_hosts(args.inventory)
    tasks = [(name, counts) for name, counts in task_results(open(args.log).read()) if name.startswith(args.role + " : ")]
    check(tasks, "no task of %s in the log" % args.role)
    # A task that ran once reports one host; a task that ran per host reports every host of the play.
    per_host = [(name, counts) for name, counts in tasks if len(counts) > 1]
    check([name for name, dummy in per_host] == [args.role + " : " + args.task],
          "tasks run on more than one host: %s, expected only %r" % ([name for name, dummy in per_host], args.task))
    for name, counts in per_host:
        check(sorted(counts) == sorted(hosts), "%s ran on %s, not on every host" % (name, sorted(counts)))
        check(all(n == 1 for n in counts.values()), "%s: more than one result for a host: %s" % (name, counts))
    # Every host but the one the run_once tasks ran on has exactly one result from the role.
    once_hosts = set(host for dummy, counts in tasks if len(counts) == 1 for host in counts)
    check(len(once_hosts) == 1, "the tasks that ran once ran on %s, not on one host" % sorted(once_hosts))
    for host in hosts:
        if host in once_hosts:
            continue
        got = sum(counts.get(host, 0) for dummy, counts in tasks)
        check(got == 1, "%s has %d task results from the role, expected 1" % (host, got))
    finish("one task per host")


def cmd_badargs(args):
    log = open(args.log).read()
    before = json.load(open(args.before))["requests"]
    after = json.load(open(args.after))["requests"]
    check(before == after, "cloud calls after bad role arguments: %s" % dict(
        (k, after[k] - before.get(k, 0)) for k in after if after[k] != before.get(k, 0)))
    check(re.search(r"\b%s\b" % re.escape(args.option), log) and args.allowed in log,
          "the error does not name %s and its allowed values %s" % (args.option, args.allowed))
    tasks = [(name, counts) for name, counts in task_results(log) if name.startswith(args.role + " : ")]
    # One check for the play: one result, a failure, and no other task of the role ran.
    check([sum(counts.values()) for dummy, counts in tasks] == [1],
          "the role ran %s, expected one argument check" % [(name, sum(c.values())) for name, c in tasks])
    check(re.search(r"^fatal: \[[^\]]+\]: FAILED!", log, re.M), "no failed argument check in the log")
    counters = recap(log)
    check(counters and set(counters) <= set(inventory_hosts(args.inventory)), "recap hosts %s" % sorted(counters))
    check(all(c.get("ok", 0) == 0 and c.get("skipped", 0) == 0 for c in counters.values()),
          "some host ran a task after the failed check: %s" % counters)
    finish("bad role arguments")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("facts")
    for name in ("--provider", "--facts", "--dataset", "--log", "--inventory", "--fail-on"):
        p.add_argument(name, required=True)
    p.add_argument("--builtin", action="store_true", help="the emulator serves its built-in dataset")
    p = sub.add_parser("progress")
    for name in ("--provider", "--log"):
        p.add_argument(name, required=True)
    p = sub.add_parser("reports")
    for name in ("--provider", "--dir", "--facts", "--log", "--inventory", "--fail-on"):
        p.add_argument(name, required=True)
    p = sub.add_parser("browser")
    for name in ("--provider", "--html", "--facts", "--log", "--inventory"):
        p.add_argument(name, required=True)
    p.add_argument("--screenshot")
    p = sub.add_parser("rerun")
    for name in ("--provider", "--log", "--before", "--after"):
        p.add_argument(name, required=True)
    p = sub.add_parser("change")
    p.add_argument("--dataset", required=True)
    p = sub.add_parser("gate")
    for name in ("--provider", "--facts", "--dataset", "--before", "--log", "--inventory", "--fail-on", "--dir"):
        p.add_argument(name, required=True)
    p = sub.add_parser("guard")
    for name in ("--provider", "--log", "--check-log", "--before", "--after", "--after-check", "--malformed-log",
                 "--after-malformed"):
        p.add_argument(name, required=True)
    p.add_argument("--max-images", type=int, required=True)
    p = sub.add_parser("errors")
    for name in ("--provider", "--facts", "--log", "--inventory", "--on-error", "--task", "--error", "--dir", "--stats", "--op"):
        p.add_argument(name, required=True)
    p = sub.add_parser("timeout")
    for name in ("--provider", "--facts", "--log", "--state", "--dir"):
        p.add_argument(name, required=True)
    p = sub.add_parser("inventory")
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--width", type=int, required=True)
    p = sub.add_parser("scale")
    for name in ("--provider", "--small", "--large"):
        p.add_argument(name, required=True)
    p = sub.add_parser("onetask")
    for name in ("--log", "--inventory", "--role", "--task"):
        p.add_argument(name, required=True)
    p = sub.add_parser("badargs")
    for name in ("--log", "--before", "--after", "--option", "--allowed", "--role", "--inventory"):
        p.add_argument(name, required=True)
    args = parser.parse_args()
    globals()["cmd_" + args.command](args)


if __name__ == "__main__":
    main()
