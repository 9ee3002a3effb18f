"""config/official/*.csv (made by scripts/official_units.py) against the two PyPI packages,
read here directly rather than through the script, so a fault in the script shows up as a
difference (issue #25)."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

from vietnam_provinces import ProvinceCode, VietNamDivisionType, Ward
from vietnamadminunits import convert_address, parse_address
from vietnamadminunits.converter import converter_2025
from vietnamadminunits.database import query

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL = ROOT / "config" / "official"
KINDS = {
    VietNamDivisionType.PHUONG: "ward",
    VietNamDivisionType.XA: "commune",
    VietNamDivisionType.DAC_KHU: "special_zone",
}


def clean(name: str) -> str:
    # vietnam-provinces writes "Phường  An Nhơn" with two spaces; the tables have one.
    return " ".join(name.split())


@cache
def table(name: str) -> tuple[dict[str, str], ...]:
    with (OFFICIAL / name).open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@cache
def official() -> dict[str, Ward]:
    """vietnam-provinces' units of HCMC (79) by our code."""
    return {f"W{int(w.code):05d}": w for w in Ward.iter_by_province(ProvinceCode.P_79)}


@cache
def legacy_source() -> tuple[dict, ...]:
    return tuple(
        query(
            "SELECT provinceCode, provinceKey, district, districtCode, districtKey, ward,"
            " wardCode, wardKey FROM admin_units_legacy WHERE provinceCode IN ('79', '74', '77')"
        )
    )


def test_units_2025_are_the_official_168_of_the_city():
    rows = {r["code"]: r for r in table("units_2025.csv")}
    assert len(rows) == len(table("units_2025.csv")) == 168
    assert rows.keys() == official().keys()
    for code, ward in official().items():
        row = rows[code]
        assert row["official_code"] == f"{int(ward.code):05d}"
        assert row["name_vi"] == clean(ward.name)
        assert row["kind"] == KINDS[ward.division_type]
    assert Counter(r["kind"] for r in rows.values()) == {
        "ward": 113,
        "commune": 54,
        "special_zone": 1,
    }


def test_units_2025_english_names_are_readable_transliterations():
    names = {r["code"]: r["name_en"] for r in table("units_2025.csv")}
    assert names["W27232"] == "Binh Thoi Ward"
    assert names["W27511"] == "Nhuan Duc Commune"
    assert names["W26732"] == "Con Dao Special Zone"
    assert all(n.isascii() and n for n in names.values())
    # Only diacritics tell these two apart; the former district does in English.
    assert names["W25807"] == "Thanh An Commune (Dau Tieng)"
    assert names["W27676"] == "Thanh An Commune (Can Gio)"
    assert len(set(names.values())) == len(names)


def test_units_2025_geometry_is_vietnamadminunits():
    # The packages disagree on 10 codes but not on names, so the geometry is matched by name.
    geo = {
        clean(r["ward"]): r
        for r in query(
            "SELECT ward, wardLat, wardLon, wardAreaKm2 FROM admin_units WHERE provinceCode = '79'"
        )
    }
    for row in table("units_2025.csv"):
        source = geo[row["name_vi"]]
        assert float(row["lat"]) == source["wardLat"]
        assert float(row["lon"]) == source["wardLon"]
        assert float(row["area_km2"]) == source["wardAreaKm2"]


def test_legacy_units_are_the_three_former_provinces():
    rows = {r["code"]: r for r in table("units_legacy.csv")}
    wards = [s for s in legacy_source() if s["ward"]]
    for source in wards:
        row = rows["L" + source["wardCode"]]
        assert row["parent_code"] == "D" + source["districtCode"]
        assert row["province_code"] == source["provinceCode"]
        assert row["name_vi"] == source["ward"]
    districts = {s["districtCode"]: s for s in legacy_source()}
    assert {c for c in rows if c.startswith("D")} == {"D" + c for c in districts}
    assert {c for c in rows if c.startswith("L")} == {"L" + s["wardCode"] for s in wards}
    # The package (after old HCMC's 1 January 2025 mergers) has 273 + 91 + 77 ward rows; the
    # official 442 counts Côn Đảo district, which had no wards, as the 78th unit of Bà Rịa–VT.
    per_province = Counter(r["province_code"] for r in rows.values() if r["code"][0] == "L")
    assert per_province == {"79": 273, "74": 91, "77": 77}
    wardless = [s["districtCode"] for s in legacy_source() if not s["ward"]]
    assert wardless == ["755"] and rows["D755"]["name_vi"] == "Huyện Côn Đảo"
    assert sum(per_province.values()) + len(wardless) == 442
    district_rows = Counter(r["province_code"] for r in rows.values() if r["code"][0] == "D")
    assert district_rows == {"79": 22, "74": 9, "77": 7}
    assert rows["D772"]["name_en"] == "District 11"
    assert rows["D769"]["kind"] == "city"


def converter_pairs() -> set[tuple[str, str, str]]:
    """(old code, new code, share) straight from the converter's tables."""
    old = {
        f"{s['provinceKey']}_{s['districtKey']}_{s['wardKey'] or ''}": (
            "L" + s["wardCode"] if s["ward"] else "D" + s["districtCode"]
        )
        for s in legacy_source()
    }
    by_name = {clean(w.name): code for code, w in official().items()}
    new = {
        r["wardKey"]: by_name[clean(r["ward"])]
        for r in query("SELECT ward, wardKey FROM admin_units WHERE provinceCode = '79'")
    }
    city = "thanhphohochiminh"
    pairs = {
        (old[o], new[n], "1")
        for n, olds in converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED[city].items()
        for o in olds
    }
    pairs |= {
        (old[o], new[t["newWardKey"]], "1" if t["isDefaultNewWard"] else "0")
        for o, targets in converter_2025.DICT_PROVINCE_WARD_DIVIDED[city].items()
        for t in targets
    }
    return pairs


def test_successions_are_the_converters_pairs():
    rows = table("ward_successions.csv")
    assert {(r["old_code"], r["new_code"], r["share"]) for r in rows} == converter_pairs()
    assert len(rows) == len(converter_pairs())
    assert {r["valid_from"] for r in rows} == {"2025-07-01"}
    divided = {r["old_code"] for r in rows if r["share"] == "0"}
    for row in rows:
        if row["share"] == "0":
            assert row["rule"] == "part"
        else:
            assert row["rule"] == ("default" if row["old_code"] in divided else "whole")


def test_every_old_unit_is_counted_once_and_every_new_unit_has_a_predecessor():
    rows = table("ward_successions.csv")
    legacy = {r["code"] for r in table("units_legacy.csv") if r["code"][0] == "L"} | {"D755"}
    ones = Counter(r["old_code"] for r in rows if r["share"] == "1")
    assert set(ones) == legacy and set(ones.values()) == {1}
    assert {r["old_code"] for r in rows} == legacy
    assert {r["new_code"] for r in rows} == official().keys()
    # So the city's total is the same whether counted by old or by new units.
    assert sum(float(r["share"]) for r in rows) == len(legacy) == 442


def test_ward_9_of_district_11_becomes_binh_thoi():
    address = "Phường 9, Quận 11, Thành phố Hồ Chí Minh"
    # Merged into Phường 10 on 1 January 2025: the package knows it by alias, under code 27232.
    assert parse_address(address, mode="LEGACY", level=3).ward_code == "27232"
    assert convert_address(address).ward == "Phường Bình Thới"
    rows = {(r["old_code"], r["new_code"]): r for r in table("ward_successions.csv")}
    assert rows["L27232", "W27232"]["share"] == "1"
    names = {r["code"]: r["name_vi"] for r in table("units_2025.csv")}
    assert names["W27232"] == "Phường Bình Thới"


def test_committed_tables_are_what_the_script_makes():
    done = subprocess.run(
        [sys.executable, "-m", "scripts.official_units", "--check"],
        cwd=ROOT,
        check=False,  # the assertion below shows the drift summary instead
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
