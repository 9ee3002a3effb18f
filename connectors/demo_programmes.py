"""Demo sources of the city's digital-government programmes (issue 8), written as department files.

Deterministic (seeded per file and period) and synthetic: every name, birth date and ID number
below is made up from syllable lists and random digits (ID numbers start with "000", which no
real citizen ID does). Written under `<data_dir>/demo/programmes/`:

  dti/dti_<year>.csv              DTI of each department, per quarter and per year (points)
  forms/bieu-mau_<year>.csv       per procedure: form fields before / after reuse, removed
  registry/dkkd-dong-bo_<ym>.csv  records synchronized per day from the national business
                                  registry (the current month is rewritten on every refresh)
  cases/giay-to-tuy-than.csv      identification-paper cases of special populations

CSV as the departments' Excel writes it: UTF-8 with a BOM, ";" separators, dd/mm/yyyy dates.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from base.calendar import add_months
from config import Config

DTI_START = 2023
# Component → maximum points (they add up to 100); the order is the sheet's column order.
DTI_COMPONENTS = {
    "dti_awareness": 10,
    "dti_institutions": 10,
    "dti_infrastructure": 15,
    "dti_human_resources": 15,
    "dti_security": 15,
    "dti_operations": 35,
}
DTI_HEADERS = {
    "dti_awareness": "Nhận thức số",
    "dti_institutions": "Thể chế số",
    "dti_infrastructure": "Hạ tầng số",
    "dti_human_resources": "Nhân lực số",
    "dti_security": "An toàn thông tin mạng",
    "dti_operations": "Hoạt động chính quyền số",
}
DTI_LAGGARDS = frozenset({"SO-XD", "SO-NNPTNT"})
REGISTRY_MONTHS = 12  # the registry sync log keeps the current month and the 11 before it
CASES_START = date(2024, 7, 1)
GROUP_WEIGHTS = {"child_no_guardian": 0.35, "street_child": 0.25, "migrant_family": 0.25,
                 "stateless": 0.1, "homeless_adult": 0.05}  # fmt: skip
SOLUTIONS = {
    "child_no_guardian": "Đăng ký khai sinh quá hạn, xác định người giám hộ",
    "street_child": "Đăng ký khai sinh, đăng ký thường trú tại cơ sở bảo trợ",
    "migrant_family": "Đăng ký cư trú, cấp căn cước cho cha mẹ và khai sinh cho trẻ",
    "stateless": "Xác định quốc tịch, đăng ký khai sinh có yếu tố nước ngoài",
    "homeless_adult": "Cấp căn cước, đăng ký thường trú",
}
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Gia", "Thanh", "Bảo", "Hoài")
GIVEN = ("An", "Bình", "Châu", "Dung", "Giang", "Hà", "Khang", "Lan", "Mai", "Nam", "Phúc",
         "Quân", "Sơn", "Tâm", "Uyên", "Vy", "Yến")  # fmt: skip


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """UTF-8 with a BOM and ";" separators; replaced atomically (a feed never reads half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(b"\xef\xbb\xbf")
        frame.write_csv(f, separator=";")
    tmp.replace(path)


def _dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _departments(config: Config) -> list[str]:
    return sorted(u.code for u in config.units if u.kind == "department")


# ---- DTI ------------------------------------------------------------------------------------


def dti_rows(config: Config, today: date) -> list[dict]:
    """Per department: one row per closed quarter and per closed year (the year's mean)."""
    rows: list[dict] = []
    last_closed = add_months(today.replace(day=1, month=(today.month - 1) // 3 * 3 + 1), -3)
    for i, unit in enumerate(_departments(config)):
        base = np.random.default_rng([11, i]).uniform(0.45, 0.65)
        lag = 0.12 if unit in DTI_LAGGARDS else 0.0
        by_year: dict[int, list[dict]] = {}
        quarter = date(DTI_START, 1, 1)
        while quarter <= last_closed:
            rng = np.random.default_rng([11, i, quarter.year, quarter.month])
            step = (quarter.year - DTI_START) * 4 + (quarter.month - 1) // 3
            level = min(0.97, base + 0.015 * step - lag)
            scores = {
                c: round(float(np.clip(level + rng.normal(0, 0.06), 0.1, 1.0)) * mx, 2)
                for c, mx in DTI_COMPONENTS.items()
            }
            row = {"unit": unit, "period": quarter, "grain": "Quý", **scores}
            rows.append(row)
            by_year.setdefault(quarter.year, []).append(row)
            quarter = add_months(quarter, 3)
        for year, quarters in by_year.items():
            if len(quarters) == 4:
                mean = {c: round(sum(q[c] for q in quarters) / 4, 2) for c in DTI_COMPONENTS}
                rows.append({"unit": unit, "period": date(year, 1, 1), "grain": "Năm", **mean})
    return rows


def dti_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Mã đơn vị": [r["unit"] for r in rows],
            "Kỳ": [_dmy(r["period"]) for r in rows],
            "Loại kỳ": [r["grain"] for r in rows],
            "Tổng điểm": [f"{sum(r[c] for c in DTI_COMPONENTS):.2f}" for r in rows],
            "Điểm tối đa": ["100" for _ in rows],
            **{DTI_HEADERS[c]: [f"{r[c]:.2f}" for r in rows] for c in DTI_COMPONENTS},
        }
    )


def write_dti(config: Config, folder: Path, today: date) -> None:
    rows = dti_rows(config, today)
    for year in sorted({r["period"].year for r in rows}):
        path = folder / "dti" / f"dti_{year}.csv"
        frame = dti_frame([r for r in rows if r["period"].year == year])
        if not path.exists() or path.read_bytes()[3:] != _csv_bytes(frame):
            write_csv(frame, path)


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(separator=";").encode()


# ---- Forms ----------------------------------------------------------------------------------


def forms_frame(config: Config, year: int) -> pl.DataFrame:
    """Per procedure: the fields its form asked before reuse, and after reuse in `year`."""
    rows = []
    for i, p in enumerate(sorted(config.procedures)):
        proc = config.procedures[p]
        department = config.sectors[proc.sector_code].department or config.root.code
        rng = np.random.default_rng([13, i])
        before = int(rng.integers(8, 40))
        # Reuse grows each year; about a fifth of the procedures stay short of the 20% target.
        laggard = rng.random() < 0.22
        share = (0.06 if laggard else 0.18) + (0.05 if laggard else 0.08) * (year - 2024)
        removed = min(before - 2, round(before * (share + rng.uniform(-0.03, 0.05))))
        removed = max(removed, 0)
        rows.append((p, department, before, before - removed, removed))
    return pl.DataFrame(
        {
            "Mã thủ tục": [r[0] for r in rows],
            "Mã đơn vị": [r[1] for r in rows],
            "Năm": [f"01/01/{year}" for _ in rows],
            "Số trường trước": [r[2] for r in rows],
            "Số trường sau": [r[3] for r in rows],
            "Số trường tái sử dụng": [r[4] for r in rows],
        }
    )


def write_forms(config: Config, folder: Path, today: date) -> None:
    for year in range(2024, today.year + 1):
        path = folder / "forms" / f"bieu-mau_{year}.csv"
        if not path.exists():
            write_csv(forms_frame(config, year), path)


# ---- Business registry sync -----------------------------------------------------------------


def registry_frame(first: date, last: date) -> pl.DataFrame:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts = [
        int(np.random.default_rng([17, d.toordinal()]).poisson(900 if d.weekday() < 5 else 150))
        for d in days
    ]
    return pl.DataFrame(
        {
            "Ngày": [_dmy(d) for d in days],
            "Mã đơn vị": ["SO-KHDT"] * len(days),
            "Số bản ghi đồng bộ": counts,
        }
    )


def write_registry(folder: Path, today: date) -> None:
    """Past months written once; the current month (to today) rewritten, so its file is new."""
    month = add_months(today.replace(day=1), 1 - REGISTRY_MONTHS)
    while month <= today:
        last = min(add_months(month, 1) - timedelta(days=1), today)
        path = folder / "registry" / f"dkkd-dong-bo_{month:%Y-%m}.csv"
        if last == today or not path.exists():
            write_csv(registry_frame(month, last), path)
        month = add_months(month, 1)


# ---- Identification-paper cases -------------------------------------------------------------


def cases_frame(config: Config, today: date) -> pl.DataFrame:
    """~1 case per ward every three weeks since mid-2024; synthetic people, deterministic."""
    wards = sorted(u.code for u in config.units if u.kind in ("ward", "commune", "township"))
    groups, weights = list(GROUP_WEIGHTS), np.array(list(GROUP_WEIGHTS.values()))
    rows = []
    for wi, ward in enumerate(wards):
        rng = np.random.default_rng([19, wi])
        opened = CASES_START + timedelta(days=int(rng.integers(0, 20)))
        n = 0
        while opened <= today:
            n += 1
            group = groups[rng.choice(len(groups), p=weights)]
            child = group in ("child_no_guardian", "street_child", "migrant_family")
            age = int(rng.integers(0, 18)) if child else int(rng.integers(18, 70))
            age_group = ("0-5" if age <= 5 else "6-11" if age <= 11 else "12-15" if age <= 15
                         else "16-17" if age <= 17 else "18+")  # fmt: skip
            birth = opened - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
            due = opened + timedelta(days=int(rng.choice([30, 45, 60, 90])))
            took = int(rng.gamma(3.0, 18.0))
            resolved = opened + timedelta(days=took)
            if resolved <= today and rng.random() < 0.92:
                status = "resolved"
            else:
                resolved = None
                elapsed = (today - opened).days
                status = ("new" if elapsed < 7 else "verifying" if elapsed < 20
                          else "proposed" if elapsed < 35 else "in_progress")  # fmt: skip
            name = (f"{FAMILY[rng.integers(len(FAMILY))]} {MIDDLE[rng.integers(len(MIDDLE))]}"
                    f" {GIVEN[rng.integers(len(GIVEN))]}")  # fmt: skip
            ident = "000" + "".join(str(x) for x in rng.integers(0, 10, 9))
            rows.append({
                "Mã hồ sơ": f"GTTT-{ward}-{n:04d}",
                "Mã phường xã": ward,
                "Nhóm đối tượng": group,
                "Nhóm tuổi": age_group,
                "Trạng thái": status,
                "Giải pháp đề xuất": SOLUTIONS[group],
                "Người phụ trách": "Công chức Tư pháp - Hộ tịch",
                "Ngày phát hiện": _dmy(opened),
                "Hạn giải quyết": _dmy(due),
                "Ngày giải quyết": _dmy(resolved) if resolved else "",
                "Họ và tên": name,
                "Ngày sinh": _dmy(birth),
                "Số định danh": ident if age >= 14 else "",
            })  # fmt: skip
            opened += timedelta(days=int(rng.integers(10, 32)))
    return pl.DataFrame(rows)


def write_cases(config: Config, folder: Path, today: date) -> None:
    path = folder / "cases" / "giay-to-tuy-than.csv"
    frame = cases_frame(config, today)
    if not path.exists() or path.read_bytes()[3:] != _csv_bytes(frame):
        write_csv(frame, path)


def write_programmes(config: Config, folder: Path, today: date) -> None:
    """Write (or refresh) every programme's demo files under `folder`."""
    write_dti(config, folder, today)
    write_forms(config, folder, today)
    write_registry(folder, today)
    write_cases(config, folder, today)
