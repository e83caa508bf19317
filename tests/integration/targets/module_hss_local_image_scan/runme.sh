#!/usr/bin/env bash
# hss_local_image_scan against the emulator: by host, by image id in batches, idempotence,
# check mode, bad input, injected faults, and a wait time-out that a second run resumes.
set -eux

source ../setup_emulator/files/emulator.sh
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

start_emulator --scan-seconds 1
ansible-playbook -i inventory main.yml "$@"
ansible-playbook -i inventory faults.yml "$@"

stop_emulator
start_emulator --scan-seconds 60
ansible-playbook -i inventory slow.yml "$@"

# One profile at a time. The realism pass (every profile, setup_emulator) has run the plays
# above under all of them already, and these name their own profile: they run once.
if emulator_realism_pass; then exit 0; fi

stop_emulator
start_emulator --scan-seconds 1 --realism licences
ansible-playbook -i inventory realism.yml "$@"

stop_emulator
start_emulator --scan-seconds 1 --realism lag --lag-seconds 4
ansible-playbook -i inventory lag.yml "$@"
