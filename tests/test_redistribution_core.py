"""Decomposition, rank rule, INT8 slicing, noise and selection on tiny random models (no download)."""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hyflex_plugin.errors import HyflexInputError  # noqa: E402
from hyflex_plugin.redistribution import noise, readback, selection, svd  # noqa: E402


def _tiny_bert():
    cfg = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=64)
    torch.manual_seed(0)
    return transformers.BertModel(cfg, add_pooling_layer=False).eval()


def test_rank_formula_hard_threshold():
    assert svd.hard_threshold_rank(768, 768) == 384
    assert svd.hard_threshold_rank(3072, 768) == 614
    assert svd.hard_threshold_rank(768, 3072) == 614
    s = torch.tensor([3.0, 2.0, 1.0, 0.0])
    assert svd.choose_rank(s, 4, 4, "full") == 4
    assert svd.choose_rank(s, 4, 4, 2) == 2
    assert svd.choose_rank(s, 4, 4, 0.9) == 2  # 9+4 = 13 of 14 >= 0.9
    with pytest.raises(HyflexInputError, match="energy fraction"):
        svd.choose_rank(s, 4, 4, 1.5)


def _check_full_rank(model, inputs, n_expected):
    with torch.no_grad():
        ref = model(**inputs).last_hidden_state
    mats = svd.decompose_model(model, "full")
    assert len(mats) == n_expected
    with torch.no_grad():
        out = model(**inputs).last_hidden_state
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-4)
    return mats


def test_bert_full_rank_reproduces_output_and_hard_threshold_ranks():
    m = _tiny_bert()
    ids = torch.randint(0, 100, (2, 7))
    mats = _check_full_rank(m, {"input_ids": ids}, 2 * 6)
    assert [d.name for d in mats[:6]] == ["q", "k", "v", "attn_out", "ffn1", "ffn2"]
    m2 = _tiny_bert()
    mats2 = svd.decompose_model(m2)
    assert {d.name: d.module.rank for d in mats2[:6]} == {
        "q": 16, "k": 16, "v": 16, "attn_out": 16, "ffn1": 21, "ffn2": 21}
    # a rank-truncated layer changes the output (the test above can fail)
    with torch.no_grad():
        assert not torch.allclose(m2(input_ids=ids).last_hidden_state,
                                  _tiny_bert()(input_ids=ids).last_hidden_state, atol=1e-3)


def test_gpt2_conv1d_split_qkv():
    cfg = transformers.GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=2, n_head=2)
    torch.manual_seed(0)
    m = transformers.GPT2Model(cfg).eval()
    mats = _check_full_rank(m, {"input_ids": torch.randint(0, 100, (2, 5))}, 2 * 6)
    assert [d.name for d in mats[:6]] == ["q", "k", "v", "attn_out", "ffn1", "ffn2"]
    assert (mats[4].module.out_features, mats[4].module.in_features) == (128, 32)  # c_fc (in, out) transposed


def test_gpt2_conv1d_reads_back_noise_free_int8_weights():
    """The per-thread read-back works on GPT-2's Conv1D layers (weights stored (in, out))."""
    import copy

    cfg = transformers.GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=1, n_head=2)
    torch.manual_seed(0)
    m = transformers.GPT2Model(cfg).eval()
    ref = copy.deepcopy(m)
    with torch.no_grad():
        for _, _, _, lin in svd.find_block_linears(ref):
            lin.weight.copy_(noise.int8_dequant(lin.weight))
    ids = torch.randint(0, 100, (2, 5))
    clean = m(input_ids=ids).last_hidden_state
    masks = selection.dense_slc_masks(m, 0.0, "magnitude", None)
    with selection.noisy_dense(m, masks, noise.PaperSliceNoise(0.0), seed=0):
        inside = m(input_ids=ids).last_hidden_state
    assert torch.allclose(inside, ref(input_ids=ids).last_hidden_state, atol=1e-6)
    assert not torch.allclose(inside, clean, atol=1e-6)  # INT8 rounding is visible
    assert torch.equal(m(input_ids=ids).last_hidden_state, clean)  # and gone after the block


def test_llama_gqa_kv_own_rank():
    cfg = transformers.LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64,
                                   num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                   max_position_embeddings=32)
    torch.manual_seed(0)
    m = transformers.LlamaModel(cfg).eval()
    _check_full_rank(m, {"input_ids": torch.randint(0, 100, (2, 5))}, 2 * 7)
    m2 = transformers.LlamaModel(cfg).eval()
    ranks = {d.name: (d.module.out_features, d.module.rank) for d in svd.decompose_model(m2)[:7]}
    assert ranks["q"] == (32, 16)
    assert ranks["k"] == (16, 10) and ranks["v"] == (16, 10)  # floor(16*32/48)
    assert ranks["ffn_gate"] == (64, 21)


def test_vit_full_rank():
    cfg = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=64, image_size=16, patch_size=8)
    torch.manual_seed(0)
    m = transformers.ViTModel(cfg, add_pooling_layer=False).eval()
    _check_full_rank(m, {"pixel_values": torch.randn(1, 3, 16, 16)}, 2 * 6)


def test_unsupported_model_is_a_clear_error():
    with pytest.raises(HyflexInputError, match="no transformer-block linear layers"):
        svd.decompose_model(torch.nn.Sequential(torch.nn.Linear(4, 4)))


def test_four_slices_rebuild_every_int8_code():
    q = torch.arange(-128, 128)
    s = noise.int8_slices(q)
    assert s.shape == (4, 256)
    assert int(s[0].min()) == -2 and int(s[0].max()) == 1
    assert int(s[1:].min()) == 0 and int(s[1:].max()) == 3
    assert torch.equal(noise.rebuild_from_slices(s), q)
    assert noise.int8_slices(torch.tensor([-1])).flatten().tolist() == [-1, 3, 3, 3]


def test_quantize_clips_at_second_largest():
    w = torch.tensor([0.1, -0.5, 2.0, 1.0])
    q, scale = noise.quantize_int8(w)
    assert scale == pytest.approx(1.0 / 127)
    assert q.tolist() == [13, -64, 127, 127]


def test_slc_components_get_no_noise_mlc_do():
    torch.manual_seed(1)
    lin = svd.SVDLinear.from_weight(torch.randn(24, 16), torch.zeros(24), "full")
    U, SVt = lin.factors()
    slc = [0, 3, 7]
    with selection.noisy_svd(torch.nn.ModuleDict({"layer": torch.nn.ModuleDict({"0": torch.nn.ModuleDict(
            {"attention": torch.nn.ModuleDict({"self": torch.nn.ModuleDict({"query": lin})})})})}),
            {"layer.0.attention.self.query": slc}, noise.PaperSliceNoise(0.05), seed=3):
        Un, SVn = lin.override
    Uq, SVq = noise.int8_dequant(U.detach()), noise.int8_dequant(SVt.detach())
    mlc = [i for i in range(16) if i not in slc]
    assert torch.equal(Un[:, slc], Uq[:, slc]) and torch.equal(SVn[slc], SVq[slc])
    assert not torch.allclose(Un[:, mlc], Uq[:, mlc]) and not torch.allclose(SVn[mlc], SVq[mlc])
    assert lin.override is None  # restored after the block
    # sigma 0: noise-free INT8 everywhere
    w = torch.randn(8, 8)
    assert torch.equal(noise.noisy_int8(w, torch.ones(8, 8, dtype=torch.bool), None, 0.0),
                       noise.int8_dequant(w))


def test_noise_level_matches_sigma():
    g = torch.Generator().manual_seed(0)
    w = torch.full((200, 200), 0.5)
    w[0, 0] = 1.0
    w[0, 1] = 1.0
    n = noise.noisy_int8(w, torch.ones_like(w, dtype=torch.bool), g, 0.025)
    rel = (n[1:] / noise.int8_dequant(w)[1:] - 1).std()
    # code 64 = slices (1, 0, 0, 0): relative std of the weight = sigma
    assert float(rel) == pytest.approx(0.025, rel=0.05)


def test_sigma_from_bit_error_rate():
    s = noise.sigma_from_bit_error_rate(1e-3)
    from statistics import NormalDist
    assert 2 * (1 - NormalDist().cdf(0.5 / (3 * s))) == pytest.approx(1e-3)
    with pytest.raises(HyflexInputError, match="bit_error_rate"):
        noise.sigma_from_bit_error_rate(2.0)


def test_selectors_pick_top_share():
    m = _tiny_bert()
    svd.decompose_model(m)
    imp = {d.path: torch.arange(d.module.rank, dtype=torch.float32) for d in svd.decomposed_matrices(m)}
    ranks = selection.svd_slc_ranks(m, 0.25, "gradient", imp)
    path = "encoder.layer.0.attention.self.query"
    assert ranks[path] == [12, 13, 14, 15]  # round(0.25 * 16) = 4 most important
    sv = selection.svd_slc_ranks(m, 0.25, "singular-value", imp)
    assert sv[path] == [0, 1, 2, 3]  # SVD sorts sigma descending
    assert all(len(v) == 0 for v in selection.svd_slc_ranks(m, 0.0, "random", imp).values())
    with pytest.raises(HyflexInputError, match=r"--slc-fraction.*between 0 and 1.*got 1.2"):
        selection.check_share(1.2)
    assert selection.check_share("10%") == 0.1
    with pytest.raises(HyflexInputError, match="selector"):
        selection.check_selector("brute-force", "singular-value")


def test_brute_force_masks_and_restore():
    m = _tiny_bert()
    masks = selection.dense_slc_masks(m, 0.1, "magnitude", None)
    w = m.encoder.layer[0].intermediate.dense.weight
    mk = masks["encoder.layer.0.intermediate.dense"]
    assert int(mk.sum()) == round(0.1 * w.numel())
    wa = w.detach().abs()
    assert float(wa[mk].min()) >= float(wa[~mk].max())
    before = w.detach().clone()
    lin = m.encoder.layer[0].intermediate.dense
    x = torch.randn(3, w.shape[1])
    with selection.noisy_dense(m, masks, noise.PaperSliceNoise(0.05), seed=0):
        inside = readback.current(lin)
        y = lin(x)
    assert torch.equal(w.detach(), before)  # the model itself is never modified
    assert torch.equal(inside[mk], noise.int8_dequant(before)[mk])
    assert not torch.equal(inside[~mk], noise.int8_dequant(before)[~mk])
    assert torch.allclose(y, torch.nn.functional.linear(x, inside, lin.bias))
    assert readback.current(lin) is None and torch.equal(lin(x), torch.nn.functional.linear(x, w, lin.bias))


def test_read_back_weights_are_per_thread():
    """Two threads evaluating one shared model with different noise draws see only their own."""
    import threading

    m = _tiny_bert()
    lin = m.encoder.layer[0].intermediate.dense
    x = torch.randn(3, lin.weight.shape[1])
    masks = selection.dense_slc_masks(m, 0.0, "magnitude", None)
    serial = {}
    for seed in (0, 1):
        with selection.noisy_dense(m, masks, noise.PaperSliceNoise(0.1), seed=seed):
            serial[seed] = lin(x)
    assert not torch.allclose(serial[0], serial[1])
    barrier, got = threading.Barrier(2), {}

    def work(seed):
        with selection.noisy_dense(m, masks, noise.PaperSliceNoise(0.1), seed=seed):
            barrier.wait()  # both draws installed at once
            got[seed] = lin(x)
            barrier.wait()

    threads = [threading.Thread(target=work, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(got[s], serial[s]) for s in (0, 1))


def test_aihwkit_backend_without_package_is_a_clear_error():
    import importlib.util

    if importlib.util.find_spec("aihwkit") is not None:
        pytest.skip("aihwkit installed: the optional backend is usable")
    with pytest.raises(HyflexInputError, match="'aihwkit' package"):
        noise.AihwkitNoise()
    with pytest.raises(HyflexInputError, match="'aihwkit' package"):
        noise.make_noise_model("aihwkit")
