"""EvaluationRequest: every input check in one place, shared by evaluate, compare and export."""

from __future__ import annotations

import pytest

from hyflex_plugin.architecture.design import load_arch
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation import EvaluationRequest, evaluate, evaluate_model
from hyflex_plugin.partition.schema import LayerPartition, MatrixPartition, ModelInfo, PartitionFile
from hyflex_plugin.workloads.shapes import ModelShape

TINY = ModelShape(name="tiny", n_layers=1, hidden_size=64, num_heads=2, intermediate_size=256)


def _partition(shape: ModelShape = TINY) -> PartitionFile:
    h, f = shape.hidden_size, shape.intermediate_size
    mats = [MatrixPartition(name=n, shape=(o, i), decomposition="dense", slc_weight_fraction=0.5)
            for n, i, o in shape.linear_matrices()]
    assert [m.shape for m in mats][-1] == (h, f)
    return PartitionFile(
        model=ModelInfo(name=shape.name, n_layers=shape.n_layers, hidden_size=h,
                        num_heads=shape.num_heads, intermediate_size=f),
        method="uniform", selector="uniform", slc_fraction=0.5,
        layers=[LayerPartition(index=i, matrices=mats) for i in range(shape.n_layers)])


def test_loads_and_parses_once():
    r = EvaluationRequest(model="bert-large", seq_len="128", slc_fraction="10%")
    assert (r.model.n_layers, r.seq_len, r.slc_fraction, r.batch) == (24, 128, 0.1, 1)
    assert r.design.name == "HyFlexPIM" and r.arch_path == "HyFlexPIM" and r.partition is None
    # slc_share and arch are aliases, parsed the same way
    a = EvaluationRequest(model=TINY, seq_len=16, slc_share="5%", arch="all-mlc.yaml")
    assert a.arch_path == "all-mlc.yaml" and a.design.slc_fraction == 0.0
    assert a.slc_fraction == 0.0  # the design's fixed share wins over the user's 5 %
    b = EvaluationRequest(model=TINY, seq_len=16, slc_share=0.05)
    assert b.slc_fraction == 0.05
    with pytest.raises(HyflexInputError, match="given twice"):
        EvaluationRequest(model=TINY, seq_len=16, slc_share=0.05, slc_fraction=0.1)


def test_design_and_partition_rules(tmp_path):
    path = tmp_path / "p.yaml"
    _partition().dump(path)
    r = EvaluationRequest(model=TINY, seq_len=16, partition=path)
    assert r.partition is not None and r.slc_fraction is None and r.partition_source == str(path)
    fixed = EvaluationRequest(model=TINY, seq_len=16, partition=path, design=load_arch("all-slc.yaml"))
    assert fixed.partition is None and fixed.partition_source is None and fixed.slc_fraction == 1.0
    other = ModelShape(name="o", n_layers=1, hidden_size=32, num_heads=2, intermediate_size=128)
    with pytest.raises(HyflexInputError, match=f"{path}.*model.hidden_size"):
        EvaluationRequest(model=other, seq_len=16, partition=path)


@pytest.mark.parametrize("bad, match", [
    (dict(seq_len=0), "--seq-len, field 'seq_len': expected an integer from 1 to 1,048,576 \\(2\\^20 tokens\\), got 0"),
    (dict(seq_len=True), "--seq-len.*got True"),
    (dict(batch="two"), "--batch, field 'batch': expected a positive integer, got 'two'"),
    (dict(slc_fraction="150%"), "--slc-fraction.*between 0 and 1.*'150%'"),
    (dict(slc_fraction=None), "--slc-fraction.*or a --partition file"),
    (dict(model="bert-huge"), "--model: unknown model 'bert-huge'"),
    (dict(arch="nope.yaml"), "--arch: design file 'nope.yaml' not found"),
    (dict(seq_lenn=3), "field 'seq_lenn': unknown field \\(did you mean 'seq_len'\\?\\)"),
])
def test_bad_values_name_the_option(bad, match):
    with pytest.raises(HyflexInputError, match=match):
        EvaluationRequest(**{"model": TINY, "seq_len": 16, **bad})


def test_evaluate_model_is_evaluate_of_a_request(tmp_path, monkeypatch):
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path))
    via_kwargs = evaluate_model(TINY, seq_len=16, slc_share="10%", cache=False)
    via_request = evaluate(EvaluationRequest(model=TINY, seq_len=16, slc_fraction=0.1, cache=False))
    assert via_kwargs.slc_fraction == via_request.slc_fraction == 0.1
    assert via_kwargs.energy_j == via_request.energy_j > 0
    assert via_kwargs.latency_s == via_request.latency_s > 0
