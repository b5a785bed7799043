"""Partition file schema: round trip, validation errors naming the field, model mismatch."""

import pytest
import yaml

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.partition import PartitionFile


def _doc():
    return {
        "schema_version": 1,
        "model": {"name": "bert-base", "n_layers": 12, "hidden_size": 768, "num_heads": 12,
                  "intermediate_size": 3072},
        "method": "gradient-redistribution",
        "selector": "gradient",
        "slc_fraction": 0.1,
        "layers": [{"index": 0, "matrices": [
            {"name": "q", "shape": [768, 768], "rank": 384, "slc_ranks": list(range(38)),
             "importance": {"total": 2.0, "max": 0.5, "mean": 0.005, "slc_share": 0.6}},
            {"name": "ffn1", "shape": [3072, 768], "rank": 614, "slc_ranks": [0, 5, 613]},
            {"name": "ffn2", "shape": [768, 3072], "decomposition": "dense",
             "slc_weight_fraction": 0.25},
        ]}],
    }


def test_round_trip_and_weight_counts(tmp_path):
    pf = PartitionFile.model_validate(_doc())
    path = pf.dump(tmp_path / "p.yaml")
    back = PartitionFile.load(path)
    assert back == pf
    q = back.layer(0).matrix("q")
    assert q.weight_counts() == (38 * 1536, (384 - 38) * 1536)
    assert back.layer(0).matrix("ffn2").weight_counts() == (589824, 3 * 589824)
    assert back.packing == "slc-contiguous"
    assert yaml.safe_load(path.read_text())["schema_version"] == 1


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["layers"][0]["matrices"][0].update(slc_ranks=[384]), "layers.0.matrices.0"),
    (lambda d: d.update(slc_fraction=1.5), "slc_fraction"),
    (lambda d: d["layers"][0]["matrices"][1].update(rank=769), "layers.0.matrices.1"),
    (lambda d: d.update(schema_version=2), "schema_version"),
    (lambda d: d["model"].update(n_layer=3), "model.n_layer"),
])
def test_bad_files_name_file_and_field(tmp_path, edit, field):
    d = _doc()
    edit(d)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(HyflexInputError) as e:
        PartitionFile.load(p)
    assert str(p) in str(e.value) and field in str(e.value)


def test_partition_for_another_model_is_rejected():
    from hyflex_plugin.workloads import ModelShape

    pf = PartitionFile.model_validate(_doc())
    large = ModelShape(name="bert-large", n_layers=12, hidden_size=1024, num_heads=16,
                       intermediate_size=3072)
    with pytest.raises(HyflexInputError, match="model.hidden_size.*bert-base.*1024"):
        pf.check_model("p.yaml", large)
