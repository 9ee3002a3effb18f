#!/usr/bin/env bash
# Run the test suite: scripts/test.sh [pytest args...]
# pytest's exit code is passed through, except 5 (no tests collected), which becomes 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
rc=0
.venv/bin/python -m pytest -q "$@" || rc=$?
if [[ "$rc" -eq 5 ]]; then
    echo "test: no tests were collected; treating this as a failure" >&2
    exit 1
fi
exit "$rc"
