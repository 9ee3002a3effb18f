"""Metric queries behind each board: the metrics layer call vs the bare DuckDB SQL it runs.

    python -m bench.queries --data-dir DIR [--runs 20]

Prints p50/p95 in milliseconds for each board query (cold: cache off; cached), the bare SQL the
layer runs and the overhead ratio (layer / bare SQL), and writes bench/results/queries.json.
Fill DIR first, e.g. with `python -m connectors.demo_city --scale city --years 3 --data-dir DIR`;
`python -m bench.run` does all of it (and more) in one command.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from bench.run import RESULTS, measure_queries
from config import load_config
from warehouse import open_warehouse
from warehouse.db import scalar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    config = load_config()
    wh = open_warehouse(args.data_dir / "ioc.duckdb", config)
    cur = wh.cursor()
    today = scalar(cur, "SELECT max(received_day) FROM dossier")
    dossiers = scalar(cur, "SELECT count(*) FROM dossier")
    facts = scalar(cur, "SELECT count(*) FROM fact")
    rows = measure_queries(wh, today, args.runs)
    print(f"{dossiers:,} dossiers, {facts:,} fact rows")
    print(
        f"{'query':52} {'p50':>6} {'p95':>6} {'cached':>7} {'sql p50':>8} {'p95':>6} {'ratio':>6}"
    )
    for r in rows:
        print(f"{r['query']:52} {r['layer_p50_ms']:6.1f} {r['layer_p95_ms']:6.1f} "
              f"{r['cached_p95_ms']:7.2f} {r['sql_p50_ms']:8.1f} {r['sql_p95_ms']:6.1f} "
              f"{r['ratio_p95']:6.2f}")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"measured_at": datetime.now().isoformat(timespec="seconds"), "dossiers": dossiers,
           "fact_rows": facts, "queries": rows}  # fmt: skip
    (RESULTS / "queries.json").write_text(json.dumps(out, indent=2, default=str))
    wh.close()


if __name__ == "__main__":
    main()
