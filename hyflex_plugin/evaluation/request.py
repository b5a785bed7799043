"""One evaluation request, validated once: what ``evaluate``, ``compare`` and ``export`` run.

Python API::

    from hyflex_plugin.evaluation import EvaluationRequest, evaluate
    req = EvaluationRequest(model="bert-large", seq_len=128, slc_fraction="10%")
    req.design.name, req.model.n_layers, req.slc_fraction      # ('HyFlexPIM', 24, 0.1)
    result = evaluate(req)

Every check of the inputs happens here, in one place: the model is loaded (preset or
``config.json``), the design file is loaded and validated, the partition file is loaded and
checked against the model, sequence length and batch are positive integers, and the SLC share
is parsed by :func:`hyflex_plugin.argtypes.fraction` (``0.1`` or ``"10%"``, as on the command
line). ``slc_share`` is accepted as an alias of ``slc_fraction`` and ``arch`` of ``design``.

After validation the request holds what the evaluation uses, with the design's rules applied:

- a design with a fixed ``slc_fraction`` (all-SLC, all-MLC, ASADI-dagger, ...) uses that share
  and ignores the partition file (``partition`` is then None);
- with a partition file, ``slc_fraction`` is None: matrices the file does not list use the
  file's own ``slc_fraction``;
- otherwise ``slc_fraction`` is the user's share; one of it or a partition file is required.

A bad value raises :class:`~hyflex_plugin.errors.HyflexInputError` naming the command-line option
(``--seq-len``), or the file, and the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from hyflex_plugin.architecture.design import HyflexDesign, load_arch
from hyflex_plugin.argtypes import fraction, positive_int
from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.partition.schema import PartitionFile
from hyflex_plugin.workloads.einsums import check_seq_len
from hyflex_plugin.workloads.shapes import ModelShape, load_model_shape

#: command-line option of each field, named in error messages
OPTIONS = {"model": "--model", "seq_len": "--seq-len", "slc_fraction": "--slc-fraction",
           "partition": "--partition", "design": "--arch", "batch": "--batch",
           "search": "--search", "cache": "--no-cache"}
#: accepted alternative names of fields
ALIASES = {"slc_share": "slc_fraction", "arch": "design"}


class EvaluationRequest(StrictModel):
    """A whole-model evaluation: model, sequence length, SLC share or partition, design, batch."""

    model: ModelShape
    """The transformer (from a preset name, a Hugging Face ``config.json`` or a ModelShape)."""

    seq_len: int
    """Tokens per sequence, N [tokens] (1 .. 2^20; None: the model's own count, else 128)."""

    slc_fraction: float | None = 0.1
    """Share of each matrix's weights in SLC cells (fraction 0-1; ``"10%"`` accepted); None when
    a partition file decides. Alias: ``slc_share``."""

    partition: PartitionFile | None = None
    """Partition file from gradient redistribution (path or PartitionFile); None = uniform share."""

    partition_source: str | None = None
    """Where the partition came from (its path, or ``partition`` for an object); for messages."""

    design: HyflexDesign
    """The design (path or name of a file in ``arch_specs/``, or a HyflexDesign; default
    HyFlexPIM). Alias: ``arch``."""

    arch_path: str
    """The design file as given (text), or the design's name when given as an object."""

    batch: int = 1
    """Sequences per inference, B [sequences]."""

    search: bool = False
    """True = map with AccelForge's mapper instead of the fixed mappings."""

    cache: bool = True
    """True = read and write the disk cache of AccelForge results."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _input_error(exc) from None

    @model_validator(mode="before")
    @classmethod
    def _load(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for alias, name in ALIASES.items():
            if alias in data:
                if name in data and data[name] is not None:
                    raise HyflexInputError(OPTIONS[name], name,
                                           f"given twice, as '{name}' and as its alias '{alias}'")
                data[name] = data.pop(alias)
        if "model" in data:
            if data.get("seq_len") is None:  # the model's own token count (ViT), else 128
                from hyflex_plugin.evaluation.model import resolve_seq_len

                data["seq_len"] = resolve_seq_len(data["model"], None)[0]
            data["model"] = load_model_shape(data["model"])
        arch = data.get("design")
        if not isinstance(arch, HyflexDesign):
            data["design"] = load_arch(arch)
        data.setdefault("arch_path", data["design"].name if arch is None or isinstance(
            arch, HyflexDesign) else str(arch))
        part = data.get("partition")
        if part is not None and not isinstance(part, PartitionFile):
            data.setdefault("partition_source", str(part))
            data["partition"] = PartitionFile.load(part)
        elif part is not None:
            data.setdefault("partition_source", "partition")
        return data

    @field_validator("seq_len", mode="before")
    @classmethod
    def _seq_len(cls, v: Any) -> int:
        return check_seq_len(positive_int(v) if isinstance(v, str) else v)

    @field_validator("batch", mode="before")
    @classmethod
    def _positive(cls, v: Any) -> int:
        return positive_int(v)

    @field_validator("slc_fraction", mode="before")
    @classmethod
    def _fraction(cls, v: Any) -> float | None:
        return None if v is None else fraction(v)

    @model_validator(mode="after")
    def _rules(self) -> "EvaluationRequest":
        if self.partition is not None:
            self.partition.check_model(self.partition_source, self.model)
        if self.design.slc_fraction is not None:
            # a fixed-share design (all-SLC, all-MLC, ASADI) ignores the user's share and partition
            self.slc_fraction = self.design.slc_fraction
            self.partition = self.partition_source = None
        elif self.partition is not None:
            self.slc_fraction = None  # matrices the file does not list use its slc_fraction
        elif self.slc_fraction is None:
            raise HyflexInputError("--slc-fraction", "slc_fraction",
                                   "expected a share between 0 and 1 or a --partition file")
        return self


def _input_error(exc: ValidationError) -> HyflexInputError:
    """The first problem of a ValidationError, as a HyflexInputError naming the option."""
    first = exc.errors()[0]
    original = (first.get("ctx") or {}).get("error")
    if isinstance(original, HyflexInputError):
        return original
    loc = [str(p) for p in first.get("loc", ())]
    name = loc[0] if loc else None
    msg = str(original) if original is not None else first.get("msg", "invalid value")
    if first.get("type") == "extra_forbidden":
        from hyflex_plugin.basetypes import did_you_mean

        msg = "unknown field" + did_you_mean(name or "", [*EvaluationRequest.model_fields, *ALIASES])
    elif first.get("type") == "missing":
        msg = "required field is missing"
    return HyflexInputError(OPTIONS.get(name, "request"), ".".join(loc) or None, msg)

