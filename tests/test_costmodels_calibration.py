"""Calibration of one processing unit against the paper's Table 2, from the component models."""

from __future__ import annotations

import pytest

from hyflex_plugin.costmodels import models as m
from hyflex_plugin.costmodels.calibrate import calibrate_pu, int8_weight_mac, paper_targets
from hyflex_plugin.costmodels.constants import DATA_FILE, load_constants


@pytest.fixture(scope="module")
def pu():
    return calibrate_pu()


def test_mlc_halves_conversions_and_lowers_energy_per_weight_mac():
    slc, mlc = int8_weight_mac(1), int8_weight_mac(2)
    assert slc["column_conversions_per_mac"] == pytest.approx(1.0)
    assert mlc["column_conversions_per_mac"] == pytest.approx(0.5)
    assert mlc["energy_j"] < slc["energy_j"]


@pytest.mark.parametrize("key", ["analog_area_mm2", "analog_power_w", "digital_area_mm2",
                                 "digital_power_w", "adc_area_share", "adc_power_share",
                                 "sfu_area_mm2", "sfu_power_mw"])
def test_calibration_targets_within_5_percent(key, pu):
    got = pu
    assert got[key] == pytest.approx(paper_targets()[key], rel=0.05)


def test_mode_switch_overhead_below_one_percent(pu):
    got = pu
    assert 0 < got["mode_switch_area_overhead"] < 0.01
    assert 0 < got["mode_switch_energy_overhead"] < 0.01


def test_calibration_follows_the_models():
    """The calibration is computed from component counts: doubling arrays doubles analog area."""
    one = m.HyflexAnalogModule(arrays=256)
    two = m.HyflexAnalogModule(arrays=512)
    assert two.area == pytest.approx(2 * one.area)
    assert two.mvm_cycle().energy == pytest.approx(2 * one.mvm_cycle().energy)


def test_every_constant_has_unit_and_source():
    consts = load_constants().constants
    assert len(consts) > 30
    for name, c in consts.items():
        assert c.unit and len(c.source) > 3, name
    tuned = [n for n, c in consts.items() if c.tuned_against]
    assert "adc_energy_calibration" in tuned and "digital_nor_energy" in tuned
    assert DATA_FILE.exists()


def test_calibration_at_32nm_is_smaller_and_cheaper(pu):
    small = calibrate_pu(32e-9)
    for key in ["analog_area_mm2", "analog_power_w", "digital_area_mm2", "digital_power_w",
                "sfu_area_mm2", "sfu_power_mw"]:
        assert small[key] < pu[key], key
    # shares depend only on ratios of parts scaled by the same rule
    assert small["adc_area_share"] == pytest.approx(pu["adc_area_share"], rel=1e-6)


def test_digital_macs_per_cycle_near_the_reported_273(pu):
    assert pu["digital_nor_steps_per_int8_mac"] == 919
    assert pu["digital_int8_macs_per_cycle_per_module"] == pytest.approx(256 * 1024 / 919)
    assert pu["digital_int8_macs_per_cycle_per_module"] == pytest.approx(273, rel=0.05)
