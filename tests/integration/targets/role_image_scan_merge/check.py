"""The reports of the slices of a job carry their job ids, and merged they are the reports of the
whole job: report.json, report.xml, report.html and report.sarif, except the times of the runs."""

import argparse
import html.parser
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

EXTENSIONS = ("json", "xml", "html", "sarif")
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def without_times(report):
    """A report.json without what differs between two runs of the same job: when they ran."""
    report = json.loads(json.dumps(report))
    report.pop("generated_at", None)
    for host in report["hosts"]:
        host.pop("scanned_at", None)
    return report


def junit_cases(path):
    root = ET.parse(path).getroot()
    counts = dict((k, root.get(k)) for k in ("tests", "failures", "errors", "skipped"))
    cases = []
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        cases.append((case.get("name"), None if failure is None else (failure.tag, failure.get("type"),
                                                                      failure.get("message"), failure.text),
                      case.find("skipped") is not None, case.find("system-out").text))
    return counts, cases


class Rows(html.parser.HTMLParser):
    def __init__(self):
        super(Rows, self).__init__(convert_charrefs=True)
        self.rows = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-host" in attrs:
            self.rows.append((attrs["data-host"], attrs.get("data-result"), attrs.get("data-worst")))


def html_rows(path):
    rows = Rows()
    rows.feed(open(path, encoding="utf-8").read())
    return rows.rows


def sarif_results(path):
    sarif = json.load(open(path))
    runs = [(run["tool"]["driver"]["rules"], run["results"], dict(run["properties"])) for run in sarif["runs"]]
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", required=True)
    parser.add_argument("--whole", required=True)
    parser.add_argument("--merged", required=True)
    parser.add_argument("--merge-log", required=True)
    parser.add_argument("--job-ids", nargs="+", required=True)
    args = parser.parse_args()

    # Each slice wrote its own files, named after its job.
    names = sorted(os.listdir(args.slices))
    expected = sorted("report-%s.%s" % (job, ext) for job in args.job_ids for ext in EXTENSIONS)
    check(names == expected, "the slices wrote %s, expected %s" % (names, expected))
    slices = [json.load(open(os.path.join(args.slices, "report-%s.json" % job))) for job in args.job_ids]
    check(all(s["hosts"] for s in slices), "a slice has no host")
    check(sum(len(s["hosts"]) for s in slices) == len(json.load(open(os.path.join(args.whole, "report.json")))["hosts"]),
          "the slices do not add up to the whole job's hosts")

    whole = json.load(open(os.path.join(args.whole, "report.json")))
    merged = json.load(open(os.path.join(args.merged, "report.json")))
    check(without_times(merged) == without_times(whole), "the merged report.json is not the whole job's")
    check([h["name"] for h in merged["hosts"]] == [h["name"] for h in whole["hosts"]],
          "merged hosts in the order %s, the whole job's %s" % ([h["name"] for h in merged["hosts"]][:6],
                                                                [h["name"] for h in whole["hosts"]][:6]))
    check(merged["generated_at"] == max(s["generated_at"] for s in slices), "the merged report is not dated by the last slice")
    check(whole["totals"]["hosts_failed"] and whole["totals"]["hosts_failed"] < whole["totals"]["hosts"],
          "the job should fail some hosts, not all")

    check(junit_cases(os.path.join(args.merged, "report.xml")) == junit_cases(os.path.join(args.whole, "report.xml")),
          "the merged report.xml is not the whole job's")
    check(html_rows(os.path.join(args.merged, "report.html")) == html_rows(os.path.join(args.whole, "report.html")),
          "the merged report.html rows are not the whole job's")
    merged_sarif = sarif_results(os.path.join(args.merged, "report.sarif"))
    check(merged_sarif == sarif_results(os.path.join(args.whole, "report.sarif")),
          "the merged report.sarif is not the whole job's")
    check(merged_sarif and merged_sarif[0][1], "the SARIF report has no results")

    log = open(args.merge_log).read()
    match = re.search(r"Merged (\d+) reports \(([^)]*)\): (\d+) hosts", log)
    check(match is not None, "the merge playbook did not say what it merged")
    if match:
        check(match.group(2) == ", ".join("report-%s.json" % job for job in args.job_ids),
              "merged in the order %s, expected job id order" % match.group(2))
        check(int(match.group(3)) == len(whole["hosts"]), "the merge playbook counted %s hosts" % match.group(3))

    if failures:
        print("merge: %d problem(s)" % len(failures))
        for message in failures:
            print("  - " + message)
        sys.exit(1)
    print("merge (%s): all checks passed" % whole["provider"])


if __name__ == "__main__":
    main()
