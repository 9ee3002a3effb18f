"""The vendored plotly.js bundle (assets/vendor, see app.py) is the version plotly.py draws for."""

from pathlib import Path

from plotly.offline import get_plotlyjs_version

VENDOR = Path(__file__).resolve().parents[2] / "assets" / "vendor"


def test_vendored_plotly_bundle_matches_plotly_py():
    bundles = sorted(VENDOR.glob("plotly-cartesian-*.min.js"))
    assert [b.name for b in bundles] == [f"plotly-cartesian-{get_plotlyjs_version()}.min.js"]
    assert f"v{get_plotlyjs_version()}" in bundles[0].read_text(encoding="utf-8")[:200]
