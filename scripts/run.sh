#!/usr/bin/env bash
# Start the dashboard: scripts/run.sh [--host H] [--port P] [--data-dir DIR] [--demo|--no-demo]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --no-browser
exec .venv/bin/python app.py "$@"
