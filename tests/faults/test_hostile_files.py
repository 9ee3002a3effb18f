"""Issue #24, classes 1 and 7: hostile files never take the process down, and one bad line or
file never stops good data.

Every file here is written the way an attacker (or a broken exporter) would send it: zip
members and their XML by hand with the standard library, CSV as bytes in the encoding chosen,
nothing shipped as a binary fixture. Each hostile file is dropped in a files feed's folder
before a good one, and the run must: live through it, load the good rows, and record the
hostile file's fate (its reason, in quarantine) once, not on every run.

The dangerous variants run in a process of their own (`python -c`, like the app): before the
fix a 1.6 KB workbook made the reader allocate hundreds of GiB and the process aborted, which
must fail a test, not end the test session.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from connectors.base import Pull
from connectors.files import FilesConnector
from connectors.runner import run_feed
from tests.connectors.conftest import make_feed
from warehouse import Batch
from warehouse.messages import say, words

REPO = Path(__file__).resolve().parents[2]
MB = 1 << 20
RSS_LIMIT_KB = 1536 * 1024  # the app's goal: peak RSS ≤ 1.5 GB
# The options of every feed below: a small reader memory (so that a workbook within the cell
# bound still kills its worker) and a small file-size bound (so that "huge" is quick to write).
OPTIONS = {"reader_memory_mb": 512, "max_file_mb": 8}

# ---- files as an attacker writes them ---------------------------------------------------------

HEADER = "dossier_id,unit_code,procedure_code,channel,received_at,due_at,status"
RECEIVED = datetime.now(UTC) - timedelta(days=3)


def row(dossier_id: str, status: str = "done") -> str:
    received = RECEIVED.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    due = (RECEIVED + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"{dossier_id},Q1-BENNGHE,2.000815,online,{received},{due},{status}"


def csv_text(ids: list[str]) -> str:
    return "\n".join([HEADER, *(row(i) for i in ids)]) + "\n"


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    b'+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
PACKAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    b'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    b"</Relationships>"
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships"><sheets><sheet name="H&#7891; s&#417;" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    b'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b"</Relationships>"
)


def cell(ref: str | None, value: str) -> str:
    at = f' r="{ref}"' if ref else ""
    return f'<c{at} t="inlineStr"><is><t>{value}</t></is></c>'


def sheet(rows: list[tuple[int, list[tuple[str | None, str]]]], dimension: str = "") -> bytes:
    """A worksheet's XML: rows of (reference or None, text) cells."""
    body = "".join(
        f'<row r="{r}">' + "".join(cell(ref, v) for ref, v in cells) + "</row>" for r, cells in rows
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.'
        f'org/spreadsheetml/2006/main">{dim}<sheetData>{body}</sheetData></worksheet>'
    ).encode()


def xlsx(worksheet: bytes, strings: bytes | None = None) -> bytes:
    """A workbook zipped here, member by member."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        if strings is not None:
            z.writestr("xl/sharedStrings.xml", strings)
        z.writestr("xl/worksheets/sheet1.xml", worksheet)
    return buf.getvalue()


def good_workbook(dossier_ids: list[str]) -> bytes:
    head = HEADER.split(",")
    lines = [(1, [(f"{chr(65 + c)}1", name) for c, name in enumerate(head)])]
    for r, dossier_id in enumerate(dossier_ids, start=2):
        values = row(dossier_id).split(",")
        lines.append((r, [(f"{chr(65 + c)}{r}", v) for c, v in enumerate(values)]))
    return xlsx(sheet(lines, f"A1:G{len(dossier_ids) + 1}"))


@cache
def zip_bomb() -> bytes:
    """A ~1 MB workbook whose shared strings unpack to 1 GiB (one string a reader would hold)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", PACKAGE_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ):
            z.writestr(name, data)
        with z.open("xl/sharedStrings.xml", "w") as f:
            f.write(
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                b' uniqueCount="1"><si><t>'
            )
            block = b"A" * MB
            for _ in range(1024):
                f.write(block)
            f.write(b"</t></si></sst>")
        z.writestr("xl/worksheets/sheet1.xml", sheet([(1, [("A1", "x")])], "A1"))
    return buf.getvalue()


def corners() -> bytes:
    """The issue's 1.6 KB workbook: a cell at A1 and one at the sheet's very last cell."""
    return xlsx(sheet([(1, [("A1", "a")]), (1048576, [("XFD1048576", "z")])], "A1:XFD1048576"))


def sparse_column_100() -> bytes:
    """A cell at A1 and one at row 1,048,576, column 100 (CV): 4.65 GB before the fix."""
    return xlsx(sheet([(1, [("A1", "a")]), (1048576, [("CV1048576", "z")])]))


def lying_dimension() -> bytes:
    """Two real cells; the sheet declares the whole grid."""
    return xlsx(sheet([(1, [("A1", "a")]), (2, [("A2", "b")])], "A1:XFD1048576"))


def cells_without_references() -> bytes:
    """Row 1,048,576 with 100 cells that give no reference: placed one after another."""
    return xlsx(sheet([(1, [("A1", "a")]), (1048576, [(None, "z")] * 100)]))


def prefixed() -> bytes:
    """The corners again, every element with a namespace prefix (a check that looks for `<c ` only
    would see no cell at all)."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return xlsx(
        f'<x:worksheet xmlns:x="{ns}"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr">'
        '<x:is><x:t>a</x:t></x:is></x:c></x:row><x:row r="1048576"><x:c r="XFD1048576"'
        ' t="inlineStr"><x:is><x:t>z</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>'.encode()
    )


def odd_attributes() -> bytes:
    """The corners with the reference last and in single quotes."""
    return xlsx(
        sheet([(1, [("A1", "a")])]).replace(
            b"</sheetData>",
            b"<row r='1048576'><c t='inlineStr' r='XFD1048576'><is><t>z"
            b"</t></is></c></row></sheetData>",
        )
    )


def needs_memory() -> bytes:
    """Within every bound (19,000 rows × 1,000 columns = 19 M cells < 20 M), and still 608 MB
    for the reader's grid: the worker's memory limit is what stops it."""
    return xlsx(sheet([(1, [("A1", "dossier_id")]), (19000, [("ALL19000", "z")])]))


def string_count_liar() -> bytes:
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        b' count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>'
    )
    return xlsx(sheet([(1, [("A1", "a")])], "A1"), strings)


def truncated_workbook() -> bytes:
    data = good_workbook(ids("T", 5))
    return data[: len(data) // 2]


def old_excel() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000


def binary() -> bytes:
    return bytes(range(256)) * 16


def utf16_without_bom() -> bytes:
    return csv_text(ids("U", 3)).encode("utf-16-le")


def utf16_with_bom() -> bytes:
    return csv_text(ids("B", 3)).encode("utf-16")  # BOM first, as Windows writes it


def wide_header() -> bytes:
    return (",".join(f"c{i}" for i in range(5000)) + "\n" + "1," * 4999 + "1\n").encode()


def ragged() -> bytes:
    """Rows 3 and 5 have too few and too many fields; row 4 holds a quoted line break (one row,
    two lines)."""
    lines = [
        HEADER,
        row("R0000"),
        "R0001,Q1-BENNGHE",
        row("R0002", '"two\nlines"'),
        row("R0003") + ",extra",
        row("R0004"),
    ]
    return ("\n".join(lines) + "\n").encode()


def foreign_bytes() -> bytes:
    """Rows 3 and 5 carry Windows-1258 bytes (a copy from an old desktop tool)."""
    lines = [HEADER.encode(), *(row(i).encode() for i in ids("W", 5))]
    for n in (2, 4):
        lines[n] = row(f"W{n - 1:04d}", "Đông").encode("cp1258")
    return b"\n".join(lines) + b"\n"


def foreign_header() -> bytes:
    return (HEADER + ",Đông\n").encode("cp1258") + b"".join(
        (row(i) + ",x\n").encode() for i in ids("H", 2)
    )


def truncated_csv() -> bytes:
    data = csv_text(ids("C", 5)).encode()
    return data[: data.rindex(b"online")]  # cut in the middle of the last row


def duplicates() -> bytes:
    """D0001 twice: the later row (4) loads, row 2 is quarantined saying so."""
    return csv_text(["D0001", "D0002", "D0001", "D0003"]).encode()


@dataclass(frozen=True)
class Variant:
    file: str  # the hostile file's name (sorted before the good file of its folder)
    write: Callable[[Path], None]
    reasons: tuple[str, ...]  # every quarantine reason the file gets
    loaded: int = 0  # its rows that load
    options: dict = field(default_factory=dict)


def data(build: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(build())


def huge(path: Path) -> None:
    with path.open("wb") as f:  # 9 MB of nothing, written in no time
        f.truncate(9 * MB)


def file_says(key: str, *values: object) -> Callable[[str], str]:
    return lambda name: say(key, name, *values)


VARIANTS: dict[str, Variant] = {
    v.file: v
    for v in (
        Variant(
            "a-corners.xlsx",
            data(corners),
            (say("file_sheet_cells", "a-corners.xlsx", "1,048,576", "16,384", "20,000,000"),),
        ),
        Variant(
            "a-column-100.xlsx",
            data(sparse_column_100),
            (say("file_sheet_cells", "a-column-100.xlsx", "1,048,576", "100", "20,000,000"),),
        ),
        Variant(
            "a-lying-dimension.xlsx",
            data(lying_dimension),
            (
                say(
                    "file_sheet_cells",
                    "a-lying-dimension.xlsx",
                    "1,048,576",
                    "16,384",
                    "20,000,000",
                ),
            ),
        ),
        Variant(
            "a-no-references.xlsx",
            data(cells_without_references),
            (say("file_sheet_cells", "a-no-references.xlsx", "1,048,576", "101", "20,000,000"),),
        ),
        Variant(
            "a-prefixed.xlsx",
            data(prefixed),
            (say("file_sheet_cells", "a-prefixed.xlsx", "1,048,576", "16,384", "20,000,000"),),
        ),
        Variant(
            "a-odd-attributes.xlsx",
            data(odd_attributes),
            (
                say(
                    "file_sheet_cells", "a-odd-attributes.xlsx", "1,048,576", "16,384", "20,000,000"
                ),
            ),
        ),
        Variant(
            "a-zip-bomb.xlsx",
            data(zip_bomb),
            (say("file_zip_ratio", "a-zip-bomb.xlsx", "xl/sharedStrings.xml", 200),),
        ),
        Variant(
            "a-string-count.xlsx",
            data(string_count_liar),
            (say("file_strings", "a-string-count.xlsx", "4,000,000,000", "1"),),
        ),
        Variant(
            "a-needs-memory.xlsx",
            data(needs_memory),
            (say("file_memory", "a-needs-memory.xlsx", 512),),
        ),
        Variant(
            "a-truncated.xlsx", data(truncated_workbook), (say("file_not_zip", "a-truncated.xlsx"),)
        ),
        Variant(
            "a-csv-named.xlsx",
            data(lambda: csv_text(ids("N", 2)).encode()),
            (say("file_not_zip", "a-csv-named.xlsx"),),
        ),
        Variant("a-old-excel.xlsx", data(old_excel), (say("file_xls", "a-old-excel.xlsx"),)),
        Variant(
            "a-workbook-named.csv",
            data(lambda: good_workbook(ids("X", 2))),
            (say("file_zip_as_csv", "a-workbook-named.csv"),),
        ),
        Variant("a-binary.csv", data(binary), (say("file_not_text", "a-binary.csv"),)),
        Variant(
            "a-utf16-no-bom.csv",
            data(utf16_without_bom),
            (say("file_not_text", "a-utf16-no-bom.csv"),),
        ),
        Variant("a-huge.csv", huge, (say("file_too_big", "a-huge.csv", 9, 8),)),
        Variant(
            "a-wide.csv", data(wide_header), (say("file_columns", "a-wide.csv", "5,000", "2,000"),)
        ),
        Variant(
            "a-foreign-header.csv",
            data(foreign_header),
            (say("file_header_encoding", "a-foreign-header.csv"),),
        ),
        # Row-level: the file loads but for its bad lines. The ragged one is read by a worker.
        Variant(
            "a-ragged.csv",
            data(ragged),
            (say("ragged", 3, 2, 7), say("ragged", 5, 8, 7)),
            loaded=3,
            options={"in_process_kb": 0},
        ),
        Variant(
            "a-foreign-bytes.csv",
            data(foreign_bytes),
            (say("not_utf8", 3), say("not_utf8", 5)),
            loaded=3,
        ),
        Variant("a-truncated.csv", data(truncated_csv), (say("ragged", 6, 4, 7),), loaded=4),
        Variant(
            "a-duplicates.csv",
            data(duplicates),
            ("duplicate of row 4 (dossier_id D0001), which is loaded",),
            loaded=3,
        ),
        Variant("a-utf16.csv", data(utf16_with_bom), (), loaded=3),
    )
}
GOOD_ROWS = 3  # every folder's good file, "z-good.csv", after the hostile one


def folder_of(root: Path, variant: Variant, n: int) -> Path:
    folder = root / f"v{n:02d}"
    folder.mkdir()
    variant.write(folder / variant.file)
    (folder / "z-good.csv").write_text(csv_text(ids(f"G{n:02d}-", GOOD_ROWS)))
    return folder


# ---- every variant, run as the app runs a feed, in a process of its own ------------------------

RUN_FEEDS = textwrap.dedent("""
    import json, re, sys
    from datetime import timedelta
    from config import load_config
    from connectors.feeds import Feed, Schedule
    from connectors.runner import run_feed
    from warehouse import open_warehouse

    spec = json.loads(sys.stdin.read())
    wh = open_warehouse(spec["warehouse"], load_config())
    for v in spec["variants"]:
        feed = Feed(v["feed"], "files", "dossier", True, Schedule(every=timedelta(minutes=5)),
                    timedelta(hours=1), options=v["options"])
        first, again = run_feed(wh, feed), run_feed(wh, feed)
        cur = wh.cursor()
        batches = cur.execute("SELECT source_key, status, rows_loaded, rows_quarantined, error"
                              " FROM load_batch WHERE source = ? ORDER BY batch_id",
                              [feed.name]).fetchall()
        reasons = cur.execute("SELECT b.source_key, q.reason, q.raw FROM quarantine q"
                              " JOIN load_batch b USING (batch_id) WHERE q.source = ?"
                              " ORDER BY q.reason", [feed.name]).fetchall()
        print(json.dumps({"file": v["file"], "batches": batches, "reasons": reasons,
                          "again": [[r.status, r.rows_read] for r in again]}), flush=True)
    peak = re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)
    print(json.dumps({"peak_kb": int(peak)}), flush=True)
""")


@dataclass
class Runs:
    code: int
    stderr: str
    by_file: dict[str, dict]
    peak_kb: int | None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("hostile")
    spec = {
        "warehouse": str(root / "ioc.duckdb"),
        "variants": [
            {
                "file": v.file,
                "feed": f"hostile_{n:02d}",
                "options": {"path": str(folder_of(root, v, n)), **OPTIONS, **v.options},
            }
            for n, v in enumerate(VARIANTS.values())
        ],
    }
    env = os.environ | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", RUN_FEEDS],
        input=json.dumps(spec),
        check=False,
        text=True,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return Runs(
        done.returncode,
        done.stderr[-3000:],
        {d["file"]: d for d in lines if "file" in d},
        next((d["peak_kb"] for d in lines if "peak_kb" in d), None),
    )


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_hostile_file_is_quarantined_and_the_rest_of_the_feed_loads(runs: Runs, name: str):
    variant = VARIANTS[name]
    assert name in runs.by_file, f"the run did not live through {name}: {runs.stderr}"
    run = runs.by_file[name]
    # One ok batch per file: none failed, none was skipped, the good file after it loaded; the
    # second run found nothing new (an unreadable file used to fail, and stop the feed, on
    # every run).
    assert [(key, status) for key, status, *_ in run["batches"]] == [
        (name, "ok"),
        ("z-good.csv", "ok"),
        (None, "ok"),
    ], run["batches"]
    (_, _, loaded, _, _), (_, _, good, _, _), _ = run["batches"]
    assert (loaded, good) == (variant.loaded, GOOD_ROWS)
    assert sorted(reason for key, reason, _ in run["reasons"]) == sorted(variant.reasons)
    assert all(key == name for key, _, _ in run["reasons"])
    if variant.loaded == 0 and variant.reasons:  # the whole file: its raw row names it
        assert json.loads(run["reasons"][0][2])["file"] == name
    assert run["again"] == [["ok", 0]]  # recorded once: the next run reads nothing again


def test_the_process_lived_through_every_hostile_file_within_its_memory(runs: Runs):
    assert runs.code == 0, runs.stderr
    assert set(runs.by_file) == set(VARIANTS)
    # The workbook within the cell bound ran its worker out of memory; the parent lived on.
    assert runs.by_file["a-needs-memory.xlsx"]["reasons"][0][1].endswith("512 MB memory limit")
    assert runs.peak_kb is not None and runs.peak_kb < RSS_LIMIT_KB, runs.peak_kb


# ---- one bad line or file never stops good data (in this process: nothing here is dangerous) --


def files_feed(folder: Path, name: str = "desk", **options):
    return make_feed(name, "files", options={"path": str(folder), **OPTIONS, **options})


def loaded_ids(wh, source: str = "desk") -> list[str]:
    rows = (
        wh.cursor()
        .execute("SELECT dossier_id FROM dossier WHERE source = ? ORDER BY 1", [source])
        .fetchall()
    )
    return [r[0] for r in rows]


def reasons(wh, source: str = "desk") -> list[str]:
    rows = (
        wh.cursor()
        .execute("SELECT reason FROM quarantine WHERE source = ? ORDER BY reason", [source])
        .fetchall()
    )
    return [r[0] for r in rows]


@pytest.mark.parametrize(
    ("lines", "separator", "expected"),
    [
        (["A1,Q1", "A2"], ",", [say("ragged", 3, 2, 7), say("ragged", 4, 1, 7)]),
        (["A1,x,y,z,w,v,u,t,s"], ",", [say("ragged", 3, 9, 7)]),
        (["A1,,,,,,,"], ",", [say("ragged", 3, 8, 7)]),  # one separator too many
        (["", "A1,Q1", ""], ",", [say("ragged", 3, 2, 7)]),  # blank lines are no rows
        (["A1;Q1"], ";", [say("ragged", 3, 2, 7)]),
    ],
    ids=["too-few", "too-many", "trailing-separator", "blank-lines", "semicolons"],
)
def test_a_ragged_line_is_quarantined_and_the_other_rows_load(
    wh, tmp_path, lines, separator, expected
):
    good = [row(i) for i in ids("K", 4)]
    text = "\n".join([HEADER, good[0], *lines, *good[1:]]) + "\n"
    (tmp_path / "desk.csv").write_text(text.replace(",", separator))
    (result,) = run_feed(wh, files_feed(tmp_path, separator=separator))
    assert result.status == "ok", result.error
    assert loaded_ids(wh) == ids("K", 4)  # before: the whole file was refused
    assert reasons(wh) == expected
    assert result.rows_read == 4 + len(expected)  # every row read has a fate


def test_an_unreadable_file_does_not_stop_the_files_after_it(wh, tmp_path):
    (tmp_path / "2026-01.xlsx").write_bytes(truncated_workbook())
    (tmp_path / "2026-02.csv").write_text(csv_text(ids("F", 2)))
    (tmp_path / "2026-03.csv").write_text(csv_text(ids("M", 2)))
    feed = files_feed(tmp_path)
    first = run_feed(wh, feed)
    assert [r.status for r in first] == ["ok", "ok", "ok"]
    assert loaded_ids(wh) == [*ids("F", 2), *ids("M", 2)]
    assert reasons(wh) == [say("file_not_zip", "2026-01.xlsx")]
    # The next runs skip every version already recorded (they used to stop at the bad one).
    assert [(r.status, r.rows_read) for r in run_feed(wh, feed)] == [("ok", 0)]


def test_a_corrected_re_export_of_a_quarantined_file_loads(wh, tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(truncated_workbook())  # cut short by a copy that did not finish
    feed = files_feed(tmp_path)
    run_feed(wh, feed)
    assert loaded_ids(wh) == [] and len(reasons(wh)) == 1
    path.write_bytes(good_workbook(ids("E", 3)))  # the same name, new content: a new hash
    (result,) = run_feed(wh, feed)
    assert (result.status, result.rows_loaded) == ("ok", 3)
    assert loaded_ids(wh) == ids("E", 3)


def test_a_duplicate_row_is_quarantined_saying_which_row_loaded(wh, tmp_path):
    text = csv_text(["D1", "D2"]) + row("D1", "later") + "\n" + row("D2", "again") + "\n"
    (tmp_path / "desk.csv").write_text(text)
    (result,) = run_feed(wh, files_feed(tmp_path))
    assert result.rows_loaded == 2 and result.rows_quarantined == 2
    assert reasons(wh) == [
        "duplicate of row 4 (dossier_id D1), which is loaded",
        "duplicate of row 5 (dossier_id D2), which is loaded",
    ]
    statuses = wh.cursor().execute("SELECT status FROM dossier ORDER BY dossier_id").fetchall()
    assert statuses == [("later",), ("again",)]  # the later row won: as before, now said
    raw = json.loads(wh.cursor().execute("SELECT raw FROM quarantine LIMIT 1").fetchone()[0])
    assert raw["_row"] in (2, 3)  # the quarantined copy says where it was
    vi = words(reasons(wh)[0], "vi")
    assert vi == "trùng với dòng 4 (dossier_id D1), dòng đó được nạp"


def test_a_duplicate_from_a_source_without_row_numbers_is_quarantined_too(wh):
    frame = pl.read_csv(io.StringIO(csv_text(["S1", "S1"])), infer_schema=False)
    from connectors.mapping import parse_dossiers

    good, rejects = parse_dossiers(frame, make_feed("api", "rest"))
    result = wh.load(Batch("api", dossiers=good, rejects=rejects))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert reasons(wh, "api") == [say("sent_again", "dossier_id S1")]


def test_a_figure_sent_twice_in_one_batch_is_counted_once(wh):
    from warehouse.shapes import REPORT_SCHEMA

    month = {
        "unit_code": "Q1",
        "period_start": datetime(2026, 3, 1).date(),
        "grain": "month",
        "measure_code": "received",
        "procedure_code": None,
    }
    frame = pl.DataFrame([month | {"value": 10.0}, month | {"value": 12.0}], schema=REPORT_SCHEMA)
    result = wh.load(Batch("sheet", reports=frame, source_rows=pl.Series([2, 3])))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert wh.cursor().execute("SELECT value FROM report").fetchall() == [(12.0,)]  # not 22
    assert reasons(wh, "sheet") == [
        "duplicate of row 3 (received of Q1 for month 2026-03-01), which is loaded"
    ]


@pytest.mark.parametrize(
    ("encode", "loaded", "expected"),
    [
        (lambda t: t.encode("utf-16"), 3, []),
        (lambda t: b"\xfe\xff" + t.encode("utf-16-be"), 3, []),
        (lambda t: t.encode("utf-8-sig"), 3, []),
        (
            lambda t: t.replace("done", "Đông").encode("cp1258"),
            0,
            [say("not_utf8", n) for n in (2, 3, 4)],
        ),
        (
            lambda t: t.replace("R0001,Q1", "R0001,Q1 côté").encode("latin-1"),
            2,
            [say("not_utf8", 3)],
        ),
    ],
    ids=["utf-16-le-bom", "utf-16-be-bom", "utf-8-bom", "cp1258", "latin-1-line"],
)
def test_text_in_another_encoding_is_decoded_or_its_lines_quarantined(
    wh, tmp_path, encode, loaded, expected
):
    (tmp_path / "desk.csv").write_bytes(encode(csv_text(ids("R", 3))))
    (result,) = run_feed(wh, files_feed(tmp_path))
    assert result.status == "ok", result.error
    assert result.rows_loaded == loaded and reasons(wh) == expected


def test_a_failed_file_is_recorded_and_the_run_goes_on(wh):
    """A file that cannot be read for a reason that may pass (an I/O error, a worker stopped
    from outside) fails alone: recorded, read again next time, the next files load."""
    good = pl.read_csv(io.StringIO(csv_text(["P1"])), infer_schema=False)
    from connectors.mapping import parse_dossiers

    frame, _ = parse_dossiers(good, make_feed("desk", "rest"))

    class Folder(FilesConnector):
        def pulls(self, state, window=None, seen=None):
            yield Pull(failed="a.csv: cannot read the file: I/O error", source_key="a.csv")
            yield Pull(dossiers=frame, rows_read=1, source_key="b.csv", content_hash="h")

    feed = files_feed(Path("/nonexistent"))
    results = run_feed(wh, feed, connector=Folder(feed, wh.config))
    assert [r.status for r in results] == ["failed", "ok"]
    assert loaded_ids(wh) == ["P1"]
    assert wh.cursor().execute(
        "SELECT source_key, status FROM load_batch ORDER BY batch_id"
    ).fetchall() == [("a.csv", "failed"), ("b.csv", "ok")]


def in_worker(source: object) -> bool:
    """A workbook is only ever read by a worker (and is then given as a path)."""
    return isinstance(source, Path) and source.suffix == ".xlsx"


class CrashingReader(FilesConnector):
    """A reader with a bug that kills its process."""

    def read_pull(self, key, source, digest):
        if in_worker(source):
            os.abort()
        return super().read_pull(key, source, digest)


class HangingReader(FilesConnector):
    def read_pull(self, key, source, digest):
        if in_worker(source):
            time.sleep(120)
        return super().read_pull(key, source, digest)


@pytest.mark.parametrize(
    ("reader", "expected"),
    [
        (CrashingReader, "file a.xlsx: the reader crashed (signal SIGABRT"),
        (HangingReader, say("file_slow", "a.xlsx", 2)),
    ],
    ids=["crash", "hang"],
)
def test_a_reader_that_crashes_or_hangs_ends_only_its_worker(wh, tmp_path, reader, expected):
    (tmp_path / "a.xlsx").write_bytes(good_workbook(ids("Y", 2)))
    (tmp_path / "b.csv").write_text(csv_text(ids("Z", 2)))
    feed = files_feed(tmp_path, reader_seconds=2)
    results = run_feed(wh, feed, connector=reader(feed, wh.config))
    assert [r.status for r in results] == ["ok", "ok"]  # this process, and the feed, go on
    assert loaded_ids(wh) == ids("Z", 2)
    assert reasons(wh)[0].startswith(expected)


def test_a_big_csv_is_read_by_a_worker_and_loads_whole(wh, tmp_path):
    """Above `in_process_kb` a CSV is read in blocks by a worker: every row loads, numbered."""
    n = 60_000
    (tmp_path / "big.csv").write_text(csv_text(ids("L", n)) + "L-bad,1\n")
    (result,) = run_feed(wh, files_feed(tmp_path, in_process_kb=64))
    assert (result.status, result.rows_loaded) == ("ok", n)
    assert reasons(wh) == [say("ragged", n + 2, 2, 7)]


# ---- the app itself, over a folder of every hostile file at once ------------------------------


def feeds_toml(folder: Path) -> str:
    return textwrap.dedent(f"""
        [feeds.hostile_desk]
        kind = "files"
        shape = "dossier"
        description = {{ vi = "Thư mục tệp độc hại", en = "A folder of hostile files" }}
        schedule = {{ every = "6h" }}
        options = {{ path = "{folder}", reader_memory_mb = 512, max_file_mb = 8 }}
    """)


def vm(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field)))


def test_the_app_serves_pages_throughout_a_hostile_folder_and_shows_every_fate(tmp_path):
    from bench.dash_client import router_request
    from tests.access.test_access_web import post
    from tests.conftest import cli_headers, create_user, http_session, start_app

    folder = tmp_path / "drop"
    folder.mkdir()
    expected: dict[str, tuple[str, ...]] = {}
    for v in VARIANTS.values():
        name = v.file.removeprefix("a-")
        v.write(folder / name)
        expected[name] = tuple(r.replace(v.file, name) for r in v.reasons)
    # Good files, one of them big enough for a worker to read it in blocks (~6.5 MB).
    (folder / "good.csv").write_text(csv_text(ids("OK", 10)))
    (folder / "good.xlsx").write_bytes(good_workbook(ids("WB", 5)))
    (folder / "big.csv").write_text(csv_text(ids("BIG", 70_000)))
    good_rows = 10 + 5 + 70_000 + sum(v.loaded for v in VARIANTS.values())
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("__pycache__"))
    with (config / "feeds.toml").open("a") as f:
        f.write(feeds_toml(folder))
    data = tmp_path / "data"
    data.mkdir()
    create_user(data, "admin", "admin")

    app = start_app(data, "--no-demo", "--config-dir", str(config))
    answered: list[float] = []
    try:
        deadline = time.monotonic() + 300
        while True:  # the feed runs at start: every page request meanwhile is answered
            for path in ("/healthz", "/login"):
                started = time.monotonic()
                with urllib.request.urlopen(app.url + path, timeout=20) as r:
                    assert r.status == 200
                answered.append(time.monotonic() - started)
            feeds = json.loads(
                urllib.request.urlopen(
                    urllib.request.Request(app.url + "/api/feeds", headers=cli_headers(app)),
                    timeout=20,
                ).read()
            )
            (desk,) = [f for f in feeds if f["name"] == "hostile_desk"]
            if desk["last_run_at"] and not desk["running"]:
                break
            assert time.monotonic() < deadline, desk
            time.sleep(0.2)
        assert desk["last_status"] == "ok" and desk["failed_runs"] == 0, desk
        assert desk["total_rows_loaded"] == good_rows
        assert vm(app.process.pid, "VmHWM") < RSS_LIMIT_KB  # the app's own peak, readers apart

        admin = http_session(app.url, "admin")
        pages = {}
        for lang in ("en", "vi"):
            r = post(admin, app.url, router_request("/sources", f"?lang={lang}"))
            assert r.status_code == 200
            pages[lang] = json.dumps(r.json(), ensure_ascii=False)
        for name, reasons_of_file in expected.items():
            for reason in reasons_of_file:
                assert reason in pages["en"], (name, reason)
                assert words(reason, "vi") in pages["vi"], (name, reason)
    finally:
        app.stop()
    assert len(answered) >= 2
    assert b"Traceback" not in (data / "app.log").read_bytes()
