"""Read one untrusted file in a process of its own, with a memory and a time limit (issue #24).

The app's process hands a worker the connector (its feed and the configuration) and the file's
path; the worker reads and parses the file as the app would (`FilesConnector.read_pull`) and
hands back the pull, its frames as Arrow IPC files in a temporary folder. A reader that runs out
of memory, crashes or hangs ends only the worker: the parent quarantines the file with the
reason, and the server and the feed's other files go on.

The memory limit is RLIMIT_DATA: the heap, private mappings and thread stacks of the worker,
imports included (~200 MB; the address-space limit would also count the gigabytes of thread
arenas and libraries merely reserved). A
worker stopped from outside (SIGKILL, SIGTERM: a shutdown, the kernel) is no fault of the file:
that pull fails and the file is read again at the next run.

    python -m connectors.reader_worker MEMORY_MB < pickled request
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import polars as pl

from connectors.base import Pull
from connectors.safe_read import Limits, quarantined_file
from warehouse.messages import say

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
RESULT = "result.pickle"
# How a reader that ran out of memory says so: Rust aborts with the first, Python raises the
# second, C libraries the third.
OUT_OF_MEMORY = ("memory allocation of", "MemoryError", "Cannot allocate memory", "bad_alloc")
STOPPED = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


@dataclass(frozen=True)
class Request:
    connector: Any  # a FilesConnector (its feed and the configuration travel with it)
    key: str
    path: str
    digest: str
    out: str  # the folder for the answer


@dataclass(frozen=True)
class Stored:
    """A frame (or series) of the pull, written to `file` as Arrow IPC."""

    file: str
    series: bool


def read_in_worker(connector: Any, key: str, path: Path, digest: str, limits: Limits) -> Pull:
    """`connector.read_pull(key, path, digest)` in a worker process with `limits`' memory and
    time: its pull, the file quarantined with the reason, or a failed pull (stopped from
    outside, or no worker could start)."""
    with tempfile.TemporaryDirectory(prefix="ioc-read-") as tmp:
        request = pickle.dumps(Request(connector, key, str(path), digest, tmp))
        with open(Path(tmp) / "stderr", "wb") as stderr:
            try:
                code = _run(request, stderr, limits)
            except OSError as e:
                return Pull(failed=f"{key}: cannot start a reader: {e}", source_key=key,
                            content_hash=digest)  # fmt: skip
        if code is None:
            return quarantined_file(key, digest, say("file_slow", key, limits.reader_seconds))
        return _answer(key, digest, code, Path(tmp), limits)


def _run(request: bytes, stderr: Any, limits: Limits) -> int | None:
    """The worker's exit code; None when it ran out of time (it is then killed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.reader_worker", str(limits.reader_memory_mb)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr, env=_env(),
        start_new_session=True,  # Ctrl-C to the app is for the app: it waits for this read
    )  # fmt: skip
    try:
        process.communicate(request, timeout=limits.reader_seconds)
        return process.returncode
    except subprocess.TimeoutExpired:
        return None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _env() -> dict[str, str]:
    """The app's environment, with this repository importable from anywhere. Arrow allocates
    with malloc: its default (mimalloc) reserves a gigabyte of address space up front, which
    the memory limit would count."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"ARROW_DEFAULT_MEMORY_POOL": "system", **os.environ,
            "PYTHONPATH": os.pathsep.join(paths),
            "RUST_BACKTRACE": "0"}  # a reader's last words, not pages of frames  # fmt: skip


def _answer(key: str, digest: str, code: int, out: Path, limits: Limits) -> Pull:
    if code == 0 and (out / RESULT).exists():
        try:
            kind, payload = pickle.loads((out / RESULT).read_bytes())
            if kind == "pull":
                return _thaw(payload, out)
            return Pull(failed=payload, source_key=key, content_hash=digest)
        except Exception as e:  # an answer we cannot take back: the next run tries again
            log.exception("the reader's answer for %s cannot be read", key)
            return Pull(failed=f"{key}: the reader's answer: {e}", source_key=key,
                        content_hash=digest)  # fmt: skip
    said = _said(out / "stderr")
    if _out_of_memory(code, said):
        log.warning("reader of %s ran out of its %d MB: %s", key, limits.reader_memory_mb, said)
        return quarantined_file(key, digest, say("file_memory", key, limits.reader_memory_mb))
    if code < 0 and -code in STOPPED:
        stopped = f"{key}: the reader was stopped ({signal.Signals(-code).name}); read again later"
        return Pull(failed=stopped, source_key=key, content_hash=digest)
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    log.warning("reader of %s crashed (%s): %s", key, how, said)
    last = said.strip().splitlines()[-1][:200] if said.strip() else ""
    return quarantined_file(
        key, digest, say("file_crashed", key, f"{how}: {last}" if last else how)
    )


def _out_of_memory(code: int, stderr: str) -> bool:
    """Did the worker die for want of memory (as it said before it went)?"""
    return code != 0 and any(m in stderr for m in OUT_OF_MEMORY)


def _said(path: Path, size: int = 8192) -> str:
    """What the worker wrote to stderr: its start and its end (a backtrace may lie between)."""
    with path.open("rb") as f:
        head = f.read(size)
        f.seek(max(len(head), f.seek(0, os.SEEK_END) - size))
        return (head + f.read()).decode("utf-8", "replace")


def _freeze(pull: Pull, out: Path) -> Pull:
    """The pull with its frames written to `out` (pickling them would double them in memory)."""
    for f in fields(pull):
        value = getattr(pull, f.name)
        if isinstance(value, pl.DataFrame | pl.Series):
            file = str(out / f"{f.name}.arrow")
            frame = value.to_frame() if isinstance(value, pl.Series) else value
            frame.write_ipc(file, compression="uncompressed")
            setattr(pull, f.name, Stored(file, isinstance(value, pl.Series)))
    return pull


def _thaw(pull: Pull, out: Path) -> Pull:
    for f in fields(pull):
        value = getattr(pull, f.name)
        if isinstance(value, Stored):
            # Memory-mapped: the pages are the file's, and outlive its folder (deleted next).
            frame = pl.read_ipc(out / Path(value.file).name)
            setattr(pull, f.name, frame.to_series() if value.series else frame)
    return pull


# ---- the worker -------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: end with the app (prctl PR_SET_PDEATHSIG), not read on for nobody."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def main(memory_mb: int) -> None:
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    _die_with_parent()
    request: Request = pickle.load(sys.stdin.buffer)
    out = Path(request.out)
    try:
        pull = request.connector.read_pull(request.key, Path(request.path), request.digest)
        answer: tuple[str, Any] = ("pull", _freeze(pull, out))
    except MemoryError:
        raise  # the parent reads "MemoryError" from stderr: the file needs more memory
    except Exception as e:  # noqa: BLE001 — not the file's fault: the next run tries again
        answer = ("failed", f"{request.key}: {type(e).__name__}: {e}")
    (out / "result.tmp").write_bytes(pickle.dumps(answer))
    (out / "result.tmp").replace(out / RESULT)


if __name__ == "__main__":
    # Run as the package's module, not as __main__: what the worker pickles (Stored) must name
    # a class the app can find.
    from connectors.reader_worker import main as run

    run(int(sys.argv[1]))
