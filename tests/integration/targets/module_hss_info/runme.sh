#!/usr/bin/env bash
# hss_host_info, hss_image_info and hss_image_scan_task_info against the emulator.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

start_emulator --scan-seconds 1
ansible-playbook -i inventory main.yml "$@"
ansible-playbook -i inventory main.yml --check "$@"

# Few play hosts of a large fleet whose name filters match only whole names, with case (realism
# profile names, with the pass's own profiles): a name in other case is found as a walk finds it.
stop_emulator
start_emulator --generate-hosts 1000 --images-per-host 1 --realism "${EMULATOR_REALISM:+$EMULATOR_REALISM,}names"
ansible-playbook -i inventory match_hosts.yml "$@"
