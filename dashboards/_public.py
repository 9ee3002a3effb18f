"""The public DTI page and its open data: `/public/dti`, `/public/dti.csv`, `/public/dti.json`.

Departments are asked to publicize their digital transformation index (DTI); these three URLs
are meant to be reachable without signing in. They are plain Flask routes, not a Dash page: no
app navbar, no callbacks, no script, and no link anywhere but to themselves (the other language,
the other grain, the CSV and JSON of the same data). Read-only: they show what the DTI feed
loaded, nothing about dossiers, people or the rest of the warehouse.

Query: `lang` (vi|en), `grain` (quarter|year), and on the page `period` (YYYY-MM-DD, a period
start; default the newest). Numbers on the page follow the language (vi: 72,4); the CSV and JSON
use a dot decimal point and ISO dates, one row per department and period.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from html import escape

from flask import Blueprint, Response, request

from base.tz import local_wall
from dashboards import _format as fmt
from dashboards._i18n import lang_of
from dashboards._runtime import runtime
from metrics.programmes import DTI_COMPONENTS, dti_table

PREFIX = "/public/dti"
GRAINS = ("quarter", "year")
TEXT = {
    "title": {"vi": "Chỉ số chuyển đổi số (DTI) của các sở, ngành TP. Hồ Chí Minh",
              "en": "Digital transformation index (DTI) of Ho Chi Minh City's departments"},
    "intro": {"vi": "Điểm DTI (thang 100) và điểm từng thành phần, công bố theo quý và theo năm.",
              "en": "DTI points (out of 100) and each component's points, published by quarter and year."},
    "rank": {"vi": "Hạng", "en": "Rank"},
    "department": {"vi": "Sở, ngành", "en": "Department"},
    "change": {"vi": "So với kỳ trước", "en": "Change"},
    "period": {"vi": "Kỳ", "en": "Period"},
    "quarter": {"vi": "Theo quý", "en": "By quarter"},
    "year": {"vi": "Theo năm", "en": "By year"},
    "progress": {"vi": "Diễn biến DTI qua các kỳ", "en": "DTI over time"},
    "open_data": {"vi": "Dữ liệu mở", "en": "Open data"},
    "none": {"vi": "Chưa có dữ liệu DTI.", "en": "No DTI data yet."},
    "max": {"vi": "tối đa", "en": "max"},
    "other_lang": {"vi": "English", "en": "Tiếng Việt"},
}  # fmt: skip
MAX_POINTS = {"dti_awareness": 10, "dti_institutions": 10, "dti_infrastructure": 15,
              "dti_human_resources": 15, "dti_security": 15, "dti_operations": 35}  # fmt: skip
CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#0b3d91;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:6px 0 0;opacity:.9}main{padding:18px 28px;max-width:1400px}
nav a,footer a{margin-right:14px;color:#0b3d91}nav{margin-bottom:14px}
table{border-collapse:collapse;width:100%;background:#fff;font-variant-numeric:tabular-nums}
th,td{padding:6px 8px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th:nth-child(2),td:nth-child(2){text-align:left;white-space:normal;min-width:240px}
th{background:#eef1f5;font-size:13px;white-space:normal;vertical-align:bottom}
.wide{overflow-x:auto}
.bar{display:inline-block;height:10px;background:#1f5fa8;border-radius:2px;vertical-align:middle;margin-left:6px}
.up{color:#1a7f37}.down{color:#c62828}h2{font-size:18px;margin-top:28px}footer{margin-top:24px;font-size:13px}
"""


def _lang() -> str:
    return lang_of(request.args.get("lang"))


def _grain() -> str:
    value = request.args.get("grain", "quarter")
    return value if value in GRAINS else "quarter"


def _names() -> dict[str, tuple[str, str]]:
    cfg = runtime().config
    return {u.code: (u.name_vi, u.name_en) for u in cfg.units if u.kind == "department"}


def _component_name(code: str, lang: str) -> str:
    m = runtime().config.measures[code]
    return m.name_vi if lang == "vi" else m.name_en


def _href(**params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return f"{PREFIX}?{query}" if query else PREFIX


def _rows(grain: str) -> list[dict]:
    """Every department and period of `grain`, oldest period first: the open-data rows."""
    frame = dti_table(runtime().warehouse.cursor(), grain, all_periods=True)
    names = _names()
    rows = []
    for r in frame.iter_rows(named=True):
        vi, en = names.get(r["unit_code"], (r["unit_code"], r["unit_code"]))
        rows.append({
            "unit_code": r["unit_code"], "name_vi": vi, "name_en": en, "grain": grain,
            "period_start": r["period_start"].isoformat(),
            "dti": _round(r["dti"]), "dti_previous": _round(r["dti_prev"]),
            "dti_change": _round(r["dti_change"]),
            **{c: _round(r[c]) for c in DTI_COMPONENTS},
        })  # fmt: skip
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def page() -> Response:
    lang, grain = _lang(), _grain()
    tx = {k: v[lang] for k, v in TEXT.items()}
    cur = runtime().warehouse.cursor()
    period = None
    if request.args.get("period"):
        try:
            period = date.fromisoformat(request.args["period"])
        except ValueError:
            period = None
    table = dti_table(cur, grain, period)
    history = dti_table(cur, grain, all_periods=True)
    names = _names()
    other = "en" if lang == "vi" else "vi"
    parts = [
        "<!doctype html>", f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>DTI · TP.HCM</title><style>{CSS}</style></head><body>",
        f'<header><h1 id="dti-title">{escape(tx["title"])}</h1><p>{escape(tx["intro"])}</p></header><main>',
        "<nav>",
        f'<a href="{_href(lang=lang, grain="quarter")}">{escape(tx["quarter"])}</a>',
        f'<a href="{_href(lang=lang, grain="year")}">{escape(tx["year"])}</a>',
        f'<a href="{_href(lang=other, grain=grain)}" hreflang="{other}">{escape(tx["other_lang"])}</a>',
        "</nav>",
    ]  # fmt: skip
    if not table.height:
        parts.append(f'<p id="dti-empty">{escape(tx["none"])}</p>')
    else:
        start = table["period_start"][0]
        parts.append(f'<p>{escape(tx["period"])}: <b id="dti-period">'
                     f'{escape(fmt.period(start, grain, lang))}</b></p>')  # fmt: skip
        heads = [
            tx["rank"],
            tx["department"],
            "DTI",
            tx["change"],
            *[f"{_component_name(c, lang)} ({tx['max']} {MAX_POINTS[c]})" for c in DTI_COMPONENTS],
        ]
        parts.append('<div class="wide"><table id="dti-table"><thead><tr>'
                     + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr></thead><tbody>")  # fmt: skip
        for i, r in enumerate(table.iter_rows(named=True), start=1):
            name = names.get(r["unit_code"], (r["unit_code"],) * 2)[0 if lang == "vi" else 1]
            change = r["dti_change"]
            cls = "" if change is None or change == 0 else ("up" if change > 0 else "down")
            sign = "" if change is None or change <= 0 else "+"
            width = max(0.0, min(100.0, r["dti"] or 0.0)) * 1.2
            cells = [str(i), escape(name),
                     f'{fmt.number(r["dti"], 1, lang)}<span class="bar" style="width:{width:.0f}px"></span>',
                     f'<span class="{cls}">{sign}{fmt.number(change, 1, lang) if change is not None else "–"}</span>',
                     *[fmt.number(r[c], 1, lang) for c in DTI_COMPONENTS]]  # fmt: skip
            parts.append(f'<tr data-unit="{escape(r["unit_code"])}">'
                         + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")  # fmt: skip
        parts.append("</tbody></table></div>")
        # Progress: each department's DTI over the recent periods.
        periods = sorted(set(history["period_start"].to_list()))[-8:]
        by = {(r["unit_code"], r["period_start"]): r["dti"] for r in history.iter_rows(named=True)}
        parts.append(f'<h2>{escape(tx["progress"])}</h2><div class="wide"><table id="dti-progress"><thead><tr><th></th>'
                     f'<th>{escape(tx["department"])}</th>'
                     + "".join(f"<th>{escape(fmt.period(p, grain, lang))}</th>" for p in periods)
                     + "</tr></thead><tbody>")  # fmt: skip
        for code in table["unit_code"].to_list():
            name = names.get(code, (code,) * 2)[0 if lang == "vi" else 1]
            vals = "".join(f"<td>{fmt.number(by.get((code, p)), 1, lang) if by.get((code, p)) is not None else '–'}</td>"
                           for p in periods)  # fmt: skip
            parts.append(f"<tr><td></td><td>{escape(name)}</td>{vals}</tr>")
        parts.append("</tbody></table></div>")
    parts += [
        f'<footer>{escape(tx["open_data"])}: ',
        f'<a href="{PREFIX}.csv?grain={grain}" id="dti-csv">CSV</a>',
        f'<a href="{PREFIX}.json?grain={grain}" id="dti-json">JSON</a>',
        f"<span>{escape(fmt.moment(local_wall(datetime.now(UTC)), lang))}</span>",
        "</footer>",
        "</main></body></html>",
    ]  # fmt: skip
    return Response("\n".join(parts), mimetype="text/html")


def csv_data() -> Response:
    grain = _grain()
    rows = _rows(grain)
    columns = ["unit_code", "name_vi", "name_en", "grain", "period_start", "dti", "dti_previous",
               "dti_change", *DTI_COMPONENTS]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_cell(r[c]) for c in columns])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="dti-{grain}.csv"'})  # fmt: skip


def json_data() -> Response:
    grain = _grain()
    body = {
        "title_vi": TEXT["title"]["vi"], "title_en": TEXT["title"]["en"], "grain": grain,
        "scale": "points of 100", "generated_at": datetime.now(UTC).isoformat(),
        "components": [{"code": c, "name_vi": _component_name(c, "vi"),
                        "name_en": _component_name(c, "en"), "max_points": MAX_POINTS[c]}
                       for c in DTI_COMPONENTS],
        "rows": _rows(grain),
    }  # fmt: skip
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def public_blueprint() -> Blueprint:
    """The three public routes (register on the Flask server; access control lets /public/ in)."""
    bp = Blueprint("public_dti", __name__)
    bp.add_url_rule(PREFIX, "page", page, methods=["GET"])
    bp.add_url_rule(f"{PREFIX}.csv", "csv", csv_data, methods=["GET"])
    bp.add_url_rule(f"{PREFIX}.json", "json", json_data, methods=["GET"])
    return bp
