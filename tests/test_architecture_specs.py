"""Design files in arch_specs/: validation, AccelForge instantiation, copy-and-edit."""

from __future__ import annotations

import pytest
import yaml

from hyflex_plugin.architecture import ARCH_DIR, HyflexDesign, accelforge_spec, load_arch
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation import evaluate_model
from hyflex_plugin.evaluation.engine import arrays_for_linear, evaluate_einsum, linear_params
from hyflex_plugin.workloads import ModelShape

SMALL = ModelShape(name="tiny", n_layers=2, hidden_size=64, num_heads=2, intermediate_size=128)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))


def _spec_dict(name="hyflexpim.yaml"):
    return yaml.safe_load((ARCH_DIR / name).read_text())


def test_every_shipped_design_file_loads():
    files = sorted(ARCH_DIR.glob("*.yaml"))
    assert {"hyflexpim.yaml", "all-slc.yaml", "all-mlc.yaml", "asadi-dagger.yaml"} <= {f.name for f in files}
    for f in files:
        d = load_arch(f)
        assert isinstance(d, HyflexDesign) and d.name
    hy = load_arch()
    assert (hy.analog.rows, hy.analog.columns, hy.analog.adc_bits_slc, hy.analog.adc_bits_mlc) == (64, 128, 6, 7)
    assert hy.chip.link_bandwidth == 128e9 and hy.analog.cycle == 100e-9 and hy.digital.clock == 1e9
    assert load_arch("all-slc.yaml").slc_fraction == 1 and load_arch("all-mlc.yaml").slc_fraction == 0


def test_accelforge_spec_is_the_real_engine_with_hyflex_components():
    design = load_arch()
    params = linear_params(design, 64, 32, slc=False, tokens=2)
    spec = accelforge_spec(design, "analog", params)
    classes = {n.name: getattr(n, "component_class", None) for n in spec.arch.nodes}
    assert classes["ADC"] == "hyflex_sar_adc" and classes["Cell"] == "hyflex_rram_cell"
    result = spec.evaluate_mapping()
    energy = sum(float(v) for v in result.energy(per_component=True).values())
    assert energy == pytest.approx(evaluate_einsum(design, "analog", params, cache=False).energy_j)
    with pytest.raises(HyflexInputError, match="analog"):
        accelforge_spec(design, "optical", params)


def test_copy_a_spec_change_a_number_and_run(tmp_path):
    spec = _spec_dict()
    spec["analog"]["rows"] = 128
    mine = tmp_path / "my_design.yaml"
    mine.write_text(yaml.safe_dump(spec))
    big = load_arch(mine)
    base = load_arch()
    assert arrays_for_linear(big, 256, 64, slc=True) * 2 == arrays_for_linear(base, 256, 64, slc=True)
    r_big = evaluate_model(SMALL, seq_len=16, slc_fraction=0.5, arch=mine)
    r_base = evaluate_model(SMALL, seq_len=16, slc_fraction=0.5, arch=base)
    assert r_big.layers[0].arrays < r_base.layers[0].arrays
    assert r_big.arch_path == str(mine)
    assert r_big.energy_j != pytest.approx(r_base.energy_j)


def test_bad_design_files_are_named(tmp_path):
    with pytest.raises(HyflexInputError, match="--arch.*no-such-design.yaml.*not found.*hyflexpim.yaml"):
        load_arch(tmp_path / "no-such-design.yaml")
    spec = _spec_dict()
    del spec["analog"]["rows"]
    missing = tmp_path / "missing.yaml"
    missing.write_text(yaml.safe_dump(spec))
    with pytest.raises(HyflexInputError) as e:
        load_arch(missing)
    assert str(missing) in str(e.value) and "analog.rows" in str(e.value)
    spec = _spec_dict()
    spec["analog"]["adc_bit_mlc"] = spec["analog"].pop("adc_bits_mlc")
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump(spec))
    with pytest.raises(HyflexInputError) as e:
        load_arch(typo)
    assert "analog.adc_bit_mlc" in str(e.value) and str(typo) in str(e.value)
    assert "did you mean 'adc_bits_mlc'" in str(e.value)
    spec = _spec_dict()
    spec["analog"]["adc_bits_slc"] = 9
    wrong = tmp_path / "adc.yaml"
    wrong.write_text(yaml.safe_dump(spec))
    with pytest.raises(HyflexInputError, match="adc_max_bits"):
        load_arch(wrong)
    spec = _spec_dict()
    spec["mappings"]["analog"] = "nonexistent.yaml"
    nomap = tmp_path / "nomap.yaml"
    nomap.write_text(yaml.safe_dump(spec))
    with pytest.raises(HyflexInputError) as e:
        load_arch(nomap)
    assert "mappings.analog" in str(e.value) and "nonexistent.yaml" in str(e.value)


def test_fingerprint_changes_with_the_design():
    base = load_arch()
    assert base.fingerprint() == load_arch().fingerprint()
    assert base.model_copy(update={"tech_node": 45e-9}).fingerprint() != base.fingerprint()
