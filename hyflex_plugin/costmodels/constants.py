"""Loader for ``data/hyflexpim_65nm.yaml``: every cost-model constant with unit and source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.io import load_model_yaml

DATA_FILE = Path(__file__).parent / "data" / "hyflexpim_65nm.yaml"


class Constant(StrictModel):
    """One cost-model constant with its unit and where it comes from."""

    value: float
    """The number, in ``unit`` (SI)."""

    unit: str = Field(min_length=1)
    """Unit of ``value`` (SI, e.g. J, m^2, s; ``1`` for dimensionless)."""

    source: str = Field(min_length=3)
    """Paper, table or derivation the value comes from (text)."""

    note: str | None = None
    """Remark (text)."""

    tuned_against: str | None = None
    """The published absolute figure the value was tuned to match (text; null = not tuned)."""

    range: tuple[float, float] | None = None
    """Plausible [min, max] of a chosen or estimated value (same unit as ``value``; null = a
    paper figure, a count or a tuned value)."""

    range_source: str | None = Field(default=None, min_length=3)
    """Where the range comes from (text; required with ``range``)."""

    @model_validator(mode="after")
    def _check_range(self) -> "Constant":
        if self.range is None:
            if self.range_source is not None:
                raise ValueError("range_source given without a range")
            return self
        lo, hi = self.range
        if lo > hi:
            raise ValueError(f"range [{lo:g}, {hi:g}]: min is greater than max")
        if not lo <= self.value <= hi:
            raise ValueError(f"value {self.value:g} lies outside its range [{lo:g}, {hi:g}]")
        if self.range_source is None:
            raise ValueError("a range needs a range_source")
        return self


class ConstantsFile(StrictModel):
    """``data/hyflexpim_65nm.yaml``: every cost-model constant."""

    schema_version: Literal[1]
    """Version of this file format (only 1 exists)."""

    constants: dict[str, Constant]
    """The constants by name."""


@cache
def load_constants(path: str | None = None) -> ConstantsFile:
    """The validated data file (default ``data/hyflexpim_65nm.yaml``), read once per process."""
    return load_model_yaml(path or DATA_FILE, ConstantsFile)


#: Constants overridden in this process (:func:`overridden_constants`); empty normally.
_OVERRIDES: dict[str, float] = {}


def const(name: str) -> float:
    """Value (SI unit, as stated in the data file) of the constant ``name``."""
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    table = load_constants().constants
    if name not in table:
        raise KeyError(f"{DATA_FILE}: no constant named '{name}'")
    return table[name].value


def active_overrides() -> dict[str, float]:
    """The constants overridden right now (name -> value in the data file's unit)."""
    return dict(_OVERRIDES)


@contextmanager
def overridden_constants(values: Mapping[str, float], source: str = "constants") -> Iterator[None]:
    """Evaluate with some data-file constants replaced (sensitivity studies, sweeps).

    Applies to every cost-model action and instance created inside the block (constructor
    defaults are the data file's values). The evaluation cache key includes the overrides.
    """
    from hyflex_plugin.errors import HyflexInputError

    table = load_constants().constants
    for name, v in values.items():
        if name not in table:
            raise HyflexInputError(source, name, f"no such constant in {DATA_FILE.name}")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise HyflexInputError(source, name, f"expected a number, got {v!r}")
    saved = dict(_OVERRIDES)
    _OVERRIDES.update({k: float(v) for k, v in values.items()})
    try:
        yield
    finally:
        _OVERRIDES.clear()
        _OVERRIDES.update(saved)


def const_int(name: str) -> int:
    """:func:`const` rounded to an integer (counts: steps, pulses, muxes, bits)."""
    return int(round(const(name)))
