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
from hyflex_plugin.redistribution.noise import MLC_SIGMA, noisy_int8
from hyflex_plugin.redistribution.svd import decomposed_matrices, find_block_linears

SVD_SELECTORS = ("gradient", "singular-value", "magnitude", "random")
DENSE_SELECTORS = ("magnitude", "gradient", "random")
METHODS = {"gradient-redistribution": SVD_SELECTORS, "brute-force": DENSE_SELECTORS}


def check_share(share: float, source: str = "--slc-share") -> float:
    """SLC share as a fraction 0-1 (raises naming the option if outside [0, 100] %)."""
    try:
        s = float(share)
    except (TypeError, ValueError):
        raise HyflexInputError(source, "slc_share", f"expected a number, got {share!r}") from None
    if not 0.0 <= s <= 1.0:
        raise HyflexInputError(
            source, "slc_share",
            f"SLC share must lie in [0, 100] % (a fraction 0-1), got {s:g} ({s * 100:g} %)",
        )
    return s


def check_selector(method: str, selector: str, source: str = "--selectors") -> None:
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


@contextmanager
def noisy_svd(model: nn.Module, slc_ranks: dict[str, list[int]], sigma: float = MLC_SIGMA,
              seed: int = 0, noise_model=None):
    """Inside the block, every SVDLinear computes with INT8 + noisy factors (SLC ranks clean)."""
    g = torch.Generator().manual_seed(seed)
    mats = decomposed_matrices(model)
    try:
        with torch.no_grad():
            for d in mats:
                U, SVt = d.module.factors()
                slc = torch.zeros(d.module.rank, dtype=torch.bool)
                slc[slc_ranks.get(d.path, [])] = True
                mlc_u, mlc_v = (~slc)[None, :], (~slc)[:, None]
                if noise_model is None:
                    d.module.override = (noisy_int8(U, mlc_u, g, sigma), noisy_int8(SVt, mlc_v, g, sigma))
                else:
                    d.module.override = (noise_model.apply(U, mlc_u, g), noise_model.apply(SVt, mlc_v, g))
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
def noisy_dense(model: nn.Module, slc_masks: dict[str, torch.Tensor], sigma: float = MLC_SIGMA,
                seed: int = 0, noise_model=None):
    """Inside the block, the dense block weights are INT8 + noisy (SLC weights clean)."""
    g = torch.Generator().manual_seed(seed)
    saved = {}
    mods = find_block_linears(model)
    try:
        with torch.no_grad():
            for path, _, _, m in mods:
                saved[path] = m.weight.detach().clone()
                mlc = ~slc_masks[path] if path in slc_masks else torch.ones_like(m.weight, dtype=torch.bool)
                w = (noisy_int8(m.weight, mlc, g, sigma) if noise_model is None
                     else noise_model.apply(m.weight, mlc, g))
                m.weight.copy_(w)
        yield model
    finally:
        with torch.no_grad():
            for path, _, _, m in mods:
                if path in saved:
                    m.weight.copy_(saved[path])
