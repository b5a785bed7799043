"""Per-thread weight read-back: the weights one thread's forward passes use instead of the model's.

A noisy evaluation reads every block matrix back from the array with its own noise draw. The
draw is installed here, for the calling thread only, so the model itself is never modified and
one copy of each model serves every worker thread (the study's in-process workers; a Dask
worker's threads). ``SVDLinear.override`` is stored here; dense block layers (``nn.Linear``,
GPT-2's ``Conv1D``) consult it once :func:`make_overridable` has been applied to them.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

_LOCAL = threading.local()


def _table() -> dict[int, object]:
    return _LOCAL.__dict__.setdefault("by_module", {})


def current(module: nn.Module):
    """The read-back value installed for ``module`` in this thread, or None."""
    return _table().get(id(module))


def set_current(module: nn.Module, value) -> None:
    """Install ``value`` for ``module`` in this thread (None removes it)."""
    if value is None:
        _table().pop(id(module), None)
    else:
        _table()[id(module)] = value


@contextmanager
def overrides(values: dict[nn.Module, object]):
    """Inside the block, this thread's forward passes use ``values`` (module -> weights)."""
    try:
        for m, v in values.items():
            set_current(m, v)
        yield
    finally:
        for m in values:
            set_current(m, None)


def _dense_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    w = current(self)
    if w is None:
        return type(self).forward(self, x)
    if isinstance(self, nn.Linear):
        return F.linear(x, w, self.bias)
    # GPT-2 Conv1D: weight stored (in, out), y = x W + b
    y = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), w)
    return y.view(*x.shape[:-1], w.shape[-1])


def make_overridable(module: nn.Module) -> nn.Module:
    """Let a dense layer (``nn.Linear`` or ``Conv1D``) use this thread's read-back weights, given
    in the layer's own weight layout. Idempotent; without an installed value nothing changes.
    """
    if module.__dict__.get("forward") is None:
        module.forward = _dense_forward.__get__(module)
    return module


__all__ = ["current", "make_overridable", "overrides", "set_current"]
