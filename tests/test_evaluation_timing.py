"""ADC timing that depends on the mode, and weight replication (issue 9, sections 1-2).

The timing functions are checked against AccelForge + hwcomponents run for real, and the
replication against the whole evaluation of a one-block model.
"""

from __future__ import annotations

import math

import pytest
import yaml

from hyflex_plugin.architecture import ARCH_DIR, load_arch
from hyflex_plugin.costmodels.constants import ConstantsFile, const
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation import evaluate_model
from hyflex_plugin.evaluation.engine import (
    arrays_for_linear,
    evaluate_einsum,
    linear_params,
)
from hyflex_plugin.evaluation.timing import (
    PartSlot,
    adc_conversion_time,
    analog_timing,
    array_time_per_input_bit,
    choose_replicas,
    layer_latency,
    part_latency,
    part_token_time,
    survey_max_rate,
)
from hyflex_plugin.io import load_model_yaml
from hyflex_plugin.workloads import ModelShape

SMALL = ModelShape(name="tiny", n_layers=2, hidden_size=64, num_heads=2, intermediate_size=128)
# one block of BERT-base's shape: the acceptance ordering on a one-layer model
BERT_BASE_BLOCK = ModelShape(name="bert-base-1", n_layers=1, hidden_size=768, num_heads=12,
                             intermediate_size=3072)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))


def test_sar_conversion_is_bits_plus_sampling_steps():
    step, samp = const("adc_sar_step_time"), const("adc_sampling_steps")
    assert adc_conversion_time(7) == pytest.approx((7 + samp) * step, rel=1e-12)
    assert adc_conversion_time(6) == pytest.approx((6 + samp) * step, rel=1e-12)
    assert adc_conversion_time(6) < adc_conversion_time(7)
    # a slower node is slower (Stillmaker & Baas latency rule)
    assert adc_conversion_time(7, tech_node=90e-9) > adc_conversion_time(7)


def test_survey_rate_caps_high_resolutions_only():
    from hwcomponents_adc import ADC

    for bits in (6, 7, 10):
        f = survey_max_rate(bits)
        below = ADC(n_bits=bits, tech_node=65e-9, throughput=f * 0.5).get_energy()
        at = ADC(n_bits=bits, tech_node=65e-9, throughput=f * 0.999).get_energy()
        above = ADC(n_bits=bits, tech_node=65e-9, throughput=f * 3).get_energy()
        assert at == pytest.approx(below, rel=1e-9)   # flat up to the rate ...
        if f < 9.9e9:                                 # ... and dearer above it
            assert above > 1.2 * at
    # a 10-bit conversion with an absurdly fast step is held to the survey's rate; 6/7 bits are not
    assert adc_conversion_time(10, step_time=1e-12) == pytest.approx(1 / survey_max_rate(10))
    assert adc_conversion_time(7) > 1 / survey_max_rate(7)


def test_time_per_input_bit_is_max_of_cycle_and_shared_adc():
    assert array_time_per_input_bit(100e-9, 128, 1, 0.5e-9) == pytest.approx(100e-9)
    assert array_time_per_input_bit(100e-9, 128, 1, 1e-9) == pytest.approx(128e-9)
    # 16 ADCs per 96 arrays of 64 columns: one ADC converts 384 columns per input bit
    assert array_time_per_input_bit(100e-9, 64, 16 / 96, 1e-9) == pytest.approx(384e-9)


@pytest.mark.parametrize("arch", ["hyflexpim.yaml", "asadi-dagger.yaml"])
@pytest.mark.parametrize("slc", [True, False])
def test_part_token_time_equals_accelforge_on_full_and_partly_used_arrays(arch, slc):
    design = load_arch(arch)
    t = analog_timing(design)
    # (38, 102, 691): outputs that do not fill whole arrays; the pinned mapping spreads them
    # evenly (e.g. 13 + 13 + 12 of 16), and the timing rule must count the same fullest array
    for k, n in ((64, 64), (128, 96), (64, 38), (64, 102), (128, 691)):
        one = evaluate_einsum(design, "analog", linear_params(design, k, n, slc, tokens=1))
        assert part_token_time(t, n, slc) == pytest.approx(one.latency_s, rel=1e-6), (k, n)


def test_slc_part_is_faster_per_token_when_adc_bound():
    t = analog_timing(load_arch())
    slc, mlc = part_token_time(t, 64, True), part_token_time(t, 64, False)
    # 128 columns x (6 + 1) vs (7 + 1) steps: the ADC, not the 100 ns cycle, sets the pace
    assert slc / mlc == pytest.approx(7 / 8, rel=1e-9)
    assert mlc > 8 * 100e-9


def test_choose_replicas_balances_under_the_budget():
    parts = [PartSlot("q", 10, 1.0), PartSlot("k", 10, 1.0), PartSlot("v", 10, 1.0),
             PartSlot("attn_out", 10, 1.0), PartSlot("ffn1", 40, 1.0), PartSlot("ffn2", 40, 1.0)]
    assert choose_replicas(parts, 64, 1000, "none") == [1] * 6
    assert choose_replicas(parts, 64, 120, "auto") == [1] * 6   # no spare array
    reps = choose_replicas(parts, 64, 240, "auto")
    used = sum(p.arrays * r for p, r in zip(parts, reps))
    assert used <= 240
    # Q, K and V run at once: they are copied together (a single copy would not help)
    assert reps[0] == reps[1] == reps[2]
    # cheap stages first: the attention output (10 arrays, alone in its stage) gets most copies
    assert reps[3] == max(reps) > 1
    lat = {p.matrix: part_latency(64, r, p.token_time) for p, r in zip(parts, reps)}
    assert layer_latency(lat) < layer_latency({p.matrix: 64.0 for p in parts})
    # more budget is never slower
    more = choose_replicas(parts, 64, 480, "auto")
    lat2 = {p.matrix: part_latency(64, r, p.token_time) for p, r in zip(parts, more)}
    assert layer_latency(lat2) <= layer_latency(lat)
    with pytest.raises(ValueError):
        choose_replicas(parts, 64, 240, "sometimes")


def test_replicas_in_the_result_and_latency_follows_them():
    design = load_arch()
    r = evaluate_model(SMALL, seq_len=16, slc_fraction=0.25, arch=design)
    layer = r.to_dict()["layers"][0]
    assert set(layer["replicas"]) == {"q", "k", "v", "attn_out", "ffn1", "ffn2"}
    t = analog_timing(design)
    for name, parts in layer["replicas"].items():
        assert {p["mode"] for p in parts} == {"slc", "mlc"}
        for p in parts:
            assert p["arrays"] == arrays_for_linear(design, p["in"], p["out"], p["mode"] == "slc")
        want = max(part_latency(16, p["replicas"], part_token_time(t, p["out"], p["mode"] == "slc"))
                   for p in parts)
        assert layer["einsums"][name]["latency_s"] == pytest.approx(want, rel=1e-9)
    assert max(p["replicas"] for ps in layer["replicas"].values() for p in ps) > 1
    assert layer["replica_arrays"] <= layer["pus"] * design.arrays_per_pu
    # replication moves latency, never energy
    none = design.model_copy(update={"pu": design.pu.model_copy(update={"replication": "none"})})
    r0 = evaluate_model(SMALL, seq_len=16, slc_fraction=0.25, arch=none)
    assert r0.energy_j == pytest.approx(r.energy_j, rel=1e-9)
    assert r0.latency_s > r.latency_s
    assert all(p["replicas"] == 1 for ps in r0.to_dict()["layers"][0]["replicas"].values() for p in ps)


def test_throughput_order_follows_the_slc_share_on_a_bert_base_block():
    """Acceptance (issue 9) on one BERT-base block at N = 128: all-MLC > HyFlexPIM 10 % >
    hybrid without redistribution > all-SLC, through replication into freed arrays."""
    tops = {}
    for arch, share in (("all-mlc.yaml", 0.1), ("hyflexpim.yaml", 0.1),
                        ("hybrid-no-redistribution.yaml", 0.1), ("all-slc.yaml", 0.1)):
        d = evaluate_model(BERT_BASE_BLOCK, seq_len=128, slc_fraction=share, arch=arch).to_dict()
        tops[arch] = d["throughput_tops"]
    t = list(tops.values())
    assert t[0] > t[1] > t[2] > t[3], tops


def _write_design(tmp_path, **analog):
    data = yaml.safe_load((ARCH_DIR / "hyflexpim.yaml").read_text())
    data["templates"] = {k: str(ARCH_DIR / v) for k, v in data["templates"].items()}
    for k, v in analog.items():
        if v is None:
            data["analog"].pop(k, None)
        else:
            data["analog"][k] = v
    p = tmp_path / "design.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_columns_per_adc_is_the_other_way_to_say_adcs_per_array(tmp_path):
    d = load_arch(_write_design(tmp_path, adcs_per_array=None, columns_per_adc=96))
    assert d.analog.adcs_per_array == pytest.approx(128 / 96)
    t = analog_timing(d)
    assert part_token_time(t, 64, False) == pytest.approx(8 * 96 * t.conversion_time_mlc)
    # two ADCs per array: 64 columns each, within the 100 ns cycle
    assert part_token_time(analog_timing(load_arch(_write_design(tmp_path, adcs_per_array=2))), 64,
                           False) == pytest.approx(8 * 100e-9)


@pytest.mark.parametrize("fields, field", [
    ({"adcs_per_array": None}, "analog"),
    ({"adcs_per_array": 1, "columns_per_adc": 64}, "analog"),
    ({"adcs_per_array": "many"}, "analog.adcs_per_array"),
])
def test_bad_adc_sharing_names_file_and_field(tmp_path, fields, field):
    with pytest.raises(HyflexInputError) as e:
        load_arch(_write_design(tmp_path, **fields))
    assert "design.yaml" in str(e.value) and field in str(e.value)


def test_bad_replication_mode_names_file_and_field(tmp_path):
    data = yaml.safe_load((ARCH_DIR / "hyflexpim.yaml").read_text())
    data["pu"]["replication"] = "always"
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(HyflexInputError) as e:
        load_arch(p)
    assert "d.yaml" in str(e.value) and "pu.replication" in str(e.value)


def test_constant_range_min_above_max_names_file_and_field(tmp_path):
    from hyflex_plugin.costmodels.constants import DATA_FILE

    data = yaml.safe_load(DATA_FILE.read_text())
    data["constants"]["adc_sar_step_time"]["range"] = [3e-10, 1e-10]
    p = tmp_path / "consts.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(HyflexInputError) as e:
        load_model_yaml(p, ConstantsFile)
    msg = str(e.value)
    assert "consts.yaml" in msg and "constants.adc_sar_step_time" in msg and "greater than max" in msg
    assert math.isfinite(const("adc_sar_step_time"))


def test_attention_arrays_own_pu_or_spanned_pus():
    base = load_arch()
    assert base.attention_arrays == "own-pu"
    small_pu = base.pu.model_copy(update={"analog_modules": 1, "arrays_per_module": 8,
                                          "digital_modules": 1, "digital_arrays_per_module": 4})
    own = base.model_copy(update={"pu": small_pu})
    spanned = own.model_copy(update={"attention_arrays": "spanned-pus"})
    r_own = evaluate_model(SMALL, seq_len=64, slc_fraction=0.0, arch=own).layers[0]
    r_sp = evaluate_model(SMALL, seq_len=64, slc_fraction=0.0, arch=spanned).layers[0]
    assert r_own.pus == r_sp.pus > 1
    for name in ("qk", "sv", "softmax"):
        # spanning PUs adds their digital arrays and SFUs: attention is faster, energy about the
        # same (only buffer traffic differs with the number of arrays)
        assert r_sp.einsums[name].latency_s < r_own.einsums[name].latency_s, name
        assert r_sp.einsums[name].energy_j == pytest.approx(r_own.einsums[name].energy_j, rel=1e-3)
    for name in ("q", "ffn1"):
        assert r_sp.einsums[name].latency_s == r_own.einsums[name].latency_s
