#!/usr/bin/env bash
# A sliced job as AWX runs one: the inventory sorted by name, slice k of 4 gets the hosts
# k-1, k+3, ..., and the 4 slices run at once as separate ansible-playbook processes against one
# cloud, with the workflow job id they share and a job id each. Then one unsliced run of the same
# inventory on a reset emulator. check.py compares the verdicts, what the emulator scanned and
# the reports merged by playbooks/merge_reports.yml with the unsliced run's.
set -eux

source ../setup_emulator/files/emulator.sh
PY="$EMULATOR_PYTHON"
WORK="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$WORK"' EXIT
SLICES=4
checks_failed=0

# rc 2 means some hosts failed the gate, which the checks expect.
scan() {
    local log="$1"; shift
    set +e
    ansible-playbook -i "${INVENTORY:-inventory.yml}" scan.yml "$@" > "$log" 2>&1
    local rc=$?
    set -e
    echo "$rc" > "$log.rc"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]
}

# The hosts of slice k (0-based) of an inventory, as AWX slices it.
slice_hosts() {
    "$PY" -c 'import sys, yaml
k, n = int(sys.argv[1]), int(sys.argv[2])
hosts = sorted(yaml.safe_load(open(sys.argv[3]))["all"]["hosts"])
print(",".join(hosts[k::n]))' "$1" "$SLICES" "$2"
}

# The slices of one job, started together; every slice must end (rc 0 or 2) before the checks.
sliced_job() {
    local prefix="$1" inventory="$2"; shift 2
    local pids=() k
    for k in $(seq 0 $((SLICES - 1))); do
        INVENTORY="$inventory" scan "$prefix-$k.log" --limit "$(slice_hosts "$k" "$inventory")" \
            -e awx_workflow_job_id=700 -e awx_job_id=$((701 + k)) "$@" &
        pids+=($!)
    done
    local failed=0
    for k in "${!pids[@]}"; do
        wait "${pids[$k]}" || failed=1
        cat "$prefix-$k.log"
    done
    [ "$failed" -eq 0 ]
}

# A fleet of 1000 hosts with 6 images each (2 from a pool of shared base images, so the slices
# meet on the same images); the play is 12 hosts of it (check.py inventory), each slice 3 of them.
LARGE=1000
fleet=(--generate-hosts "$LARGE" --images-per-host 6)
start_emulator "${fleet[@]}" --image-seconds 0.05 --scan-parallelism 8
"$PY" check.py inventory --fleet "$LARGE" > "$WORK/inventory-$LARGE.yml"
cat "$WORK/inventory-$LARGE.yml"

for provider in hss tcss; do
    # On HSS the slices take turns to look and trigger on one lock file of the account, in the
    # directory they share.
    common=(-e image_scan_provider="$provider" -e image_scan_fail_on=high -e image_scan_findings=true
            -e image_scan_wait_sleep=1 -e image_scan_show_summary=false -e image_scan_lock_dir="$WORK/locks")

    # What the slices list, alone: in check mode the role lists and plans, and scans nothing.
    emulator_admin POST reset
    sliced_job "$WORK/$provider-check" "$WORK/inventory-$LARGE.yml" "${common[@]}" --check
    emulator_admin GET stats > "$WORK/$provider-check-stats.json"

    emulator_admin POST reset
    started=$SECONDS
    sliced_job "$WORK/$provider-slice" "$WORK/inventory-$LARGE.yml" "${common[@]}" \
        -e image_scan_report_dir="$WORK/$provider-slices"
    echo "$provider: 4 slices took $((SECONDS - started)) s"
    if [ "$provider" = hss ]; then
        [ "$(find "$WORK/locks" -name 'trigger-*.lock' | wc -l)" -eq 1 ] || { echo "no lock file of the account"; exit 1; }
    fi
    emulator_admin GET stats > "$WORK/$provider-sliced-stats.json"
    emulator_admin GET scans > "$WORK/$provider-sliced-scans.json"
    (cd "$WORK" && ansible-playbook cloudsec.image_scan.merge_reports -e merge_reports_dir="$provider-slices" \
        -e merge_reports_dest="$provider-merged" > "$WORK/$provider-merge.log" 2>&1) || { cat "$WORK/$provider-merge.log"; exit 1; }

    emulator_admin POST reset
    started=$SECONDS
    INVENTORY="$WORK/inventory-$LARGE.yml" scan "$WORK/$provider-whole.log" "${common[@]}" -e awx_workflow_job_id=800 \
        -e image_scan_report_dir="$WORK/$provider-whole"
    cat "$WORK/$provider-whole.log"
    echo "$provider: the unsliced job took $((SECONDS - started)) s"
    emulator_admin GET stats > "$WORK/$provider-whole-stats.json"
    emulator_admin GET scans > "$WORK/$provider-whole-scans.json"

    "$PY" check.py job --provider "$provider" --inventory "$WORK/inventory-$LARGE.yml" --slices "$SLICES" \
        --slice-logs "$WORK/$provider-slice" --slice-reports "$WORK/$provider-slices" --job-ids 701 702 703 704 \
        --merged "$WORK/$provider-merged" --whole "$WORK/$provider-whole" --whole-log "$WORK/$provider-whole.log" \
        --sliced-stats "$WORK/$provider-sliced-stats.json" --sliced-scans "$WORK/$provider-sliced-scans.json" \
        --whole-stats "$WORK/$provider-whole-stats.json" --whole-scans "$WORK/$provider-whole-scans.json" || checks_failed=1
done

# The scale check on API calls, for a sliced job: the same slices (the same host numbers, in
# check mode) against a fleet five times smaller list about as much. Each slice pays for its own
# hosts, not for the fleet.
SMALL=200
stop_emulator
start_emulator --generate-hosts "$SMALL" --images-per-host 6
"$PY" check.py inventory --fleet "$SMALL" > "$WORK/inventory-$SMALL.yml"
for provider in hss tcss; do
    emulator_admin POST reset
    sliced_job "$WORK/$provider-small-check" "$WORK/inventory-$SMALL.yml" -e image_scan_provider="$provider" \
        -e image_scan_fail_on=high -e image_scan_show_summary=false --check
    emulator_admin GET stats > "$WORK/$provider-small-check-stats.json"
    "$PY" check.py scale --provider "$provider" --small "$WORK/$provider-small-check-stats.json" --small-fleet "$SMALL" \
        --large "$WORK/$provider-check-stats.json" --large-fleet "$LARGE" --slices "$SLICES" || checks_failed=1
done
# Every check ran; any that failed fails the target.
[ "$checks_failed" -eq 0 ]
