"""Checks of the image_scan role's results, computed independently from the emulator's dataset.

    check.py facts     the image_scan fact of every host, and which hosts the gate failed
    check.py progress  the wait showed progress lines, not a wall of retries
    check.py reports   report.json, report.xml, report.html and report.sarif agree with the facts and the gate
    check.py browser   report.html in headless chromium: a row per host, charts, filters and sorting
                       driven through the devtools protocol, a screenshot
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
import base64
import html.parser
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import yaml

RANK = {"none": 0, "unknown": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
# The built-in dataset's critical vulnerability (log4shell), on both clouds.
LOG4SHELL = "CVE-2021-44228"
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


def load_dataset(path, scans=None, provider=None):
    """The dataset file at ``path``; with ``scans`` (the emulator's GET /_emulator/scans), the
    local images the emulator will not scan on ``provider`` (the licences realism profile) get
    the outcome ``unscannable``: the role lists them and never scans them."""
    dataset = json.load(open(path))
    if scans:
        blocked = set(unit["image"] for unit in json.load(open(scans))[provider]
                      if unit.get("unscannable") and unit.get("kind") in ("local", "tcss"))
        for image in dataset["local_images"]:
            if image["key"] in blocked:
                image["outcome"] = "unscannable"
    return dataset


#: Outcomes that leave an image without a fresh successful scan: the host is incomplete.
def unsuccessful(spec):
    return spec["outcome"] not in ("success", "unscannable")


def expected_host(inventory_host, hostvars, dataset):
    by_name = dict((h["name"], h) for h in dataset["hosts"])
    by_ip = dict((h["ip"], h) for h in dataset["hosts"])
    if inventory_host in by_name:
        return by_name[inventory_host]
    return by_ip.get((hostvars or {}).get("image_scan_host_ip"))


def cmd_facts(args):
    dataset = load_dataset(args.dataset, args.scans, args.provider)
    inventory = yaml.safe_load(open(args.inventory))["all"]["hosts"]
    images = dict((i["key"], i) for i in dataset["local_images"])
    vulns = dataset["vulnerabilities"]
    threshold = RANK[args.fail_on]
    log = open(args.log).read()
    counters = recap(log)
    expect_failed = set()
    log4shell_hosts = set()
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
        not_scanned = sorted(images[k][id_key] for k in record["images"] if unsuccessful(images[k]))
        listed = sorted(i["id"] for i in fact.get("incomplete_images", []))
        check(listed == not_scanned, "%s: incomplete_images %s, expected %s" % (host, listed, not_scanned))
        # Images the cloud will not scan are listed, and by default do not fail the host.
        blocked = sorted(images[k][id_key] for k in record["images"] if images[k]["outcome"] == "unscannable")
        listed = sorted(i["id"] for i in fact.get("unscannable_images", []))
        check(listed == blocked, "%s: unscannable_images %s, expected %s" % (host, listed, blocked))
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
            blocked = spec["outcome"] == "unscannable"
            check((image["scan_status"] == "unscannable") == blocked,
                  "%s: image %s scan_status %s, dataset outcome %s" % (host, spec["key"], image["scan_status"], spec["outcome"]))
            check(image.get("gate_status") == ("fresh" if ok else "unscannable" if blocked else "incomplete"),
                  "%s: image %s gate_status %s" % (host, spec["key"], image.get("gate_status")))
            # One severity scale on both clouds: the dataset's own words.
            words = [vulns[v]["severity"] for v in spec["vulnerabilities"]] if ok else []
            if args.findings == "required":
                check(image.get("findings") is not None, "%s: image %s has no findings" % (host, spec["key"]))
            if image.get("findings") is not None or args.findings == "required":
                counts = dict((w, words.count(w)) for w in ("critical", "high", "medium", "low"))
                got = dict((w, (image.get("severity_counts") or {}).get(w, 0)) for w in counts)
                check(got == counts, "%s: image %s severity_counts %s, expected %s" % (host, spec["key"], got, counts))
                check(len(image.get("findings") or []) == len(words),
                      "%s: image %s has %d findings, expected %d" % (
                          host, spec["key"], len(image.get("findings") or []), len(words)))
            if ok and LOG4SHELL in spec["vulnerabilities"]:
                log4shell_hosts.add(host)
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
        # (Under the licences realism profile the oversized images are ones the cloud will not scan.)
        must = set(host for host, key in (("node-07", "ml/trainer:2024.1"), ("node-12", "analytics/spark-job:3.5.0"),
                                          ("node-15", "legacy/reporting:0.9")) if unsuccessful(images[key]))
        check(must and must <= failed,
              "node-07, node-12 (oversized images) and node-15 (failed scan) must fail: failed %s" % sorted(failed))
        # A critical finding fails its host at a critical (or lower) gate, on HSS as on TCSS.
        check(bool(log4shell_hosts), "the built-in dataset should have hosts with %s scanned" % LOG4SHELL)
        if args.fail_on in ("critical", "high"):
            for host in sorted(log4shell_hosts):
                check(host in failed and "severity" in [f["rule"] for f in facts[host].get("failures", [])],
                      "%s: an image with %s (critical) did not fail the %s gate" % (host, LOG4SHELL, args.fail_on))
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
JUNIT_TYPES = {"severity": "severity_gate", "threshold": "threshold_gate", "incomplete": "incomplete_scan",
               "unscannable": "unscannable_image", "unenrolled": "not_enrolled", "error": "scanner_error"}


def inventory_hosts(path):
    return list(yaml.safe_load(open(path))["all"]["hosts"])


def gate_failed(log):
    return set(h for h, c in recap(open(log).read()).items() if c.get("failed"))


def label(image):
    return "%s:%s" % (image["name"], image["version"]) if image.get("version") else image["name"]


def cmd_reports(args):
    facts = json.load(open(args.facts))
    hosts = inventory_hosts(args.inventory)
    failed = gate_failed(args.log)
    check(failed, "the run failed no host: the reports cannot show failures")
    for name in ("report.json", "report.xml", "report.html", "report.sarif"):
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
        expected = "failed" if not fact.get("passed") else expected_result(fact, entry["name"], ())
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
    xml_failed = set(c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None)
    xml_errors = set(c.get("name") for c in cases if c.find("error") is not None)
    xml_skipped = set(c.get("name") for c in cases if c.find("skipped") is not None)
    check(xml_failed == failed, "report.xml failures %s, gate failed %s" % (sorted(xml_failed), sorted(failed)))
    expected_skipped = set(h for h in hosts if h not in failed and expected_result(facts[h], h, failed) == "skipped")
    check(xml_skipped == expected_skipped, "report.xml skipped %s, expected %s" % (sorted(xml_skipped), sorted(expected_skipped)))
    # A host that failed because a scanner error kept it from being judged is a JUnit error.
    expected_errors = set(h for h in failed if facts[h].get("judged") is False)
    check(xml_errors == expected_errors, "report.xml errors %s, expected %s" % (sorted(xml_errors), sorted(expected_errors)))
    for element in (root, suite):
        got = dict((k, element.get(k)) for k in ("tests", "failures", "errors", "skipped"))
        want = {"tests": str(len(hosts)), "failures": str(len(failed) - len(expected_errors)),
                "errors": str(len(expected_errors)), "skipped": str(len(expected_skipped))}
        check(got == want, "report.xml <%s> counts %s, expected %s" % (element.tag, got, want))
    for case in cases:
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        if failure is None:
            continue
        fact = facts[case.get("name")]
        rules = [f.get("rule") for f in fact.get("failures") or []]
        expected_type = JUNIT_TYPES.get(rules[0], rules[0] + "_gate") if rules else "severity_gate"
        check(failure.get("type") == expected_type,
              "report.xml %s: failure type %s, expected %s" % (case.get("name"), failure.get("type"), expected_type))
        if fact.get("message"):
            check(failure.get("message") == fact["message"], "report.xml %s: the message is not the fact's" % case.get("name"))
        for offender in fact["offending_images"]:
            check(label(offender) in failure.get("message") + (failure.text or ""),
                  "report.xml %s: %s not in the failure" % (case.get("name"), label(offender)))
            check(offender["id"] in (failure.text or ""), "report.xml %s: %s not in the failure details" % (case.get("name"), offender["id"]))

    # report.html: a row per host with its gate result, and a drill-down per host.
    page = Page()
    page.feed(open(os.path.join(args.dir, "report.html"), encoding="utf-8").read())
    check_page(page, facts, hosts, failed, "report.html")

    check_sarif(os.path.join(args.dir, "report.sarif"), facts, hosts, args.provider)
    finish("reports (%s)" % args.provider)


SARIF_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "unknown": "note"}


def find_upwards(*parts):
    """A file of the collection, looked for from this target's directory upwards."""
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        path = os.path.join(here, *parts)
        if os.path.exists(path):
            return path
        if os.path.dirname(here) == here:
            return None
        here = os.path.dirname(here)


def check_sarif(path, facts, hosts, provider):
    """report.sarif: valid SARIF 2.1.0, one result per host, image and finding of the facts, with
    the level of its severity, and read back the same by sarif-tools."""
    import jsonschema

    sarif = json.load(open(path))
    schema_path = find_upwards("tests", "unit", "fixtures", "sarif-schema-2.1.0.json")
    check(schema_path is not None, "the SARIF 2.1.0 schema is not in tests/unit/fixtures")
    if schema_path:
        errors = list(jsonschema.Draft4Validator(json.load(open(schema_path))).iter_errors(sarif))
        check(not errors, "report.sarif is not valid SARIF 2.1.0: %s" % "; ".join(e.message for e in errors[:5]))
    runs = sarif.get("runs") or []
    check(len(runs) == 1 and runs[0]["properties"]["provider"] == provider, "report.sarif: one %s run expected" % provider)
    if len(runs) != 1:
        return
    expected, marks = {}, {}
    for host in hosts:
        for image in facts[host].get("images") or []:
            for finding in image.get("findings") or []:
                key = (host, image["id"], finding["id"], finding.get("package"))
                expected[key] = SARIF_LEVELS.get(finding.get("severity"), "note")
                marks[key] = ((finding.get("suppressed") or {}).get("reason"), finding.get("baseline"))
    got, got_marks = {}, {}
    for result in runs[0]["results"]:
        props = result["properties"]
        key = (props["host"], props["image_id"], result["ruleId"], props["package"])
        got[key] = result["level"]
        got_marks[key] = ((result.get("suppressions") or [{}])[0].get("justification"), result.get("baselineState"))
    # Suppressed findings carry the exception's reason, and a baseline's word is the result's state.
    wrong = sorted(k for k in marks if k in got_marks and got_marks[k] != marks[k])
    check(not wrong, "report.sarif suppressions/baselineState differ from the facts for %d results, e.g. %s: %s, fact %s"
          % (len(wrong), wrong[:1], [got_marks[k] for k in wrong[:1]], [marks[k] for k in wrong[:1]]))
    check(got == expected, "report.sarif results differ from the facts' findings: %d results, %d findings; "
          "missing %s, extra %s" % (len(got), len(expected), sorted(set(expected) - set(got))[:3],
                                    sorted(set(got) - set(expected))[:3]))
    check(expected, "the facts have no findings: the SARIF report shows nothing")
    rules = set(rule["id"] for rule in runs[0]["tool"]["driver"]["rules"])
    check(rules == set(k[2] for k in expected), "report.sarif rules %d, distinct vulnerabilities %d"
          % (len(rules), len(set(k[2] for k in expected))))
    tool = os.path.join(os.path.dirname(sys.executable), "sarif")
    tool = tool if os.path.exists(tool) else shutil.which("sarif")
    check(tool, "sarif-tools is not installed (test-requirements.txt)")
    if tool:
        done = subprocess.run([tool, "summary", path], capture_output=True, text=True, timeout=120, check=False)
        check(done.returncode == 0, "sarif summary failed: %s" % done.stderr[-2000:])
        theirs = dict((level, int(n)) for level, n in re.findall(r"^(error|warning|note|none): (\d+)$", done.stdout, re.M)
                      if int(n))
        ours = dict((level, n) for level, n in runs[0]["properties"]["results_by_level"].items() if n)
        want = {}
        for level in expected.values():
            want[level] = want.get(level, 0) + 1
        check(theirs == ours == want, "SARIF counts: sarif-tools %s, the run's properties %s, the facts %s"
              % (theirs, ours, want))


class Page(html.parser.HTMLParser):
    """The host rows, drill-downs, scripts and tags of a report page."""

    def __init__(self):
        super(Page, self).__init__(convert_charrefs=True)
        self.rows, self.details, self.tags, self.scripts = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "data-host" in attrs:
            self.rows.append((attrs["data-host"], attrs.get("data-result")))
        if tag == "details" and "data-host" in attrs:
            self.details.append(attrs["data-host"])
        if tag == "script":
            self.scripts.append(attrs)


def expected_result(fact, host, failed):
    if host in failed:
        return "failed"
    if fact["status"] in SKIPPED_STATUSES or fact.get("judged") is False:
        return "skipped"
    return "passed"


def check_page(page, facts, hosts, failed, what):
    check([h for h, _r in page.rows] == hosts, "%s host rows %s" % (what, [h for h, _r in page.rows]))
    results = dict(page.rows)
    for host in hosts:
        expected = expected_result(facts[host], host, failed)
        check(results.get(host) == expected, "%s %s: row says %s, expected %s" % (what, host, results.get(host), expected))
    check(page.details == hosts, "%s: drill-downs %s" % (what, page.details))
    check(not set(page.tags) & {"link", "img", "iframe", "object", "embed"}, "%s loads something" % what)
    check(len(page.scripts) == 1 and not any("src" in attrs for attrs in page.scripts),
          "%s: one inline script expected, got %s" % (what, page.scripts))


def png_size(path):
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


class DevTools(object):
    """Headless chromium driven through the devtools protocol over a pipe (--remote-debugging-pipe:
    JSON messages ending in NUL, commands on fd 3, answers and events on fd 4)."""

    def __init__(self, chromium, base):
        to_browser, self._commands = os.pipe()
        self._answers, from_browser = os.pipe()

        def fds():
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(base + ["--remote-debugging-pipe", "about:blank"], preexec_fn=fds,
                                     close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")

    def _next(self, deadline):
        while b"\0" not in self._buffer:
            ready, _w, _x = select.select([self._answers], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise RuntimeError("chromium did not answer within the deadline")
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the devtools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw.decode("utf-8"))

    def call(self, method, params=None, browser=False, timeout=60):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._next(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError("%s: %s" % (method, answer["error"]))
                return answer.get("result") or {}
            self.events.append(answer)

    def wait_event(self, method, timeout=60):
        for event in self.events:
            if event.get("method") == method:
                self.events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._next(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def js(self, expression):
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in answer:
            raise RuntimeError("script failed: %s" % answer["exceptionDetails"])
        return answer["result"].get("value")

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        box = self.js("(function(){var e=document.querySelector(%s); e.scrollIntoView({block:'center'});"
                      "var r=e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];})()"
                      % json.dumps(selector))
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1})

    def problems(self):
        """Script exceptions and console errors (a refused script or resource is one)."""
        found = []
        for event in self.events:
            if event.get("method") == "Runtime.exceptionThrown":
                found.append(event["params"]["exceptionDetails"].get("text"))
            if event.get("method") == "Log.entryAdded" and event["params"]["entry"].get("level") == "error":
                found.append(event["params"]["entry"].get("text"))
            if event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                found.append(str(event["params"].get("args")))
        return found

    def close(self):
        try:
            self.call("Browser.close", browser=True, timeout=10)
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._commands)
        os.close(self._answers)


_VISIBLE_ROWS = ("Array.prototype.filter.call(document.querySelectorAll('#host-table tbody tr'), "
                 "function(r){return !r.hidden && r.offsetParent !== null;}).map(function(r){"
                 "return r.getAttribute('data-host');})")
_VISIBLE_DETAILS = ("Array.prototype.filter.call(document.querySelectorAll('details.host'), "
                    "function(d){return d.offsetParent !== null;}).map(function(d){return d.getAttribute('data-host');})")


def _select(tools, element_id, value):
    """Choose an option of a select as a user does: focus it, then pick the option (a change event)."""
    tools.click("#" + element_id)
    tools.js("(function(){var s=document.getElementById(%s); s.value=%s;"
             "s.dispatchEvent(new Event('change', {bubbles: true}));})()" % (json.dumps(element_id), json.dumps(value)))
    tools.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Escape", "code": "Escape",
                                          "windowsVirtualKeyCode": 27})


def check_interaction(tools, url, facts, hosts, failed, screenshot):
    """Filters and sorting of the host table, done by clicking and typing, and the charts."""
    tools.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1600, "deviceScaleFactor": 1,
                                                      "mobile": False})
    tools.call("Page.navigate", {"url": url})
    tools.wait_event("Page.loadEventFired")
    results = dict((h, expected_result(facts[h], h, failed)) for h in hosts)
    check(tools.js("document.getElementById('filters').hidden") is False,
          "the page's script did not run (the filters are still hidden)")
    check(tools.js(_VISIBLE_ROWS) == hosts, "not every host row is shown at first")
    check(tools.js("document.getElementById('f-shown').textContent") == "%d of %d hosts shown" % (len(hosts), len(hosts)),
          "the count of hosts shown is wrong at first")

    # Charts: the hosts chart adds up to the hosts by gate result.
    segments = tools.js("Array.prototype.map.call(document.querySelectorAll('#chart-hosts rect[data-key]'), "
                        "function(r){return [r.getAttribute('data-key'), Number(r.getAttribute('data-count'))];})")
    by_result = {}
    for key, count in segments or []:
        by_result[key] = by_result.get(key, 0) + count
    want = {}
    for result in results.values():
        want[result] = want.get(result, 0) + 1
    check(by_result == want, "the hosts chart shows %s, the gate %s" % (by_result, want))
    drawn = tools.js("(function(){var r=document.getElementById('chart-hosts').getBoundingClientRect();"
                     "return [r.width, r.height];})()")
    check(drawn and drawn[0] > 100 and drawn[1] > 50, "the hosts chart is not drawn: %s" % (drawn,))
    findings = tools.js("Array.prototype.reduce.call(document.querySelectorAll('#chart-findings rect[data-key]'), "
                        "function(n, r){return n + Number(r.getAttribute('data-count'));}, 0)")
    total = sum(fact["summary"].get(k, 0) for fact in facts.values() for k in ("critical", "high", "medium", "low", "unknown"))
    check(findings == total, "the findings chart shows %s findings, the facts have %s" % (findings, total))

    # Filter by gate result: only the failed hosts, rows and drill-downs.
    _select(tools, "f-result", "failed")
    failed_hosts = [h for h in hosts if results[h] == "failed"]
    check(tools.js(_VISIBLE_ROWS) == failed_hosts, "filter failed: rows %s, expected %s" % (tools.js(_VISIBLE_ROWS), failed_hosts))
    check(tools.js(_VISIBLE_DETAILS) == failed_hosts, "filter failed: drill-downs %s" % tools.js(_VISIBLE_DETAILS))
    # And by host name, typed into the search box.
    needle = failed_hosts[0][-2:] if failed_hosts else "x"
    tools.click("#f-host")
    tools.call("Input.insertText", {"text": needle})
    expected = [h for h in failed_hosts if needle in h.lower()]
    check(tools.js(_VISIBLE_ROWS) == expected, "filter failed + %r: rows %s, expected %s" % (needle, tools.js(_VISIBLE_ROWS), expected))
    check(tools.js("document.getElementById('f-shown').textContent") == "%d of %d hosts shown" % (len(expected), len(hosts)),
          "the count of hosts shown does not follow the filters")
    if screenshot:
        shot = base64.b64decode(tools.call("Page.captureScreenshot", {"format": "png"})["data"])
        with open(screenshot.replace(".png", "-filtered.png"), "wb") as handle:
            handle.write(shot)
    # Worst severity: every shown row has it.
    tools.js("(function(){var h=document.getElementById('f-host'); h.value=''; h.dispatchEvent(new Event('input'));})()")
    _select(tools, "f-result", "")
    worst = dict((h, facts[h]["summary"].get("worst_severity") or "none") for h in hosts)
    level = worst[failed_hosts[0]] if failed_hosts else "none"
    _select(tools, "f-worst", level)
    check(tools.js(_VISIBLE_ROWS) == [h for h in hosts if worst[h] == level],
          "filter worst=%s: rows %s" % (level, tools.js(_VISIBLE_ROWS)))
    _select(tools, "f-worst", "")
    check(tools.js(_VISIBLE_ROWS) == hosts, "clearing the filters does not show every host again")

    # Sort by clicking a column head: critical counts ascending, then descending (ties keep the host order).
    for direction in ("ascending", "descending"):
        tools.click("#host-table th[data-key=critical] button")
        sign = 1 if direction == "ascending" else -1
        order = sorted(range(len(hosts)), key=lambda i: (sign * facts[hosts[i]]["summary"].get("critical", 0), i))
        check(tools.js(_VISIBLE_ROWS) == [hosts[i] for i in order],
              "sorted by critical %s: rows %s" % (direction, tools.js(_VISIBLE_ROWS)[:8]))
        check(tools.js("document.querySelector('#host-table th[data-key=critical]').getAttribute('aria-sort')") == direction,
              "the critical column does not say it is sorted %s" % direction)
    tools.click("#host-table th[data-key=host] button")
    check(tools.js(_VISIBLE_ROWS) == sorted(hosts), "sorted by host: rows %s" % tools.js(_VISIBLE_ROWS)[:8])
    check_sections(tools, os.path.join(os.path.dirname(url[len("file://"):]), "report.json"))
    problems = tools.problems()
    check(not problems, "the page logged errors: %s" % problems[:5])
    if screenshot:
        tools.call("Page.navigate", {"url": url})
        tools.wait_event("Page.loadEventFired")
        shot = base64.b64decode(tools.call("Page.captureScreenshot", {"format": "png"})["data"])
        with open(screenshot, "wb") as handle:
            handle.write(shot)


def check_sections(tools, report_path):
    """The sections of the page show what report.json says: exceptions, the delta, the hosts not
    judged and the images without a fresh result."""
    if not os.path.isfile(report_path):
        return
    report = json.load(open(report_path))

    def rows(table):
        return tools.js("Array.prototype.map.call(document.querySelectorAll('#%s tbody tr'), function(r){"
                        "return Array.prototype.map.call(r.cells, function(c){return c.textContent;});})" % table) or []
    active = [e for e in report.get("exceptions") or [] if not e.get("expired")]
    check([r[0] for r in rows("exceptions-active")] == [e["id"] for e in active],
          "the page's active exceptions differ from report.json")
    check([r[-1] for r in rows("exceptions-active")] == [str(e.get("matched", 0)) for e in active],
          "the page's counts of suppressed findings differ from report.json")
    check([r[0] for r in rows("exceptions-expired")] == [e["id"] for e in report.get("expired_exceptions") or []],
          "the page's expired exceptions differ from report.json")
    with_delta = [h for h in report["hosts"] if isinstance(h.get("delta"), dict)]
    check([r[:3] for r in rows("delta-hosts")] == [[h["name"], str(len(h["delta"]["new"])), str(len(h["delta"]["fixed"]))]
                                                   for h in with_delta], "the page's delta differs from report.json")
    if with_delta:
        drawn = tools.js("Array.prototype.reduce.call(document.querySelectorAll('#chart-delta rect[data-key=new]'), "
                         "function(n, r){return n + Number(r.getAttribute('data-count'));}, 0)")
        check(drawn == report["totals"]["new"], "the delta chart shows %s new findings, report.json %s"
              % (drawn, report["totals"]["new"]))
    check([r[0] for r in rows("not-judged")] == [e["host"] for e in report.get("not_judged") or []],
          "the page's hosts not judged differ from report.json")
    images = [(h["name"], i["id"]) for h in report["hosts"] for kind in ("incomplete", "unscannable")
              for i in h.get(kind + "_images") or []]
    check(len(rows("problem-images")) == len(images), "the page lists %d incomplete or unscannable images, report.json %d"
          % (len(rows("problem-images")), len(images)))


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
    page = Page()
    try:
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120, check=False)
        check(dom.returncode == 0, "chromium --dump-dom exited with %s: %s" % (dom.returncode, dom.stderr[-2000:]))
        page.feed(dom.stdout)
        check_page(page, facts, hosts, failed, "the DOM chromium built")
        tools = DevTools(chromium, base)
        try:
            check_interaction(tools, url, facts, hosts, failed, args.screenshot)
        finally:
            tools.close()
        if args.screenshot:
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


def host_findings(record, images, vulns):
    """(image key, image name, cve, package, severity) of every finding of a host's successfully
    scanned images."""
    found = []
    for key in record["images"]:
        spec = images[key]
        if spec["outcome"] != "success":
            continue
        for cve in spec["vulnerabilities"]:
            word = vulns[cve]["severity"]
            found.append((key, spec["name"], cve, vulns[cve]["package"], word))
    return found


def cmd_gate(args):
    before_data = load_dataset(args.before, args.scans, args.provider)
    dataset = load_dataset(args.dataset, args.scans, args.provider)
    inventory = yaml.safe_load(open(args.inventory))["all"]["hosts"]
    images, vulns = dict((i["key"], i) for i in dataset["local_images"]), dataset["vulnerabilities"]
    before_images = dict((i["key"], i) for i in before_data["local_images"])
    facts = json.load(open(args.facts))
    log = open(args.log).read()
    failed = gate_failed(args.log)
    threshold = RANK[args.fail_on]
    # With a baseline, the summary table has the columns of new and fixed findings.
    header = summary_header(log)
    check(header is not None and header.split()[-3:] == ["new", "fixed", "gate"],
          "the summary table with a baseline: %r" % header)
    expect_failed = set()
    suppressed_seen = expired_seen = delta_seen = 0
    for host, hostvars in inventory.items():
        fact, record = facts[host], expected_host(host, hostvars, dataset)
        online = record and ((record["hss"]["agent_status"] == "online") if args.provider == "hss"
                             else (record["tcss"]["status"] == "ONLINE"))
        if not online:
            check(fact["delta"] is None and fact["passed"], "%s: not scanned, yet delta %s" % (host, fact["delta"]))
            continue
        found = host_findings(record, images, vulns)
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
        incomplete = any(unsuccessful(images[k]) for k in record["images"])
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
        before = set((n, c, p) for _k, n, c, p, _w in host_findings(record, before_images, before_data["vulnerabilities"]))
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
    if args.task == "Collect":
        # The judge runs the collection itself: the play's module_defaults (errors.yml: no retries for
        # the group) must reach it, so the failing read is made once, not retried.
        check(after.get(args.op, 0) == 1, "the collection made %s %d times: the group's module_defaults "
              "(backoff_retries: 0) did not reach it" % (args.op, after.get(args.op, 0)))
    # No baseline: the summary table has no columns of new and fixed findings.
    header = summary_header(open(args.log).read())
    check(header is not None and " new " not in header + " " and "fixed" not in header,
          "the summary table without a baseline: %r" % header)
    finish("errors (%s, on_error=%s)" % (args.provider, args.on_error))


def summary_header(log):
    """The header line of the role's summary table in a playbook log, or None."""
    found = re.search(r'"(host\s+status\s+images[^"]*)"', log)
    return found.group(1) if found else None


def cmd_earlier(args):
    """A host failed before the role stays failed after a cloud call of the role failed (the role's
    error path once cleared every host's failure: the play went on with it and ended with rc 0)."""
    log = open(args.log).read()
    hosts = inventory_hosts(args.inventory)
    counters = recap(log)
    first = hosts[0]
    check(args.rc != 0, "ansible-playbook ended with rc 0 although %s failed before the role" % first)
    check(counters.get(first, {}).get("failed") == 1, "%s: recap %s, expected failed=1" % (first, counters.get(first)))
    went_on = set(re.findall(r"went on after the role: (\S+?)\"", log))
    check(first not in went_on, "%s failed before the role, yet went on after it" % first)
    check(went_on == set(hosts[1:]), "went on after the role: %s, expected every host but %s" % (sorted(went_on), first))
    for host in hosts[1:]:
        check(not counters.get(host, {}).get("failed"), "%s: failed (on_error=warn): %s" % (host, counters.get(host)))
    check(re.search(r"\[WARNING\]: image_scan: \d+ hosts? not judged", " ".join(log.split())),
          "the cloud call did not fail: no host is said not judged")
    check(args.op in json.load(open(args.stats))["requests"], "the failing call %s was not made" % args.op)
    finish("earlier failure kept (%s)" % args.provider)


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
    p.add_argument("--findings", choices=("required", "optional"), default="required",
                   help="whether every scanned image must carry its findings")
    p.add_argument("--scans", help="GET /_emulator/scans: the images the emulator will not scan")
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
    p.add_argument("--scans", help="GET /_emulator/scans: the images the emulator will not scan")
    p = sub.add_parser("guard")
    for name in ("--provider", "--log", "--check-log", "--before", "--after", "--after-check", "--malformed-log",
                 "--after-malformed"):
        p.add_argument(name, required=True)
    p.add_argument("--max-images", type=int, required=True)
    p = sub.add_parser("errors")
    for name in ("--provider", "--facts", "--log", "--inventory", "--on-error", "--task", "--error", "--dir", "--stats", "--op"):
        p.add_argument(name, required=True)
    p = sub.add_parser("earlier")
    for name in ("--provider", "--log", "--inventory", "--stats", "--op"):
        p.add_argument(name, required=True)
    p.add_argument("--rc", type=int, required=True)
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
