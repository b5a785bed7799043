"""`hyflex demo` (what `make demo` runs), end to end on the real engine with an empty cache.

The same run checks that no number changed: every number in the demo's comparison JSON and in
its calibration table is compared with the stored copy in ``tests/data/demo_snapshot/`` (made
before issue 12's restructuring, from main at 7b9a781). A change that moves numbers on purpose
refreshes the copy in a commit that says why, with one command:

    HYFLEX_UPDATE_DEMO_SNAPSHOT=1 python -m pytest tests/test_comparison_demo.py
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from hyflex_plugin.cli import main
from hyflex_plugin.io import atomic_write_json, atomic_write_text

SNAPSHOT = Path(__file__).parent / "data" / "demo_snapshot"
REL = 1e-9  # float round-off: summation order may differ, values may not


def _numbers(obj, path: str = "") -> dict[str, float]:
    """Every numeric leaf of a JSON document by its path (strings and booleans left out)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_numbers(v, f"{path}.{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_numbers(v, f"{path}[{i}]"))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[path] = float(obj)
    return out


def _calibration(printed: str) -> dict[str, float]:
    """The model column of the calibration table, by quantity."""
    rows = {}
    for line in printed.splitlines():
        m = re.match(r"^(\S.*?)\s{2,}(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s*(.*)$", line)
        if m:
            rows[m.group(1)] = float(m.group(2))
    return rows


def _changed(stored: dict[str, float], now: dict[str, float]) -> list[str]:
    return [f"{k}: {v!r} -> {now.get(k)!r}" for k, v in stored.items()
            if k not in now or not math.isclose(now[k], v, rel_tol=REL, abs_tol=1e-300)]


@pytest.mark.slow
def test_demo_writes_report_and_prints_claims(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "results" / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "vs the paper's Table 2" in printed.out  # calibration first
    assert str(out.resolve() / "report.md") in printed.err  # where it is: a message
    assert "throughput vs ASADI-dagger at N = 128" in printed.out and "1.86x" in printed.out
    data = json.loads((out / "comparison.json").read_text())
    assert data["config"]["models"] == ["bert-large", "bert-base"]
    assert data["reference"]["model"] == "bert-large"
    t128 = next(c for c in data["claims"] if c["key"] == "asadi_throughput_n128")
    assert t128["seq_len"] == 128 and t128["model"] > 1  # HyFlexPIM faster than ASADI-dagger
    assert len(data["rows"]) == 2 * 3 * (2 + 5)

    calibration = _calibration(printed.out)
    if os.environ.get("HYFLEX_UPDATE_DEMO_SNAPSHOT"):
        atomic_write_json(SNAPSHOT / "comparison.json", data)
        atomic_write_text(SNAPSHOT / "calibration.json", json.dumps(calibration, indent=2) + "\n")
    # no numeric result changed (the stored copy of the demo's numbers)
    stored = _numbers(json.loads((SNAPSHOT / "comparison.json").read_text()))
    assert len(stored) > 1000
    assert not _changed(stored, _numbers(data))
    stored_cal = json.loads((SNAPSHOT / "calibration.json").read_text())
    assert len(stored_cal) >= 10 and not _changed(stored_cal, calibration)
