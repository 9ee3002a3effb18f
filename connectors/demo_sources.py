"""Demo department sources, generated from the demo city, so `python app.py` exercises every kind.

Three departments keep their dossiers their own way (each owns a slice of the city's units,
which the demo city's direct load should leave out — see `owned_units`):
  * files: the Department of Justice's one-stop desk exports a CSV per month (UTF-8 with BOM,
    ";" separated, Vietnamese headers, dd/mm/yyyy HH:MM local time) and the current month as
    XLSX, plus a monthly satisfaction-survey sheet written with a decimal comma;
  * rest: District 4's dossier API on loopback (bearer token, page/size paging, updated_since),
    served by a small threaded HTTP server;
  * sql: Củ Chi's dossier database, a SQLite file with naive local timestamps.
A refresh thread re-generates the current and previous month every few minutes, so new
dossiers arrive and open ones complete, and the feeds have something incremental to pull.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import sqlite3
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl

from base.calendar import add_months
from base.tz import LOCAL_OFFSET, LOCAL_TZ
from config import Config
from connectors.demo_city import DEMO_START, generate
from connectors.demo_programmes import write_programmes

log = logging.getLogger(__name__)
# The unit (and its subtree) each demo source owns.
OWNERS = {"files": "SO-TP", "rest": "Q4", "sql": "CCHI"}
TOKEN_ENV = "IOC_DEMO_API_TOKEN"
CHANNEL_VI = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính"}
FILE_COLUMNS = {
    "dossier_id": "Mã hồ sơ", "unit_code": "Mã đơn vị", "procedure_code": "Mã thủ tục",
    "channel": "Kênh tiếp nhận", "received_at": "Ngày tiếp nhận", "due_at": "Hạn trả kết quả",
    "completed_at": "Ngày trả kết quả", "status": "Trạng thái",
    "record_digitized": "Số hóa hồ sơ", "result_digitized": "Số hóa kết quả",
    "e_result": "Kết quả điện tử", "reused_data": "Tái sử dụng dữ liệu",
    "paid_online": "Thanh toán trực tuyến", "full_process": "Toàn trình",
    "supplements": "Số lần bổ sung", "updated_at": "Cập nhật lúc",
}  # fmt: skip
SQL_COLUMNS = {
    "dossier_id": "ma_ho_so", "unit_code": "ma_don_vi", "procedure_code": "ma_thu_tuc",
    "channel": "kenh", "received_at": "ngay_tiep_nhan", "due_at": "han_tra",
    "completed_at": "ngay_hoan_thanh", "status": "trang_thai",
    "record_digitized": "so_hoa_ho_so", "result_digitized": "so_hoa_ket_qua",
    "e_result": "ket_qua_dien_tu", "reused_data": "tai_su_dung", "paid_online": "thanh_toan_tt",
    "full_process": "toan_trinh", "supplements": "so_lan_bo_sung", "updated_at": "cap_nhat_luc",
    "submit_method": "cach_nop", "registry_reused": "dung_lai_dkdn",
}  # fmt: skip
FLAGS = ("record_digitized", "result_digitized", "e_result", "reused_data", "paid_online",
         "full_process")  # fmt: skip
TIMES = ("received_at", "due_at", "completed_at", "updated_at")


def subtree(config: Config, root: str) -> set[str]:
    codes = {root}
    changed = True
    while changed:
        grown = codes | {u.code for u in config.units if u.parent_code in codes}
        changed, codes = grown != codes, grown
    return codes


def owned_units(config: Config) -> dict[str, set[str]]:
    """Source kind → the unit codes whose dossiers that demo source delivers."""
    return {
        kind: subtree(config, root) for kind, root in OWNERS.items() if root in config.unit_codes()
    }


def demo_dossiers(config: Config, units: set[str], start: date, now: datetime) -> pl.DataFrame:
    """The demo city's dossiers of `units` received from `start` until `now`."""
    sub = dataclasses.replace(
        config, units=tuple(u for u in config.units if u.code in units or u.parent_code is None)
    )
    frames = [
        f.filter(pl.col("unit_code").is_in(list(units))) for f in generate(sub, start, now=now)
    ]
    frames = [f for f in frames if f.height]
    return pl.concat(frames) if frames else pl.DataFrame()


def _local(col: str) -> pl.Expr:
    return pl.col(col).dt.convert_time_zone(LOCAL_TZ)


# ---- files ----------------------------------------------------------------------------------


def export_frame(dossiers: pl.DataFrame) -> pl.DataFrame:
    """A one-stop desk export: Vietnamese headers and values, local dd/mm/yyyy HH:MM times."""
    return dossiers.select(
        pl.col("dossier_id"), pl.col("unit_code"), pl.col("procedure_code"),
        pl.col("channel").replace_strict(CHANNEL_VI),
        *[_local(c).dt.strftime("%d/%m/%Y %H:%M").alias(c) for c in TIMES],
        pl.col("status").replace_strict({"completed": "Đã trả kết quả",
                                         "in_progress": "Đang xử lý"}, default="Khác"),
        *[pl.when(pl.col(f)).then(pl.lit("Có")).otherwise(pl.lit("Không")).alias(f) for f in FLAGS],
        pl.col("supplements").cast(pl.String),
    ).select(list(FILE_COLUMNS)).rename(FILE_COLUMNS)  # fmt: skip


def survey_frame(dossiers: pl.DataFrame) -> pl.DataFrame:
    """The monthly satisfaction survey per unit: counts written with a dot for thousands."""
    month = _local("received_at").dt.date().dt.truncate("1mo")
    counts = (
        dossiers.filter(pl.col("completed_at").is_not_null())
        .group_by(pl.col("unit_code"), month.alias("month"))
        .agg(pl.len().alias("rated"))
        .with_columns((pl.col("rated") * 0.83).floor().cast(pl.Int64).alias("satisfied"))
        .sort("month", "unit_code")
    )

    def dotted(col: str) -> pl.Expr:  # 12345 -> "12.345"
        return pl.col(col).map_elements(lambda n: f"{n:,}".replace(",", "."), pl.String)

    return counts.select(
        pl.col("unit_code").alias("Đơn vị"),
        pl.col("month").dt.strftime("%d/%m/%Y").alias("Kỳ báo cáo"),
        dotted("rated").alias("Số phiếu đánh giá"),
        dotted("satisfied").alias("Số phiếu hài lòng"),
    )


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """UTF-8 with a BOM and ";" separators, as Excel writes for a Vietnamese locale."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(b"\xef\xbb\xbf")
        frame.write_csv(f, separator=";")
    tmp.replace(path)  # atomic: a feed never reads half a file


def write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Hồ sơ")
    ws.append(frame.columns)
    for row in frame.iter_rows():
        ws.append(list(row))
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)


def write_exports(dossiers: pl.DataFrame, folder: Path, today: date, rewrite: bool) -> None:
    """Past months as CSV (written once), the current month as XLSX (rewritten), and the survey."""
    folder.mkdir(parents=True, exist_ok=True)
    month = _local("received_at").dt.strftime("%Y-%m")
    current = today.strftime("%Y-%m")
    for (key,), part in dossiers.with_columns(month.alias("_m")).group_by("_m"):
        part = part.drop("_m").sort("received_at")
        if key == current:
            write_xlsx(export_frame(part), folder / f"ho-so_{key}.xlsx")
            continue
        path = folder / f"ho-so_{key}.csv"
        if rewrite or not path.exists():
            write_csv(export_frame(part), path)
    survey, fresh = folder / "khao-sat_hai-long.csv", survey_frame(dossiers)
    if survey.exists() and not rewrite:  # keep the months this refresh did not regenerate
        old = pl.read_csv(survey, separator=";", infer_schema=False, encoding="utf8-lossy")
        old = old.rename({c: c.lstrip("\ufeff") for c in old.columns})
        old = old.filter(~pl.col("Kỳ báo cáo").is_in(fresh["Kỳ báo cáo"].implode()))
        fresh = pl.concat([old, fresh]).sort("Kỳ báo cáo", "Đơn vị")
    write_csv(fresh, survey)


# ---- SQLite ---------------------------------------------------------------------------------


def write_sqlite(dossiers: pl.DataFrame, path: Path) -> None:
    """Upsert into the department's table (naive local timestamps, 0/1 flags)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(SQL_COLUMNS.values())
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS ho_so (ma_ho_so TEXT PRIMARY KEY, ma_don_vi TEXT,"
            " ma_thu_tuc TEXT, kenh TEXT, ngay_tiep_nhan TIMESTAMP, han_tra TIMESTAMP,"
            " ngay_hoan_thanh TIMESTAMP, trang_thai TEXT, so_hoa_ho_so INTEGER,"
            " so_hoa_ket_qua INTEGER, ket_qua_dien_tu INTEGER, tai_su_dung INTEGER,"
            " thanh_toan_tt INTEGER, toan_trinh INTEGER, so_lan_bo_sung INTEGER,"
            " cap_nhat_luc TIMESTAMP, cach_nop TEXT, dung_lai_dkdn INTEGER)"
        )
        con.execute("CREATE INDEX IF NOT EXISTS ho_so_cap_nhat ON ho_so (cap_nhat_luc, ma_ho_so)")
        have = {r[1] for r in con.execute("PRAGMA table_info(ho_so)")}
        for column, kind in (("cach_nop", "TEXT"), ("dung_lai_dkdn", "INTEGER")):
            if column not in have:  # a demo database written before these columns existed
                con.execute(f"ALTER TABLE ho_so ADD COLUMN {column} {kind}")
        frame = dossiers.select(
            *[pl.col(c) for c in ("dossier_id", "unit_code", "procedure_code", "channel")],
            *[_local(c).dt.strftime("%Y-%m-%d %H:%M:%S").alias(c) for c in TIMES],
            pl.col("status"), *[pl.col(f).cast(pl.Int8) for f in FLAGS], pl.col("supplements"),
            pl.col("submit_method"), pl.col("registry_reused").cast(pl.Int8),
        ).select(list(SQL_COLUMNS))  # fmt: skip
        con.executemany(
            f"INSERT OR REPLACE INTO ho_so ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            frame.iter_rows(),
        )


# ---- REST -----------------------------------------------------------------------------------


def api_records(dossiers: pl.DataFrame) -> pl.DataFrame:
    """The API's view: camelCase fields, ISO times with the +07:00 offset, sorted for paging."""
    iso = "%Y-%m-%dT%H:%M:%S%:z"
    return dossiers.sort("updated_at", "dossier_id").select(
        pl.col("dossier_id").alias("id"), pl.col("unit_code").alias("unitCode"),
        pl.col("procedure_code").alias("procedureCode"), pl.col("channel"),
        _local("received_at").dt.strftime(iso).alias("receivedAt"),
        _local("due_at").dt.strftime(iso).alias("dueAt"),
        _local("completed_at").dt.strftime(iso).alias("completedAt"),
        pl.col("status"), *FLAGS, pl.col("supplements"),
        pl.col("submit_method").alias("submitMethod"), pl.col("registry_reused"),
        _local("updated_at").dt.strftime(iso).alias("updatedAt"),
        pl.col("updated_at").alias("_updated"),
    )  # fmt: skip


class _Api(BaseHTTPRequestHandler):
    server: _ApiServer

    def log_message(self, *args) -> None:  # keep the app's log readable
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/api/v1/dossiers":
            return self._send(404, {"error": "not found"})
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self._send(401, {"error": "invalid token"})
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            page, size = int(q.get("page", 1)), min(int(q.get("size", 500)), 5000)
            since = datetime.fromisoformat(q["updated_since"]) if q.get("updated_since") else None
        except ValueError as e:
            return self._send(400, {"error": str(e)})
        frame = self.server.records
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            frame = frame.filter(pl.col("_updated") >= since)
        part = frame.slice((page - 1) * size, size).drop("_updated")
        self._send(200, {"items": part.to_dicts(), "page": page, "size": size,
                         "total": frame.height})  # fmt: skip


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    records: pl.DataFrame
    token: str


@dataclasses.dataclass
class DemoSources:
    """The running demo sources: files and SQLite under `folder`, the API at `api_url`."""

    config: Config
    folder: Path
    server: _ApiServer
    units: dict[str, set[str]]
    refresh_seconds: float
    _stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    _threads: list[threading.Thread] = dataclasses.field(default_factory=list)

    @property
    def api_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def exports_dir(self) -> Path:
        return self.folder / "exports"

    @property
    def sqlite_path(self) -> Path:
        return self.folder / "cu-chi.sqlite"

    def refresh(self, now: datetime | None = None, start: date | None = None) -> None:
        """Regenerate from `start` (default: the previous month) up to `now` and publish it."""
        now = now or datetime.now(UTC)
        today = now.astimezone().date()
        start = start or add_months(today.replace(day=1), -1)
        full = start <= DEMO_START
        if "files" in self.units:
            write_exports(demo_dossiers(self.config, self.units["files"], start, now),
                          self.exports_dir, today, rewrite=full)  # fmt: skip
        if "sql" in self.units:
            write_sqlite(
                demo_dossiers(self.config, self.units["sql"], start, now), self.sqlite_path
            )
        # The programmes' department files (DTI, forms, registry sync log, ID-paper cases).
        write_programmes(self.config, self.folder / "programmes", (now + LOCAL_OFFSET).date())
        if "rest" in self.units:
            fresh = api_records(demo_dossiers(self.config, self.units["rest"], start, now))
            old = getattr(self.server, "records", None)
            if old is not None and old.height and not full:
                old = old.filter(~pl.col("id").is_in(fresh["id"].implode()))
                fresh = pl.concat([old, fresh]).sort("_updated", "id")
            self.server.records = fresh

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:
                log.exception("demo sources refresh failed")

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def start_demo_sources(
    config: Config,
    data_dir: Path | str,
    port: int = 0,
    refresh_seconds: float = 300,
    start: date = DEMO_START,
    now: datetime | None = None,
) -> DemoSources:
    """Generate the demo sources under `<data_dir>/demo` and serve the API on 127.0.0.1.

    Sets IOC_DEMO_API_TOKEN (a fresh random token) unless it is set already: the demo API and
    the demo REST feed both read it, as a real deployment would read a real token.
    """
    token = os.environ.setdefault(TOKEN_ENV, secrets.token_urlsafe(24))
    server = _ApiServer(("127.0.0.1", port), _Api)
    server.token = token
    server.records = pl.DataFrame(schema={"id": pl.String, "_updated": pl.Datetime("us", "UTC")})
    demo = DemoSources(
        config, Path(data_dir) / "demo", server, owned_units(config), refresh_seconds
    )
    demo.folder.mkdir(parents=True, exist_ok=True)
    demo.refresh(now, start)
    serve = threading.Thread(target=server.serve_forever, name="demo-api", daemon=True)
    serve.start()
    demo._threads.append(serve)
    if refresh_seconds > 0:
        loop = threading.Thread(target=demo._loop, name="demo-refresh", daemon=True)
        loop.start()
        demo._threads.append(loop)
    log.info("demo sources: files and SQLite in %s, API at %s", demo.folder, demo.api_url)
    return demo
