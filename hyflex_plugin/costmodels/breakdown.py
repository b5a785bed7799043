"""Area and peak power of any design, per component, module, processing unit (PU) and chip.

Everything is counts (from the design file) x per-action costs of the component models; no
total is written down anywhere. Peak power is every part busy at once:

- analog module: every array active every analog cycle (every row driven with one input bit,
  every column converted once), in the cell mode that draws more (MLC for HyFlexPIM);
- digital module: every row lane of every array doing one NOR step per clock cycle;
- SFU: ``lanes`` elements per cycle of its most expensive per-element action;
- buffer: one ``buffer_width``-bit access (read or write, the dearer) per access time, plus
  leakage;
- link (one per chip, a hyflex assumption): ``link_bandwidth`` used in full.

:func:`design_breakdown` returns SI units (m^2, W); :func:`format_breakdown` prints mm^2 and W.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.costmodels.constants import const
from hyflex_plugin.costmodels.models import (
    HyflexAnalogModule,
    HyflexBuffer,
    HyflexDigitalModule,
    HyflexLink,
    HyflexSFU,
    cached_action,
    cached_model,
)

#: Component names of an analog module in the breakdown, and the model part each one is.
ANALOG_PARTS = {"cells": "rram_array", "adc": "adc", "drivers": "wordline_driver",
                "shift_add": "shift_add", "mode_switch": "mode_switch"}


def _entry(count: float, area: float, power: float, **extra) -> dict:
    """One line of the breakdown: ``count`` units with ``area`` [m^2] and ``power`` [W] in total."""
    return {"count": count, "area_m2": area, "peak_power_w": power, **extra}


def analog_module(design: HyflexDesign, slc: bool, tech_node: float | None = None) -> HyflexAnalogModule:
    """The analog module of ``design`` in SLC or MLC cell mode, from the component models
    (:func:`~hyflex_plugin.costmodels.models.cached_model`: read it, do not change it).
    """
    a = design.analog
    return cached_model(
        HyflexAnalogModule, arrays=design.pu.arrays_per_module, rows=a.rows, columns=a.columns,
        bits_per_cell=a.slc_bits_per_cell if slc else a.mlc_bits_per_cell,
        adcs_per_array=a.adcs_per_array, max_adc_bits=a.adc_max_bits,
        mode_switch=a.mlc_bits_per_cell != a.slc_bits_per_cell, cycle=a.cycle,
        adc_bits=a.adc_bits_slc if slc else a.adc_bits_mlc,
        tech_node=design.tech_node if tech_node is None else tech_node)


def digital_module(design: HyflexDesign, tech_node: float | None = None) -> HyflexDigitalModule:
    """The digital PIM module of ``design``, from the component models."""
    d = design.digital
    return cached_model(HyflexDigitalModule, arrays=design.pu.digital_arrays_per_module,
                        rows=d.rows, columns=d.columns, op_bits=d.op_bits, clock_hz=d.clock,
                        number_format=d.number_format,
                        tech_node=design.tech_node if tech_node is None else tech_node)


def _analog(design: HyflexDesign, tech_node: float) -> dict:
    slc = analog_module(design, slc=True, tech_node=tech_node)
    mlc = (analog_module(design, slc=False, tech_node=tech_node)
           if design.analog.slc_bits_per_cell != design.analog.mlc_bits_per_cell else None)
    return copy.deepcopy(_analog_modes(slc, mlc))


@lru_cache(maxsize=1024)
def _analog_modes(slc: HyflexAnalogModule, mlc: HyflexAnalogModule | None) -> dict:
    """The analog module's breakdown in its dearer cell mode (memoised per module instance:
    :func:`analog_module` gives the same instance for the same module and constants).
    """
    modes = {"SLC": slc} if mlc is None else {"SLC": slc, "MLC": mlc}
    power = {mode: sum(m.cycle_energy_breakdown().values()) / m.cycle for mode, m in modes.items()}
    mode = max(power, key=power.get)
    m = modes[mode]
    area, energy = m.area_breakdown(), m.cycle_energy_breakdown()
    parts = {name: _entry(m.parts[part][1], area[part], energy[part] / m.cycle)
             for name, part in ANALOG_PARTS.items()}
    return {"peak_mode": mode, "adc_bits": m.parts["adc"][0].resolution,
            "peak_power_by_mode_w": power, "components": parts,
            "area_m2": m.area, "peak_power_w": power[mode]}


def _digital(design: HyflexDesign, tech_node: float) -> dict:
    m = digital_module(design, tech_node)
    power = m.cycle().energy * m.array.clock_hz
    return {"macs_per_cycle": m.macs_per_cycle, "nor_steps_per_mac": m.array.nor_steps_per_mac,
            "components": {"cells": _entry(m.arrays, m.area, power)},
            "area_m2": m.area, "peak_power_w": power}


def design_breakdown(design: HyflexDesign, tech_node: float | None = None) -> dict:
    """Area [m^2] and peak power [W] of ``design`` per component, module, PU and chip.

    ``tech_node`` [m] overrides the design's node. Per-module and per-PU totals are the sums
    of their parts; the chip is ``processing_units`` PUs plus one link.
    """
    node = design.tech_node if tech_node is None else tech_node
    pu = design.pu
    analog = _analog(design, node)
    digital = _digital(design, node)
    sfu_attributes = {"lanes": pu.sfu_lanes, "clock_hz": design.digital.clock, "tech_node": node}
    sfu = cached_model(HyflexSFU, **sfu_attributes)
    sfu_power = {a: sfu.lanes * sfu.clock_hz * cached_action(HyflexSFU, a, **sfu_attributes).energy
                 for a in ("softmax", "layernorm", "gelu")}
    sfu_action = max(sfu_power, key=sfu_power.get)
    buf_attributes = {"width": pu.buffer_width, "size": pu.buffer_bits, "tech_node": node}
    buf = cached_model(HyflexBuffer, **buf_attributes)
    read, write = (cached_action(HyflexBuffer, a, **buf_attributes) for a in ("read", "write"))
    buf_power = max(read.energy / read.latency, write.energy / write.latency) + buf.leak_power
    pu_parts = {
        "analog_modules": _entry(pu.analog_modules, pu.analog_modules * analog["area_m2"],
                                 pu.analog_modules * analog["peak_power_w"]),
        "digital_modules": _entry(pu.digital_modules, pu.digital_modules * digital["area_m2"],
                                  pu.digital_modules * digital["peak_power_w"]),
        "sfu": _entry(1, sfu.area, sfu_power[sfu_action], peak_action=sfu_action,
                      power_by_action_w=sfu_power),
        "buffer": _entry(1, buf.area, buf_power),
    }
    # same summation order as the evaluation has always used (analog, digital, SFU, buffer)
    pu_area = 0.0
    for entry in pu_parts.values():
        pu_area += entry["area_m2"]
    pu_power = sum(e["peak_power_w"] for e in pu_parts.values())
    link = cached_model(HyflexLink, bandwidth=design.chip.link_bandwidth, tech_node=node)
    link_power = link.read(bits_per_action=1).energy * design.chip.link_bandwidth * 8
    n_pu = design.chip.processing_units
    chip_parts = {"processing_units": _entry(n_pu, n_pu * pu_area, n_pu * pu_power),
                  "link": _entry(1, link.area, link_power)}
    return {
        "design": design.name,
        "tech_node_m": node,
        "analog_module": analog if pu.analog_modules else None,
        "digital_module": digital,
        "pu": {"components": pu_parts, "area_m2": pu_area, "peak_power_w": pu_power},
        "chip": {"components": chip_parts,
                 "area_m2": sum(e["area_m2"] for e in chip_parts.values()),
                 "peak_power_w": sum(e["peak_power_w"] for e in chip_parts.values())},
        "notes": {
            "peak_power": "every part busy at once: analog arrays every cycle in the dearer cell "
                          "mode, every digital lane one NOR step per clock, SFU at its dearest "
                          "per-element action, one buffer access per access time, full link",
            "link": "one link per chip (hyflex assumption); `hyflex evaluate` counts the area of "
                    "the PUs only and prices the link per bit moved",
            "buffer_access_latency_s": const("buffer_access_latency"),
        },
    }


def _fmt_count(n: float) -> str:
    return f"{n:g}" if n != int(n) else f"{int(n)}"


def format_breakdown(b: dict) -> str:
    """Human-readable tables: mm^2 and W per component, module, PU and chip."""
    out = [(f"hyflex breakdown: {b['design']} at {b['tech_node_m'] * 1e9:g} nm "
            "(area; peak power = every part busy at once)"), ""]
    head = f"  {'component':22s} {'count':>9s} {'area mm2':>11s} {'share':>7s} {'peak W':>11s} {'share':>7s}"

    def table(title: str, level: dict) -> None:
        out.append(title)
        out.append(head)
        for name, e in level["components"].items():
            a_share = e["area_m2"] / level["area_m2"] if level["area_m2"] else 0.0
            p_share = e["peak_power_w"] / level["peak_power_w"] if level["peak_power_w"] else 0.0
            label = name + (f" ({e['peak_action']})" if "peak_action" in e else "")
            out.append(f"  {label:22s} {_fmt_count(e['count']):>9s} {e['area_m2'] * 1e6:11.4f} "
                       f"{a_share:7.1%} {e['peak_power_w']:11.4f} {p_share:7.1%}")
        out.append(f"  {'total':22s} {'':>9s} {level['area_m2'] * 1e6:11.4f} {'':>7s} "
                   f"{level['peak_power_w']:11.4f}")
        out.append("")

    a = b["analog_module"]
    if a is None:
        out.append("analog module: none in this design (pu.analog_modules = 0)")
        out.append("")
    else:
        table(f"one analog module ({a['peak_mode']} mode at peak, {a['adc_bits']}-bit ADC):", a)
    d = b["digital_module"]
    table(f"one digital module ({d['macs_per_cycle']:.1f} MACs per cycle, "
          f"{d['nor_steps_per_mac']} NOR steps each):", d)
    table("one processing unit (PU):", b["pu"])
    table("one chip:", b["chip"])
    out.append("link: " + b["notes"]["link"])
    return "\n".join(out).rstrip()
