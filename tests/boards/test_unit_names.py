"""A unit standing alone (an alert, a list, a grid row) is named so it cannot be another: ward
names repeat across districts ("Phường 4" is in several), so a Vietnamese ward name carries its
district, as the English names do."""

from __future__ import annotations

from config import load_config
from config.settings import Settings
from dashboards import _runtime
from dashboards._alerts import alert_name


def test_a_ward_is_named_with_its_district_other_units_alone():
    cfg = load_config()
    assert cfg.unit_name("Q8-P04", "vi") == "Phường 4, Quận 8"
    assert cfg.unit_name("Q8-P04", "en") == "Ward 4, District 8"  # as configured
    assert cfg.unit_name("Q8", "vi") == "Quận 8"
    assert cfg.unit_name("SO-TP", "vi") == "Sở Tư pháp"
    assert cfg.unit_name("HCM", "vi") == "Thành phố Hồ Chí Minh"


def test_an_alert_on_a_ward_names_its_district(wh, monkeypatch):
    cfg = load_config()
    monkeypatch.setattr(_runtime, "_current", _runtime.Runtime(Settings(), cfg, wh))
    row = {"unit_code": "Q8-P04", "metric": "record_digitization_rate", "rule_id": "r"}
    assert alert_name(row, "vi") == "Phường 4, Quận 8 · Tỷ lệ số hóa hồ sơ"
    assert alert_name({**row, "unit_code": "GONE"}, "vi").startswith("GONE · ")
