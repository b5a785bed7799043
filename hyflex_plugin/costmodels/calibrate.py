"""Calibration of one processing unit (PU) of any design against the HyFlexPIM paper's Table 2.

Everything is computed from the component models and the design file (default: HyFlexPIM's,
``arch_specs/hyflexpim.yaml``): counts of parts x their per-action costs, through
:func:`hyflex_plugin.costmodels.breakdown.design_breakdown`. Power is taken at full activity:
MLC mode, every array active every analog cycle (every row driven, every column converted
once); every digital row lane doing one NOR step per clock cycle; the SFU processing
``sfu_lanes`` softmax elements per cycle (the figure Table 2 states).
"""

from __future__ import annotations

from hyflex_plugin.architecture.design import HyflexDesign, load_arch
from hyflex_plugin.costmodels.breakdown import (
    analog_module,
    design_breakdown,
    digital_module,
)
from hyflex_plugin.costmodels.constants import const
from hyflex_plugin.costmodels.models import (
    HyflexModeSwitch,
    HyflexRRAMCell,
    HyflexSARADC,
    HyflexShiftAdd,
    HyflexWordlineDriver,
)


def int8_weight_mac(bits_per_cell: int, design: HyflexDesign | None = None,
                    tech_node: float | None = None) -> dict:
    """Energy [J] and action counts of one weight x input MAC on ``design``'s analog path.

    Per MAC: ``input_bits`` bit-serial input cycles; ``weight_bits / b`` columns hold the
    weight; a column conversion sums ``rows`` cells, so column conversions per MAC =
    input_bits * (weight_bits / b) / rows. A row driver feeds ``columns`` cells per cycle.
    """
    design = design or load_arch()
    a = design.analog
    node = design.tech_node if tech_node is None else tech_node
    slc = bits_per_cell == a.slc_bits_per_cell
    cols_per_weight = a.weight_bits // bits_per_cell
    adc_bits = a.adc_bits_slc if slc else a.adc_bits_mlc
    rate = a.columns / a.adcs_per_array / a.cycle
    hybrid = a.slc_bits_per_cell != a.mlc_bits_per_cell
    cells = a.input_bits * cols_per_weight
    counts = {
        "cell_reads": cells,
        "adc_conversions": cells / a.rows,
        "driver_activations": cells / a.columns,
        "shift_adds": cells / a.rows,
        "mode_switch_overheads": cells / a.rows if hybrid else 0,
    }
    e = {
        "cells": counts["cell_reads"]
        * HyflexRRAMCell(bits_per_cell, a.rows, a.columns, a.cycle, node).read().energy,
        "adc": counts["adc_conversions"]
        * HyflexSARADC(adc_bits, a.adc_max_bits, rate, node).read().energy,
        "drivers": counts["driver_activations"]
        * HyflexWordlineDriver(a.rows, a.cycle, node).read().energy,
        "shift_add": counts["shift_adds"]
        * HyflexShiftAdd(bits_per_cell, throughput=rate, tech_node=node).read().energy,
        "mode_switch": counts["mode_switch_overheads"] * HyflexModeSwitch(node).read().energy,
    }
    return {
        "mode": "SLC" if slc else "MLC",
        "bits_per_cell": bits_per_cell,
        "adc_bits": adc_bits,
        "columns_per_weight": cols_per_weight,
        "column_conversions_per_mac": counts["adc_conversions"],
        "energy_j": sum(e.values()),
        "energy_breakdown_j": e,
    }


def calibrate_pu(tech_node: float | None = None, design: HyflexDesign | None = None) -> dict:
    """One PU of ``design`` (default HyFlexPIM) from the models, beside Table 2's targets.

    ``tech_node`` [m] overrides the design's node. Returns SI and report units.
    """
    design = design or load_arch()
    node = design.tech_node if tech_node is None else tech_node
    n_analog, n_digital = design.pu.analog_modules, design.pu.digital_modules
    b = design_breakdown(design, node)

    # the analog module in MLC mode (the mode Table 2's power is stated for)
    analog = analog_module(design, slc=False, tech_node=node)
    a_area = analog.area_breakdown()
    a_energy = analog.cycle_energy_breakdown()
    analog_area = n_analog * sum(a_area.values())
    analog_power = n_analog * sum(a_energy.values()) / analog.cycle

    # mode-switch overhead: the switch's share of one analog module (area, and energy per cycle)
    ms_area = a_area["mode_switch"] / (sum(a_area.values()) - a_area["mode_switch"])
    ms_energy = a_energy["mode_switch"] / (sum(a_energy.values()) - a_energy["mode_switch"])

    digital = digital_module(design, node)
    sfu = b["pu"]["components"]["sfu"]
    modes = [design.analog.slc_bits_per_cell]
    if design.analog.mlc_bits_per_cell != design.analog.slc_bits_per_cell:
        modes.append(design.analog.mlc_bits_per_cell)
    per_mac = {r["mode"]: r for r in (int8_weight_mac(bits, design, node) for bits in modes)}

    result = {
        "design": design.name,
        "tech_node_m": node,
        "analog_area_mm2": analog_area * 1e6,
        "analog_power_w": analog_power,
        "digital_area_mm2": n_digital * digital.area * 1e6,
        "digital_power_w": n_digital * digital.cycle().energy * digital.array.clock_hz,
        "adc_area_share": a_area["adc"] / sum(a_area.values()),
        "adc_power_share": a_energy["adc"] / sum(a_energy.values()),
        "sfu_area_mm2": sfu["area_m2"] * 1e6,
        "sfu_power_mw": sfu["power_by_action_w"]["softmax"] * 1e3,
        "mode_switch_area_overhead": ms_area,
        "mode_switch_energy_overhead": ms_energy,
        "digital_int8_macs_per_cycle_per_module": digital.macs_per_cycle,
        "digital_nor_steps_per_int8_mac": digital.array.nor_steps_per_mac,
        "analog_module_area_breakdown_mm2": {k: v * 1e6 for k, v in a_area.items()},
        "analog_module_cycle_energy_breakdown_nj": {k: v * 1e9 for k, v in a_energy.items()},
        "input_bits": design.analog.input_bits,
        "weight_bits": design.analog.weight_bits,
        "per_int8_weight_mac": per_mac,
    }
    result["targets"] = paper_targets()
    return result


def paper_targets() -> dict:
    """Table 2 (as reported second-hand, [T]) in the same keys and units as :func:`calibrate_pu`."""
    return {
        "analog_area_mm2": const("target_analog_area") * 1e6,
        "analog_power_w": const("target_analog_power"),
        "digital_area_mm2": const("target_digital_area") * 1e6,
        "digital_power_w": const("target_digital_power"),
        "adc_area_share": const("target_adc_area_share"),
        "adc_power_share": const("target_adc_power_share"),
        "sfu_area_mm2": const("target_sfu_area") * 1e6,
        "sfu_power_mw": const("target_sfu_power") * 1e3,
        "mode_switch_area_overhead": 0.01,  # paper: "< 1 %" (an upper bound)
        "mode_switch_energy_overhead": 0.01,
        "digital_int8_macs_per_cycle_per_module": const("target_digital_int8_ops_per_cycle"),
    }


def format_calibration(result: dict) -> str:
    """Human-readable table: model vs paper, ratio."""
    t = result["targets"]
    rows = [
        ("analog modules: area", "analog_area_mm2", "mm2"),
        ("analog modules: power", "analog_power_w", "W"),
        ("ADC share of analog area", "adc_area_share", "%"),
        ("ADC share of analog power", "adc_power_share", "%"),
        ("digital modules: area", "digital_area_mm2", "mm2"),
        ("digital modules: power", "digital_power_w", "W"),
        ("SFU: area", "sfu_area_mm2", "mm2"),
        ("SFU: power", "sfu_power_mw", "mW"),
        ("mode switch: area overhead", "mode_switch_area_overhead", "% (< 1)"),
        ("mode switch: energy overhead", "mode_switch_energy_overhead", "% (< 1)"),
        ("digital INT8 MAC / cycle / module", "digital_int8_macs_per_cycle_per_module", ""),
    ]
    out = [(f"hyflex calibrate: one processing unit of {result['design']} at "
            f"{result['tech_node_m'] * 1e9:g} nm vs the paper's Table 2 [T]"), ""]
    out.append(f"{'quantity':36s} {'model':>10s} {'paper':>10s} {'ratio':>7s}  unit")
    for label, key, unit in rows:
        m, p = result[key], t[key]
        scale = 100 if unit.startswith("%") else 1
        out.append(f"{label:36s} {m * scale:10.3f} {p * scale:10.3f} {m / p:7.3f}  {unit}")
    out.append("")
    out.append(f"digital PIM: {result['digital_nor_steps_per_int8_mac']} NOR steps per INT8 MAC "
               "(multiply 13N^2-14N+6, Haj-Ali ISCAS 2018; 16-bit accumulate 12*2N+1, Talati TNANO 2016)")
    out.append("")
    out.append(f"per INT{result['weight_bits']} weight-MAC on the analog path "
               f"({result['input_bits']}-bit inputs, bit-serial):")
    out.append(f"  {'mode':5s} {'ADC bits':>8s} {'columns/weight':>15s} {'conversions/MAC':>16s} "
               f"{'energy pJ':>10s}")
    for r in result["per_int8_weight_mac"].values():
        out.append(f"  {r['mode']:5s} {r['adc_bits']:8d} {r['columns_per_weight']:15d} "
                   f"{r['column_conversions_per_mac']:16.3f} {r['energy_j'] * 1e12:10.4f}")
    return "\n".join(out)
