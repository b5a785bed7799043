"""SVD decomposition of a transformer's linear layers: W = U diag(sigma) V^T.

Every linear layer inside the transformer blocks is replaced by :class:`SVDLinear`
(x -> V^T -> diag(sigma) -> U, bias on U); the task head stays dense. The default rank is the
paper's "hard threshold" r = floor(M*N / (M+N)), which keeps the parameter count and MACs of the
dense layer (HyFlexPIM, ISCA 2025, Sec. 4; facts sheet section 4).

Supported families (module names of Hugging Face transformers): BERT/RoBERTa/MiniLM, MPNet, ViT,
GPT-2 (``Conv1D`` weights are stored (in, out); the fused ``c_attn`` is split into q, k, v) and
Llama (grouped-query k/v have a smaller out dimension and get their own rank).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.redistribution import readback

#: (suffix of the module name inside one block, canonical matrix name)
_SUFFIX_TO_MATRIX: list[tuple[str, str]] = [
    ("attention.self.query", "q"),  # BERT family
    ("attention.self.key", "k"),
    ("attention.self.value", "v"),
    ("attention.attention.query", "q"),  # ViT
    ("attention.attention.key", "k"),
    ("attention.attention.value", "v"),
    ("attention.q_proj", "q"),  # ViT (transformers >= 5)
    ("attention.k_proj", "k"),
    ("attention.v_proj", "v"),
    ("attention.o_proj", "attn_out"),
    ("attention.attn.q", "q"),  # MPNet
    ("attention.attn.k", "k"),
    ("attention.attn.v", "v"),
    ("attention.attn.o", "attn_out"),
    ("mlp.fc1", "ffn1"),
    ("mlp.fc2", "ffn2"),
    ("attention.output.dense", "attn_out"),
    ("intermediate.dense", "ffn1"),
    ("output.dense", "ffn2"),
    ("self_attn.q_proj", "q"),  # Llama
    ("self_attn.k_proj", "k"),
    ("self_attn.v_proj", "v"),
    ("self_attn.o_proj", "attn_out"),
    ("mlp.gate_proj", "ffn_gate"),
    ("mlp.up_proj", "ffn1"),
    ("mlp.down_proj", "ffn2"),
    ("attn.c_attn", "qkv"),  # GPT-2 (fused, split into q, k, v)
    ("attn.c_proj", "attn_out"),
    ("mlp.c_fc", "ffn1"),
    ("mlp.c_proj", "ffn2"),
]
_LAYER_RE = re.compile(r"(?:^|\.)(?:layer|layers|h)\.(\d+)\.(.+)$")


def hard_threshold_rank(out_features: int, in_features: int) -> int:
    """Paper's rank r = floor(M*N/(M+N)): same parameters/MACs as the dense M x N layer."""
    return max(1, (out_features * in_features) // (out_features + in_features))


def choose_rank(sigma: torch.Tensor, out_features: int, in_features: int, rule) -> int:
    """Rank for one matrix. ``rule``: 'hard-threshold', 'full', an int (fixed rank, capped at
    min(M, N)) or a float in (0, 1] (smallest rank holding that fraction of sum(sigma^2)).
    """
    full = min(out_features, in_features)
    if rule in (None, "hard-threshold"):
        return min(full, hard_threshold_rank(out_features, in_features))
    if rule == "full":
        return full
    if isinstance(rule, bool):
        raise HyflexInputError("rank", "rank", f"expected a rank rule, got {rule!r}")
    if isinstance(rule, int):
        if rule < 1:
            raise HyflexInputError("rank", "rank", f"a fixed rank must be >= 1, got {rule}")
        return min(full, rule)
    if isinstance(rule, float):
        if not 0 < rule <= 1:
            raise HyflexInputError("rank", "rank", f"an energy fraction must be in (0, 1], got {rule}")
        energy = torch.cumsum(sigma.double() ** 2, 0)
        k = int(torch.searchsorted(energy, rule * energy[-1] * (1 - 1e-12)).item()) + 1
        return min(full, k)
    raise HyflexInputError(
        "rank", "rank",
        f"expected 'hard-threshold', 'full', an integer rank or an energy fraction, got {rule!r}",
    )


def parse_rank_rule(text: str | int | float | None):
    """CLI text -> rank rule ('hard-threshold', 'full', int or float)."""
    if text is None or isinstance(text, (int, float)):
        return text
    t = str(text).strip()
    if t in ("hard-threshold", "full"):
        return t
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        raise HyflexInputError(
            "--rank", "rank", f"expected 'hard-threshold', 'full', an integer or a fraction, got {t!r}"
        ) from None


class SVDLinear(nn.Module):
    """y = U (sigma * (V^T x)) + b. U: (out, r), sigma: (r,), Vt: (r, in); all trainable.

    ``override`` (set by the noise code) replaces the factors by fixed effective matrices
    ``(U_eff (out, r), SVt_eff (r, in))`` for noisy inference, or ``(None, W_eff (out, in))``
    for a dense effective matrix. It is per thread (:mod:`.readback`): the module is shared.
    """

    def __init__(self, U: torch.Tensor, sigma: torch.Tensor, Vt: torch.Tensor, bias):
        super().__init__()
        self.U = nn.Parameter(U.contiguous())
        self.sigma = nn.Parameter(sigma.contiguous())
        self.Vt = nn.Parameter(Vt.contiguous())
        self.bias = nn.Parameter(bias.clone()) if bias is not None else None

    @property
    def override(self) -> tuple[torch.Tensor | None, torch.Tensor] | None:
        """This thread's read-back factors, or None (compute with the trained factors)."""
        return readback.current(self)

    @override.setter
    def override(self, value) -> None:
        readback.set_current(self, value)

    @property
    def out_features(self) -> int:
        """Output features (rows of U)."""
        return self.U.shape[0]

    @property
    def in_features(self) -> int:
        """Input features (columns of V^T)."""
        return self.Vt.shape[1]

    @property
    def rank(self) -> int:
        """Rank r (count of singular values)."""
        return self.sigma.shape[0]

    @classmethod
    def from_weight(cls, weight: torch.Tensor, bias, rank_rule="hard-threshold") -> "SVDLinear":
        """``weight`` is (out, in) like nn.Linear."""
        w = weight.detach().double()
        U, S, Vh = torch.linalg.svd(w, full_matrices=False)
        r = choose_rank(S, w.shape[0], w.shape[1], rank_rule)
        dt = weight.dtype
        b = bias.detach().to(dt) if bias is not None else None
        return cls(U[:, :r].to(dt), S[:r].to(dt), Vh[:r].to(dt), b)

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(U, sigma V^T): the two matrices the hardware stores."""
        return self.U, self.sigma[:, None] * self.Vt

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ W^T + b`` through the factors (or through the override, e.g. noisy factors)."""
        ov = self.override
        if ov is not None:
            U, SVt = ov
            if U is None:  # one effective matrix: a fused linear (21-34 % faster than matmul + add in bfloat16)
                return F.linear(x, SVt, self.bias)
            y = (x @ SVt.T) @ U.T
        else:
            y = ((x @ self.Vt.T) * self.sigma) @ self.U.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        """Shape summary for ``print(model)``."""
        return f"in={self.in_features}, out={self.out_features}, rank={self.rank}"


class FusedSVD(nn.Module):
    """GPT-2's fused q/k/v projection as three SVDLinear parts whose outputs are concatenated."""

    def __init__(self, parts: list[SVDLinear]):
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The three parts' outputs, concatenated."""
        return torch.cat([p(x) for p in self.parts], dim=-1)


@dataclass(frozen=True)
class DecomposedMatrix:
    """One decomposed matrix: block index, canonical name, module and dotted path."""

    layer: int
    name: str
    module: SVDLinear
    path: str


def _dense_weight(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    if isinstance(module, nn.Linear):
        return module.weight, module.bias
    if type(module).__name__ == "Conv1D":  # transformers' GPT-2 layer: weight (in, out)
        return module.weight.T, module.bias
    return None


def find_block_linears(model: nn.Module) -> list[tuple[str, int, str, nn.Module]]:
    """(dotted path, block index, matrix name, module) for every linear layer in the blocks."""
    found = []
    for path, mod in model.named_modules():
        if _dense_weight(mod) is None:
            continue
        m = _LAYER_RE.search(path)
        if not m:
            continue
        rest = m.group(2)
        for suffix, name in _SUFFIX_TO_MATRIX:
            if rest == suffix:
                found.append((path, int(m.group(1)), name, mod))
                break
    return found


def _set_module(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, attr = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, attr, new)


def decompose_model(model: nn.Module, rank_rule="hard-threshold") -> list[DecomposedMatrix]:
    """Replace every block linear layer of ``model`` in place by SVD factors.

    Returns the decomposed matrices in model order. Raises HyflexInputError if no block linear
    layer is recognised (unsupported architecture).
    """
    targets = find_block_linears(model)
    if not targets:
        raise HyflexInputError(
            type(model).__name__, "architecture",
            "no transformer-block linear layers recognised (supported: BERT family, ViT, GPT-2, Llama)",
        )
    out: list[DecomposedMatrix] = []
    with torch.no_grad():
        for path, layer, name, mod in targets:
            weight, bias = _dense_weight(mod)
            if name == "qkv":
                d = weight.shape[0] // 3
                parts = []
                for j, sub in enumerate(("q", "k", "v")):
                    b = bias[j * d:(j + 1) * d] if bias is not None else None
                    part = SVDLinear.from_weight(weight[j * d:(j + 1) * d], b, rank_rule)
                    parts.append(part)
                    out.append(DecomposedMatrix(layer, sub, part, f"{path}.parts.{j}"))
                _set_module(model, path, FusedSVD(parts))
            else:
                new = SVDLinear.from_weight(weight, bias, rank_rule)
                _set_module(model, path, new)
                out.append(DecomposedMatrix(layer, name, new, path))
    return out


def decomposed_matrices(model: nn.Module) -> list[DecomposedMatrix]:
    """The SVDLinear layers of an already decomposed model, with block index and name."""
    out = []
    for path, mod in model.named_modules():
        if not isinstance(mod, SVDLinear):
            continue
        m = _LAYER_RE.search(path)
        rest = m.group(2) if m else ""
        if rest.endswith(tuple(f"parts.{j}" for j in range(3))):
            name = ("q", "k", "v")[int(rest[-1])]
        else:
            name = next((n for s, n in _SUFFIX_TO_MATRIX if rest == s), rest)
        out.append(DecomposedMatrix(int(m.group(1)) if m else -1, name, mod, path))
    return out


def rank_structure(model: nn.Module) -> dict[str, int]:
    """{module path: rank} so a decomposed model can be rebuilt before loading its state."""
    return {d.path: d.module.rank for d in decomposed_matrices(model)}


def _empty_svd(weight: torch.Tensor, bias, rank: int) -> SVDLinear:
    """An SVDLinear of the right shapes whose factors are to be loaded (no SVD computed)."""
    out_f, in_f = weight.shape
    dt = weight.dtype
    b = bias.detach().to(dt) if bias is not None else None
    return SVDLinear(torch.zeros(out_f, rank, dtype=dt), torch.zeros(rank, dtype=dt),
                     torch.zeros(rank, in_f, dtype=dt), b)


def decompose_with_ranks(model: nn.Module, ranks: dict[str, int]) -> list[DecomposedMatrix]:
    """Re-create the SVD structure recorded by :func:`rank_structure`, with zero factors: the
    fine-tuned weights are loaded afterwards (``load_state_dict``), so no SVD is computed.
    """
    by_path = dict(ranks)
    with torch.no_grad():
        for path, _layer, name, mod in find_block_linears(model):
            weight, bias = _dense_weight(mod)
            if name == "qkv":
                d = weight.shape[0] // 3
                parts = []
                for j in range(3):
                    b = bias[j * d:(j + 1) * d] if bias is not None else None
                    parts.append(_empty_svd(weight[j * d:(j + 1) * d], b, by_path[f"{path}.parts.{j}"]))
                _set_module(model, path, FusedSVD(parts))
            else:
                _set_module(model, path, _empty_svd(weight, bias, by_path[path]))
    return decomposed_matrices(model)


def n_params(model: nn.Module) -> int:
    """Parameters of ``model`` (count)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "SVDLinear", "FusedSVD", "DecomposedMatrix", "hard_threshold_rank", "choose_rank",
    "parse_rank_rule", "find_block_linears", "decompose_model", "decomposed_matrices",
    "rank_structure", "decompose_with_ranks", "n_params",
]
