"""Claims with uncertainty ranges (issue 9 section 5): the sweep's fast engine against the
exact engine (AccelForge + hwcomponents run for real), the study's output, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from hyflex_plugin.comparison.published import CLAIMS_FILE, load_claims
from hyflex_plugin.comparison.sensitivity import (
    ClaimStudy,
    parameters,
    run_sensitivity,
    write_sensitivity,
)
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.workloads import ModelShape

TINY = ModelShape(name="tiny", n_layers=1, hidden_size=128, num_heads=2, intermediate_size=256)
DESIGNS = ["hyflexpim", "asadi-dagger", "digital-pim-only"]
METRICS = ("throughput_tops", "tops_per_w", "energy_linear_j", "stage_latency_linear_s",
           "energy_attention_j", "energy_sfu_j")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def recoster(tmp_path_factory):
    import os

    old = os.environ.get("HYFLEX_CACHE_DIR")
    os.environ["HYFLEX_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    claims = load_claims()
    rc = ClaimStudy(TINY, [32], DESIGNS, parameters(DESIGNS, claims), claims)
    yield rc
    if old is None:
        os.environ.pop("HYFLEX_CACHE_DIR", None)
    else:
        os.environ["HYFLEX_CACHE_DIR"] = old


def test_every_ranged_number_is_a_parameter_with_its_source(recoster):
    keys = {p.key for p in recoster.params}
    assert {"const:adc_sar_step_time", "const:adc_sampling_steps",
            "design:hyflexpim:analog.adcs_per_array", "claims:hyflex_slc_fraction"} <= keys
    for p in recoster.params:
        assert p.lo <= p.nominal <= p.hi and len(p.source) > 10, p.key


@pytest.mark.parametrize("where", ["nominal", "all at min", "all at max"])
def test_fast_engine_reproduces_the_exact_engine(recoster, where):
    pt = {} if where == "nominal" else {
        p.key: (p.lo if where == "all at min" else p.hi) for p in recoster.params}
    fast, exact = recoster.rows(pt), recoster.exact_rows(pt)
    assert fast.keys() == exact.keys()
    for key in fast:
        for m in METRICS:
            assert fast[key][m] == pytest.approx(exact[key][m], rel=1e-5), (key, m)
    if where != "nominal":  # the point moved the model
        nominal = recoster.rows({})
        assert any(nominal[k]["throughput_tops"] != pytest.approx(fast[k]["throughput_tops"])
                   for k in fast)


def test_step_time_moves_throughput_and_never_energy(recoster):
    lo = recoster.rows({"const:adc_sar_step_time": 8.68e-11})
    hi = recoster.rows({"const:adc_sar_step_time": 3.13e-10})
    h = ("hyflexpim", 32)
    assert lo[h]["throughput_tops"] > hi[h]["throughput_tops"]
    assert lo[h]["energy_j"] == pytest.approx(hi[h]["energy_j"], rel=1e-12)


def test_study_reports_ranges_drivers_and_recheck(tmp_path):
    study = run_sensitivity(TINY, [16, 32], ["asadi_throughput_n128", "asadi_energy_abstract"],
                            samples=20, seed=1, recheck=1, progress=False)
    for s in study["claims"].values():
        assert s["ratio_min"] <= s["ratio_median"] <= s["ratio_max"]
        assert s["ratio_min"] < s["ratio_max"]
        lo, hi = s["paper_range"] or (s["paper"], s["paper"])
        assert s["paper_inside"] == (s["ratio_min"] <= hi and lo <= s["ratio_max"])
        assert s["ratio_min"] <= s["nominal"] <= s["ratio_max"]
        assert 0 < len(s["top_drivers"]) <= 8
        swings = [d["swing"] for d in s["one_at_a_time"]]
        assert swings == sorted(swings, reverse=True)
    assert study["recheck"] and study["recheck_max_rel_err"] < 0.01
    write_sensitivity(study, tmp_path / "out")
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"sensitivity.json", "sensitivity.md", "tornado_asadi_throughput_n128.png"} <= files
    again = json.loads((tmp_path / "out" / "sensitivity.json").read_text())
    assert again["claims"].keys() == study["claims"].keys()


def test_claims_file_numbers_change_no_model_value(tmp_path, monkeypatch):
    """The paper's figures label the result; they are never inputs of the model."""
    from hyflex_plugin.comparison import published

    base = run_sensitivity(TINY, [32], ["asadi_throughput_n128"], samples=8, recheck=0,
                           progress=False)
    data = yaml.safe_load(CLAIMS_FILE.read_text())
    for c in data["claims"]:
        c["paper"] = c["paper"] * 3.7
        if c.get("paper_range"):
            c["paper_range"] = [v * 3.7 for v in c["paper_range"]]
    changed = tmp_path / "claims.yaml"
    changed.write_text(yaml.safe_dump(data))
    monkeypatch.setattr(published, "CLAIMS_FILE", changed)
    monkeypatch.setattr(published.load_claims, "__defaults__", (changed,))
    assert load_claims().claims[0].paper == pytest.approx(data["claims"][0]["paper"])
    other = run_sensitivity(TINY, [32], ["asadi_throughput_n128"], samples=8, recheck=0,
                            progress=False)
    a, b = base["claims"]["asadi_throughput_n128"], other["claims"]["asadi_throughput_n128"]
    for f in ("nominal", "ratio_min", "ratio_median", "ratio_max"):
        assert a[f] == b[f]
    assert a["one_at_a_time"] == b["one_at_a_time"]
    assert a["paper"] != b["paper"]


def test_unknown_claim_and_bad_counts_name_the_option():
    with pytest.raises(HyflexInputError) as e:
        run_sensitivity(TINY, [32], ["throughput_vs_nobody"], samples=8, progress=False)
    assert "--claim" in str(e.value) and "asadi_throughput_n128" in str(e.value)
    with pytest.raises(HyflexInputError) as e:
        run_sensitivity(TINY, [32], ["sprint_speedup"], samples=8, progress=False)
    assert "published-only" in str(e.value)
    with pytest.raises(HyflexInputError) as e:
        run_sensitivity(TINY, [32], None, samples=1, progress=False)
    assert "--samples" in str(e.value)


def test_bad_ranges_name_the_file_and_field(tmp_path):
    from hyflex_plugin.architecture import ARCH_DIR, load_arch

    data = yaml.safe_load((ARCH_DIR / "hyflexpim.yaml").read_text())
    data["ranges"]["analog.adcs_per_array"]["range"] = [2, 1]
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(HyflexInputError) as e:
        load_arch(p)
    assert "d.yaml" in str(e.value) and "ranges.analog.adcs_per_array.range" in str(e.value)
    data["ranges"] = {"analog.adc_count": {"range": [1, 2], "source": "a guess of mine"}}
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(HyflexInputError) as e:
        load_arch(p)
    assert "ranges.analog.adc_count" in str(e.value)
    data = yaml.safe_load((ARCH_DIR / "hyflexpim.yaml").read_text())
    data["analog"]["cycle"] = "fast"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(HyflexInputError) as e:
        load_arch(p)
    assert "d.yaml" in str(e.value) and "analog.cycle" in str(e.value)

    claims = yaml.safe_load(CLAIMS_FILE.read_text())
    claims["hyflex_slc_fraction_range"] = [0.1, 0.05]
    c = tmp_path / "claims.yaml"
    c.write_text(yaml.safe_dump(claims))
    with pytest.raises(HyflexInputError) as e:
        load_claims(c)
    assert "claims.yaml" in str(e.value) and "min is greater than max" in str(e.value)


def test_cli_sensitivity_writes_the_folder_and_rejects_a_bad_claim(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 128,
                               "num_attention_heads": 2, "intermediate_size": 256}))
    out = tmp_path / "sens"
    run = subprocess.run([sys.executable, "-m", "hyflex_plugin", "sensitivity", "--model", str(cfg),
                          "--seq-len", "32", "--claim", "asadi_throughput_n128", "--samples", "10",
                          "--recheck", "0", "--out", str(out)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert (out / "tornado_asadi_throughput_n128.png").is_file()
    bad = subprocess.run([sys.executable, "-m", "hyflex_plugin", "sensitivity", "--model", str(cfg),
                          "--seq-len", "32", "--claim", "nope", "--out", str(out)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--claim" in bad.stderr and "nope" in bad.stderr
