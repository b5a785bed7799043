"""Latency mechanisms of the analog path, as plain functions (no AccelForge, no I/O).

The exact engine (``evaluation.model``, AccelForge per Einsum) and any fast engine call these
same functions, so the two cannot drift (docs/design.md, "Timing and replication contract"):

- :func:`adc_conversion_time` - a SAR ADC resolves one bit per step: conversion time =
  (bits + sampling steps) x step time (``adc_sar_step_time``, ``adc_sampling_steps`` in the
  cost-model data file, scaled from 65 nm with the Stillmaker & Baas latency rule), never faster
  than the rate hwcomponents-adc's survey model allows at that resolution without an energy
  penalty (:func:`survey_max_rate`);
- :func:`array_time_per_input_bit` - ADCs are shared over columns, so one input bit of an array
  takes max(analog cycle, converted columns per ADC x conversion time);
- :func:`part_token_time` - one token through one linear part (``input_bits`` bit-serial cycles
  of its fullest array);
- :func:`choose_replicas` - spare analog arrays of the PUs a block occupies hold copies of its
  matrices (ISAAC-style pipeline balancing); copies serve different tokens;
- :func:`part_latency` and :func:`layer_latency` - how part and Einsum latencies compose into a
  block's latency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

#: Linear stages of a block, in execution order; matrices of one stage run at once.
LINEAR_STAGES: tuple[tuple[str, ...], ...] = (("q", "k", "v"), ("attn_out",),
                                              ("ffn1", "ffn_gate"), ("ffn2",))
_EPS = 1e-12


# ----------------------------------------------------------------------------- ADC timing
@cache
def survey_max_rate(bits: int) -> float:
    """Highest conversion rate [1/s] at which hwcomponents-adc's survey model (Murmann ADC
    survey fit, arXiv 2404.06553) still gives its best energy for ``bits``.

    The model's Schreier figure of merit falls with ln(rate) above a corner and is capped by a
    per-resolution maximum below it; the corner is where the two meet (also capped at the
    model's maximum frequency). Above it, a faster ADC of that resolution costs more energy per
    conversion. The model file is read from the installed hwcomponents-adc.
    """
    import yaml
    from hwcomponents_adc.headers import FOMS, FREQ, INTERCEPT, MAX, MAX_BY_ENOB
    from hwcomponents_adc.main import MODEL_FILE

    with open(MODEL_FILE) as f:
        model = yaml.safe_load(f)
    caps = model[FOMS][MAX_BY_ENOB]
    cap = caps[max(min(math.ceil(bits), len(caps) - 1), 0)]
    ln_f = (cap - model[FOMS][INTERCEPT]) / model[FOMS][FREQ]
    return math.exp(min(ln_f, model[FREQ][MAX]))


def sar_conversion_time(bits: int, step_time: float, sampling_steps: float) -> float:
    """(bits + sampling steps) x step time [s]."""
    return (bits + sampling_steps) * step_time


def adc_conversion_time(bits: int, tech_node: float = 65e-9, step_time: float | None = None,
                        sampling_steps: float | None = None) -> float:
    """Time [s] of one ``bits``-bit SAR conversion at ``tech_node`` [m].

    ``step_time`` (at 65 nm) and ``sampling_steps`` default to the data file's constants; they
    are arguments so a sensitivity study can vary them without touching the file.
    """
    from hwcomponents.scaling import tech_node_latency

    from hyflex_plugin.costmodels.constants import const

    step = const("adc_sar_step_time") if step_time is None else step_time
    samp = const("adc_sampling_steps") if sampling_steps is None else sampling_steps
    base = const("base_tech_node")
    step_here = step * (tech_node_latency(tech_node, base) if tech_node != base else 1.0)
    return max(sar_conversion_time(bits, step_here, samp), 1.0 / survey_max_rate(bits))


def array_time_per_input_bit(cycle: float, converted_columns: float, adcs_per_array: float,
                             conversion_time: float) -> float:
    """One input bit on one array [s]: max(analog cycle, columns each ADC converts x t_conv).

    ``converted_columns`` are the array's used columns; with ``adcs_per_array`` < 1 one ADC
    serves several arrays, so it converts ``converted_columns / adcs_per_array`` columns.
    """
    return max(cycle, converted_columns / adcs_per_array * conversion_time)


# ----------------------------------------------------------------------------- linear parts
@dataclass(frozen=True)
class AnalogTiming:
    """The design numbers the analog timing needs (taken from a design file by
    :func:`analog_timing`; plain numbers so a fast engine can build one directly).
    """

    rows: int
    columns: int
    weight_bits: int
    input_bits: int
    slc_bits_per_cell: int
    mlc_bits_per_cell: int
    adc_bits_slc: int
    adc_bits_mlc: int
    adcs_per_array: float
    cycle: float
    conversion_time_slc: float
    conversion_time_mlc: float


def analog_timing(design, step_time: float | None = None,
                  sampling_steps: float | None = None) -> AnalogTiming:
    """:class:`AnalogTiming` of a :class:`~hyflex_plugin.architecture.design.HyflexDesign`."""
    a = design.analog
    return AnalogTiming(
        a.rows, a.columns, a.weight_bits, a.input_bits, a.slc_bits_per_cell,
        a.mlc_bits_per_cell, a.adc_bits_slc, a.adc_bits_mlc, a.adcs_per_array, a.cycle,
        adc_conversion_time(a.adc_bits_slc, design.tech_node, step_time, sampling_steps),
        adc_conversion_time(a.adc_bits_mlc, design.tech_node, step_time, sampling_steps))


def outputs_per_array(n: int, weights_per_row: int) -> int:
    """Outputs on the fullest array when ``n`` outputs are spread evenly over the fewest arrays.

    The pinned mapping (``mappings/analog_weight_stationary.yaml``, tile shape of ``arrays_n``)
    and AccelForge's mapper spread a part's outputs evenly: ceil(n / arrays) per array, e.g.
    13 + 13 + 12 for 38 outputs on 16-wide arrays, not 16 + 16 + 6.

    >>> outputs_per_array(38, 16), outputs_per_array(768, 16), outputs_per_array(5, 16)
    (13, 16, 5)
    """
    arrays = -(-n // weights_per_row)
    return -(-n // arrays)


def part_columns(t: AnalogTiming, n: int, slc: bool) -> int:
    """Used columns of the fullest array of a part with ``n`` outputs (outputs spread evenly)."""
    slices = t.weight_bits // (t.slc_bits_per_cell if slc else t.mlc_bits_per_cell)
    return outputs_per_array(n, t.columns // slices) * slices


def conversion_rate_per_array(t: AnalogTiming, slc: bool) -> float:
    """Conversions per second an array's share of ADCs delivers (the AccelForge ADC throughput)."""
    return t.adcs_per_array / (t.conversion_time_slc if slc else t.conversion_time_mlc)


def part_token_time(t: AnalogTiming, n: int, slc: bool) -> float:
    """One token through a linear part with ``n`` outputs [s]: input_bits x time per input bit
    of its fullest array (every array of the part works at once).
    """
    t_conv = t.conversion_time_slc if slc else t.conversion_time_mlc
    return t.input_bits * array_time_per_input_bit(t.cycle, part_columns(t, n, slc),
                                                   t.adcs_per_array, t_conv)


def part_latency(tokens: int, replicas: int, token_time: float) -> float:
    """``tokens`` through a part held ``replicas`` times: copies take different tokens."""
    return math.ceil(tokens / replicas) * token_time


# ----------------------------------------------------------------------------- replication
@dataclass(frozen=True)
class PartSlot:
    """One linear part as the replication choice sees it."""

    matrix: str
    arrays: int        # arrays of one copy
    token_time: float  # [s] per token on one copy


def choose_replicas(parts: Iterable[PartSlot], tokens: int, budget_arrays: int,
                    mode: str = "auto") -> list[int]:
    """Copies of each part (same order as ``parts``) under ``budget_arrays``.

    ``mode`` 'none': one copy each. 'auto': greedy pipeline balancing - starting from one copy
    each, repeatedly lower the linear stage (:data:`LINEAR_STAGES`) whose next latency step saves
    the most time per extra array, adding to every part of that stage at the stage's latency the
    fewest copies that make it faster, while the arrays fit in the budget. A block's latency is
    the sum of its stages, so this lowers it step by step; ties go to the earlier stage.
    """
    return list(_choose_replicas(tuple(parts), tokens, budget_arrays, mode))


@lru_cache(maxsize=8192)
def _choose_replicas(parts: tuple[PartSlot, ...], tokens: int, budget_arrays: int,
                     mode: str) -> tuple[int, ...]:
    """:func:`choose_replicas`, memoised (a pure function; sweeps ask for it repeatedly)."""
    reps = [1] * len(parts)
    if mode == "none" or not parts:
        return tuple(reps)
    if mode != "auto":
        raise ValueError(f"replication mode must be 'auto' or 'none', got {mode!r}")
    used = sum(p.arrays for p in parts)
    stage_of = {m: i for i, stage in enumerate(LINEAR_STAGES) for m in stage}
    stages: dict[int, list[int]] = {}
    for i, p in enumerate(parts):
        stages.setdefault(stage_of.get(p.matrix, len(LINEAR_STAGES) + i), []).append(i)

    token_time = [p.token_time for p in parts]

    def step(members: list[int]) -> tuple[float, dict[int, int], int] | None:
        """The stage's next latency step: (time saved per extra array, copies to add, extra
        arrays), or None if it cannot get faster. Depends on the stage's own copies only.
        """
        lats = [part_latency(tokens, reps[i], token_time[i]) for i in members]
        now = max(lats)
        add: dict[int, int] = {}
        for i, li in zip(members, lats):
            if li >= now - _EPS * now:
                r = reps[i]
                if r >= tokens:
                    return None
                # fewest extra copies that make this part faster: ceil(tokens / r) must drop
                r = max(r + 1, math.ceil(tokens / (math.ceil(tokens / r) - 1)))
                add[i] = r - reps[i]
        if not add:
            return None
        cost = sum(parts[i].arrays * d for i, d in add.items())
        new = max(part_latency(tokens, reps[i] + add.get(i, 0), token_time[i]) for i in members)
        return (now - new) / max(cost, 1), add, cost

    order = sorted(stages)
    steps = {s: step(stages[s]) for s in order}  # only the stage just lowered changes
    while True:
        best = None
        for s in order:
            st = steps[s]
            if st is None or used + st[2] > budget_arrays:
                continue
            gain = st[0]
            if gain > 0 and (best is None or gain > best[0][0] * (1 + 1e-9)):
                best = (st, s)
        if best is None:
            return tuple(reps)
        (_, add, cost), s = best
        for i, d in add.items():
            reps[i] += d
        used += cost
        steps[s] = step(stages[s])


def replicated_parts(t: AnalogTiming, parts, tokens: int, budget_arrays: int,
                     mode: str = "auto") -> list[tuple[int, float]]:
    """(copies, latency [s]) of each part ``(matrix, n_out, slc, arrays)`` of a block: the
    replication choice and the part latencies, as the exact and the fast engines use them.
    """
    slots = [PartSlot(m, arrays, part_token_time(t, n, slc)) for m, n, slc, arrays in parts]
    reps = choose_replicas(slots, tokens, budget_arrays, mode)
    return [(r, part_latency(tokens, r, s.token_time)) for r, s in zip(reps, slots)]


# ----------------------------------------------------------------------------- block latency
def layer_latency(lat: Mapping[str, float]) -> float:
    """A block's latency [s] from its Einsums' latencies: the stages run one after another,
    the matrices of a linear stage (Q/K/V; FFN1/gate) at once.
    """
    g = lat.get
    return (max(g("q", 0.0), g("k", 0.0), g("v", 0.0)) + g("qk", 0.0) + g("softmax", 0.0)
            + g("sv", 0.0) + g("attn_out", 0.0) + g("layernorm", 0.0)
            + max(g("ffn1", 0.0), g("ffn_gate", 0.0)) + g("gelu", 0.0) + g("ffn2", 0.0)
            + g("link", 0.0) + g("link_tp", 0.0))
