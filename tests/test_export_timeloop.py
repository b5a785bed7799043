"""Timeloop v0.4 / Accelergy export: files, schema, the toolchain checks of `export validate`,
numbers vs hwcomponents, the shipped Accelergy plug-in, bad input, atomic output. (The runs in
the real classic Timeloop + Accelergy are in test_export_classic_timeloop.py.)
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
from pathlib import Path

import hwcomponents as hwc
import pytest
import yaml

from hyflex_plugin.cli import main
from hyflex_plugin.costmodels.hwc_compat import reset_model_cache
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.export.readme import RUNNER
from hyflex_plugin.export.schema import load_yaml_text, validate_export, validate_file
from hyflex_plugin.export.timeloop import export_timeloop

TINY = {"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 64,
        "num_attention_heads": 2, "intermediate_size": 128}
SEQ = 16


@pytest.fixture(scope="module")
def tiny_cfg(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "config.json"
    p.write_text(json.dumps(TINY))
    return p


@pytest.fixture(scope="module")
def export(tiny_cfg, tmp_path_factory) -> Path:
    """One real export (AccelForge reference runs in a fresh cache)."""
    base = tmp_path_factory.mktemp("exp")
    old = os.environ.get("HYFLEX_CACHE_DIR")
    os.environ["HYFLEX_CACHE_DIR"] = str(base / "cache")
    try:
        export_timeloop(model=str(tiny_cfg), seq_len=SEQ, slc_fraction=0.25, out=base / "out")
    finally:
        if old is None:
            os.environ.pop("HYFLEX_CACHE_DIR", None)
        else:
            os.environ["HYFLEX_CACHE_DIR"] = old
    return base / "out"


def _runs(folder: Path) -> list[dict]:
    return yaml.safe_load((folder / "runs.yaml").read_text())["runs"]


# ----------------------------------------------------------------------------- structure
def test_export_writes_every_file_kind(export):
    runs = _runs(export)
    names = {r["name"] for r in runs}
    # hidden 64, FFN 128, 25 % SLC: q/k/v/attn_out share (64 -> 16 SLC, 64 -> 48 MLC)
    assert {"linear_k64_n16_slc", "linear_k64_n48_mlc", "linear_k64_n32_slc",
            "linear_k64_n96_mlc", "linear_k128_n16_slc", "linear_k128_n48_mlc",
            "attention_qk", "attention_sv"} == names
    counts = {r["name"]: r["count_per_model"] for r in runs}
    assert counts["linear_k64_n16_slc"] == 4 and counts["linear_k64_n96_mlc"] == 1
    for r in runs:
        for key in ("arch", "problem", "constraints"):
            assert (export / r[key]).is_file()
    assert (export / "mapper/mapper.yaml").is_file()
    assert (export / "accelergy/tables/hyflex.table.yaml").is_file()
    assert (export / "accelergy/plugin/hyflex.estimator.yaml").is_file()
    assert (export / "run_timeloop.py").read_text() == RUNNER.read_text()
    readme = (export / "README.md").read_text()
    for r in runs:
        assert (export / r["mapping"]).is_file()
        for route in ("tables", "plugin"):
            for tool in ("model", "mapper"):
                assert f"python run_timeloop.py {tool} {r['name']} --accelergy {route}\n" in readme


def test_cim_structure_and_weight_stationary_constraints(export):
    arch = load_yaml_text((export / "arch/analog_mlc.arch.yaml").read_text())
    nodes = {n["name"]: n for n in arch["architecture"]["nodes"]}
    assert nodes["row"].tag == "!Container" and nodes["row"]["spatial"] == {"meshY": 64}
    assert nodes["column"]["spatial"] == {"meshX": 32}          # 128 columns / 4 MLC slices
    assert nodes["cim_unit"]["constraints"]["dataspace"]["keep"] == ["Weights"]
    # input bits are time (rank B, walked at the shift-add), weight slices are parallel cells
    assert nodes["adc"]["energy_scale"] == 4 and nodes["cim_unit"]["energy_scale"] == 4
    assert "energy_scale" not in nodes["row_drivers"]
    assert nodes["adc"]["constraints"]["temporal"] == {"no_reuse": ["Outputs"]}
    assert arch["architecture"]["nodes"][-1]["class"] == "compute"
    assert "INF" in arch["variables"]
    # one Timeloop cycle = one input-bit cycle: tokens x 8 cycles = hyflex's latency of the part
    run = next(r for r in _runs(export) if r["name"] == "linear_k128_n48_mlc")
    assert arch["variables"]["GLOBAL_CYCLE_SECONDS"] * SEQ * 8 == pytest.approx(
        run["hyflex_latency_padded_s"], rel=1e-6)
    slc = load_yaml_text((export / "arch/analog_slc.arch.yaml").read_text())
    slc_nodes = {n["name"]: n for n in slc["architecture"]["nodes"]}
    assert slc_nodes["column"]["spatial"] == {"meshX": 16}
    assert slc_nodes["adc"]["attributes"]["resolution"] == 6
    mapping = yaml.safe_load((export / "mappings/linear_k128_n48_mlc.map.yaml").read_text())
    t = {m["target"]: m for m in mapping["mapping"]}
    assert t["source"]["factors"] == [f"M={SEQ}", "N=1", "K=1", "B=1"]   # tokens stream
    assert t["shift_add"]["factors"] == ["M=1", "N=1", "K=1", "B=8"]    # bit-serial inputs
    assert t["cim_unit"]["factors"] == ["M=1", "N=1", "K=1", "B=1"]
    assert t["arrays"]["factors"] == ["M=1", "N=2", "K=2", "B=1"]
    assert t["row"]["split"] == 0
    prob = yaml.safe_load((export / "problems/linear_k128_n48_mlc.problem.yaml").read_text())
    assert prob["problem"]["instance"] == {"M": SEQ, "N": 64, "K": 128, "B": 8}  # n padded
    cons = yaml.safe_load((export / "constraints/linear_k128_n48_mlc.constraints.yaml").read_text())
    c = {x["target"]: x for x in cons["constraints"]["targets"]}
    # the constraints state the hardware (weights never move: N, K never temporal), not the answer
    assert "N=1" in c["buffer"]["factors"] and not any(f.startswith("M=") for f in c["source"]["factors"])
    attn = yaml.safe_load((export / "mappings/attention_qk.map.yaml").read_text())
    assert {m["target"]: m for m in attn["mapping"]}["nor_steps"]["factors"][-1] == "S=919"


def test_export_validates_and_cli_validate(export, capsys):
    counts = validate_export(export)
    assert counts == {"ArchFile": 3, "ProblemFile": 8, "ConstraintsFile": 8, "MapperFile": 1,
                      "MappingFile": 8}
    assert main(["export", "validate", str(export)]) == 0
    assert "valid Timeloop v0.4 export" in capsys.readouterr().out


@pytest.mark.parametrize("rel,old,new,field", [
    ("arch/analog_mlc.arch.yaml", "meshY:", "meshy:", "meshy"),
    ("arch/digital.arch.yaml", "subclass:", "sub_class:", "sub_class"),
    ("problems/attention_qk.problem.yaml", "data_spaces:", "dataspaces:", "dataspaces"),
    ("problems/linear_k64_n16_slc.problem.yaml", "projection:", "projetion:", "projetion"),
    ("mapper/mapper.yaml", "victory_condition:", "victory_conditon:", "victory_conditon"),
    ("mappings/attention_sv.map.yaml", "permutation:", "permutaton:", "permutaton"),
    ("constraints/attention_sv.constraints.yaml", "K=1,", "K:1,", "factors"),
])
def test_misspelled_key_is_rejected(export, tmp_path, rel, old, new, field):
    bad = tmp_path / "bad"
    shutil.copytree(export, bad)
    p = bad / rel
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(HyflexInputError) as exc:
        validate_file(p)
    assert field in str(exc.value) and rel.split("/")[-1] in str(exc.value)
    with pytest.raises(HyflexInputError):
        validate_export(bad)


def test_cross_checks_catch_wrong_factors_and_names(export, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(export, bad)
    p = bad / "mappings/linear_k64_n16_slc.map.yaml"
    p.write_text(p.read_text().replace(f"M={SEQ}", f"M={SEQ * 2}"))
    with pytest.raises(HyflexInputError, match="dimension M"):
        validate_export(bad)
    shutil.rmtree(bad)
    shutil.copytree(export, bad)
    p = bad / "constraints/attention_qk.constraints.yaml"
    p.write_text(p.read_text().replace("target: lanes", "target: lane"))
    with pytest.raises(HyflexInputError, match="not an architecture node"):
        validate_export(bad)
    # a buffer too small for the mapping's tile (one token's 128 inputs + 64 outputs) is caught
    shutil.rmtree(bad)
    shutil.copytree(export, bad)
    a = bad / "arch/analog_mlc.arch.yaml"
    a.write_text(a.read_text().replace("depth: 2048", "depth: 4"))
    with pytest.raises(HyflexInputError, match="buffer.attributes.depth"):
        validate_export(bad)


# ----------------------------------------------------------------------------- numbers
def _query(model: str, attrs: dict, action: str | None, tech: float) -> tuple[float, float]:
    reset_model_cache()
    full = {**attrs, "tech_node": tech}
    energy = 0.0 if action is None else hwc.get_action_cost(model, full, action, {}).energy
    return energy, hwc.get_area(model, full)


def test_table_numbers_equal_hwcomponents(export):
    """Every exported number (CSV tables and plug-in data) == the hwcomponents model's, queried."""
    data = json.loads((export / "accelergy/plugin/hyflex_primitives.json").read_text())
    tech = yaml.safe_load((export / "runs.yaml").read_text())["tech_node_m"]
    checked = 0
    for sub, entry in data.items():
        rows = list(csv.DictReader((export / f"accelergy/tables/data/{sub}.csv").open()))
        assert {r["action"] for r in rows} == set(entry["energy_j"])
        assert all(r["technology"] == "65nm" and r["action_latency_cycles"] == "1" for r in rows)
        for r in rows:
            assert float(r["energy"]) * 1e-12 == pytest.approx(entry["energy_j"][r["action"]],
                                                               rel=1e-12, abs=1e-30)
            assert float(r["area"]) * 1e-12 == pytest.approx(entry["area_m2"], rel=1e-12, abs=1e-30)
        if entry["hyflex_model"] is None:
            assert all(v == 0 for v in entry["energy_j"].values())
            continue
        for action, energy in entry["energy_j"].items():
            if entry["hyflex_model_action"][action] is None:
                assert energy == 0
                continue
            model_action, factor = entry["hyflex_model_action"][action]
            e, area = _query(entry["hyflex_model"], entry["attributes"], model_action, tech)
            assert energy == pytest.approx(e * factor, rel=1e-12, abs=1e-30), (sub, action)
            if sub != "hyflex_digital_pim_nor_step":  # the lane's area is the array's (counted once)
                assert entry["area_m2"] == pytest.approx(area, rel=1e-12)
            checked += 1
    assert checked >= 12
    # priced on what Timeloop counts: output-side levels on update, cells and drivers on read
    adc7, adc6 = data["hyflex_sar_adc_7b"]["energy_j"], data["hyflex_sar_adc_6b"]["energy_j"]
    assert adc7["update"] > adc6["update"] > 0 and adc7["read"] == 0
    assert data["hyflex_shift_add_mlc"]["energy_j"]["update"] > 0
    assert data["hyflex_rram_cell_mlc_preprogrammed"]["energy_j"]["read"] > 0
    # one NOR step = the MAC's energy / its steps
    step = data["hyflex_digital_pim_nor_step"]
    e, _ = _query("hyflex_digital_pim_array", step["attributes"], "compute", tech)
    assert step["energy_j"]["compute"] * 919 == pytest.approx(e, rel=1e-12)


def test_shipped_accelergy_plugin_serves_the_same_numbers(export):
    """The plug-in is a real module of the package, copied out unchanged; imported from the
    export it serves the JSON's numbers with actions named by __name__ and checked attributes.
    """
    from hyflex_plugin.export.accelergy import PLUGIN_DIR

    path = export / "accelergy/plugin/hyflex_accelergy_plugin.py"
    assert path.read_text() == (PLUGIN_DIR / "hyflex_accelergy_plugin.py").read_text()
    spec = importlib.util.spec_from_file_location("hyflex_accelergy_plugin_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = json.loads((export / "accelergy/plugin/hyflex_primitives.json").read_text())
    adc = data["hyflex_sar_adc_7b"]
    est = mod.ESTIMATORS["hyflex_sar_adc_7b"](resolution=7, max_resolution=7,
                                              throughput=adc["attributes"]["throughput"])
    assert est.name == "hyflex_sar_adc_7b" and est.update.__name__ == "update"
    e, area = _query("hyflex_sar_adc", adc["attributes"], "convert", 65e-9)
    assert est.update() == pytest.approx(e, rel=1e-12) and est.get_area() == pytest.approx(area, rel=1e-12)
    assert est.read() == 0 and est.leak(1e-7) == 0
    with pytest.raises(ValueError, match="resolution"):
        mod.ESTIMATORS["hyflex_sar_adc_7b"](resolution=6)
    estimator_yaml = yaml.safe_load((export / "accelergy/plugin/hyflex.estimator.yaml").read_text())
    assert estimator_yaml["python_plug_ins"] == ["hyflex_accelergy_plugin.py"]
    assert all(c.__module__ == mod.__name__ for c in mod.ESTIMATORS.values())


# ----------------------------------------------------------------------------- export validate
def _broken(export: Path, tmp_path: Path, rel: str, old: str, new: str) -> Path:
    bad = tmp_path / "bad"
    shutil.copytree(export, bad)
    p = bad / rel
    text = p.read_text()
    assert old in text, (rel, old)
    p.write_text(text.replace(old, new))
    return bad


def test_validate_catches_unquoted_string(export, tmp_path):
    bad = _broken(export, tmp_path, "arch/analog_mlc.arch.yaml", 'technology: "65nm"',
                  "technology: 65nm")
    with pytest.raises(HyflexInputError, match="unquoted string '65nm'"):
        validate_export(bad)


def test_validate_catches_undefined_variable(export, tmp_path):
    bad = _broken(export, tmp_path, "arch/digital.arch.yaml", "INF: 2147483647", "INFINITY: 1")
    with pytest.raises(HyflexInputError, match="'INF'.*variables do not define"):
        validate_export(bad)


@pytest.mark.parametrize("old,new,match", [
    (",global_cycle_seconds,", ",cycle,", "global_cycle_seconds"),   # a column Accelergy queries
    ("65nm,", "65,", "no row matches"),                                # technology as Accelergy sends it
    ("65nm,7,7,", "65nm,7.0,7,", "no row matches"),                    # integer formatting
])
def test_validate_catches_tables_accelergy_cannot_match(export, tmp_path, old, new, match):
    bad = _broken(export, tmp_path, "accelergy/tables/data/hyflex_sar_adc_7b.csv", old, new)
    with pytest.raises(HyflexInputError, match=match):
        validate_export(bad)


def test_validate_catches_plugin_actions_not_named_by_name(export, tmp_path):
    bad = _broken(export, tmp_path, "accelergy/plugin/hyflex_accelergy_plugin.py",
                  "    @actionDynamicEnergy\n    def update(self):",
                  "    update = actionDynamicEnergy(lambda self: self._energy('update'))\n\n"
                  "    def _unused(self):")
    with pytest.raises(HyflexInputError, match="__name__"):
        validate_export(bad)
    bad2 = _broken(export, tmp_path / "2", "accelergy/plugin/hyflex_accelergy_plugin.py",
                   "max_resolution=None, ", "")
    with pytest.raises(HyflexInputError, match="max_resolution"):
        validate_export(bad2)


# ----------------------------------------------------------------------------- bad input
def test_refuses_non_empty_out_unless_force(export, tiny_cfg, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(HyflexInputError, match="--force"):
        export_timeloop(model=str(tiny_cfg), seq_len=SEQ, out=out, reference=False)
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["export", "timeloop", "--model", str(tiny_cfg), "--seq-len", str(SEQ),
                 "--out", str(out), "--no-reference"]) == 2
    assert main(["export", "timeloop", "--model", str(tiny_cfg), "--seq-len", str(SEQ),
                 "--out", str(out), "--no-reference", "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "runs.yaml").is_file()
    validate_export(out)


@pytest.mark.parametrize("kwargs,match", [
    ({"model": "bert-tiny-unknown"}, "unknown model"),
    ({"slc_fraction": 1.5}, "between 0 and 1"),
    ({"slc_fraction": -0.1}, "between 0 and 1"),
    ({"slc_fraction": None}, "--partition"),
    ({"seq_len": 0}, "integer from 1 to 1,048,576"),
])
def test_bad_inputs_are_clear_errors(tmp_path, tiny_cfg, kwargs, match):
    args = {"model": str(tiny_cfg), "seq_len": SEQ, "out": tmp_path / "o", "reference": False, **kwargs}
    with pytest.raises(HyflexInputError, match=match):
        export_timeloop(**args)
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]


def test_cli_reports_bad_share(tmp_path, tiny_cfg, capsys):
    rc = main(["export", "timeloop", "--model", str(tiny_cfg), "--slc-fraction", "2",
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "--slc-fraction" in capsys.readouterr().err


def test_failed_export_leaves_nothing_behind(tmp_path, tiny_cfg, monkeypatch):
    """An error while writing (here: validation fails) leaves no partial folder, and an earlier
    complete export in the same place stays as it was.
    """
    out = tmp_path / "out"
    export_timeloop(model=str(tiny_cfg), seq_len=SEQ, out=out, reference=False)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    import hyflex_plugin.export.timeloop as tl

    def broken(folder):
        raise HyflexInputError(str(folder), "x", "simulated failure")

    monkeypatch.setattr(tl, "validate_export", broken)
    with pytest.raises(HyflexInputError, match="simulated"):
        export_timeloop(model=str(tiny_cfg), seq_len=SEQ * 2, out=out, force=True, reference=False)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert yaml.safe_load((out / "runs.yaml").read_text())["seq_len"] == SEQ
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ----------------------------------------------------------------------------- partition file
def _svd_partition(slc_share_by_layer: list[float]):
    from hyflex_plugin.partition.schema import (
        LayerPartition,
        MatrixPartition,
        ModelInfo,
        PartitionFile,
    )

    h, f = TINY["hidden_size"], TINY["intermediate_size"]
    layers = []
    for i, share in enumerate(slc_share_by_layer):
        mats = []
        for name, (out_f, in_f) in {"q": (h, h), "k": (h, h), "v": (h, h), "attn_out": (h, h),
                                    "ffn1": (f, h), "ffn2": (h, f)}.items():
            rank = (out_f * in_f) // (out_f + in_f)
            mats.append(MatrixPartition(name=name, shape=(out_f, in_f), decomposition="svd",
                                        rank=rank, slc_ranks=list(range(int(round(share * rank))))))
        layers.append(LayerPartition(index=i, matrices=mats))
    info = ModelInfo(name="tiny", n_layers=len(slc_share_by_layer), hidden_size=h,
                     num_heads=TINY["num_attention_heads"], intermediate_size=f)
    return PartitionFile(model=info, method="gradient-redistribution", selector="gradient",
                         slc_fraction=0.5, layers=layers)


def test_partition_export_matches_whole_model_evaluation(tmp_path, monkeypatch):
    """With an SVD partition (layer 0 all MLC, layer 1 half SLC), the exported problems are the
    SVD factors, and sum(count x hyflex energy) over the linear runs equals hyflex's whole-model
    linear energy from evaluate_model (same engine, same parts).
    """
    from hyflex_plugin.evaluation import evaluate_model

    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "cache"))
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({**TINY, "num_hidden_layers": 2}))
    part = tmp_path / "partition.yaml"
    _svd_partition([0.0, 0.5]).dump(part)
    out = tmp_path / "out"
    export_timeloop(model=str(cfg), seq_len=SEQ, slc_fraction=None, partition=part, out=out)
    runs = _runs(out)
    names = {r["name"] for r in runs}
    # q: 64x64, rank 32 -> (64 -> 32) and (32 -> 64); layer 1 splits 16 SLC + 16 MLC ranks
    assert {"linear_k64_n32_mlc", "linear_k32_n64_mlc", "linear_k64_n16_slc",
            "linear_k16_n64_slc", "linear_k64_n16_mlc", "linear_k16_n64_mlc"} <= names
    meta = yaml.safe_load((out / "runs.yaml").read_text())
    assert meta["partition"] == str(part) and meta["slc_fraction"] is None
    validate_export(out)
    r = evaluate_model(str(cfg), seq_len=SEQ, slc_fraction=None, partition=part)
    linear = sum(x["count_per_model"] * x["hyflex_energy_j"] for x in runs if x["path"] == "analog")
    assert linear == pytest.approx(r.energy_by("category")["linear"], rel=1e-9)
    attention = sum(x["count_per_model"] * x["hyflex_energy_j"] for x in runs if x["path"] == "digital")
    assert attention == pytest.approx(r.energy_by("category")["attention"], rel=0.02)


# ----------------------------------------------------------------------------- other designs
@pytest.mark.parametrize("arch,has_switch", [("all-slc.yaml", True), ("asadi-dagger.yaml", False)])
def test_fixed_share_designs(tmp_path, tiny_cfg, arch, has_switch):
    """All-SLC keeps the hybrid hardware (mode switch priced, as in hyflex's evaluation); a
    1-bit-only design (ASADI-style) has no mode switch.
    """
    out = tmp_path / "o"
    export_timeloop(model=str(tiny_cfg), seq_len=SEQ, arch=arch, out=out, reference=False)
    assert sorted(p.name for p in (out / "arch").iterdir()) == ["analog_slc.arch.yaml",
                                                               "digital.arch.yaml"]
    names = [n["name"] for n in load_yaml_text((out / "arch/analog_slc.arch.yaml").read_text())
             ["architecture"]["nodes"]]
    assert ("mode_switch" in names) == has_switch and "adc" in names
    assert all(r["name"].endswith("_slc") for r in _runs(out) if r["path"] == "analog")
    validate_export(out)


def test_digital_only_design_is_refused(tmp_path, tiny_cfg):
    with pytest.raises(HyflexInputError, match="linear_path"):
        export_timeloop(model=str(tiny_cfg), seq_len=SEQ, arch="digital-pim-only.yaml",
                        out=tmp_path / "o", reference=False)
    assert not (tmp_path / "o").exists()


def test_schema_accepts_hierarchical_and_rejects_unknown_node_type():
    from hyflex_plugin.export.schema import validate_document

    text = """
architecture:
  version: 0.4
  nodes:
  - !Container {name: top, attributes: {technology: 65nm}}
  - !Hierarchical
    nodes:
    - !Component {name: buf, class: storage, subclass: x, attributes: {depth: 4, datawidth: 8}}
    - !Component {name: mac, class: intmac, attributes: {width: 8}}
"""
    doc = validate_document(load_yaml_text(text), "hand.yaml")
    assert len(doc.architecture.nodes) == 2
    with pytest.raises(HyflexInputError, match="hand.yaml"):
        validate_document(load_yaml_text(text.replace("!Hierarchical", "!Hierarchy")), "hand.yaml")
    with pytest.raises(HyflexInputError, match="element class"):
        validate_document(load_yaml_text(text.replace("class: intmac", "class: adder")), "hand.yaml")
    with pytest.raises(HyflexInputError, match="top-level"):
        validate_document({"architectur": {}}, "hand.yaml")
