"""Transformer workloads: shapes (presets, HF config.json) and per-layer matrices."""

from hyflex_plugin.workloads.shapes import (
    PRESETS,
    ModelShape,
    load_model_shape,
    shape_from_hf_config,
)

__all__ = ["PRESETS", "ModelShape", "load_model_shape", "shape_from_hf_config"]
