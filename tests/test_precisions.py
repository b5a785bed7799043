"""Issue 11 section 4: 16/32-bit analog weights and inputs, FP16/FP32 on the digital path
(FloatPIM NOR step counts), and ASADI as published (FP32). Real AccelForge evaluations of a
one-block model at N = 16."""

from __future__ import annotations

import pytest

from hyflex_plugin.architecture.design import ARCH_DIR, HyflexDesign, load_arch
from hyflex_plugin.costmodels.models import HyflexDigitalPIMArray, nor_steps_per_mac
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation import evaluate_model
from hyflex_plugin.io import atomic_write_yaml, read_yaml
from hyflex_plugin.workloads import ModelShape

TINY = ModelShape(name="tiny", n_layers=1, hidden_size=64, num_heads=2, intermediate_size=128)


def _floatpim(ne: int, nm: int) -> float:
    # FloatPIM (ISCA 2019): multiply 12Ne + 6.5Nm^2 - 7.5Nm - 2, add 3 + 16Ne + 19Nm + Nm^2
    return (12 * ne + 6.5 * nm ** 2 - 7.5 * nm - 2) + (3 + 16 * ne + 19 * nm + nm ** 2)


def test_nor_steps_per_format():
    assert nor_steps_per_mac(8) == 13 * 64 - 14 * 8 + 6 + 12 * 16 + 1 == 919
    assert nor_steps_per_mac(16, "fp") == _floatpim(5, 10) == 1006
    assert nor_steps_per_mac(32, "fp") == _floatpim(8, 23) == 4457
    fp32 = HyflexDigitalPIMArray(op_bits=32, number_format="fp")
    int8 = HyflexDigitalPIMArray(op_bits=8)
    assert fp32.compute().energy == pytest.approx(int8.compute().energy * 4457 / 919, rel=1e-9)
    assert fp32.read().energy == pytest.approx(int8.read().energy * 4, rel=1e-9)
    with pytest.raises(HyflexInputError, match="op_bits.*got 32"):
        HyflexDigitalPIMArray(op_bits=32)  # INT32 is not a supported digital format
    with pytest.raises(HyflexInputError, match="number_format"):
        HyflexDigitalPIMArray(op_bits=16, number_format="bf")


def _variant(tmp_path, base: str, name: str, **changes) -> HyflexDesign:
    data = read_yaml(ARCH_DIR / base)
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        data[section][key] = value
    path = atomic_write_yaml(tmp_path / f"{name}.yaml", data)
    return load_arch(path)


def test_design_file_checks_precisions(tmp_path):
    with pytest.raises(HyflexInputError) as e:
        _variant(tmp_path, "hyflexpim.yaml", "bad", digital__op_bits=32)
    assert "field 'digital.op_bits'" in str(e.value)
    assert "32 bits is not a width of number_format 'int'" in str(e.value)
    with pytest.raises(HyflexInputError) as e:
        _variant(tmp_path, "hyflexpim.yaml", "bad", digital__op_bits=8, digital__number_format="fp")
    assert "expected one of [16, 32]" in str(e.value)
    with pytest.raises(HyflexInputError) as e:
        _variant(tmp_path, "hyflexpim.yaml", "bad", analog__weight_bits=64)
    assert "analog.weight_bits" in str(e.value)


def _einsum(result, name):
    return result.to_dict()["layers"][0]["einsums"][name]


def test_asadi_as_published_fp32_vs_int8(tmp_path):
    asadi = load_arch("asadi.yaml")
    assert (asadi.analog.input_bits, asadi.analog.weight_bits) == (32, 32)
    assert (asadi.digital.op_bits, asadi.digital.number_format) == (32, "fp")
    # one copy of each matrix (replication: none), so the ratios show the precision alone
    int8 = evaluate_model(TINY, seq_len=16, cache=False,
                          arch=_variant(tmp_path, "asadi-dagger.yaml", "int8", pu__replication="none"))
    fp32 = evaluate_model(TINY, seq_len=16, cache=False,
                          arch=_variant(tmp_path, "asadi.yaml", "fp32", pu__replication="none"))
    q8, q32 = _einsum(int8, "q"), _einsum(fp32, "q")
    # analog: 4x the bit-serial input cycles; energy: cells, ADC and shift-add x16 (4x cycles x
    # 4x weight slices), drivers and buffer x4
    assert q32["latency_s"] / q8["latency_s"] == pytest.approx(4.0, rel=1e-6)
    assert 12.0 < q32["energy_j"] / q8["energy_j"] < 16.0
    # digital: one FP32 MAC is 4457 NOR steps, an INT8 MAC 919
    qk8, qk32 = _einsum(int8, "qk"), _einsum(fp32, "qk")
    assert qk32["latency_s"] / qk8["latency_s"] == pytest.approx(4457 / 919, rel=1e-3)
    assert qk32["energy_j"] / qk8["energy_j"] == pytest.approx(4457 / 919, rel=0.05)
    assert fp32.area_m2 == int8.area_m2  # same organisation, same arrays
    shipped = evaluate_model(TINY, seq_len=16, arch="asadi.yaml", cache=False)
    assert shipped.energy_j > evaluate_model(TINY, seq_len=16, arch="asadi-dagger.yaml",
                                             cache=False).energy_j


def test_16_bit_analog_and_fp16_digital(tmp_path):
    base = evaluate_model(TINY, seq_len=16, cache=False,
                          arch=_variant(tmp_path, "hyflexpim.yaml", "base", pu__replication="none"))
    wide = _variant(tmp_path, "hyflexpim.yaml", "wide", analog__input_bits=16,
                    analog__weight_bits=16, digital__op_bits=16, digital__number_format="fp",
                    pu__replication="none")
    r = evaluate_model(TINY, seq_len=16, arch=wide, cache=False)
    # twice the input cycles; 16 weight slices also re-spread each part's outputs over twice the
    # arrays, which changes the fullest array's converted columns (timing.part_columns)
    from hyflex_plugin.evaluation.timing import analog_timing, part_token_time

    def slowest(res):
        t = analog_timing(res.design)
        parts = res.to_dict()["layers"][0]["replicas"]["ffn1"]
        return max(part_token_time(t, p["out"], p["mode"] == "slc") for p in parts)

    assert slowest(r) / slowest(base) == pytest.approx(2.0 * 120 / 116, rel=1e-6)  # MLC 115 outputs
    assert _einsum(r, "ffn1")["latency_s"] / _einsum(base, "ffn1")["latency_s"] == \
        pytest.approx(slowest(r) / slowest(base), rel=1e-6)
    assert 3.0 < _einsum(r, "ffn1")["energy_j"] / _einsum(base, "ffn1")["energy_j"] < 4.0
    assert _einsum(r, "sv")["latency_s"] / _einsum(base, "sv")["latency_s"] == \
        pytest.approx(1006 / 919, rel=1e-3)


def test_sweep_fast_engine_follows_the_precisions(tmp_path):
    """The sweep's closed form agrees with AccelForge within 1 % (both directions) for FP32
    ASADI and a 16-bit/FP16 HyFlexPIM variant: slices, input cycles, FP step counts, buffer
    widths."""
    import json

    from hyflex_plugin.sweep import evaluate_points

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 1,
                               "num_attention_heads": 2, "intermediate_size": 128}))
    wide = _variant(tmp_path, "hyflexpim.yaml", "wide", analog__input_bits=16,
                    analog__weight_bits=16, digital__op_bits=16, digital__number_format="fp")
    points = [{"design": d, "model": str(cfg), "seq_len": 16, "slc_fraction": 0.1, "axes": {}}
              for d in (load_arch("asadi.yaml"), wide)]
    fast = evaluate_points(points, "fast")
    exact = evaluate_points(points, "accelforge", cache=False)
    for f, e in zip(fast, exact):
        assert f["error"] is None and e["error"] is None, (f["error"], e["error"])
        for m in ("energy_j", "latency_s", "area_mm2"):
            assert -0.01 <= (f[m] - e[m]) / e[m] <= 0.01, (m, f[m], e[m])


def test_fp32_design_exports_to_timeloop(tmp_path):
    """ASADI as published exports a valid classic Timeloop/Accelergy folder; its digital MAC is
    priced with the FP32 step count."""
    import json

    from hyflex_plugin.export.schema import validate_export
    from hyflex_plugin.export.timeloop import export_timeloop

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 1,
                               "num_attention_heads": 2, "intermediate_size": 128}))
    out = tmp_path / "exp"
    export_timeloop(model=str(cfg), seq_len=16, arch="asadi.yaml", out=out)
    validate_export(out)
    prims = json.loads((out / "accelergy/plugin/hyflex_primitives.json").read_text())
    mac = next(v for v in prims.values() if v["attributes"].get("number_format") == "fp"
               and "compute" in v["energy_j"])
    int8 = HyflexDigitalPIMArray(op_bits=8)
    fp32 = HyflexDigitalPIMArray(op_bits=32, number_format="fp")
    assert mac["energy_j"]["compute"] == pytest.approx(fp32.compute().energy / 4457, rel=1e-6)
    assert fp32.compute().energy / int8.compute().energy == pytest.approx(4457 / 919, rel=1e-9)
    assert 'number_format: "fp"' in (out / "arch" / "digital.arch.yaml").read_text()
