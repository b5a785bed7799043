"""HyFlexPIM design parameters: the typed, validated schema of the files in ``arch_specs/``.

A design file names the AccelForge templates it is evaluated with (``arch_specs/accelforge/``:
arch + workload, Jinja2) and the fixed mappings (``mappings/``), and sets every parameter a user
may change: processing units, modules, arrays, rows, columns, bits per cell, ADC bits, clocks,
technology node, SLC share. Copy a file, change a number, run ``hyflex evaluate --arch FILE``.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import load_model_yaml, read_yaml

ARCH_DIR = Path(__file__).resolve().parents[2] / "arch_specs"
MAPPING_DIR = Path(__file__).resolve().parents[2] / "mappings"
DEFAULT_ARCH = ARCH_DIR / "hyflexpim.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChipParams(_Strict):
    processing_units: int = Field(ge=1, description="PUs per chip")
    link_bandwidth: float = Field(gt=0, description="bytes/s between PUs and chips")


class PUParams(_Strict):
    analog_modules: int = Field(ge=0)
    arrays_per_module: int = Field(ge=1)
    digital_modules: int = Field(ge=1)
    digital_arrays_per_module: int = Field(ge=1)
    sfu_lanes: int = Field(ge=1)
    buffer_bits: int = Field(ge=1024, description="on-PU buffer size [bits]")


class AnalogParams(_Strict):
    rows: int = Field(ge=1)
    columns: int = Field(ge=1)
    slc_bits_per_cell: Literal[1] = 1
    mlc_bits_per_cell: Literal[1, 2] = 2
    adc_bits_mlc: int = Field(ge=4, le=12)
    adc_bits_slc: int = Field(ge=4, le=12)
    adc_max_bits: int = Field(ge=4, le=12)
    adcs_per_array: float = Field(gt=0, description="ADCs per array (fractions: shared ADCs)")
    input_bits: int = Field(ge=1)
    weight_bits: int = Field(ge=1)
    cycle: float = Field(gt=0, description="analog cycle [s]")

    @model_validator(mode="after")
    def _check(self) -> "AnalogParams":
        if max(self.adc_bits_mlc, self.adc_bits_slc) > self.adc_max_bits:
            raise ValueError("adc_bits_mlc/adc_bits_slc must not exceed adc_max_bits")
        for b in (self.slc_bits_per_cell, self.mlc_bits_per_cell):
            if self.weight_bits % b:
                raise ValueError(f"weight_bits {self.weight_bits} must be a multiple of bits per cell {b}")
        return self


class DigitalParams(_Strict):
    rows: int = Field(ge=1)
    columns: int = Field(ge=1)
    clock: float = Field(gt=0, description="[Hz]")
    op_bits: Literal[4, 8, 16] = 8


class HyflexDesign(_Strict):
    schema_version: Literal[1] = 1
    name: str
    description: str = ""
    citation: str | None = None
    tech_node: float = Field(ge=7e-9, le=130e-9, description="[m]")
    templates: dict[Literal["analog", "digital"], str] = Field(
        description="AccelForge arch+workload templates, relative to arch_specs/")
    mappings: dict[Literal["analog", "digital"], str] = Field(
        description="fixed mappings, relative to mappings/")
    linear_path: Literal["analog", "digital"] = Field(
        default="analog", description="where linear layers run (digital = digital-PIM-only design)")
    slc_fraction: float | None = Field(
        default=None, ge=0, le=1,
        description="fixed SLC share of this design (all-SLC = 1, all-MLC = 0); "
                    "null = the share given by the user or the partition file")
    chip: ChipParams
    pu: PUParams
    analog: AnalogParams
    digital: DigitalParams

    @property
    def arrays_per_pu(self) -> int:
        return self.pu.analog_modules * self.pu.arrays_per_module

    @property
    def digital_lanes_per_pu(self) -> int:
        return self.pu.digital_modules * self.pu.digital_arrays_per_module * self.digital.rows

    def template_path(self, kind: str) -> Path:
        return ARCH_DIR / self.templates[kind]

    def mapping_path(self, kind: str) -> Path:
        return MAPPING_DIR / self.mappings[kind]

    def fingerprint(self) -> str:
        """Hash of everything in this design that affects an evaluation."""
        h = hashlib.sha256(self.model_dump_json().encode())
        for kind in ("analog", "digital"):
            h.update(self.template_path(kind).read_bytes())
            h.update(self.mapping_path(kind).read_bytes())
        return h.hexdigest()


def _check_unknown_fields(source: Path, data, model: type[BaseModel], prefix: str = "") -> None:
    """A misspelled key is named with the closest valid one (before the 'missing' complaints)."""
    if not isinstance(data, dict):
        return
    fields = model.model_fields
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise HyflexInputError(str(source), f"{prefix}{key}",
                                   f"unknown field, expected one of {sorted(fields)}{hint}")
        sub = fields[key].annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            _check_unknown_fields(source, value, sub, f"{prefix}{key}.")


def load_arch(path: str | Path | None = None) -> HyflexDesign:
    """Load and validate a design file (default: ``arch_specs/hyflexpim.yaml``).

    Names relative to the current folder are tried first, then ``arch_specs/``.
    """
    p = Path(path) if path is not None else DEFAULT_ARCH
    if not p.exists() and not p.is_absolute() and (ARCH_DIR / p).exists():
        p = ARCH_DIR / p
    if not p.is_file():
        shipped = ", ".join(sorted(f.name for f in ARCH_DIR.glob("*.yaml")))
        raise HyflexInputError("--arch", None, f"design file {str(p)!r} not found: expected a path "
                               f"or the name of a file in {ARCH_DIR} ({shipped})")
    _check_unknown_fields(p, read_yaml(p), HyflexDesign)
    design = load_model_yaml(p, HyflexDesign)
    for kind in ("analog", "digital"):
        for what, getter in (("templates", design.template_path), ("mappings", design.mapping_path)):
            if not getter(kind).is_file():
                raise HyflexInputError(str(p), f"{what}.{kind}",
                                       f"file not found: {getter(kind)}")
    return design
