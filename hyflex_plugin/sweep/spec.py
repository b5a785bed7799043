"""The sweep SPEC (``hyflex sweep SPEC.yaml``): schema, validation and expansion into points.

A SPEC names a base design file, axes (design-file fields by dotted path, each with a list of
values or a ``{range: [lo, hi], steps: n}``), models, sequence lengths, the sampling (``grid``
or ``{random: {n, seed}}``), objectives and constraints. Format: docs/sweep.md.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import operator
import random
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from hyflex_plugin.architecture.design import ARCH_DIR, HyflexDesign, load_arch
from hyflex_plugin.basetypes import StrictModel, did_you_mean
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import load_model_yaml, read_yaml

#: whole-model metrics a row carries (``hyflex evaluate --json`` without per-layer detail) and
#: that objectives and constraints may name
METRICS = ("energy_j", "latency_s", "ops", "throughput_tops", "tops_per_w", "tops_per_mm2",
           "area_mm2", "pus", "chips")
OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
       "==": operator.eq}


class Range(StrictModel):
    """``{range: [lo, hi], steps: n}``: n evenly spaced values from lo to hi (both included)."""

    range: tuple[float, float]
    """Lowest and highest value, in the unit of the design-file field."""

    steps: int = Field(ge=2)
    """Number of values (>= 2) [count]."""

    def values(self) -> list[float]:
        lo, hi = self.range
        return [lo + (hi - lo) * i / (self.steps - 1) for i in range(self.steps)]


class RandomSampling(StrictModel):
    n: int = Field(ge=1)
    """Axis combinations drawn from the grid, without repetition [count]."""

    seed: int = 0
    """Seed of the draw (same seed, same points)."""


class Sampling(StrictModel):
    random: RandomSampling
    """``{n, seed}``: a random subset of the grid."""


class Objective(StrictModel):
    """One of ``{maximize: metric}`` / ``{minimize: metric}``."""

    maximize: str | None = None
    """Metric to maximise (one of METRICS)."""

    minimize: str | None = None
    """Metric to minimise (one of METRICS)."""

    @model_validator(mode="after")
    def _one(self) -> Objective:
        if (self.maximize is None) == (self.minimize is None):
            raise ValueError("expected exactly one of 'maximize' or 'minimize'")
        m = self.metric
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}, expected one of {list(METRICS)}")
        return self

    @property
    def metric(self) -> str:
        return self.maximize or self.minimize

    @property
    def sign(self) -> int:
        """+1 to maximise, -1 to minimise."""
        return 1 if self.maximize else -1


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|<|>)\s*(\S+)\s*$")


class SweepSpec(StrictModel):
    """A sweep SPEC file (docs/sweep.md)."""

    schema_version: Literal[1] = 1
    """Format version of the SPEC file."""

    name: str = "sweep"
    """Name shown in summary.md."""

    base: str = "hyflexpim.yaml"
    """Base design file: a path (relative to the SPEC first) or the name of a file in arch_specs/."""

    axes: dict[str, list[Any] | Range] = Field(min_length=1)
    """Design-file fields by dotted path -> list of values or ``{range, steps}`` (SI units, as
    in the design file)."""

    models: list[str] = Field(min_length=1)
    """Model presets or paths to Hugging Face config.json files."""

    seq_lens: list[int] = Field(min_length=1)
    """Sequence lengths N [tokens]."""

    batch: int = Field(default=1, ge=1)
    """Sequences per inference [count]."""

    slc_fraction: float | None = Field(default=0.1, ge=0, le=1)
    """SLC share (fraction 0-1) of points whose design fixes none; an axis ``slc_fraction``
    sets the design's own share."""

    sampling: Literal["grid"] | Sampling = "grid"
    """``grid`` (every combination) or ``{random: {n, seed}}``."""

    objectives: list[Objective] = Field(
        default_factory=lambda: [Objective(maximize="throughput_tops"),
                                 Objective(maximize="tops_per_w"), Objective(minimize="area_mm2")])
    """Pareto objectives, each ``{maximize: metric}`` or ``{minimize: metric}``."""

    constraints: list[str] = Field(default_factory=list)
    """Feasibility conditions ``"metric OP number"`` (OP one of <=, >=, <, >, ==)."""

    @field_validator("seq_lens")
    @classmethod
    def _seq(cls, v: list[int]) -> list[int]:
        if any(n <= 0 for n in v):
            raise ValueError("expected positive sequence lengths")
        return v

    @field_validator("axes")
    @classmethod
    def _axes(cls, v: dict) -> dict:
        for path, values in v.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"axis {path!r} has no values")
        return v

    @field_validator("constraints")
    @classmethod
    def _constraints(cls, v: list[str]) -> list[str]:
        for c in v:
            parse_constraint(c)
        return v

    def axis_values(self) -> dict[str, list]:
        """Every axis's values as a list (ranges expanded)."""
        return {p: (v.values() if isinstance(v, Range) else list(v)) for p, v in self.axes.items()}


def parse_constraint(text: str) -> tuple[str, str, float]:
    """``"area_mm2 <= 800"`` -> ("area_mm2", "<=", 800.0)."""
    m = _CONSTRAINT.match(str(text))
    if not m:
        raise ValueError(f"constraint {text!r}: expected 'metric OP number' with OP one of "
                         f"{list(OPS)}, e.g. 'area_mm2 <= 800'")
    metric, op, num = m.groups()
    if metric not in METRICS:
        raise ValueError(f"constraint {text!r}: unknown metric {metric!r}, expected one of {list(METRICS)}")
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"constraint {text!r}: {num!r} is not a number") from None
    return metric, op, value


def _base_path(spec: SweepSpec, spec_path: Path | None) -> Path:
    p = Path(spec.base)
    if not p.is_absolute() and spec_path is not None and (spec_path.parent / p).is_file():
        return spec_path.parent / p
    if not p.is_absolute() and not p.is_file() and (ARCH_DIR / p).is_file():
        return ARCH_DIR / p
    return p


def _check_axis_path(source: str, design: dict, path: str) -> None:
    node: Any = design
    parts = path.split(".")
    for i, key in enumerate(parts):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(parts[:i]) or "the design file"
            options = sorted(node) if isinstance(node, dict) else []
            raise HyflexInputError(source, f"axes.{path}",
                                   f"no design-file field '{key}' in {where}"
                                   f"{did_you_mean(key, options)}; expected one of {options}")
        node = node[key]
    if isinstance(node, dict):
        raise HyflexInputError(source, f"axes.{path}",
                               f"'{path}' is a section, expected a field inside it: {sorted(node)}")


def load_spec(path: str | Path) -> tuple[SweepSpec, HyflexDesign, str]:
    """Read and validate a SPEC file; returns (spec, base design, base design path)."""
    p = Path(path)
    if not p.is_file():
        raise HyflexInputError(str(p), None, "sweep SPEC file not found")
    read_yaml(p)
    spec = load_model_yaml(p, SweepSpec)
    # a model given as a relative path is looked up next to the SPEC first
    spec.models = [str(p.parent / m) if not Path(m).is_absolute() and not Path(m).exists()
                   and (p.parent / m).exists() else m for m in spec.models]
    return spec, *check_spec(spec, str(p), p)


def check_spec(spec: SweepSpec, source: str = "spec",
               spec_path: Path | None = None) -> tuple[HyflexDesign, str]:
    """Checks that need the base design and the models: axis paths, model names."""
    from hyflex_plugin.workloads.shapes import load_model_shape

    bp = _base_path(spec, spec_path)
    try:
        base = load_arch(bp)
    except HyflexInputError as e:
        raise HyflexInputError(source, "base", f"{e}") from None
    dumped = base.model_dump(mode="json")
    for axis in spec.axes:
        _check_axis_path(source, dumped, axis)
    for i, m in enumerate(spec.models):
        try:
            load_model_shape(m)
        except HyflexInputError as e:
            raise HyflexInputError(source, f"models[{i}]", str(e)) from None
    return base, str(bp)


# ----------------------------------------------------------------------------- points
def point_id(axes: dict, model: str, seq_len: int) -> str:
    """Stable identity of a point (axis values, model, N): what resume matches on."""
    text = json.dumps({"axes": axes, "model": model, "seq_len": seq_len}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expand(spec: SweepSpec) -> list[dict]:
    """Every point of the sweep, in a fixed order: dicts with ``index``, ``point_id``,
    ``axes`` (dotted path -> value), ``model``, ``seq_len``.
    """
    values = spec.axis_values()
    names = list(values)
    combos = list(itertools.product(*(values[n] for n in names)))
    if isinstance(spec.sampling, Sampling):
        r = spec.sampling.random
        rng = random.Random(r.seed)
        pick = sorted(rng.sample(range(len(combos)), min(r.n, len(combos))))
        combos = [combos[i] for i in pick]
    points = []
    for model in spec.models:
        for n in spec.seq_lens:
            for combo in combos:
                axes = dict(zip(names, combo))
                points.append({"index": len(points), "point_id": point_id(axes, model, n),
                               "axes": axes, "model": model, "seq_len": n})
    return points


def apply_axes(base: HyflexDesign | str | Path | dict, axes: dict) -> HyflexDesign:
    """The base design with the axis values set; ValueError (with the reason) if the design
    schema rejects the result.

    The values are set in the design file *as written* (``base`` a path or its YAML dict), so
    fields the schema derives from others (``columns_per_adc`` from ``adcs_per_array``) follow
    the axis instead of contradicting it. A ``HyflexDesign`` is re-read from ``base_data``.
    """
    data = copy.deepcopy(base_data(base) if not isinstance(base, dict) else base)
    for path, value in axes.items():
        node = data
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    try:
        return HyflexDesign.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e.get("loc", ()))
        raise ValueError(f"design schema: {loc + ': ' if loc else ''}{e.get('msg')}") from None


def base_data(base: HyflexDesign | str | Path) -> dict:
    """The design file as written (YAML dict); for a HyflexDesign object, its dump with the
    fields the schema derives removed when the file gives the alternative.
    """
    if isinstance(base, HyflexDesign):
        return base.model_dump(exclude={"analog": {"columns_per_adc"}})
    return read_yaml(base)


def is_finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


__all__ = [
    "METRICS",
    "SweepSpec",
    "apply_axes",
    "check_spec",
    "expand",
    "load_spec",
    "parse_constraint",
    "point_id",
]
