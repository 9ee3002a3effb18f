"""The national portal's agencies → our units, by name, against an official list (issue #25).

A province's children on the portal are its departments ("Sở Tư pháp - Thành phố Hồ Chí Minh",
level PROVINCE) and its communes ("UBND phường Bình Thới", level COMMUNE), each with a
departmentId and a departmentCode ("H44.07"). `match_agencies` pairs them with candidate units
(code, kind, name_vi) by name and never guesses:
  * a name is compared without the province suffix (" - Tỉnh Phú Thọ") and the "UBND " prefix,
    in NFC, case-insensitively, with one tone-mark placement ("Hoà" = "Hòa") and single spaces;
  * the unit's type word must agree: "UBND xã Tân Sơn" is "Xã Tân Sơn", never "Phường Tân Sơn";
    a name without a type word matches only if one unit bears it;
  * a name borne by several units, a unit named by several agencies, an id or code that repeats:
    unmatched, with the candidates named. Unmatched agencies are listed with the reason.

    python -m connectors.portal_agencies CAPTURE.json [--province 79] [--departments CSV]
                                         [--level COMMUNE] [--out portal_units.csv]

The capture is a saved answer of the evaluation API (tree `data.children` or overview
`data.evaluation`). Province 79 is matched against config/official/units_2025.csv plus the
departments of config/units.csv; any other province against its wards and communes in
vietnam-provinces (a dev requirement, read only here, when the CLI runs; code "W" + the official
5-digit code, as config/official/) plus the departments of `--departments` if given. `--out`
writes the matched agencies in the columns connectors.national_portal.load_portal_units reads;
without it only the report is printed. Exit status 1 when an agency is unmatched.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import CONFIG_DIR

HCMC = 79
OFFICIAL_2025 = CONFIG_DIR / "official" / "units_2025.csv"
UNITS = CONFIG_DIR / "units.csv"
PORTAL_HEADER = ("portal_department_id", "portal_code", "unit_code", "name")

# Type words at the start of a unit's name (longest first when matching), casefolded.
TYPE_WORDS = ("đặc khu", "thị trấn", "phường", "xã", "sở")
_PROVINCE_SUFFIX = re.compile(r"\s+-\s+(?:tỉnh|thành phố|tp\.?)\s+[^-]+$", re.IGNORECASE)
_COUNCIL_PREFIX = re.compile(r"^(?:ubnd|ủy ban nhân dân|uỷ ban nhân dân)\s+", re.IGNORECASE)
# New-style tone placement on the second vowel of oa/oe/uy → the old style the official lists use
# ("Hoà" → "Hòa", "Thuỷ" → "Thủy"): one spelling, two habits, so not a guess.
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


@dataclass(frozen=True)
class Agency:
    """One child of the portal's tree."""

    department_id: str
    code: str
    name: str
    level: str = ""


@dataclass(frozen=True)
class Candidate:
    """One of our units (or an official unit): code, kind, Vietnamese name."""

    code: str
    kind: str
    name_vi: str


@dataclass(frozen=True)
class Match:
    department_id: str
    portal_code: str
    unit_code: str
    portal_name: str
    unit_name: str


@dataclass(frozen=True)
class Unmatched:
    department_id: str
    portal_code: str
    portal_name: str
    level: str
    reason: str
    candidates: tuple[str, ...] = ()


@dataclass
class Matching:
    matched: list[Match] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)

    def report(self) -> str:
        n, m = len(self.matched) + len(self.unmatched), len(self.matched)
        lines = [f"portal agencies: {n} agencies, {m} matched, {n - m} unmatched"]
        for u in self.unmatched:
            lines.append(f"  unmatched {u.portal_code or u.department_id} {u.portal_name!r}"
                         f" ({u.level or 'no level'}): {u.reason}")  # fmt: skip
        return "\n".join(lines)


# ---- names -----------------------------------------------------------------------------------


def _old_style_tones(text: str) -> str:
    """'hoà' → 'hòa', 'thuỷ' → 'thủy' (NFD in, NFD out): a tone on the second vowel of oa, oe,
    uy moves to the first when nothing follows the pair in the syllable."""
    chars = list(text)
    i = 0
    while i < len(chars) - 2:
        first, second, mark = chars[i], chars[i + 1], chars[i + 2]
        pair = (first + second).lower()
        after = chars[i + 3] if i + 3 < len(chars) else " "
        if pair in ("oa", "oe", "uy") and mark in _TONES and not after.isalpha():
            chars[i + 1], chars[i + 2] = mark, second  # the mark now follows the first vowel
        i += 1
    return "".join(chars)


def name_key(name: str) -> str:
    """The form names are compared in: no province suffix, no "UBND", casefolded NFC with single
    spaces and old-style tone placement. 'UBND xã Vĩnh Tường - tỉnh Phú Thọ' → 'xã vĩnh tường'."""
    text = " ".join(unicodedata.normalize("NFC", name).split())
    text = _PROVINCE_SUFFIX.sub("", text)
    text = _COUNCIL_PREFIX.sub("", text)
    text = _old_style_tones(unicodedata.normalize("NFD", text.casefold()))
    return unicodedata.normalize("NFC", text)


def split_type(key: str) -> tuple[str, str]:
    """('xã tân sơn') → ('xã', 'tân sơn'); ('', key) when the name starts with no type word."""
    for word in TYPE_WORDS:
        if key.startswith(word + " "):
            return word, key[len(word) + 1 :]
    return "", key


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def agencies_from(data: dict[str, Any]) -> list[Agency]:
    """The agencies of a capture's `data`: tree children, else overview evaluation rows."""
    rows = data.get("children")
    if rows is None:
        rows = data.get("evaluation") or []
    return [
        Agency(_text(r.get("departmentId")), _text(r.get("departmentCode")),
               _text(r.get("departmentName")), _text(r.get("level") or r.get("departmentLevel")))
        for r in rows
        if isinstance(r, dict)
    ]  # fmt: skip


# ---- the matcher -----------------------------------------------------------------------------


def _label(c: Candidate) -> str:
    return f"{c.code} {c.name_vi}"


def match_agencies(agencies: Iterable[Agency], candidates: Iterable[Candidate]) -> Matching:
    """Each agency matched to exactly one candidate by name, or unmatched with the reason."""
    agencies, candidates = list(agencies), list(candidates)
    by_key: dict[str, list[Candidate]] = defaultdict(list)
    by_rest: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        key = name_key(c.name_vi)
        by_key[key].append(c)
        by_rest[split_type(key)[1]].append(c)
    ids = defaultdict(int)
    codes = defaultdict(int)
    for a in agencies:
        ids[a.department_id] += 1
        codes[a.code] += 1

    found: list[tuple[Agency, Candidate]] = []
    out = Matching()

    def miss(a: Agency, reason: str, cands: Sequence[Candidate] = ()) -> None:
        out.unmatched.append(Unmatched(a.department_id, a.code, a.name, a.level, reason,
                                       tuple(_label(c) for c in cands)))  # fmt: skip

    for a in agencies:
        key = name_key(a.name)
        word, rest = split_type(key)
        if not a.department_id and not a.code:
            miss(a, "no departmentId and no departmentCode")
        elif a.department_id and ids[a.department_id] > 1:
            miss(a, f"departmentId {a.department_id} repeats in the capture")
        elif a.code and codes[a.code] > 1:
            miss(a, f"departmentCode {a.code} repeats in the capture")
        elif not rest:
            miss(a, "no name")
        else:
            hits = by_key.get(key, []) if word else by_rest.get(rest, [])
            if len(hits) == 1:
                found.append((a, hits[0]))
            elif hits:
                miss(a, "several units of that name: " + ", ".join(map(_label, hits)), hits)
            else:
                others = [c for c in by_rest.get(rest, []) if c not in hits]
                reason = f"no unit named {key!r}"
                if others:
                    reason += " (other type: " + ", ".join(map(_label, others)) + ")"
                miss(a, reason, others)

    per_unit: dict[str, list[Agency]] = defaultdict(list)
    for a, c in found:
        per_unit[c.code].append(a)
    for a, c in found:
        named_by = per_unit[c.code]
        if len(named_by) == 1:
            out.matched.append(Match(a.department_id, a.code, c.code, a.name, c.name_vi))
        else:
            portal = ", ".join(f"{b.code or b.department_id} {b.name!r}" for b in named_by)
            miss(a, f"several agencies name unit {_label(c)}: {portal}", [c])
    return out


# ---- the official lists and files ------------------------------------------------------------


def read_candidates(path: Path, kinds: set[str] | None = None) -> list[Candidate]:
    """Units of a CSV with code, kind, name_vi (config/units.csv, config/official/units_2025.csv)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as f:
        return [
            Candidate(r["code"].strip(), r["kind"].strip(), r["name_vi"].strip())
            for r in csv.DictReader(f)
            if kinds is None or r["kind"].strip() in kinds
        ]


def package_units(province: int) -> list[Candidate]:
    """A province's wards and communes of today from vietnam-provinces (a dev requirement, so it
    is imported here, when asked): code 'W' + the official 5-digit code, as config/official/."""
    from vietnam_provinces import ProvinceCode, Ward

    kinds = {"phường": "ward", "xã": "commune", "đặc khu": "special_zone"}
    return [
        Candidate(f"W{int(w.code):05d}", kinds.get(str(w.division_type.value), "unit"),
                  " ".join(w.name.split()))
        for w in Ward.iter_by_province(ProvinceCode(province))
    ]  # fmt: skip


def official_units(province: int, departments: Path | None = None) -> list[Candidate]:
    """The official list a province's agencies are matched against (see the module's header)."""
    if province == HCMC:
        units = read_candidates(OFFICIAL_2025)
        return units + read_candidates(departments or UNITS, {"department"})
    units = package_units(province)
    return units + (read_candidates(departments, {"department"}) if departments else [])


def _code_order(code: str) -> tuple[Any, ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in code.split("."))


def render_mapping(matched: Iterable[Match]) -> str:
    """The matched agencies in load_portal_units' columns, in the portal's code order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PORTAL_HEADER)
    for m in sorted(matched, key=lambda m: (_code_order(m.portal_code), m.department_id)):
        writer.writerow((m.department_id, m.portal_code, m.unit_code, m.portal_name))
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", type=Path, help="a saved answer of the evaluation API")
    parser.add_argument("--province", type=int, default=HCMC, help="official province code")
    parser.add_argument("--departments", type=Path, help="a units.csv of departments to add")
    parser.add_argument("--level", help="only the agencies of this level (COMMUNE, PROVINCE)")
    parser.add_argument("--out", type=Path, help="write the mapping CSV here")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.capture.read_text(encoding="utf-8"))["data"]
        agencies = agencies_from(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        print(f"portal_agencies: cannot read {args.capture}: {error}", file=sys.stderr)
        return 2
    if args.level:
        agencies = [a for a in agencies if a.level.upper() == args.level.upper()]
    try:
        candidates = official_units(args.province, args.departments)
    except (OSError, ValueError, KeyError) as error:
        print(f"portal_agencies: no official list for {args.province}: {error}", file=sys.stderr)
        return 2
    result = match_agencies(agencies, candidates)
    if args.out:
        args.out.write_text(render_mapping(result.matched), encoding="utf-8", newline="")
        print(f"{args.out}: {len(result.matched)} rows")
    print(result.report())
    return 1 if result.unmatched else 0


if __name__ == "__main__":
    sys.exit(main())
