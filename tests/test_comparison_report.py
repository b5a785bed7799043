"""Comparison and report through the real evaluation (AccelForge + hyflex's cost models).

Small configuration: a one-layer BERT-like model, N = 16 and 32, three designs.
"""

from __future__ import annotations

import csv
import json

import pytest

from hyflex_plugin.cli import main
from hyflex_plugin.comparison import report as report_mod
from hyflex_plugin.comparison.baselines import load_design
from hyflex_plugin.comparison.compare import run_comparison
from hyflex_plugin.comparison.published import load_claims
from hyflex_plugin.comparison.report import PLOTS, write_report
from hyflex_plugin.evaluation import evaluate_model
from hyflex_plugin.workloads.shapes import ModelShape

TINY = ModelShape(name="tiny-bert", n_layers=1, hidden_size=64, num_heads=2, intermediate_size=256)
DESIGNS = ["hyflexpim", "asadi-dagger", "digital-pim-only", "all-mlc"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("hyflex-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("HYFLEX_CACHE_DIR", str(d))
    yield d
    mp.undo()


@pytest.fixture(scope="module")
def cmp(cache_dir):
    return run_comparison(models=[TINY], seq_lens=[16, 32], slc_fractions=[0.1, 0.5],
                          designs=DESIGNS, progress=False)


def test_rows_cover_the_sweep(cmp):
    # HyFlexPIM at both shares, fixed-share designs once, per N
    assert len(cmp.rows) == 2 * (2 + 3)
    assert cmp.models == ["tiny-bert"]
    h10, h50 = cmp.row("hyflexpim", "tiny-bert", 16, 0.1), cmp.row("hyflexpim", "tiny-bert", 16, 0.5)
    # more SLC = more ADC conversions per weight bit = more linear-layer energy
    assert h50["energy_linear_j"] > h10["energy_linear_j"]
    mlc = cmp.row("all-mlc", "tiny-bert", 16)
    assert mlc["slc_fraction"] == 0.0 and mlc["energy_linear_j"] < h10["energy_linear_j"]


def test_rows_match_the_evaluation_stage(cmp):
    r = evaluate_model(TINY, 32, 0.1, arch=load_design("asadi-dagger"))
    row = cmp.row("asadi-dagger", "tiny-bert", 32)
    assert row["energy_j"] == pytest.approx(r.energy_j, rel=1e-9)
    assert row["throughput_tops"] == pytest.approx(r.to_dict()["throughput_tops"], rel=1e-9)


def test_claims_are_ratios_of_real_rows(cmp):
    claims = {c["key"]: c for c in cmp.claims}
    assert len(claims) == len(load_claims().claims)
    for c in cmp.claims:
        assert {"name", "paper", "model", "ratio"} <= set(c)
    # "throughput vs ASADI-dagger at N = 128": N = 128 not run, nearest (32) used and said so
    t = claims["asadi_throughput_n128"]
    h, a = cmp.row("hyflexpim", "tiny-bert", 32, 0.1), cmp.row("asadi-dagger", "tiny-bert", 32)
    assert t["seq_len"] == 32 and "128 not run" in t["verdict"]
    assert t["model"] == pytest.approx(h["throughput_tops"] / a["throughput_tops"])
    assert t["ratio"] == pytest.approx(t["model"] / 1.86)
    # "up to" claim = best over N
    e = claims["asadi_energy_abstract"]
    best = max(cmp.row("hyflexpim", "tiny-bert", n, 0.1)["tops_per_w"]
               / cmp.row("asadi-dagger", "tiny-bert", n)["tops_per_w"] for n in (16, 32))
    assert e["model"] == pytest.approx(best)
    # linear-layer claim uses linear energy only
    lin = claims["nmp_linear_energy"]
    hn = cmp.row("hyflexpim", "tiny-bert", lin["seq_len"], 0.1)
    dn = cmp.row("digital-pim-only", "tiny-bert", lin["seq_len"])
    assert lin["model"] == pytest.approx(dn["energy_linear_j"] / hn["energy_linear_j"])
    # SPRINT is published-only: no model value, stated
    assert claims["sprint_speedup"]["model"] is None and claims["sprint_speedup"]["ratio"] is None
    assert "not modelled" in claims["sprint_speedup"]["verdict"]
    # every modelled claim that differs says why, with numbers and the assumption
    for c in cmp.claims:
        if c["model"] is not None and c["verdict"] != "agrees":
            assert "Assumption:" in c["explanation"] and " vs " in c["explanation"]


def test_report_folder(cmp, tmp_path):
    out = write_report(cmp, tmp_path / "rep", tmp_path / "numbers.json")
    md = (out / "report.md").read_text()
    assert "throughput vs ASADI-dagger at N = 128" in md and "| 1.86×" in md
    assert "SPRINT" in md and "published only" in md
    for p in PLOTS:
        data = (out / p).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
        assert f"]({p})" in md
    with open(out / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(cmp.rows)
    assert float(rows[0]["energy_j"]) == pytest.approx(cmp.rows[0]["energy_j"])
    j = json.loads((tmp_path / "numbers.json").read_text())
    assert [c["name"] for c in j["claims"]] == [c["name"] for c in cmp.claims]
    assert j == json.loads((out / "comparison.json").read_text())
    # every modelled claim carries its range; the nominal value lies inside it
    modelled = [c for c in j["claims"] if c["model"] is not None]
    assert modelled
    for c in modelled:
        assert c["ratio_min"] <= c["ratio_median"] <= c["ratio_max"]
        assert c["ratio_min"] * (1 - 1e-9) <= c["model"] <= c["ratio_max"] * (1 + 1e-9)
        assert isinstance(c["paper_inside"], bool)
        assert (out / f"tornado_{c['key']}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "claims.csv") as fh:
        assert {"ratio_min", "ratio_median", "ratio_max", "paper_inside"} <= set(csv.DictReader(fh).fieldnames)
    assert "model range (min / median / max)" in md and "Uncertainty of the model's ratios" in md


def test_half_written_report_never_replaces_a_complete_one(cmp, tmp_path, monkeypatch):
    out = write_report(cmp, tmp_path / "rep")
    before = (out / "report.md").read_text()
    marker = out / "results.csv"
    marker.write_text("complete earlier report\n")

    def boom(*a, **k):
        raise RuntimeError("plotting failed halfway")

    monkeypatch.setattr(report_mod, "_plots", boom)
    with pytest.raises(RuntimeError):
        write_report(cmp, tmp_path / "rep")
    assert marker.read_text() == "complete earlier report\n"
    assert (out / "report.md").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no partial folder left behind


def test_cli_compare(cache_dir, tmp_path, capsys):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 64,
                               "num_attention_heads": 2, "intermediate_size": 256}))
    rc = main(["compare", "--model", str(cfg), "--seq-len", "16", "--slc-fraction", "10%",
               "--design", "asadi-dagger", "--out", str(tmp_path / "r"),
               "--json", str(tmp_path / "c.json"), "--sensitivity-samples", "0"])
    assert rc == 0
    printed = capsys.readouterr()
    # results on stdout, where they were written as a log message on stderr
    assert "throughput vs ASADI-dagger at N = 128" in printed.out and "report.md" not in printed.out
    assert "report.md" in printed.err
    j = json.loads((tmp_path / "c.json").read_text())
    assert j["config"]["designs"] == ["hyflexpim", "asadi-dagger"]
    assert all({"name", "paper", "model", "ratio"} <= set(c) for c in j["claims"])


@pytest.mark.parametrize("argv, option", [
    (["--slc-fraction", "1.5"], "--slc-fraction"),
    (["--seq-len", "0"], "--seq-len"),
    (["--model", "no-such-model"], "no-such-model"),
])
def test_cli_bad_input(argv, option, tmp_path, capsys):
    rc = main(["compare", "--out", str(tmp_path / "r"), *argv])
    assert rc == 2
    err = capsys.readouterr().err
    assert "hyflex compare: error:" in err and option in err
    assert not (tmp_path / "r").exists()


def _tiny_partition(share_ranks: int):
    from hyflex_plugin.partition.schema import PartitionFile

    mats = []
    for name, k, n in TINY.linear_matrices():
        r = k * n // (k + n)
        mats.append({"name": name, "shape": [n, k], "decomposition": "svd", "rank": r,
                     "slc_ranks": list(range(min(share_ranks, r)))})
    return PartitionFile.model_validate({
        "model": {"name": "tiny-bert", "n_layers": 1, "hidden_size": 64, "num_heads": 2,
                  "intermediate_size": 256},
        "method": "gradient-redistribution", "selector": "gradient", "slc_fraction": 0.1,
        "layers": [{"index": 0, "matrices": mats}]})


def test_partition_file_adds_a_hyflexpim_row(cache_dir, tmp_path):
    few, many = _tiny_partition(2), _tiny_partition(20)
    p = tmp_path / "part.yaml"
    many.dump(p)
    c_many = run_comparison(models=None, seq_lens=[16], slc_fractions=[0.1],
                            designs=["hyflexpim"], progress=False, partition=p,
                            sensitivity_samples=0)
    c_few = run_comparison(models=[TINY], seq_lens=[16], slc_fractions=[0.1],
                           designs=["hyflexpim"], progress=False, partition=few,
                           sensitivity_samples=0)
    r_many = c_many.row("hyflexpim-partition", "tiny-bert", 16)
    r_few = c_few.row("hyflexpim-partition", "tiny-bert", 16)
    direct = evaluate_model(TINY, 16, None, partition=few, arch=load_design("hyflexpim"))
    assert r_few["energy_j"] == pytest.approx(direct.energy_j, rel=1e-9)
    assert 0 < r_few["slc_fraction"] < r_many["slc_fraction"] < 1
    assert r_many["energy_linear_j"] > r_few["energy_linear_j"]  # more SLC ranks, more conversions
    md = (write_report(c_few, tmp_path / "rep") / "report.md").read_text()
    assert "HyFlexPIM (partition)" in md


def test_partition_for_another_model_is_rejected(tmp_path):
    p = tmp_path / "part.yaml"
    _tiny_partition(2).dump(p)
    rc = main(["compare", "--partition", str(p), "--model", "bert-base", "--seq-len", "16",
               "--out", str(tmp_path / "r")])
    assert rc == 2 and not (tmp_path / "r").exists()


def test_iso_area_view_and_fit(cache_dir, tmp_path):
    from hyflex_plugin.comparison.isoarea import chip_area_m2, iso_area

    c = run_comparison(models=[TINY], seq_lens=[16], slc_fractions=[0.1],
                       designs=["hyflexpim", "asadi-dagger"], progress=False,
                       sensitivity_samples=0, iso_area=True)
    budget = chip_area_m2()
    assert c.iso_area["budget_m2"] == pytest.approx(budget)
    h = c.row("hyflexpim", TINY.name, 16, 0.1)
    # a one-layer model on one HyFlexPIM PU: the chip's area holds one pipeline per PU
    assert h["pus_per_layer"] == 1 and h["fits_one_pu_per_layer"]
    assert h["iso_area_mode"] == "replicated"
    assert h["iso_area_copies"] == int(budget // (h["area_mm2"] * 1e-6))
    assert h["iso_area_throughput_tops"] == pytest.approx(h["throughput_tops"] * h["iso_area_copies"])
    claim = next(x for x in c.claims if x["key"] == "asadi_throughput_n128")
    b = c.row("asadi-dagger", TINY.name, 16)
    assert claim["model_iso_area"] == pytest.approx(
        h["iso_area_throughput_tops"] / b["iso_area_throughput_tops"])
    # a design needing more area than the budget is spanned, or does not fit at all
    big = {**b, "area_mm2": budget * 1e6 * 3, "pus": 30, "pus_per_layer": 5}
    spanned = iso_area(big, budget)
    assert spanned["iso_area_mode"] == "spanned"
    assert spanned["iso_area_throughput_tops"] == pytest.approx(b["throughput_tops"] * 10 / 30)
    huge = {**big, "pus_per_layer": 11}
    assert iso_area(huge, budget)["iso_area_mode"] == "does not fit"
    out = write_report(c, tmp_path / "iso")
    md = (out / "report.md").read_text()
    assert "Iso-area view" in md and "Does the model fit" in md
