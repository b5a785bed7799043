"""INT8 quantisation, 2-bit slicing and MLC programming noise, as the paper models it.

Procedure (HyFlexPIM, ISCA 2025; authors' code as summarised in the facts sheet section 4):
a matrix is quantised to signed INT8 per tensor (scale = second-largest |value| / 127, values
clipped there); each code is cut into four 2-bit two's-complement slices (bit masks 0xC0, 0x30,
0x0C, 0x03; the top slice is signed, -2..1, the lower three unsigned, 0..3), one slice per
2-bit MLC cell; each MLC slice is multiplied by (1 + sigma * N(0, 1)); slices are summed back.
SLC weights (8 one-bit cells) get no noise.

Constants of the noise model live in :data:`NOISE_DEFAULTS` (the one place for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.redistribution.ber import (
    sigma_from_bit_error_rate,
)

#: Noise constants (value, unit, source): the one place for them. The noise models' dataclass
#: defaults and the INT8 code range read their values from here.
NOISE_DEFAULTS = {
    "mlc_sigma": {
        "value": 0.025, "unit": "1 (relative std of a 2-bit slice)",
        "source": "HyFlexPIM ISCA 2025 authors' noise model (facts sheet section 4, step 6)",
    },
    "int8_levels": {"value": 127, "unit": "codes (largest |code|)", "source": "signed INT8, symmetric"},
    "aihwkit_t_inference": {
        "value": 1.0, "unit": "s (time since programming)",
        "source": "our choice: read 1 s after programming (aihwkit's t_inference)",
    },
}
MLC_SIGMA = NOISE_DEFAULTS["mlc_sigma"]["value"]
INT8_LEVELS = NOISE_DEFAULTS["int8_levels"]["value"]
SLICE_WEIGHTS = (64, 16, 4, 1)  # place value of slices 3 (top, signed) .. 0


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Signed INT8 codes (int64 tensor in [-127, 127]) and the scale (value per code).

    Scale = second-largest |w| / 127 (``INT8_LEVELS``) (the largest value is clipped), as in the authors' code.
    """
    a = w.detach().abs().flatten()
    if a.numel() >= 2:
        clip = float(torch.topk(a, 2).values[1])
    else:
        clip = float(a.max()) if a.numel() else 0.0
    if clip == 0.0:
        clip = float(a.max()) if a.numel() and float(a.max()) > 0 else 1.0
    scale = clip / INT8_LEVELS
    q = torch.clamp(torch.round(w.detach() / scale), -INT8_LEVELS, INT8_LEVELS).to(torch.int64)
    return q, scale


def int8_slices(q: torch.Tensor) -> torch.Tensor:
    """Four 2-bit two's-complement slices of INT8 codes, shape (4, *q.shape), order top..bottom.

    Top slice (mask 0xC0) signed in [-2, 1]; slices 0x30, 0x0C, 0x03 unsigned in [0, 3].
    sum(slice_k * 4**(3-k)) rebuilds q exactly for every code -128..127.
    """
    if q.dtype.is_floating_point:
        raise TypeError("int8_slices expects integer codes")
    if q.numel() and (int(q.min()) < -128 or int(q.max()) > 127):
        raise ValueError("codes must lie in [-128, 127]")
    u = q & 0xFF
    top = (u & 0xC0) >> 6
    top = torch.where(top >= 2, top - 4, top)
    return torch.stack([top, (u & 0x30) >> 4, (u & 0x0C) >> 2, u & 0x03])


def rebuild_from_slices(slices: torch.Tensor) -> torch.Tensor:
    """Sum slices back with their place values (works on noisy float slices too)."""
    w = torch.tensor(SLICE_WEIGHTS, dtype=slices.dtype, device=slices.device)
    return torch.tensordot(w, slices, dims=([0], [0]))


def noisy_int8(
    w: torch.Tensor,
    mlc_mask: torch.Tensor,
    generator: torch.Generator | None,
    sigma: float = MLC_SIGMA,
) -> torch.Tensor:
    """Quantise ``w`` to INT8, add slice noise where ``mlc_mask`` is True, dequantise.

    ``mlc_mask`` broadcasts against ``w``. SLC entries come back as the exact INT8 value.
    """
    q, scale = quantize_int8(w)
    s = int8_slices(q.to(torch.int32)).to(torch.float32)
    if sigma > 0 and bool(mlc_mask.any()):
        # s * (1 + sigma * noise * mask), computed in place (same values, no temporaries: the
        # noisy copies of large matrices are made by two worker threads at once)
        factor = torch.randn(s.shape, generator=generator, dtype=torch.float32)
        factor.mul_(sigma).mul_(mlc_mask.expand_as(w).unsqueeze(0)).add_(1)
        s.mul_(factor)
        del factor
    return (rebuild_from_slices(s) * scale).to(w.dtype)


def int8_dequant(w: torch.Tensor) -> torch.Tensor:
    """``w`` rounded to its INT8 codes and scaled back (the noise-free stored value)."""
    q, scale = quantize_int8(w)
    return (q.to(torch.float32) * scale).to(w.dtype)


@runtime_checkable
class NoiseModel(Protocol):
    """What the selection code needs from a noise model (one interface for all of them).

    ``apply(w, mlc_mask, generator)`` returns the weights as read back from the array: INT8
    everywhere, plus the model's noise where ``mlc_mask`` (broadcast against ``w``) is True.
    All randomness comes from ``generator``, so one seed gives one draw.
    """

    name: str

    def apply(self, w: torch.Tensor, mlc_mask: torch.Tensor,
              generator: torch.Generator | None) -> torch.Tensor:
        """Noisy read-back of ``w`` (same shape and dtype)."""
        ...


@dataclass(frozen=True)
class PaperSliceNoise:
    """The paper's model: INT8, four 2-bit slices, each MLC slice x (1 + sigma * N(0, 1))."""

    sigma: float = MLC_SIGMA
    """Relative standard deviation of one 2-bit slice (1); 0 gives the noise-free INT8 model."""
    name: str = "paper"

    def __post_init__(self):
        if not self.sigma >= 0:
            raise HyflexInputError("--sigma", "sigma", f"must be >= 0, got {self.sigma}")

    def apply(self, w, mlc_mask, generator):
        """Slice noise on the MLC entries of ``w``; SLC entries exact INT8."""
        return noisy_int8(w, mlc_mask, generator, self.sigma)


def _import_aihwkit_model():
    try:
        from aihwkit.inference.noise.reram import ReRamWan2022NoiseModel
    except Exception as exc:  # ImportError or a binary mismatch with torch
        raise HyflexInputError(
            "--noise-model", "aihwkit",
            "the 'aihwkit' package is needed for this noise model and could not be imported "
            f"({type(exc).__name__}: {exc}); install an aihwkit build that matches your torch, "
            "or use --noise-model paper",
        ) from exc
    return ReRamWan2022NoiseModel()


@dataclass(frozen=True)
class AihwkitNoise:
    """Second model: an aihwkit phenomenological noise model (default ``ReRamWan2022NoiseModel``).

    The INT8 weights go through the device model's own ``apply_noise(weights, t_inference)``,
    which maps them to conductances, programs them (programming noise), lets them drift for
    ``t_inference_s`` and maps them back, in one call. MLC entries take that result, SLC entries
    stay exact INT8. aihwkit draws from torch's global generator, so the draw is made inside
    ``torch.random.fork_rng`` seeded from ``generator`` (reproducible, global state untouched).
    ``device_model`` is any object with aihwkit's ``apply_noise`` signature (tests pass a
    stand-in); by default aihwkit's ReRAM model, which needs the optional ``aihwkit`` package.
    """

    t_inference_s: float = NOISE_DEFAULTS["aihwkit_t_inference"]["value"]
    """Time from programming to inference (s)."""
    device_model: Any = field(default=None, compare=False)
    """Object with ``apply_noise(weights, t_inference) -> weights``; None: aihwkit's ReRAM model."""
    name: str = "aihwkit"

    def __post_init__(self):
        if self.device_model is None:
            object.__setattr__(self, "device_model", _import_aihwkit_model())

    def apply(self, w, mlc_mask, generator):
        """Aihwkit programming noise + drift on the MLC entries of ``w``; SLC entries exact INT8."""
        q = int8_dequant(w)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            noisy = self.device_model.apply_noise(q.float(), self.t_inference_s)
        return torch.where(mlc_mask.expand_as(w), noisy.to(w.dtype), q)


NOISE_MODELS = ("paper", "aihwkit")


def make_noise_model(name: str, sigma: float = MLC_SIGMA) -> NoiseModel:
    """Noise model by CLI name; ``sigma`` is used by the paper's model only."""
    if name == "paper":
        return PaperSliceNoise(sigma)
    if name == "aihwkit":
        return AihwkitNoise()
    raise HyflexInputError("--noise-model", "noise_model",
                           f"expected one of {list(NOISE_MODELS)}, got {name!r}")


__all__ = [
    "INT8_LEVELS",
    "MLC_SIGMA",
    "NOISE_DEFAULTS",
    "NOISE_MODELS",
    "AihwkitNoise",
    "NoiseModel",
    "PaperSliceNoise",
    "int8_dequant",
    "int8_slices",
    "make_noise_model",
    "noisy_int8",
    "quantize_int8",
    "rebuild_from_slices",
    "sigma_from_bit_error_rate",
]
