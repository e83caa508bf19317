#!/usr/bin/env bash
# Reports of a sliced job: each slice (its own run, as AWX runs the slices of a sliced job, with
# its own awx_job_id) writes report-<job id>.*; playbooks/merge_reports.yml merges them into the
# reports of the whole job, which must equal those of one unsliced run.
set -eux

source ../setup_emulator/files/emulator.sh
PY="$EMULATOR_PYTHON"
WORK="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$WORK"' EXIT

# rc 2 means some hosts failed the gate, which the checks expect.
scan() {
    local log="$1"; shift
    set +e
    ansible-playbook -i inventory.yml scan.yml "$@" > "$log" 2>&1
    local rc=$?
    set -e
    cat "$log"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]
}

start_emulator --scan-seconds 1
HOSTS=($("$PY" -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["all"]["hosts"]))' inventory.yml))
SLICES=3

# The merge does not depend on the cloud: one provider is enough here.
for provider in tcss; do
    emulator_admin POST reset
    common=(-e image_scan_provider="$provider" -e image_scan_fail_on=high -e image_scan_findings=true -e image_scan_wait_sleep=1)
    scan "$WORK/$provider-whole.log" "${common[@]}" -e image_scan_report_dir="$WORK/$provider-whole"
    # Slice k of n gets the hosts k-1, k-1+n, ... of the inventory, as AWX slices it; job ids
    # of different lengths check that the merge orders the slices by number.
    for k in $(seq 0 $((SLICES - 1))); do
        limit="$("$PY" -c 'import sys; k, n = int(sys.argv[1]), int(sys.argv[2]); print(",".join(sys.argv[3:][k::n]))' \
            "$k" "$SLICES" "${HOSTS[@]}")"
        scan "$WORK/$provider-slice-$k.log" "${common[@]}" -e image_scan_report_dir="$WORK/$provider-slices" \
            -e awx_job_id=$((98 + k * 2)) --limit "$limit"
    done
    (cd "$WORK" && ansible-playbook cloudsec.image_scan.merge_reports -e merge_reports_dir="$provider-slices" \
        -e merge_reports_dest="$provider-merged" | tee "$WORK/$provider-merge.log")
    "$PY" check.py --slices "$WORK/$provider-slices" --whole "$WORK/$provider-whole" --merged "$WORK/$provider-merged" \
        --job-ids 98 100 102 --merge-log "$WORK/$provider-merge.log"
done
