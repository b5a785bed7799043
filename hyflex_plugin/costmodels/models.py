"""HyFlexPIM component models for hwcomponents (and so for AccelForge).

One small class per physical component; constructor arguments are its attributes, actions are
``@action`` methods returning ``ActionCost(energy [J], latency [s], throughput [1/s])``, area in
m^2. Every cost constant comes from ``data/hyflexpim_65nm.yaml`` (value, unit, source); the
default of every design attribute (rows, columns, ADC bits, lanes, clocks, buffer, ...) is
HyFlexPIM's design file, ``arch_specs/hyflexpim.yaml``, so each design parameter lives in one
place. Technology scaling from the paper's 65 nm is done once, in :class:`_HyflexModel`, with
hwcomponents' own ``scale_tech_node`` (Stillmaker & Baas 2017 CMOS rules). Reused models
underneath: the survey-based ``ADC`` of hwcomponents-adc and ISAAC's DAC, shift-and-add, eDRAM
and chip-to-chip link from hwcomponents-library (all instantiated at 65 nm, then scaled by the
same base class as everything else).

hwcomponents finds these classes through the tiny ``hwcomponents-hyflex`` distribution
(``hwcomponents_entry/``), which re-exports ``__all__``.
"""

from __future__ import annotations

import inspect
import math
from functools import lru_cache

from hwcomponents import ActionCost, ComponentModel, action

from hyflex_plugin.architecture.design import DIGITAL_FORMATS, load_arch
from hyflex_plugin.basetypes import closest_name, did_you_mean
from hyflex_plugin.costmodels.constants import const, const_int
from hyflex_plugin.errors import HyflexInputError

__all__ = [
    "HyflexRRAMCell",
    "HyflexRRAMArray",
    "HyflexSARADC",
    "HyflexWordlineDriver",
    "HyflexShiftAdd",
    "HyflexModeSwitch",
    "HyflexDigitalPIMArray",
    "HyflexSFU",
    "HyflexBuffer",
    "HyflexLink",
    "HyflexAnalogModule",
    "HyflexDigitalModule",
]

#: Node [m] the cost constants of the data file are stated at.
_BASE = const("base_tech_node")
# Constructor defaults of the design attributes: HyFlexPIM's design file (one place per parameter).
_HYFLEXPIM = load_arch()
_A, _D, _PU = _HYFLEXPIM.analog, _HYFLEXPIM.digital, _HYFLEXPIM.pu
_ADC_RATE = _A.columns / _A.adcs_per_array / _A.cycle  # conversions/s of one ADC


def nor_steps_per_mac(op_bits: int = 8, number_format: str = "int") -> int:
    """MAGIC NOR steps for one ``op_bits``-bit multiply-accumulate on one row lane.

    ``int``: multiply 13N^2 - 14N + 6 (Haj-Ali et al., ISCAS 2018); accumulate into a 2N-bit
    accumulator: 12*(2N) + 1 (Talati et al., IEEE TNANO 2016). N = 8 -> 726 + 193 = 919.
    ``fp`` (FP16/FP32, IEEE 754 exponent Ne and mantissa Nm bits): FloatPIM's (ISCA 2019)
    multiply 12Ne + 6.5Nm^2 - 7.5Nm - 2 plus add 3 + 16Ne + 19Nm + Nm^2 (accumulation in the
    same format). FP32 -> 3360 + 1097 = 4457; FP16 -> 633 + 373 = 1006.
    """
    n = op_bits
    if number_format == "fp":
        ne, nm = const_int(f"fp{n}_exponent_bits"), const_int(f"fp{n}_mantissa_bits")
        mult = (const("floatpim_mult_exponent") * ne + const("floatpim_mult_quadratic") * nm * nm
                + const("floatpim_mult_linear") * nm + const("floatpim_mult_constant"))
        add = (const("floatpim_add_constant") + const("floatpim_add_exponent") * ne
               + const("floatpim_add_linear") * nm + const("floatpim_add_quadratic") * nm * nm)
        return int(round(mult + add))
    mult = const("magic_mult_quadratic") * n * n + const("magic_mult_linear") * n + const(
        "magic_mult_constant"
    )
    acc_bits = const("accumulator_bits_factor") * n
    add = const("magic_add_steps_per_bit") * acc_bits + const("magic_add_constant")
    return int(mult + add)


#: Attributes AccelForge attaches to every component it costs (hwcomponents drops the ones a
#: model does not take). Never reported as misspellings, however close they look
#: (``bits_per_value`` vs ``bits_per_cell``).
ENGINE_ATTRIBUTES = frozenset({
    "actions", "actions_scale", "area_scale", "bits_per_action", "bits_per_value",
    "component_class", "component_model", "component_modeling_log", "direction", "enabled",
    "energy", "energy_scale", "extra_attributes_for_component_model", "latency_scale",
    "leak_power_scale", "n_parallel_instances", "name", "skip_initial_output_write", "spatial",
    "tensors", "throughput_scale", "total_latency", "values_per_action", "model",
    "min_priority", "area", "leak_power", "latency",
})


def attribute_names(cls) -> list[str]:
    """Constructor attributes of a hyflex model class, in signature order."""
    return [p.name for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]


def likely_misspelling(key: str, accepted: list[str]) -> str | None:
    """The accepted attribute ``key`` most likely misspells, or None."""
    if key in accepted or key in ENGINE_ATTRIBUTES:
        return None
    return closest_name(key, accepted, cutoff=0.8)


class _MisspelledAttributes(frozenset):
    """An empty set for hwcomponents whose ``in`` is true for likely misspellings.

    hwcomponents passes a constructor only the attributes it declares, plus those ``in`` the
    class's ``_additional_kwargs`` (hwcomponents 1.0 internals). Declaring likely misspellings
    (``bit_per_cell``) there makes hwcomponents pass them, so the model can reject them with a
    clear message instead of silently using the default.
    """

    def __new__(cls, accepted):
        obj = super().__new__(cls)
        obj.accepted = list(accepted)
        return obj

    def __init__(self, accepted):  # frozenset takes its content in __new__
        super().__init__()

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and likely_misspelling(key, self.accepted) is not None


class _HyflexModel(ComponentModel):
    """Shared validation and the one technology-scaling rule of all hyflex models."""

    priority = 0.9

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._additional_kwargs = _MisspelledAttributes(attribute_names(cls))

    def __init__(self, area: float, tech_node, unknown: dict, leak_power: float = 0.0,
                 scale: bool = True):
        """Reject unknown attributes, set area [m^2] and leakage [W] at 65 nm, scale to ``tech_node``.

        ``scale=False`` for compounds whose parts are already scaled.
        """
        self._reject_unknown(unknown)
        super().__init__(area=area, leak_power=leak_power)
        self.tech_node = self._scale_from_base_node(tech_node) if scale else tech_node

    def _reject_unknown(self, unknown: dict) -> None:
        """Raise for an attribute the class does not take, naming it and the accepted ones."""
        if not unknown:
            return
        accepted = attribute_names(type(self))
        key = sorted(unknown)[0]
        guess = likely_misspelling(key, accepted)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        self._fail(key, f"unknown attribute{hint}; accepted attributes: {accepted}")

    # ---- validation helpers: errors name the attribute and the accepted values ---------
    def _fail(self, attr: str, message: str) -> None:
        raise HyflexInputError(type(self).__name__, attr, message)

    def _choice(self, attr: str, value, allowed: tuple, meaning: str = ""):
        if value not in allowed:
            self._fail(attr, f"expected one of {list(allowed)}{meaning}, got {value!r}")
        return value

    def _positive_int(self, attr: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value != int(value) or value <= 0:
            self._fail(attr, f"expected a positive integer, got {value!r}")
        return int(value)

    def _positive(self, attr: str, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
                or not math.isfinite(value):
            self._fail(attr, f"expected a positive number, got {value!r}")
        return float(value)

    def _scale_from_base_node(self, tech_node) -> float:
        """Check ``tech_node`` [m] and scale every cost from 65 nm to it (hwcomponents' rule).

        hwcomponents' ``scale_tech_node`` applies the Stillmaker & Baas (2017) CMOS rules. RRAM
        cell energy and area are scaled with the same rules: a simplification (smaller node ->
        shorter lines, lower voltages), stated in docs/cost-models.md.
        """
        lo, hi = const("min_tech_node"), const("max_tech_node")
        if isinstance(tech_node, bool) or not isinstance(tech_node, (int, float)) or not (
            lo * (1 - 1e-9) <= tech_node <= hi * (1 + 1e-9)
        ):
            self._fail(
                "tech_node",
                f"expected a technology node in metres between {lo:g} and {hi:g} "
                f"({lo * 1e9:g} nm .. {hi * 1e9:g} nm), got " + (
                    f"{tech_node:.4g} ({tech_node * 1e9:.4g} nm)"
                    if isinstance(tech_node, (int, float)) and not isinstance(tech_node, bool)
                    else repr(tech_node)),
            )
        return self.scale_tech_node(float(tech_node), _BASE)


def _f2_area(f2: float) -> float:
    """Area [m^2] of ``f2`` feature squares at the 65 nm base node."""
    return f2 * const("base_tech_node") ** 2


# ============================================================================ analog path
class HyflexRRAMCell(_HyflexModel):
    """One RRAM cell of an analog array, SLC (1 bit) or MLC (2 bits).

    Args:
        bits_per_cell: 1 (SLC) or 2 (MLC).
        rows, columns: size of the array the cell sits in (attributes of the macro; the cell's
            cost does not depend on them, they are validated and carried for the tables).
        cycle: analog cycle [s] (one 1-bit input applied to the array).
        tech_node: technology node [m].

    Read energy: E = V_read^2 * G_mean * t_read * P[1], averaged over stored levels (uniformly
    used, equally spaced in conductance between G_off and G_on) and input bits (P[bit = 1]).
    """

    component_name = ["hyflex_rram_cell", "HyflexRRAMCell"]

    def __init__(self, bits_per_cell: int = _A.mlc_bits_per_cell, rows: int = _A.rows,
                 columns: int = _A.columns, cycle: float = _A.cycle, tech_node: float = _BASE,
                 **unknown):
        self.bits_per_cell = self._choice("bits_per_cell", bits_per_cell, (1, 2),
                                          " (1 = SLC, 2 = MLC; 3-4-bit MLC was rejected by the paper)")
        self.rows = self._positive_int("rows", rows)
        self.columns = self._positive_int("columns", columns)
        self.cycle = self._positive("cycle", cycle)
        super().__init__(_f2_area(const("analog_cell_area")), tech_node, unknown)

    @property
    def mean_conductance(self) -> float:
        """Mean cell conductance [S] over uniformly used levels."""
        g_on = 1.0 / const("rram_r_on")
        g_off = g_on / const("rram_on_off_ratio")
        levels = 2 ** self.bits_per_cell
        return sum(g_off + (g_on - g_off) * k / (levels - 1) for k in range(levels)) / levels

    @action
    def read(self) -> ActionCost:
        """One cell conducting for one 1-bit input cycle."""
        t = const("rram_read_pulse")
        v = const("rram_read_voltage")
        e = v * v * self.mean_conductance * t * const("input_bit_one_probability")
        return ActionCost(energy=e, latency=self.cycle, throughput=1 / self.cycle)

    @action
    def write(self) -> ActionCost:
        """Programming one cell: SLC one SET pulse, MLC write-verify (N pulses, each verified)."""
        v, r, t = const("rram_set_voltage"), const("rram_r_on"), const("rram_set_pulse")
        pulse = v * v / r * t
        if self.bits_per_cell == 1:
            return ActionCost(energy=pulse, latency=t, throughput=1 / t)
        n = const("mlc_write_verify_iterations")
        t_verify = const("rram_verify_read_pulse")
        verify = const("rram_read_voltage") ** 2 * self.mean_conductance * t_verify
        lat = n * (t + t_verify)
        return ActionCost(energy=n * (pulse + verify), latency=lat, throughput=1 / lat)


class HyflexRRAMArray(_HyflexModel):
    """A ``rows`` x ``columns`` analog RRAM array (cells only; drivers and ADC are separate)."""

    component_name = ["hyflex_rram_array", "HyflexRRAMArray"]

    def __init__(self, bits_per_cell: int = _A.mlc_bits_per_cell, rows: int = _A.rows,
                 columns: int = _A.columns, cycle: float = _A.cycle, tech_node: float = _BASE,
                 **unknown):
        self._cell = HyflexRRAMCell(bits_per_cell, rows, columns, cycle, _BASE)
        self.bits_per_cell, self.rows, self.columns = bits_per_cell, rows, columns
        self.cycle = cycle
        self.n_cells = self._cell.rows * self._cell.columns
        super().__init__(self.n_cells * self._cell.area, tech_node, unknown)

    @property
    def bits_stored(self) -> int:
        """Weight bits the array holds [bits]."""
        return self.n_cells * self.bits_per_cell

    @action
    def read(self) -> ActionCost:
        """One analog cycle: every row driven with one input bit, every cell conducts."""
        c = self._cell.read()
        return ActionCost(energy=self.n_cells * c.energy, latency=c.latency, throughput=c.throughput)

    @action
    def write(self) -> ActionCost:
        """Programming every cell of the array once, row after row."""
        c = self._cell.write()
        # rows are programmed one after another, all columns of a row in parallel
        lat = self.rows * c.latency
        return ActionCost(energy=self.n_cells * c.energy, latency=lat, throughput=1 / lat)


def cached_model(cls: type, **attributes):
    """``cls(**attributes)``, the same instance for the same class, attributes and overridden
    constants (:func:`~hyflex_plugin.costmodels.constants.overridden_constants`; an instance
    reads the constants when it is built and when an action is called).

    For callers that only read costs: sweeps build the same modules, SFU and link thousands of
    times, and building one costs far more than reading it.
    """
    from hyflex_plugin.costmodels.constants import active_overrides

    return _cached_model(cls, tuple(sorted(active_overrides().items())),
                         tuple(sorted(attributes.items())))


@lru_cache(maxsize=4096)
def _cached_model(cls: type, overrides: tuple, attributes: tuple):
    return cls(**dict(attributes))


def cached_action(cls: type, action: str, **attributes) -> ActionCost:
    """``cached_model(cls, **attributes).<action>()``, memoised the same way (an action reads
    the constants when it is called; no ``bits_per_action`` here).
    """
    from hyflex_plugin.costmodels.constants import active_overrides

    return _cached_action(cls, action, tuple(sorted(active_overrides().items())),
                          tuple(sorted(attributes.items())))


@lru_cache(maxsize=4096)
def _cached_action(cls: type, action: str, overrides: tuple, attributes: tuple) -> ActionCost:
    return getattr(cached_model(cls, **dict(attributes)), action)()


@lru_cache(maxsize=4096)
def _survey_adc(n_bits: int, throughput: float) -> tuple[float, float]:
    """(area [m^2], energy of one conversion [J]) of hwcomponents-adc's survey ``ADC`` at 65 nm.

    Memoised: the survey model re-reads its YAML fit file on every instantiation (about 3 ms,
    most of the cost of a design's area in a sweep); its result depends on these two numbers
    only (no hyflex constant enters it).
    """
    from hwcomponents_adc import ADC  # survey model (hwcomponents-adc)

    adc = ADC(n_bits=n_bits, tech_node=_BASE, throughput=throughput)
    return adc.area, adc.read().energy


class HyflexSARADC(_HyflexModel):
    """The reconfigurable SAR ADC: built for ``max_resolution`` bits, used at fewer in SLC mode.

    Energy per conversion and area come from hwcomponents-adc's survey-based ``ADC`` (Murmann
    survey fit, arXiv 2404.06553) at 65 nm, multiplied by the calibration factors of the data
    file (tuned against the paper's Table 2). Area is that of the ``max_resolution`` ADC (the
    capacitor array is built for it); energy is that of a ``resolution``-bit conversion (the
    skipped MSB capacitor is neither charged nor compared).

    Args:
        resolution: bits converted (7 = MLC mode, 6 = SLC mode); 4 <= resolution <= max_resolution.
        max_resolution: bits the ADC is built for.
        throughput: conversions per second of this ADC (default: every column of an array once
            per analog cycle, shared by the array's ADCs).
        tech_node: [m].
    """

    component_name = ["hyflex_sar_adc", "hyflex_adc", "HyflexSARADC"]

    def __init__(self, resolution: int = _A.adc_bits_mlc, max_resolution: int = _A.adc_max_bits,
                 throughput: float = _ADC_RATE, tech_node: float = _BASE, **unknown):
        self.max_resolution = self._positive_int("max_resolution", max_resolution)
        if self.max_resolution < 4:
            self._fail("max_resolution", f"expected >= 4 bits (survey model range), got {max_resolution!r}")
        self.resolution = self._choice("resolution", resolution,
                                       tuple(range(4, self.max_resolution + 1)),
                                       " (bits; 7 = MLC mode, 6 = SLC mode)")
        self.throughput = self._positive("throughput", throughput)
        built_area, _ = _survey_adc(self.max_resolution, self.throughput)
        _, used_energy = _survey_adc(self.resolution, self.throughput)
        self._energy = used_energy * const("adc_energy_calibration")
        # survey leakage (20 % of its energy) dropped: adc_energy_calibration was tuned without it
        super().__init__(built_area * const("adc_area_calibration"), tech_node, unknown)

    @action
    def convert(self) -> ActionCost:
        """One ``resolution``-bit conversion of one column's current."""
        return ActionCost(energy=self._energy, latency=1 / self.throughput, throughput=self.throughput)

    @action
    def read(self) -> ActionCost:
        """One conversion (= ``convert``; the name AccelForge's tolls call)."""
        return self.convert()


class HyflexWordlineDriver(_HyflexModel):
    """A 1-bit word-line driver (inputs are bit-serial: 8 cycles for INT8).

    ISAAC's 1-bit DAC (hwcomponents-library ``IsaacDAC``, Shafiee et al., ISCA 2016) at 65 nm.
    Throughput: a bank of ``rows`` drivers per array drives every row once per analog ``cycle``.
    """

    component_name = ["hyflex_wordline_driver", "HyflexWordlineDriver"]

    def __init__(self, rows: int = _A.rows, cycle: float = _A.cycle, tech_node: float = _BASE,
                 **unknown):
        from hwcomponents_library import IsaacDAC

        self.rows = self._positive_int("rows", rows)
        self.cycle = self._positive("cycle", cycle)
        dac = IsaacDAC(tech_node=_BASE, resolution=1, rows=1)
        self._energy = dac.read().energy
        # no leakage to drop: ISAAC's DAC figure has none (0 in hwcomponents-library)
        super().__init__(dac.area, tech_node, unknown)

    @action
    def read(self) -> ActionCost:
        """Driving one row for one input bit."""
        return ActionCost(energy=self._energy, latency=self.cycle, throughput=self.rows / self.cycle)


class HyflexShiftAdd(_HyflexModel):
    """Shift-and-add of ADC outputs: SLC factors x1/x2/x4/x8, MLC x1/x4/x16/x64.

    ISAAC's shift-and-add (hwcomponents-library ``IsaacShiftAdd``) at 65 nm, one per ADC, run at
    the ADC's conversion rate (``throughput``).
    """

    component_name = ["hyflex_shift_add", "HyflexShiftAdd"]

    def __init__(self, bits_per_cell: int = _A.mlc_bits_per_cell,
                 width: int | None = None, throughput: float = _ADC_RATE,
                 tech_node: float = _BASE, **unknown):
        from hwcomponents_library import IsaacShiftAdd

        self.bits_per_cell = self._choice("bits_per_cell", bits_per_cell, (1, 2),
                                          " (1 = SLC, 2 = MLC)")
        # the data file's width, read at call time (sensitivity studies replace it)
        self.width = self._positive_int(
            "width", const_int("shift_add_width") if width is None else width)
        self.throughput = self._positive("throughput", throughput)
        sa = IsaacShiftAdd(tech_node=_BASE, width=self.width)
        self._energy = sa.read().energy
        # no leakage to drop: ISAAC's shift-and-add figure has none (0 in hwcomponents-library)
        super().__init__(sa.area, tech_node, unknown)

    @property
    def shift_factors(self) -> list[int]:
        """Weights of the four column slices of one INT8 weight group (x1/x2/x4/x8 or x1/x4/x16/x64)."""
        return [2 ** (self.bits_per_cell * i) for i in range(4)]

    @action
    def compute(self) -> ActionCost:
        """One shift-and-add of one ADC output into its column group's register."""
        return ActionCost(energy=self._energy, latency=1 / self.throughput,
                          throughput=self.throughput)

    @action
    def read(self) -> ActionCost:
        """One shift-and-add (= ``compute``; the name AccelForge's tolls call)."""
        return self.compute()


class HyflexModeSwitch(_HyflexModel):
    """The SLC/MLC mode switch of one ADC + shift-and-add pair.

    A transmission gate that disconnects the ADC's MSB capacitor (6-bit SLC mode), plus one 2:1
    mux per shift-control bit choosing the SLC or MLC shift factors.
    """

    component_name = ["hyflex_mode_switch", "HyflexModeSwitch"]

    def __init__(self, tech_node: float = _BASE, **unknown):
        n_mux = const("shift_control_muxes")
        super().__init__(const("msb_cap_switch_area") + n_mux * const("mux2_area"), tech_node,
                         unknown)

    @action
    def read(self) -> ActionCost:
        """The switch path's overhead on one conversion (gate and mux charge)."""
        e = const("msb_cap_switch_energy") + const("shift_control_muxes") * const("mux2_energy")
        return ActionCost(energy=e, latency=0.0, throughput=float("inf"))

    @action
    def switch(self) -> ActionCost:
        """One SLC <-> MLC mode change (rewriting the mode latches)."""
        t = const("mode_switch_latency")
        return ActionCost(energy=const("mode_switch_energy"), latency=t, throughput=1 / t)


# ============================================================================ digital path
class HyflexDigitalPIMArray(_HyflexModel):
    """A ``rows`` x ``columns`` SLC RRAM array doing MAGIC-style bit-wise NOR/INV logic.

    Row-parallel: one NOR step runs in every row at once, one step per ``clock_hz`` cycle; each
    row is a lane computing its own multiply-accumulate in :func:`nor_steps_per_mac` steps
    (919 for INT8; ``number_format`` 'fp': FP16/FP32 with FloatPIM's step counts). Area is that
    of the whole array; AccelForge instantiates one model per lane, so hyflex takes area from
    the design (modules x arrays), not from AccelForge's per-instance sum.
    """

    component_name = ["hyflex_digital_pim_array", "HyflexDigitalPIMArray"]

    def __init__(self, rows: int = _D.rows, columns: int = _D.columns, op_bits: int = _D.op_bits,
                 clock_hz: float = _D.clock, tech_node: float = _BASE,
                 number_format: str = _D.number_format, **unknown):
        self.rows = self._positive_int("rows", rows)
        self.columns = self._positive_int("columns", columns)
        self.number_format = self._choice("number_format", number_format, tuple(DIGITAL_FORMATS),
                                          " (int = fixed point, fp = IEEE floating point)")
        self.op_bits = self._choice("op_bits", op_bits, DIGITAL_FORMATS[self.number_format],
                                    f" (bits per {self.number_format} operand)")
        self.clock_hz = self._positive("clock_hz", clock_hz)
        self.nor_steps_per_mac = nor_steps_per_mac(self.op_bits, self.number_format)
        super().__init__(self.rows * self.columns * _f2_area(const("digital_cell_area")),
                         tech_node, unknown)

    @property
    def cycle(self) -> float:
        """One NOR step [s]."""
        return 1.0 / self.clock_hz

    @action
    def nor(self) -> ActionCost:
        """One NOR step in every row of the array."""
        return ActionCost(energy=self.rows * const("digital_nor_energy"), latency=self.cycle,
                          throughput=1 / self.cycle)

    @action
    def compute(self) -> ActionCost:
        """One ``op_bits`` multiply-accumulate on one row lane (throughput per lane)."""
        lat = self.nor_steps_per_mac * self.cycle
        return ActionCost(energy=self.nor_steps_per_mac * const("digital_nor_energy"), latency=lat,
                          throughput=1 / lat)

    @action
    def read(self) -> ActionCost:
        """Reading one ``op_bits`` operand of one lane (a NOR-based copy of its cells)."""
        return ActionCost(energy=self.op_bits * const("digital_nor_energy"), latency=self.cycle,
                          throughput=1 / self.cycle)

    @action
    def write(self) -> ActionCost:
        """Writing one ``op_bits`` operand of one lane (its cells switched, each priced as a NOR step)."""
        return ActionCost(energy=self.op_bits * const("digital_nor_energy"),
                          latency=self.cycle, throughput=1 / self.cycle)


class HyflexSFU(_HyflexModel):
    """The special-function unit: softmax, layer norm and GELU, ``lanes`` elements per cycle.

    Energy per element = fixed-point operation count x energy per operation (data file).
    """

    component_name = ["hyflex_sfu", "HyflexSFU"]

    def __init__(self, lanes: int = _PU.sfu_lanes, clock_hz: float = _D.clock,
                 tech_node: float = _BASE, **unknown):
        self.lanes = self._positive_int("lanes", lanes)
        self.clock_hz = self._positive("clock_hz", clock_hz)
        super().__init__(self.lanes * const("sfu_area_per_lane"), tech_node, unknown)

    def _per_element(self, ops_name: str) -> ActionCost:
        thr = self.lanes * self.clock_hz
        return ActionCost(energy=const(ops_name) * const("sfu_op_energy"), latency=1 / self.clock_hz,
                          throughput=thr)

    @action
    def softmax(self) -> ActionCost:
        """Softmax of one element (exp, running sum, normalisation)."""
        return self._per_element("sfu_ops_softmax")

    @action
    def layernorm(self) -> ActionCost:
        """Layer norm of one element (mean, variance, scale, affine)."""
        return self._per_element("sfu_ops_layernorm")

    @action
    def gelu(self) -> ActionCost:
        """GELU of one element (tanh approximation by LUT)."""
        return self._per_element("sfu_ops_gelu")

    @action
    def compute(self) -> ActionCost:
        """Softmax of one element (= ``softmax``; the name AccelForge's computes call)."""
        return self.softmax()


# ============================================================================ buffers, links
class HyflexBuffer(_HyflexModel):
    """On-PU buffer: ISAAC's eDRAM (hwcomponents-library ``IsaacEDRAM``) at 65 nm.

    Read in words of ``width`` bits: an engine that passes ``bits_per_action`` (AccelForge does)
    gets the energy scaled by bits_per_action / width.
    """

    component_name = ["hyflex_buffer", "HyflexBuffer"]

    def __init__(self, width: int = _PU.buffer_width, size: int = _PU.buffer_bits,
                 tech_node: float = _BASE, **unknown):
        from hwcomponents_library import IsaacEDRAM

        self.width = self._positive_int("width", width)
        self.size = self._positive_int("size", size)
        if self.size < self.width:
            self._fail("size", f"expected size >= width ({self.width} bits), got {size!r}")
        mem = IsaacEDRAM(tech_node=_BASE, width=self.width, size=self.size)
        self._read, self._write = mem.read(), mem.write()
        super().__init__(mem.area, tech_node, unknown, leak_power=mem.leak_power)

    @action(bits_per_action="width")
    def read(self) -> ActionCost:
        """Reading one ``width``-bit word."""
        t = const("buffer_access_latency")
        return ActionCost(energy=self._read.energy, latency=t, throughput=1 / t)

    @action(bits_per_action="width")
    def write(self) -> ActionCost:
        """Writing one ``width``-bit word."""
        t = const("buffer_access_latency")
        return ActionCost(energy=self._write.energy, latency=t, throughput=1 / t)


class HyflexLink(_HyflexModel):
    """Link between processing units and chips: ISAAC's chip-to-chip link.

    Energy per bit from hwcomponents-library ``IsaacChip2ChipLink``; ``bandwidth`` bytes/s
    (128 GB/s in the paper's setup). Transfers words of ``width`` bits: an engine that passes
    ``bits_per_action`` gets the energy scaled by bits_per_action / width.
    """

    component_name = ["hyflex_link", "HyflexLink"]

    def __init__(self, bandwidth: float = _HYFLEXPIM.chip.link_bandwidth,
                 width: int = const_int("link_width"), tech_node: float = _BASE, **unknown):
        from hwcomponents_library import IsaacChip2ChipLink

        self.bandwidth = self._positive("bandwidth", bandwidth)
        self.width = self._positive_int("width", width)
        link = IsaacChip2ChipLink(tech_node=_BASE, width=self.width)
        self._energy = link.read().energy
        # no leakage to drop: ISAAC's link figure has none (0 in hwcomponents-library)
        super().__init__(link.area, tech_node, unknown)

    @action(bits_per_action="width")
    def read(self) -> ActionCost:
        """Transferring one ``width``-bit word."""
        lat = self.width / 8 / self.bandwidth
        return ActionCost(energy=self._energy, latency=lat, throughput=1 / lat)

    @action(bits_per_action="width")
    def write(self) -> ActionCost:
        """Transferring one ``width``-bit word (= ``read``: one transfer)."""
        return self.read()


# ============================================================================ compounds
class HyflexAnalogModule(_HyflexModel):
    """One analog PIM module: ``arrays`` RRAM arrays with their drivers, ADCs, shift-adders.

    Each array has its 1-bit row drivers, ADC(s), shift-and-add and mode switch, run in SLC
    (``bits_per_cell`` 1) or MLC (2) mode. Costs are counts x per-action costs of the component
    models (no totals written down). A design with a mode switch converts at ``max_adc_bits`` in
    MLC mode and one bit less in SLC mode, unless ``adc_bits`` says otherwise.
    """

    component_name = ["hyflex_analog_module", "HyflexAnalogModule"]

    def __init__(self, arrays: int = _PU.arrays_per_module, rows: int = _A.rows,
                 columns: int = _A.columns, bits_per_cell: int = _A.mlc_bits_per_cell,
                 adcs_per_array: float = _A.adcs_per_array, max_adc_bits: int = _A.adc_max_bits,
                 mode_switch: bool = True, cycle: float = _A.cycle, adc_bits: int | None = None,
                 tech_node: float = _BASE, **unknown):
        self.arrays = self._positive_int("arrays", arrays)
        self.rows = self._positive_int("rows", rows)
        self.columns = self._positive_int("columns", columns)
        self.bits_per_cell = self._choice("bits_per_cell", bits_per_cell, (1, 2), " (1 = SLC, 2 = MLC)")
        self.adcs_per_array = self._positive("adcs_per_array", adcs_per_array)
        self.mode_switch = bool(mode_switch)
        self.cycle = self._positive("cycle", cycle)
        if adc_bits is None:
            # a design with a mode switch runs SLC at one bit less (MSB capacitor skipped)
            adc_bits = max_adc_bits if (bits_per_cell == 2 or not mode_switch) else max_adc_bits - 1
        rate = self.columns / self.adcs_per_array / cycle  # conversions/s of one ADC
        self.parts = {
            "rram_array": (HyflexRRAMArray(bits_per_cell, rows, columns, cycle, tech_node),
                           self.arrays),
            "adc": (HyflexSARADC(adc_bits, max_adc_bits, throughput=rate, tech_node=tech_node),
                    self.arrays * self.adcs_per_array),
            "wordline_driver": (HyflexWordlineDriver(rows, cycle, tech_node), self.arrays * self.rows),
            "shift_add": (HyflexShiftAdd(bits_per_cell, throughput=rate, tech_node=tech_node),
                          self.arrays * self.adcs_per_array),
            "mode_switch": (HyflexModeSwitch(tech_node),
                            self.arrays * self.adcs_per_array if self.mode_switch else 0),
        }
        # per-cycle action counts of each part
        self.actions_per_cycle = {
            "rram_array": self.arrays,                    # read: one analog cycle per array
            "adc": self.arrays * self.columns,            # every column converted once
            "wordline_driver": self.arrays * self.rows,   # every row driven once
            "shift_add": self.arrays * self.columns,      # one shift-add per conversion
            "mode_switch": self.arrays * self.columns if self.mode_switch else 0,
        }
        super().__init__(sum(m.area * n for m, n in self.parts.values()), tech_node, unknown,
                         scale=False)

    def area_breakdown(self) -> dict[str, float]:
        """Area [m^2] per part."""
        return {k: m.area * n for k, (m, n) in self.parts.items()}

    def cycle_energy_breakdown(self) -> dict[str, float]:
        """Energy [J] per part for one fully active analog cycle."""
        return {k: self.parts[k][0].read().energy * n for k, n in self.actions_per_cycle.items()}

    @action
    def mvm_cycle(self) -> ActionCost:
        """One analog cycle with every array active (every row driven, every column converted)."""
        t = self.cycle
        return ActionCost(energy=sum(self.cycle_energy_breakdown().values()), latency=t,
                          throughput=1 / t)

    @action
    def read(self) -> ActionCost:
        """One fully active analog cycle (= ``mvm_cycle``)."""
        return self.mvm_cycle()


class HyflexDigitalModule(_HyflexModel):
    """One digital PIM module: ``arrays`` SLC arrays doing NOR logic at ``clock_hz``."""

    component_name = ["hyflex_digital_module", "HyflexDigitalModule"]

    def __init__(self, arrays: int = _PU.digital_arrays_per_module, rows: int = _D.rows,
                 columns: int = _D.columns, op_bits: int = _D.op_bits, clock_hz: float = _D.clock,
                 tech_node: float = _BASE, number_format: str = _D.number_format, **unknown):
        self.arrays = self._positive_int("arrays", arrays)
        self.array = HyflexDigitalPIMArray(rows, columns, op_bits, clock_hz, tech_node,
                                           number_format)
        super().__init__(self.arrays * self.array.area, tech_node, unknown, scale=False)

    @property
    def macs_per_cycle(self) -> float:
        """``op_bits`` MACs completed per cycle with every lane busy."""
        return self.arrays * self.array.rows / self.array.nor_steps_per_mac

    @action
    def cycle(self) -> ActionCost:
        """One clock cycle with every row lane of every array doing a NOR step."""
        c = self.array.nor()
        return ActionCost(energy=self.arrays * c.energy, latency=c.latency, throughput=c.throughput)

    @action
    def read(self) -> ActionCost:
        """One fully active clock cycle (= ``cycle``)."""
        return self.cycle()


def _model_classes() -> dict[str, type[_HyflexModel]]:
    return {name: globals()[name] for name in __all__}


def create(component: str, **attributes) -> _HyflexModel:
    """Instantiate a hyflex model by class name or component name, checking attribute names.

    A misspelled attribute raises :class:`HyflexInputError` naming it and the accepted ones.
    """
    classes = _model_classes()
    by_name = {}
    for cls in classes.values():
        for n in [cls.__name__, *cls.component_name]:
            by_name[n.lower()] = cls
    cls = by_name.get(component.lower())
    if cls is None:
        raise HyflexInputError(None, "component", f"unknown component {component!r}; "
                               f"accepted: {sorted(c.__name__ for c in classes.values())}"
                               + did_you_mean(component.lower(), by_name))
    return cls(**attributes)  # an unknown attribute raises, naming it and the accepted ones
