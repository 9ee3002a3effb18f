"""Files dropped in a folder: CSV and XLSX exports (and Parquet), one load batch per file.

A file is loaded once, tracked by its name (the batch's `source_key`) and a hash of its bytes;
a corrected re-export under the same name has a new hash, and its batch replaces every row the
earlier version loaded (the loader deletes by the replaced batches). Files are read whole: they
are department exports, not data lakes.

Options: `path` (folder), `pattern` (glob, default "*"), `separator` (CSV, default ","),
`sheet` (XLSX sheet name, default the first), `grain` (report sheets without a grain column),
`max_file_age` (e.g. "26h": the run fails when the newest file is older — the sender stopped).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from connectors.base import Connector, Pull, Seen, SourceError, Window, register
from connectors.mapping import parse_dossiers, parse_reports

SUFFIXES = (".csv", ".xlsx", ".parquet")


def read_table(name: str, data: bytes, separator: str = ",", sheet: str | None = None) -> pl.DataFrame:
    """The file's rows as a frame (CSV: every column text; the mapping reads the values)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 BOM, as Excel writes it
            data = data[3:]
        return pl.read_csv(io.BytesIO(data), separator=separator, infer_schema=False,
                           encoding="utf8", truncate_ragged_lines=False)  # fmt: skip
    if suffix == ".xlsx":
        return pl.read_excel(io.BytesIO(data), sheet_name=sheet, engine="calamine")
    if suffix == ".parquet":
        return pl.read_parquet(io.BytesIO(data))
    raise SourceError(f"{name}: unsupported file type (one of {', '.join(SUFFIXES)})")


@register
class FilesConnector(Connector):
    kind = "files"

    @property
    def folder(self) -> Path:
        return Path(self.feed.options.get("path", "."))

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
        for path in files:
            data = path.read_bytes()
            key = path.relative_to(self.folder).as_posix()
            digest = hashlib.sha256(data).hexdigest()
            # A backfill reloads every file; a normal run skips what an ok batch already holds.
            if window is None and seen is not None and seen(key, digest):
                continue
            yield self.parse_file(key, data, digest)

    def check_newest(self, files: list[Path], now: float | None = None) -> None:
        """With `max_file_age` ("26h"): a folder whose newest file is older fails the run, so a
        sender that stopped (an integration that no longer syncs) makes the feed stale."""
        limit = self.feed.options.get("max_file_age")
        if not limit:
            return
        from connectors.feeds import duration

        age = duration(limit, Path("feeds.toml"), f"feeds.{self.feed.name}.options.max_file_age")
        newest = max((p.stat().st_mtime for p in files), default=None)
        now = time.time() if now is None else now
        if newest is None or now - newest > age.total_seconds():
            raise SourceError(f"no new file in {self.folder} within {limit}")

    def read(self, key: str, data: bytes):
        """The file as a polars frame; an unreadable file is a SourceError naming it."""
        opts = self.feed.options
        try:
            return read_table(key, data, opts.get("separator", ","), opts.get("sheet"))
        except SourceError:
            raise
        except Exception as e:
            raise SourceError(f"{key}: cannot read the file: {e}") from e

    def parse_file(self, key: str, data: bytes, digest: str) -> Pull:
        frame = self.read(key, data)
        if self.feed.shape == "dossier":
            good, rejects = parse_dossiers(frame, self.feed)
            return Pull(dossiers=good, rejects=rejects, rows_read=frame.height, source_key=key,
                        content_hash=digest)  # fmt: skip
        good, rejects = parse_reports(frame, self.feed, self.feed.options.get("grain", "month"))
        return Pull(reports=good, rejects=rejects, rows_read=good.height + len(rejects),
                    source_key=key, content_hash=digest)  # fmt: skip
