"""Files dropped in a folder: CSV and XLSX exports (and Parquet), one load batch per file.

A file is loaded once, tracked by its name (the batch's `source_key`) and a hash of its bytes;
a corrected re-export under the same name has a new hash, and its batch replaces every row the
earlier version loaded (the loader deletes by the replaced batches).

Files are untrusted input (issue #24): one is never allowed to take the app down or stop the
feed's other files. A CSV up to `in_process_kb` is read here; anything larger, and every XLSX
and Parquet file, is read by a worker process with a memory and a time limit
(connectors/reader_worker.py), after the checks of connectors/safe_read.py. A file that cannot
be read is quarantined as one row with the reason (its batch is ok: this version is not read
again, a corrected one is), a line that cannot be read as that line, and the other rows load.

Options: `path` (folder), `pattern` (glob, default "*"), `separator` (CSV, default ","),
`sheet` (XLSX sheet name, default the first), `grain` (report sheets without a grain column),
`max_file_age` (e.g. "26h": the run fails when the newest file is older — the sender stopped),
and the limits of `safe_read.Limits` (`max_file_mb`, `max_cells`, `reader_memory_mb`, …).
Each is declared, with its type and default, in FILES_OPTIONS (checked when feeds.toml loads).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl

from base.calendar import GRAINS
from config import Config
from connectors.base import Connector, OptionSpec, Pull, Seen, SourceError, Window, register
from connectors.feeds import Feed, duration
from connectors.mapping import parse_dossiers, parse_reports
from connectors.reader_worker import read_in_worker
from connectors.safe_read import (
    SUFFIXES,
    Limits,
    UnreadableFile,
    check_size,
    quarantined_file,
    read_chunks,
)
from warehouse.loading import Reject
from warehouse.validate import ROW

log = logging.getLogger(__name__)
__all__ = ["FILES_OPTIONS", "SUFFIXES", "FilesConnector"]

FILES_OPTIONS: dict[str, OptionSpec] = {
    # The folder. Required: the connector's fallback, ".", would read the app's own folder.
    "path": OptionSpec("text", required=True),
    "pattern": OptionSpec("text", default="*"),
    "separator": OptionSpec("text", default=","),
    "sheet": OptionSpec("text"),  # XLSX: None reads the first sheet
    "grain": OptionSpec("text", default="month", choices=GRAINS),
    "max_file_age": OptionSpec("duration"),
    # safe_read.Limits: each field may be overridden by the option of its name.
    **{f.name: OptionSpec("whole", default=f.default, minimum=0) for f in fields(Limits)},
}


@register
class FilesConnector(Connector):
    kind = "files"
    options = FILES_OPTIONS

    def __init__(self, feed: Feed, config: Config):
        super().__init__(feed, config)
        self._line_rejects: list[Reject] = []  # lines the last read could not read

    @property
    def folder(self) -> Path:
        return Path(self.feed.options.get("path", "."))

    @property
    def limits(self) -> Limits:
        return Limits.from_options(self.feed.options)

    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            raise SourceError(f"folder {self.folder} does not exist")
        pattern = self.feed.options.get("pattern", "*")
        return sorted(
            p for p in self.folder.glob(pattern)
            if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith((".", "~$"))
        )  # fmt: skip

    def pulls(
        self, state: dict[str, Any], window: Window | None = None, seen: Seen | None = None
    ) -> Iterator[Pull]:
        files = self.files()
        if window is None:  # a backfill reads what there is, however old
            self.check_newest(files)
        limits = self.limits
        for path in files:
            # A backfill reloads every file; a normal run skips what an ok batch already holds.
            pull = self.pull_file(path, seen if window is None else None, limits)
            if pull is not None:
                yield pull

    def pull_file(self, path: Path, seen: Seen | None, limits: Limits) -> Pull | None:
        """One file as a pull: its rows; or the whole file quarantined with the reason; or, for
        an error that may pass (the file cannot be opened, the reader was stopped), a failed
        pull that the next run tries again. None when an ok batch already holds this version."""
        key = path.relative_to(self.folder).as_posix()
        try:
            size = path.stat().st_size
            here = path.suffix.lower() == ".csv" and size <= limits.in_process_kb * 1024
            data = path.read_bytes() if here else None
            digest = _digest(data if data is not None else path)
        except OSError as e:
            return Pull(failed=f"{key}: cannot read the file: {e}", source_key=key)
        if seen is not None and seen(key, digest):
            return None
        try:
            check_size(key, size, limits)
        except UnreadableFile as e:
            return quarantined_file(key, digest, str(e))
        if data is None:
            return read_in_worker(self, key, path, digest, limits)
        try:
            return self.read_pull(key, data, digest)
        except Exception as e:  # one file's surprise never stops the others
            log.exception("feed %s: reading %s failed", self.feed.name, key)
            return Pull(failed=f"{key}: {type(e).__name__}: {e}", source_key=key,
                        content_hash=digest)  # fmt: skip

    def check_newest(self, files: list[Path], now: float | None = None) -> None:
        """With `max_file_age` ("26h"): a folder whose newest file is older fails the run, so a
        sender that stopped (an integration that no longer syncs) makes the feed stale."""
        limit = self.feed.options.get("max_file_age")
        if not limit:
            return
        age = duration(limit, Path("feeds.toml"), f"feeds.{self.feed.name}.options.max_file_age")
        newest = max((p.stat().st_mtime for p in files), default=None)
        now = time.time() if now is None else now
        if newest is None or now - newest > age.total_seconds():
            raise SourceError(f"no new file in {self.folder} within {limit}")

    def read_pull(self, key: str, source: bytes | Path, digest: str) -> Pull:
        """Read and parse one file in this process (the app's, for a small CSV; a reader
        worker's otherwise): its pull, or the file quarantined when it cannot be read."""
        try:
            pull = self.parse_file(key, source, digest)
        except UnreadableFile as e:
            return quarantined_file(key, digest, str(e))
        left = self._take_line_rejects()  # a subclass's parse_file may not have taken them
        pull.rejects = [*left, *pull.rejects]
        pull.rows_read += len(left)
        return pull

    def read_chunks(self, key: str, data: bytes | Path) -> Iterator[pl.DataFrame]:
        """The file's rows a block at a time, with their row numbers (`ROW`); the lines that
        cannot be read wait in `_line_rejects`. Raises UnreadableFile (a SourceError)."""
        self._line_rejects = []
        opts = self.feed.options
        yield from read_chunks(key, data, self._line_rejects, opts.get("separator", ","),
                               opts.get("sheet"), self.limits)  # fmt: skip

    def read(self, key: str, data: bytes | Path) -> pl.DataFrame:
        """The whole file as one frame (for a connector that parses it whole: connectors/cases.py)."""
        frames = list(self.read_chunks(key, data))
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()

    def _take_line_rejects(self) -> list[Reject]:
        taken, self._line_rejects = self._line_rejects, []
        return taken

    def parse_file(self, key: str, data: bytes | Path, digest: str) -> Pull:
        """The file's canonical rows, parsed a block at a time (memory grows with what loads,
        not with the file's text), and every row that cannot be read, with its reason."""
        goods: list[pl.DataFrame] = []
        rejects: list[Reject] = []
        read = 0
        for frame in self.read_chunks(key, data):
            read += frame.height
            good, bad = self._parse(frame)
            goods.append(good)
            rejects.extend(bad)
        good = pl.concat(goods, how="vertical_relaxed") if goods else pl.DataFrame()
        rows = good.get_column(ROW) if ROW in good.columns else None
        good = good.drop(ROW, strict=False)
        lines = self._take_line_rejects()
        rejects = [*lines, *rejects]
        if self.feed.shape == "dossier":
            return Pull(dossiers=good, rejects=rejects, rows_read=read + len(lines),
                        source_key=key, content_hash=digest, source_rows=rows)  # fmt: skip
        return Pull(reports=good, rejects=rejects, rows_read=good.height + len(rejects),
                    source_key=key, content_hash=digest, source_rows=rows)  # fmt: skip

    def _parse(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
        if self.feed.shape == "dossier":
            return parse_dossiers(frame, self.feed)
        return parse_reports(frame, self.feed, self.feed.options.get("grain", "month"))


def _digest(source: bytes | Path) -> str:
    """SHA-256 of the file's bytes, read a block at a time (a big file is never held whole)."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    with source.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
