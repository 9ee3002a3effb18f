"""The national portal's 766 API: our own small fixtures (always), and the real captures of one
province in ../shared/fixtures/national-portal (when present): the metrics layer fed the
children rows reproduces the portal's own parent ratio."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES, Script, make_feed

from config import CONFIG_DIR, load_config
from connectors.base import Window
from connectors.national_portal import load_portal_units, parse_response, request_body
from connectors.runner import run_feed
from metrics import query
from warehouse import open_warehouse

OURS = FIXTURES / "national-portal"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "national-portal"
AUGUST = Window(date(2026, 8, 1), date(2026, 8, 31))


def portal_ratio(num: int, den: int) -> float:
    """The portal's rounding: 100 × num / den, half-up to 2 decimals (29/32 → 90.63)."""
    return float((Decimal(100 * num) / Decimal(den)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def fixture_server(serve, folder: Path, files: dict[str, str]) -> tuple[str, Script]:
    def handler(req):
        endpoint = req.path.rsplit("/", 1)[-1]
        if endpoint not in files:
            return 404, {"error": "unknown"}, 0
        name = files[endpoint]
        if isinstance(name, tuple):  # (all procedures, one procedure)
            drill = req.body.get("formalityId") or req.body.get("formalityID")
            name = name[1] if drill else name[0]
        return 200, (folder / name).read_bytes(), 0

    script = Script(handler)
    return serve(script), script


def portal_feed(url: str, units_file: Path, **options):
    return make_feed("portal", "national_portal", "report", options={
        "base_url": url, "root_department_id": "root", "units_file": str(units_file),
        "retries": 0, **options})  # fmt: skip


def test_request_bodies_follow_the_portal():
    month = request_body("dvc-progress-tree", "month", date(2026, 8, 1), "root", 1, 200, "f1")
    assert month == {"rootDepartmentId": "root", "currentPage": 1, "pageSize": 200,
                     "timeType": "month", "year": 2026, "month": 8, "formalityId": "f1"}  # fmt: skip
    sat = request_body("handling-satisfaction", "month", date(2026, 2, 1), "root", 1, 100, None)
    assert (sat["fromDate"], sat["toDate"]) == (
        "2026-02-01",
        "2026-02-28",
    ) and "timeType" not in sat
    dig = request_body("dossier-digitized", "quarter", date(2026, 7, 1), "root", 1, 100, "f1")
    assert dig["quarter"] == 3 and dig["formalityID"] == "f1" and "formalityId" not in dig


def test_children_become_report_rows_and_null_stays_null(config):
    units = load_portal_units(OURS / "portal_units.csv", config.unit_codes())
    body = json.loads((OURS / "handling-satisfaction.json").read_text())
    rows, rejects = parse_response("handling-satisfaction", body, units, date(2026, 8, 1), "month")
    got = {(r["unit_code"], r["measure_code"]): r["value"] for r in rows}
    assert got[("Q1-BENNGHE", "portal_satisfied")] == 30
    assert got[("Q1-BENTHANH", "portal_score_satisfaction")] is None  # not 0
    assert got[("Q1-BENTHANH", "portal_petitions_on_time")] is None
    assert got[("Q1-BENNGHE", "portal_petitions")] == 0  # a real zero stays zero
    assert not rejects
    assert all(r["unit_code"] != "HCM" for r in rows)  # the parent is never a row


def test_portal_feed_loads_children_and_quarantines_unmapped_agencies(serve, wh):
    url, script = fixture_server(serve, OURS, {
        "dvc-progress-tree": "dvc-progress-tree.json",
        "handling-satisfaction": "handling-satisfaction.json"})  # fmt: skip
    feed = portal_feed(
        url, OURS / "portal_units.csv", endpoints=["dvc-progress-tree", "handling-satisfaction"]
    )
    results = run_feed(wh, feed, AUGUST)
    assert [r.status for r in results] == ["ok"]
    reasons = [r[0] for r in wh.cursor().execute("SELECT reason FROM quarantine").fetchall()]
    assert reasons == ["unmapped portal department T79.01.99 (Ban quản lý chợ (not in our units))"]
    frame = query(wh.cursor(), wh.config, ["on_time_rate", "satisfaction_rate"], "month",
                  date(2026, 8, 1), date(2026, 8, 31), {"unit": "Q1"}, targets=False)  # fmt: skip
    row = frame.row(0, named=True)
    assert (row["on_time_rate_num"], row["on_time_rate_den"]) == (52, 57)
    assert (row["satisfaction_rate_num"], row["satisfaction_rate_den"]) == (50, 57)
    assert round(row["satisfaction_rate"], 2) == 87.72  # the fixture parent's own ratio
    # a re-run of the same period replaces, never adds
    assert run_feed(wh, feed, AUGUST)[-1].status == "ok"
    again = query(wh.cursor(), wh.config, ["on_time_rate"], "month", date(2026, 8, 1),
                  date(2026, 8, 31), {"unit": "Q1"}, targets=False)  # fmt: skip
    assert again["on_time_rate_den"].to_list() == [57]
    bodies = [r.body for r in script.requests]
    assert {"fromDate": "2026-08-01", "toDate": "2026-08-31"}.items() <= bodies[-1].items()


def test_a_late_correction_replaces_the_portal_value(serve, wh, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    body = json.loads((OURS / "dvc-progress-tree.json").read_text())
    (folder / "tree.json").write_text(json.dumps(body))
    url, _ = fixture_server(serve, folder, {"dvc-progress-tree": "tree.json"})
    feed = portal_feed(url, OURS / "portal_units.csv", endpoints=["dvc-progress-tree"])
    run_feed(wh, feed, AUGUST)
    body["data"]["children"][0]["totalOnTime"] = 31
    body["data"]["children"][0]["totalOverdue"] = 1
    (folder / "tree.json").write_text(json.dumps(body))
    run_feed(wh, feed, AUGUST)
    value = (
        wh.cursor()
        .execute(
            "SELECT value FROM report WHERE unit_code = 'Q1-BENNGHE' AND measure_code = 'on_time'"
        )
        .fetchall()
    )
    assert value == [(31.0,)]


# ---- acceptance over the real captures -------------------------------------------------------

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent")


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A configuration where the captured province is one of our units and its 163 agencies
    are its children, plus the portal mapping for them."""
    tree = json.loads((SHARED / "dvc-progress-tree" / "month-all.json").read_text())["data"]
    d = tmp_path_factory.mktemp("config")
    for f in CONFIG_DIR.iterdir():
        if f.suffix in (".csv", ".toml"):
            shutil.copy(f, d / f.name)
    with (d / "units.csv").open("a", encoding="utf-8") as out:
        out.write("PT,HCM,district,Tỉnh Phú Thọ (fixture),Phu Tho (fixture),2000-01-01,,\n")
        for c in tree["children"]:
            code = "PT-" + c["departmentCode"].replace(".", "-")
            name = c["departmentName"].replace(",", " ")
            out.write(f"{code},PT,ward,{name},{name},2000-01-01,,\n")
    with (d / "portal_units.csv").open("w", encoding="utf-8") as out:
        out.write("portal_department_id,portal_code,unit_code,name\n")
        for c in tree["children"]:
            code = "PT-" + c["departmentCode"].replace(".", "-")
            out.write(f"{c['departmentId']},{c['departmentCode']},{code},\n")
    return d, tree["parent"]


@needs_shared
def test_metrics_reproduce_the_portal_parent_ratio(serve, tmp_path, province):
    config_dir, parent = province
    config = load_config(config_dir)
    wh = open_warehouse(tmp_path / "ioc.duckdb", config)
    files = {"dvc-progress-tree": ("month-all.json", "month-formality.json")}
    files |= {e: "month-all.json" for e in ("provide-online-tree", "formality-online-payment-tree",
                                             "dossier-digitized", "transparency",
                                             "handling-satisfaction")}  # fmt: skip

    def handler(req):
        endpoint = req.path.rsplit("/", 1)[-1]
        name = files[endpoint]
        if isinstance(name, tuple):
            name = name[1] if req.body.get("formalityId") else name[0]
        return 200, (SHARED / endpoint / name).read_bytes(), 0

    url = serve(Script(handler))
    units = config_dir / "portal_units.csv"
    all_procs = portal_feed(url, units)
    one_proc = replace(portal_feed(url, units, endpoints=["dvc-progress-tree"],
                                   procedures=["2.000815"],
                                   formality_ids={"2.000815": "fid-2.000815"}), name="portal_proc")  # fmt: skip
    for feed in (all_procs, one_proc):
        results = run_feed(wh, feed, AUGUST)
        assert [r.status for r in results] == ["ok"], results
        assert results[0].rows_quarantined == 0, results[0].reasons

    def rate(metrics, **filters):
        frame = query(wh.cursor(), config, metrics, "month", date(2026, 8, 1), date(2026, 8, 31),
                      {"unit": "PT", **filters}, targets=False)  # fmt: skip
        assert frame.height == 1
        return frame.row(0, named=True)

    row = rate(["on_time_rate"], sources=["portal"])
    assert (row["on_time_rate_num"], row["on_time_rate_den"]) == (
        parent["totalOnTime"],
        parent["totalReceived"],
    )
    num, den = int(row["on_time_rate_num"]), int(row["on_time_rate_den"])
    assert portal_ratio(num, den) == parent["ratio"] == 78.38
    assert round(row["on_time_rate"] / 5, 2) == parent["totalScore"]  # score = ratio ÷ 5

    drill = json.loads((SHARED / "dvc-progress-tree" / "month-formality.json").read_text())
    proc = rate(["on_time_rate"], procedures=["2.000815"])
    num, den = int(proc["on_time_rate_num"]), int(proc["on_time_rate_den"])
    assert portal_ratio(num, den) == drill["data"]["parent"]["ratio"] == 94.92

    # overview endpoints: the children's numerators and denominators sum to the parent's
    overview = json.loads((SHARED / "dossier-digitized" / "month-all.json").read_text())
    by_code = {m["code"]: m for m in overview["data"]["overview"]["metrics"]}
    e = rate(["portal_e_result_rate", "portal_record_digitization_rate"], sources=["portal"])
    for metric, code in (
        ("portal_e_result_rate", "ORIGINAL_RESULT_AVAILABLE"),
        ("portal_record_digitization_rate", "SO_HOA_GIAY_TO_GIAI_QUYET"),
    ):
        m = by_code[code]
        assert (e[f"{metric}_num"], e[f"{metric}_den"]) == (m["numerator"], m["denominator"])
        assert portal_ratio(m["numerator"], m["denominator"]) == m["ratio"]
    pay = json.loads((SHARED / "formality-online-payment-tree" / "month-all.json").read_text())
    p = pay["data"]["parent"]
    got = (
        wh.cursor()
        .execute(
            "SELECT sum(value) FILTER (WHERE measure_code = 'paid_online'),"
            " sum(value) FILTER (WHERE measure_code = 'fee_bearing') FROM report WHERE source = 'portal'"
        )
        .fetchone()
    )
    assert got == (p["totalDossierOnlinePaymentSuccess"], p["totalDossierFinancialObligation"])
    wh.close()
