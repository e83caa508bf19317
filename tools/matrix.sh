#!/usr/bin/env bash
# The version matrix behind `make matrix`: each cell is one ansible-core release on one Python,
# with its own virtual environment and its own copy of the collection under build/matrix/<cell>/.
#
#   tools/matrix.sh CELL...      CELL = name:python-version:ansible-core-version:step+step...
#
# Steps: units (pytest tests/unit), integration (ansible-test integration on $MATRIX_TARGETS),
# sanity (ansible-test sanity). The interpreters come from $MATRIX_PYTHONS ("3.11=/path 3.13=",
# found by the Makefile; an empty path means none was found). A cell that cannot run counts
# each of its steps as failed and says why. Every step's full output is in
# build/matrix/<cell>/<step>.log; the last line is "matrix: N passed, N failed".
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MATRIX_DIR="$ROOT/build/matrix"
TARGETS="${MATRIX_TARGETS:?}"
passed=0
failed=0
results=()

python_for() {
    local want="$1" pair
    for pair in ${MATRIX_PYTHONS:-}; do
        if [ "${pair%%=*}" = "$want" ]; then
            echo "${pair#*=}"
            return 0
        fi
    done
}

record() {  # record CELL STEP passed|failed DETAIL
    results+=("$1 $2: $3${4:+ ($4)}")
    if [ "$3" = passed ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    echo "matrix: $1 $2: $3${4:+ ($4)}"
}

# The unit-test tools of test-requirements.txt, without the tools that pin their own ansible-core.
unit_requirements() {
    grep -v -E '^[[:space:]]*(#|$|ansible-core|ansible-lint|ansible-runner|ansible-builder|antsibull)' \
        "$ROOT/test-requirements.txt"
}

setup_cell() {  # setup_cell DIR PYTHON CORE
    local dir="$1" python="$2" core="$3" venv="$1/venv" want
    want="$(printf 'python %s\nansible-core==%s\n' "$("$python" -c 'import sys; print(sys.version.split()[0])')" "$core";
            unit_requirements; cat "$ROOT/requirements.txt")"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
        rm -rf "$venv"
        "$python" -m venv "$venv" || return 1
        "$venv/bin/python" -m pip install --quiet --upgrade pip || return 1
        "$venv/bin/python" -m pip install --quiet "ansible-core==$core" \
            -r <(unit_requirements) -r "$ROOT/requirements.txt" || return 1
        printf '%s' "$want" > "$venv/.installed"
    fi
    make --no-print-directory -C "$ROOT" tree COLLECTIONS="$dir/collections" || return 1
}

run_step() {  # run_step CELL DIR PYVER CORE STEP
    local cell="$1" dir="$2" pyver="$3" core="$4" step="$5" log="$2/$5.log" start=$SECONDS rc
    local bin="$dir/venv/bin" tree="$dir/collections/ansible_collections/cloudsec/image_scan"
    local -a units_args=()
    case "$core" in
        2.1[0-8].*)
            # patch_module_args, which the module unit tests use, ships with ansible-core 2.19+.
            units_args=(-p patch_module_args_compat)
            ;;
    esac
    (
        cd "$tree" || exit 1
        export ANSIBLE_COLLECTIONS_PATH="$dir/collections" PATH="$bin:$PATH"
        export PYTHONPATH="$dir/collections:$ROOT/tools/matrix"
        case "$step" in
            units)
                if [ ${#units_args[@]} -gt 0 ]; then echo "units: pytest ${units_args[*]}"; fi
                "$bin/python" -m pytest -q -rs -p no:cacheprovider "${units_args[@]}" tests/unit
                ;;
            integration)
                # shellcheck disable=SC2086
                "$bin/ansible-test" integration --python "$pyver" --local --color no $TARGETS
                ;;
            sanity)
                "$bin/python" "$ROOT/tools/install_get_pip.py" &&
                "$bin/ansible-test" sanity --python "$pyver" --color no
                ;;
            *)
                echo "unknown matrix step '$step'"
                exit 1
                ;;
        esac
    ) > "$log" 2>&1
    rc=$?
    local secs=$((SECONDS - start)) summary
    summary="$(grep -E '(passed|failed|error)' "$log" | grep -E '^[=[:space:]]*[0-9]+ (passed|failed)' | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')"
    if [ $rc -eq 0 ]; then
        record "$cell" "$step" passed "${secs}s${summary:+, $summary}"
    else
        echo "---- last lines of $log"
        tail -n 60 "$log"
        echo "----"
        record "$cell" "$step" failed "exit $rc after ${secs}s, see build/matrix/$cell/$step.log"
    fi
}

for spec in "$@"; do
    IFS=: read -r cell pyver core steps <<< "$spec"
    IFS=+ read -r -a step_list <<< "$steps"
    dir="$MATRIX_DIR/$cell"
    python="$(python_for "$pyver")"
    echo "== matrix: $cell: ansible-core $core on Python $pyver${python:+ ($python)}: ${step_list[*]}"
    if [ -z "$python" ]; then
        for step in "${step_list[@]}"; do
            record "$cell" "$step" failed "cannot run: no Python $pyver interpreter found; looked for ${MATRIX_PYTHON_SEARCH//X.Y/$pyver}"
        done
        continue
    fi
    mkdir -p "$dir"
    if ! setup_cell "$dir" "$python" "$core" > "$dir/setup.log" 2>&1; then
        tail -n 40 "$dir/setup.log"
        for step in "${step_list[@]}"; do
            record "$cell" "$step" failed "cannot run: installing ansible-core $core on $python failed, see build/matrix/$cell/setup.log"
        done
        continue
    fi
    for step in "${step_list[@]}"; do
        run_step "$cell" "$dir" "$pyver" "$core" "$step"
    done
done

echo "== matrix results"
printf '%s\n' "${results[@]}"
echo "matrix: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
