"""Reading files nobody here wrote, without letting one take the process down (issue #24).

A department's export is untrusted input. A 1.6 KB workbook whose two cells sit at A1 and at the
sheet's last cell makes a spreadsheet reader allocate a cell for every position between them
(hundreds of GiB); a zip bomb unpacks to gigabytes; a CSV read whole costs several times its
size. So, before and while a reader sees a file:

* its size is bounded (`max_file_mb`), and content that is not what the name says (a .xlsx that
  is no zip, a .csv that is binary or a workbook) is refused with that reason;
* an XLSX is inspected with the standard library first: at most 10,000 zip entries, every member
  inflated here (its real size, not the one it declares) to at most `max_unpacked_mb` in all and
  200:1 each, the sheet's declared dimension and the real extent of its cells (rows × columns)
  at most `max_cells`, no more shared strings declared than it holds;
* a CSV is read a block at a time (pyarrow's streaming reader), so memory does not grow with the
  file; a line with more or fewer fields than the header is quarantined as that line, and so is
  a line holding bytes that are not UTF-8 (a file with a UTF-16 byte-order mark is decoded);
* Parquet is checked against its own metadata and read a batch of rows at a time.

Whatever still cannot be read raises `UnreadableFile`, whose message is the reason stored in
quarantine. Reading itself runs in a worker process with a memory and a time limit
(connectors/reader_worker.py): a bomb these checks miss, or a reader's bug, ends only the worker.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from html import unescape
from math import ceil
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.base import Pull, SourceError
from warehouse.loading import Reject
from warehouse.messages import say
from warehouse.validate import ROW

Source = bytes | Path
SUFFIXES = (".csv", ".xlsx", ".parquet")
MB = 1 << 20
HEAD = 64 * 1024  # sniffed for what the file really is
CSV_BLOCK = MB  # one CSV block, and the longest line a CSV may have (a reader keeps ~10 ahead)
CSV_ROWS = 100_000  # rows parsed at a time
PARQUET_BATCH = 65_536
MAX_ZIP_ENTRIES = 10_000  # a workbook has tens; a million entries is a bomb of its own
MAX_RATIO = 200  # workbook XML deflates 5-30:1; a zip bomb ~1000:1
RATIO_FROM = 16 * MB  # small members may compress better (a sheet of empty rows)
MAX_BAD_LINES = 100_000  # more than this many bad lines: the whole file is suspect
MAX_TEXT = 1_000  # characters of a bad line kept in quarantine
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and every password-protected workbook
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UnreadableFile(SourceError):
    """A file no reader should (or could) read; the message is the quarantine reason."""


@dataclass(frozen=True)
class Limits:
    """What reading one file may cost; a files feed's options of the same names override these
    defaults (e.g. `options = { reader_memory_mb = 2048 }`)."""

    max_file_mb: int = 512
    max_cells: int = 20_000_000  # rows × columns of a sheet: a reader allocates each
    max_columns: int = 2_000
    max_unpacked_mb: int = 1_024  # what a workbook's zip members unpack to, in all
    reader_memory_mb: int = 1_536  # the worker's RLIMIT_DATA (a 200 MB CSV takes ~700)
    reader_seconds: int = 600
    in_process_kb: int = 4_096  # a CSV up to this size is read in the app's own process

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Limits:
        given = {f.name: options[f.name] for f in fields(cls) if f.name in options}
        for name, value in given.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SourceError(f"option {name} must be a whole number ≥ 0, not {value!r}")
        return cls(**given)


def quarantined_file(key: str, digest: str | None, reason: str) -> Pull:
    """A whole file that is not read, as one quarantined row with the reason. Its batch is ok,
    so this version is not read again on every run and does not stop the feed's other files;
    a corrected re-export (a new hash) is read, and replaces what the name loaded before."""
    raw = json.dumps({"file": key, "sha256": digest}, ensure_ascii=False)
    return Pull(rejects=[Reject(raw, reason)], rows_read=0, source_key=key, content_hash=digest)


def read_chunks(
    name: str,
    source: Source,
    rejects: list[Reject],
    separator: str = ",",
    sheet: str | None = None,
    limits: Limits = Limits(),
) -> Iterator[pl.DataFrame]:
    """The file's rows a block at a time, every column as the reader gives it plus `ROW` (the
    row's number in the file, the header being row 1). Lines that cannot be read are appended to
    `rejects`; a file that cannot be read raises UnreadableFile."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    check_size(name, size, limits)
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        yield from _csv_chunks(name, source, separator, limits, rejects)
    elif suffix == ".xlsx":
        yield _xlsx_frame(name, source, sheet, limits)
    elif suffix == ".parquet":
        yield from _parquet_chunks(name, source, limits)
    else:
        raise UnreadableFile(say("file_unreadable", name, f"not one of {', '.join(SUFFIXES)}"))


def check_size(name: str, size: int, limits: Limits) -> None:
    if size > limits.max_file_mb * MB:
        raise UnreadableFile(say("file_too_big", name, ceil(size / MB), limits.max_file_mb))


def _open(source: Source) -> AbstractContextManager[BinaryIO]:
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")


def _brief(error: BaseException) -> str:
    """An exception in one line, short enough for a reason."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


# ---- CSV --------------------------------------------------------------------------------------


def _csv_chunks(
    name: str, source: Source, separator: str, limits: Limits, rejects: list[Reject]
) -> Iterator[pl.DataFrame]:
    with _open(source) as raw:
        encoding = _text_encoding(name, raw.read(HEAD))
        raw.seek(0)
        _check_header_width(name, raw.read(MB), encoding, separator, limits)
        raw.seek(0)
        text = _Utf8(raw, encoding)
        yield from _CsvReader(name, text, separator, limits, rejects).frames()


def _text_encoding(name: str, head: bytes) -> str:
    """The codec of a file meant to be text, from its first bytes; refuses what is not text."""
    if not head:
        raise UnreadableFile(say("file_empty", name))
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    if head.startswith((b"PK\x03\x04", OLE2)):
        raise UnreadableFile(say("file_zip_as_csv", name))
    if b"\x00" in head:
        raise UnreadableFile(say("file_not_text", name))
    return "utf-8-sig"  # UTF-8, its BOM (as Excel writes it) dropped


def _check_header_width(
    name: str, start: bytes, encoding: str, separator: str, limits: Limits
) -> None:
    """Refuse a header of too many columns before a reader makes a column of each (a 4 MB line
    of separators is four million columns)."""
    text = codecs.getincrementaldecoder(encoding)("replace").decode(start)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=separator), [])
    except csv.Error:  # a field over the csv module's own limit: the reader decides
        return
    if len(header) > limits.max_columns:
        raise UnreadableFile(
            say("file_columns", name, f"{len(header):,}", f"{limits.max_columns:,}")
        )


class _Utf8(io.RawIOBase):
    """The file's bytes as UTF-8 for the CSV reader, decoded a megabyte at a time: a UTF-8 BOM
    dropped, UTF-16/32 (with a BOM) decoded, bytes that are not UTF-8 replaced by U+FFFD (their
    lines are then quarantined), a last line without its line end ended."""

    def __init__(self, raw: BinaryIO, encoding: str):
        super().__init__()
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        self._out = memoryview(b"")
        self._eof = False
        self._line_ended = True
        self.replaced = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._out and not self._eof:
            self._decode_more()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _decode_more(self) -> None:
        chunk = self._raw.read(MB)
        text = self._decoder.decode(chunk, final=not chunk)
        if not chunk:
            self._eof = True
            if not self._line_ended:  # pyarrow drops a last line without its end
                text += "\n"
        if text:
            self._line_ended = text.endswith(("\n", "\r"))
            self.replaced = self.replaced or "\ufffd" in text
        self._out = memoryview(text.encode("utf-8", "replace"))


class _RowNumbers:
    """The file row number of each row the CSV reader keeps: 1, 2, 3, … without the ones it
    handed to the invalid-row handler (which numbers rows the same way: the header is 1, blank
    lines do not count)."""

    def __init__(self, skipped: list[int]):
        self._skipped = skipped  # ascending: the reader is serial
        self._seen = 0  # skipped numbers already passed
        self._next = 1

    def take(self, n: int) -> pl.Series:
        ahead = self._skipped[self._seen :]
        candidates = np.arange(self._next, self._next + n + len(ahead), dtype=np.int64)
        kept = candidates[~np.isin(candidates, ahead)][:n]
        if n:
            self._next = int(kept[-1]) + 1
        while self._seen < len(self._skipped) and self._skipped[self._seen] < self._next:
            self._seen += 1
        return pl.Series(ROW, kept, dtype=pl.Int64)


class _CsvReader:
    """pyarrow's streaming CSV reader over the decoded text, every column read as text."""

    def __init__(
        self, name: str, text: _Utf8, separator: str, limits: Limits, rejects: list[Reject]
    ):
        self.name, self.text, self.separator, self.rejects = name, text, separator, rejects
        self.columns = limits.max_columns
        self.skipped: list[int] = []
        self.numbers = _RowNumbers(self.skipped)
        self.header: list[str] | None = None
        self.bad_lines = 0

    def frames(self) -> Iterator[pl.DataFrame]:
        try:
            reader = pacsv.open_csv(
                io.BufferedReader(self.text, MB),
                # Serial: the invalid-row handler then gets each line's number.
                read_options=pacsv.ReadOptions(
                    use_threads=False, block_size=CSV_BLOCK, autogenerate_column_names=True
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.separator,
                    newlines_in_values=True,
                    invalid_row_handler=self._ragged,
                ),
                convert_options=pacsv.ConvertOptions(
                    # Names f0, f1, …: the header row is read as data, so duplicate or empty
                    # names cannot confuse the types. Every column is text.
                    column_types={f"f{i}": pa.string() for i in range(self.columns + 1)},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            # Blocks are small (the reader reads ~10 ahead); the rows go on in bigger frames,
            # each parsed at a cost of its own.
            frames: list[pl.DataFrame] = []
            for batch in reader:
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                frames.append(self._tidy(frame))
                if sum(f.height for f in frames) >= CSV_ROWS:
                    yield pl.concat(frames)
                    frames = []
            if frames:
                yield pl.concat(frames)
        except pa.ArrowInvalid as e:
            if self.bad_lines > MAX_BAD_LINES:
                raise self._too_many() from e
            if "Empty CSV file" in str(e):
                raise UnreadableFile(say("file_empty", self.name)) from e
            raise UnreadableFile(say("file_unreadable", self.name, _brief(e))) from e

    def _ragged(self, row: Any) -> str:
        """A line with more or fewer fields than the header: quarantined, the rest go on."""
        self.bad_lines += 1
        if self.bad_lines > MAX_BAD_LINES:
            return "error"  # pyarrow ignores an exception raised here: it stops on "error"
        self.skipped.append(row.number)
        raw = json.dumps({ROW: row.number, "line": row.text[:MAX_TEXT]}, ensure_ascii=False)
        reason = say("ragged", row.number, row.actual_columns, row.expected_columns)
        self.rejects.append(Reject(raw, reason))
        return "skip"

    def _too_many(self) -> UnreadableFile:
        """So many bad lines are a wrong separator or encoding, not a few bad lines: the whole
        file is quarantined (and quarantine is not filled with a copy of it)."""
        return UnreadableFile(
            say("file_unreadable", self.name, f"more than {MAX_BAD_LINES:,} lines are not rows")
        )

    def _tidy(self, frame: pl.DataFrame) -> pl.DataFrame:
        numbers = self.numbers.take(frame.height)
        if any(dtype != pl.String for dtype in frame.dtypes):  # columns past `column_types`
            frame = frame.select(pl.all().cast(pl.String))
        if self.header is None and frame.height:
            self.header = self._names(frame.row(0))
            frame, numbers = frame.slice(1), numbers.slice(1)
        frame = frame.rename(dict(zip(frame.columns, self.header or [], strict=False)))
        frame = frame.with_columns(numbers)
        if self.text.replaced:
            frame = self._without_foreign_bytes(frame)
        # Empty text is no value, as every reader of these files has always read it.
        return frame.with_columns(
            pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in self.header or []
        )

    def _names(self, cells: tuple) -> list[str]:
        if any("\ufffd" in (c or "") for c in cells):
            raise UnreadableFile(say("file_header_encoding", self.name))
        names: list[str] = []
        for i, cell in enumerate(cells):
            base = cell or f"column_{i + 1}"
            names.append(base if base not in names else f"{base}_duplicated_{i}")
        return names

    def _without_foreign_bytes(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows holding bytes that are not UTF-8 (now U+FFFD): quarantined, the others kept."""
        text = [c for c in frame.columns if c != ROW]
        bad = pl.any_horizontal(pl.col(c).str.contains("\ufffd", literal=True) for c in text)
        mask = frame.select(bad).to_series()
        if not mask.any():
            return frame
        for row in frame.filter(mask).iter_rows(named=True):
            self.bad_lines += 1
            if self.bad_lines > MAX_BAD_LINES:
                raise self._too_many()
            raw = json.dumps(row, ensure_ascii=False)
            self.rejects.append(Reject(raw, say("not_utf8", row[ROW])))
        return frame.filter(~mask)


# ---- XLSX -------------------------------------------------------------------------------------


def _xlsx_frame(name: str, source: Source, sheet: str | None, limits: Limits) -> pl.DataFrame:
    header_row = check_xlsx(name, source, sheet, limits)
    try:
        frame = pl.read_excel(
            source, sheet_name=sheet, engine="calamine", drop_empty_rows=False,
            raise_if_empty=False,
        )  # fmt: skip
    except Exception as e:  # whatever the reader says is the file's reason
        raise UnreadableFile(say("file_unreadable", name, _brief(e))) from e
    assert isinstance(frame, pl.DataFrame)
    first = header_row + 1
    frame = frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW))
    cells = [c for c in frame.columns if c != ROW]
    return (
        frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in cells)) if cells else frame
    )


def check_xlsx(name: str, source: Source, sheet: str | None, limits: Limits) -> int:
    """Refuse a workbook no reader should open (see the module's docstring); return the sheet
    row of its first cells (the header)."""
    with _open(source) as fp:
        start = fp.read(8)
        if start.startswith(OLE2):
            raise UnreadableFile(say("file_xls", name))
        if not start.startswith(b"PK\x03\x04"):
            raise UnreadableFile(say("file_not_zip", name))
        _check_entries(name, fp)
        try:
            return _check_members(name, fp, sheet, limits)
        except (zipfile.BadZipFile, zlib.error, EOFError, struct.error) as e:
            raise UnreadableFile(say("file_not_zip", name)) from e


def _check_entries(name: str, fp: BinaryIO) -> None:
    """The entry count from the end-of-archive record, before zipfile makes an object of each."""
    size = fp.seek(0, io.SEEK_END)
    fp.seek(max(0, size - 22 - 65_535))
    tail = fp.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise UnreadableFile(say("file_not_zip", name))
    (entries,) = struct.unpack("<H", tail[at + 10 : at + 12])
    if entries == 0xFFFF or entries > MAX_ZIP_ENTRIES:  # 0xFFFF: a zip64 count, even more
        raise UnreadableFile(say("file_zip_entries", name, f"{entries:,}", f"{MAX_ZIP_ENTRIES:,}"))
    fp.seek(0)


@dataclass
class _Budget:
    """Bytes a workbook may unpack to: in all, and per member against what it was packed in."""

    name: str
    limit_mb: int
    used: int = 0

    def take(self, member: str, produced: int, total: int, packed: int) -> None:
        self.used += produced
        if self.used > self.limit_mb * MB:
            raise UnreadableFile(say("file_unpacked", self.name, self.limit_mb))
        if total > RATIO_FROM and total > MAX_RATIO * max(packed, 1):
            raise UnreadableFile(say("file_zip_ratio", self.name, member, MAX_RATIO))


def _check_members(name: str, fp: BinaryIO, sheet: str | None, limits: Limits) -> int:
    zf = zipfile.ZipFile(fp)
    infos = [i for i in zf.infolist() if not i.is_dir()]
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableFile(say("file_zip_method", name, info.filename))
    budget = _Budget(name, limits.max_unpacked_mb)
    members = {i.filename: i for i in infos}
    target = _sheet_member(name, fp, members, sheet, budget)
    header_row = 1
    for info in infos:
        chunks = _inflate(fp, info, budget)
        if info.filename == target or (target is None and _is_sheet(info.filename)):
            extent = _SheetExtent()
            for chunk in chunks:
                extent.feed(chunk)
            extent.check(name, limits)
            header_row = extent.first_row if info.filename == target else header_row
        elif PurePosixPath(info.filename).name == "sharedStrings.xml":
            _check_strings(name, chunks)
        else:
            for _ in chunks:  # unpacked to measure it: a reader would unpack it too
                pass
    return header_row


def _inflate(fp: BinaryIO, info: zipfile.ZipInfo, budget: _Budget) -> Iterator[bytes]:
    """A member's real content, a megabyte at a time, inflated here from its packed bytes (not
    trusting the size it declares), counted against the budget."""
    fp.seek(info.header_offset)
    local = fp.read(30)
    if len(local) < 30 or not local.startswith(b"PK\x03\x04"):
        raise zipfile.BadZipFile("no local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    left, read, total = info.compress_size, 0, 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    pending = b""
    while inflater is None or not inflater.eof:
        if not pending:
            if left <= 0:
                if inflater is None:
                    return
                raise zipfile.BadZipFile("cut short")
            pending = fp.read(min(left, MB))
            if not pending:
                raise zipfile.BadZipFile("cut short")
            left -= len(pending)
            read += len(pending)
        if inflater is None:
            out, pending = pending, b""
        else:
            out = inflater.decompress(pending, MB)
            pending = inflater.unconsumed_tail
        total += len(out)
        # What this output was inflated from: the packed bytes read, less those still waiting.
        budget.take(info.filename, len(out), total, read - len(pending))
        if out:
            yield out


def _is_sheet(member: str) -> bool:
    return "/worksheets/" in f"/{member}" and member.endswith(".xml")


_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\s([^>]*)>")
_REL_TAG = re.compile(r"<(?:\w+:)?Relationship\s([^>]*)>")
_ATTR = re.compile(r"([\w:]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attrs(text: str) -> dict[str, str]:
    return {k: unescape(a or b) for k, a, b in _ATTR.findall(text)}


def _small_member(fp: BinaryIO, info: zipfile.ZipInfo | None, budget: _Budget) -> str:
    if info is None:
        return ""
    return b"".join(_inflate(fp, info, budget)).decode("utf-8", "replace")


def _sheet_member(
    name: str, fp: BinaryIO, members: dict[str, zipfile.ZipInfo], sheet: str | None, budget
) -> str | None:
    """The zip member of the sheet a reader will read (by name, or the first); None when the
    workbook does not say (then every sheet is checked)."""
    book = _small_member(fp, members.get("xl/workbook.xml"), budget)
    sheets = [_attrs(m) for m in _SHEET_TAG.findall(book)]
    if sheet is not None:
        sheets = [s for s in sheets if s.get("name") == sheet]
        if not sheets:
            raise UnreadableFile(say("file_no_sheet", name, sheet))
    if not sheets:
        return None
    rel_id = next((v for k, v in sheets[0].items() if k.endswith(":id")), None)
    rels = _small_member(fp, members.get("xl/_rels/workbook.xml.rels"), budget)
    for rel in map(_attrs, _REL_TAG.findall(rels)):
        if rel.get("Id") == rel_id and rel.get("Target"):
            target = rel["Target"]
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            parts: list[str] = []
            for part in path.split("/"):  # "xl/../xl/worksheets/sheet1.xml"
                if part == "..":
                    parts = parts[:-1]
                elif part not in ("", "."):
                    parts.append(part)
            member = "/".join(parts)
            return member if member in members else None
    return None


_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\s[^>]*?\bref\s*=\s*[\"']([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?[\"']"
)
# Rows and cells as every common writer (Excel, LibreOffice, openpyxl, xlsxwriter) writes them:
# no namespace prefix, the reference first, in double quotes. A pattern that starts with a
# literal is found fast; a chunk holding tags written any other way takes the general ones.
_ROW_USUAL = re.compile(rb'<row r="(\d+)"')
_COLUMN_USUAL = re.compile(rb'<c r="([A-Z]{1,3})')
_CELL_ROW_USUAL = re.compile(rb'<c r="[A-Z]{1,3}(\d+)"')
_ROW_REF = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br\s*=\s*[\"'](\d+)[\"']")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Za-z]+)(\d+)[\"']")
_ROW_ANY = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL_ANY = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?(row|c)[\s>/]")


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _SheetExtent:
    """The rows and columns a sheet's cells span (what a reader allocates), from its XML read a
    chunk at a time: the declared `<dimension>`, and the real references of every row and cell
    (a cell without one sits after the cell before it)."""

    def __init__(self) -> None:
        self.declared: tuple[int, int] | None = None  # rows, columns
        self.rows = [1 << 62, 0]  # min, max
        self.cols = [1 << 62, 0]
        self.rows_without_ref = 0
        self.widest_row = 0  # cells in one row, counted when some have no reference
        self._in_row = 0
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        cut = data.rfind(b"<")
        if cut < 0 or len(data) - cut > MB:  # no tag is a megabyte long
            cut = len(data)
        part, self._carry = data[:cut], data[cut:]
        if self.declared is None and b"dimension" in part and (hit := _DIMENSION.search(part)):
            self._declare(hit.groups())
        rows, columns = self._references(part)
        if rows:
            numbers = list(map(int, rows))
            self._span(self.rows, min(numbers), max(numbers))
        if columns:
            numbers = [_column(c) for c in columns]
            self._span(self.cols, min(numbers), max(numbers))

    def _references(self, part: bytes) -> tuple[set[bytes], set[bytes]]:
        """The distinct row numbers (of rows and cells) and column letters the chunk refers to;
        rows and cells without a reference are counted."""
        if b":c" not in part and b":row" not in part:  # no namespace prefix: the usual way?
            rows = _ROW_USUAL.findall(part)
            cell_rows = _CELL_ROW_USUAL.findall(part)
            if len(rows) == part.count(b"<row") and len(cell_rows) == part.count(b"<c"):
                return {*rows, *cell_rows}, set(_COLUMN_USUAL.findall(part))
        rows, cells = _ROW_REF.findall(part), _CELL_REF.findall(part)
        self.rows_without_ref += len(_ROW_ANY.findall(part)) - len(rows)
        if len(_CELL_ANY.findall(part)) > len(cells):
            self._count_cells_per_row(part)
        return {*rows, *(r for _, r in cells)}, {c for c, _ in cells}

    def _count_cells_per_row(self, part: bytes) -> None:
        for hit in _ROW_OR_CELL.finditer(part):
            self._in_row = 0 if hit.group(1) == b"row" else self._in_row + 1
            self.widest_row = max(self.widest_row, self._in_row)

    @staticmethod
    def _span(span: list[int], low: int, high: int) -> None:
        span[0], span[1] = min(span[0], low), max(span[1], high)

    def _declare(self, groups: tuple[bytes, ...]) -> None:
        c1, r1, c2, r2 = groups
        if not (c1 and r1):
            return
        c2, r2 = c2 or c1, r2 or r1
        rows = abs(int(r2) - int(r1)) + 1
        self.declared = (rows, abs(_column(c2) - _column(c1)) + 1)

    @property
    def first_row(self) -> int:
        return self.rows[0] if self.rows[1] else 1

    def extent(self) -> tuple[int, int]:
        """(rows, columns) the cells span, a cell or row without a reference counted after the
        furthest one with a reference (the most it could add)."""
        rows = (self.rows[1] - self.rows[0] + 1) if self.rows[1] else 0
        cols = (self.cols[1] - self.cols[0] + 1) if self.cols[1] else 0
        return rows + self.rows_without_ref, cols + self.widest_row

    def check(self, name: str, limits: Limits) -> None:
        for rows, cols in filter(None, (self.declared, self.extent())):
            if rows * cols > limits.max_cells:
                raise UnreadableFile(
                    say("file_sheet_cells", name, f"{rows:,}", f"{cols:,}", f"{limits.max_cells:,}")
                )
            if cols > limits.max_columns:
                raise UnreadableFile(
                    say("file_columns", name, f"{cols:,}", f"{limits.max_columns:,}")
                )


_SST = re.compile(rb"<(?:\w+:)?sst\s[^>]*?\buniqueCount\s*=\s*[\"'](\d+)[\"']")
_SI = re.compile(rb"<(?:\w+:)?si[\s>/]")


def _check_strings(name: str, chunks: Iterator[bytes]) -> None:
    """A reader reserves the shared strings a workbook declares: no more than it holds."""
    declared, held, carry = None, 0, b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"<")  # cut before a tag: none is split between two chunks
        if cut < 0 or len(data) - cut > MB:  # text, not a tag: nothing to carry over
            cut = len(data)
        if declared is None and (hit := _SST.search(data, 0, cut)):
            declared = int(hit.group(1))
        held += len(_SI.findall(data, 0, cut))
        carry = data[cut:]
    held += len(_SI.findall(carry))
    if declared is not None and declared > 2 * held + 10_000:
        raise UnreadableFile(say("file_strings", name, f"{declared:,}", f"{held:,}"))


# ---- Parquet ----------------------------------------------------------------------------------


def _parquet_chunks(name: str, source: Source, limits: Limits) -> Iterator[pl.DataFrame]:
    import pyarrow.parquet as pq

    with _open(source) as fp:
        start = fp.read(4)
        fp.seek(-4, io.SEEK_END)
        if start != b"PAR1" or fp.read(4) != b"PAR1":
            raise UnreadableFile(say("file_not_parquet", name))
    try:
        parquet = pq.ParquetFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        meta = parquet.metadata
        if meta.num_columns > limits.max_columns:
            raise UnreadableFile(
                say("file_columns", name, f"{meta.num_columns:,}", f"{limits.max_columns:,}")
            )
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unpacked > limits.max_unpacked_mb * MB:
            raise UnreadableFile(say("file_unpacked", name, limits.max_unpacked_mb))
        row = 1
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            numbers = pl.int_range(row, row + frame.height, dtype=pl.Int64, eager=True)
            row += frame.height
            yield frame.with_columns(numbers.alias(ROW))
    except (pa.ArrowException, OSError) as e:
        raise UnreadableFile(say("file_unreadable", name, _brief(e))) from e
