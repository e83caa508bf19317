#!/usr/bin/env bash
# tcss_image_scan against the emulator: bad input, plan, check mode, trigger, wait, idempotence,
# force, batches, a scan already running, two concurrent jobs sharing images, and no secret in
# -vvvv output.
# Faults, time-outs and stops are in module_tcss_image_scan_faults.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json
WORK="$(mktemp -d)"

start_emulator --scan-seconds 1
ansible-playbook -i inventory main.yml "$@"

# Nothing secret in the most verbose output, for a successful and a failed call.
ansible-playbook -i inventory verbose.yml -vvvv > "$WORK/verbose.log" 2>&1
grep -q "tcss_image_scan" "$WORK/verbose.log"
grep -q "ResourceNotFound" "$WORK/verbose.log"
if grep -F -e "$EMULATOR_TCSS_KEY" -e "$EMULATOR_HSS_SK" "$WORK/verbose.log"; then
    echo "a secret appears in the -vvvv output" >&2
    exit 1
fi

# The realism pass (every profile, setup_emulator) ends here. running.yml expects a second
# request to see the first one's task and follow it; under lag that task is hidden for a while
# (T1 then answers ErrAlreadyScanning) and how long the window lasts depends on the machine's
# load: a friendly-model play. The plays after it name their own profiles: they run once.
if emulator_realism_pass; then exit 0; fi

# Scans long enough for a second request to arrive while the first one runs, also on a loaded
# machine, where starting the module of the next task can take several seconds.
stop_emulator
start_emulator --scan-seconds 20
ansible-playbook -i inventory running.yml "$@"

# New tasks shown late (ResourceNotFound at first) and images without a licence.
stop_emulator
start_emulator --scan-seconds 1 --realism lag,licences --lag-seconds 3
ansible-playbook -i inventory realism.yml "$@"

# Two jobs at once whose images overlap, against one emulator that scans images two seconds each,
# two at a time, shows new tasks late and has images without a licence: each image is scanned once.
stop_emulator
start_emulator --image-seconds 2 --scan-parallelism 2 --realism lag,licences --lag-seconds 6
ansible-playbook -i inventory concurrent.yml -e job=first -e "out=$WORK/first.json" "$@" &
first=$!
ansible-playbook -i inventory concurrent.yml -e job=second -e "out=$WORK/second.json" "$@" &
second=$!
wait "$first"
wait "$second"
ansible-playbook -i inventory concurrent_check.yml -e "first=$WORK/first.json" -e "second=$WORK/second.json" "$@"

# The cloud's clock runs ahead.
stop_emulator
start_emulator --scan-seconds 1 --realism skew
ansible-playbook -i inventory skew.yml "$@"
