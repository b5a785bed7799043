"""Transformer shapes: presets, Hugging Face ``config.json`` files, and the per-layer matrices.

A transformer block here has, for sequence length N and batch B (tokens T = N * B):

- linear layers (analog path): Q, K, V (K/V with ``num_kv_heads * head_dim`` outputs for
  grouped-query attention), attention output, FFN up (``ffn1``), FFN down (``ffn2``), and for
  gated FFNs (Llama) a gate projection (``ffn_gate``);
- attention (digital path): Q.K^T and S.V per head (per KV group for GQA, every query head
  still needs its own N x N scores);
- special functions (SFU): softmax over every score, two layer norms, GELU/SiLU on the FFN.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.errors import HyflexInputError


class ModelShape(StrictModel):
    """Shape of a transformer (encoder or decoder stack)."""

    name: str
    """Model name (text)."""

    n_layers: int = Field(ge=1)
    """Transformer blocks (count)."""

    hidden_size: int = Field(ge=1)
    """Model width [features]."""

    num_heads: int = Field(ge=1)
    """Attention (query) heads (count)."""

    num_kv_heads: int | None = Field(default=None, ge=1)
    """Key/value heads for grouped-query attention (count; null = ``num_heads``)."""

    intermediate_size: int = Field(ge=1)
    """Width of the feed-forward hidden layer [features]."""

    gated_ffn: bool = False
    """True = Llama-style FFN with a gate projection (``ffn_gate``)."""

    @model_validator(mode="after")
    def _check(self) -> "ModelShape":
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.num_kv_heads is not None and self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads {self.num_heads} is not divisible by "
                             f"num_kv_heads {self.num_kv_heads}")
        return self

    @property
    def head_dim(self) -> int:
        """Features per attention head."""
        return self.hidden_size // self.num_heads

    @property
    def kv_heads(self) -> int:
        """Key/value heads (count; ``num_heads`` without grouped-query attention)."""
        return self.num_kv_heads or self.num_heads

    def linear_matrices(self) -> list[tuple[str, int, int]]:
        """(name, in_features, out_features) of every linear layer of one block."""
        kv_out = self.kv_heads * self.head_dim
        h, f = self.hidden_size, self.intermediate_size
        mats = [("q", h, h), ("k", h, kv_out), ("v", h, kv_out), ("attn_out", h, h), ("ffn1", h, f)]
        if self.gated_ffn:
            mats.append(("ffn_gate", h, f))
        mats.append(("ffn2", f, h))
        return mats

    def weights_per_layer(self) -> int:
        """Weights of the linear layers of one block (count)."""
        return sum(i * o for _, i, o in self.linear_matrices())

    def macs_per_layer(self, seq_len: int, batch: int = 1) -> dict[str, int]:
        """Multiply-accumulates of one block: linear (analog) and attention (digital)."""
        tokens = seq_len * batch
        linear = tokens * self.weights_per_layer()
        attention = 2 * batch * self.num_heads * seq_len * seq_len * self.head_dim
        return {"linear": linear, "attention": attention}


PRESETS: dict[str, ModelShape] = {
    # BERT: Devlin et al., NAACL 2019; GPT-2 small: Radford et al. 2019; ViT-Base: Dosovitskiy
    # et al., ICLR 2021; Llama-3.2-1B: Meta model card (16 layers, hidden 2048, 32 heads,
    # 8 KV heads, FFN 8192, SwiGLU).
    "bert-base": ModelShape(name="bert-base", n_layers=12, hidden_size=768, num_heads=12,
                            intermediate_size=3072),
    "bert-large": ModelShape(name="bert-large", n_layers=24, hidden_size=1024, num_heads=16,
                             intermediate_size=4096),
    "gpt2": ModelShape(name="gpt2", n_layers=12, hidden_size=768, num_heads=12,
                       intermediate_size=3072),
    "llama-3.2-1b": ModelShape(name="llama-3.2-1b", n_layers=16, hidden_size=2048, num_heads=32,
                               num_kv_heads=8, intermediate_size=8192, gated_ffn=True),
    "vit-base": ModelShape(name="vit-base", n_layers=12, hidden_size=768, num_heads=12,
                           intermediate_size=3072),
}

def load_model_shape(model: str | Path | ModelShape) -> ModelShape:
    """A preset name, a path to a ``config.json`` (or a folder holding one), or a ModelShape."""
    if isinstance(model, ModelShape):
        return model
    key = str(model)
    if key.lower() in PRESETS:
        return PRESETS[key.lower()]
    p = Path(key)
    from hyflex_plugin.workloads.hf_config import shape_from_hf_config

    if p.is_dir() and (p / "config.json").is_file():
        return shape_from_hf_config(p / "config.json")
    if p.suffix == ".json" or p.exists():
        return shape_from_hf_config(p)
    raise HyflexInputError("--model", None,
                           f"unknown model {key!r}: expected a preset ({', '.join(PRESETS)}) "
                           "or a path to a Hugging Face config.json")
