"""hyflex sweep: SPEC validation, invalid points, resume after SIGINT, a real Dask cluster.

Everything runs for real (AccelForge, hwcomponents, Dask) on a tiny one-layer BERT at N = 16.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hyflex_plugin.cli import main
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.sweep import evaluate_points, expand, load_spec
from hyflex_plugin.sweep.run import run_sweep

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TINY = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 256}


def _spec(tmp: Path, axes: str, extra: str = "", name: str = "spec.yaml") -> Path:
    cfg = tmp / "tiny" / "config.json"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text(json.dumps(TINY))
    p = tmp / name
    p.write_text(f"name: t\nbase: hyflexpim.yaml\naxes:\n{axes}\nmodels: [{cfg}]\n"
                 f"seq_lens: [16]\n{extra}")
    return p


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "results.parquet")


def test_bad_spec_fails_clearly(tmp_path, capsys):
    bad = _spec(tmp_path, "  analog.rowz: [64, 128]")
    with pytest.raises(HyflexInputError) as e:
        load_spec(bad)
    assert str(bad) in str(e.value) and "axes.analog.rowz" in str(e.value)
    assert "rows" in str(e.value)  # the expected fields are listed
    bad2 = _spec(tmp_path, "  analog.rows: [64]", "constraints: ['area_mm2 <<= 3']\n", "b2.yaml")
    with pytest.raises(HyflexInputError, match="constraints"):
        load_spec(bad2)
    bad3 = _spec(tmp_path, "  analog.rows: [64]", "samplin: grid\n", "b3.yaml")
    assert main(["sweep", str(bad3), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "b3.yaml" in err and "samplin" in err
    assert not (tmp_path / "o" / "results.parquet").exists()


def test_grid_and_random_sampling(tmp_path):
    p = _spec(tmp_path, "  analog.rows: [64, 128, 256]\n  slc_fraction: {range: [0, 1], steps: 3}")
    spec, _, _ = load_spec(p)
    pts = expand(spec)
    assert len(pts) == 9
    assert sorted({pt["axes"]["slc_fraction"] for pt in pts}) == [0.0, 0.5, 1.0]
    assert len({pt["point_id"] for pt in pts}) == 9
    r = _spec(tmp_path, "  analog.rows: [64, 128, 256]\n  slc_fraction: {range: [0, 1], steps: 3}",
              "sampling: {random: {n: 4, seed: 3}}\n", "r.yaml")
    spec_r, _, _ = load_spec(r)
    pr = expand(spec_r)
    assert len(pr) == 4 and {p["point_id"] for p in pr} < {p["point_id"] for p in pts}
    assert [p["point_id"] for p in pr] == [p["point_id"] for p in expand(load_spec(r)[0])]


def test_invalid_point_recorded_with_reason(tmp_path):
    # adc_bits_slc 12 exceeds adc_max_bits 7: the design schema rejects that point
    p = _spec(tmp_path, "  analog.adc_bits_slc: [6, 12]\n  analog.rows: [64, 128]")
    out = tmp_path / "out"
    stats = run_sweep(p, out, engine="fast", verify=0, progress=False)
    df = _rows(out)
    assert stats["points"] == 4 and len(df) == 4
    bad = df[df["analog.adc_bits_slc"] == 12]
    assert len(bad) == 2 and (bad["engine"] == "schema").all()
    assert bad["error"].str.contains("adc_max_bits").all()
    good = df[df["analog.adc_bits_slc"] == 6]
    assert good["error"].isna().all() and (good["energy_j"] > 0).all()
    # each valid row is the evaluation of the base design with the axis values set
    from hyflex_plugin.architecture.design import load_arch

    for rows in (64, 128):
        d = load_arch()
        d.analog.rows = rows
        direct = evaluate_points([{"design": d, "model": str(tmp_path / "tiny" / "config.json"),
                                   "seq_len": 16}], "fast")[0]
        row = good[good["analog.rows"] == rows].iloc[0]
        for m in ("energy_j", "latency_s", "area_mm2", "tops_per_w"):
            assert row[m] == direct[m]
    assert good["area_mm2"].nunique() == 2  # the axis changes the design
    for f in ("results.csv", "pareto.csv", "pareto.png", "summary.md"):
        assert (out / f).stat().st_size > 0
    assert "recorded with reason): 2" in (out / "summary.md").read_text()


def _cli(args, env_extra=None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "hyflex_plugin", "sweep", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_resume_after_sigint_gives_the_same_file(tmp_path):
    # 12 points, cold AccelForge (about 0.5 s each on a quiet machine): the first results are
    # written after 2 s, so a Ctrl-C sent when they appear leaves most points to do
    p = _spec(tmp_path, "  analog.rows: [32, 64, 128]\n  slc_fraction: [0.0, 0.5]\n"
              "  analog.columns: [64, 128]")
    cache = {"HYFLEX_CACHE_DIR": str(tmp_path / "cache")}  # cold: AccelForge runs for real
    out = tmp_path / "interrupted"
    args = [str(p), "--out", str(out), "--engine", "accelforge", "--workers", "0",
            "--no-progress"]
    proc = _cli(args, cache)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "results.parquet").is_file() and len(_rows(out)) >= 1:  # at work
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the sweep finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("interrupted")
    partial = _rows(out)
    assert 1 <= len(partial) < 12 and partial["error"].isna().all()
    done = set(partial["point_id"])
    resumed = _cli(args, cache)
    stdout, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert f"{len(done)} from an earlier run" in stdout
    full = tmp_path / "uninterrupted"
    clean = _cli([str(p), "--out", str(full), *args[3:]], cache)
    assert clean.wait(timeout=600) == 0
    pd.testing.assert_frame_equal(_rows(out), _rows(full))
    assert len(_rows(full)) == 12


def test_real_dask_cluster_equals_in_process(tmp_path):
    p = _spec(tmp_path, "  analog.rows: [64, 128]\n  slc_fraction: [0.0, 1.0]")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYFLEX_CACHE_DIR": str(tmp_path / "wcache")}
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(VENV_BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(sched_file)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(VENV_BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--name", f"w{i}", "--local-directory", str(tmp_path / f"w{i}")],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
            assert len(c.scheduler_info()["workers"]) == 2
        on_dask = tmp_path / "dask"
        run_sweep(p, on_dask, engine="accelforge", scheduler=address, progress=False)
        local = tmp_path / "local"
        run_sweep(p, local, engine="accelforge", workers=0, progress=False)
        a, b = _rows(on_dask), _rows(local)
        assert len(a) == 4 and a["error"].isna().all()
        pd.testing.assert_frame_equal(a, b)
        # workers wrote no files into the shared cache: results came back to the client
        assert not (tmp_path / "wcache").exists() or not any((tmp_path / "wcache").iterdir())
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_constants_override_api_both_engines():
    from hyflex_plugin.architecture.design import load_arch
    from hyflex_plugin.workloads.shapes import ModelShape

    tiny = ModelShape(name="tiny", n_layers=1, hidden_size=64, num_heads=2, intermediate_size=256)
    from hyflex_plugin.costmodels.constants import const

    pts = [{"design": load_arch(), "model": tiny, "seq_len": 16, "slc_fraction": 0.5}]
    doubled = {"adc_energy_calibration": 2 * const("adc_energy_calibration")}
    for engine in ("fast", "accelforge"):
        base = evaluate_points(pts, engine)[0]
        more = evaluate_points(pts, engine, constants=doubled)[0]
        assert base["error"] is None and more["engine"] == engine
        adc = "energy_by_component_j.linear.ADC"
        assert more[adc] == pytest.approx(2 * base[adc], rel=1e-9)
        assert more["energy_j"] - base["energy_j"] == pytest.approx(base[adc], rel=1e-9)
        assert more["area_mm2"] == base["area_mm2"]  # area does not use the energy factor
    with pytest.raises(HyflexInputError, match="no_such_constant"):
        evaluate_points(pts, "fast", constants={"no_such_constant": 1.0})
    assert math.isfinite(base["tops_per_w"])


def test_rows_record_the_share_the_request_resolved(tmp_path):
    """A fixed-share design records its own share, a hybrid design the point's share."""
    import json as _json

    from hyflex_plugin.architecture.design import load_arch
    from hyflex_plugin.sweep import evaluate_points

    cfg = tmp_path / "config.json"
    cfg.write_text(_json.dumps({"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 1,
                                "num_attention_heads": 2, "intermediate_size": 128}))
    points = [{"design": load_arch(name), "model": str(cfg), "seq_len": 16, "slc_fraction": 0.2,
               "axes": {}} for name in ("all-slc.yaml", "all-mlc.yaml", "hyflexpim.yaml")]
    rows = evaluate_points(points, "fast")
    assert [r["slc_fraction"] for r in rows] == [1.0, 0.0, 0.2]
