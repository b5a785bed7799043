"""Issue 13 study: concentration metric (known answer), paired statistics, equal-budget
baseline, parallel evaluation == serial (threads and a real in-process Dask cluster)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from hyflex_plugin.redistribution import concentration as conc
from hyflex_plugin.redistribution import stats
from hyflex_plugin.redistribution.experiment import redistribute
from hyflex_plugin.redistribution.runfolder import STEPS_FILE
from hyflex_plugin.redistribution.study import (
    equal_budget_baseline,
    evaluate_study,
    summarize,
)


def test_top_share_known_answers():
    v = torch.tensor([9.0] * 10 + [1.0] * 90)  # 10 % of the weights hold half the gradient
    assert conc.top_share(v, None, 0.10) == pytest.approx(0.5)
    assert conc.top_share(v, None, 0.05) == pytest.approx(0.25)
    assert conc.top_share(v, None, 0.20) == pytest.approx(100 / 180)
    assert conc.top_share(torch.ones(50), None, 0.2) == pytest.approx(0.2)  # uniform: no concentration
    # weighted units: a rank component of an 8 x 8 matrix stores 16 weights
    imp = torch.tensor([0.0, 3.0, 1.0, 0.0])
    w = torch.full((4,), 16.0)
    assert conc.top_share(imp, w, 0.25) == pytest.approx(0.75)
    assert conc.top_share(imp, w, 0.05) == pytest.approx(0.75 * 0.2)
    x, y = conc.lorenz(imp, w)
    assert x.tolist() == [0, 0.25, 0.5, 0.75, 1.0] and y.tolist() == [0, 0.75, 1.0, 1.0, 1.0]


def test_lorenz_curve_at_knots_keeps_the_top_shares_exact(monkeypatch):
    monkeypatch.setattr(conc, "MAX_KNOTS", 101)
    torch.manual_seed(0)
    v = torch.rand(10_000) ** 4
    x, y = conc.lorenz(v)
    assert len(x) == 101 and float(x[-1]) == 1.0 and float(y[-1]) == pytest.approx(1.0)
    exact = torch.cumsum(torch.sort(v.double(), descending=True).values, 0) / v.double().sum()
    for f in conc.TOP_FRACTIONS:
        assert conc.top_share(v, None, f) == pytest.approx(float(exact[round(f * v.numel()) - 1]), abs=1e-12)


def test_concentration_on_a_tiny_model_with_known_gradients():
    from transformers import BertConfig, BertModel

    from hyflex_plugin.redistribution.svd import decompose_model, find_block_linears

    torch.manual_seed(0)
    enc = BertModel(BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32), add_pooling_layer=False)
    grads = {}
    for path, _, name, m in find_block_linears(enc):
        g = torch.ones_like(m.weight)
        if name == "q":  # 5 % of q's weights hold 84 % of its gradient
            g.view(-1)[: round(0.05 * g.numel())] = 100.0
        grads[path] = g
    mats = decompose_model(enc)
    imp, shapes = {}, {}
    for d in mats:
        r = d.module.rank
        imp[d.path] = torch.zeros(r)
        imp[d.path][0] = 1.0  # one component holds everything
        shapes[d.path] = (d.module.out_features, d.module.in_features)
    rows = {(r["state"], r["kind"]): r for r in conc.concentration_rows(conc.units(grads, imp, shapes))}
    n_q = 16 * 16
    k = round(0.05 * n_q)
    # top 5 % = 12.8 weights, all of value 100 (13 such weights exist)
    assert rows[("dense", "q")]["top5_share"] == pytest.approx(100 * 0.05 * n_q / (100 * k + n_q - k), abs=1e-6)
    assert rows[("dense", "k")]["top10_share"] == pytest.approx(0.10, abs=1e-6)
    # q (16 x 16, rank 8): one of 8 components = 12.5 % of the weights holds all of it
    assert rows[("redistributed", "q")]["top5_share"] == pytest.approx(0.05 / 0.125)
    assert rows[("redistributed", "q")]["top20_share"] == pytest.approx(1.0)
    assert rows[("redistributed", "all")]["n_weights"] == sum(
        (m + n) * imp[p].numel() for p, (m, n) in shapes.items())


def test_paired_difference_statistics():
    rng = np.random.default_rng(0)
    a = (rng.random((5, 4000)) < 0.8).astype(float)
    same = stats.paired_difference(a, a, n_boot=300)
    assert (same.mean, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    flip = np.arange(200)  # 200 sentences right for A, wrong for B, in every draw
    a[:, flip] = 1
    b = a.copy()
    b[:, flip] = 0
    d = stats.paired_difference(a, b, n_boot=500)
    assert d.mean == pytest.approx(200 / 4000)
    assert d.low < 0.05 < d.high and d.p_value < 0.01
    # one draw: the bootstrap interval matches the normal paired interval within 15 %
    one = stats.paired_difference(a[:1], b[:1], n_boot=2000)
    diff = a[0] - b[0]
    normal_half = 1.96 * diff.std() / np.sqrt(diff.size)
    assert 0.85 * normal_half < one.half_width < 1.15 * normal_half
    # a single accuracy: mean and interval
    e = stats.mean_ci(a, n_boot=300)
    assert e.mean == pytest.approx(a.mean()) and e.low < e.mean < e.high
    assert stats.unpack_bits(stats.pack_bits([1, 0, 1, 1, 0]), 5).tolist() == [1, 0, 1, 1, 0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "run"
    return redistribute("tiny-bert", out=out, n_train=48, n_test=40, n_calib=16, seq_len=24,
                        batch_size=16, lr=3e-3, epochs=3, svd_epochs=2)


def test_equal_budget_baseline_gets_the_same_training(tiny_run):
    from hyflex_plugin.redistribution.experiment import _prepare
    from hyflex_plugin.redistribution.runfolder import load_run
    from hyflex_plugin.redistribution.study import _run_args
    from hyflex_plugin.redistribution.training import fine_tune, load_torch

    equal_budget_baseline(tiny_run)
    dense, equal = load_torch(tiny_run / "dense.pt"), load_torch(tiny_run / "dense_equal.pt")
    assert not torch.equal(dense["head.weight"], equal["head.weight"])
    assert "dense_equal" in (tiny_run / STEPS_FILE).read_text()
    # by hand: dense.pt + svd_epochs (2) more epochs with the SVD stage's seed and batches
    _, cfg = load_run(tiny_run)
    args = _run_args(cfg)
    p = _prepare(args, args["n_calib"])
    p.clf.load_state_dict(dense)
    res = fine_tune(p.clf, p.train, 2, 16, 3e-3, seed=args["seed"] + 1)
    assert res["steps"] == 2 * 3  # 48 sentences / 16 per batch, 2 epochs: the SVD stage's budget
    mine = p.clf.state_dict()
    assert all(torch.equal(mine[k], equal[k]) for k in equal)


def test_parallel_rows_equal_serial_rows(tiny_run, tmp_path):
    kw = {"methods": ("redistribution", "redistribution-product", "brute-force"),
          "fractions": (0.0, 0.25), "sigmas": (1.0,), "seeds": (0, 1), "torch_threads": 1,
          "progress": False}
    serial = evaluate_study([tiny_run], workers=1, cache_file=tmp_path / "s.jsonl", **kw)
    threads = evaluate_study([tiny_run], workers=2, cache_file=tmp_path / "t.jsonl", **kw)
    strip = [{k: v for k, v in r.items() if k != "eval_s"} for r in serial]
    assert strip == [{k: v for k, v in r.items() if k != "eval_s"} for r in threads]
    assert len(serial) == 2 + 3 * 2 * 2  # INT8 references of two models + the noisy points
    assert len({r["correct"] for r in serial}) > 1  # not all identical (the test can fail)
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c:
        dask_rows = evaluate_study([tiny_run], workers=2, scheduler=c.scheduler_address,
                                   cache_file=tmp_path / "d.jsonl", **kw)
    assert strip == [{k: v for k, v in r.items() if k != "eval_s"} for r in dask_rows]
    # resume: a second call evaluates nothing new and returns the same rows
    again = evaluate_study([tiny_run], workers=2, cache_file=tmp_path / "t.jsonl", **kw)
    assert again == threads
    refs, summary, paired = summarize(serial, n_boot=100)
    assert {r["reference"] for r in refs} == {"int8-svd", "int8-dense"}
    assert {(r["a"], r["b"]) for r in paired} == {("redistribution", "brute-force"),
                                                  ("redistribution-product", "redistribution")}
    ref_acc = {r["reference"]: r["accuracy"] for r in refs}
    for r in summary:  # loss = own noise-free INT8 accuracy - noisy accuracy
        own = "int8-dense" if r["method"] == "brute-force" else "int8-svd"
        assert r["loss"] == pytest.approx(ref_acc[own] - r["accuracy"], abs=1e-12)
        assert r["loss_ci_low"] <= r["loss"] <= r["loss_ci_high"]
    by = {(r["method"], r["slc_fraction"]): r for r in summary}
    for r in paired:  # loss difference = difference of the two losses, within [-1, 1]
        la, lb = by[(r["a"], r["slc_fraction"])]["loss"], by[(r["b"], r["slc_fraction"])]["loss"]
        assert r["loss_diff"] == pytest.approx(la - lb, abs=1e-12) and -1 <= r["loss_diff"] <= 1
        assert r["loss_half_width"] == pytest.approx((r["loss_diff_ci_high"] - r["loss_diff_ci_low"]) / 2)


def test_one_run_at_a_time_gives_the_same_rows_with_one_run_loaded(tiny_run, tmp_path, monkeypatch):
    import json
    import shutil

    from hyflex_plugin.redistribution import study as st

    second = tmp_path / "run-b"
    shutil.copytree(tiny_run, second)
    (second / "study_rows.jsonl").unlink(missing_ok=True)
    runs = [str(tiny_run), str(second)]
    kw = {"methods": ("redistribution", "brute-force"), "fractions": (0.0, 0.25), "sigmas": (1.0,),
          "seeds": (0, 1), "torch_threads": 1, "progress": False, "workers": 2}
    st._WORKER_EVALUATORS.clear()
    together = evaluate_study(runs, cache_file=tmp_path / "together.jsonl", **kw)
    st._WORKER_EVALUATORS.clear()
    loaded, get = [], st._WORKER_EVALUATORS.get

    def spy(run, only=False):
        ev = get(run, only)
        loaded.append(set(st._WORKER_EVALUATORS.by_run))
        return ev

    monkeypatch.setattr(st._WORKER_EVALUATORS, "get", spy)
    apart = evaluate_study(runs, cache_file=tmp_path / "apart.jsonl", one_run_at_a_time=True, **kw)
    strip = [[{k: v for k, v in r.items() if k != "eval_s"} for r in rows] for rows in (together, apart)]
    assert strip[0] == strip[1] and len(apart) == 2 * (2 + 2 * 2 * 2)
    assert len(loaded) == len(apart) and all(len(s) == 1 for s in loaded)  # never two runs' models
    finished = [json.loads(line)["run"] for line in (tmp_path / "apart.jsonl").read_text().splitlines()]
    assert finished == sorted(finished, key=runs.index)  # the first run's points all finish first
    loaded.clear()
    serial = evaluate_study(runs, cache_file=tmp_path / "serial.jsonl", one_run_at_a_time=True,
                            **{**kw, "workers": 1})
    assert [{k: v for k, v in r.items() if k != "eval_s"} for r in serial] == strip[0]
    assert all(len(s) == 1 for s in loaded)
    loads = [next(iter(s)) for s in loaded]  # each run loaded once: one change of run in the sequence
    assert sum(a != b for a, b in zip(loads, loads[1:])) == 1
    st._WORKER_EVALUATORS.clear()
    loaded.clear()
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c:
        dask_rows = evaluate_study(runs, scheduler=c.scheduler_address, cache_file=tmp_path / "dask.jsonl",
                                   one_run_at_a_time=True, **kw)
    assert [{k: v for k, v in r.items() if k != "eval_s"} for r in dask_rows] == strip[0]
    assert loaded and all(len(s) == 1 for s in loaded)  # the Dask worker, too, never holds two runs
    finished = [json.loads(line)["run"] for line in (tmp_path / "dask.jsonl").read_text().splitlines()]
    assert finished == sorted(finished, key=runs.index)
    st._WORKER_EVALUATORS.clear()


def test_blocks_plan_every_draw_at_main_sigmas_and_fewer_elsewhere():
    from hyflex_plugin.redistribution.study import Block, plan_points, planned_draws, sweep_blocks

    runs = ["a", "b", "c"]
    blocks = sweep_blocks(["redistribution", "brute-force"], (0.0, 0.1), (0.01, 0.08, 0.2), (0, 1, 2, 3, 4),
                          main_sigmas=(0.08,), sweep_seeds=(0, 1))
    assert blocks == (Block(("redistribution", "brute-force"), (0.0, 0.1), (0.08,), (0, 1, 2, 3, 4)),
                      Block(("redistribution", "brute-force"), (0.0, 0.1), (0.01, 0.2), (0, 1), runs=1))
    # a variant block on the first run shares its redistribution points with the main block
    blocks += (Block(("redistribution", "redistribution-u-only"), (0.0, 0.1), (0.08,), (0, 1, 2, 3, 4), runs=1),)
    pts = plan_points(runs, blocks, "bfloat16")
    assert len(pts) == len(set(pts))
    assert {p.compute_dtype for p in pts} == {"bfloat16"}
    draws = planned_draws(pts)
    assert draws[("redistribution", 0.1, 0.08)] == 15 and draws[("brute-force", 0.0, 0.08)] == 15
    assert draws[("redistribution", 0.1, 0.2)] == 2 and ("brute-force", 0.1, 0.2) in draws
    assert draws[("redistribution-u-only", 0.1, 0.08)] == 5
    assert all(p.run == "a" for p in pts if p.sigma in (0.01, 0.2))
    n_refs = 3 * 2  # INT8 svd and dense models of every run
    # u-only at share 0 is planned (it is the same evaluation as redistribution: canonical())
    assert len(pts) == n_refs + 2 * 2 * 15 + 2 * 2 * 2 * 2 + 2 * 5
    assert sweep_blocks(["brute-force"], (0.1,), (0.01, 0.2), (0, 1)) == (
        Block(("brute-force",), (0.1,), (0.01, 0.2), (0, 1)),)


def test_bfloat16_rows_are_kept_apart_and_close_to_float32(tiny_run, tmp_path):
    kw = {"methods": ("redistribution", "brute-force"), "fractions": (0.25,), "sigmas": (0.5,),
          "seeds": (0,), "torch_threads": 1, "progress": False, "cache_file": tmp_path / "rows.jsonl"}
    f32 = evaluate_study([tiny_run], workers=1, **kw)
    b16 = evaluate_study([tiny_run], workers=1, compute_dtype="bfloat16", **kw)
    assert len(f32) == len(b16) == 2 + 2  # the cache holds both: keys differ by dtype
    assert {r["compute_dtype"] for r in f32} == {"float32"} and {r["compute_dtype"] for r in b16} == {"bfloat16"}
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 8
    from hyflex_plugin.redistribution.study import compare_dtypes

    cmp = compare_dtypes(b16, f32)
    assert len(cmp) == 4
    for r in cmp:  # the same models, rounded products: nearly every sentence agrees
        assert r["agreement"] >= 0.9
        assert r["diff"] == pytest.approx(r["accuracy"] - r["accuracy_float32"], abs=1e-12)
    with pytest.raises(Exception, match="compute_dtype"):
        evaluate_study([tiny_run], workers=1, compute_dtype="float16", **kw)


def test_study_cli_writes_every_table(tiny_run, tmp_path):
    import csv
    import json
    import subprocess
    import sys

    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "hyflex_plugin", "study", str(tiny_run), "--out", str(out),
           "--methods", "redistribution,brute-force-equal,brute-force", "--fractions", "0,25%",
           "--sigmas", "0.5,1", "--main-sigmas", "1", "--seeds", "0,1", "--sweep-seeds", "0",
           "--compute-dtype", "bfloat16", "--workers", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    for f in ("concentration.csv", "concentration.png", "summary.csv", "paired.csv", "references.csv",
              "noise_regime.png", "dtype_check.csv", "study.json"):
        assert (out / f).stat().st_size > 0, f
    info = json.loads((out / "study.json").read_text())
    assert info["compute_dtype"] == "bfloat16" and len(info["blocks"]) == 2
    assert info["n_points_planned"] == info["n_points_done"] == 3 + 3 * 2 * 2 + 3 * 2 * 1
    summary = list(csv.DictReader((out / "summary.csv").open()))
    draws = {(s["method"], float(s["sigma"])): int(s["n_draws"]) for s in summary}
    assert draws[("brute-force-equal", 1.0)] == 2 and draws[("brute-force-equal", 0.5)] == 1
    check = list(csv.DictReader((out / "dtype_check.csv").open()))
    # float32 re-check: 3 INT8 references + 3 methods at the middle share, main sigma, seed 0
    assert len(check) == 3 + 3 * 1
    assert all(0.0 <= float(c["agreement"]) <= 1.0 for c in check)
    assert info["dtype_check"]["points"] == len(check)


def test_bfloat16_fine_tuning_is_mixed_precision_and_recorded_in_the_run_folder(tmp_path):
    import yaml

    from hyflex_plugin.errors import HyflexInputError
    from hyflex_plugin.redistribution.model import build_classifier, encode
    from hyflex_plugin.redistribution.runfolder import check_run_arguments
    from hyflex_plugin.redistribution.svd import find_block_linears
    from hyflex_plugin.redistribution.training import fine_tune

    clf, tok, _ = build_classifier("tiny-bert")
    data = encode(tok, [("a fine film", 1), ("dull and long", 0), ("not bad at all", 1), ("no", 0)], 16)
    seen = []
    for _, _, _, m in find_block_linears(clf):
        m.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    before = clf.head.weight.detach().clone()
    fine_tune(clf, data, epochs=1, batch_size=2, lr=1e-2, compute_dtype="bfloat16")
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in clf.parameters())  # weights and updates stay float32
    assert not torch.equal(before, clf.head.weight)
    seen.clear()
    fine_tune(clf, data, epochs=1, batch_size=2, lr=1e-2)
    assert set(seen) == {torch.float32}
    # the run folder records it; a folder fine-tuned in another dtype is refused, naming the field
    kw = {"out": tmp_path / "run", "n_train": 16, "n_test": 8, "n_calib": 8, "seq_len": 16, "batch_size": 8}
    run = redistribute("tiny-bert", compute_dtype="bfloat16", **kw)
    steps = yaml.safe_load((run / STEPS_FILE).read_text())
    assert {s["compute_dtype"] for s in steps.values()} == {"bfloat16"}
    with pytest.raises(HyflexInputError, match="compute_dtype 'bfloat16' -> 'float32'"):
        redistribute("tiny-bert", **kw)
    # a folder made before the field existed counts as float32
    old = tmp_path / "old"
    old.mkdir()
    dense = {k: v for k, v in steps["dense"].items() if k != "compute_dtype"}
    (old / STEPS_FILE).write_text(yaml.safe_dump({"dense": dense}))
    assert check_run_arguments(old, {**dense, "compute_dtype": "float32"}) == []
    with pytest.raises(HyflexInputError, match="compute_dtype 'float32' -> 'bfloat16'"):
        check_run_arguments(old, {**dense, "compute_dtype": "bfloat16"})


def test_bfloat16_compute_really_runs_the_block_matrices_in_bfloat16():
    from hyflex_plugin.redistribution.model import build_classifier, encode, predictions
    from hyflex_plugin.redistribution.svd import find_block_linears

    clf, tok, _ = build_classifier("tiny-bert")
    data = encode(tok, [("a fine film", 1), ("dull and long", 0), ("not bad at all", 1)], 16)
    seen = []
    for _, _, _, m in find_block_linears(clf):
        m.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    predictions(clf, data, compute_dtype="float32")
    assert seen and set(seen) == {torch.float32}
    seen.clear()
    predictions(clf, data, compute_dtype="bfloat16")
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in clf.parameters())  # the weights stay float32
