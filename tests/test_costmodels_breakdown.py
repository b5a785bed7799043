"""`hyflex breakdown` and `hyflex calibrate --arch`: any design's area and peak power from the
real component models, and the design file as the one source of the PU's make-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hwcomponents as hwc
import pytest
import yaml

from hyflex_plugin.architecture import ARCH_DIR, load_arch
from hyflex_plugin.cli import main
from hyflex_plugin.costmodels import models as m
from hyflex_plugin.costmodels.breakdown import ANALOG_PARTS, design_breakdown
from hyflex_plugin.costmodels.calibrate import calibrate_pu
from hyflex_plugin.costmodels.hwc_compat import reset_model_cache
from hyflex_plugin.evaluation.model import pu_area_m2

TINY = {"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 64,
        "num_attention_heads": 2, "intermediate_size": 128}
SHIPPED = sorted(f.name for f in ARCH_DIR.glob("*.yaml"))


def _sum(level: dict, key: str) -> float:
    return sum(e[key] for e in level["components"].values())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_design_adds_up(name):
    design = load_arch(name)
    b = design_breakdown(design)
    levels = [b["digital_module"], b["pu"], b["chip"]]
    if b["analog_module"] is not None:
        levels.append(b["analog_module"])
    for level in levels:
        assert level["area_m2"] > 0 and level["peak_power_w"] > 0
        assert _sum(level, "area_m2") == pytest.approx(level["area_m2"], rel=1e-12)
        assert _sum(level, "peak_power_w") == pytest.approx(level["peak_power_w"], rel=1e-12)
    pu = b["pu"]["components"]
    if b["analog_module"] is not None:
        assert pu["analog_modules"]["area_m2"] == pytest.approx(
            design.pu.analog_modules * b["analog_module"]["area_m2"])
    else:
        assert design.pu.analog_modules == 0 and pu["analog_modules"]["area_m2"] == 0
    assert pu["digital_modules"]["peak_power_w"] == pytest.approx(
        design.pu.digital_modules * b["digital_module"]["peak_power_w"])
    # the PU is what `hyflex evaluate` charges per PU used
    assert b["pu"]["area_m2"] == pu_area_m2(design)
    chip = b["chip"]["components"]
    assert chip["processing_units"]["area_m2"] == pytest.approx(
        design.chip.processing_units * b["pu"]["area_m2"])


def test_parts_are_the_hwcomponents_models():
    """One unit of each part costs what hwcomponents' own query returns for that model."""
    design = load_arch()
    a = design.analog
    adc = design_breakdown(design)["analog_module"]["components"]["adc"]
    attrs = {"resolution": a.adc_max_bits, "max_resolution": a.adc_max_bits,
             "throughput": a.columns / a.adcs_per_array / a.cycle, "tech_node": design.tech_node}
    try:
        via_hwc = hwc.get_area("hyflex_sar_adc", attrs)
    finally:
        reset_model_cache()
    assert adc["area_m2"] / adc["count"] == pytest.approx(via_hwc, rel=1e-9)
    # peak power = per-cycle conversions x energy per conversion / cycle
    energy = m.HyflexSARADC(a.adc_bits_mlc, a.adc_max_bits, attrs["throughput"]).convert().energy
    per_cycle = design.pu.arrays_per_module * a.columns
    assert adc["peak_power_w"] == pytest.approx(per_cycle * energy / a.cycle, rel=1e-12)
    assert set(ANALOG_PARTS) == {"cells", "adc", "drivers", "shift_add", "mode_switch"}


def test_different_designs_give_different_numbers():
    hy = design_breakdown(load_arch("hyflexpim.yaml"))
    asadi = design_breakdown(load_arch("asadi-dagger.yaml"))
    digital_only = design_breakdown(load_arch("digital-pim-only.yaml"))
    assert asadi["pu"]["area_m2"] != pytest.approx(hy["pu"]["area_m2"], rel=0.01)
    assert asadi["analog_module"]["area_m2"] < hy["analog_module"]["area_m2"] / 5  # 96 vs 512 arrays
    assert asadi["analog_module"]["components"]["mode_switch"]["count"] == 0  # SLC only
    assert asadi["analog_module"]["peak_mode"] == "SLC" and hy["analog_module"]["peak_mode"] == "MLC"
    assert digital_only["analog_module"] is None
    assert digital_only["pu"]["area_m2"] < hy["pu"]["area_m2"]
    # a smaller node shrinks everything
    small = design_breakdown(load_arch(), tech_node=32e-9)
    assert small["pu"]["area_m2"] < hy["pu"]["area_m2"]
    assert small["pu"]["peak_power_w"] < hy["pu"]["peak_power_w"]


def test_hyflexpim_breakdown_matches_the_table2_calibration():
    b, cal = design_breakdown(load_arch()), calibrate_pu()
    pu = b["pu"]["components"]
    assert pu["analog_modules"]["area_m2"] * 1e6 == pytest.approx(cal["analog_area_mm2"], rel=1e-12)
    assert pu["analog_modules"]["peak_power_w"] == pytest.approx(cal["analog_power_w"], rel=1e-12)
    assert pu["digital_modules"]["peak_power_w"] == pytest.approx(cal["digital_power_w"], rel=1e-12)
    assert pu["sfu"]["power_by_action_w"]["softmax"] * 1e3 == pytest.approx(cal["sfu_power_mw"])
    # Table 2 within 1 % in both directions
    for key in ("analog_area_mm2", "analog_power_w", "digital_area_mm2", "digital_power_w",
                "adc_area_share", "adc_power_share", "sfu_area_mm2", "sfu_power_mw"):
        ratio = cal[key] / cal["targets"][key]
        assert 0.99 <= ratio <= 1.01, (key, ratio)


def test_cli_breakdown_text_json_and_bad_arch(tmp_path, capsys):
    assert main(["breakdown", "--arch", "asadi-dagger.yaml"]) == 0
    text = capsys.readouterr().out
    assert "ASADI-dagger" in text and "one analog module (SLC mode" in text and "adc" in text
    assert main(["breakdown", "--arch", "digital-pim-only.yaml", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["analog_module"] is None and data["pu"]["area_m2"] > 0
    out = tmp_path / "b.json"
    assert main(["breakdown", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["design"] == "HyFlexPIM"
    # an output path that cannot be written is refused before any work, naming --json
    for target in (tmp_path, out / "under-a-file.json"):
        r = subprocess.run([sys.executable, "-m", "hyflex_plugin", "calibrate", "--json",
                            str(target)], capture_output=True, text=True, check=False)
        assert r.returncode == 2 and "--json" in r.stderr and "Traceback" not in r.stderr
    # bad --arch: a one-line error naming the option or the file and field, exit 2
    missing = subprocess.run([sys.executable, "-m", "hyflex_plugin", "breakdown", "--arch",
                              str(tmp_path / "nope.yaml")], capture_output=True, text=True,
                             check=False)
    assert missing.returncode == 2 and "--arch" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    bad = yaml.safe_load((ARCH_DIR / "hyflexpim.yaml").read_text())
    bad["pu"]["buffer_width"] = "wide"
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(bad))
    r = subprocess.run([sys.executable, "-m", "hyflex_plugin", "breakdown", "--arch", str(f)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and str(f) in r.stderr and "buffer_width" in r.stderr
    assert "Traceback" not in r.stderr


def _edited_copy(tmp_path: Path, name: str, section: str, key: str, value) -> Path:
    doc = yaml.safe_load((ARCH_DIR / "hyflexpim.yaml").read_text())
    doc[section][key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _cli_json(capsys, *argv) -> dict:
    assert main([*argv, "--json", "-"]) == 0
    return json.loads(capsys.readouterr().out)


def test_editing_the_design_file_changes_calibrate_evaluate_and_export(tmp_path, capsys,
                                                                       monkeypatch):
    """Acceptance (issue 12): the design file is the one source of the PU's make-up."""
    from hyflex_plugin.export.timeloop import export_timeloop

    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(TINY))
    orig = ARCH_DIR / "hyflexpim.yaml"
    half = _edited_copy(tmp_path, "half.yaml", "pu", "analog_modules", 12)
    narrow = _edited_copy(tmp_path, "narrow.yaml", "pu", "buffer_width", 128)

    cal = {p: _cli_json(capsys, "calibrate", "--arch", str(p)) for p in (orig, half)}
    assert cal[half]["analog_area_mm2"] == pytest.approx(cal[orig]["analog_area_mm2"] / 2)
    assert cal[half]["analog_power_w"] == pytest.approx(cal[orig]["analog_power_w"] / 2)
    assert cal[half]["digital_area_mm2"] == cal[orig]["digital_area_mm2"]

    ev = {p: _cli_json(capsys, "evaluate", "--model", str(cfg), "--seq-len", "16", "--arch", str(p))
          for p in (orig, half, narrow)}
    assert ev[half]["area_mm2"] < ev[orig]["area_mm2"]  # smaller PU, same PU count
    assert ev[half]["pus"] == ev[orig]["pus"] == 1
    # the buffer's width reaches AccelForge (bits_per_action and the model's width)
    for part in ("linear.Buffer", "attention.Buffer"):
        buf = {p: ev[p]["energy_by_component_j"][part] for p in (orig, narrow)}
        assert buf[narrow] != pytest.approx(buf[orig], rel=1e-3), part
    bd = {p: design_breakdown(load_arch(p)) for p in (orig, narrow)}
    # same capacity, so the same area; a narrower word costs less per access
    narrow_buf, orig_buf = (bd[p]["pu"]["components"]["buffer"] for p in (narrow, orig))
    assert narrow_buf["area_m2"] == pytest.approx(orig_buf["area_m2"])
    assert narrow_buf["peak_power_w"] < orig_buf["peak_power_w"]

    arch = {}
    for p in (orig, half, narrow):
        out = tmp_path / f"export-{p.stem}"
        export_timeloop(model=str(cfg), seq_len=16, slc_fraction=0.25, arch=p, out=out,
                        reference=False)
        arch[p] = {f.name: f.read_text() for f in sorted((out / "arch").glob("*.yaml"))}
    assert arch[half]["analog_mlc.arch.yaml"] != arch[orig]["analog_mlc.arch.yaml"]
    assert "meshX: 6144" in arch[half]["analog_mlc.arch.yaml"]  # 12 modules x 512 arrays
    assert "meshX: 12288" in arch[orig]["analog_mlc.arch.yaml"]
    assert "width: 128" in arch[narrow]["digital.arch.yaml"]
    assert "width: 256" in arch[orig]["digital.arch.yaml"]
