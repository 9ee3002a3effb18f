"""Vendor plotly.js for the boards: npm's plotly.js-cartesian-dist-min, registering only the trace
types the boards draw.

    .venv/bin/python scripts/vendor_plotly.py path/to/plotly-cartesian.min.js

The cartesian bundle registers twelve modules when it loads (bar, box, heatmap, histogram,
contour, violin, pie, …); each one's set-up runs on the page's main thread before the first
graph: about half of the bundle's 0.6 s start on this machine. The boards draw scatter (always in
plotly's core), bar and heatmap, so the others are left out of the register call; their code
stays in the file, never run. Writes assets/vendor/plotly-boards-<version>.min.js.
Upgrading plotly: get the cartesian dist of the version plotly.py ships and run this again.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "assets" / "vendor"
TRACES = ("bar", "heatmap")  # and scatter, which plotly's core registers itself
CORE_TRACES = ("scatter",)

# The bundle's entry point (esbuild output): `X.register([a(),b(),…])` over lazy module wrappers.
_REGISTER = re.compile(r"([\w$]+)\.register\(\[((?:[\w$]+\(\),?)+)\]\)")
_HEADER = re.compile(r"\* plotly\.js \(cartesian - minified\) (v[\d.]+)\n")


def _wrapper(text: str, name: str) -> int:
    found = re.search(rf"[,;{{ ]{re.escape(name)}=z\(", text)
    if found is None:
        raise ValueError(f"module wrapper {name} not found")
    return found.start()


# `entry=z((a,b)=>{"use strict";b.exports=module()})`: an entry re-exporting a module.
_REEXPORT = re.compile(r'.[\w$]+=z\(\([\w$]+,([\w$]+)\)=>\{"use strict";\1\.exports=([\w$]+)\(\)\}')
_DECLARED = re.compile(r'moduleType:"(\w+)",name:"(\w+)"')


def _declaration(text: str, entry: str) -> tuple[str, str]:
    """(moduleType, name) of what a register entry `entry()` returns: ("trace", "bar"), …"""
    start = _wrapper(text, entry)
    inner = _REEXPORT.match(text, start)
    declared = _DECLARED.search(text, _wrapper(text, inner.group(2)) if inner else start)
    if declared is None:
        raise ValueError(f"no module declaration after {entry}")
    return declared.group(1), declared.group(2)


def registered(text: str) -> dict[str, tuple[str, str]]:
    """{entry: (moduleType, name)} of the bundle's last register call: what it loads."""
    calls = list(_REGISTER.finditer(text))
    if not calls:
        raise ValueError("no register call found: not an esbuild plotly.js bundle")
    entries = [e[:-2] for e in calls[-1].group(2).split(",")]
    return {e: _declaration(text, e) for e in entries}


def trim(text: str, keep: tuple[str, ...] = TRACES) -> str:
    """The bundle registering only the traces `keep`, and every component (e.g. calendars)."""
    call = list(_REGISTER.finditer(text))[-1]
    modules = registered(text)
    missing = set(keep) - {name for _, name in modules.values()}
    if missing:
        raise ValueError(f"the bundle has no {sorted(missing)} trace")
    kept = [e for e, (kind, name) in modules.items() if kind != "trace" or name in keep]
    new = f"{call.group(1)}.register([{','.join(e + '()' for e in kept)}])"
    note = f"\\g<0>* registering only {', '.join(CORE_TRACES + keep)} (scripts/vendor_plotly.py)\n"
    return _HEADER.sub(note, text[: call.start()] + new + text[call.end() :], count=1)


def traces(text: str) -> set[str]:
    """The trace types the bundle can draw."""
    return set(CORE_TRACES) | {n for kind, n in registered(text).values() if kind == "trace"}


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    text = Path(argv[0]).read_text(encoding="utf-8")
    version = _HEADER.search(text)
    if version is None:
        raise SystemExit(f"{argv[0]}: not plotly.js-cartesian-dist-min (no header)")
    out = VENDOR / f"plotly-boards-{version.group(1)[1:]}.min.js"
    out.write_text(trim(text), encoding="utf-8")
    print(f"{out}: draws {', '.join(sorted(traces(out.read_text(encoding='utf-8'))))}")


if __name__ == "__main__":
    main(sys.argv[1:])
