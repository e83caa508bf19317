#!/usr/bin/env bash
# The main job against the bundled emulator: scan the demo fleet on HSS, then on TCSS, show
# each host's verdict, then run again to show that nothing is scanned twice; last, on a changed
# fleet, one TCSS run with an exception (and an expired one) and the delta against the first run.
# Run through `make demo`, which provides .venv and the collection tree.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
: "${ANSIBLE_COLLECTIONS_PATH:?run this through make demo}"
export ANSIBLE_PYTHON_INTERPRETER="$PWD/.venv/bin/python"
export ANSIBLE_TEST_PYTHON_INTERPRETER="$PWD/.venv/bin/python"
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_DISPLAY_OK_HOSTS=true
export ANSIBLE_CALLBACK_RESULT_FORMAT=json ANSIBLE_CALLBACK_FORMAT_PRETTY=false
PLAYBOOK=(.venv/bin/ansible-playbook -i playbooks/inventory/demo.yml playbooks/scan_images.yml
          -e image_scan_findings=true -e image_scan_wait_sleep=1)

show_stats() {
    emulator_admin GET stats | "$EMULATOR_PYTHON" -c '
import json, sys
stats = json.load(sys.stdin)
for name, count in sorted(stats.get("requests", {}).items()):
    print("  %-45s %d" % (name, count))
print("  tasks created: %s" % stats.get("tasks_created"))'
}

# shellcheck source=../tests/integration/targets/setup_emulator/files/emulator.sh
source tests/integration/targets/setup_emulator/files/emulator.sh
start_emulator --scan-seconds "${DEMO_SCAN_SECONDS:-4}" || exit 1
echo "emulator of HSS and TCSS listening on $EMULATOR_URL (pid $EMULATOR_PID)"

status=0
# Runs the scan job once (json callback) and prints what a person wants to see: the progress of
# the scans, the per-host table, the hosts the severity gate failed and why, and the recap in one
# line. Extra arguments go to ansible-playbook.
run() {
    local provider="$1" title="$2" brief="${3:-}" log
    shift $(( $# < 3 ? $# : 3 ))
    log="$(mktemp)"
    printf '\n=== %s, %s\n' "$provider" "$title"
    "${PLAYBOOK[@]}" -e "image_scan_provider=$provider" "$@" > "$log" 2>&1
    "$EMULATOR_PYTHON" - "$log" "$brief" <<'PY' || status=1
import json, re, sys
text = open(sys.argv[1]).read()
brief = sys.argv[2] == "brief"
task, problems, recap = "", [], []
for line in text.splitlines():
    if line.startswith("TASK ["):
        task = line
        continue
    if re.match(r"^(HSS|TCSS) scan.*: \d+% \(", line):
        print("  progress: " + line)
        continue
    m = re.match(r"^(ok|changed|fatal|failed): \[([^]]+)\].*? => (\{.*\})$", line)
    if m:
        result = json.loads(m.group(3))
        if brief and m.group(1) != "fatal" or brief and "the gate does not pass" in task:
            continue
        if "Show the scan summary" in task:
            for row in result.get("msg", []):
                print("  " + row)
        elif m.group(1) == "fatal" and "the gate does not pass" in task:
            print("  gate: " + result["msg"])
        elif m.group(1) == "fatal":
            problems.append("%s %s: %s" % (task, m.group(2), result.get("msg")))
    m = re.match(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", line)
    if m:
        recap.append((m.group(1), int(m.group(2)), int(m.group(3)) + int(m.group(4))))
if not recap:
    print(text)
    sys.exit("ansible-playbook did not finish")
print("  recap: %d hosts, %d changed, %d failed by the gate" % (
    len(recap), sum(1 for r in recap if r[1]), sum(1 for r in recap if r[2])))
if problems:
    print("\n".join(["unexpected failures:"] + problems))
    sys.exit(1)
PY
    LAST_LOG="$log"
}

REPORTS="$PWD/build/demo-reports"
rm -rf "$REPORTS"
echo "HSS rates vulnerabilities up to high (repair necessity); TCSS up to critical. The gate is at critical."
for provider in hss tcss; do
    run "$provider" "first run: scan every image that needs it, wait, collect, gate at critical, write reports" "" \
        -e "image_scan_report_dir=$REPORTS/$provider"
    for report in report.json report.xml report.html; do
        if [ -s "$REPORTS/$provider/$report" ]; then echo "  report: $REPORTS/$provider/$report"
        else echo "  missing report: $REPORTS/$provider/$report"; status=1; fi
    done
    run "$provider" "second run: every scan is recent, nothing is triggered (changed=0)" brief
    if grep -qE '^\S+ +: ok=.*changed=[1-9]' "$LAST_LOG"; then
        echo "unexpected: the second $provider run changed something"; status=1
    fi
done

printf '\nCalls the emulator received over the four runs:\n'
show_stats

# A changed fleet: nginx:1.25 without CVE-2023-44487 (fixed), redis:7.2 with CVE-2021-44228 (new).
# The third run accepts one finding for a month on node-0* (an exception with a reason and an
# owner), carries one exception that expired yesterday, and compares with the first TCSS run.
stop_emulator
"$EMULATOR_PYTHON" tests/emulator/serve.py --dump-data | "$EMULATOR_PYTHON" -c '
import json, sys
data = json.load(sys.stdin)
for image in data["local_images"]:
    if image["key"] == "nginx:1.25":
        image["vulnerabilities"].remove("CVE-2023-44487")
    if image["key"] == "redis:7.2":
        image["vulnerabilities"].append("CVE-2021-44228")
json.dump(data, sys.stdout)' > "$REPORTS/fleet-2.json"
start_emulator --scan-seconds "${DEMO_SCAN_SECONDS:-4}" --data "$REPORTS/fleet-2.json" || exit 1
exceptions="$("$EMULATOR_PYTHON" -c '
import datetime, json
today = datetime.datetime.now(datetime.timezone.utc).date()
print(json.dumps({"image_scan_exceptions": [
    {"id": "CVE-2023-45853", "images": ["nginx:*"], "hosts": ["node-0*"], "until": str(today + datetime.timedelta(days=30)),
     "reason": "zlib minizip is not reachable in nginx", "owner": "platform-team"},
    {"id": "CVE-2024-2961", "until": str(today - datetime.timedelta(days=1)), "reason": "waiting for glibc 2.39",
     "owner": "platform-team"}]}))')"
run tcss "third run on a changed fleet: an exception, an expired one, and the delta against the first run" "" \
    -e "image_scan_report_dir=$REPORTS/tcss-delta" -e "image_scan_baseline=$REPORTS/tcss/report.json" -e "$exceptions"
"$EMULATOR_PYTHON" - "$REPORTS/tcss-delta/report.json" "$LAST_LOG" <<'PY' || status=1
import json, re, sys
report = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
for warning in sorted(set(re.findall(r"exception \d+ \([^)]*\) expired on [0-9-]+[^\n]*", log))):
    print("  warning: " + warning)
shown = 0
for host in report["hosts"]:
    for image in host["images"]:
        for finding in image.get("findings") or []:
            mark = finding.get("suppressed")
            if mark and shown < 3:
                shown += 1
                print("  suppressed on %s: %s in %s:%s (%s, owner %s, until %s)" % (
                    host["name"], finding["id"], image["name"], image["version"], mark["reason"], mark["owner"],
                    mark["until"]))
new = set()
for host in report["hosts"]:
    for image in host["images"]:
        for finding in image.get("findings") or []:
            if finding.get("baseline") == "new":
                new.add("%s in %s:%s" % (finding["id"], image["name"], image["version"]))
print("  new since the first run: %s" % (", ".join(sorted(new)) or "nothing"))
if not shown or not new:
    sys.exit("the third run showed no exception or no delta")
PY
stop_emulator
exit "$status"
