#!/usr/bin/env bash
# hss_image_scan against the emulator: plan, trigger, wait, idempotence, check mode, stop,
# wait time-out, bad input, injected faults, and no secret in -vvvv output.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json
WORK="$(mktemp -d)"

start_emulator --scan-seconds 1
ansible-playbook -i inventory main.yml "$@"
ansible-playbook -i inventory faults.yml "$@"

# Nothing secret in the most verbose output, for a successful and a failed call.
ansible-playbook -i inventory verbose.yml -vvvv > "$WORK/verbose.log" 2>&1
grep -q "hss_image_scan" "$WORK/verbose.log"
if grep -F -e "$EMULATOR_HSS_SK" -e "$EMULATOR_TCSS_KEY" "$WORK/verbose.log"; then
    echo "a secret appears in the -vvvv output" >&2
    exit 1
fi

# Long scans: a wait that times out returns the task, which can then be stopped.
stop_emulator
start_emulator --scan-seconds 60
ansible-playbook -i inventory slow.yml "$@"
