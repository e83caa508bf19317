#!/usr/bin/env bash
# tcss_host_info, tcss_image_info and tcss_image_scan_task_info against the emulator: the
# emulator's own view of its dataset is the expected answer.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

start_emulator --scan-seconds 1
ansible-playbook -i inventory main.yml "$@"
