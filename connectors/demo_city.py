"""The demo city: deterministic, realistic dossiers for every unit from 2023 to today.

Seeded numpy draws, vectorized per month. What it imitates (see docs/domain.md): a weekday rhythm
with quiet weekends, a Tết dip each year, the online share rising from ~40% to ~90% and
digitization from ~60% to ~99%, sectors that differ (civil status is online early, land late),
and a few units that lag so the alerts have something to show.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from base.calendar import add_months
from base.tz import LOCAL_OFFSET, LOCAL_TZ
from config import Config

DEMO_START = date(2023, 1, 1)
# Units that lag behind the city (and their wards with them): the alerts' material.
LAGGARDS = frozenset({"CGIO", "Q8", "NBE", "SO-XD", "CCHI-NHUANDUC"})
TET = (date(2023, 1, 22), date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17))
HOLIDAYS = tuple(date(y, m, d) for y in range(2023, 2027) for m, d in ((4, 30), (5, 1), (9, 2)))
# Dossiers per working day at the default scale; "city" gives ~10M dossiers a year.
SCALES = {"tiny": 0.05, "default": 1.0, "city": 25.0}
BASE_VOLUME = {"department": 30.0, "district": 24.0, "ward": 7.0, "commune": 6.0, "township": 7.0}
LEVEL_OF_KIND = {
    "department": "city",
    "district": "district",
    "ward": "commune",
    "commune": "commune",
    "township": "commune",
}
# How far ahead of the city each sector goes online (added to the online probability).
SECTOR_ONLINE = {
    "ho_tich": 0.08,
    "chung_thuc": -0.05,
    "dat_dai": -0.2,
    "xay_dung": -0.12,
    "dang_ky_kinh_doanh": 0.1,
    "ly_lich_tu_phap": 0.05,
    "viec_lam": 0.06,
}
# Sectors whose dossiers can take the applicant's data from the national business registry.
BUSINESS_SECTORS = frozenset({"dang_ky_kinh_doanh", "ho_kinh_doanh"})


@dataclass(frozen=True)
class Cells:
    """Who receives which procedure: one entry per (unit, procedure) pair."""

    unit: np.ndarray
    procedure: np.ndarray
    volume: np.ndarray  # mean dossiers per working day
    lag: np.ndarray  # 1.0 for laggard units
    procedure_facts: dict[str, np.ndarray]  # per cell: procedure flags, sector boost, commune


def _facts(config: Config, units: list[str], procs: list[str]) -> dict[str, np.ndarray]:
    p = [config.procedures[c] for c in procs]
    kinds = {u.code: u.kind for u in config.units}
    return {
        "full_process": np.array([x.full_process for x in p]),
        "fee_bearing": np.array([x.fee_bearing for x in p]),
        "issues_result": np.array([x.issues_result for x in p]),
        "no_paper": np.array([x.issues_result and not x.paper_result for x in p]),
        "business": np.array([x.sector_code in BUSINESS_SECTORS for x in p]),
        "max_days": np.array([x.max_days for x in p], dtype=float),
        "sector_boost": np.array([SECTOR_ONLINE.get(x.sector_code, 0.0) for x in p]),
        "commune": np.array([LEVEL_OF_KIND[kinds[u]] == "commune" for u in units]),
    }


def _cells(config: Config, seed: int, scale: float) -> Cells:
    rng = np.random.default_rng(seed)
    units, procs, volumes, lags = [], [], [], []
    by_level: dict[str, list] = {}
    for p in config.procedures.values():
        by_level.setdefault(p.level, []).append(p)
    for u in sorted(config.units, key=lambda u: u.code):
        if u.kind not in LEVEL_OF_KIND:
            continue
        level = LEVEL_OF_KIND[u.kind]
        candidates = by_level.get(level, [])
        if u.kind == "department":
            candidates = [
                p for p in candidates if config.sectors[p.sector_code].department == u.code
            ]
        if not candidates:
            continue
        size = BASE_VOLUME[u.kind] * scale * rng.uniform(0.6, 1.6)
        weights = rng.zipf(1.6, len(candidates)).astype(float)
        weights = np.minimum(weights, 20) / np.minimum(weights, 20).sum()
        lag = float(u.code in LAGGARDS or (u.parent_code in LAGGARDS))
        for p, w in zip(candidates, weights, strict=True):
            units.append(u.code)
            procs.append(p.code)
            volumes.append(size * w)
            lags.append(lag)
    return Cells(
        np.array(units),
        np.array(procs),
        np.array(volumes),
        np.array(lags),
        _facts(config, units, procs),
    )


def day_factor(days: list[date]) -> np.ndarray:
    """Relative volume of each day: weekdays, quiet weekends, holidays and the Tết dip."""
    weekday = np.array([d.weekday() for d in days])
    factor = np.select([weekday == 0, weekday < 5, weekday == 5], [1.15, 1.0, 0.3], 0.06)
    for i, d in enumerate(days):
        if d in HOLIDAYS:
            factor[i] = 0.1
        for tet in TET:
            offset = (d - tet).days
            if -3 <= offset <= 5:
                factor[i] = 0.05
            elif -10 <= offset <= 12:
                factor[i] *= 0.6
    return factor


def _progress(days: list[date], today: date) -> np.ndarray:
    """0 at the start of 2023, 1 at `today`: the digital-transformation curve's clock."""
    span = max((today - DEMO_START).days, 1)
    return np.clip(np.array([(d - DEMO_START).days / span for d in days]), 0, 1)


def _month(
    config: Config,
    cells: Cells,
    first: date,
    last: date,
    today: date,
    now: datetime,
    rng: np.random.Generator,
) -> pl.DataFrame:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    factor = day_factor(days)
    lam = np.outer(cells.volume, factor) * (1 + 0.05 * np.array([(d.year - 2023) for d in days]))
    counts = rng.poisson(lam)  # (cells, days)
    cell_idx, day_idx = np.nonzero(counts)
    reps = counts[cell_idx, day_idx]
    cell_idx, day_idx = np.repeat(cell_idx, reps), np.repeat(day_idx, reps)
    n = cell_idx.size
    if n == 0:
        return pl.DataFrame()
    proc = cells.procedure[cell_idx]
    unit = cells.unit[cell_idx]
    lag = cells.lag[cell_idx]
    t = _progress(days, today)[day_idx]
    weekend = np.array([d.weekday() >= 5 for d in days])[day_idx]
    meta = {k: v[cell_idx] for k, v in cells.procedure_facts.items()}

    def chance(p: np.ndarray) -> np.ndarray:
        return rng.random(n) < np.clip(p, 0, 0.998)

    p_online = 0.40 + 0.50 * t**0.8 + meta["sector_boost"] - 0.22 * lag
    p_online = np.where(weekend, np.maximum(p_online, 0.9), p_online)
    online = chance(p_online)
    postal = ~online & chance(np.full(n, 0.03))
    channel = np.where(online, "online", np.where(postal, "postal", "direct"))
    qr = online & meta["commune"] & chance(0.02 + 0.3 * t)
    submit = np.where(
        qr,
        "qr",
        np.where(online, np.where(chance(0.3), "app", "portal"), np.where(postal, "post", "desk")),
    )
    # Minutes after local midnight: desks work 7:30–17:00 on weekdays; online comes any time.
    desk_minute = rng.integers(450, 1020, n)
    online_minute = np.clip(rng.normal(13 * 60, 4.5 * 60, n), 0, 1439).astype(int)
    minute = np.where(online, online_minute, desk_minute)
    day_ns = np.array([np.datetime64(d, "m") for d in days])[day_idx]
    received_local = day_ns + minute.astype("timedelta64[m]")
    received = received_local - np.timedelta64(7, "h")

    allowed_days = np.maximum(meta["max_days"], 0.35) * 1.4  # working days → calendar days
    due = received + (allowed_days * 24 * 60).astype("timedelta64[m]")
    p_late = 0.07 - 0.055 * t + 0.12 * lag
    late = chance(p_late)
    spent = np.where(
        late, allowed_days * rng.uniform(1.05, 1.8, n), allowed_days * rng.beta(2, 2, n)
    )
    completed = received + (spent * 24 * 60).astype("timedelta64[m]")
    now64 = np.datetime64(now.replace(tzinfo=None), "m")
    open_ = completed > now64
    supplements = np.where(chance(np.full(n, 0.05)), 1, 0)

    frame = pl.DataFrame(
        {
            "dossier_id": unit,
            "unit_code": unit,
            "procedure_code": proc,
            "channel": channel,
            "submit_method": submit,
            "received_at": received.astype("datetime64[us]"),
            "due_at": due.astype("datetime64[us]"),
            "completed_at": np.where(open_, np.datetime64("NaT"), completed).astype(
                "datetime64[us]"
            ),
            "record_digitized": chance(0.60 + 0.39 * t - 0.2 * lag),
            "result_digitized": chance(0.65 + 0.345 * t - 0.15 * lag),
            # Procedures without a paper result went electronic earlier (the e-result is the result).
            "e_result": chance(
                np.where(meta["no_paper"], 0.70 + 0.29 * t, 0.30 + 0.55 * t) - 0.2 * lag
            )
            & meta["issues_result"],
            "reused_data": chance(0.15 + 0.6 * t - 0.2 * lag),
            "paid_online": meta["fee_bearing"] & online & chance(0.5 + 0.4 * t),
            "full_process": meta["full_process"] & online & chance(0.45 + 0.45 * t - 0.2 * lag),
            "supplements": supplements.astype(np.int32),
            # Drawn last, so the columns above are the same as before the flag existed.
            "registry_reused": meta["business"] & chance(0.10 + 0.75 * t - 0.25 * lag),
        }
    )
    utc = pl.Datetime("us", "UTC")
    local_day = pl.col("received_at").dt.convert_time_zone(LOCAL_TZ).dt.date()
    return frame.with_columns(
        pl.col("received_at", "due_at", "completed_at").dt.replace_time_zone("UTC"),
    ).with_columns(
        (
            pl.col("unit_code")
            + "-"
            + local_day.dt.strftime("%Y%m%d")
            + "-"
            + pl.int_range(pl.len()).over("unit_code", local_day).cast(pl.String).str.zfill(5)
        ).alias("dossier_id"),
        pl.when(pl.col("completed_at").is_null())
        .then(pl.lit("in_progress"))
        .otherwise(pl.lit("completed"))
        .alias("status"),
        pl.coalesce("completed_at", "received_at").cast(utc).alias("updated_at"),
    )


def generate(
    config: Config,
    start: date = DEMO_START,
    end: date | None = None,
    seed: int = 7,
    scale: str = "default",
    now: datetime | None = None,
) -> Iterator[pl.DataFrame]:
    """Canonical dossier frames, one per calendar month from `start` to `end` (inclusive).

    The same seed, dates and scale give the same dossiers. `now` (default: the current time)
    decides which dossiers are still open.
    """
    now = now or datetime.now(UTC)
    today = (now + LOCAL_OFFSET).date()
    end = end or today
    cells = _cells(config, seed, SCALES[scale])
    first = start
    while first <= end:
        last = min(add_months(first.replace(day=1), 1) - timedelta(days=1), end)
        # One generator per month: regenerating one month gives the same rows.
        rng = np.random.default_rng([seed, first.year, first.month])
        frame = _month(config, cells, first, last, today, now, rng)
        if frame.height:
            # Nothing is received after `now`: the rest of today has not happened yet.
            yield frame.filter(pl.col("received_at") <= now)
        first = last + timedelta(days=1)


def load_demo(
    wh,
    scale: str = "default",
    now: datetime | None = None,
    progress: bool = False,
    exclude: frozenset[str] = frozenset(),
    start: date = DEMO_START,
):
    """Fill the warehouse with the demo city as source "demo" and return the last BatchResult.

    `start`: the first day (default 2023-01-01; benchmarks start later for 1 or 3 years).
    `exclude`: units whose dossiers come from their own demo department feeds instead (counting
    them here too would count them twice). The default scale goes in one batch (~9 s); larger
    scales month by month, so memory stays bounded, with a progress bar when asked.
    """
    from tqdm import tqdm

    from warehouse import Batch

    frames = generate(wh.config, start=start, scale=scale, now=now)
    if exclude:
        frames = (f.filter(~pl.col("unit_code").is_in(sorted(exclude))) for f in frames)
    if scale != "city":
        return wh.load(Batch("demo", dossiers=pl.concat(list(frames))), now)
    result = None
    for frame in tqdm(frames, desc="demo city", unit="month", disable=not progress):
        result = wh.load(Batch("demo", dossiers=frame), now)
        if result.status != "ok":
            break
    return result


def main() -> None:
    import argparse
    from pathlib import Path

    from config import load_config
    from warehouse import open_warehouse

    parser = argparse.ArgumentParser(description="Fill a warehouse with the demo city.")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default 2023-01-01)")
    parser.add_argument("--years", type=int, help="instead of --start: this many years to today")
    args = parser.parse_args()
    start = args.start or DEMO_START
    if args.years:
        today = (datetime.now(UTC) + LOCAL_OFFSET).date()
        start = add_months(today.replace(day=1), -12 * args.years)
    wh = open_warehouse(args.data_dir / "ioc.duckdb", load_config())
    result = load_demo(wh, args.scale, progress=True, start=start)
    print(result)
    wh.close()


if __name__ == "__main__":
    main()
