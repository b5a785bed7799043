"""The fast engine: a vectorised closed form of the per-Einsum AccelForge evaluation.

The exact engine (``hyflex_plugin.evaluation``) renders every Einsum into an AccelForge spec with
the design's fixed mapping (``mappings/``) and lets AccelForge count the actions of every
component; energy is actions x energy per action of hyflex's cost models, latency the slowest
component (actions of one instance / its throughput). With those fixed mappings the action
counts have a closed form in the Einsum's shape and the design's parameters. This module
computes that closed form with NumPy for a batch of Einsums (the sweep asks for one distinct
Einsum at a time and memoises it: a sweep needs a few hundred), with the energy,
latency and throughput of each action taken from the same cost-model classes
(``hyflex_plugin.costmodels.models``) that AccelForge uses.

Everything else (layer composition, SLC/MLC split, array and PU counting, link, SFU, area) is
not re-implemented: the fast engine (:func:`hyflex_plugin.sweep.engines.fast_rows`) calls
:func:`hyflex_plugin.evaluation.model.evaluate_model` with this closed form in place of the
AccelForge call. The verification sample of every sweep (``--verify N``) and
``tests/test_sweep_fast.py`` check the two engines against each other.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hyflex_plugin.evaluation.engine import EinsumCost

#: A value has the operands' width in the AccelForge templates (``bits_per_value``:
#: ``input_bits`` on the analog path, ``op_bits`` on the digital path); a buffer access moves
#: ``buffer_width`` bits (design file).


def _cost(obj, action: str) -> tuple[float, float]:
    """(energy [J], throughput [1/s]) of one action of a cost-model instance."""
    c = getattr(obj, action)()
    return float(c.energy), float(c.throughput)


@lru_cache(maxsize=4096)
def _analog_components(bits_per_cell: int, rows: int, columns: int, adc_bits: int,
                       adc_max_bits: int, adc_throughput: float, buffer_bits: int,
                       buffer_width: int, cycle: float, tech_node: float,
                       overrides: tuple = ()) -> dict[str, tuple[float, ...]]:
    from hyflex_plugin.costmodels.models import (
        HyflexBuffer,
        HyflexModeSwitch,
        HyflexRRAMCell,
        HyflexSARADC,
        HyflexShiftAdd,
        HyflexWordlineDriver,
    )

    buf = HyflexBuffer(size=buffer_bits, width=buffer_width, tech_node=tech_node)
    return {
        "Cell": _cost(HyflexRRAMCell(bits_per_cell=bits_per_cell, rows=rows, columns=columns,
                                     cycle=cycle, tech_node=tech_node), "read"),
        "ADC": _cost(HyflexSARADC(resolution=adc_bits, max_resolution=adc_max_bits,
                                  throughput=adc_throughput, tech_node=tech_node), "read"),
        "ShiftAdd": _cost(HyflexShiftAdd(bits_per_cell=bits_per_cell, tech_node=tech_node), "read"),
        "ModeSwitch": _cost(HyflexModeSwitch(tech_node=tech_node), "read"),
        "RowDriver": _cost(HyflexWordlineDriver(rows=rows, cycle=cycle, tech_node=tech_node),
                           "read"),
        "BufferRead": _cost(buf, "read"),
        "BufferWrite": _cost(buf, "write"),
    }


@lru_cache(maxsize=4096)
def _digital_components(lanes: int, op_bits: int, clock_hz: float, buffer_bits: int,
                        buffer_width: int, tech_node: float,
                        overrides: tuple = (), number_format: str = "int"
                        ) -> dict[str, tuple[float, ...]]:
    from hyflex_plugin.costmodels.models import HyflexBuffer, HyflexDigitalPIMArray

    arr = HyflexDigitalPIMArray(rows=lanes, op_bits=op_bits, clock_hz=clock_hz,
                                tech_node=tech_node, number_format=number_format)
    buf = HyflexBuffer(size=buffer_bits, width=buffer_width, tech_node=tech_node)
    return {"MAC": _cost(arr, "compute"), "CellRead": _cost(arr, "read"),
            "CellWrite": _cost(arr, "write"), "BufferRead": _cost(buf, "read"),
            "BufferWrite": _cost(buf, "write")}


def _overrides_key() -> tuple:
    from hyflex_plugin.costmodels.constants import active_overrides

    return tuple(sorted(active_overrides().items()))


def _ceil_div(a, b):
    return -(-a // b)


def analog_batch(params: list[dict]) -> list[EinsumCost]:
    """Closed form of ``arch_specs/accelforge/analog.yaml`` + the weight-stationary mapping for
    a batch of parameter sets (:func:`hyflex_plugin.evaluation.engine.linear_params`).
    """
    if not params:
        return []
    ok = _overrides_key()
    col = {k: np.array([p[k] for p in params]) for k in ("M", "K", "N", "rows", "columns",
                                                          "bits_per_cell", "input_bits",
                                                          "weight_bits", "buffer_width")}
    table = [_analog_components(int(p["bits_per_cell"]), int(p["rows"]), int(p["columns"]),
                                int(p["adc_bits"]), int(p["adc_max_bits"]),
                                float(p["adc_throughput"]), int(p["buffer_bits"]),
                                int(p["buffer_width"]), float(p["cycle"]),
                                float(p["tech_node"]), ok) for p in params]
    e = {c: np.array([t[c][0] for t in table]) for c in table[0]}
    thr = {c: np.array([t[c][1] for t in table]) for c in table[0]}
    m, k, n, rows = col["M"], col["K"], col["N"], col["rows"]
    ib = col["input_bits"]
    slices = col["weight_bits"] // col["bits_per_cell"]
    wpr = col["columns"] // slices
    arrays_n, arrays_k = _ceil_div(n, wpr), _ceil_div(k, rows)
    mode = np.array([bool(p["mode_switch"]) for p in params])

    conv = m * n * arrays_k * ib * slices                 # ADC conversions (one per column, bit)
    cell = m * k * n * ib * slices                        # cell reads (one per cell, input bit)
    drive = m * k * arrays_n * ib                         # row drives (one per row, bit, array)
    buf = m * (k + n) * ib / col["buffer_width"]          # buffer reads (= writes)
    energy = {
        "RowDriver": drive * e["RowDriver"],
        "Buffer": buf * (e["BufferRead"] + e["BufferWrite"]),
        "ShiftAdd": conv * e["ShiftAdd"],
        "ADC": conv * e["ADC"],
        "Cell": cell * e["Cell"],
    }
    energy["ModeSwitch"] = np.where(mode, conv * e["ModeSwitch"], 0.0)
    # latency: actions of one instance (a tile of the mapping: `rows` inputs x the outputs
    # spread evenly over the arrays, ceil(N / arrays_n)) / its throughput; all arrays at once
    conv_one = m * _ceil_div(n, arrays_n) * slices * ib   # conversions of one array's ADC
    lat = np.max([
        conv_one / thr["ADC"], conv_one / thr["ShiftAdd"],
        m * ib * slices / (thr["Cell"] * slices),          # one cell; throughput_scale = slices
        m * rows * ib / thr["RowDriver"],                  # one array's driver bank
        buf / thr["BufferRead"] + buf / thr["BufferWrite"],
    ], axis=0)
    macs = m * k * n
    out = []
    for i in range(len(params)):
        comp = {c: float(v[i]) for c, v in energy.items()}
        if not mode[i]:
            del comp["ModeSwitch"]
        acts = {"ADC.read": float(conv[i]), "ShiftAdd.read": float(conv[i]),
                "Cell.read": float(cell[i]), "RowDriver.read": float(drive[i]),
                "Buffer.read": float(buf[i]), "Buffer.write": float(buf[i]),
                "AnalogMAC.compute": float(macs[i])}
        if mode[i]:
            acts["ModeSwitch.read"] = float(conv[i])
        out.append(EinsumCost(comp, float(lat[i]), int(macs[i]), acts))
    return out


def digital_batch(params: list[dict]) -> list[EinsumCost]:
    """Closed form of ``arch_specs/accelforge/digital.yaml`` + the row-parallel mapping for a
    batch of parameter sets (:func:`hyflex_plugin.evaluation.engine.attention_params`).
    """
    if not params:
        return []
    ok = _overrides_key()
    col = {k: np.array([p[k] for p in params]) for k in ("H", "M", "J", "K", "lanes",
                                                          "total_arrays", "buffer_width")}
    table = [_digital_components(int(p["lanes"]), int(p["op_bits"]), float(p["clock_hz"]),
                                 int(p["buffer_bits"]), int(p["buffer_width"]),
                                 float(p["tech_node"]), ok, p.get("number_format", "int"))
             for p in params]
    bits = np.array([p["op_bits"] for p in params])
    e = {c: np.array([t[c][0] for t in table]) for c in table[0]}
    thr = {c: np.array([t[c][1] for t in table]) for c in table[0]}
    h, m, j, k = col["H"], col["M"], col["J"], col["K"]
    arrays_m = np.minimum(col["total_arrays"] // h, m)
    tile_m = _ceil_div(m, arrays_m)                       # query rows per array (spatial, padded)
    lanes_j = np.minimum(j, col["lanes"])
    waves = j / lanes_j                                    # temporal j tiles (last one partial)
    waves_up = _ceil_div(j, lanes_j)
    macs = h * m * j * k
    # per lane: A[h,m,k] is loaded into every lane of every wave (also the idle lanes of a
    # partial last wave), B[h,j,k] once per array of query rows, C[h,m,j] once per MAC
    a_lane = h * m * k * waves_up * lanes_j
    cell_reads = 2 * macs + a_lane
    cell_writes = macs + a_lane + h * j * k * _ceil_div(m, tile_m)
    # buffer: A is re-read for every wave of j; B and C once
    width = col["buffer_width"]
    buf_reads = (h * m * k * waves_up + h * j * k + h * m * j) * bits / width
    buf_writes = (h * m * k + h * j * k + h * m * j) * bits / width
    energy = {"DigitalCells": cell_reads * e["CellRead"] + cell_writes * e["CellWrite"],
              "Buffer": buf_reads * e["BufferRead"] + buf_writes * e["BufferWrite"],
              "DigitalMAC": macs * e["MAC"]}
    macs_one = waves * tile_m * k                          # MACs of the busiest lane
    lane_reads = (2 * waves + waves_up) * tile_m * k
    lane_writes = (waves + waves_up) * tile_m * k + waves * k
    lat = np.max([
        macs_one / thr["MAC"],
        lane_reads / thr["CellRead"] + lane_writes / thr["CellWrite"],
        buf_reads / thr["BufferRead"] + buf_writes / thr["BufferWrite"],
    ], axis=0)
    return [EinsumCost({c: float(v[i]) for c, v in energy.items()}, float(lat[i]), int(macs[i]),
                       {"DigitalCells.read": float(cell_reads[i]),
                        "DigitalCells.write": float(cell_writes[i]),
                        "Buffer.read": float(buf_reads[i]), "Buffer.write": float(buf_writes[i]),
                        "DigitalMAC.compute": float(macs[i])})
            for i in range(len(params))]


BATCH = {"analog": analog_batch, "digital": digital_batch}
