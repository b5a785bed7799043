"""The Einsums of one transformer block, and the crossbar arrays a linear layer occupies.

Each Einsum is bound to the path that executes it.

Paths (HyFlexPIM, Song et al., ISCA 2025): linear layers on the analog crossbars (``analog``;
``digital`` for a digital-PIM-only design), Q.K^T and S.V on the digital PIM arrays
(``digital``), softmax / layer norm / GELU on the special function unit (``sfu``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.workloads.shapes import ModelShape

Path = Literal["analog", "digital", "sfu"]


@dataclass(frozen=True)
class LayerEinsum:
    """One Einsum of a transformer block.

    ``dims`` are the rank sizes: linear ``Y[m,n] = sum_k X[m,k] W[k,n]`` has M (tokens), K (in
    features), N (out features); attention ``C[b,h,m,j] = sum_k A[b,h,m,k] B[b,h,j,k]`` has B,
    H, M, J, K; SFU ops have ``elements`` (values the function is applied to).
    """

    name: str
    path: Path
    category: Literal["linear", "attention", "sfu"]
    einsum: str
    dims: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of this Einsum (count; 0 for SFU work)."""
        if self.path == "sfu":
            return 0
        n = 1
        for v in self.dims.values():
            n *= v
        return n


MAX_SEQ_LEN = 1_048_576
"""Largest sequence length N accepted [tokens] (2^20): above the context window of every
supported model family (Llama 3.2: 131072), and far beyond the N^2 attention this model is
meant for; a larger N is a typo (``--seq-len 1e12``), not a workload."""


def check_seq_len(value, option: str = "--seq-len") -> int:
    """``value`` as a sequence length (1 .. MAX_SEQ_LEN), else an error naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEQ_LEN:
        raise HyflexInputError(option, "seq_len", f"expected an integer from 1 to {MAX_SEQ_LEN:,} "
                               f"(2^20 tokens), got {value!r}")
    return value


def layer_einsums(shape: ModelShape, seq_len: int, batch: int = 1,
                  linear_path: Literal["analog", "digital"] = "analog") -> list[LayerEinsum]:
    """Every Einsum of one block of ``shape`` at sequence length ``seq_len``, in execution order."""
    check_seq_len(seq_len)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise HyflexInputError("--batch", "batch", f"expected a positive integer, got {batch!r}")
    tokens = seq_len * batch
    h, d = shape.num_heads, shape.head_dim
    lin = "Y[m,n] = X[m,k] * W[k,n]"
    att = "C[b,h,m,j] = A[b,h,m,k] * B[b,h,j,k]"
    out = [LayerEinsum(name, linear_path, "linear", lin, {"M": tokens, "K": k, "N": n})
           for name, k, n in shape.linear_matrices()]
    # grouped-query attention: K/V are shared by a group, but every query head has its own scores
    out.append(LayerEinsum("qk", "digital", "attention", att,
                           {"B": batch, "H": h, "M": seq_len, "J": seq_len, "K": d}))
    out.append(LayerEinsum("sv", "digital", "attention", att,
                           {"B": batch, "H": h, "M": seq_len, "J": d, "K": seq_len}))
    out.append(LayerEinsum("softmax", "sfu", "sfu", "S[b,h,m,j] = softmax_j(C[b,h,m,j])",
                           {"elements": batch * h * seq_len * seq_len}))
    out.append(LayerEinsum("layernorm", "sfu", "sfu", "Z[m,c] = layernorm_c(X[m,c]) (x2)",
                           {"elements": 2 * tokens * shape.hidden_size}))
    out.append(LayerEinsum("gelu", "sfu", "sfu", "Z[m,f] = act(Y[m,f])",
                           {"elements": tokens * shape.intermediate_size}))
    order = {n: i for i, n in enumerate(
        ["q", "k", "v", "qk", "softmax", "sv", "attn_out", "layernorm", "ffn1", "ffn_gate",
         "gelu", "ffn2"])}
    return sorted(out, key=lambda e: order[e.name])


def count_arrays(in_features: int, out_features: int, rows: int, columns: int,
                 bits_per_cell: int, weight_bits: int = 8) -> int:
    """Crossbar arrays holding an in x out weight matrix, whole arrays.

    Each weight takes ``weight_bits / bits_per_cell`` adjacent columns (INT8: 8 in SLC, 4 in
    MLC), so an array holds ``rows`` inputs x ``columns // (weight_bits / bits_per_cell)``
    outputs: arrays = ceil(in / rows) x ceil(out / weights per row).
    """
    if in_features <= 0 or out_features <= 0:
        return 0
    if weight_bits % bits_per_cell:
        raise HyflexInputError("bits_per_cell", None,
                               f"weight_bits {weight_bits} must be a multiple of {bits_per_cell}")
    weights_per_row = columns // (weight_bits // bits_per_cell)
    if weights_per_row < 1:
        raise HyflexInputError("columns", None,
                               f"an array of {columns} columns cannot hold one {weight_bits}-bit "
                               f"weight at {bits_per_cell} bit(s) per cell")
    return -(-in_features // rows) * -(-out_features // weights_per_row)
