# shellcheck shell=bash
# Start the cloud emulator for an integration target and point both clouds' credentials at it.
#
#   source ../setup_emulator/files/emulator.sh
#   start_emulator [serve.py options...]    # exports EMULATOR_URL and the clouds' variables
#   emulator_admin GET stats                # admin routes, JSON on stdout
#
# The emulator is stopped when the calling script exits. The keys are fake and shaped so that
# a test can search a log for them.
#
# The realism pass. `make integration` runs the targets a second time against emulators started
# with realism profiles: tests/integration/integration_config.yml (written by the Makefile for
# that pass only; ansible-test copies it next to the targets and passes no environment through)
# holds `emulator_realism: all` and `emulator_lag_seconds: 2`. EMULATOR_REALISM and
# EMULATOR_LAG_SECONDS, when set, win over the file (a runme.sh run by hand). start_emulator then
# adds `--realism` / `--lag-seconds` unless the caller names its own `--realism`. In a target,
#   emulator_realism_pass && ...            # true in the realism pass
#   emulator_realism_has lag && ...         # true when the pass's profiles include lag
# A playbook reads the running emulator's profiles itself: GET $EMULATOR_URL/_emulator/realism.

EMULATOR_PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
export EMULATOR_HSS_AK="HSSAKTESTONLY0000001"
export EMULATOR_HSS_SK="HSSSKSECRETTESTONLY00000000000000000001"
export EMULATOR_HSS_PROJECT_ID="0f1e2d3c4b5a69788796a5b4c3d2e1f0"
export EMULATOR_TCSS_ID="AKIDTCSSTESTONLY000000000000000000001"
export EMULATOR_TCSS_KEY="TCSSKEYSECRETTESTONLY00000000000001"

# The realism pass's settings: integration_config.yml of the ansible-test copy (two levels above
# the target's directory) or of the collection tree, unless the environment sets them.
_emulator_pass_config() {
    local key="$1" file
    for file in "../../integration_config.yml" \
        "$(dirname "$(_emulator_serve_py 2>/dev/null || echo /nonexistent/x/y)")/../integration/integration_config.yml"; do
        if [ -f "$file" ]; then
            "$EMULATOR_PYTHON" - "$file" "$key" <<'PY'
import sys, yaml
value = (yaml.safe_load(open(sys.argv[1])) or {}).get(sys.argv[2])
print("" if value is None else value)
PY
            return 0
        fi
    done
}

emulator_realism_pass() {
    [ -n "$EMULATOR_REALISM" ]
}

emulator_realism_has() {
    case ",$EMULATOR_REALISM," in
        *",all,"*|*",$1,"*) return 0 ;;
    esac
    return 1
}

_emulator_serve_py() {
    local path
    IFS=: read -r -a paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
    for path in "${paths[@]}"; do
        if [ -f "$path/ansible_collections/cloudsec/image_scan/tests/emulator/serve.py" ]; then
            echo "$path/ansible_collections/cloudsec/image_scan/tests/emulator/serve.py"
            return 0
        fi
    done
    echo "emulator: tests/emulator/serve.py not found under ANSIBLE_COLLECTIONS_PATH" >&2
    return 1
}

EMULATOR_REALISM="${EMULATOR_REALISM-$(_emulator_pass_config emulator_realism)}"
EMULATOR_LAG_SECONDS="${EMULATOR_LAG_SECONDS-$(_emulator_pass_config emulator_lag_seconds)}"
export EMULATOR_REALISM EMULATOR_LAG_SECONDS

stop_emulator() {
    if [ -n "${EMULATOR_PID:-}" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill -TERM "$EMULATOR_PID" 2>/dev/null
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    EMULATOR_PID=""
}

start_emulator() {
    local serve log deadline line
    local -a realism=()
    serve="$(_emulator_serve_py)" || return 1
    if [ -n "$EMULATOR_REALISM" ] && [[ " $* " != *" --realism "* ]]; then
        realism=(--realism "$EMULATOR_REALISM")
        if [ -n "$EMULATOR_LAG_SECONDS" ] && [[ " $* " != *" --lag-seconds "* ]]; then
            realism+=(--lag-seconds "$EMULATOR_LAG_SECONDS")
        fi
    fi
    log="$(mktemp)"
    "$EMULATOR_PYTHON" "$serve" --host 127.0.0.1 --port 0 \
        --hss-ak "$EMULATOR_HSS_AK" --hss-sk "$EMULATOR_HSS_SK" --hss-project-id "$EMULATOR_HSS_PROJECT_ID" \
        --tcss-secret-id "$EMULATOR_TCSS_ID" --tcss-secret-key "$EMULATOR_TCSS_KEY" "${realism[@]}" "$@" > "$log" 2>&1 &
    EMULATOR_PID=$!
    trap stop_emulator EXIT
    deadline=$((SECONDS + 30))
    line=""
    while [ $SECONDS -lt $deadline ]; do
        line="$(head -n 1 "$log")"
        case "$line" in
            "listening on "*) break ;;
        esac
        if ! kill -0 "$EMULATOR_PID" 2>/dev/null; then
            echo "emulator exited before listening:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    case "$line" in
        "listening on "*) ;;
        *) echo "emulator did not start within 30 s" >&2; cat "$log" >&2; return 1 ;;
    esac
    EMULATOR_URL="${line#listening on }"
    echo "emulator: $EMULATOR_URL ${realism[*]} $*" >&2
    export EMULATOR_URL EMULATOR_PID
    export HUAWEICLOUD_SDK_AK="$EMULATOR_HSS_AK" HUAWEICLOUD_SDK_SK="$EMULATOR_HSS_SK"
    export HUAWEICLOUD_SDK_PROJECT_ID="$EMULATOR_HSS_PROJECT_ID" HUAWEICLOUD_SDK_REGION="cn-north-4"
    export HUAWEICLOUD_SDK_ENDPOINT="$EMULATOR_URL"
    export TENCENTCLOUD_SECRET_ID="$EMULATOR_TCSS_ID" TENCENTCLOUD_SECRET_KEY="$EMULATOR_TCSS_KEY"
    export TENCENTCLOUD_REGION="ap-guangzhou" TENCENTCLOUD_ENDPOINT="$EMULATOR_URL"
}

emulator_admin() {
    local method="$1" route="$2" body="${3:-}"
    "$EMULATOR_PYTHON" - "$method" "$EMULATOR_URL/_emulator/$route" "$body" <<'PY'
import sys, urllib.request
method, url, body = sys.argv[1:4]
req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as resp:
    print(resp.read().decode())
PY
}
