#!/usr/bin/env bash
# hss_host_info, hss_image_info and hss_image_scan_task_info against the emulator.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

start_emulator --scan-seconds 1
ansible-playbook -i inventory main.yml "$@"
ansible-playbook -i inventory main.yml --check "$@"
