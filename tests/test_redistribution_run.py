"""End-to-end on a tiny random BERT (MiniLM tokenizer, real Rotten Tomatoes sentences): resume,
run folder, accuracy sweep, partition file, CLI and bad input."""

import csv
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from hyflex_plugin.cli import main  # noqa: E402
from hyflex_plugin.errors import HyflexInputError  # noqa: E402
from hyflex_plugin.partition import PartitionFile  # noqa: E402
from hyflex_plugin.redistribution import data as rdata  # noqa: E402
from hyflex_plugin.redistribution.experiment import accuracy, make_partition, redistribute  # noqa: E402
from hyflex_plugin.redistribution.model import SentenceClassifier  # noqa: E402
from hyflex_plugin.redistribution.svd import decompose_model  # noqa: E402
from hyflex_plugin.redistribution.training import fine_tune, sigma_importance  # noqa: E402


def _synthetic(n=40, seed=0):
    """Token-id sentences; label 1 iff token 7 appears."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ids = [rng.randrange(10, 50) for _ in range(rng.randrange(3, 9))]
        lab = rng.random() < 0.5
        if lab:
            ids[rng.randrange(len(ids))] = 7
        out.append(([1] + ids + [2], int(lab)))
    return out


def _tiny_classifier():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=32)
    m = SentenceClassifier(BertModel(cfg, add_pooling_layer=False), 32, 2)
    decompose_model(m)
    return m


def test_resume_from_checkpoint_equals_uninterrupted(tmp_path):
    data = _synthetic()
    a = _tiny_classifier()
    ra = fine_tune(a, data, epochs=2, batch_size=8, lr=1e-3, seed=5)
    b = _tiny_classifier()
    ck = tmp_path / "b.ckpt"
    part = fine_tune(b, data, epochs=2, batch_size=8, lr=1e-3, seed=5, checkpoint=ck,
                     ckpt_every=3, max_steps=4)
    assert part["steps"] == 4 and ck.is_file()
    c = _tiny_classifier()  # a fresh process would rebuild the model from scratch
    rc = fine_tune(c, data, epochs=2, batch_size=8, lr=1e-3, seed=5, checkpoint=ck, ckpt_every=3)
    assert rc["steps"] == ra["steps"] == 10
    sa, sc = a.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sc[k]) for k in sa)
    assert rc["loss"] == ra["loss"]
    # training changed the weights (the comparison above is not trivially true)
    assert not torch.equal(sa["head.weight"], _tiny_classifier().state_dict()["head.weight"])
    imp = sigma_importance(c, data[:16], batch_size=8)
    assert len(imp) == 12 and all(v.shape[0] >= 1 and float(v.sum()) > 0 for v in imp.values())


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    return redistribute("tiny-bert", out=out, n_train=48, n_test=48, n_calib=16, seq_len=24,
                        batch_size=16, lr=1e-3)


def test_run_folder_sweep_and_partition(tiny_run, tmp_path):
    for f in ("run.yaml", "dense.pt", "svd.pt", "importance.pt", "dense_grads.pt"):
        assert (tiny_run / f).is_file()
    csv_path = tmp_path / "acc.csv"
    rows = accuracy(tiny_run, shares=[0.0, 1.0], seeds=[0, 1], sigma=0.5,
                    selectors={"gradient-redistribution": ["gradient"], "brute-force": ["magnitude"]},
                    out_csv=csv_path)
    with open(csv_path) as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0])[:5] == ["method", "selector", "slc_fraction", "seed", "accuracy"]
    assert len(table) == 4 + 2 * 2 * 2
    by = {(r["method"], r["slc_fraction"], r["seed"]): float(r["accuracy"]) for r in table}
    ref = {r["selector"]: float(r["accuracy"]) for r in table if r["method"] == "reference"}
    assert by[("gradient-redistribution", "1.0", "0")] == ref["int8-svd"]  # copied (same_as)
    assert [r["same_as"] for r in table if r["slc_fraction"] == "1.0" and r["method"] != "reference"][0] \
        == "reference/int8-svd/1.0/0"
    # evaluated for real (no reference rows to copy): 100 % SLC is the noise-free INT8 model
    real = accuracy(tiny_run, shares=[1.0], seeds=[3], sigma=0.7, references=False,
                    selectors={"gradient-redistribution": ["random"], "brute-force": ["random"]})
    assert [r["accuracy"] for r in real] == [ref["int8-svd"], ref["int8-dense"]]
    assert all("same_as" not in r and r["eval_s"] > 0 for r in real)
    # second call is served from the run's cache (same numbers, no re-evaluation)
    again = accuracy(tiny_run, shares=[0.0, 1.0], seeds=[0, 1], sigma=0.5,
                     selectors={"gradient-redistribution": ["gradient"], "brute-force": ["magnitude"]})
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in rows]

    pf = make_partition(tiny_run, 0.25, out=tmp_path / "p.yaml")
    back = PartitionFile.load(tmp_path / "p.yaml")
    assert back == pf
    assert back.model.name == "tiny-bert" and back.model.n_layers == 2
    q = back.layer(0).matrix("q")
    assert q.shape == (32, 32) and q.rank == 16 and len(q.slc_ranks) == 4
    slc, mlc = q.weight_counts()
    assert slc == 4 * 64 and mlc == 12 * 64
    assert 0 < q.importance.slc_share <= 1
    # the paper's last-mini-batch score is stored too and gives a valid (usually other) choice
    last = make_partition(tiny_run, 0.25, importance="last-batch")
    lq = last.layer(0).matrix("q")
    assert len(lq.slc_ranks) == 4 and lq.importance is not None and lq.importance.total > 0


def test_cli_partition_and_accuracy(tiny_run, tmp_path, capsys):
    out = tmp_path / "cli.yaml"
    assert main(["partition", str(tiny_run), "--slc-share", "50%", "--out", str(out)]) == 0
    assert PartitionFile.load(out).layer(1).matrix("ffn1").rank == 21
    assert main(["partition", str(tiny_run), "--slc-share", "120%", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--slc-fraction/--slc-share" in err and "between 0 and 1" in err and "120%" in err
    assert main(["accuracy", str(tiny_run), "--shares", "0.1", "--seeds", "0", "--methods",
                 "gradient-redistribution", "--svd-selectors", "singular-value",
                 "--out", str(tmp_path / "a.csv")]) == 0
    assert "singular-value" in capsys.readouterr().out


def test_bad_inputs_name_what_is_wrong(tmp_path):
    with pytest.raises(HyflexInputError, match="--model.*neither a preset"):
        redistribute(tmp_path / "no-such-model", out=tmp_path / "r")
    bad = tmp_path / "bad.csv"
    bad.write_text("review,score\ngood,1\n")
    with pytest.raises(HyflexInputError) as e:
        rdata.make_split(bad, 1, 1, 0)
    assert str(bad) in str(e.value) and "'text'" in str(e.value)
    tsv = tmp_path / "train.tsv"
    tsv.write_text("sentence\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(10)))
    sp = rdata.make_split(tsv, 5, 3, 2)
    assert len(sp.train) == 5 and {lab for _, lab in sp.train + sp.test} <= {0, 1}
    with pytest.raises(HyflexInputError, match="run.yaml"):
        accuracy(tmp_path)
    with pytest.raises(HyflexInputError, match="slc_fraction"):
        make_partition(tmp_path, 1.5)


def test_rotten_tomatoes_split_is_fixed():
    a = rdata.make_split(n_train=20, n_test=10, n_calib=5)
    b = rdata.make_split(n_train=20, n_test=10, n_calib=5)
    assert a.test == b.test and a.train == b.train
    assert not set(a.test) & set(a.train)
    assert {lab for _, lab in a.train} == {0, 1}
