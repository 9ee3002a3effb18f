"""HTML elements written as the JSON Dash sends for them, for a page's big tables.

`html.Td(...)` is a validated component object: ~30 µs to build and more to serialize. A table
of a few hundred cells built cell by cell cost ~12 ms of a page view, more than the cached
answer it shows. A plain dict with the same type, namespace and props renders the same element
in the browser (tests/programmes/test_programmes_cache.py compares the JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def element(tag: str, children: Any, **props: Any) -> dict:
    """`html.<tag>(children, **props)` as JSON."""
    return {
        "type": tag,
        "namespace": "dash_html_components",
        "props": {"children": children, **props},
    }


def table(headers: Sequence[Any], rows: Sequence[Sequence[Any]], id_: str, empty: str,
          class_name: str = "table table-sm table-striped mb-0") -> dict:  # fmt: skip
    """A table (`<table id=id_>`, a header row, one `<tr>` per row): a header or a cell is its
    content, or a whole `<th>`/`<td>` from `element` (to give it a class). Without rows, the
    `empty` text instead of a bare header row."""
    if not rows:
        return element("Div", empty, id=id_, className="small text-muted")
    return element("Table", [
        element("Thead", element("Tr", [_cell("Th", h) for h in headers])),
        element("Tbody", [element("Tr", [_cell("Td", c) for c in r]) for r in rows]),
    ], id=id_, className=class_name)  # fmt: skip


def _cell(tag: str, content: Any) -> dict:
    if isinstance(content, dict) and content.get("type") == tag:
        return content
    return element(tag, content)
