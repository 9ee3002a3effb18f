#!/usr/bin/env bash
# Prepare a development environment at the repo root:
#   - .venv (python3 -m venv) with requirements-dev.txt installed
#   - /usr/bin/chromium for the browser tests (root only; otherwise they skip)
# Idempotent: the pip install is skipped while .venv/.installed-<hash of requirements*.txt>
# exists. Usage: scripts/setup.sh [--no-browser]
set -euo pipefail

want_browser=1
for arg in "$@"; do
    case "$arg" in
        --no-browser) want_browser=0 ;;
        -h|--help) echo "usage: $0 [--no-browser]"; exit 0 ;;
        *) echo "setup: unknown argument: $arg (usage: $0 [--no-browser])" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "setup: $*"; }
warn() { echo "setup: WARNING: $*" >&2; }

# --- Python virtual environment -------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
    say "creating .venv"
    python3 -m venv .venv
fi

# --- Python packages --------------------------------------------------------------------------
req_hash="$(cat requirements*.txt | sha256sum | cut -c1-64)"
stamp=".venv/.installed-${req_hash}"
if [[ -f "$stamp" ]]; then
    say "python packages up to date"
else
    say "installing requirements-dev.txt into .venv (first run takes about a minute)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
    rm -f .venv/.installed-*
    touch "$stamp"
    say "python packages installed"
fi

# --- Chromium for browser tests ---------------------------------------------------------------
if [[ "$want_browser" -eq 1 ]]; then
    if [[ -x /usr/bin/chromium ]]; then
        say "chromium present"
    elif [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing chromium with apt-get"
        # Lock timeout: wait for another apt/dpkg run instead of failing at once.
        if apt-get -o DPkg::Lock::Timeout=300 update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
                install -y -qq chromium >/dev/null; then
            say "chromium installed"
        else
            warn "apt-get could not install chromium; browser tests will be skipped"
        fi
    else
        warn "/usr/bin/chromium missing and not root; browser tests will be skipped"
    fi
fi

say "done"
