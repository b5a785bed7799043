"""`hyflex demo` (what `make demo` runs), end to end on the real engine with an empty cache."""

from __future__ import annotations

import json

import pytest

from hyflex_plugin.cli import main


@pytest.mark.slow
def test_demo_writes_report_and_prints_claims(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "results" / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "vs the paper's Table 2" in printed  # calibration first
    assert str(out.resolve() / "report.md") in printed
    assert "throughput vs ASADI-dagger at N = 128" in printed and "1.86x" in printed
    data = json.loads((out / "comparison.json").read_text())
    assert data["config"]["models"] == ["bert-large", "bert-base"]
    assert data["reference"]["model"] == "bert-large"
    t128 = next(c for c in data["claims"] if c["key"] == "asadi_throughput_n128")
    assert t128["seq_len"] == 128 and t128["model"] > 1  # HyFlexPIM faster than ASADI-dagger
    assert len(data["rows"]) == 2 * 3 * (2 + 5)
