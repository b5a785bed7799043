"""Hugging Face ``config.json`` files as the Hub has them, read into a :class:`ModelShape`.

Each model family names the same quantities differently; the table :data:`FAMILIES` maps the
shape's fields to the keys of each family's ``config.json`` (``model_type`` picks the family).
Errors name the file's own key (``dim`` in a DistilBERT file, ``n_embd`` in a GPT-2 file), never
a field of :class:`ModelShape`. Nothing is downloaded: the file must be on disk.

Defaults taken from the Hugging Face configuration classes (transformers' documentation):
GPT-2's ``n_inner`` null means 4 x ``n_embd``; Llama/Qwen2/Mistral's ``num_key_value_heads``
absent or null means ``num_attention_heads`` (no grouped-query attention). ViT's token count is
``(image_size / patch_size)^2`` patches plus one class token (Dosovitskiy et al., ICLR 2021).
T5: the encoder stack only (``num_layers``; ``num_decoder_layers`` is not modelled).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.workloads.shapes import ModelShape

__all__ = ["FAMILIES", "default_seq_len", "read_hf_config", "shape_from_hf_config"]

# The ModelShape fields read from a file, in the order they are checked.
_FIELDS = ("n_layers", "hidden_size", "num_heads", "num_kv_heads", "intermediate_size")


@dataclass(frozen=True)
class Family:
    """How one model family's ``config.json`` names the shape (field -> the file's key)."""

    label: str
    keys: dict[str, str]
    gated: bool | None = False
    """True: gated FFN (gate projection); None: from T5's ``feed_forward_proj`` (``gated-*``)."""
    optional: tuple[str, ...] = field(default=())
    """Fields whose key may be absent or null (then the family's default applies)."""


_BERT = {"n_layers": "num_hidden_layers", "hidden_size": "hidden_size",
         "num_heads": "num_attention_heads", "intermediate_size": "intermediate_size"}
_LLAMA = {**_BERT, "num_kv_heads": "num_key_value_heads"}

FAMILIES: dict[str, Family] = {
    "bert": Family("BERT", _BERT),
    "roberta": Family("RoBERTa", _BERT),
    "xlm-roberta": Family("XLM-RoBERTa", _BERT),
    "distilbert": Family("DistilBERT", {"n_layers": "n_layers", "hidden_size": "dim",
                                        "num_heads": "n_heads", "intermediate_size": "hidden_dim"}),
    "gpt2": Family("GPT-2", {"n_layers": "n_layer", "hidden_size": "n_embd", "num_heads": "n_head",
                             "intermediate_size": "n_inner"}, optional=("intermediate_size",)),
    "llama": Family("Llama", _LLAMA, gated=True, optional=("num_kv_heads",)),
    "qwen2": Family("Qwen2", _LLAMA, gated=True, optional=("num_kv_heads",)),
    "mistral": Family("Mistral", _LLAMA, gated=True, optional=("num_kv_heads",)),
    "vit": Family("ViT", _BERT),
    "t5": Family("T5 encoder", {"n_layers": "num_layers", "hidden_size": "d_model",
                                "num_heads": "num_heads", "intermediate_size": "d_ff"}, gated=None),
}

# A config.json without a known model_type: the keys tried per field, in order.
_ANY_KEYS = {
    "n_layers": ["num_hidden_layers", "n_layer", "n_layers", "num_layers"],
    "hidden_size": ["hidden_size", "n_embd", "dim", "d_model"],
    "num_heads": ["num_attention_heads", "n_head", "n_heads", "num_heads"],
    "num_kv_heads": ["num_key_value_heads"],
    "intermediate_size": ["intermediate_size", "n_inner", "hidden_dim", "ffn_dim", "d_ff"],
}


def read_hf_config(path: str | Path) -> dict:
    """Return the JSON object in ``path``; errors name the file (missing, not UTF-8, not JSON)."""
    from hyflex_plugin.io import read_text

    path = Path(path)
    if not path.exists():
        raise HyflexInputError(str(path), None, "config.json not found")
    try:
        cfg = json.loads(read_text(path, "a Hugging Face config.json"))
    except json.JSONDecodeError as exc:
        raise HyflexInputError(str(path), None, f"not valid JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise HyflexInputError(str(path), None, f"expected a JSON object, got {type(cfg).__name__}")
    return cfg


def _positive_int(path: Path, key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HyflexInputError(str(path), key, f"expected a positive integer, got {value!r}")
    return value


def _display_name(path: Path, cfg: dict) -> str:
    """``_name_or_path``, else the folder of a ``config.json`` or the file's stem."""
    name = cfg.get("_name_or_path")
    if isinstance(name, str) and name.strip():
        return name.strip()
    p = path.resolve()
    if p.name == "config.json" and p.parent.name:
        return p.parent.name
    return p.stem


def shape_from_hf_config(path: str | Path) -> ModelShape:
    """Read a Hugging Face ``config.json`` (a file on disk; nothing is downloaded)."""
    path = Path(path)
    cfg = read_hf_config(path)
    model_type = cfg.get("model_type")
    family = FAMILIES.get(model_type) if isinstance(model_type, str) else None
    values: dict[str, int] = {}
    used: dict[str, str] = {}  # field -> the file's key it came from
    for f in _FIELDS:
        if family is not None:
            candidates = [family.keys[f]] if f in family.keys else []
        else:
            candidates = _ANY_KEYS[f]
        key = next((k for k in candidates if cfg.get(k) is not None), None)
        if key is None:
            if f == "num_kv_heads" or (family is not None and f in family.optional):
                continue
            what = (f"a {family.label} config.json (model_type {model_type!r}) has this key"
                    if family is not None else
                    f"expected one of the keys {candidates}"
                    + (f" (model_type {model_type!r} is not one of the known families "
                       f"{sorted(FAMILIES)})" if model_type else ""))
            raise HyflexInputError(str(path), candidates[0], f"missing: {what}")
        values[f] = _positive_int(path, key, cfg[key])
        used[f] = key
    if family is not None and family.label == "GPT-2" and "intermediate_size" not in values:
        values["intermediate_size"] = 4 * values["hidden_size"]  # GPT2Config: n_inner None = 4 x n_embd
    if "num_kv_heads" not in values and family is not None and "num_kv_heads" in family.keys:
        values["num_kv_heads"] = values["num_heads"]  # no GQA
    h, heads = values["hidden_size"], values["num_heads"]
    for key in ("head_dim", "d_kv"):  # an attention width other than hidden is not modelled
        v = cfg.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v * heads != h):
            raise HyflexInputError(str(path), key,
                                   f"expected {used['hidden_size']} / {used['num_heads']} = "
                                   f"{h / heads:g} (an attention width other than "
                                   f"{used['hidden_size']} is not modelled), got {v!r}")
    if h % heads:
        raise HyflexInputError(str(path), used["num_heads"],
                               f"{used['hidden_size']} {h} is not divisible by "
                               f"{used['num_heads']} {heads}")
    kv = values.get("num_kv_heads")
    if kv is not None and heads % kv:
        raise HyflexInputError(str(path), used["num_kv_heads"],
                               f"{used['num_heads']} {heads} is not divisible by "
                               f"{used['num_kv_heads']} {kv}")
    if family is None:
        gated = cfg.get("hidden_act") == "silu"  # SwiGLU convention of Llama-like decoders
    elif family.gated is None:
        proj = cfg.get("feed_forward_proj", "relu")
        if not isinstance(proj, str):
            raise HyflexInputError(str(path), "feed_forward_proj",
                                   f"expected a text such as 'relu' or 'gated-gelu', got {proj!r}")
        gated = proj.startswith("gated-")
    else:
        gated = family.gated
    name = _display_name(path, cfg)
    return ModelShape(name=name, gated_ffn=gated, **values)


def _vit_tokens(path: Path, cfg: dict) -> tuple[int, str]:
    sizes = {}
    for key in ("image_size", "patch_size"):
        v = cfg.get(key)
        if v is None:
            raise HyflexInputError(str(path), key, "missing: a ViT config.json has this key "
                                   "(the token count is derived from image_size and patch_size)")
        pair = v if isinstance(v, list) else [v, v]
        if len(pair) != 2:
            raise HyflexInputError(str(path), key, f"expected an integer or [height, width], got {v!r}")
        sizes[key] = [_positive_int(path, key, x) for x in pair]
    (ih, iw), (ph, pw) = sizes["image_size"], sizes["patch_size"]
    if ih % ph or iw % pw:
        raise HyflexInputError(str(path), "image_size",
                               f"{ih}x{iw} is not divisible into {ph}x{pw} patches (patch_size)")
    patches = (ih // ph) * (iw // pw)
    return patches + 1, (f"N = {patches + 1} tokens: {patches} patches of {ph}x{pw} from a "
                         f"{ih}x{iw} image + 1 class token (image_size, patch_size in {path}; "
                         "--seq-len overrides)")


def default_seq_len(model) -> tuple[int, str] | None:
    """Return the token count a model's own config fixes (ViT: patches + class token) and a note.

    ``None`` when the model leaves N to the user (text models, presets, ModelShape objects).
    """
    if isinstance(model, ModelShape):
        return None
    p = Path(str(model))
    if p.is_dir() and (p / "config.json").is_file():
        p = p / "config.json"
    if not p.is_file():
        return None
    cfg = read_hf_config(p)
    if cfg.get("model_type") == "vit":
        return _vit_tokens(p, cfg)
    return None
