"""Evaluation through the real engine (AccelForge + hwcomponents) on a small transformer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hyflex_plugin.architecture import load_arch
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation import engine, evaluate_model
from hyflex_plugin.evaluation.engine import (
    arrays_for_linear,
    evaluate_einsum,
    linear_params,
)
from hyflex_plugin.evaluation.mapper_check import compare, layer_cases
from hyflex_plugin.partition.schema import LayerPartition, MatrixPartition, ModelInfo, PartitionFile
from hyflex_plugin.workloads import ModelShape, load_model_shape

SMALL = ModelShape(name="tiny", n_layers=2, hidden_size=64, num_heads=2, intermediate_size=128)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def design():
    return load_arch()


def test_more_slc_costs_more_energy_and_arrays(design):
    low = evaluate_model(SMALL, seq_len=16, slc_fraction=0.0, arch=design)
    mid = evaluate_model(SMALL, seq_len=16, slc_fraction=0.5, arch=design)
    high = evaluate_model(SMALL, seq_len=16, slc_fraction=1.0, arch=design)
    e = [r.energy_by("category")["linear"] for r in (low, mid, high)]
    assert e[0] < e[1] < e[2]
    arrays = [r.layers[0].arrays for r in (low, mid, high)]
    assert arrays[0] < arrays[1] < arrays[2]
    assert arrays[2] == 2 * arrays[0]  # 8 columns per weight in SLC, 4 in MLC


def test_mlc_halves_adc_conversions_of_a_linear_layer(design):
    slc = evaluate_einsum(design, "analog", linear_params(design, 64, 64, slc=True, tokens=16))
    mlc = evaluate_einsum(design, "analog", linear_params(design, 64, 64, slc=False, tokens=16))
    assert mlc.actions["ADC.read"] == pytest.approx(slc.actions["ADC.read"] / 2)
    # 8 input bits x 4 columns per weight / 64 rows = 0.5 conversions per MAC in MLC
    assert mlc.actions["ADC.read"] / mlc.macs == pytest.approx(0.5)
    assert mlc.energy_by_component_j["ADC"] < slc.energy_by_component_j["ADC"]


def test_attention_digital_cost_grows_as_n_squared(design):
    r16 = evaluate_model(SMALL, seq_len=16, slc_fraction=0.1, arch=design)
    r32 = evaluate_model(SMALL, seq_len=32, slc_fraction=0.1, arch=design)
    for name in ("qk", "sv"):
        a16, a32 = r16.layers[0].einsums[name], r32.layers[0].einsums[name]
        assert a32.macs == 4 * a16.macs
        compute16 = a16.energy_by_component_j["DigitalMAC"]
        assert a32.energy_by_component_j["DigitalMAC"] == pytest.approx(4 * compute16)
    assert r32.energy_by("category")["attention"] > 3.5 * r16.energy_by("category")["attention"]


def test_totals_equal_sum_of_parts(design):
    r = evaluate_model(SMALL, seq_len=16, slc_fraction=0.2, arch=design)
    d = r.to_dict()
    layers = sum(layer["energy_j"] for layer in d["layers"])
    einsums = sum(e["energy_j"] for layer in d["layers"] for e in layer["einsums"].values())
    comps = sum(v for layer in d["layers"] for e in layer["einsums"].values()
                for v in e["energy_by_component_j"].values())
    assert d["energy_j"] == pytest.approx(layers) == pytest.approx(einsums) == pytest.approx(comps)
    assert d["energy_j"] == pytest.approx(sum(d["energy_by_category_j"].values()))
    assert d["energy_j"] == pytest.approx(sum(d["energy_by_component_j"].values()))
    assert d["latency_s"] == pytest.approx(sum(layer["latency_s"] for layer in d["layers"]))
    macs = SMALL.macs_per_layer(16)
    assert d["ops"] == 2 * SMALL.n_layers * (macs["linear"] + macs["attention"])
    for key in ["energy_j", "latency_s", "throughput_tops", "tops_per_w", "tops_per_mm2",
                "area_mm2", "chips", "layers"]:
        assert key in d


def test_one_token_scaling_is_exact(design):
    one = evaluate_einsum(design, "analog", linear_params(design, 64, 48, slc=False, tokens=1))
    many = evaluate_einsum(design, "analog", linear_params(design, 64, 48, slc=False, tokens=16))
    assert many.energy_j == pytest.approx(16 * one.energy_j, rel=1e-6)
    assert many.latency_s == pytest.approx(16 * one.latency_s, rel=1e-6)
    # bit-serial analog: 8 input bits per token; the 48 outputs are spread 24 + 24 over the two
    # arrays, so each array's one ADC converts 24 x 4 = 96 columns per input bit, each 7-bit MLC
    # conversion taking (7 + 1 sampling) SAR steps of 176.33 ps
    assert one.latency_s == pytest.approx(8 * 96 * 8 * 176.33e-12, rel=1e-4)


def test_cache_hit_and_invalidation(design, tmp_path, monkeypatch):
    params = linear_params(design, 64, 32, slc=True, tokens=1)
    first = evaluate_einsum(design, "analog", params)
    files = list((tmp_path / "cache").glob("*.json"))
    assert len(files) == 1

    def boom(*a, **k):
        raise AssertionError("cache miss: AccelForge ran again")

    monkeypatch.setattr(engine, "_run_accelforge", boom)
    again = evaluate_einsum(design, "analog", params)
    assert again.energy_j == first.energy_j
    monkeypatch.undo()
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))
    # a changed design (another template parameter) is a new key
    other = design.model_copy(update={"tech_node": 45e-9})
    third = evaluate_einsum(other, "analog", linear_params(other, 64, 32, slc=True, tokens=1))
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2
    assert third.energy_j < first.energy_j
    # a changed cost-model source (code or data file) changes every key
    key_now = engine._key(design, "analog", params, False)
    monkeypatch.setattr(engine, "_SOURCE_HASH", "hash-of-edited-cost-models")
    assert engine._key(design, "analog", params, False) != key_now


def test_baseline_specs_load_and_evaluate():
    for f in ("all-slc.yaml", "all-mlc.yaml", "asadi-dagger.yaml"):
        d = load_arch(f)
        r = evaluate_model(SMALL, seq_len=16, slc_fraction=0.3, arch=d)
        assert r.energy_j > 0 and r.slc_fraction == d.slc_fraction
    slc = evaluate_model(SMALL, seq_len=16, slc_fraction=0.3, arch="all-slc.yaml")
    mlc = evaluate_model(SMALL, seq_len=16, slc_fraction=0.3, arch="all-mlc.yaml")
    assert slc.energy_by("category")["linear"] > mlc.energy_by("category")["linear"]


def _partition(share_by_layer: list[float], shape: ModelShape = SMALL) -> PartitionFile:
    """An SVD partition of ``shape`` (rank floor(MN/(M+N))) with the first ranks in SLC."""
    layers = []
    for i, share in enumerate(share_by_layer):
        mats = []
        for name, k, n in shape.linear_matrices():
            r = k * n // (k + n)
            mats.append(MatrixPartition(name=name, shape=(n, k), rank=r,
                                        slc_ranks=list(range(round(share * r)))))
        layers.append(LayerPartition(index=i, matrices=mats))
    info = ModelInfo(name=shape.name, n_layers=shape.n_layers, hidden_size=shape.hidden_size,
                     num_heads=shape.num_heads, intermediate_size=shape.intermediate_size)
    return PartitionFile(model=info, method="gradient-redistribution", selector="gradient",
                         slc_fraction=max(share_by_layer), layers=layers)


BERT_BASE = load_model_shape("bert-base")
BERT_BASE_CASES = layer_cases(load_arch(), BERT_BASE, 128, 0.1)
# the SVD factors of a partition file with 10 % of the ranks in SLC: 38 / 61 SLC ranks, parts
# that fill their arrays only partly (e.g. 768 x 38 SLC: 38 outputs over 3 arrays of 16)
BERT_BASE_SVD_CASES = [c for c in layer_cases(load_arch(), BERT_BASE, 128, None,
                                              _partition([0.1], BERT_BASE))
                       if c.kind == "analog"]


@pytest.mark.slow
@pytest.mark.parametrize("case", BERT_BASE_CASES + BERT_BASE_SVD_CASES,
                         ids=[c.label for c in BERT_BASE_CASES + BERT_BASE_SVD_CASES])
def test_mapper_search_within_5_percent_of_pinned_mapping(design, case):
    """AccelForge's mapper, given only the templates' hardware constraints, lands within ±5 %
    of the pinned mapping in energy and latency (both directions) on every distinct Einsum of a
    bert-base block at N = 128, 10 % SLC: the SLC and MLC parts of 768 x 768 (Q, K, V, attention
    output), 768 x 3072 (FFN1) and 3072 x 768 (FFN2) at M = 128 tokens, and Q.K^T and S.V; and
    the SVD factors' SLC and MLC parts of a partition file with 10 % of the ranks in SLC."""
    c = compare(design, case)
    assert c.searched.macs == c.pinned.macs > 0
    assert 0.95 <= c.energy_ratio <= 1.05, (case.label, c.energy_ratio)
    assert 0.95 <= c.latency_ratio <= 1.05, (case.label, c.latency_ratio)


def test_bert_base_cases_cover_every_searched_einsum(design):
    names = {n for c in BERT_BASE_CASES for n in c.names}
    assert names == {"q", "k", "v", "attn_out", "ffn1", "ffn2", "qk", "sv"}
    analog = [c.params for c in BERT_BASE_CASES if c.kind == "analog"]
    # every linear layer has an SLC and an MLC part, at the real token count
    assert sorted((p["K"], p["N"], p["bits_per_cell"]) for p in analog) == [
        (768, 77, 1), (768, 307, 1), (768, 691, 2), (768, 2765, 2), (3072, 77, 1), (3072, 691, 2)]
    assert {p["M"] for p in analog} == {128}
    svd = sorted((c.params["K"], c.params["N"]) for c in BERT_BASE_SVD_CASES)
    assert len(svd) == 12 and (768, 38) in svd and (553, 3072) in svd


def test_partition_file_splits_svd_factors(design, tmp_path):
    pf = _partition([0.0, 1.0])
    path = tmp_path / "partition.yaml"
    pf.dump(path)
    r = evaluate_model(SMALL, seq_len=16, slc_fraction=None, partition=path, arch=design)
    assert r.partition == str(path) and r.slc_fraction is None
    for i, layer in enumerate(r.layers):
        expect = 0
        for m in pf.layer(i).matrices:
            out_f, in_f = m.shape
            s = m.n_slc_ranks
            expect += (arrays_for_linear(design, in_f, s, True) + arrays_for_linear(design, s, out_f, True)
                       + arrays_for_linear(design, in_f, m.rank - s, False)
                       + arrays_for_linear(design, m.rank - s, out_f, False))
        assert layer.arrays == expect
    # layer 1 keeps every rank in SLC, layer 0 none: more arrays and more analog energy
    assert r.layers[1].arrays > r.layers[0].arrays
    assert r.layers[1].einsums["ffn1"].energy_j > r.layers[0].einsums["ffn1"].energy_j
    # MACs of the SVD pair: tokens x rank x (in + out) per matrix
    q = pf.layer(0).matrix("q")
    assert r.layers[0].einsums["q"].macs == 16 * q.rank * sum(q.shape)


def test_partition_must_match_the_model_exactly(design):
    """Issue 11: missing layers, a missing matrix or one the model lacks are refused up front."""
    pf = _partition([1.0, 1.0])
    pf.layers = pf.layers[:1]
    with pytest.raises(HyflexInputError) as e:
        evaluate_model(SMALL, seq_len=16, slc_fraction=0.0, partition=pf, arch=design)
    assert e.value.field == "layers" and "1 of the 2 layers" in e.value.message
    assert "index 1" in e.value.message
    pf = _partition([1.0, 1.0])
    del pf.layers[1].matrices[2]  # v
    with pytest.raises(HyflexInputError) as e:
        evaluate_model(SMALL, seq_len=16, partition=pf, arch=design)
    assert e.value.field == "layers[1].matrices" and "missing ['v']" in e.value.message
    pf = _partition([1.0, 1.0])
    pf.layers[0].matrices.append(MatrixPartition(name="ffn_gate", shape=(128, 64), rank=42))
    with pytest.raises(HyflexInputError) as e:
        evaluate_model(SMALL, seq_len=16, partition=pf, arch=design)
    assert e.value.field == "layers[0].matrices.ffn_gate" and "not gated" in e.value.message


def test_partition_for_another_model_or_shape_is_refused(design, tmp_path):
    other = ModelShape(name="other", n_layers=2, hidden_size=32, num_heads=2, intermediate_size=128)
    path = tmp_path / "p.yaml"
    _partition([0.1, 0.1], other).dump(path)
    with pytest.raises(HyflexInputError, match="model.hidden_size"):
        evaluate_model(SMALL, seq_len=16, partition=path, arch=design)
    pf = _partition([0.1, 0.1])
    pf.layers[0].matrices[0] = MatrixPartition(name="q", shape=(32, 64), rank=21, slc_ranks=[0])
    with pytest.raises(HyflexInputError, match=r"layers\[0\]\.matrices\.q\.shape.*\(64, 64\)"):
        evaluate_model(SMALL, seq_len=16, partition=pf, arch=design)


def test_bad_inputs_are_named():
    with pytest.raises(HyflexInputError, match="unknown model 'bert-huge'"):
        evaluate_model("bert-huge")
    for n in (0, -3, 2**20 + 1):
        with pytest.raises(HyflexInputError,
                           match="--seq-len, field 'seq_len': expected an integer from 1 to 1,048,576"):
            evaluate_model(SMALL, seq_len=n)
    for f in (1.2, -0.1):
        with pytest.raises(HyflexInputError, match="--slc-fraction.*between 0 and 1"):
            evaluate_model(SMALL, seq_len=16, slc_fraction=f)
    with pytest.raises(HyflexInputError, match="batch"):
        evaluate_model(SMALL, seq_len=16, batch=0)
    with pytest.raises(HyflexInputError, match="--slc-fraction.*--partition"):
        evaluate_model(SMALL, seq_len=16, slc_fraction=None)


def test_hf_config_json_evaluates_like_the_shape(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2, "hidden_size": 64,
                               "num_attention_heads": 2, "intermediate_size": 128}))
    r = evaluate_model(cfg, seq_len=16, slc_fraction=0.1)
    assert r.energy_j == pytest.approx(evaluate_model(SMALL, seq_len=16, slc_fraction=0.1).energy_j)


def test_large_model_spans_chips():
    r = evaluate_model("llama-3.2-1b", seq_len=16, slc_fraction=0.2)
    layer = r.layers[0]
    p = layer.pus
    assert p >= 2 and r.chips == -(-r.pus // r.design.chip.processing_units) >= 2
    assert layer.arrays > (p - 1) * r.design.arrays_per_pu
    # tensor parallelism pays the link: (p - 1) / p of every linear output, 8 bits each
    tp, out = layer.einsums["link_tp"], layer.einsums["link"]
    outs = 2048 + 512 + 512 + 2048 + 8192 + 8192 + 2048
    assert tp.energy_j / out.energy_j == pytest.approx(outs * (p - 1) / p / 2048, rel=1e-3)
    assert tp.latency_s > 0 and "link_tp" not in evaluate_model(SMALL, 16).layers[0].einsums


def test_cli_json(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hyflex_plugin", "evaluate", "--model", "bert-base",
                          "--seq-len", "16", "--slc-fraction", "0.1", "--json", "-"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["model"] == "bert-base" and len(d["layers"]) == 12
    assert set(d["layers"][0]["einsums"]["q"]) >= {"energy_j", "latency_s", "energy_by_component_j"}
    bad = subprocess.run([sys.executable, "-m", "hyflex_plugin", "evaluate", "--seq-len", "-3"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "argument --seq-len: expected a positive integer" in bad.stderr
    arch = subprocess.run([sys.executable, "-m", "hyflex_plugin", "evaluate", "--arch", "nope.yaml"],
                          capture_output=True, text=True)
    assert arch.returncode == 2 and "--arch" in arch.stderr and "hyflexpim.yaml" in arch.stderr
    listing = subprocess.run([sys.executable, "-m", "hyflex_plugin", "evaluate", "--list"],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "llama-3.2-1b" in listing.stdout
    assert "asadi-dagger.yaml" in listing.stdout


def test_cli_table_and_json_file_in_process(tmp_path, capsys):
    from hyflex_plugin.cli import main

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2, "hidden_size": 64,
                               "num_attention_heads": 2, "intermediate_size": 128}))
    out = tmp_path / "deep" / "result.json"
    assert main(["evaluate", "--model", str(cfg), "--seq-len", "16", "--slc-fraction", "0.25",
                 "--arch", "all-mlc.yaml", "--json", str(out)]) == 0
    printed = capsys.readouterr()
    table = printed.out
    assert "TOPS/W" in table and "energy by category" in table and str(out) not in table
    assert f"hyflex: wrote {out}" in printed.err
    # -q: the result only, no message
    assert main(["-q", "evaluate", "--model", str(cfg), "--seq-len", "16", "--slc-share", "25%",
                 "--arch", "all-mlc.yaml", "--json", str(out)]) == 0
    quiet = capsys.readouterr()
    assert quiet.out == table and quiet.err == ""
    d = json.loads(out.read_text())
    assert d["arch"] == "HyFlexPIM all-MLC" and d["slc_fraction"] == 0
    assert not list(out.parent.glob(".*.tmp"))  # written atomically, no leftovers
    assert d["energy_j"] == pytest.approx(
        evaluate_model(SMALL, seq_len=16, arch="all-mlc.yaml").energy_j)
    assert main(["evaluate", "--model", str(cfg), "--slc-fraction", "2"]) == 2
    assert "--slc-fraction" in capsys.readouterr().err
