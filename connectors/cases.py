"""Case lists (identification papers for special populations) from files: kind `case_files`.

Like `files` (CSV/XLSX/Parquet dropped in a folder, one load batch per file, a re-export under
the same name replaces the earlier version's rows), but the rows are cases, loaded into their own
table by `warehouse.cases` (shape "case"). Column names map through the feed's `columns` table to
the case fields (case_id, ward_code, group_code, age_group, status, proposed_solution, owner,
opened_on, due_on, resolved_on, full_name, birth_date, id_number, updated_at); coded values
through `values.<field>`; dates as the feed's `parse.date_format` says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from connectors.base import Pull, register
from connectors.files import FilesConnector
from connectors.mapping import _norm, _parse
from warehouse.cases import CASE_SCHEMA, PERSONAL_FIELDS, CaseBatch
from warehouse.loading import Reject


def _without_personal(raw: str) -> str:
    """A rejected row's raw JSON without personal fields (quarantine is read by feed admins)."""
    try:
        row = json.loads(raw)
    except ValueError:
        return "{}"
    return json.dumps({k: v for k, v in row.items() if k not in PERSONAL_FIELDS},
                      ensure_ascii=False)  # fmt: skip


@dataclass
class CasePull(Pull):
    cases: pl.DataFrame | None = None

    def batch(self, source: str) -> CaseBatch:
        return CaseBatch(source=source, cases=self.cases, rejects=list(self.rejects),
                         rows_read=self.rows_read, source_key=self.source_key,
                         content_hash=self.content_hash, state=self.state)  # fmt: skip


def case_columns(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Rename mapped columns to case fields (case field names pass through); drop the rest."""
    wanted = {_norm(k): v for k, v in columns.items()}
    keep: dict[str, str] = {}
    for col in frame.columns:
        target = wanted.get(_norm(col)) or (col if col in CASE_SCHEMA else None)
        if target is not None and target not in keep.values():
            keep[col] = target
    return frame.select([pl.col(c).alias(t) for c, t in keep.items()])


@register
class CaseFilesConnector(FilesConnector):
    kind = "case_files"

    def parse_file(self, key: str, data: bytes, digest: str) -> Pull:
        frame = self.read(key, data)
        good, rejects = _parse(case_columns(frame, self.feed.columns), CASE_SCHEMA, self.feed)
        rejects = [Reject(_without_personal(r.raw), r.reason) for r in rejects]
        for field in set(CASE_SCHEMA) - set(good.columns):
            good = good.with_columns(pl.lit(None, CASE_SCHEMA[field]).alias(field))
        return CasePull(cases=good, rejects=rejects, rows_read=frame.height, source_key=key,
                        content_hash=digest)  # fmt: skip
