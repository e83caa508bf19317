#!/usr/bin/env bash
# The integration step of `make integration` when no TARGETS are given: the two passes (every
# target against the emulator as each target starts it; REALISM_TARGETS again with every realism
# profile on) split into groups that run at the same time, each in its own copy of the collection
# tree, so that targets which mostly wait for emulated scans overlap.
#
#   tools/integration.sh TREE GROUP...
#
# GROUP is pass:target,target,... with pass "default" or "realism"; the default-pass targets no
# group names form one more group. Environment: ANSIBLE_TEST (the ansible-test integration
# command), REALISM and REALISM_LAG_SECONDS (the realism pass's emulator settings). Each group's
# output is in build/integration/<n>-<pass>.log and printed when the group ends; the last line is
# "integration: N groups passed, N failed".
set -uo pipefail

TREE="${1:?tree}"
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/build/integration"
rm -rf "$OUT" && mkdir -p "$OUT"

all=$(cd "$TREE/tests/integration/targets" && find . -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' \
    -printf '%f\n' | sort)
named=" "
groups=()
for group in "$@"; do
    groups+=("$group")
    if [ "${group%%:*}" = default ]; then
        named="$named$(echo "${group#*:}" | tr ',' ' ') "
    fi
done
rest=""
for target in $all; do
    case "$named" in *" $target "*) ;; *) rest="$rest${rest:+,}$target" ;; esac
done
[ -n "$rest" ] && groups+=("default:$rest")

run_group() {  # run_group N PASS TARGETS
    local n="$1" pass="$2" targets="$3" copy="$OUT/$1-$2/collections"
    local tree="$copy/ansible_collections/cloudsec/image_scan"
    mkdir -p "$(dirname "$tree")" && cp -a "$TREE" "$tree"
    rm -rf "$tree/tests/output"
    rm -f "$tree/tests/integration/integration_config.yml"
    if [ "$pass" = realism ]; then
        printf 'emulator_realism: "%s"\nemulator_lag_seconds: %s\n' "$REALISM" "$REALISM_LAG_SECONDS" \
            > "$tree/tests/integration/integration_config.yml"
    fi
    # ANSIBLE_TEST may start with VAR=value words (PATH=...): env takes them as assignments.
    # shellcheck disable=SC2086
    cd "$tree" && env ANSIBLE_COLLECTIONS_PATH="$copy" PYTHONPATH="$copy" \
        $ANSIBLE_TEST $(echo "$targets" | tr ',' ' ')
}

# ansible-test makes its SSH key pair (~/.ansible/test/id_rsa) the first time it runs. Groups that
# start at once on a new machine would each make it: the one that finds the other's half-written
# pair fails ("id_rsa already exists. Overwrite (y/n)?"). Make it once here, as ansible-test does.
ssh_key="$HOME/.ansible/test/id_rsa"
if [ ! -f "$ssh_key" ] || [ ! -f "$ssh_key.pub" ]; then
    mkdir -p "$(dirname "$ssh_key")" && rm -f "$ssh_key" "$ssh_key.pub"
    ssh-keygen -m PEM -q -t rsa -N '' -f "$ssh_key" &&
        sed -i -E 's/(BEGIN|END) PRIVATE KEY/\1 RSA PRIVATE KEY/' "$ssh_key" ||
        echo "integration: could not make $ssh_key; ansible-test will try"
fi

pids=()
logs=()
n=0
for group in "${groups[@]}"; do
    n=$((n + 1))
    pass="${group%%:*}"
    targets="${group#*:}"
    log="$OUT/$n-$pass.log"
    echo "== integration group $n ($pass pass): ${targets//,/ }"
    run_group "$n" "$pass" "$targets" > "$log" 2>&1 &
    pids+=($!)
    logs+=("$log:$pass:$targets")
done

passed=0
failed=0
summary=()
for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    rc=$?
    IFS=: read -r log pass targets <<< "${logs[$i]}"
    echo "== integration group $((i + 1)) ($pass pass, exit $rc): ${targets//,/ }"
    cat "$log"
    if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    summary+=("group $((i + 1)) ($pass): $([ "$rc" -eq 0 ] && echo passed || echo "FAILED, see $log")")
done
# What failed, again at the end (the logs above are long): ansible-test's errors and fatal errors, the checks'
# problems (a check that is expected to catch a planted fault prints some too).
for i in "${!pids[@]}"; do
    IFS=: read -r log pass targets <<< "${logs[$i]}"
    case "${summary[$i]}" in *FAILED*) ;; *) continue ;; esac
    echo "== integration group $((i + 1)) ($pass pass) failed; what it reported:"
    awk '/^(ERROR|FATAL):|problem\(s\)$/ { print; keep = /problem\(s\)$/; next }
         keep && /^  - / { print; next } { keep = 0 }' "$log" | tail -n 60
done
printf 'integration: %s\n' "${summary[@]}"
echo "integration: $passed groups passed, $failed failed"
[ "$failed" -eq 0 ]
