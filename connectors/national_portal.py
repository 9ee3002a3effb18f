"""The national public-service portal's 766 evaluation API → report rows.

POST `/api/v1/reporting/evaluation/<endpoint>` with `timeType` month/quarter/year (the
satisfaction endpoint takes `fromDate`/`toDate`), `rootDepartmentId`, and for a procedure
drill-down `formalityId` (`formalityID` for dossier-digitized). Two response shapes:
  * tree: `data.parent` + `data.children[]` with counts (totalReceived, totalOnTime, …);
  * overview: `data.overview` + `data.evaluation[]`, each with `metrics[]` of
    {code, numerator, denominator, ratio, score, maxScore}, paged by `pagination`.
Only the *children* become rows: a parent's counts are the sums over its children, so loading
both would count every dossier twice; the metrics layer rebuilds the parent (a ratio of sums).
Portal departments map to our units through `config/portal_units.csv`; an unmapped department
is quarantined with its code and name, never guessed. `null` stays null (not reported ≠ 0).

Options: `base_url`, `root_department_id`, `time_type` (month|quarter|year), `endpoints`
(default all six), `procedures` (our codes to drill down into; `formality_ids` maps a code to
the portal's id, else the catalogue is searched), `lookback_periods` (earlier periods re-read on
every run for late corrections, default 1), `initial_periods` (a first run's history, default 12), `units_file`, `page_size`, `token_env`, and the HTTP limits of connectors/rest.py
(`timeout_seconds` for each whole exchange, `max_response_mb`, `run_timeout_seconds`, retries).
Each is declared, with its type and default, in PORTAL_OPTIONS.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from base.calendar import bucket_start, shift
from config import CONFIG_DIR, ConfigError
from connectors.base import Connector, OptionSpec, Pull, Seen, SourceError, Window, register
from connectors.rest import HTTP_OPTIONS, HttpClient, dig
from warehouse.loading import Reject
from warehouse.messages import say
from warehouse.shapes import REPORT_SCHEMA

EVALUATION_PATH = "/api/v1/reporting/evaluation/"
FORMALITIES_PATH = "/api/v1/reporting/formalities"
TIME_TYPES = {"month": "month", "quarter": "quarter", "year": "year"}

# Tree endpoints: child field -> measure code. Counts first, then the endpoint's score.
TREE_FIELDS: dict[str, dict[str, str]] = {
    "dvc-progress-tree": {"totalReceived": "received", "totalOnTime": "on_time",
                          "totalOverdue": "overdue", "score": "portal_score_progress"},
    "provide-online-tree": {"totalScore": "portal_score_online"},
    "formality-online-payment-tree": {
        "totalDossierOnlinePaymentSuccess": "paid_online",
        "totalDossierFinancialObligation": "fee_bearing",
        "totalScore": "portal_score_payment",
    },
}  # fmt: skip
# Overview endpoints: metric code -> (numerator measure, denominator measure); plus the score.
OVERVIEW_METRICS: dict[str, dict[str, tuple[str, str]]] = {
    "dossier-digitized": {
        "ORIGINAL_RESULT_AVAILABLE": ("portal_e_result", "portal_dossiers"),
        "SO_HOA_GIAY_TO_GIAI_QUYET": ("portal_record_digitized", "portal_dossiers"),
        "REUSED_DIGITIZED_DATA": ("portal_reused_data", "portal_dossiers"),
        "CITIZEN_DATA_CONNECTED_DOSSIER": ("portal_population_data", "portal_dossiers"),
    },
    "transparency": {"DOSSIER_SYNC": ("portal_dossiers_synced", "portal_dossiers_to_sync")},
    "handling-satisfaction": {
        "DOSSIER_RECEIVING_SATISFACTION": ("portal_satisfied", "portal_satisfaction_base"),
        "PETITION_PROCESSING_ON_TIME": ("portal_petitions_on_time", "portal_petitions"),
        "PETITION_HANDLING_SATISFACTION": ("portal_petitions_satisfied", "portal_petitions"),
    },
}
OVERVIEW_SCORES = {"dossier-digitized": "portal_score_digitization",
                   "transparency": "portal_score_transparency",
                   "handling-satisfaction": "portal_score_satisfaction"}  # fmt: skip
ENDPOINTS = (*TREE_FIELDS, *OVERVIEW_METRICS)
PORTAL_MEASURES = sorted(
    {m for f in TREE_FIELDS.values() for m in f.values()}
    | {m for f in OVERVIEW_METRICS.values() for pair in f.values() for m in pair}
    | set(OVERVIEW_SCORES.values())
)


@dataclass(frozen=True)
class PortalUnits:
    """The portal's departments (by id or by code) → our unit codes."""

    by_id: dict[str, str]
    by_code: dict[str, str]

    def unit_for(self, dept: dict[str, Any]) -> str | None:
        dept_id, code = dept.get("departmentId"), dept.get("departmentCode")
        # Ids and codes are text (or numbers); anything else in the answer maps to no unit.
        dept_id = (
            str(dept_id) if isinstance(dept_id, str | int) and not isinstance(dept_id, bool) else ""
        )
        code = str(code) if isinstance(code, str | int) and not isinstance(code, bool) else ""
        return self.by_id.get(dept_id) or self.by_code.get(code)


def load_portal_units(path: Path | str, unit_codes: set[str] | None = None) -> PortalUnits:
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "file", "is missing")
    by_id: dict[str, str] = {}
    by_code: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        need = {"portal_department_id", "portal_code", "unit_code"}
        if not need <= set(reader.fieldnames or []):
            raise ConfigError(path, "header", f"needs columns {', '.join(sorted(need))}")
        for row in reader:
            where = f"line {reader.line_num}"
            dept_id, code = (
                (row["portal_department_id"] or "").strip(),
                (row["portal_code"] or "").strip(),
            )
            unit = (row["unit_code"] or "").strip()
            if not unit or not (dept_id or code):
                raise ConfigError(path, where, "needs unit_code and a portal id or code")
            if unit_codes is not None and unit not in unit_codes:
                raise ConfigError(path, where, f"unknown unit {unit!r}")
            for key, table in ((dept_id, by_id), (code, by_code)):
                if key and key in table:
                    raise ConfigError(path, where, f"portal department {key} is mapped twice")
                if key:
                    table[key] = unit
    return PortalUnits(by_id, by_code)


# ---- pure parsing ----------------------------------------------------------------------------


def _row(dept: dict[str, Any], unit: str, period: date, grain: str, measure: str, value: Any,
         procedure: str | None) -> dict[str, Any]:  # fmt: skip
    return {"_dept": dept.get("departmentId") or dept.get("departmentCode"), "unit_code": unit, "period_start": period, "grain": grain, "measure_code": measure,
            "procedure_code": procedure, "value": value}  # fmt: skip


def _number(value: Any) -> float | None:
    """A portal count or score; TypeError when it is not a number (the row is rejected)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(repr(value))
    return float(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:4000]


def _not_an_object(endpoint: str, value: Any) -> Reject:
    return Reject(_json(value), say("portal_not_object", endpoint))


def _unmapped(endpoint: str, dept: dict[str, Any]) -> Reject:
    raw = {k: v for k, v in dept.items() if k != "metrics"} | {"endpoint": endpoint}
    label = dept.get("departmentCode") or dept.get("departmentId")
    return Reject(
        json.dumps(raw, ensure_ascii=False),
        say("portal_unmapped", label, dept.get("departmentName", "")),
    )


def parse_response(
    endpoint: str,
    body: Any,
    units: PortalUnits,
    period: date,
    grain: str,
    procedure: str | None = None,
) -> tuple[list[dict[str, Any]], list[Reject]]:
    """One portal answer → report rows (children only) and rejects (unmapped departments)."""
    data = dig(body, "data")
    if not isinstance(data, dict):
        raise SourceError(f"{endpoint}: no 'data' object in the answer")
    if endpoint in TREE_FIELDS:
        rows, rejects = _tree(endpoint, data, units, period, grain, procedure)
    else:
        rows, rejects = _overview(endpoint, data, units, period, grain, procedure)
    good = []
    for row in rows:
        try:
            good.append(row | {"value": _number(row["value"])})
        except TypeError:
            raw = json.dumps({k: v for k, v in row.items() if k != "_dept"}, default=str,
                             ensure_ascii=False)  # fmt: skip
            reason = say("not_a_number", row["measure_code"], repr(row["value"]))
            rejects.append(Reject(raw, reason))
    return good, rejects


def _tree(endpoint, data, units, period, grain, procedure):
    rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    children = data.get("children")
    if not isinstance(children, list):
        raise SourceError(f"{endpoint}: no 'children' list in the answer")
    for child in children:
        if not isinstance(child, dict):
            rejects.append(_not_an_object(endpoint, child))
            continue
        unit = units.unit_for(child)
        if unit is None:
            rejects.append(_unmapped(endpoint, child))
            continue
        for field, measure in TREE_FIELDS[endpoint].items():
            if field in child:
                rows.append(_row(child, unit, period, grain, measure, child[field], procedure))
    return rows, rejects


def _overview(endpoint, data, units, period, grain, procedure):
    rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    evaluation = data.get("evaluation")
    if not isinstance(evaluation, list):
        raise SourceError(f"{endpoint}: no 'evaluation' list in the answer")
    wanted = OVERVIEW_METRICS[endpoint]
    for dept in evaluation:
        if not isinstance(dept, dict):
            rejects.append(_not_an_object(endpoint, dept))
            continue
        unit = units.unit_for(dept)
        if unit is None:
            rejects.append(_unmapped(endpoint, dept))
            continue
        if "totalScore" in dept:
            rows.append(_row(dept, unit, period, grain, OVERVIEW_SCORES[endpoint],
                             dept["totalScore"], procedure))  # fmt: skip
        metrics = dept.get("metrics") or []
        if not isinstance(metrics, list):
            rejects.append(Reject(_json(dept), say("portal_metrics_not_list", endpoint)))
            continue
        for metric in metrics:
            if not isinstance(metric, dict) or not isinstance(metric.get("code"), str):
                rejects.append(Reject(_json(metric), say("portal_metric_without_code", endpoint)))
                continue
            pair = wanted.get(metric["code"])
            if pair is None:
                continue
            rows.append(_row(dept, unit, period, grain, pair[0], metric.get("numerator"),
                             procedure))  # fmt: skip
            rows.append(_row(dept, unit, period, grain, pair[1], metric.get("denominator"),
                             procedure))  # fmt: skip
    return rows, rejects


def report_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows → a canonical report frame.

    A denominator shared by several metrics of one agency counts once; several portal agencies
    mapped to one of our units add up (all-null stays null: not reported is not 0).
    """
    schema = {"_dept": pl.String} | REPORT_SCHEMA
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    key = ["unit_code", "period_start", "grain", "measure_code", "procedure_code"]
    frame = frame.unique(["_dept", *key], keep="first", maintain_order=True)
    value = pl.when(pl.col("value").is_not_null().any()).then(pl.col("value").sum())
    return (
        frame.group_by(key, maintain_order=True)
        .agg(value.alias("value"))
        .select(list(REPORT_SCHEMA))
    )


def request_body(
    endpoint: str, time_type: str, period: date, root: str, page: int, size: int,
    formality_id: str | None,
) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {"rootDepartmentId": root, "currentPage": page, "pageSize": size}
    if endpoint == "handling-satisfaction":
        end = shift(period, time_type, 1)
        last = date.fromordinal(end.toordinal() - 1)
        body |= {"fromDate": period.isoformat(), "toDate": last.isoformat()}
    else:
        body |= {"timeType": time_type, "year": period.year}
        if time_type == "month":
            body["month"] = period.month
        elif time_type == "quarter":
            body["quarter"] = (period.month - 1) // 3 + 1
    if formality_id is not None:
        body["formalityID" if endpoint == "dossier-digitized" else "formalityId"] = formality_id
    return body


def periods(
    grain: str, window: Window | None, today: date, lookback: int, last: date | None,
    initial: int = 12,
) -> list[date]:  # fmt: skip
    """The periods one run reads, oldest first.

    A backfill: every period overlapping the window. Otherwise from the last period read (it may
    have been incomplete then), or `lookback` periods back if that is earlier, to the current one;
    a first run reads `initial` periods back.
    """
    if window is not None:
        out, p = [], bucket_start(window.start, grain)
        while p <= window.end:
            out.append(p)
            p = shift(p, grain, 1)
        return out
    current = bucket_start(today, grain)
    first = shift(current, grain, -(initial - 1 if last is None else lookback))
    if last is not None:
        first = min(first, bucket_start(last, grain))
    out, p = [], first
    while p <= current:
        out.append(p)
        p = shift(p, grain, 1)
    return out


PORTAL_OPTIONS: dict[str, OptionSpec] = {
    "base_url": OptionSpec("text", required=True),
    "root_department_id": OptionSpec("text", required=True),
    "time_type": OptionSpec("text", default="month", choices=tuple(TIME_TYPES)),
    "endpoints": OptionSpec("list", default=list(ENDPOINTS), choices=ENDPOINTS),
    "procedures": OptionSpec("list", default=[]),
    "formality_ids": OptionSpec("table", default={}),
    "lookback_periods": OptionSpec("whole", default=1, minimum=0),
    "initial_periods": OptionSpec("whole", default=12, minimum=1),
    "units_file": OptionSpec("text", default="{config_dir}/portal_units.csv"),
    "page_size": OptionSpec("whole", default=200, minimum=1),
    **HTTP_OPTIONS,
}

# ---- I/O -------------------------------------------------------------------------------------


@register
class NationalPortalConnector(Connector):
    kind = "national_portal"
    options = PORTAL_OPTIONS

    def __init__(self, feed, config):
        super().__init__(feed, config)
        self.client: HttpClient | None = None

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = self.feed.options["base_url"].rstrip("/") + path
        return self.client.request("POST", url, json=body)

    def formality_id(self, code: str) -> str:
        known = self.feed.options.get("formality_ids", {})
        if code in known:
            return known[code]
        page, size = 1, 100
        while True:
            body = self._post(FORMALITIES_PATH, {"currentPage": page, "pageSize": size,
                                                 "keyword": code})  # fmt: skip
            for item in dig(body, "data.items") or []:
                if item.get("code") == code:
                    return item["id"]
            total = dig(body, "data.pagination.totalPages") or 1
            if page >= total:
                raise SourceError(f"procedure {code} is not in the portal's catalogue")
            page += 1

    def fetch(self, endpoint: str, period: date, formality: str | None) -> list[Any]:
        """Every page of one endpoint for one period (tree answers come in one page)."""
        opts = self.feed.options
        size = int(opts.get("page_size", 200))
        bodies, page = [], 1
        while True:
            body = request_body(endpoint, opts.get("time_type", "month"), period,
                                opts["root_department_id"], page, size, formality)  # fmt: skip
            answer = self._post(EVALUATION_PATH + endpoint, body)
            bodies.append(answer)
            total = dig(answer, "data.pagination.totalPages")
            if not total or page >= int(total):
                return bodies
            page += 1

    def pulls(
        self, state: dict[str, Any], window: Window | None = None, seen: Seen | None = None
    ) -> Iterator[Pull]:
        opts = self.feed.options
        time_type = opts.get("time_type", "month")
        if time_type not in TIME_TYPES:
            raise SourceError(f"time_type must be month, quarter or year, not {time_type!r}")
        units = load_portal_units(opts.get("units_file", CONFIG_DIR / "portal_units.csv"),
                                  self.config.unit_codes())  # fmt: skip
        self.client = HttpClient(opts)
        endpoints = opts.get("endpoints", list(ENDPOINTS))
        targets: list[tuple[str | None, str | None]] = [(None, None)]
        targets += [(code, self.formality_id(code)) for code in opts.get("procedures", [])]
        today = datetime.now(UTC).astimezone(ZoneInfo(self.feed.parse.timezone)).date()
        last = date.fromisoformat(state["last_period"]) if state.get("last_period") else None
        lookback, initial = (
            int(opts.get("lookback_periods", 1)),
            int(opts.get("initial_periods", 12)),
        )
        for period in periods(time_type, window, today, lookback, last, initial):
            rows: list[dict[str, Any]] = []
            rejects: list[Reject] = []
            for endpoint in endpoints:
                if endpoint not in ENDPOINTS:
                    raise SourceError(f"unknown portal endpoint {endpoint!r}")
                for procedure, formality in targets:
                    for body in self.fetch(endpoint, period, formality):
                        r, bad = parse_response(endpoint, body, units, period, time_type,
                                                procedure)  # fmt: skip
                        rows += r
                        rejects += bad
            frame = report_frame(rows)
            state_after = None if window is not None else {"last_period": period.isoformat()}
            yield Pull(reports=frame, rejects=rejects, rows_read=frame.height + len(rejects),
                       state=state_after, source_key=None)  # fmt: skip

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
