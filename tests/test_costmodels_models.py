"""Cost models through the real hwcomponents query path: costs, modes, resolutions, scaling."""

from __future__ import annotations

import math

import hwcomponents as hwc
import pytest

from hyflex_plugin.costmodels import models as m
from hyflex_plugin.costmodels.constants import load_constants

NM65, NM32 = 65e-9, 32e-9

# (component name, attributes, actions) queried through hwcomponents
QUERIES = [
    ("hyflex_rram_cell", {"bits_per_cell": 1}, ["read", "write"]),
    ("hyflex_rram_cell", {"bits_per_cell": 2}, ["read", "write"]),
    ("hyflex_rram_array", {"bits_per_cell": 2}, ["read", "write"]),
    ("hyflex_sar_adc", {"resolution": 7}, ["read", "convert"]),
    ("hyflex_wordline_driver", {}, ["read"]),
    ("hyflex_shift_add", {"bits_per_cell": 1}, ["read", "compute"]),
    ("hyflex_mode_switch", {}, ["read", "switch"]),
    ("hyflex_digital_pim_array", {}, ["compute", "nor", "read", "write"]),
    ("hyflex_sfu", {}, ["softmax", "layernorm", "gelu", "compute"]),
    ("hyflex_buffer", {}, ["read", "write"]),
    ("hyflex_link", {}, ["read", "write"]),
]


def _energy(name, attrs, action, tech=NM65):
    return hwc.get_action_cost(name, {**attrs, "tech_node": tech}, action, {}).energy


def _area(name, attrs, tech=NM65):
    return hwc.get_area(name, {**attrs, "tech_node": tech})


@pytest.mark.parametrize("name,attrs,actions", QUERIES)
def test_positive_finite_costs_via_hwcomponents(name, attrs, actions):
    area = _area(name, attrs)
    assert math.isfinite(area) and area > 0
    for a in actions:
        e = _energy(name, attrs, a)
        assert math.isfinite(e) and e > 0, (name, a, e)


@pytest.mark.parametrize("name,attrs,actions", QUERIES)
def test_32nm_lowers_energy_and_area(name, attrs, actions):
    assert _area(name, attrs, NM32) < _area(name, attrs, NM65)
    for a in actions:
        assert _energy(name, attrs, a, NM32) < _energy(name, attrs, a, NM65)


def test_mlc_read_stores_twice_the_bits_for_the_same_array_energy():
    slc = m.HyflexRRAMArray(bits_per_cell=1)
    mlc = m.HyflexRRAMArray(bits_per_cell=2)
    e_slc = _energy("hyflex_rram_array", {"bits_per_cell": 1}, "read")
    e_mlc = _energy("hyflex_rram_array", {"bits_per_cell": 2}, "read")
    assert mlc.bits_stored == 2 * slc.bits_stored
    # energy per stored bit read: MLC is cheaper than SLC by the bits-per-cell ratio
    assert e_mlc / mlc.bits_stored == pytest.approx(0.5 * e_slc / slc.bits_stored, rel=0.02)


def test_mlc_write_verify_costs_more_than_slc_write():
    e1 = _energy("hyflex_rram_cell", {"bits_per_cell": 1}, "write")
    e2 = _energy("hyflex_rram_cell", {"bits_per_cell": 2}, "write")
    n = load_constants().constants["mlc_write_verify_iterations"].value
    assert e2 > n * e1 * 0.99  # N pulses plus verify reads


def test_7bit_adc_costs_more_than_6bit_same_area():
    e6 = _energy("hyflex_sar_adc", {"resolution": 6}, "convert")
    e7 = _energy("hyflex_sar_adc", {"resolution": 7}, "convert")
    assert e7 > e6
    # the ADC is built for 7 bits: skipping the MSB capacitor saves energy, not area
    assert _area("hyflex_sar_adc", {"resolution": 6}) == pytest.approx(_area("hyflex_sar_adc", {"resolution": 7}))


def test_shift_factors():
    assert m.HyflexShiftAdd(bits_per_cell=1).shift_factors == [1, 2, 4, 8]
    assert m.HyflexShiftAdd(bits_per_cell=2).shift_factors == [1, 4, 16, 64]


def test_nor_step_count_for_int8_mac():
    # 13*64 - 14*8 + 6 = 726 (multiply) + 12*16 + 1 = 193 (16-bit accumulate)
    assert m.nor_steps_per_mac(8) == 919


def test_mean_conductance_is_the_midpoint_for_uniformly_used_levels():
    """Mean conductance follows the levels: 2 levels (SLC) and 4 levels (MLC) between G_off and
    G_on both average to (G_on + G_off) / 2 when uniformly used."""
    c = load_constants().constants
    g_on = 1 / c["rram_r_on"].value
    g_off = g_on / c["rram_on_off_ratio"].value
    for b in (1, 2):
        assert m.HyflexRRAMCell(bits_per_cell=b).mean_conductance == pytest.approx((g_on + g_off) / 2)


def test_analog_module_slc_mode_uses_6bit_conversions():
    mlc = m.HyflexAnalogModule(arrays=8, bits_per_cell=2)
    slc = m.HyflexAnalogModule(arrays=8, bits_per_cell=1)
    assert mlc.parts["adc"][0].resolution == 7 and slc.parts["adc"][0].resolution == 6
    assert slc.cycle_energy_breakdown()["adc"] < mlc.cycle_energy_breakdown()["adc"]
    # without the mode switch a design converts SLC at the full 7 bits and has no switch area
    fixed = m.HyflexAnalogModule(arrays=8, bits_per_cell=1, mode_switch=False)
    assert fixed.parts["adc"][0].resolution == 7 and fixed.area_breakdown()["mode_switch"] == 0


def test_constructor_defaults_come_from_hyflexpims_design_file():
    """Design attributes default to arch_specs/hyflexpim.yaml; the data file holds no design
    parameter (one place each)."""
    from hyflex_plugin.architecture import load_arch

    d = load_arch()
    assert (m.HyflexBuffer().size, m.HyflexBuffer().width) == (d.pu.buffer_bits, d.pu.buffer_width)
    assert m.HyflexLink().bandwidth == d.chip.link_bandwidth
    assert (m.HyflexSFU().lanes, m.HyflexSFU().clock_hz) == (d.pu.sfu_lanes, d.digital.clock)
    cell = m.HyflexRRAMCell()
    assert (cell.rows, cell.columns, cell.cycle) == (d.analog.rows, d.analog.columns, d.analog.cycle)
    assert m.HyflexDigitalModule().arrays == d.pu.digital_arrays_per_module
    assert m.HyflexAnalogModule().arrays == d.pu.arrays_per_module
    # one ADC per array converts every column once per analog cycle
    assert m.HyflexSARADC().throughput == pytest.approx(
        d.analog.columns / d.analog.adcs_per_array / d.analog.cycle)
    design_keys = {"rows", "columns", "arrays", "modules", "cycle", "clock", "lanes", "buffer",
                   "adcs_per_array", "adc_max_bits", "input_bits", "weight_bits", "bandwidth"}
    for name in load_constants().constants:
        assert not (name.startswith(("analog_", "digital_")) and
                    any(k in name for k in design_keys)), name
        assert name not in {"input_bits", "weight_bits", "adcs_per_array", "adc_max_bits",
                            "sfu_lanes", "buffer_size", "buffer_width", "link_bandwidth"}, name


def test_buffer_and_link_scale_with_bits_per_action():
    """Storage read in words: hwcomponents scales energy by bits_per_action / width."""
    buf, link = m.HyflexBuffer(width=256), m.HyflexLink()
    assert buf.read(bits_per_action=512).energy == pytest.approx(2 * buf.read().energy)
    assert buf.write(bits_per_action=64).energy == pytest.approx(buf.write().energy / 4)
    assert link.read(bits_per_action=1).energy == pytest.approx(link.read().energy / link.width)
    # the port width is a real attribute: a wider port of the same size costs more per access
    assert m.HyflexBuffer(width=512).read().energy > buf.read().energy


def test_every_action_has_a_one_line_docstring():
    for name in m.__all__:
        cls = getattr(m, name)
        for action in cls.get_action_names():
            doc = getattr(cls, action).__doc__
            assert doc and len(doc.strip().splitlines()) == 1, (name, action)
