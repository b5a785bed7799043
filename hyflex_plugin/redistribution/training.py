"""Fine-tuning with checkpoints and resume, and the importance scores.

* :func:`fine_tune`: AdamW, linear warm-up (10 %) and decay, fixed seed, tqdm progress; a
  checkpoint (model, optimiser, scheduler, torch RNG state, step) every ``ckpt_every`` steps.
  The data order of epoch e is a permutation seeded by (seed, e), so a resumed run sees the same
  batches and gives the same weights as an uninterrupted one.
* :func:`sigma_importance`: |dL/dsigma_i| per rank, accumulated (sum over calibration batches of
  the per-batch |gradient|) — the default; ``last_batch_sigma_grad`` from fine-tuning is the
  paper's score (only the last mini-batch's gradient).
* :func:`dense_weight_gradients`: accumulated |dL/dW| of the dense block weights for the
  brute-force gradient selector.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from hyflex_plugin.console import progress
from hyflex_plugin.io import atomic_write_stream
from hyflex_plugin.redistribution.model import autocast, collate
from hyflex_plugin.redistribution.svd import decomposed_matrices, find_block_linears


def save_torch(obj, path: str | Path) -> Path:
    """Save ``obj`` with torch to ``path`` atomically, streamed to disk (no copy in memory: a
    fine-tuning checkpoint of MPNet, weights and AdamW state, is about 1.3 GB).
    """
    return atomic_write_stream(path, lambda fh: torch.save(obj, fh))


def load_torch(path: str | Path):
    """Load a torch file on the CPU."""
    return torch.load(path, map_location="cpu", weights_only=False)


def _epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g).tolist()


def fine_tune(
    model: nn.Module,
    data,
    epochs: int = 1,
    batch_size: int = 16,
    lr: float = 5e-5,
    warmup: float = 0.1,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    ckpt_every: int = 20,
    max_steps: int | None = None,
    desc: str = "fine-tune",
    compute_dtype: str = "float32",
) -> dict:
    """Fine-tune all parameters of ``model`` on encoded ``data``; resume from ``checkpoint``.

    ``max_steps`` stops early after that many global steps (leaving the checkpoint), which is how
    tests simulate an interruption. ``compute_dtype`` 'bfloat16': mixed precision (the forward
    pass under CPU autocast; weights, gradients and the optimiser stay float32).
    Returns {'steps', 'loss', 'last_sigma_grad': {path: tensor}}.
    """
    steps_per_epoch = (len(data) + batch_size - 1) // batch_size
    total = steps_per_epoch * epochs
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    n_warm = max(1, int(warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / n_warm if s < n_warm else max(0.0, (total - s) / max(1, total - n_warm))
    )
    torch.manual_seed(seed)
    step, last_loss, last_grad = 0, float("nan"), {}
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.is_file():
        state = load_torch(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["rng"])
        step, last_loss, last_grad = state["step"], state["loss"], state["last_sigma_grad"]
    svd = decomposed_matrices(model)
    loss_fn = nn.CrossEntropyLoss()
    stop = total if max_steps is None else min(total, max_steps)
    with progress(total=total, initial=step, desc=desc, unit="step", leave=False) as bar:
        while step < stop:
            epoch, pos = divmod(step, steps_per_epoch)
            order = _epoch_order(len(data), seed, epoch)
            idx = order[pos * batch_size:(pos + 1) * batch_size]
            ids, mask, labels = collate([data[k] for k in idx], model.pad_id)
            model.train()
            opt.zero_grad(set_to_none=True)
            with autocast(compute_dtype):
                loss = loss_fn(model(ids, mask), labels)
            loss.backward()
            last_grad = {d.path: d.module.sigma.grad.detach().abs().clone() for d in svd
                         if d.module.sigma.grad is not None}
            opt.step()
            sched.step()
            step += 1
            last_loss = float(loss.detach())
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.3f}")
            if ckpt is not None and (step % ckpt_every == 0 or step == stop):
                save_torch({"model": model.state_dict(), "optim": opt.state_dict(),
                            "sched": sched.state_dict(), "rng": torch.get_rng_state(),
                            "step": step, "loss": last_loss, "last_sigma_grad": last_grad}, ckpt)
    model.eval()
    return {"steps": step, "total_steps": total, "loss": last_loss, "last_sigma_grad": last_grad}


def _calib_grads(model: nn.Module, data, batch_size: int, grab, desc: str, compute_dtype: str) -> dict:
    loss_fn = nn.CrossEntropyLoss()
    model.eval()  # no dropout: a deterministic score
    acc: dict[str, torch.Tensor] = {}
    for s in progress(range(0, len(data), batch_size), desc=desc, leave=False):
        ids, mask, labels = collate(data[s:s + batch_size], model.pad_id)
        model.zero_grad(set_to_none=True)
        with autocast(compute_dtype):
            loss = loss_fn(model(ids, mask), labels)
        loss.backward()
        for key, g in grab():
            acc[key] = acc[key] + g.abs() if key in acc else g.detach().abs().clone()
    model.zero_grad(set_to_none=True)
    return acc


def sigma_importance(model: nn.Module, data, batch_size: int = 16,
                     compute_dtype: str = "float32") -> dict[str, torch.Tensor]:
    """{SVDLinear path: sum over calibration batches of |dL/dsigma|} (shape (rank,))."""
    svd = decomposed_matrices(model)
    return _calib_grads(model, data, batch_size,
                        lambda: [(d.path, d.module.sigma.grad) for d in svd], "importance", compute_dtype)


def dense_weight_gradients(model: nn.Module, data, batch_size: int = 16,
                           compute_dtype: str = "float32") -> dict[str, torch.Tensor]:
    """{block linear path: accumulated |dL/dW|} in the module's own weight layout."""
    mods = find_block_linears(model)
    return _calib_grads(model, data, batch_size,
                        lambda: [(p, m.weight.grad) for p, _, _, m in mods], "dense gradients", compute_dtype)
