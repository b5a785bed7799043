"""Published PIM designs and the HyFlexPIM paper's claims, as validated data.

Files (one place each): ``data/published_designs.yaml`` (designs as published, with the one
65 nm normalisation of the comparison) and ``data/paper_claims.yaml`` (the paper's comparison
claims with provenance). Both are validated by the pydantic schemas below; a malformed entry is
a :class:`~hyflex_plugin.errors.HyflexInputError` naming the file, the entry and the field.

Normalisation to 65 nm uses hwcomponents.scaling (Stillmaker & Baas 2017): area x
``tech_node_area``, energy per op x ``tech_node_energy``, throughput x ``tech_node_throughput``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import read_yaml, validation_error
from hyflex_plugin.units import parse_tech_node

DATA_DIR = Path(__file__).resolve().parent / "data"
PUBLISHED_FILE = DATA_DIR / "published_designs.yaml"
CLAIMS_FILE = DATA_DIR / "paper_claims.yaml"

#: nodes hwcomponents.scaling has tables for (Stillmaker & Baas 2017), metres
KNOWN_TECH_NODES = (130e-9, 90e-9, 65e-9, 45e-9, 32e-9, 20e-9, 16e-9, 14e-9, 10e-9, 7e-9)

#: unit -> (dimension, factor to SI: m^2, W, ops/s, ops/J, ops/s/m^2)
UNITS: dict[str, tuple[str, float]] = {
    "mm^2": ("area", 1e-6), "m^2": ("area", 1.0), "um^2": ("area", 1e-12),
    "W": ("power", 1.0), "mW": ("power", 1e-3),
    "TOPS": ("throughput", 1e12), "GOPS": ("throughput", 1e9), "ops/s": ("throughput", 1.0),
    "TOPS/W": ("energy_efficiency", 1e12), "GOPS/W": ("energy_efficiency", 1e9),
    "ops/J": ("energy_efficiency", 1.0),
    "TOPS/mm^2": ("area_efficiency", 1e12 / 1e-6), "GOPS/mm^2": ("area_efficiency", 1e9 / 1e-6),
}
METRICS = ("area", "power", "throughput", "energy_efficiency", "area_efficiency")
PROVENANCE = Literal["A", "T", "B", "C", "derived"]


class Quantity(StrictModel):
    """One published number: value in ``unit``, where it comes from."""

    value: float | None
    """The number as published, in ``unit``; null = not available (then ``note`` says why)."""

    unit: str
    """Unit of ``value``: a key of :data:`UNITS` (mm^2, W, TOPS, TOPS/W, TOPS/mm^2, ...)."""

    provenance: PROVENANCE
    """Where the number comes from: A, T, B, C or derived (tags of the project's facts sheet)."""

    source: str | None = None
    """Table, figure or computation the number is taken from (text)."""

    note: str | None = None
    """Remark, required when ``value`` is null (text)."""

    verified: bool = True
    """False = the number could not be checked against its paper inside this project."""

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        if v not in UNITS:
            raise ValueError(f"unknown unit {v!r}: expected one of {', '.join(UNITS)}")
        return v

    @model_validator(mode="after")
    def _note_if_missing(self) -> "Quantity":
        if self.value is None and not self.note:
            raise ValueError("a metric without a value needs a `note` saying why")
        if self.value is not None and self.value <= 0:
            raise ValueError(f"value must be positive, got {self.value}")
        return self

    def si(self) -> float | None:
        """``value`` in SI units (m^2, W, ops/s, ops/J, ops/s/m^2), or None."""
        return None if self.value is None else self.value * UNITS[self.unit][1]


class Headline(StrictModel):
    """A relative result a paper reports (e.g. 18.6x vs its own baseline)."""

    text: str
    """What is compared with what (text)."""

    value: float
    """The reported ratio or number, in ``unit``."""

    unit: str
    """Unit of ``value`` (``x`` for a ratio)."""

    provenance: PROVENANCE
    """Where the number comes from (A, T, B, C, derived)."""


class PublishedDesign(StrictModel):
    """One published PIM design with the numbers its paper reports."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    """Identifier used on the command line and in reports (lower-case, digits, ``-``, ``_``)."""

    name: str
    """Display name (text)."""

    citation: str = Field(min_length=10)
    """Full reference of the design's paper (text)."""

    venue: str
    """Conference or journal and year (text)."""

    doi: str | None = None
    """DOI of the paper (text; null = none known)."""

    tech_node: str
    """Technology node as published, e.g. ``65nm`` (one of the nodes hwcomponents.scaling knows)."""

    tech_node_note: str | None = None
    """Remark on the node (text)."""

    precision: str
    """Weight and activation precision as published (text, e.g. ``INT8``)."""

    modelled_by: str | None = None
    """``arch_specs/`` file of hyflex's modelled version (file name; null = not modelled)."""

    scope: str
    """What the published numbers cover, e.g. one PU or one chip (text)."""

    metrics: dict[str, Quantity]
    """Published numbers by metric name (one of :data:`METRICS`), each with its unit."""

    headline: list[Headline] = []
    """Relative results the paper reports (ratios)."""

    @field_validator("tech_node", mode="before")
    @classmethod
    def _node(cls, v) -> str:
        try:
            m = parse_tech_node(v)
        except HyflexInputError as exc:
            raise ValueError(exc.message) from None
        if not any(abs(m - k) <= 1e-12 for k in KNOWN_TECH_NODES):
            raise ValueError(f"unknown technology node {v!r}: expected one of "
                             + ", ".join(f"{k * 1e9:g}nm" for k in KNOWN_TECH_NODES))
        return f"{m * 1e9:g}nm"

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: dict[str, Quantity]) -> dict[str, Quantity]:
        for name, q in v.items():
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r}: expected one of {', '.join(METRICS)}")
            dim = UNITS[q.unit][0]
            if dim != name:
                raise ValueError(f"metric {name!r} has unit {q.unit!r} of a {dim}")
        return v

    @property
    def tech_node_m(self) -> float:
        """The technology node [m]."""
        return parse_tech_node(self.tech_node)


class Normalisation(StrictModel):
    """How published numbers are scaled to one technology node."""

    target_tech_node: str
    """Node every design is scaled to, e.g. ``65nm``."""

    method: Literal["hwcomponents.scaling"]
    """Scaling rules used (only hwcomponents.scaling)."""

    source: str
    """Reference of the scaling rules (text)."""

    note: str | None = None
    """Remark on the validity of the normalisation (text)."""


class PublishedDesigns(StrictModel):
    """``data/published_designs.yaml``: the published designs and their normalisation."""

    schema_version: Literal[1] = 1
    """Version of this file format (only 1 exists)."""

    normalisation: Normalisation
    """The one normalisation of the comparison."""

    designs: list[PublishedDesign]
    """The designs, keys unique."""

    @model_validator(mode="after")
    def _unique(self) -> "PublishedDesigns":
        keys = [d.key for d in self.designs]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"duplicate design key(s): {', '.join(sorted(dup))}")
        return self

    def design(self, key: str) -> PublishedDesign:
        """The design with ``key`` (KeyError if there is none)."""
        for d in self.designs:
            if d.key == key:
                return d
        raise KeyError(key)


class Claim(StrictModel):
    """One relative claim of the HyFlexPIM paper, to be put next to the model's value."""

    key: str
    """Identifier of the claim (text)."""

    name: str
    """What the claim compares (text)."""

    paper: float = Field(gt=0)
    """The paper's value (ratio HyFlexPIM / baseline, dimensionless)."""

    paper_range: tuple[float, float] | None = None
    """Range the paper gives (ratios, dimensionless; null = a single value)."""

    provenance: str
    """Where in the paper the claim is made (text)."""

    metric: Literal["throughput", "energy_efficiency"]
    """Ratio of throughput [ops/s] or of energy efficiency [ops/J]."""

    scope: Literal["end_to_end", "linear"]
    """Whole model or the linear layers only."""

    baseline: str | None
    """Key of the modelled baseline design; null = the baseline is published only."""

    seq_len: int | None = Field(default=None, ge=1)
    """Sequence length the claim is reported at [tokens]; null = best over the N run."""

    drivers: str
    """The assumptions that move the model's ratio most (text)."""


class PaperClaims(StrictModel):
    """``data/paper_claims.yaml``: the paper's comparison claims."""

    schema_version: Literal[1] = 1
    """Version of this file format (only 1 exists)."""

    reference_model: str
    """Model the claims are checked on (preset name)."""

    hyflex_slc_fraction: float = Field(ge=0, le=1)
    """SLC share of HyFlexPIM's weights used for the claims (fraction 0-1)."""

    hyflex_slc_fraction_range: tuple[float, float] | None = None
    """Plausible [min, max] of that share (fractions 0-1); ``hyflex sensitivity`` varies it."""

    hyflex_slc_fraction_range_source: str | None = None
    """Where that range comes from (text; required with the range)."""

    agreement_tolerance: float = Field(gt=0, lt=1)
    """Largest |model / paper - 1| reported as "agrees" (fraction)."""

    claims: list[Claim]
    """The claims."""

    @model_validator(mode="after")
    def _check_share_range(self) -> "PaperClaims":
        r = self.hyflex_slc_fraction_range
        if r is None:
            return self
        lo, hi = r
        if lo > hi:
            raise ValueError(f"hyflex_slc_fraction_range [{lo:g}, {hi:g}]: min is greater than max")
        if not (0 <= lo and hi <= 1 and lo <= self.hyflex_slc_fraction <= hi):
            raise ValueError(f"hyflex_slc_fraction_range [{lo:g}, {hi:g}] must lie within 0-1 and "
                             f"hold hyflex_slc_fraction {self.hyflex_slc_fraction:g}")
        if not self.hyflex_slc_fraction_range_source:
            raise ValueError("hyflex_slc_fraction_range needs a hyflex_slc_fraction_range_source")
        return self

    def claim(self, key: str, source: str = "--claim") -> Claim:
        """The claim ``key``; an unknown key is a HyflexInputError listing the known ones."""
        for c in self.claims:
            if c.key == key:
                return c
        raise HyflexInputError(source, "claim", f"unknown claim {key!r}: expected one of "
                               f"{', '.join(c.key for c in self.claims)}")


def _entry_error(path: Path, data, list_key: str, exc: ValidationError) -> HyflexInputError:
    """A pydantic error whose field names the entry by its key, e.g. designs[isaac].tech_node."""
    err = validation_error(str(path), exc)
    loc = exc.errors()[0].get("loc", ())
    if len(loc) >= 2 and loc[0] == list_key and isinstance(loc[1], int):
        try:
            entry = data[list_key][loc[1]].get("key", loc[1])
        except (AttributeError, IndexError, KeyError, TypeError):
            entry = loc[1]
        field = ".".join([f"{list_key}[{entry}]"] + [str(p) for p in loc[2:]])
        return HyflexInputError(str(path), field, err.message)
    return err


def _load(path: str | Path, schema, entries: str):
    path = Path(path)
    data = read_yaml(path)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise _entry_error(path, data, entries, exc) from exc


def load_published(path: str | Path = PUBLISHED_FILE) -> PublishedDesigns:
    """Load and validate a published-designs file."""
    return _load(path, PublishedDesigns, "designs")


def load_claims(path: str | Path = CLAIMS_FILE) -> PaperClaims:
    """Load and validate the paper-claims file."""
    return _load(path, PaperClaims, "claims")


def normalised(design: PublishedDesign, target: str = "65nm") -> dict[str, float | None]:
    """The design's metrics in SI units, as published and scaled to ``target`` (65 nm).

    Returns keys ``<metric>`` (SI, as published) and ``<metric>_norm`` (SI, at the target node),
    plus the three scale factors. Throughput is derived from area efficiency x area, efficiency
    from throughput / power, where they are not published.
    """
    from hwcomponents.scaling import (
        tech_node_area,
        tech_node_energy,
        tech_node_throughput,
    )

    to, frm = parse_tech_node(target), design.tech_node_m
    a_s, e_s, t_s = tech_node_area(to, frm), tech_node_energy(to, frm), tech_node_throughput(to, frm)
    m = {k: (design.metrics[k].si() if k in design.metrics else None) for k in METRICS}
    if m["throughput"] is None and m["area_efficiency"] and m["area"]:
        m["throughput"] = m["area_efficiency"] * m["area"]
    if m["energy_efficiency"] is None and m["throughput"] and m["power"]:
        m["energy_efficiency"] = m["throughput"] / m["power"]
    out: dict[str, float | None] = dict(m)
    area = m["area"] * a_s if m["area"] else None
    thr = m["throughput"] * t_s if m["throughput"] else None
    eff = m["energy_efficiency"] / e_s if m["energy_efficiency"] else None
    out["area_norm"] = area
    out["throughput_norm"] = thr
    out["energy_efficiency_norm"] = eff
    out["power_norm"] = thr / eff if thr and eff else (m["power"] * e_s * t_s if m["power"] else None)
    out["area_efficiency_norm"] = thr / area if thr and area else None
    out["scale_area"], out["scale_energy"], out["scale_throughput"] = a_s, e_s, t_s
    return out
