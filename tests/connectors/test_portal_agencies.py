"""The portal's agencies → our units by name (connectors/portal_agencies.py): hand-made cases,
the CLI on HCMC's official list, and the real Phú Thọ capture in ../shared/fixtures/national-portal
(when present) against vietnam-provinces' list of that province."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.national_portal import load_portal_units
from connectors.portal_agencies import (
    Agency,
    Candidate,
    agencies_from,
    main,
    match_agencies,
    name_key,
    official_units,
    package_units,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "national-portal"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent")

UNITS = [
    Candidate("W27232", "ward", "Phường Bình Thới"),
    Candidate("W10001", "commune", "Xã Tân Sơn"),
    Candidate("W10002", "ward", "Phường Tân Sơn"),
    Candidate("W10003", "commune", "Xã Thanh Thuỷ"),
    Candidate("W10004", "special_zone", "Đặc khu Côn Đảo"),
    Candidate("SO-TP", "department", "Sở Tư pháp"),
    Candidate("SO-LDTBXH", "department", "Sở Lao động - Thương binh và Xã hội"),
]


def agency(code: str, name: str, level: str = "COMMUNE") -> Agency:
    return Agency(f"id-{code}", code, name, level)


def one(agencies: list[Agency]):
    return match_agencies(agencies, UNITS)


def test_names_are_compared_without_suffix_prefix_case_or_tone_habit():
    assert name_key("UBND xã Vĩnh Tường - tỉnh Phú Thọ") == "xã vĩnh tường"
    assert name_key("Sở Tư pháp - Thành phố Hồ Chí Minh") == "sở tư pháp"
    assert name_key("Sở Lao động - Thương binh và Xã hội") == "sở lao động - thương binh và xã hội"
    assert name_key("UBND  Phường\u00a0Hoà Bình") == name_key("Phường Hòa Bình")
    decomposed = "UBND phường Bình Thới".replace("ì", "i\u0300")  # NFD input
    assert name_key(decomposed) == name_key("Phường Bình Thới")
    # Old-style placement is kept where the syllable goes on ("Hoàng" stays "Hoàng").
    assert name_key("Xã Hoàng An") == "xã hoàng an"


def test_a_ward_a_commune_and_a_department_match_by_name_and_type():
    result = one([
        agency("H29.1", "UBND phường Bình Thới"),
        agency("H29.2", "UBND xã Tân Sơn - Thành phố Hồ Chí Minh"),
        agency("H29.3", "UBND Phường Tân Sơn"),
        agency("H29.4", "Sở Tư pháp - Thành phố Hồ Chí Minh", "PROVINCE"),
        agency("H29.5", "Sở Lao động - Thương binh và Xã hội - Thành phố Hồ Chí Minh", "PROVINCE"),
        agency("H29.6", "UBND xã Thanh Thủy"),  # new-style "Thuỷ" in the list
        agency("H29.7", "UBND Đặc khu Côn Đảo"),
    ])  # fmt: skip
    assert result.unmatched == []
    assert {(m.portal_code, m.unit_code) for m in result.matched} == {
        ("H29.1", "W27232"), ("H29.2", "W10001"), ("H29.3", "W10002"), ("H29.4", "SO-TP"),
        ("H29.5", "SO-LDTBXH"), ("H29.6", "W10003"), ("H29.7", "W10004"),
    }  # fmt: skip
    m = result.matched[0]
    assert (m.department_id, m.portal_name) == ("id-H29.1", "UBND phường Bình Thới")


def test_the_type_word_must_agree():
    result = one([agency("H29.9", "UBND xã Bình Thới")])  # only a ward bears the name
    assert result.matched == []
    [u] = result.unmatched
    assert "no unit named 'xã bình thới'" in u.reason
    assert u.candidates == ("W27232 Phường Bình Thới",)


def test_a_name_shared_by_a_ward_and_a_commune_is_never_guessed():
    result = one([agency("H29.8", "UBND Tân Sơn")])  # no type word
    assert result.matched == []
    [u] = result.unmatched
    assert u.reason.startswith("several units of that name")
    assert set(u.candidates) == {"W10001 Xã Tân Sơn", "W10002 Phường Tân Sơn"}
    # Without a type word, one unit of that name is a match.
    assert [m.unit_code for m in one([agency("H29.1", "UBND Bình Thới")]).matched] == ["W27232"]


def test_an_unknown_agency_and_conflicts_are_listed_with_the_reason():
    result = one([
        agency("H29.01", "Văn phòng UBND Thành phố - Thành phố Hồ Chí Minh", "PROVINCE"),
        agency("H29.2", "UBND xã Tân Sơn"),
        agency("H29.3", "UBND Xã Tân Sơn - Thành phố Hồ Chí Minh"),  # the same unit again
        Agency("id-x", "H29.4", "UBND phường Bình Thới", "COMMUNE"),
        Agency("id-x", "H29.5", "Sở Tư pháp", "PROVINCE"),  # an id that repeats
        Agency("", "", "Đặc khu Côn Đảo", "COMMUNE"),
    ])  # fmt: skip
    assert result.matched == []
    reasons = {u.portal_code: u.reason for u in result.unmatched}
    assert reasons["H29.01"] == "no unit named 'văn phòng ubnd thành phố'"
    assert reasons["H29.2"].startswith("several agencies name unit W10001 Xã Tân Sơn")
    assert reasons["H29.3"] == reasons["H29.2"]
    assert reasons["H29.4"] == reasons["H29.5"] == "departmentId id-x repeats in the capture"
    assert reasons[""] == "no departmentId and no departmentCode"
    assert "6 agencies, 0 matched, 6 unmatched" in result.report()


def test_the_cli_maps_an_hcmc_capture_into_the_portal_units_format(tmp_path, capsys):
    capture = tmp_path / "capture.json"
    children = [
        {"departmentId": "d1", "departmentCode": "H29.1", "level": "COMMUNE",
         "departmentName": "UBND phường Bình Thới"},
        {"departmentId": "d2", "departmentCode": "H29.2", "level": "PROVINCE",
         "departmentName": "Sở Tư pháp - Thành phố Hồ Chí Minh"},
        {"departmentId": "d3", "departmentCode": "H29.3", "level": "PROVINCE",
         "departmentName": "Ban Quản lý An toàn thực phẩm - Thành phố Hồ Chí Minh"},
    ]  # fmt: skip
    capture.write_text(json.dumps({"data": {"parent": {}, "children": children}}), "utf-8")
    out = tmp_path / "portal_units.csv"
    assert main([str(capture), "--province", "79", "--out", str(out)]) == 1  # one unmatched
    report = capsys.readouterr().out
    assert "3 agencies, 2 matched, 1 unmatched" in report
    assert "H29.3 'Ban Quản lý An toàn thực phẩm - Thành phố Hồ Chí Minh'" in report
    units = load_portal_units(out, {c.code for c in official_units(79)})
    assert units.by_id == {"d1": "W27232", "d2": "SO-TP"}
    assert units.by_code == {"H29.1": "W27232", "H29.2": "SO-TP"}


# ---- the real captures -------------------------------------------------------------------------

# Measured on the Phú Thọ capture of August 2026 with vietnam-provinces 2025.10.1: all 148
# commune-level agencies match (one, "UBND xã Thanh Thủy", only through the tone-placement rule:
# the package writes "Xã Thanh Thuỷ").
PHU_THO_COMMUNES = 148
PHU_THO_MATCHED_FLOOR = 148


@needs_shared
def test_phu_tho_communes_match_the_official_list():
    vp = pytest.importorskip("vietnam_provinces")
    [province] = [p for p in vp.Province.iter_all() if p.name == "Phú Thọ"]
    tree = json.loads((SHARED / "dvc-progress-tree" / "month-all.json").read_text("utf-8"))
    communes = [a for a in agencies_from(tree["data"]) if a.level == "COMMUNE"]
    result = match_agencies(communes, package_units(int(province.code)))
    n, m = len(communes), len(result.matched)
    print(f"portal agencies: {n} communes, {m} matched")
    print(result.report())
    assert n == PHU_THO_COMMUNES
    # Every agency is accounted for: matched, or unmatched with a reason.
    assert m + len(result.unmatched) == n
    assert all(u.reason for u in result.unmatched)
    assert m >= PHU_THO_MATCHED_FLOOR
    # One agency per unit, and the unit's type word is the agency's.
    assert len({x.unit_code for x in result.matched}) == m
    for x in result.matched:
        assert name_key(x.portal_name) == name_key(x.unit_name)
