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

from statistics import NormalDist

import torch

from hyflex_plugin.errors import HyflexInputError

#: Noise constants (value, unit, source).
NOISE_DEFAULTS = {
    "mlc_sigma": {
        "value": 0.025, "unit": "1 (relative std of a 2-bit slice)",
        "source": "HyFlexPIM ISCA 2025 authors' noise model (facts sheet section 4, step 6)",
    },
    "int8_levels": {"value": 127, "unit": "codes", "source": "signed INT8, symmetric"},
    "slice_bits": {"value": 2, "unit": "bits per MLC cell", "source": "paper: 2-bit MLC RRAM"},
}
MLC_SIGMA = NOISE_DEFAULTS["mlc_sigma"]["value"]
SLICE_WEIGHTS = (64, 16, 4, 1)  # place value of slices 3 (top, signed) .. 0


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Signed INT8 codes (int64 tensor in [-127, 127]) and the scale (value per code).

    Scale = second-largest |w| / 127 (the largest value is clipped), as in the authors' code.
    """
    a = w.detach().abs().flatten()
    if a.numel() >= 2:
        clip = float(torch.topk(a, 2).values[1])
    else:
        clip = float(a.max()) if a.numel() else 0.0
    if clip == 0.0:
        clip = float(a.max()) if a.numel() and float(a.max()) > 0 else 1.0
    scale = clip / 127.0
    q = torch.clamp(torch.round(w.detach() / scale), -127, 127).to(torch.int64)
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


def sigma_from_bit_error_rate(ber: float) -> float:
    """Relative slice noise sigma that gives a cell-level error probability ``ber``.

    Our derivation (not from the paper): the largest 2-bit level (3) misreads when its noise
    |3 * sigma * n| exceeds half the level spacing (0.5), so BER = 2 * Q(0.5 / (3 sigma)),
    sigma = 0.5 / (3 * Q^-1(BER / 2)).
    """
    if not 0 < ber < 1:
        raise HyflexInputError("--ber", "bit_error_rate", f"must be in (0, 1), got {ber}")
    z = NormalDist().inv_cdf(1 - ber / 2)
    return 0.5 / (3 * z)


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
    s = int8_slices(q).to(torch.float32)
    if sigma > 0 and bool(mlc_mask.any()):
        noise = torch.randn(s.shape, generator=generator, dtype=torch.float32)
        mask = mlc_mask.expand_as(w).unsqueeze(0).to(torch.float32)
        s = s * (1 + sigma * noise * mask)
    return (rebuild_from_slices(s) * scale).to(w.dtype)


def int8_dequant(w: torch.Tensor) -> torch.Tensor:
    q, scale = quantize_int8(w)
    return (q.to(torch.float32) * scale).to(w.dtype)


class AihwkitNoise:
    """Second noise model: IBM aihwkit's RRAM programming-noise/drift model (optional).

    Needs the ``aihwkit`` package. Its wheels are compiled against one torch release; see
    docs/redistribution.md for why it is not a required dependency here.
    """

    def __init__(self, t_inference_s: float = 1.0):
        try:
            from aihwkit.inference.noise.reram import ReRamWan2022NoiseModel
        except Exception as exc:  # ImportError or a binary mismatch with torch
            raise HyflexInputError(
                "--noise-model", "aihwkit",
                "the 'aihwkit' package is needed for this noise model and could not be imported "
                f"({type(exc).__name__}: {exc}); install an aihwkit build that matches your torch, "
                "or use --noise-model paper",
            ) from exc
        self.model = ReRamWan2022NoiseModel()
        self.t_inference_s = t_inference_s

    def apply(self, w: torch.Tensor, mlc_mask: torch.Tensor, generator=None) -> torch.Tensor:
        """Programming noise + drift on MLC entries (relative to the tensor's max |w|)."""
        wmax = w.abs().max().clamp_min(1e-12)
        gmax = float(self.model.g_max)
        g = (w.abs() / wmax) * gmax  # |w| mapped to conductance (uS), sign by a differential pair
        prog = self.model.apply_programming_noise_to_conductance(g.float())
        drift = self.model.apply_drift_noise_to_conductance(g.float(), prog, self.t_inference_s)
        noisy = torch.sign(w) * drift.clamp_min(0) / gmax * wmax
        q = int8_dequant(w)
        return torch.where(mlc_mask.expand_as(w), noisy.to(w.dtype), q)


__all__ = [
    "NOISE_DEFAULTS", "MLC_SIGMA", "quantize_int8", "int8_slices", "rebuild_from_slices",
    "sigma_from_bit_error_rate", "noisy_int8", "int8_dequant", "AihwkitNoise",
]
