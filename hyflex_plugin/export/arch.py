"""Architecture documents of the Timeloop v0.4 export (analog crossbar path, digital NOR path).

CiMLoop's compute-in-memory style: arrays, rows and columns are spatial fanouts (containers), a
``cim_unit`` storage keeps the weights only, a virtualized 1-bit MAC computes; the peripherals
(ADC, shift-add, mode switch, word-line drivers) are storages that keep (or pass) one tensor.

What Timeloop counts in time is what the hardware does in time:

- analog path: one Timeloop cycle is one input-bit cycle of the arrays (``GLOBAL_CYCLE_SECONDS``
  from hyflex's own timing rule, :func:`bit_cycle_s`: the design's ``analog.cycle`` unless the
  array's ADCs take longer to convert every column); the input bits are a problem rank ``B``
  (``n_input_slices``) walked temporally, so Timeloop counts ``tokens x input bits`` cycles per
  linear part, and the cells, drivers, ADC, shift-add and mode switch are accessed once per
  input bit. Weight slices (the ``n_weight_slices`` cells of one INT8 weight side by side)
  work in parallel in the same cycle: they stay an ``energy_scale`` on the components that work
  per slice;
- digital path: one Timeloop cycle is one NOR step (``GLOBAL_CYCLE_SECONDS`` = 1 / the design's
  digital clock); the NOR steps of one INT8 MAC are a problem rank ``S`` walked temporally in a
  ``nor_steps`` level under the lane's cells, so Timeloop counts every step of every lane.

Strings that timeloopfe must not evaluate (``technology: "65nm"``) are written quoted, and every
name used in an expression (``INF``) is defined in the document's ``variables``.
"""

from __future__ import annotations

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.export import accelergy as acc
from hyflex_plugin.export.schema import Quoted, Tagged
from hyflex_plugin.units import nm

LINEAR_SPACES = ("Weights", "Inputs", "Outputs")
ATTN_SPACES = ("A", "B", "C")
#: "unbounded" depth: timeloopfe evaluates ``INF`` from ``variables``; Timeloop reads the depth
#: as a 32-bit integer, so the largest value it accepts (2^31 - 1) stands for infinity
INF_DEPTH = 2**31 - 1


def _quoted(attributes: dict) -> dict:
    """Text attributes quoted (timeloopfe evaluates an unquoted string as an expression)."""
    return {k: Quoted(v) if isinstance(v, str) and not isinstance(v, Quoted) else v
            for k, v in attributes.items()}


def _storage(name: str, prim: acc.Primitive, keep: list[str], bypass: list[str],
             energy_scale: float | None = None, depth="INF", width: int = 8,
             datawidth: int = 8, no_reuse: list[str] | None = None) -> Tagged:
    attrs = {**_quoted(prim.attributes), "depth": depth, "width": width, "datawidth": datawidth}
    constraints: dict = {"dataspace": {"keep": keep, "bypass": bypass}}
    if no_reuse:
        constraints["temporal"] = {"no_reuse": no_reuse}
    node = Tagged("!Component", name=name, **{"class": "storage"}, subclass=prim.subclass,
                  attributes=attrs, constraints=constraints)
    if energy_scale not in (None, 1):
        node["energy_scale"] = energy_scale
    return node


def _top(design: HyflexDesign) -> Tagged:
    return Tagged("!Container", name="hyflexpim_pu",
                  attributes={"technology": Quoted(nm(design.tech_node)),
                              "global_cycle_seconds": "GLOBAL_CYCLE_SECONDS"})


def _document(nodes: list, cycle_s: float, **variables) -> dict:
    # GLOBAL_CYCLE_SECONDS: the variable timeloopfe converts Timeloop's cycles to seconds with
    return {"architecture": {"version": "0.4", "nodes": nodes},
            "variables": {"version": "0.4", "INF": INF_DEPTH, "GLOBAL_CYCLE_SECONDS": cycle_s,
                          **variables}}


def mode_params(design: HyflexDesign, slc: bool) -> dict:
    """Cell-mode parameters of the analog path (bits per cell, slices, ADC bits, ...)."""
    a = design.analog
    bits = a.slc_bits_per_cell if slc else a.mlc_bits_per_cell
    n_w = a.weight_bits // bits
    return {"bits_per_cell": bits, "n_weight_slices": n_w, "n_input_slices": a.input_bits,
            "weights_per_row": a.columns // n_w,
            "adc_bits": a.adc_bits_slc if slc else a.adc_bits_mlc,
            "mode_switch": a.mlc_bits_per_cell != a.slc_bits_per_cell}


def bit_cycle_s(design: HyflexDesign, slc: bool) -> float:
    """Time [s] of one input-bit cycle of a full array: hyflex's own timing rule.

    ``evaluation.timing``: the analog cycle, or the array's ADC share converting every column,
    whichever is slower.
    """
    from hyflex_plugin.evaluation import timing

    t = timing.analog_timing(design)
    return timing.array_time_per_input_bit(
        t.cycle, design.analog.columns, t.adcs_per_array,
        t.conversion_time_slc if slc else t.conversion_time_mlc)


def analog_arch(design: HyflexDesign, slc: bool, arrays: int) -> tuple[dict, list[acc.Primitive]]:
    """Architecture document of the analog path in one cell mode, and its primitives."""
    a = design.analog
    mp = mode_params(design, slc)
    prims = acc.analog_primitives(design, slc)
    p = {prim.role: prim for prim in prims}
    s_w = mp["n_weight_slices"]
    nodes: list = [_top(design),
                   _storage("source", p["source"], list(LINEAR_SPACES), []),
                   _storage("buffer", p["buffer"], ["Inputs", "Outputs"], ["Weights"],
                            depth=design.pu.buffer_bits // p["buffer"].attributes["width"],
                            width=p["buffer"].attributes["width"]),
                   Tagged("!Container", name="arrays", spatial={"meshX": arrays})]
    # output side, per array: the shift-add keeps each output's running sum over the input
    # bits (the B loop sits here); per input bit, each column's sum is converted once by the
    # ADC and passes the mode switch, which hold it for that cycle only (no temporal reuse:
    # without it Timeloop would let them accumulate over the bits and drain once); all of
    # them work per weight slice (energy_scale)
    nodes.append(_storage("shift_add", p["shift_add"], ["Outputs"], ["Inputs", "Weights"], s_w))
    if mp["mode_switch"]:
        nodes.append(_storage("mode_switch", p["mode_switch"], ["Outputs"], ["Inputs", "Weights"],
                              s_w, no_reuse=["Outputs"]))
    nodes.append(_storage("adc", p["adc"], ["Outputs"], ["Inputs", "Weights"], s_w,
                          no_reuse=["Outputs"]))
    # input side: one 1-bit driver per row, one drive per row per input bit
    nodes.append(_storage("row_drivers", p["row_drivers"], ["Inputs"], ["Weights", "Outputs"]))
    nodes.append(Tagged("!Container", name="row", spatial={"meshY": a.rows}))
    nodes.append(Tagged("!Container", name="column", spatial={"meshX": mp["weights_per_row"]}))
    # the n_weight_slices cells of one INT8 weight: one read each per input bit
    nodes.append(_storage("cim_unit", p["cim_unit"], ["Weights"], ["Inputs", "Outputs"], s_w,
                          depth=1))
    nodes.append(Tagged("!Component", name="virtualized_mac", **{"class": "compute"},
                        subclass=p["mac"].subclass, attributes={"width": 1}))
    return _document(nodes, bit_cycle_s(design, slc), n_input_slices=mp["n_input_slices"],
                     n_weight_slices=s_w), prims


def digital_arch(design: HyflexDesign, total_arrays: int) -> tuple[dict, list[acc.Primitive]]:
    """Architecture document of the digital NOR-PIM path (attention), and its primitives."""
    d = design.digital
    prims = acc.digital_primitives(design)
    p = {prim.role: prim for prim in prims}
    nodes = [
        _top(design),
        _storage("source", p["source"], list(ATTN_SPACES), []),
        _storage("buffer", p["buffer"], list(ATTN_SPACES), [],
                 width=p["buffer"].attributes["width"]),
        Tagged("!Container", name="digital_arrays", spatial={"meshX": total_arrays}),
        Tagged("!Container", name="lanes", spatial={"meshX": d.rows}),
        _storage("digital_cells", p["digital_cells"], list(ATTN_SPACES), []),
        # the NOR steps of one MAC run on the operands already in the lane: not priced here
        # (the steps' energy is the MAC's), they only take time
        _storage("nor_steps", p["nor_steps"], list(ATTN_SPACES), []),
        Tagged("!Component", name="digital_mac", **{"class": "compute"},
               subclass=p["mac"].subclass, attributes={**_quoted(p["mac"].attributes), "width": 8}),
    ]
    return _document(nodes, 1.0 / d.clock), prims
