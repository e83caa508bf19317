#!/usr/bin/env bash
# The image_scan role over a multi-host inventory, for each provider, against the emulator.
set -eux

source ../setup_emulator/files/emulator.sh
PY="$EMULATOR_PYTHON"
WORK="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$WORK"' EXIT
export ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION="$WORK/facts"
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

# Runs the scan playbook; rc 2 means some hosts failed the gate, which the checks expect.
scan() {
    local log="$1"; shift
    set +e
    ansible-playbook -i "${INVENTORY:-inventory.yml}" scan.yml "$@" > "$log" 2>&1
    local rc=$?
    set -e
    cat "$log"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]
}

start_emulator --scan-seconds 2
"$PY" "$(dirname "$(_emulator_serve_py)")/serve.py" --dump-data > "$WORK/dataset.json"
# The emulator's own view of what it will scan: under the licences realism profile (the realism
# pass of make integration) some images cannot be scanned, and the checks expect them listed.
emulator_admin GET scans > "$WORK/scans.json"

# The HTML report is checked in a real browser: chromium must be there (`make browser`).
command -v chromium || { echo "chromium is not installed: run 'make browser' (apt-get install chromium)" >&2; exit 1; }

for provider in hss tcss; do
    rm -rf "$WORK/facts"
    emulator_admin POST reset
    scan "$WORK/$provider-1.log" -e image_scan_provider="$provider" -e image_scan_fail_on=high \
        -e image_scan_findings=true -e image_scan_wait_sleep=1 -e image_scan_report_dir="$WORK/reports-$provider"
    emulator_admin GET stats > "$WORK/$provider-stats-1.json"
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$provider-facts.json"
    "$PY" check.py facts --provider "$provider" --facts "$WORK/$provider-facts.json" --dataset "$WORK/dataset.json" \
        --log "$WORK/$provider-1.log" --inventory inventory.yml --fail-on high --builtin --scans "$WORK/scans.json"
    "$PY" check.py progress --provider "$provider" --log "$WORK/$provider-1.log"
    "$PY" check.py onetask --log "$WORK/$provider-1.log" --inventory inventory.yml --role cloudsec.image_scan.image_scan \
        --task "Leave each host its image_scan fact and fail the hosts the gate does not pass"
    "$PY" check.py reports --provider "$provider" --dir "$WORK/reports-$provider" --facts "$WORK/$provider-facts.json" \
        --log "$WORK/$provider-1.log" --inventory inventory.yml --fail-on high
    # The DOM chromium builds, for both clouds; a screenshot (a PNG of the right size) once.
    # (Once: the realism pass checks the same reports without a browser.)
    if ! emulator_realism_pass; then
        shot=()
        if [ "$provider" = tcss ]; then shot=(--screenshot "$WORK/reports-$provider/report.png"); fi
        "$PY" check.py browser --provider "$provider" --html "$WORK/reports-$provider/report.html" \
            --facts "$WORK/$provider-facts.json" --log "$WORK/$provider-1.log" --inventory inventory.yml "${shot[@]}"
    fi

    # Second run: nothing to scan again.
    scan "$WORK/$provider-2.log" -e image_scan_provider="$provider" -e image_scan_fail_on=high \
        -e image_scan_findings=true -e image_scan_wait_sleep=1
    emulator_admin GET stats > "$WORK/$provider-stats-2.json"
    if grep -q "report\.json" "$WORK/$provider-2.log"; then echo "reports written without image_scan_report_dir" >&2; exit 1; fi
    "$PY" check.py rerun --provider "$provider" --log "$WORK/$provider-2.log" \
        --before "$WORK/$provider-stats-1.json" --after "$WORK/$provider-stats-2.json"

    # The severity gate off: the hosts with images never scanned successfully still fail...
    scan "$WORK/$provider-3.log" -e image_scan_provider="$provider" -e image_scan_fail_on=none -e image_scan_findings=true
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$provider-facts-3.json"
    "$PY" check.py facts --provider "$provider" --facts "$WORK/$provider-facts-3.json" --dataset "$WORK/dataset.json" \
        --log "$WORK/$provider-3.log" --inventory inventory.yml --fail-on none --builtin --scans "$WORK/scans.json"
    # The default gate (critical): a critical finding (log4shell) fails its host on HSS as on TCSS.
    # HSS rates images High at most, so there the role reads the findings; TCSS counts suffice.
    scan "$WORK/$provider-default.log" -e image_scan_provider="$provider"
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$provider-facts-default.json"
    findings=optional
    if [ "$provider" = hss ]; then findings=required; fi
    "$PY" check.py facts --provider "$provider" --facts "$WORK/$provider-facts-default.json" --dataset "$WORK/dataset.json" \
        --log "$WORK/$provider-default.log" --inventory inventory.yml --fail-on critical --builtin --findings "$findings" \
        --scans "$WORK/scans.json"
    # ...unless incomplete hosts are only reported: then every host passes, and the play succeeds.
    ansible-playbook -i inventory.yml scan.yml -e image_scan_provider="$provider" -e image_scan_fail_on=none \
        -e image_scan_fail_on_incomplete=false

    # Only hosts the cloud does not know: nothing to scan or collect, and the play succeeds.
    ansible-playbook -i ghosts.yml scan.yml -e image_scan_provider="$provider"
    ansible-playbook -i ghosts.yml dump.yml -e dump_path="$WORK/$provider-ghosts.json"
    "$PY" -c 'import json, sys
facts = json.load(open(sys.argv[1]))
assert sorted(facts) == ["build-agent-7", "node-21"], facts
assert all(f["status"] == "not_enrolled" and f["passed"] and f["images"] == [] for f in facts.values()), facts
print("ghosts: all checks passed")' "$WORK/$provider-ghosts.json"
done

# Bad role arguments fail the play at the one check of the play, naming the option, before any cloud call.
emulator_admin GET stats > "$WORK/badargs-0.json"
set +e
ansible-playbook -i inventory.yml scan.yml -e image_scan_provider=aws > "$WORK/badargs.log" 2>&1
rc=$?
set -e
cat "$WORK/badargs.log"
[ "$rc" -ne 0 ]
emulator_admin GET stats > "$WORK/badargs-1.json"
"$PY" check.py badargs --log "$WORK/badargs.log" --before "$WORK/badargs-0.json" --after "$WORK/badargs-1.json" \
    --option image_scan_provider --allowed "hss, tcss" --role cloudsec.image_scan.image_scan --inventory inventory.yml

# Exceptions (one active, one expired, from a file), a threshold, and the first run's report.json
# as the baseline, on a changed dataset: nginx:1.25 lost a vulnerability, redis:7.2 gained one.
"$PY" check.py change --dataset "$WORK/dataset.json" > "$WORK/dataset-2.json"
stop_emulator
start_emulator --scan-seconds 1 --data "$WORK/dataset-2.json"
for provider in hss tcss; do
    rm -rf "$WORK/facts"
    scan "$WORK/$provider-gate.log" -e image_scan_provider="$provider" -e @gate_vars.yml -e image_scan_wait_sleep=1 \
        -e image_scan_baseline="$WORK/reports-$provider/report.json" -e image_scan_report_dir="$WORK/reports-$provider-2"
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$provider-gate.json"
    "$PY" check.py gate --provider "$provider" --facts "$WORK/$provider-gate.json" --dataset "$WORK/dataset-2.json" \
        --before "$WORK/dataset.json" --log "$WORK/$provider-gate.log" --inventory inventory.yml --fail-on critical \
        --dir "$WORK/reports-$provider-2" --scans "$WORK/scans.json"

    # The cost guard stops a run before any trigger; check mode says what it would scan and triggers nothing.
    emulator_admin POST reset
    emulator_admin GET stats > "$WORK/$provider-guard-0.json"
    scan "$WORK/$provider-guard.log" -e image_scan_provider="$provider" -e image_scan_max_images=3
    emulator_admin GET stats > "$WORK/$provider-guard-1.json"
    scan "$WORK/$provider-check.log" -e image_scan_provider="$provider" --check
    emulator_admin GET stats > "$WORK/$provider-guard-2.json"
    # A malformed exception fails the play before any cloud call, naming the entry and the field.
    scan "$WORK/$provider-malformed.log" -e image_scan_provider="$provider" \
        -e '{"image_scan_exceptions": [{"id": "CVE-2023-45853", "reason": "no expiry"}]}'
    emulator_admin GET stats > "$WORK/$provider-guard-3.json"
    "$PY" check.py guard --provider "$provider" --log "$WORK/$provider-guard.log" --check-log "$WORK/$provider-check.log" \
        --before "$WORK/$provider-guard-0.json" --after "$WORK/$provider-guard-1.json" \
        --after-check "$WORK/$provider-guard-2.json" --max-images 3 \
        --malformed-log "$WORK/$provider-malformed.log" --after-malformed "$WORK/$provider-guard-3.json"
done

# A cloud call that fails (no retries): the hosts it concerns are not judged, the facts and the
# reports say why, and image_scan_on_error decides whether they fail. HSS: the image listing (the
# scan task lists the images itself); TCSS: the scan trigger, and the collection of the findings
# after the scan (the hosts' images are known then, their results are not).
for case in "hss hss.ListImageLocal fail Scan false" "tcss tcss.CreateAssetImageScanTask warn Scan false" \
        "tcss tcss.DescribeAssetImageVulList fail Collect true"; do
    read -r provider op on_error task findings <<< "$case"
    rm -rf "$WORK/facts"
    emulator_admin POST reset
    emulator_admin POST faults "{\"server_error\": {\"p\": 1, \"ops\": [\"$op\"], \"status\": 500}}"
    set +e
    ansible-playbook -i inventory.yml errors.yml -e image_scan_provider="$provider" -e image_scan_on_error="$on_error" \
        -e image_scan_findings="$findings" -e image_scan_wait_sleep=1 \
        -e image_scan_report_dir="$WORK/reports-$provider-errors" > "$WORK/$provider-errors.log" 2>&1
    rc=$?
    set -e
    cat "$WORK/$provider-errors.log"
    if [ "$on_error" = warn ]; then [ "$rc" -eq 0 ]; else [ "$rc" -eq 2 ]; fi
    emulator_admin GET stats > "$WORK/$provider-errors-stats.json"
    emulator_admin POST faults '{}'
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$provider-errors.json"
    "$PY" check.py errors --provider "$provider" --facts "$WORK/$provider-errors.json" --log "$WORK/$provider-errors.log" \
        --inventory inventory.yml --on-error "$on_error" --task "$task" --error 500 --dir "$WORK/reports-$provider-errors" \
        --stats "$WORK/$provider-errors-stats.json" --op "$op"
done

# A host that failed before the role stays failed when a cloud call of the role fails: the role
# goes on for the other hosts (image_scan_on_error=warn) and the play still ends with rc 2.
for case in "hss hss.ListImageLocal" "tcss tcss.DescribeAssetImageVulList"; do
    read -r provider op <<< "$case"
    emulator_admin POST reset
    emulator_admin POST faults "{\"server_error\": {\"p\": 1, \"ops\": [\"$op\"], \"status\": 500}}"
    set +e
    ansible-playbook -i inventory.yml earlier.yml -e image_scan_provider="$provider" -e image_scan_on_error=warn \
        -e image_scan_fail_on=none -e image_scan_findings=true -e image_scan_wait_sleep=1 > "$WORK/$provider-earlier.log" 2>&1
    rc=$?
    set -e
    cat "$WORK/$provider-earlier.log"
    emulator_admin GET stats > "$WORK/$provider-earlier-stats.json"
    emulator_admin POST faults '{}'
    "$PY" check.py earlier --provider "$provider" --log "$WORK/$provider-earlier.log" --inventory inventory.yml \
        --stats "$WORK/$provider-earlier-stats.json" --op "$op" --rc "$rc"
done

# A wait that runs out: scans take a minute, the role waits 3 seconds. The pending images are
# incomplete, their reason names the task to resume with, and the reports are written.
stop_emulator
start_emulator --scan-seconds 60
for provider in hss tcss; do
    rm -rf "$WORK/facts"
    scan "$WORK/$provider-timeout.log" -e image_scan_provider="$provider" -e image_scan_wait_timeout=3 \
        -e image_scan_wait_sleep=1 -e image_scan_report_dir="$WORK/reports-$provider-timeout"
    emulator_admin GET dataset > "$WORK/$provider-timeout-state.json"
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$provider-timeout.json"
    "$PY" check.py timeout --provider "$provider" --facts "$WORK/$provider-timeout.json" --log "$WORK/$provider-timeout.log" \
        --state "$WORK/$provider-timeout-state.json" --dir "$WORK/reports-$provider-timeout"
done

# The friendly model only: under the pages realism profile one DescribeAssetImageHostList answer
# holds 20 pairs, so the pair listing is narrowed by host and its calls grow with the fleet's
# pairs. The realism pass (setup_emulator) ends here.
if emulator_realism_pass; then exit 0; fi

# API calls grow with images and page size, not with hosts: the same fleet seen through a
# small and a large inventory costs the same number of list calls.
stop_emulator
start_emulator --scan-seconds 1 --generate-hosts 120 --images-per-host 3
for size in 10 120; do
    "$PY" check.py inventory --hosts "$size" --width 3 > "$WORK/inventory-$size.yml"
    for provider in hss tcss; do
        emulator_admin POST reset
        INVENTORY="$WORK/inventory-$size.yml" scan "$WORK/scale-$provider-$size.log" \
            -e image_scan_provider="$provider" -e image_scan_fail_on=none -e image_scan_wait_sleep=1 \
            -e image_scan_show_summary=false
        emulator_admin GET stats > "$WORK/scale-$provider-$size.json"
    done
done
for provider in hss tcss; do
    "$PY" check.py scale --provider "$provider" --small "$WORK/scale-$provider-10.json" \
        --large "$WORK/scale-$provider-120.json"
done
