"""Energy tables and the `hyflex calibrate` / `hyflex tables` commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hyflex_plugin.costmodels import models as m
from hyflex_plugin.costmodels.tables import component_table, to_csv, to_text, to_yaml

NM65, NM32 = 65e-9, 32e-9


def test_tables_match_models_and_serialise(tmp_path):
    rows = component_table(NM65)
    assert {r["class"] for r in rows} >= {"HyflexRRAMCell", "HyflexSARADC", "HyflexSFU"}
    adc7 = next(r for r in rows if r["component"] == "sar_adc_mlc_7b" and r["action"] == "convert")
    assert adc7["energy_j"] == pytest.approx(m.HyflexSARADC(7).convert().energy)
    assert "sar_adc_mlc_7b" in to_csv(rows) and "tech_node_m" in to_yaml(rows, NM65)
    rows32 = component_table(NM32)
    assert sum(r["energy_j"] for r in rows32) < sum(r["energy_j"] for r in rows)


def test_cli_calibrate_json_and_tables(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hyflex_plugin", "calibrate", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ["analog_area_mm2", "analog_power_w", "digital_area_mm2", "digital_power_w",
                "adc_area_share", "adc_power_share", "sfu_area_mm2", "sfu_power_mw",
                "mode_switch_area_overhead", "mode_switch_energy_overhead"]:
        assert key in data
    f = tmp_path / "t.csv"
    out = subprocess.run([sys.executable, "-m", "hyflex_plugin", "tables", "--tech-node", "32nm",
                          "--out", str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f.read_text().startswith("component,class,attributes,action,energy_pJ")
    bad = subprocess.run([sys.executable, "-m", "hyflex_plugin", "tables", "--tech-node", "3nm"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "tech-node" in bad.stderr and "130 nm" in bad.stderr


def test_terminal_table_is_aligned_and_complete():
    rows = component_table(NM65)
    lines = to_text(rows).splitlines()
    assert len(lines) == len(rows) + 2  # header, rule, one line per row
    # columns start at the same offset on every line (the rule line gives the widths)
    starts, pos = [], 0
    for dashes in lines[1].split("  "):
        starts.append(pos)
        pos += len(dashes) + 2
    assert len(starts) == 6
    for line in lines:
        for s in starts[1:]:
            assert line[s - 2:s] == "  ", (line, s)
        assert line == line.rstrip()
    # every component of the models is in the table with every action it declares
    for cls in set(m.__all__) - {"HyflexAnalogModule", "HyflexDigitalModule"}:
        assert any(r["class"] == cls for r in rows), cls


def test_cli_tables_yaml_roundtrip_and_calibrate_text(tmp_path):
    import yaml

    f = tmp_path / "t.yaml"
    out = subprocess.run([sys.executable, "-m", "hyflex_plugin", "tables", "--out", str(f)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(f.read_text())
    assert doc["tech_node_m"] == pytest.approx(NM65)
    adc = next(r for r in doc["rows"] if r["component"] == "sar_adc_slc_6b")
    assert adc["energy_j"] == pytest.approx(m.HyflexSARADC(6).convert().energy)
    text = subprocess.run([sys.executable, "-m", "hyflex_plugin", "calibrate"],
                          capture_output=True, text=True)
    assert text.returncode == 0 and "per INT8 weight-MAC" in text.stdout and "SLC" in text.stdout


@pytest.mark.parametrize("command", ["calibrate", "tables"])
def test_unsupported_tech_node_names_the_option_and_range(command):
    bad = subprocess.run([sys.executable, "-m", "hyflex_plugin", command, "--tech-node", "200nm"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "--tech-node" in bad.stderr and "7 nm .. 130 nm" in bad.stderr and "200 nm" in bad.stderr
