"""Cost models through the real hwcomponents query path (and AccelForge's component costing)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import hwcomponents as hwc
import pytest

from hyflex_plugin.costmodels import models as m
from hyflex_plugin.costmodels.calibrate import calibrate_pu, int8_weight_mac, paper_targets
from hyflex_plugin.costmodels.constants import DATA_FILE, load_constants
from hyflex_plugin.costmodels.tables import component_table, to_csv, to_yaml
from hyflex_plugin.errors import HyflexInputError

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


def test_mlc_halves_conversions_and_lowers_energy_per_weight_mac():
    slc, mlc = int8_weight_mac(1), int8_weight_mac(2)
    assert slc["column_conversions_per_mac"] == pytest.approx(1.0)
    assert mlc["column_conversions_per_mac"] == pytest.approx(0.5)
    assert mlc["energy_j"] < slc["energy_j"]


def test_nor_step_count_for_int8_mac():
    # 13*64 - 14*8 + 6 = 726 (multiply) + 12*16 + 1 = 193 (16-bit accumulate)
    assert m.nor_steps_per_mac(8) == 919


@pytest.mark.parametrize("key", ["analog_area_mm2", "analog_power_w", "digital_area_mm2",
                                 "digital_power_w", "adc_area_share", "adc_power_share",
                                 "sfu_area_mm2", "sfu_power_mw"])
def test_calibration_targets_within_5_percent(key):
    got = calibrate_pu()
    assert got[key] == pytest.approx(paper_targets()[key], rel=0.05)


def test_mode_switch_overhead_below_one_percent():
    got = calibrate_pu()
    assert 0 < got["mode_switch_area_overhead"] < 0.01
    assert 0 < got["mode_switch_energy_overhead"] < 0.01


def test_calibration_follows_the_models():
    """The calibration is computed from component counts: doubling arrays doubles analog area."""
    one = m.HyflexAnalogModule(arrays=256)
    two = m.HyflexAnalogModule(arrays=512)
    assert two.area == pytest.approx(2 * one.area)
    assert two.mvm_cycle().energy == pytest.approx(2 * one.mvm_cycle().energy)


@pytest.mark.parametrize("attrs,field,accepted", [
    ({"bits_per_cell": 3}, "bits_per_cell", "[1, 2]"),
    ({"rows": 0}, "rows", "positive integer"),
    ({"rows": -64}, "rows", "positive integer"),
    ({"tech_node": 3e-9}, "tech_node", "7 nm .. 130 nm"),
])
def test_bad_attributes_name_attribute_and_accepted_values(attrs, field, accepted):
    with pytest.raises(HyflexInputError) as e:
        m.HyflexRRAMCell(**attrs)
    assert e.value.field == field and accepted in str(e.value)
    # the hwcomponents query path carries the same message
    with pytest.raises(Exception) as e2:
        hwc.get_area("hyflex_rram_cell", {"bits_per_cell": 2, "tech_node": NM65, **attrs})
    assert field in str(e2.value) and accepted in str(e2.value)


def test_misspelled_attribute_is_named():
    with pytest.raises(HyflexInputError) as e:
        m.create("hyflex_rram_cell", bit_per_cell=2)
    assert e.value.field == "bit_per_cell"
    assert "bits_per_cell" in str(e.value)  # the suggestion / accepted list
    with pytest.raises(HyflexInputError, match="resolution"):
        m.HyflexSARADC(resolution=8)


def test_discovery_in_a_fresh_process(tmp_path):
    code = textwrap.dedent("""
        import hwcomponents as hwc
        names = sorted(c.__name__ for c in hwc.get_models() if c.__name__.startswith("Hyflex"))
        print(names)
        print(hwc.get_area("hyflex_sar_adc", {"resolution": 6, "tech_node": 65e-9}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for cls in m.__all__:
        assert cls in out.stdout
    assert float(out.stdout.strip().splitlines()[-1]) == pytest.approx(m.HyflexSARADC(6).area)


def test_accelforge_spec_names_component_class_without_config(tmp_path):
    import accelforge as af

    from hyflex_plugin.costmodels.hwc_compat import reset_model_cache

    reset_model_cache()  # earlier tests queried hwcomponents; see hwc_compat for the fault
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(textwrap.dedent("""
        arch:
          nodes:
          - !Memory
            name: Buffer
            component_class: hyflex_buffer
            size: 524288
            tensors: {keep: All}
            extra_attributes_for_component_model: {tech_node: 65e-9}
          - !Compute
            name: DigitalPIM
            component_class: hyflex_digital_pim_array
            extra_attributes_for_component_model: {tech_node: 65e-9}
        workload:
          iteration_space_shape: {m: 0 <= m < 16, n: 0 <= n < 16, k: 0 <= k < 16}
          bits_per_value: {All: 8}
          einsums:
          - name: QK
            tensor_accesses:
            - {name: Q, projection: [m, k]}
            - {name: K, projection: [k, n]}
            - {name: S, projection: [m, n], output: True}
    """))
    s = af.Spec.from_yaml(str(spec_file)).calculate_component_costs()
    nodes = {n.name: n for n in s.arch.nodes}
    compute = {a.name: a.energy for a in nodes["DigitalPIM"].actions}
    assert compute["compute"] == pytest.approx(m.HyflexDigitalPIMArray().compute().energy)
    assert nodes["Buffer"].area == pytest.approx(m.HyflexBuffer().area)


def test_tables_match_models_and_serialise(tmp_path):
    rows = component_table(NM65)
    assert {r["class"] for r in rows} >= {"HyflexRRAMCell", "HyflexSARADC", "HyflexSFU"}
    adc7 = next(r for r in rows if r["component"] == "sar_adc_mlc_7b" and r["action"] == "convert")
    assert adc7["energy_j"] == pytest.approx(m.HyflexSARADC(7).convert().energy)
    assert "sar_adc_mlc_7b" in to_csv(rows) and "tech_node_m" in to_yaml(rows, NM65)
    rows32 = component_table(NM32)
    assert sum(r["energy_j"] for r in rows32) < sum(r["energy_j"] for r in rows)


def test_cli_calibrate_json_and_tables(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hyflex_plugin", "calibrate", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ["analog_area_mm2", "analog_power_w", "digital_area_mm2", "digital_power_w",
                "adc_area_share", "adc_power_share", "sfu_area_mm2", "sfu_power_mw",
                "mode_switch_area_overhead", "mode_switch_energy_overhead"]:
        assert key in data
    f = tmp_path / "t.csv"
    out = subprocess.run([sys.executable, "-m", "hyflex_plugin", "tables", "--tech-node", "32nm",
                          "--out", str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f.read_text().startswith("component,class,attributes,action,energy_pJ")
    bad = subprocess.run([sys.executable, "-m", "hyflex_plugin", "tables", "--tech-node", "3nm"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "tech-node" in bad.stderr and "130 nm" in bad.stderr


def test_every_constant_has_unit_and_source():
    consts = load_constants().constants
    assert len(consts) > 30
    for name, c in consts.items():
        assert c.unit and len(c.source) > 3, name
    tuned = [n for n, c in consts.items() if c.tuned_against]
    assert "adc_energy_calibration" in tuned and "digital_nor_energy" in tuned
    assert DATA_FILE.exists()
