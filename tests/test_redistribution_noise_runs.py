"""Noise-model interface (paper / aihwkit), study variants, run-folder reuse and the CLI's
bad-input errors (run as a subprocess)."""

import importlib.util
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.redistribution import noise, selection, svd
from hyflex_plugin.redistribution.experiment import redistribute
from hyflex_plugin.redistribution.runfolder import STEPS_FILE


class StandInDeviceModel:
    """Same interface as aihwkit's BaseNoiseModel.apply_noise; multiplies by (1 + 0.1 N(0,1)),
    drawing from torch's global generator like aihwkit does, and records its calls."""

    def __init__(self):
        self.calls = []

    def apply_noise(self, weights, t_inference):
        self.calls.append((weights.clone(), t_inference))
        return weights * (1 + 0.1 * torch.randn_like(weights))


def test_noise_models_share_one_interface():
    assert isinstance(noise.PaperSliceNoise(), noise.NoiseModel)
    assert noise.PaperSliceNoise().sigma == noise.NOISE_DEFAULTS["mlc_sigma"]["value"]
    assert noise.AihwkitNoise(device_model=StandInDeviceModel()).t_inference_s == \
        noise.NOISE_DEFAULTS["aihwkit_t_inference"]["value"]
    assert isinstance(noise.make_noise_model("paper", 0.1), noise.PaperSliceNoise)
    with pytest.raises(HyflexInputError, match="noise_model"):
        noise.make_noise_model("gaussian")
    with pytest.raises(HyflexInputError, match="sigma"):
        noise.PaperSliceNoise(-0.1)


def test_aihwkit_noise_is_applied_once_through_apply_noise():
    torch.manual_seed(0)
    w = torch.randn(64, 64)
    mlc = torch.zeros(64, 64, dtype=torch.bool)
    mlc[:, :40] = True
    dev = StandInDeviceModel()
    nm = noise.AihwkitNoise(t_inference_s=3600.0, device_model=dev)
    state = torch.get_rng_state()
    out = nm.apply(w, mlc, torch.Generator().manual_seed(4))
    assert torch.equal(torch.get_rng_state(), state)  # global generator untouched
    q = noise.int8_dequant(w)
    (passed, t), = dev.calls  # one call: programming + drift together, on the INT8 weights
    assert t == 3600.0 and torch.equal(passed, q)
    assert torch.equal(out[~mlc], q[~mlc])  # SLC entries exact INT8
    nz = mlc & (q != 0)
    rel = (out[nz] / q[nz] - 1)
    assert 0.09 < float(rel.std()) < 0.11  # the stand-in's 10 % noise, once (twice would be 14 %)
    again = nm.apply(w, mlc, torch.Generator().manual_seed(4))
    assert torch.equal(out, again)  # one seed, one draw


@pytest.mark.skipif(importlib.util.find_spec("aihwkit") is None, reason="aihwkit not installed")
def test_real_aihwkit_noise_model():
    torch.manual_seed(0)
    w = torch.randn(32, 32)
    mlc = torch.ones_like(w, dtype=torch.bool)
    mlc[:4] = False
    out = noise.AihwkitNoise().apply(w, mlc, torch.Generator().manual_seed(0))
    q = noise.int8_dequant(w)
    assert torch.equal(out[~mlc], q[~mlc]) and not torch.allclose(out[mlc], q[mlc])


def _one_svd_model(rank_in=16):
    torch.manual_seed(1)
    lin = svd.SVDLinear.from_weight(torch.randn(24, rank_in), torch.zeros(24), "full")
    root = torch.nn.ModuleDict({"layer": torch.nn.ModuleDict({"0": torch.nn.ModuleDict(
        {"attention": torch.nn.ModuleDict({"self": torch.nn.ModuleDict({"query": lin})})})})})
    return root, lin, "layer.0.attention.self.query"


def test_fused_read_back_computes_the_same_map():
    """fuse=True multiplies the same noisy factors into one matrix, computed as one fused linear."""
    root, lin, path = _one_svd_model()
    nm = noise.PaperSliceNoise(0.05)
    x = torch.randn(5, 16)
    with selection.noisy_svd(root, {path: [0, 1]}, nm, seed=3):
        Un, SVn = lin.override
        y_factors = lin(x)
    with selection.noisy_svd(root, {path: [0, 1]}, nm, seed=3, fuse=True):
        none, W = lin.override
        y_fused = lin(x)
    assert none is None and torch.equal(W, Un @ SVn)  # the same draw, multiplied out
    assert torch.allclose(y_fused, y_factors, atol=1e-5)


def test_protection_variants_and_noise_on_product():
    root, lin, path = _one_svd_model()
    U, SVt = (t.detach() for t in lin.factors())
    Uq, Sq = noise.int8_dequant(U), noise.int8_dequant(SVt)
    slc = [0, 1, 2]
    nm = noise.PaperSliceNoise(0.05)
    with selection.noisy_svd(root, {path: slc}, nm, seed=0, protect="u"):
        Un, SVn = lin.override
    assert torch.equal(Un[:, slc], Uq[:, slc]) and not torch.allclose(SVn[slc], Sq[slc])
    with selection.noisy_svd(root, {path: slc}, nm, seed=0, protect="svt"):
        Un, SVn = lin.override
    assert not torch.allclose(Un[:, slc], Uq[:, slc]) and torch.equal(SVn[slc], Sq[slc])
    # product: all ranks SLC -> exactly the INT8 factors' product; no SLC -> a noisy dense matrix
    with selection.noisy_svd(root, {path: list(range(16))}, nm, seed=0, noise_on="product"):
        none, W = lin.override
        x = torch.randn(3, 16)
        y = lin(x)
    assert none is None and torch.allclose(W, Uq @ Sq, atol=1e-6)
    assert torch.allclose(y, x @ (Uq @ Sq).T, atol=1e-5)
    with selection.noisy_svd(root, {}, nm, seed=0, noise_on="product"):
        _, W0 = lin.override
    assert not torch.allclose(W0, Uq @ Sq, atol=1e-3)
    assert float((W0 - U @ SVt).abs().max()) < 0.5 * float((U @ SVt).abs().max())
    with pytest.raises(HyflexInputError, match="protect"):
        with selection.noisy_svd(root, {}, nm, protect="v"):
            pass


def test_run_folder_reuse_with_other_arguments(tmp_path):
    out = tmp_path / "r"
    kw = dict(out=out, n_train=32, n_test=32, n_calib=16, seq_len=16, batch_size=16, lr=1e-3)
    redistribute("tiny-bert", **kw)
    first = (out / "svd.pt").read_bytes()
    with pytest.raises(HyflexInputError) as e:
        redistribute("tiny-bert", **{**kw, "n_calib": 8, "lr": 2e-3})
    msg = str(e.value)
    assert "lr 0.001 -> 0.002" in msg and "n_calib 16 -> 8" in msg and "--force" in msg
    assert (out / "svd.pt").read_bytes() == first  # nothing touched
    # --force: only n_calib changed -> the calibration steps are recomputed, fine-tuning is kept
    dense_mtime = (out / "dense.pt").stat().st_mtime_ns
    redistribute("tiny-bert", **{**kw, "n_calib": 8}, force=True)
    assert (out / "dense.pt").stat().st_mtime_ns == dense_mtime
    assert (out / "svd.pt").read_bytes() == first
    assert "n_calib: 8" in (out / STEPS_FILE).read_text()
    assert "n_calib: 8" in (out / "run.yaml").read_text()
    # a changed training argument recomputes the fine-tuning too
    redistribute("tiny-bert", **{**kw, "n_calib": 8, "lr": 2e-3}, force=True)
    assert (out / "svd.pt").read_bytes() != first


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "hyflex_plugin", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_cli_bad_inputs_one_line_exit_2(tmp_path):
    """Issue 11 section 5, redistribution items, through the real command line."""
    cases = []
    labels = tmp_path / "scores.csv"
    labels.write_text("text,label\n" + "".join(f"s{i},{0.73 if i == 3 else i % 2}\n" for i in range(40)))
    cases.append((["redistribute", "--model", "tiny-bert", "--dataset", str(labels), "--out",
                   str(tmp_path / "r1"), "--n-train", "8", "--n-test", "8", "--n-calib", "4"],
                  [str(labels), "'label'", "'0.73'", "whole number"]))
    cases.append((["partition", str(tmp_path), "--slc-share", "0.1,0.2", "--out", str(tmp_path / "p.yaml")],
                  ["--slc-share", "'0.1,0.2'", "between 0 and 1"]))
    cases.append((["accuracy", str(tmp_path), "--seeds", "0,1.7"],
                  ["--seeds", "'1.7'", "whole numbers"]))
    for argv, words in cases:
        r = _cli(*argv, cwd=tmp_path)
        assert r.returncode == 2, (argv, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        for w in words:
            assert w in lines[0], (w, lines[0])
    assert not (tmp_path / "r1").exists()  # the failed redistribute left no folder behind
