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

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_yaml, load_model_yaml

SCHEMA_VERSION = 1

#: Canonical matrix names inside one transformer block. ``ffn_gate`` exists only in gated
#: (Llama-style) feed-forward blocks; ``ffn1`` is the up projection, ``ffn2`` the down projection.
MatrixName = Literal["q", "k", "v", "attn_out", "ffn1", "ffn2", "ffn_gate"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportanceSummary(_Strict):
    """Summary of the per-rank importance |dL/dsigma_i| of one matrix (dimensionless)."""

    total: float = Field(ge=0)
    max: float = Field(ge=0)
    mean: float = Field(ge=0)
    slc_share: float = Field(ge=0, le=1, description="share of total importance held by SLC ranks")


class MatrixPartition(_Strict):
    name: MatrixName
    shape: tuple[int, int] = Field(description="(out_features, in_features) of the dense weight")
    decomposition: Literal["svd", "dense"] = "svd"
    rank: int | None = Field(default=None, ge=1, description="SVD rank r (svd only)")
    slc_ranks: list[int] = Field(default_factory=list, description="rank indices stored in SLC")
    slc_weight_fraction: float | None = Field(
        default=None, ge=0, le=1, description="share of weights in SLC (dense only)"
    )
    importance: ImportanceSummary | None = None

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
        slc, mlc = self.weight_counts()
        return slc / (slc + mlc) if slc + mlc else 0.0


class LayerPartition(_Strict):
    index: int = Field(ge=0, description="transformer block index, 0-based")
    matrices: list[MatrixPartition]

    def matrix(self, name: str) -> MatrixPartition | None:
        return next((m for m in self.matrices if m.name == name), None)


class ModelInfo(_Strict):
    name: str
    source: str | None = Field(default=None, description="path or preset the model came from")
    n_layers: int = Field(ge=1)
    hidden_size: int = Field(ge=1)
    num_heads: int = Field(ge=1)
    num_kv_heads: int | None = Field(default=None, ge=1)
    intermediate_size: int = Field(ge=1)


class PartitionFile(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    model: ModelInfo
    method: Literal["gradient-redistribution", "brute-force", "uniform"]
    selector: Literal["gradient", "magnitude", "singular-value", "random", "uniform"]
    slc_fraction: float = Field(ge=0, le=1, description="requested SLC share per matrix (0-1)")
    rank_rule: str = Field(default="hard-threshold", description="how the SVD rank was chosen")
    packing: Literal["slc-contiguous"] = Field(
        default="slc-contiguous",
        description="SLC rank components are permuted to the front: whole rows of sigma V^T "
        "and whole columns of U, so SLC and MLC parts occupy separate arrays",
    )
    created_by: str | None = None
    layers: list[LayerPartition]

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
        return load_model_yaml(path, cls)

    def dump(self, path: str | Path) -> Path:
        return atomic_write_yaml(path, self.model_dump(mode="json"))

    # ---- helpers ------------------------------------------------------------------------
    def layer(self, index: int) -> LayerPartition | None:
        return next((layer for layer in self.layers if layer.index == index), None)

    def check_model(
        self, source: str, n_layers: int, hidden_size: int, intermediate_size: int
    ) -> None:
        """Raise if this partition was made for a model of another shape."""
        for field, mine, theirs in (
            ("model.n_layers", self.model.n_layers, n_layers),
            ("model.hidden_size", self.model.hidden_size, hidden_size),
            ("model.intermediate_size", self.model.intermediate_size, intermediate_size),
        ):
            if mine != theirs:
                raise HyflexInputError(
                    source, field,
                    f"partition is for model '{self.model.name}' with {field.split('.')[1]} = "
                    f"{mine}, but the model being evaluated has {theirs}",
                )
