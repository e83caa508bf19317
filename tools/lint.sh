#!/usr/bin/env bash
# ansible-lint --profile production (what `make lint` runs), writing nothing outside the checkout.
#
# ansible-lint builds the collection and installs it where Ansible keeps its collections, by
# default ~/.ansible/collections, where that copy then shadows any other for later runs and for
# the user's own playbooks. Here Ansible's home, the collections path and ansible-lint's cache
# all live under build/lint/: it installs the collection into build/lint/collections, the only
# collections path it is given (LINT_DIR overrides build/lint; LINT_BIN names the directory of
# ansible-lint, by default .venv/bin).
#
#   tools/lint.sh [ansible-lint arguments...]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${LINT_BIN:-$ROOT/.venv/bin}"
OUT="${LINT_DIR:-$ROOT/build/lint}"
mkdir -p "$OUT/collections" "$OUT/cache"
export ANSIBLE_HOME="$OUT"
export ANSIBLE_COLLECTIONS_PATH="$OUT/collections"
export XDG_CACHE_HOME="$OUT/cache"
export PATH="$BIN:$PATH"
cd "$ROOT"
exec "$BIN/ansible-lint" --profile production "$@"
