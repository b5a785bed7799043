"""Loader for ``data/hyflexpim_65nm.yaml``: every cost-model constant with unit and source."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hyflex_plugin.io import load_model_yaml

DATA_FILE = Path(__file__).parent / "data" / "hyflexpim_65nm.yaml"


class Constant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float
    unit: str = Field(min_length=1)
    source: str = Field(min_length=3)
    note: str | None = None
    tuned_against: str | None = None


class ConstantsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1]
    constants: dict[str, Constant]


@lru_cache(maxsize=None)
def load_constants(path: str | None = None) -> ConstantsFile:
    return load_model_yaml(path or DATA_FILE, ConstantsFile)


def const(name: str) -> float:
    """Value (SI unit, as stated in the data file) of the constant ``name``."""
    table = load_constants().constants
    if name not in table:
        raise KeyError(f"{DATA_FILE}: no constant named '{name}'")
    return table[name].value


def const_int(name: str) -> int:
    return int(round(const(name)))
