"""SLC/MLC selection and applying MLC noise to a model.

Gradient redistribution (SVD model): per matrix, the top ``share`` of rank components by a score
go to SLC. Scores (``SVD_SELECTORS``): ``gradient`` (importance |dL/dsigma_i|), ``singular-value``
(|sigma_i|), ``magnitude`` (||U[:, i]||_2 * ||sigma_i V[i, :]||_2 of the fine-tuned factors) and
``random``. Brute force (dense model, no SVD; ``DENSE_SELECTORS``): the top ``share`` of the
weights of each matrix by ``magnitude`` (|W|) or ``gradient`` (accumulated |dL/dW|), or
``random``. Number of SLC entries per matrix: round(share * count).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.redistribution import readback
from hyflex_plugin.redistribution.noise import NoiseModel, int8_dequant
from hyflex_plugin.redistribution.svd import decomposed_matrices, find_block_linears

SVD_SELECTORS = ("gradient", "singular-value", "magnitude", "random")
DENSE_SELECTORS = ("magnitude", "gradient", "random")
METHODS = {"gradient-redistribution": SVD_SELECTORS, "brute-force": DENSE_SELECTORS}


def check_share(share: float, source: str = "--slc-fraction") -> float:
    """SLC share as a fraction 0-1, from 0.1 or "10%" (:func:`hyflex_plugin.argtypes.fraction`).

    Raises :class:`HyflexInputError` naming ``source`` if it is not a share.
    """
    from hyflex_plugin.argtypes import BadValue, fraction

    try:
        return fraction(share)
    except BadValue as exc:
        raise HyflexInputError(source, "slc_fraction", str(exc)) from None


def check_selector(method: str, selector: str, source: str = "--selectors") -> None:
    """Raise if ``selector`` is not one of ``method``'s selectors (errors name ``source``)."""
    if method not in METHODS:
        raise HyflexInputError("--methods", "method", f"expected one of {list(METHODS)}, got {method!r}")
    if selector not in METHODS[method]:
        raise HyflexInputError(source, "selector",
                               f"{method} supports {list(METHODS[method])}, got {selector!r}")


def top_k_mask(scores: torch.Tensor, share: float, generator: torch.Generator | None = None,
               random: bool = False) -> torch.Tensor:
    """Boolean mask (same shape) of the top round(share * n) entries of ``scores``."""
    n = scores.numel()
    k = int(round(share * n))
    mask = torch.zeros(n, dtype=torch.bool)
    if k > 0:
        if random:
            idx = torch.randperm(n, generator=generator)[:k]
        else:
            idx = torch.topk(scores.flatten().double(), k, sorted=False).indices
        mask[idx] = True
    return mask.view(scores.shape)


def rank_scores(module, selector: str, importance: torch.Tensor | None) -> torch.Tensor:
    """Score of every rank component (or weight) by ``selector``; higher = keep in SLC."""
    if selector == "gradient":
        if importance is None:
            raise HyflexInputError("run", "importance", "no importance scores stored for this matrix")
        return importance
    if selector == "singular-value":
        return module.sigma.detach().abs()
    if selector == "magnitude":
        U, SVt = module.factors()
        return U.detach().norm(dim=0) * SVt.detach().norm(dim=1)
    return torch.zeros(module.rank)  # random: scores unused


def svd_slc_ranks(model: nn.Module, share: float, selector: str,
                  importance: dict[str, torch.Tensor], selection_seed: int = 0) -> dict[str, list[int]]:
    """{SVDLinear path: sorted SLC rank indices}."""
    g = torch.Generator().manual_seed(selection_seed)
    out = {}
    for d in decomposed_matrices(model):
        scores = rank_scores(d.module, selector, importance.get(d.path))
        mask = top_k_mask(scores, share, g, random=selector == "random")
        out[d.path] = torch.nonzero(mask).flatten().tolist()
    return out


#: Where the SLC rank components are protected: in both factors (the method), in U only, or in
#: sigma V^T only (study variants).
PROTECT = ("both", "u", "svt")
#: Where the noise is applied: on each stored factor (the method) or on the dense product U sigma
#: V^T as if it were stored as one matrix (study variant; SLC ranks' part of the product clean).
NOISE_ON = ("factors", "product")


def _check_choice(value: str, choices: tuple, option: str, fld: str) -> str:
    if value not in choices:
        raise HyflexInputError(option, fld, f"expected one of {list(choices)}, got {value!r}")
    return value


def _noisy_factors(module, slc, noise: NoiseModel, g, protect: str, noise_on: str):
    """(U_eff, SVt_eff) of one SVDLinear under ``noise``; ``slc`` a boolean rank mask."""
    U, SVt = module.factors()
    if noise_on == "product":
        # SLC components' part of W from the exact INT8 factors; the MLC components' part of the
        # float product is quantised and made noisy as one dense matrix
        mlc = ~slc
        w_mlc = U[:, mlc] @ SVt[mlc]
        w_eff = noise.apply(w_mlc, torch.ones_like(w_mlc, dtype=torch.bool), g)
        if bool(slc.any()):
            w_eff = w_eff + int8_dequant(U)[:, slc] @ int8_dequant(SVt)[slc]
        return None, w_eff  # SVDLinear computes x @ w_eff^T
    mlc_u = (~slc if protect in ("both", "u") else torch.ones_like(slc))[None, :]
    mlc_v = (~slc if protect in ("both", "svt") else torch.ones_like(slc))[:, None]
    return noise.apply(U, mlc_u, g), noise.apply(SVt, mlc_v, g)


def _fused(override, fuse: bool):
    """An SVDLinear override, multiplied into one matrix if ``fuse``."""
    U, W = override
    return (None, U @ W) if fuse and U is not None else (U, W)


@contextmanager
def noisy_svd(model: nn.Module, slc_ranks: dict[str, list[int]], noise: NoiseModel,
              seed: int = 0, protect: str = "both", noise_on: str = "factors",
              fuse: bool = False):
    """Inside the block, every SVDLinear computes with INT8 + noisy factors (SLC ranks clean).

    ``protect`` and ``noise_on`` select the study variants (:data:`PROTECT`, :data:`NOISE_ON`).
    ``fuse``: multiply the noisy factors into one matrix U_eff ΣVᵀ_eff before the forward pass
    (the same linear map, computed as one fused linear per layer; the draws are unchanged).
    """
    _check_choice(protect, PROTECT, "--protect", "protect")
    _check_choice(noise_on, NOISE_ON, "--noise-on", "noise_on")
    g = torch.Generator().manual_seed(seed)
    mats = decomposed_matrices(model)
    try:
        with torch.no_grad():
            for d in mats:
                slc = torch.zeros(d.module.rank, dtype=torch.bool)
                slc[slc_ranks.get(d.path, [])] = True
                d.module.override = _fused(_noisy_factors(d.module, slc, noise, g, protect, noise_on), fuse)
        yield model
    finally:
        for d in mats:
            d.module.override = None


def dense_slc_masks(model: nn.Module, share: float, selector: str,
                    gradients: dict[str, torch.Tensor] | None, selection_seed: int = 0):
    """{block linear path: boolean SLC mask in the module's weight layout}."""
    g = torch.Generator().manual_seed(selection_seed)
    out = {}
    for path, _, _, m in find_block_linears(model):
        if selector == "magnitude":
            scores = m.weight.detach().abs()
        elif selector == "gradient":
            if not gradients or path not in gradients:
                raise HyflexInputError("run", "dense_gradients", f"no gradient stored for {path}")
            scores = gradients[path]
        else:
            scores = torch.zeros_like(m.weight)
        out[path] = top_k_mask(scores, share, g, random=selector == "random")
    return out


@contextmanager
def noisy_dense(model: nn.Module, slc_masks: dict[str, torch.Tensor], noise: NoiseModel, seed: int = 0):
    """Inside the block, this thread computes with INT8 + noisy dense block weights (SLC weights
    clean); the model's own weights are not touched (:mod:`.readback`).
    """
    g = torch.Generator().manual_seed(seed)
    values = {}
    with torch.no_grad():
        for path, _, _, m in find_block_linears(model):
            mlc = ~slc_masks[path] if path in slc_masks else torch.ones_like(m.weight, dtype=torch.bool)
            values[readback.make_overridable(m)] = noise.apply(m.weight, mlc, g)
    with readback.overrides(values):
        yield model
