#!/usr/bin/env bash
# tcss_image_scan against the emulator when things go wrong: throttling at HTTP 200, server
# errors, connections reset after the task was created and garbled answers never start a second
# task for one intent; a wait that times out returns the task; stop.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

start_emulator --scan-seconds 1
ansible-playbook -i inventory faults.yml "$@"

# Long scans: a scan already running is followed, a wait that times out returns the task, and
# the task can be stopped.
stop_emulator
start_emulator --scan-seconds 60
ansible-playbook -i inventory slow.yml "$@"
