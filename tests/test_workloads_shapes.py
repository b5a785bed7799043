"""Workloads: presets, Hugging Face config.json, per-block Einsums bound to paths, array counts."""

from __future__ import annotations

import json

import pytest

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.workloads import (
    PRESETS,
    ModelShape,
    count_arrays,
    layer_einsums,
    load_model_shape,
)

SMALL = ModelShape(name="tiny", n_layers=2, hidden_size=64, num_heads=2, intermediate_size=128)


def test_presets():
    assert set(PRESETS) == {"bert-base", "bert-large", "gpt2", "llama-3.2-1b", "vit-base"}
    assert load_model_shape("bert-large").weights_per_layer() == 12 * 1024 * 1024
    assert load_model_shape("BERT-BASE").weights_per_layer() == 12 * 768 * 768
    llama = load_model_shape("llama-3.2-1b")
    mats = {n: (i, o) for n, i, o in llama.linear_matrices()}
    assert mats["k"] == mats["v"] == (2048, 512)  # 8 KV heads x 64
    assert mats["ffn_gate"] == mats["ffn1"] == (2048, 8192) and mats["ffn2"] == (8192, 2048)


def test_layer_einsums_bind_every_op_to_its_path():
    es = {e.name: e for e in layer_einsums(SMALL, seq_len=16, batch=2)}
    assert [n for n, e in es.items() if e.path == "analog"] == ["q", "k", "v", "attn_out", "ffn1", "ffn2"]
    assert {n for n, e in es.items() if e.path == "digital"} == {"qk", "sv"}
    assert {n for n, e in es.items() if e.path == "sfu"} == {"softmax", "layernorm", "gelu"}
    assert es["ffn1"].dims == {"M": 32, "K": 64, "N": 128}
    assert es["qk"].dims == {"B": 2, "H": 2, "M": 16, "J": 16, "K": 32}
    assert es["sv"].dims == {"B": 2, "H": 2, "M": 16, "J": 32, "K": 16}
    assert es["softmax"].dims["elements"] == 2 * 2 * 16 * 16
    macs = SMALL.macs_per_layer(16, batch=2)
    assert sum(e.macs for e in es.values() if e.category == "linear") == macs["linear"]
    assert es["qk"].macs + es["sv"].macs == macs["attention"]
    digital = layer_einsums(SMALL, 16, linear_path="digital")
    assert {e.path for e in digital if e.category == "linear"} == {"digital"}


def test_gqa_scores_per_query_head():
    llama = load_model_shape("llama-3.2-1b")
    qk = next(e for e in layer_einsums(llama, 8) if e.name == "qk")
    assert qk.dims["H"] == 32 and qk.dims["K"] == 64


def test_count_arrays_8_columns_per_weight_in_slc_4_in_mlc():
    # 64x128 arrays: SLC holds 16 INT8 weights per row, MLC 32
    assert count_arrays(64, 16, 64, 128, bits_per_cell=1) == 1
    assert count_arrays(64, 17, 64, 128, bits_per_cell=1) == 2
    assert count_arrays(64, 32, 64, 128, bits_per_cell=2) == 1
    assert count_arrays(768, 768, 64, 128, bits_per_cell=1) == 12 * 48
    assert count_arrays(768, 768, 64, 128, bits_per_cell=2) == 12 * 24
    assert count_arrays(64, 0, 64, 128, bits_per_cell=2) == 0
    with pytest.raises(HyflexInputError, match="columns"):
        count_arrays(64, 64, 64, 4, bits_per_cell=1)


def test_hf_config_json_is_read(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2, "hidden_size": 64,
                               "num_attention_heads": 2, "intermediate_size": 128}))
    shape = load_model_shape(cfg)
    assert (shape.n_layers, shape.hidden_size, shape.intermediate_size) == (2, 64, 128)
    assert load_model_shape(tmp_path) == shape  # a folder holding config.json
    gpt = tmp_path / "gpt" / "config.json"
    gpt.parent.mkdir()
    gpt.write_text(json.dumps({"model_type": "gpt2", "n_layer": 3, "n_embd": 96, "n_head": 4,
                               "n_inner": None}))
    g = load_model_shape(gpt)
    assert (g.n_layers, g.hidden_size, g.num_heads, g.intermediate_size) == (3, 96, 4, 384)
    llama = tmp_path / "llama.json"
    llama.write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 1, "hidden_size": 128,
                                 "num_attention_heads": 4, "num_key_value_heads": 2,
                                 "intermediate_size": 256, "hidden_act": "silu"}))
    ll = load_model_shape(llama)
    assert ll.gated_ffn and ll.kv_heads == 2


def test_bad_model_inputs_are_named(tmp_path):
    with pytest.raises(HyflexInputError, match="unknown model 'bert-huge'.*bert-base"):
        load_model_shape("bert-huge")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"hidden_size": 64, "num_attention_heads": 2}))
    with pytest.raises(HyflexInputError) as e:
        load_model_shape(cfg)
    assert str(cfg) in str(e.value) and "n_layers" in str(e.value)
    assert "num_hidden_layers" in str(e.value)
    cfg.write_text(json.dumps({"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 3,
                               "intermediate_size": 128}))
    with pytest.raises(HyflexInputError, match="not divisible by num_attention_heads 3"):
        load_model_shape(cfg)
    cfg.write_text("{not json")
    with pytest.raises(HyflexInputError, match="not valid JSON"):
        load_model_shape(cfg)
    with pytest.raises(HyflexInputError, match="seq_len.*integer from 1 to 1,048,576"):
        layer_einsums(SMALL, 0)
