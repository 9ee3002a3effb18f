#!/usr/bin/env bash
# Run the test suite: scripts/test.sh [pytest args...]
# A broken import contract (lint-imports), a lint finding or unformatted code (ruff) stops the
# run with exit 1; after them, pytest's exit
# code is passed through, except 5 (no tests collected), which becomes 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# The import layers first (pyproject.toml, [tool.importlinter]): an upward import or a cycle
# between modules fails the run before any test. --no-cache: the whole graph takes ~0.2 s, and
# no cache directory is left in the tree.
.venv/bin/lint-imports --no-cache
# Lint and layout (pyproject.toml, [tool.ruff]): the next change reads like the rest.
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
rc=0
.venv/bin/python -m pytest -q "$@" || rc=$?
if [[ "$rc" -eq 5 ]]; then
    echo "test: no tests were collected; treating this as a failure" >&2
    exit 1
fi
exit "$rc"
