"""Issue 11 section 2: config.json files as the Hub has them (tests/data/hf_configs/README.md
names each file's Hub model id), errors in the file's own keys, ViT token counts, display names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.workloads import PRESETS, default_seq_len, load_model_shape

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "tests" / "data" / "hf_configs"

# (folder, layers, hidden, heads, kv heads, FFN, gated): the published architectures
EXPECTED = [
    ("bert-base-uncased", 12, 768, 12, 12, 3072, False),
    ("roberta-base", 12, 768, 12, 12, 3072, False),
    ("distilbert-base-uncased", 6, 768, 12, 12, 3072, False),
    ("gpt2", 12, 768, 12, 12, 3072, False),  # n_inner absent: 4 x n_embd
    ("Llama-3.2-1B", 16, 2048, 32, 8, 8192, True),
    ("Qwen2-0.5B", 24, 896, 14, 2, 4864, True),
    ("Mistral-7B-v0.1", 32, 4096, 32, 8, 14336, True),
    ("vit-base-patch16-224", 12, 768, 12, 12, 3072, False),
    ("t5-small", 6, 512, 8, 8, 2048, False),
]


@pytest.mark.parametrize("folder,layers,hidden,heads,kv,ffn,gated", EXPECTED)
def test_hub_configs_are_read(folder, layers, hidden, heads, kv, ffn, gated):
    s = load_model_shape(HUB / folder)
    assert (s.n_layers, s.hidden_size, s.num_heads, s.kv_heads, s.intermediate_size,
            s.gated_ffn) == (layers, hidden, heads, kv, ffn, gated)
    mats = {n: (i, o) for n, i, o in s.linear_matrices()}
    assert mats["k"] == (hidden, kv * hidden // heads)
    assert ("ffn_gate" in mats) == gated


def test_hub_configs_match_the_presets():
    for preset, folder in (("bert-base", "bert-base-uncased"), ("gpt2", "gpt2"),
                           ("llama-3.2-1b", "Llama-3.2-1B"), ("vit-base", "vit-base-patch16-224")):
        got = load_model_shape(HUB / folder).model_dump(exclude={"name"})
        want = PRESETS[preset].model_dump(exclude={"name"})
        assert {k: v for k, v in got.items() if k != "num_kv_heads"} == \
            {k: v for k, v in want.items() if k != "num_kv_heads"}


def test_display_names():
    assert load_model_shape(HUB / "vit-base-patch16-224").name == "google/vit-base-patch16-224"
    assert load_model_shape(HUB / "distilbert-base-uncased").name == "distilbert-base-uncased"
    assert load_model_shape(HUB / "gpt2" / "config.json").name == "gpt2"


def test_errors_name_the_files_own_key(tmp_path):
    cfg = json.loads((HUB / "distilbert-base-uncased" / "config.json").read_text())
    f = tmp_path / "distil.json"
    f.write_text(json.dumps({k: v for k, v in cfg.items() if k != "n_layers"}))
    with pytest.raises(HyflexInputError) as e:
        load_model_shape(f)
    assert e.value.field == "n_layers" and "DistilBERT" in e.value.message
    f.write_text(json.dumps({**cfg, "n_heads": 7}))
    with pytest.raises(HyflexInputError) as e:
        load_model_shape(f)
    assert e.value.field == "n_heads" and "dim 768 is not divisible by n_heads 7" in e.value.message
    f.write_text(json.dumps({**cfg, "dim": 76.8}))
    with pytest.raises(HyflexInputError) as e:
        load_model_shape(f)
    assert e.value.field == "dim" and "76.8" in e.value.message
    gpt = json.loads((HUB / "gpt2" / "config.json").read_text())
    f.write_text(json.dumps({k: v for k, v in gpt.items() if k != "n_embd"}))
    with pytest.raises(HyflexInputError) as e:
        load_model_shape(f)
    assert e.value.field == "n_embd"
    with pytest.raises(HyflexInputError) as e:  # 6 heads x d_kv 64 != d_model 512
        load_model_shape(HUB / "flan-t5-small")
    assert e.value.field == "d_kv" and "d_model / num_heads = 85.3333" in e.value.message
    assert "got 64" in e.value.message
    ll = json.loads((HUB / "Llama-3.2-1B" / "config.json").read_text())
    f.write_text(json.dumps({**ll, "num_key_value_heads": 5}))
    with pytest.raises(HyflexInputError) as e:
        load_model_shape(f)
    assert e.value.field == "num_key_value_heads"
    f.write_bytes(b'{"model_type": "bert", "hidden_size": 768, "x": "\xff"}')
    with pytest.raises(HyflexInputError, match="not UTF-8 text"):
        load_model_shape(f)


def test_gqa_default_and_t5_gating(tmp_path):
    ll = json.loads((HUB / "Llama-3.2-1B" / "config.json").read_text())
    del ll["num_key_value_heads"]  # LlamaConfig: absent = num_attention_heads
    (tmp_path / "config.json").write_text(json.dumps(ll))
    assert load_model_shape(tmp_path).kv_heads == 32
    t5 = json.loads((HUB / "t5-small" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**t5, "feed_forward_proj": "gated-gelu"}))
    assert load_model_shape(tmp_path).gated_ffn


def test_vit_token_count(tmp_path):
    n, note = default_seq_len(HUB / "vit-base-patch16-224")
    assert n == 14 * 14 + 1 and "196 patches" in note and "class token" in note
    assert default_seq_len(HUB / "bert-base-uncased") is None
    assert default_seq_len("vit-base") is None  # presets leave N to the user
    vit = json.loads((HUB / "vit-base-patch16-224" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**vit, "patch_size": 15}))
    with pytest.raises(HyflexInputError) as e:
        default_seq_len(tmp_path)
    assert e.value.field == "image_size"


def _hyflex(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hyflex_plugin", *args], capture_output=True, check=False,
                          text=True, cwd=cwd, env=env)


def test_cli_vit_derives_and_states_n(tmp_path):
    # a one-block ViT as the Hub writes it, small enough to evaluate on AccelForge quickly
    vit = json.loads((HUB / "vit-base-patch16-224" / "config.json").read_text())
    vit.update(hidden_size=64, num_attention_heads=2, intermediate_size=128, num_hidden_layers=1,
               image_size=32, patch_size=8)
    (tmp_path / "config.json").write_text(json.dumps(vit))
    out = _hyflex("evaluate", "--model", "config.json", "--json", "r.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "N = 17 tokens: 16 patches of 8x8 from a 32x32 image + 1 class token" in out.stdout
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["seq_len"] == 17 and r["energy_j"] > 0
    out = _hyflex("evaluate", "--model", "config.json", "--seq-len", "16", "--json", "-", cwd=tmp_path)
    assert out.returncode == 0 and json.loads(out.stdout)["seq_len"] == 16
    assert "class token" not in out.stdout + out.stderr


def test_compare_refuses_two_models_with_one_name(tmp_path):
    cfg = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 1,
           "num_attention_heads": 2, "intermediate_size": 128}
    for d in ("a", "b"):
        (tmp_path / d / "tiny").mkdir(parents=True)
        (tmp_path / d / "tiny" / "config.json").write_text(json.dumps(cfg))
    out = _hyflex("compare", "--model", "a/tiny", "--model", "b/tiny", "--seq-len", "16",
                  "--out", "rep", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "both named 'tiny'" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "rep").exists()
