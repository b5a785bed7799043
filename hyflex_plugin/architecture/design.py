"""HyFlexPIM design parameters: the typed, validated schema of the files in ``arch_specs/``.

A design file names the AccelForge templates it is evaluated with (``arch_specs/accelforge/``:
arch + workload, Jinja2) and the fixed mappings (``mappings/``), and sets every parameter a user
may change: processing units, modules, arrays, rows, columns, bits per cell, ADC bits, clocks,
technology node, SLC share. Copy a file, change a number, run ``hyflex evaluate --arch FILE``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from hyflex_plugin.basetypes import StrictModel, did_you_mean
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import load_model_yaml, read_yaml
from hyflex_plugin.resources import shipped_dir

ARCH_DIR = shipped_dir("arch_specs")
MAPPING_DIR = shipped_dir("mappings")
DEFAULT_ARCH = ARCH_DIR / "hyflexpim.yaml"


class ChipParams(StrictModel):
    """One chip: how many PUs it holds and how they talk."""

    processing_units: int = Field(ge=1)
    """Processing units per chip (count; HyFlexPIM maps one transformer layer to one PU)."""

    link_bandwidth: float = Field(gt=0)
    """Bandwidth of the link between PUs and between chips [bytes/s]."""


class PUParams(StrictModel):
    """One processing unit (PU): analog modules, digital modules, SFU and buffer."""

    analog_modules: int = Field(ge=0)
    """Analog RRAM PIM modules per PU (count; 0 = a digital-only design)."""

    arrays_per_module: int = Field(ge=1)
    """RRAM crossbar arrays per analog module (count)."""

    digital_modules: int = Field(ge=1)
    """Digital (NOR-logic) RRAM PIM modules per PU (count)."""

    digital_arrays_per_module: int = Field(ge=1)
    """Digital PIM arrays per digital module (count)."""

    sfu_lanes: int = Field(ge=1)
    """Special-function-unit lanes per PU (elements per SFU cycle; softmax, layer norm, GELU)."""

    buffer_bits: int = Field(ge=1024)
    """On-PU buffer capacity [bits]."""

    buffer_width: int = Field(ge=1)
    """Bits per buffer access (the width of its read/write port) [bits]."""

    replication: Literal["auto", "none"] = "auto"
    """Copies of a block's matrices in spare analog arrays (``auto``: chosen per block to balance
    the pipeline, ISAAC-style; copies serve different tokens; ``none``: one copy of each)."""

    @model_validator(mode="after")
    def _check(self) -> "PUParams":
        if self.buffer_width > self.buffer_bits:
            raise ValueError(f"buffer_width {self.buffer_width} must not exceed buffer_bits "
                             f"{self.buffer_bits}")
        return self


class AnalogParams(StrictModel):
    """The analog RRAM crossbar arrays that hold the linear layers' weights."""

    rows: int = Field(ge=1)
    """Word lines per array (count; inputs applied in parallel per cycle)."""

    columns: int = Field(ge=1)
    """Bit lines per array (count of cell columns)."""

    slc_bits_per_cell: Literal[1] = 1
    """Bits stored per cell in single-level-cell (SLC) mode [bits/cell]."""

    mlc_bits_per_cell: Literal[1, 2] = 2
    """Bits stored per cell in multi-level-cell (MLC) mode [bits/cell]."""

    adc_bits_mlc: int = Field(ge=4, le=12)
    """ADC resolution used when reading MLC arrays [bits]."""

    adc_bits_slc: int = Field(ge=4, le=12)
    """ADC resolution used when reading SLC arrays [bits]."""

    adc_max_bits: int = Field(ge=4, le=12)
    """Resolution the ADC is built for (sets its area) [bits]."""

    adcs_per_array: float | None = Field(default=None, gt=0)
    """ADCs per array (count; a fraction means ADCs shared between arrays; give this or
    ``columns_per_adc``)."""

    columns_per_adc: float | None = Field(default=None, gt=0)
    """Columns one ADC converts per input bit (count; the other way to give ADC sharing)."""

    input_bits: int = Field(ge=1, le=32)
    """Activation precision, applied bit-serially with 1-bit drivers [bits; 1-32, e.g. 8/16/32]."""

    weight_bits: int = Field(ge=1, le=32)
    """Weight precision, split over cells of ``*_bits_per_cell`` bits [bits; 1-32]."""

    cycle: float = Field(gt=0)
    """Duration of one analog read cycle (one input bit over the whole array) [s]."""

    @model_validator(mode="after")
    def _check(self) -> "AnalogParams":
        if self.adcs_per_array is None and self.columns_per_adc is None:
            raise ValueError("give adcs_per_array or columns_per_adc (columns one ADC converts)")
        if self.adcs_per_array is None:
            self.adcs_per_array = self.columns / self.columns_per_adc
        elif self.columns_per_adc is None:
            self.columns_per_adc = self.columns / self.adcs_per_array
        elif abs(self.columns / self.columns_per_adc - self.adcs_per_array) > 1e-9 * self.adcs_per_array:
            raise ValueError(f"adcs_per_array {self.adcs_per_array:g} and columns_per_adc "
                             f"{self.columns_per_adc:g} disagree for {self.columns} columns; give one")
        if max(self.adc_bits_mlc, self.adc_bits_slc) > self.adc_max_bits:
            raise ValueError("adc_bits_mlc/adc_bits_slc must not exceed adc_max_bits")
        for b in (self.slc_bits_per_cell, self.mlc_bits_per_cell):
            if self.weight_bits % b:
                raise ValueError(f"weight_bits {self.weight_bits} must be a multiple of bits per cell {b}")
        return self


#: Digital-path number formats and the operand widths each supports [bits] (cost models:
#: ``hyflex_plugin.costmodels.models.nor_steps_per_mac``).
DIGITAL_FORMATS = {"int": (4, 8, 16), "fp": (16, 32)}


class DigitalParams(StrictModel):
    """The digital (NOR-logic) RRAM PIM arrays that compute attention."""

    rows: int = Field(ge=1)
    """Rows per digital PIM array (count; each row is one parallel compute lane)."""

    columns: int = Field(ge=1)
    """Columns per digital PIM array (count of cells per row)."""

    clock: float = Field(gt=0)
    """Clock of the digital PIM arrays (one NOR step per cycle) [Hz]."""

    op_bits: Literal[4, 8, 16, 32] = 8
    """Operand precision of the digital MACs [bits]: 4/8/16 for int, 16/32 for fp."""

    number_format: Literal["int", "fp"] = "int"
    """Number format of the digital MACs (text): int = fixed point, fp = IEEE floating point
    (NOR step counts from FloatPIM, ISCA 2019; see the cost-model data file)."""

    @model_validator(mode="after")
    def _check(self) -> "DigitalParams":
        if self.op_bits not in DIGITAL_FORMATS[self.number_format]:
            raise HyflexInputError(None, "op_bits",
                                   f"{self.op_bits} bits is not a width of number_format "
                                   f"{self.number_format!r}: expected one of "
                                   f"{list(DIGITAL_FORMATS[self.number_format])} (int: "
                                   f"{list(DIGITAL_FORMATS['int'])}, fp: {list(DIGITAL_FORMATS['fp'])})")
        return self


class DesignRange(StrictModel):
    """Plausible range of a design-file number that is a choice or an estimate."""

    range: tuple[float, float]
    """[min, max] in the field's own unit."""

    source: str = Field(min_length=3)
    """Where the range comes from (text)."""


class HyflexDesign(StrictModel):
    """A design file in ``arch_specs/``: templates, mappings and every user-settable parameter."""

    schema_version: Literal[1] = 1
    """Version of this file format (dimensionless; only 1 exists)."""

    name: str
    """Name of the design, shown in reports (text)."""

    description: str = ""
    """One line saying what the design is (text)."""

    citation: str | None = None
    """Publication the design's parameters come from (text; null = none)."""

    tech_node: float = Field(ge=7e-9, le=130e-9)
    """Technology node the cost models are scaled to [m]."""

    templates: dict[Literal["analog", "digital"], str]
    """AccelForge arch+workload templates per path (file paths relative to ``arch_specs/``)."""

    mappings: dict[Literal["analog", "digital"], str]
    """Fixed mappings per path (file paths relative to ``mappings/``)."""

    linear_path: Literal["analog", "digital"] = "analog"
    """Where linear layers run (``digital`` = a digital-PIM-only design)."""

    attention_arrays: Literal["own-pu", "spanned-pus"] = "own-pu"
    """Digital arrays and SFU that serve a block's attention: ``own-pu`` = those of one PU (the
    paper's organisation: one PU per layer, its digital modules); ``spanned-pus`` = those of
    every PU the block's weights span."""

    slc_fraction: float | None = Field(default=None, ge=0, le=1)
    """Fixed SLC share of the weights of this design (fraction 0-1; all-SLC = 1, all-MLC = 0);
    null = the share given by the user or the partition file."""

    chip: ChipParams
    """The chip (PU count, link)."""

    pu: PUParams
    """One processing unit."""

    analog: AnalogParams
    """The analog crossbar arrays."""

    digital: DigitalParams
    """The digital PIM arrays."""

    ranges: dict[str, DesignRange] = Field(default_factory=dict)
    """Ranges of this file's chosen or estimated numbers, by dotted field name (e.g.
    ``analog.adcs_per_array``); ``hyflex sensitivity`` varies them."""

    def field_value(self, dotted: str):
        """The value of a dotted field name (``analog.adcs_per_array``), or KeyError."""
        obj = self
        for part in dotted.split("."):
            if not isinstance(obj, BaseModel) or part not in type(obj).model_fields:
                raise KeyError(dotted)
            obj = getattr(obj, part)
        return obj

    def with_value(self, dotted: str, value) -> "HyflexDesign":
        """A copy with one dotted field replaced (validated like a loaded file)."""
        data = self.model_dump()
        node = data
        *head, last = dotted.split(".")
        for part in head:
            node = node[part]
        node[last] = value
        if dotted == "analog.adcs_per_array":
            node["columns_per_adc"] = None
        elif dotted == "analog.columns_per_adc":
            node["adcs_per_array"] = None
        return type(self).model_validate(data)

    @model_validator(mode="after")
    def _check_paths(self) -> "HyflexDesign":
        if self.linear_path == "analog" and self.pu.analog_modules == 0:
            raise HyflexInputError(None, "pu.analog_modules",
                                   "0 analog modules, but linear_path is 'analog': expected at least "
                                   "1, or linear_path: digital for a digital-only design")
        return self

    @property
    def arrays_per_pu(self) -> int:
        """Analog crossbar arrays per PU (count)."""
        return self.pu.analog_modules * self.pu.arrays_per_module

    def template_path(self, kind: str) -> Path:
        """The AccelForge template of the ``analog`` or ``digital`` path (absolute path)."""
        return ARCH_DIR / self.templates[kind]

    def mapping_path(self, kind: str) -> Path:
        """The fixed mapping of the ``analog`` or ``digital`` path (absolute path)."""
        return MAPPING_DIR / self.mappings[kind]

    def fingerprint(self) -> str:
        """Hash of everything in this design that affects an evaluation (the sweep's cache key)."""
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
            raise HyflexInputError(str(source), f"{prefix}{key}",
                                   f"unknown field, expected one of {sorted(fields)}"
                                   + did_you_mean(str(key), fields))
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
    check_ranges(design, str(p))
    for kind in ("analog", "digital"):
        for what, getter in (("templates", design.template_path), ("mappings", design.mapping_path)):
            if not getter(kind).is_file():
                raise HyflexInputError(str(p), f"{what}.{kind}",
                                       f"file not found: {getter(kind)}")
    return design


def check_ranges(design: HyflexDesign, source: str) -> None:
    """Every ``ranges`` entry names a numeric field and has min <= max (a copied design may set
    the field outside the range it inherited: a sweep explores beyond plausible values).
    """
    for key, r in design.ranges.items():
        field = f"ranges.{key}"
        try:
            value = design.field_value(key)
        except KeyError:
            raise HyflexInputError(source, field, "expected the dotted name of a field of this "
                                   "file, e.g. analog.adcs_per_array") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HyflexInputError(source, field, f"expected a numeric field, '{key}' is {value!r}")
        lo, hi = r.range
        if lo > hi:
            raise HyflexInputError(source, f"{field}.range",
                                   f"min {lo:g} is greater than max {hi:g}")
