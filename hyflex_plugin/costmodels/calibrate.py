"""Calibration of one processing unit (PU) against the HyFlexPIM paper's Table 2.

Everything is computed from the component models: counts of parts x their per-action costs
(:class:`HyflexAnalogModule`, :class:`HyflexDigitalModule`, :class:`HyflexSFU`). Power is taken at
full activity: MLC mode, every array active every 100 ns analog cycle (every row driven, every
column converted once); every digital row lane doing one NOR step per 1 GHz cycle; the SFU
processing 256 softmax elements per cycle.
"""

from __future__ import annotations

from hyflex_plugin.costmodels.constants import const, const_int
from hyflex_plugin.costmodels.models import (
    HyflexAnalogModule,
    HyflexDigitalModule,
    HyflexModeSwitch,
    HyflexRRAMCell,
    HyflexSARADC,
    HyflexSFU,
    HyflexShiftAdd,
    HyflexWordlineDriver,
)


def int8_weight_mac(bits_per_cell: int, tech_node: float = 65e-9) -> dict:
    """Energy [J] and action counts of one INT8 weight x INT8 input MAC on the analog path.

    Per MAC: 8 bit-serial input cycles; 8/bits_per_cell columns hold the weight; a column
    conversion sums ``rows`` cells, so column conversions per MAC = 8 * (8 / b) / rows.
    A row driver feeds ``columns`` cells = columns / (8 / b) weights per cycle.
    """
    rows, columns = const_int("analog_rows"), const_int("analog_columns")
    in_bits, w_bits = const_int("input_bits"), const_int("weight_bits")
    max_bits = const_int("adc_max_bits")
    cols_per_weight = w_bits // bits_per_cell
    adc_bits = max_bits if bits_per_cell == 2 else max_bits - 1
    cycle = const("analog_cycle")
    counts = {
        "cell_reads": in_bits * cols_per_weight,
        "adc_conversions": in_bits * cols_per_weight / rows,
        "driver_activations": in_bits * cols_per_weight / columns,
        "shift_adds": in_bits * cols_per_weight / rows,
        "mode_switch_overheads": in_bits * cols_per_weight / rows,
    }
    e = {
        "cells": counts["cell_reads"] * HyflexRRAMCell(bits_per_cell, rows, columns, tech_node).read().energy,
        "adc": counts["adc_conversions"] * HyflexSARADC(adc_bits, max_bits, columns / cycle, tech_node).read().energy,
        "drivers": counts["driver_activations"] * HyflexWordlineDriver(rows, tech_node).read().energy,
        "shift_add": counts["shift_adds"] * HyflexShiftAdd(bits_per_cell, tech_node=tech_node).read().energy,
        "mode_switch": counts["mode_switch_overheads"] * HyflexModeSwitch(tech_node).read().energy,
    }
    return {
        "mode": "SLC" if bits_per_cell == 1 else "MLC",
        "bits_per_cell": bits_per_cell,
        "adc_bits": adc_bits,
        "columns_per_weight": cols_per_weight,
        "column_conversions_per_mac": counts["adc_conversions"],
        "energy_j": sum(e.values()),
        "energy_breakdown_j": e,
    }


def calibrate_pu(tech_node: float = 65e-9) -> dict:
    """One processing unit from the models, beside Table 2's targets. Returns SI and report units."""
    n_analog = const_int("analog_modules_per_pu")
    n_digital = const_int("digital_modules_per_pu")
    cycle = const("analog_cycle")

    analog = HyflexAnalogModule(
        arrays=const_int("analog_arrays_per_module"), rows=const_int("analog_rows"),
        columns=const_int("analog_columns"), bits_per_cell=2,
        adcs_per_array=const_int("adcs_per_array"), max_adc_bits=const_int("adc_max_bits"),
        cycle=cycle, tech_node=tech_node,
    )
    a_area = analog.area_breakdown()
    a_energy = analog.cycle_energy_breakdown()
    analog_area = n_analog * sum(a_area.values())
    analog_power = n_analog * sum(a_energy.values()) / cycle

    # mode-switch overhead: the switch's share of one analog module (area, and energy per cycle)
    ms_area = a_area["mode_switch"] / (sum(a_area.values()) - a_area["mode_switch"])
    ms_energy = a_energy["mode_switch"] / (sum(a_energy.values()) - a_energy["mode_switch"])

    digital = HyflexDigitalModule(
        arrays=const_int("digital_arrays_per_module"), rows=const_int("digital_rows"),
        columns=const_int("digital_columns"), op_bits=8, tech_node=tech_node,
    )
    digital_area = n_digital * digital.area
    digital_power = n_digital * digital.cycle().energy * const("digital_clock")

    sfu = HyflexSFU(lanes=const_int("sfu_lanes"), clock_hz=const("digital_clock"), tech_node=tech_node)
    sfu_power = sfu.lanes * sfu.clock_hz * sfu.softmax().energy

    result = {
        "tech_node_m": tech_node,
        "analog_area_mm2": analog_area * 1e6,
        "analog_power_w": analog_power,
        "digital_area_mm2": digital_area * 1e6,
        "digital_power_w": digital_power,
        "adc_area_share": a_area["adc"] / sum(a_area.values()),
        "adc_power_share": a_energy["adc"] / sum(a_energy.values()),
        "sfu_area_mm2": sfu.area * 1e6,
        "sfu_power_mw": sfu_power * 1e3,
        "mode_switch_area_overhead": ms_area,
        "mode_switch_energy_overhead": ms_energy,
        "digital_int8_macs_per_cycle_per_module": digital.macs_per_cycle,
        "digital_nor_steps_per_int8_mac": digital.array.nor_steps_per_mac,
        "analog_module_area_breakdown_mm2": {k: v * 1e6 for k, v in a_area.items()},
        "analog_module_cycle_energy_breakdown_nj": {k: v * 1e9 for k, v in a_energy.items()},
        "per_int8_weight_mac": {"SLC": int8_weight_mac(1, tech_node), "MLC": int8_weight_mac(2, tech_node)},
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
    out = [f"hyflex calibrate: one processing unit at {result['tech_node_m'] * 1e9:g} nm vs the "
           "paper's Table 2 [T]", ""]
    out.append(f"{'quantity':36s} {'model':>10s} {'paper':>10s} {'ratio':>7s}  unit")
    for label, key, unit in rows:
        m, p = result[key], t[key]
        scale = 100 if unit.startswith("%") else 1
        out.append(f"{label:36s} {m * scale:10.3f} {p * scale:10.3f} {m / p:7.3f}  {unit}")
    out.append("")
    out.append(f"digital PIM: {result['digital_nor_steps_per_int8_mac']} NOR steps per INT8 MAC "
               "(multiply 13N^2-14N+6, Haj-Ali ISCAS 2018; 16-bit accumulate 12*2N+1, Talati TNANO 2016)")
    out.append("")
    out.append("per INT8 weight-MAC on the analog path:")
    out.append(f"  {'mode':5s} {'ADC bits':>8s} {'columns/weight':>15s} {'conversions/MAC':>16s} {'energy pJ':>10s}")
    for mode in ("SLC", "MLC"):
        r = result["per_int8_weight_mac"][mode]
        out.append(f"  {mode:5s} {r['adc_bits']:8d} {r['columns_per_weight']:15d} "
                   f"{r['column_conversions_per_mac']:16.3f} {r['energy_j'] * 1e12:10.4f}")
    return "\n".join(out)
