"""The shipped configuration is complete, and every kind of mistake is named precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config import CONFIG_DIR, ConfigError, load_config


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def test_units_cover_the_city_structure():
    config = load_config()
    kinds = [u.kind for u in config.units]
    assert config.root.code == "HCM"
    assert kinds.count("district") == 22
    assert kinds.count("department") >= 10
    districts = {u.code for u in config.units if u.kind == "district"}
    for code in districts:
        assert len([u for u in config.units if u.parent_code == code]) >= 2, code
    names = {u.name_vi for u in config.units}
    assert {"Thành phố Thủ Đức", "Huyện Củ Chi", "Xã Nhuận Đức"} <= names
    assert config.unit("Q11-P09").parent_code == "Q11"


def test_procedures_and_sectors_are_enough():
    config = load_config()
    assert len(config.procedures) >= 40
    assert len({p.sector_code for p in config.procedures.values()}) >= 10
    assert config.procedures["2.000815"].sector_code == "chung_thuc"


def test_catalog_has_every_rate_of_the_domain():
    config = load_config()
    expected = {
        "online_rate",
        "full_process_rate",
        "on_time_rate",
        "record_digitization_rate",
        "result_digitization_rate",
        "e_result_rate",
        "data_reuse_rate",
        "online_payment_rate",
        "avg_processing_days",
        "overdue_count",
    }
    assert expected <= set(config.metrics)
    assert config.metrics["avg_processing_days"].direction == "lower"
    for m in config.metrics.values():
        assert m.name_vi and m.name_en


def test_targets_for_every_headline_rate_and_year():
    config = load_config()
    years = {(t.metric, t.year) for t in config.targets if t.unit_code is None}
    for metric in ("online_rate", "on_time_rate", "record_digitization_rate"):
        for year in (2023, 2024, 2025, 2026):
            assert (metric, year) in years


def test_unknown_parent_unit_is_named(config_copy: Path):
    append(config_copy / "units.csv", "X-NEW,NOWHERE,ward,Phường Mới,New Ward,2020-01-01,,")
    with pytest.raises(ConfigError) as e:
        load_config(config_copy)
    assert str(e.value).startswith("units.csv: line ")
    assert "unit X-NEW: unknown parent unit NOWHERE" in str(e.value)


def test_duplicate_unit_code_is_named_with_both_rows(config_copy: Path):
    append(config_copy / "units.csv", "Q1,HCM,district,Quận 1,District 1,2010-01-01,,")
    with pytest.raises(ConfigError, match=r"units.csv: line \d+: duplicate unit code Q1"):
        load_config(config_copy)


def test_duplicate_procedure_code_is_named(config_copy: Path):
    append(
        config_copy / "procedures.csv",
        "2.000815,chung_thuc,commune,Bản sao,Copy,true,true,true,true,1",
    )
    with pytest.raises(ConfigError, match="procedures.csv: line .*duplicate procedure code"):
        load_config(config_copy)


def test_metric_naming_an_unknown_measure(config_copy: Path):
    append(
        config_copy / "metrics.toml",
        '[metrics.broken]\nname_vi = "x"\nname_en = "x"\ntype = "ratio"\n'
        'numerator = "no_such_measure"\ndenominator = "received"\nunit = "%"\n'
        'direction = "higher"',
    )
    with pytest.raises(ConfigError) as e:
        load_config(config_copy)
    assert str(e.value) == (
        "metrics.toml: metrics.broken.numerator: unknown measure 'no_such_measure'"
    )


def test_bad_target_year(config_copy: Path):
    append(config_copy / "targets.csv", "online_rate,1999,,50,typo")
    with pytest.raises(ConfigError, match=r"targets.csv: line \d+: bad target year 1999"):
        load_config(config_copy)


def test_target_for_unknown_unit(config_copy: Path):
    append(config_copy / "targets.csv", "online_rate,2025,Q99,50,typo")
    with pytest.raises(ConfigError, match="unknown unit 'Q99'"):
        load_config(config_copy)


def test_bad_boolean_in_procedures(config_copy: Path):
    append(config_copy / "procedures.csv", "9.999999,chung_thuc,commune,X,X,maybe,true,true,true,1")
    with pytest.raises(ConfigError, match="full_process must be true or false, not 'maybe'"):
        load_config(config_copy)
