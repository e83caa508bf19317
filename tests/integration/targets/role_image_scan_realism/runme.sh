#!/usr/bin/env bash
# The image_scan role under each realism profile alone (and all of them), for each provider:
# every host's verdict is checked against the emulator's own state (check.py).
#
# REALISM_CELLS selects the cells: unset runs CELLS_PASSING; "all" runs every cell
# (CELLS_PASSING and CELLS_FAILING); else a space-separated list such as "hss/lag tcss/all".
# ansible-test does not pass it through to this script: run the script itself in the tree copy,
#   make tree && cd build/collections/ansible_collections/cloudsec/image_scan/tests/integration/targets/role_image_scan_realism
#   REALISM_CELLS=all ANSIBLE_COLLECTIONS_PATH=$PWD/../../../../../../.. PATH=$VENV/bin:$PATH bash runme.sh
set -eux

source ../setup_emulator/files/emulator.sh
PY="$EMULATOR_PYTHON"
# REALISM_WORK_DIR keeps every cell's log, emulator views, facts and problems there.
WORK="${REALISM_WORK_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"
export ANSIBLE_CACHE_PLUGIN=jsonfile
export ANSIBLE_CALLBACK_RESULT_FORMAT=json

PROFILES="none lag unordered skew vocabulary licences pages all"

# Cells the modules do not hold up in yet, each with the defect it shows. They run with
# REALISM_CELLS=all (or by name) and must move to CELLS_PASSING once the modules are fixed.
CELLS_FAILING=(
)

CELLS_ALL=()
for provider in hss tcss; do
    for profile in $PROFILES; do
        CELLS_ALL+=("$provider/$profile")
    done
done
CELLS_PASSING=()
for cell in "${CELLS_ALL[@]}"; do
    case " ${CELLS_FAILING[*]} " in
        *" $cell "*) ;;
        *) CELLS_PASSING+=("$cell") ;;
    esac
done

case "${REALISM_CELLS:-}" in
    "") CELLS=("${CELLS_PASSING[@]}") ;;
    all) CELLS=("${CELLS_ALL[@]}") ;;
    *) read -r -a CELLS <<< "$REALISM_CELLS" ;;
esac

# Scans take 0.1 s per image, four at a time; a trigger's effect shows 4 s late under lag
# (longer than the role takes from its trigger to its first wait).
start_emulator --image-seconds 0.1 --scan-parallelism 4 --lag-seconds 4
if [ -z "${REALISM_WORK_DIR:-}" ]; then trap 'stop_emulator; rm -rf "$WORK"' EXIT; fi

# One cell: the role from a reset emulator under profile $2 (cell name $3, more ansible-playbook
# options after), judged by check.py. Under none, skew and all a second run follows once the
# first run's scans are older than a max_age of 5 s: it must scan them again (a server clock
# ahead must not make them look fresh). The status is check.py's.
run_cell() {
    local provider="$1" profile="$2" name="$3"
    shift 3
    emulator_admin POST reset
    if [ "$profile" != none ]; then
        emulator_admin POST realism "{\"realism\": \"$profile\"}"
    fi
    emulator_admin GET scans > "$WORK/$name-before.json"
    run_role "$provider" "$profile" "$name" 86400 "$@" || return 1
    case "$profile" in
        none|skew|all)
            "$PY" check.py settle "$EMULATOR_URL" "$WORK/$name-stale-before.json" --older-than 5
            run_role "$provider" "$profile" "$name-stale" 5 -e image_scan_max_age=5 "$@" ;;
    esac
}

# One run of the role ($4: the max_age in seconds it runs with) and its check; the scans view
# before it is in $WORK/$3-before.json.
run_role() {
    local provider="$1" profile="$2" name="$3" max_age="$4" rc
    shift 4
    export ANSIBLE_CACHE_PLUGIN_CONNECTION="$WORK/facts-$name"
    set +e
    ansible-playbook -i inventory.yml scan.yml -e image_scan_provider="$provider" "$@" > "$WORK/$name.log" 2>&1
    rc=$?
    set -e
    cat "$WORK/$name.log"
    emulator_admin GET scans > "$WORK/$name-after.json"
    emulator_admin GET dataset > "$WORK/$name-dataset.json"
    emulator_admin GET stats > "$WORK/$name-stats.json"
    "$PY" check.py settle "$EMULATOR_URL" "$WORK/$name-settled.json"
    ansible-playbook -i inventory.yml dump.yml -e dump_path="$WORK/$name-facts.json"
    "$PY" check.py verdicts --provider "$provider" --profile "$profile" \
        --facts "$WORK/$name-facts.json" --before "$WORK/$name-before.json" \
        --after "$WORK/$name-after.json" --settled "$WORK/$name-settled.json" \
        --dataset "$WORK/$name-dataset.json" --stats "$WORK/$name-stats.json" \
        --log "$WORK/$name.log" --rc "$rc" --inventory inventory.yml --max-age "$max_age" \
        --report "$WORK/$name-problems.json" --label "max_age ${max_age}s"
}

# The checker catches a gate that fails open: with image_scan_fail_on_incomplete false the
# hosts whose images were not scanned successfully pass, and check.py must say so.
if run_cell hss none hss-open -e image_scan_fail_on_incomplete=false; then
    echo "check.py passed a run whose gate lets unscanned images through" >&2
    exit 1
fi
"$PY" - "$WORK/hss-open-problems.json" <<'PY'
import json, sys
found = {(p["host"], p["image"]) for p in json.load(open(sys.argv[1]))
         if p["problem"].startswith("passed, but the emulator's last successful scan is never")}
expected = {("node-07", "ml/trainer:2024.1"), ("node-15", "legacy/reporting:0.9")}
assert found == expected, found
print("check.py catches a gate that fails open:", sorted(found))
PY

failed=()
for cell in "${CELLS[@]}"; do
    case " ${CELLS_ALL[*]} " in
        *" $cell "*) ;;
        *) echo "unknown cell $cell (known: ${CELLS_ALL[*]})" >&2; exit 1 ;;
    esac
    if ! run_cell "${cell%%/*}" "${cell#*/}" "${cell/\//-}"; then
        failed+=("$cell")
    fi
done

set +x
echo "realism cells run: ${CELLS[*]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "realism cells failed: ${failed[*]}" >&2
    exit 1
fi
echo "realism cells: all passed"
