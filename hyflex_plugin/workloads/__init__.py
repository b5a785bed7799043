"""Transformer workloads: shapes (presets, HF config.json), per-layer Einsums, array counting."""

from hyflex_plugin.workloads.einsums import LayerEinsum, count_arrays, layer_einsums
from hyflex_plugin.workloads.hf_config import (
           FAMILIES,
           default_seq_len,
           shape_from_hf_config,
)
from hyflex_plugin.workloads.shapes import PRESETS, ModelShape, load_model_shape

__all__ = ["FAMILIES", "PRESETS", "LayerEinsum", "ModelShape", "count_arrays", "default_seq_len",
           "layer_einsums", "load_model_shape", "shape_from_hf_config"]
