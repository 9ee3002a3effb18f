"""The vendored plotly.js bundle (assets/vendor, see app.py): the version plotly.py draws for,
able to draw every trace type the boards build."""

import importlib.util
import re
from pathlib import Path

import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType
from plotly.offline import get_plotlyjs_version

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "assets" / "vendor"
_spec = importlib.util.spec_from_file_location(
    "vendor_plotly", ROOT / "scripts" / "vendor_plotly.py"
)
vendor_plotly = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vendor_plotly)

TRACE_TYPES = {
    name.lower()
    for name in dir(go)
    if isinstance(getattr(go, name), type) and issubclass(getattr(go, name), BaseTraceType)
}


def _bundle() -> str:
    bundles = sorted(VENDOR.glob("plotly-*.min.js"))
    assert [b.name for b in bundles] == [f"plotly-boards-{get_plotlyjs_version()}.min.js"]
    return bundles[0].read_text(encoding="utf-8")


def test_vendored_plotly_bundle_matches_plotly_py():
    assert f"v{get_plotlyjs_version()}" in _bundle()[:200]


def test_the_bundle_draws_every_trace_type_the_boards_build():
    """A trace type the bundle does not register draws nothing, without an error: every
    `"type": "<trace>"` and `go.<Trace>(` in the page code must be one it draws."""
    used = set()
    for path in (ROOT / "dashboards").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'"type":\s*"(\w+)"', text)) & TRACE_TYPES
        used |= {n.lower() for n in re.findall(r"\bgo\.(\w+)\(", text)} & TRACE_TYPES
    assert used, "no trace types found: the scan is broken"
    assert used <= vendor_plotly.traces(_bundle())


def test_trimming_keeps_the_components_and_the_wanted_traces_only():
    text = _bundle()
    assert vendor_plotly.traces(text) == {"scatter", "bar", "heatmap"}
    assert ("component", "calendars") in vendor_plotly.registered(text).values()
    heatmap_only = vendor_plotly.trim(text, keep=("heatmap",))
    assert vendor_plotly.traces(heatmap_only) == {"scatter", "heatmap"}
    assert ("component", "calendars") in vendor_plotly.registered(heatmap_only).values()
