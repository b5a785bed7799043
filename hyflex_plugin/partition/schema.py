"""The partition file: which rank components of which matrix go to SLC and which to MLC.

Versioned, validated schema (pydantic), YAML in and YAML out. Written by
``hyflex partition`` (gradient redistribution), read by ``hyflex evaluate --partition``.
See ``docs/partition-file.md`` for the format and how SLC components are packed into arrays.

Shapes follow PyTorch's ``nn.Linear`` convention: a dense weight W is (out_features, in_features).
After the SVD W = U diag(sigma) V^T with rank r, the hardware stores two matrices: ``sigma V^T``
(r x in) and ``U`` (out x r). Rank component i is column i of U together with row i of sigma V^T.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_yaml, load_model_yaml

SCHEMA_VERSION = 1

#: Canonical matrix names inside one transformer block. ``ffn_gate`` exists only in gated
#: (Llama-style) feed-forward blocks; ``ffn1`` is the up projection, ``ffn2`` the down projection.
MatrixName = Literal["q", "k", "v", "attn_out", "ffn1", "ffn2", "ffn_gate"]


class ImportanceSummary(StrictModel):
    """Summary of the per-rank importance |dL/dsigma_i| of one matrix (dimensionless)."""

    total: float = Field(ge=0)
    """Sum of |dL/dsigma_i| over the matrix's rank components (dimensionless)."""

    max: float = Field(ge=0)
    """Largest |dL/dsigma_i| (dimensionless)."""

    mean: float = Field(ge=0)
    """Mean |dL/dsigma_i| (dimensionless)."""

    slc_share: float = Field(ge=0, le=1)
    """Share of ``total`` held by the SLC rank components (fraction 0-1)."""


class MatrixPartition(StrictModel):
    """How one weight matrix is split between SLC and MLC arrays."""

    name: MatrixName
    """Which matrix of the block (q, k, v, attn_out, ffn1, ffn2, ffn_gate)."""

    shape: tuple[int, int]
    """(out_features, in_features) of the dense weight [weights]."""

    decomposition: Literal["svd", "dense"] = "svd"
    """``svd``: stored as sigma V^T and U; ``dense``: stored as W."""

    rank: int | None = Field(default=None, ge=1)
    """SVD rank r [rank components] (svd only)."""

    slc_ranks: list[int] = Field(default_factory=list)
    """Indices (0-based) of the rank components stored in SLC (svd only)."""

    slc_weight_fraction: float | None = Field(default=None, ge=0, le=1)
    """Share of the weights stored in SLC (fraction 0-1; dense only)."""

    importance: ImportanceSummary | None = None
    """Summary of the rank components' importance (null = not measured)."""

    @model_validator(mode="after")
    def _check(self) -> "MatrixPartition":
        out_f, in_f = self.shape
        if out_f < 1 or in_f < 1:
            raise ValueError(f"shape must be two positive integers, got {self.shape}")
        if self.decomposition == "svd":
            if self.rank is None:
                raise ValueError("rank is required when decomposition is 'svd'")
            if self.rank > min(out_f, in_f):
                raise ValueError(f"rank {self.rank} exceeds min(shape) = {min(out_f, in_f)}")
            if len(set(self.slc_ranks)) != len(self.slc_ranks):
                raise ValueError("slc_ranks contains duplicates")
            bad = [i for i in self.slc_ranks if not 0 <= i < self.rank]
            if bad:
                raise ValueError(f"slc_ranks must lie in [0, {self.rank - 1}], got {bad[:5]}")
        else:
            if self.slc_weight_fraction is None:
                raise ValueError("slc_weight_fraction is required when decomposition is 'dense'")
            if self.slc_ranks:
                raise ValueError("slc_ranks is only meaningful for decomposition 'svd'")
        return self

    @property
    def n_slc_ranks(self) -> int:
        """Rank components stored in SLC (count)."""
        return len(self.slc_ranks)

    def weight_counts(self) -> tuple[int, int]:
        """(SLC weights, MLC weights) that the hardware stores for this matrix."""
        out_f, in_f = self.shape
        if self.decomposition == "svd":
            per_rank = out_f + in_f  # column of U + row of sigma V^T
            return self.n_slc_ranks * per_rank, (self.rank - self.n_slc_ranks) * per_rank
        total = out_f * in_f
        slc = int(round(self.slc_weight_fraction * total))
        return slc, total - slc

    @property
    def slc_fraction(self) -> float:
        """Share of this matrix's stored weights in SLC (fraction 0-1)."""
        slc, mlc = self.weight_counts()
        return slc / (slc + mlc) if slc + mlc else 0.0


class LayerPartition(StrictModel):
    """The partitions of the matrices of one transformer block."""

    index: int = Field(ge=0)
    """Transformer block index (0-based)."""

    matrices: list[MatrixPartition]
    """One entry per matrix of the block."""

    def matrix(self, name: str) -> MatrixPartition | None:
        """The partition of matrix ``name`` in this block, or None."""
        return next((m for m in self.matrices if m.name == name), None)


class ModelInfo(StrictModel):
    """The transformer the partition was made for (checked against the evaluated model)."""

    name: str
    """Model name (text)."""

    source: str | None = None
    """Path or preset the model came from (text)."""

    n_layers: int = Field(ge=1)
    """Transformer blocks (count)."""

    hidden_size: int = Field(ge=1)
    """Model width [features]."""

    num_heads: int = Field(ge=1)
    """Attention heads (count)."""

    num_kv_heads: int | None = Field(default=None, ge=1)
    """Key/value heads for grouped-query attention (count; null = ``num_heads``)."""

    intermediate_size: int = Field(ge=1)
    """Width of the feed-forward hidden layer [features]."""


class PartitionFile(StrictModel):
    """A partition file: which rank components of every matrix go to SLC."""

    schema_version: Literal[1] = SCHEMA_VERSION
    """Version of this file format (only 1 exists)."""

    model: ModelInfo
    """The model the partition was made for."""

    method: Literal["gradient-redistribution", "brute-force", "uniform"]
    """How the partition was made."""

    selector: Literal["gradient", "magnitude", "singular-value", "random", "uniform"]
    """Which score chose the SLC rank components."""

    slc_fraction: float = Field(ge=0, le=1)
    """Requested SLC share per matrix (fraction 0-1)."""

    rank_rule: str = "hard-threshold"
    """How the SVD rank was chosen (text)."""

    packing: Literal["slc-contiguous"] = "slc-contiguous"
    """SLC rank components are permuted to the front: whole rows of sigma V^T and whole
    columns of U, so SLC and MLC parts occupy separate arrays."""

    created_by: str | None = None
    """Program and version that wrote the file (text)."""

    layers: list[LayerPartition]
    """One entry per transformer block."""

    @model_validator(mode="after")
    def _check_layers(self) -> "PartitionFile":
        idx = [layer.index for layer in self.layers]
        if len(set(idx)) != len(idx):
            raise ValueError("layers: duplicate layer index")
        if any(i >= self.model.n_layers for i in idx):
            raise ValueError(f"layers: index beyond model.n_layers = {self.model.n_layers}")
        return self

    # ---- YAML in / YAML out ------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "PartitionFile":
        """Read and validate a partition file (errors name the file and field)."""
        return load_model_yaml(path, cls)

    def dump(self, path: str | Path) -> Path:
        """Write this partition to ``path`` as YAML, atomically."""
        return atomic_write_yaml(path, self.model_dump(mode="json"))

    # ---- helpers ------------------------------------------------------------------------
    def layer(self, index: int) -> LayerPartition | None:
        """The partition of block ``index``, or None if the file does not list it."""
        return next((layer for layer in self.layers if layer.index == index), None)

    def check_model(self, source: str, shape) -> None:
        """Raise unless this partition fits ``shape`` (a ModelShape) exactly.

        Same dimensions, one entry per layer of the model, and in each layer exactly the model's
        matrices (``ffn_gate`` only for a gated FFN) with their (out_features, in_features).
        The error says what differs.
        """
        for field, mine, theirs in (
            ("model.n_layers", self.model.n_layers, shape.n_layers),
            ("model.hidden_size", self.model.hidden_size, shape.hidden_size),
            ("model.intermediate_size", self.model.intermediate_size, shape.intermediate_size),
        ):
            if mine != theirs:
                raise HyflexInputError(
                    source, field,
                    f"partition is for model '{self.model.name}' with {field.split('.')[1]} = "
                    f"{mine}, but the model being evaluated has {theirs}",
                )
        missing = sorted(set(range(shape.n_layers)) - {layer.index for layer in self.layers})
        if missing:
            shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
            raise HyflexInputError(source, "layers",
                                   f"no entry for {len(missing)} of the {shape.n_layers} layers "
                                   f"of model '{shape.name}' (index {shown}): expected one entry "
                                   "per layer")
        expected = {name: (n, k) for name, k, n in shape.linear_matrices()}
        for layer in self.layers:
            names = [m.name for m in layer.matrices]
            where = f"layers[{layer.index}].matrices"
            for name in names:
                if name not in expected:
                    why = " (its FFN is not gated)" if name == "ffn_gate" else ""
                    raise HyflexInputError(source, f"{where}.{name}",
                                           f"model '{shape.name}' has no matrix {name!r}{why}: "
                                           f"expected exactly {list(expected)}")
                if names.count(name) > 1:
                    raise HyflexInputError(source, f"{where}.{name}", "listed twice: expected "
                                           "each matrix once")
            lacking = [name for name in expected if name not in names]
            if lacking:
                raise HyflexInputError(source, where, f"missing {lacking}: expected exactly "
                                       f"{list(expected)} for model '{shape.name}'")
            for m in layer.matrices:
                if tuple(m.shape) != expected[m.name]:
                    raise HyflexInputError(
                        source, f"{where}.{m.name}.shape",
                        f"expected (out_features, in_features) = {expected[m.name]} for this "
                        f"model, got {tuple(m.shape)}")
