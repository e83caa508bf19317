#!/usr/bin/env bash
# playbooks/scan_images.yml run by ansible-runner the way AWX runs a job: a private data directory
# per job, the collection installed from its built tarball, credentials only in env/envvars (what
# the credential types of docs/awx inject), then checks of the runner's artifacts.
set -eux

source ../setup_emulator/files/emulator.sh
PY="$EMULATOR_PYTHON"
WORK="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$WORK"' EXIT

start_emulator --scan-seconds 1
SOURCE="$(dirname "$(dirname "$(dirname "$(_emulator_serve_py)")")")"
"$PY" "$SOURCE/tests/emulator/serve.py" --dump-data > "$WORK/dataset.json"

# The collection as a user gets it: built, then installed from the tarball.
ansible-galaxy collection build "$SOURCE" --output-path "$WORK/dist"
tarball="$(echo "$WORK"/dist/cloudsec-image_scan-*.tar.gz)"
test -f "$tarball"

# The job sees no credential, nor the collection's source, from this shell: only what the
# private data directory gives it.
job_env=(-u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS)
for name in $(compgen -e); do
    case "$name" in
        HUAWEICLOUD_*|TENCENTCLOUD_*|CLOUD_SDK_*|EMULATOR_*) job_env+=(-u "$name") ;;
    esac
done

for provider in hss tcss; do
    emulator_admin POST reset
    pdd="$(mktemp -d "$WORK/job-$provider-XXXXXX")"
    # AWX installs a project's collection requirements into the private data directory.
    ANSIBLE_COLLECTIONS_PATH="$pdd/requirements_collections" \
        ansible-galaxy collection install -p "$pdd/requirements_collections" "$tarball"
    "$PY" prepare.py "$pdd" --provider "$provider" --inventory inventory.yml \
        --collection "$pdd/requirements_collections/ansible_collections/cloudsec/image_scan"

    env "${job_env[@]}" ansible-runner run "$pdd" --playbook scan_images.yml --ident "$provider"

    "$PY" check.py job --dir "$pdd" --ident "$provider" --provider "$provider" --dataset "$WORK/dataset.json" \
        --inventory inventory.yml --galaxy "$SOURCE/galaxy.yml"
    "$PY" check.py selfcheck --dir "$pdd" --ident "$provider" --provider "$provider" \
        --dataset "$WORK/dataset.json" --inventory inventory.yml
    # ansible-runner writes the job's environment, credentials included, into
    # artifacts/<ident>/command and has no setting against it (the job check above proved that
    # file is the only place): hide the injected values there, then no file may hold a key.
    "$PY" check.py redact --dir "$pdd" --ident "$provider"
    "$PY" check.py scan "$pdd/artifacts"
done
