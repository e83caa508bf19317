# shellcheck shell=bash
# Start the cloud emulator for an integration target and point both clouds' credentials at it.
#
#   source ../setup_emulator/files/emulator.sh
#   start_emulator [serve.py options...]    # exports EMULATOR_URL and the clouds' variables
#   emulator_admin GET stats                # admin routes, JSON on stdout
#
# The emulator is stopped when the calling script exits. The keys are fake and shaped so that
# a test can search a log for them.

EMULATOR_PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
export EMULATOR_HSS_AK="HSSAKTESTONLY0000001"
export EMULATOR_HSS_SK="HSSSKSECRETTESTONLY00000000000000000001"
export EMULATOR_HSS_PROJECT_ID="0f1e2d3c4b5a69788796a5b4c3d2e1f0"
export EMULATOR_TCSS_ID="AKIDTCSSTESTONLY000000000000000000001"
export EMULATOR_TCSS_KEY="TCSSKEYSECRETTESTONLY00000000000001"

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

stop_emulator() {
    if [ -n "${EMULATOR_PID:-}" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill -TERM "$EMULATOR_PID" 2>/dev/null
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    EMULATOR_PID=""
}

start_emulator() {
    local serve log deadline line
    serve="$(_emulator_serve_py)" || return 1
    log="$(mktemp)"
    "$EMULATOR_PYTHON" "$serve" --host 127.0.0.1 --port 0 \
        --hss-ak "$EMULATOR_HSS_AK" --hss-sk "$EMULATOR_HSS_SK" --hss-project-id "$EMULATOR_HSS_PROJECT_ID" \
        --tcss-secret-id "$EMULATOR_TCSS_ID" --tcss-secret-key "$EMULATOR_TCSS_KEY" "$@" > "$log" 2>&1 &
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
