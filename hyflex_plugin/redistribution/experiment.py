"""Python API of the redistribution stage: :func:`redistribute`, :func:`accuracy`,
:func:`make_partition` (the CLI commands ``hyflex redistribute / accuracy / partition``).

Run folder (each file written atomically; a step whose output exists is skipped, so a killed
run resumes where it stopped):

    run.yaml            configuration, model info, ranks, float accuracies, timings
    dense.pt            fine-tuned dense classifier (state dict)
    dense_grads.pt      accumulated |dL/dW| of the dense block weights (brute-force gradient)
    svd.pt              fine-tuned SVD classifier (state dict)
    importance.pt       {'accumulated': {...}, 'last-batch': {...}} |dL/dsigma| per matrix
    checkpoints/*.ckpt  in-progress fine-tuning (removed when the stage finishes)
    accuracy_rows.jsonl finished accuracy evaluations (the sweep resumes from them)
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_text, atomic_write_yaml, read_yaml
from hyflex_plugin.partition.schema import (
    ImportanceSummary, LayerPartition, MatrixPartition, ModelInfo, PartitionFile,
)
from hyflex_plugin.redistribution.data import make_split
from hyflex_plugin.redistribution.model import build_classifier, encode, evaluate
from hyflex_plugin.redistribution.noise import MLC_SIGMA, AihwkitNoise
from hyflex_plugin.redistribution.selection import (
    METHODS, check_selector, check_share, dense_slc_masks, noisy_dense, noisy_svd, svd_slc_ranks,
)
from hyflex_plugin.redistribution.svd import (
    decompose_model, decompose_with_ranks, decomposed_matrices, parse_rank_rule, rank_structure,
)
from hyflex_plugin.redistribution.training import (
    dense_weight_gradients, fine_tune, load_torch, save_torch, sigma_importance,
)

CSV_COLUMNS = ["method", "selector", "slc_share", "seed", "accuracy", "sigma", "n_test", "model",
               "same_as"]
DEFAULT_SHARES = (0.0, 0.05, 0.10, 0.20, 0.30, 0.50, 1.0)


def _load_run(run: str | Path) -> tuple[Path, dict]:
    run = Path(run)
    cfg_path = run / "run.yaml"
    if not cfg_path.is_file():
        raise HyflexInputError(str(run), "run.yaml",
                               "not a finished redistribution run folder (run `hyflex redistribute` first)")
    cfg = read_yaml(cfg_path)
    for f in ("svd.pt", "dense.pt", "importance.pt"):
        if not (run / f).is_file():
            raise HyflexInputError(str(run), f, "missing: the run did not finish; re-run `hyflex redistribute`")
    return run, cfg


def redistribute(
    model: str | Path = "minilm",
    dataset: str | Path = "rotten-tomatoes",
    out: str | Path = "runs/minilm",
    epochs: int = 1,
    svd_epochs: int | None = None,
    n_train: int = 2000,
    n_test: int = 1000,
    n_calib: int = 256,
    seq_len: int = 64,
    batch_size: int = 16,
    lr: float = 5e-5,
    seed: int = 0,
    rank: str | int | float = "hard-threshold",
    test_file: str | Path | None = None,
    ckpt_every: int = 20,
) -> Path:
    """Fine-tune dense, decompose by SVD, fine-tune U, sigma, V, score importance. Resumable."""
    if epochs < 1:
        raise HyflexInputError("--epochs", "epochs", f"must be >= 1, got {epochs}")
    if seq_len < 8:
        raise HyflexInputError("--seq-len", "seq_len", f"must be >= 8 tokens, got {seq_len}")
    rank_rule = parse_rank_rule(rank)
    svd_epochs = epochs if svd_epochs is None else svd_epochs
    out = Path(out)
    done = ("run.yaml", "dense.pt", "dense_grads.pt", "svd.pt", "importance.pt")
    if all((out / f).is_file() for f in done):
        return out  # finished earlier: nothing to redo (delete the folder to start again)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    split = make_split(dataset, n_train, n_test, n_calib, split_seed=seed, test_file=test_file)
    clf, tok, info = build_classifier(model, split.n_labels, seed=seed)
    train = encode(tok, split.train, seq_len)
    calib = encode(tok, split.calib, seq_len) or train[:n_calib]
    test = encode(tok, split.test, seq_len)
    cfg = {
        "model": info, "dataset": str(dataset), "test_file": str(test_file) if test_file else None,
        "n_train": n_train, "n_test": n_test, "n_calib": n_calib, "seq_len": seq_len,
        "epochs": epochs, "svd_epochs": svd_epochs, "batch_size": batch_size, "lr": lr,
        "seed": seed, "rank_rule": str(rank_rule), "n_labels": split.n_labels,
    }
    timings = {}
    t0 = time.perf_counter()
    if not (out / "dense.pt").is_file():
        fine_tune(clf, train, epochs, batch_size, lr, seed=seed, ckpt_every=ckpt_every,
                  checkpoint=out / "checkpoints" / "dense.ckpt", desc="dense fine-tune")
        save_torch(clf.state_dict(), out / "dense.pt")
        (out / "checkpoints" / "dense.ckpt").unlink(missing_ok=True)
    else:
        clf.load_state_dict(load_torch(out / "dense.pt"))
    timings["dense_finetune_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not (out / "dense_grads.pt").is_file():
        save_torch(dense_weight_gradients(clf, calib, batch_size), out / "dense_grads.pt")
    cfg["float_accuracy_dense"] = evaluate(clf, test)
    timings["dense_grads_eval_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    decompose_model(clf, rank_rule)
    ranks = rank_structure(clf)
    timings["decompose_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not (out / "svd.pt").is_file():
        res = fine_tune(clf, train, svd_epochs, batch_size, lr, seed=seed + 1, ckpt_every=ckpt_every,
                        checkpoint=out / "checkpoints" / "svd.ckpt", desc="SVD fine-tune")
        save_torch(clf.state_dict(), out / "svd.pt")
        save_torch(res["last_sigma_grad"], out / "checkpoints" / "last_sigma_grad.pt")
        (out / "checkpoints" / "svd.ckpt").unlink(missing_ok=True)
    else:
        clf.load_state_dict(load_torch(out / "svd.pt"))
    timings["svd_finetune_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not (out / "importance.pt").is_file():
        last = out / "checkpoints" / "last_sigma_grad.pt"
        save_torch({"accumulated": sigma_importance(clf, calib, batch_size),
                    "last-batch": load_torch(last) if last.is_file() else {}}, out / "importance.pt")
    cfg["float_accuracy_svd"] = evaluate(clf, test)
    timings["importance_eval_s"] = time.perf_counter() - t0
    cfg["ranks"] = ranks
    cfg["timings_s"] = timings
    atomic_write_yaml(out / "run.yaml", cfg)
    return out


def _restore(run: Path, cfg: dict, svd: bool):
    clf, tok, _ = build_classifier(cfg["model"]["source"], cfg["n_labels"], seed=cfg["seed"])
    if svd:
        decompose_with_ranks(clf, cfg["ranks"])
        clf.load_state_dict(load_torch(run / "svd.pt"))
    else:
        clf.load_state_dict(load_torch(run / "dense.pt"))
    clf.eval()
    return clf, tok


def _test_set(cfg: dict, tok):
    split = make_split(cfg["dataset"], cfg["n_train"], cfg["n_test"], cfg["n_calib"],
                       split_seed=cfg["seed"], test_file=cfg.get("test_file"))
    return encode(tok, split.test, cfg["seq_len"])


def _noise_model(name: str):
    if name == "paper":
        return None
    if name == "aihwkit":
        return AihwkitNoise()
    raise HyflexInputError("--noise-model", "noise_model", f"expected 'paper' or 'aihwkit', got {name!r}")


def accuracy(
    run: str | Path,
    shares=DEFAULT_SHARES,
    methods=("gradient-redistribution", "brute-force"),
    selectors: dict[str, list[str]] | None = None,
    seeds=(0, 1, 2),
    sigma: float = MLC_SIGMA,
    importance: str = "accumulated",
    noise_model: str = "paper",
    out_csv: str | Path | None = None,
    references: bool = True,
) -> list[dict]:
    """Accuracy vs SLC share from a finished run (no fine-tuning). Rows are cached in
    ``run/accuracy_rows.jsonl`` and the sweep resumes from them; ``out_csv`` gets the table.

    ``selectors`` maps method -> selectors (default: gradient-redistribution: gradient,
    singular-value; brute-force: magnitude, gradient). Share 0 is the same for every selector
    and share 1 is noise-free; both still get one row per selector and seed (the table stays
    rectangular), but those rows are copied from the identical evaluation
    (INT8 reference, or the first selector at share 0) and name it in ``same_as``.
    """
    run, cfg = _load_run(run)
    shares = [check_share(s, "--shares") for s in shares]
    selectors = selectors or {"gradient-redistribution": ["gradient", "singular-value"],
                              "brute-force": ["magnitude", "gradient"]}
    for m in methods:
        for s in selectors.get(m, []):
            check_selector(m, s)
    if importance not in ("accumulated", "last-batch"):
        raise HyflexInputError("--importance", "importance",
                               f"expected 'accumulated' or 'last-batch', got {importance!r}")
    if sigma < 0:
        raise HyflexInputError("--sigma", "sigma", f"must be >= 0, got {sigma}")
    nm = _noise_model(noise_model)
    cache_path = run / "accuracy_rows.jsonl"
    done: dict[tuple, dict] = {}
    if cache_path.is_file():
        for line in cache_path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[(r["method"], r["selector"], round(r["slc_share"], 6), r["seed"],
                      round(r["sigma"], 6), r.get("noise_model", "paper"), r.get("importance", ""))] = r
    imp = load_torch(run / "importance.pt")[importance]
    grads = load_torch(run / "dense_grads.pt")
    n_test = cfg["n_test"]
    model_name = cfg["model"]["name"]
    jobs = []
    if references:
        for svd in (False, True):
            for kind in ("float", "int8"):
                jobs.append(("reference", f"{kind}-{'svd' if svd else 'dense'}", 1.0, 0, svd))
    # Order: each method's first (main) selector for every seed, then the other (ablation)
    # selectors; seed-major inside, so an interrupted sweep still has whole curves.
    for main_pass in (True, False):
        for sd in seeds:
            for m in methods:
                sels = selectors.get(m, [])
                for sel in (sels[:1] if main_pass else sels[1:]):
                    for sh in shares:
                        jobs.append((m, sel, sh, sd, m == "gradient-redistribution"))
    rows = []
    models = {}
    from tqdm.auto import tqdm

    def _append(row):
        with open(cache_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    test = None
    for method, sel, sh, sd, svd in tqdm(jobs, desc="accuracy sweep", unit="eval"):
        imp_tag = importance if method == "gradient-redistribution" and sel == "gradient" else ""
        sig = 0.0 if method == "reference" else sigma
        nm_tag = "none" if method == "reference" else noise_model
        key = (method, sel, round(sh, 6), sd, round(sig, 6), nm_tag, imp_tag)
        if key in done:
            rows.append(done[key])
            continue
        copy = _shared_result(method, sel, sh, sd, svd, rows, selectors, methods)
        if copy is not None:
            row = dict(copy, method=method, selector=sel, slc_share=sh, seed=sd, sigma=sig,
                       noise_model=nm_tag, importance=imp_tag, eval_s=0.0,
                       same_as=f"{copy['method']}/{copy['selector']}/{copy['slc_share']}/{copy['seed']}")
            _append(row)
            rows.append(row)
            continue
        if svd not in models:
            models[svd] = _restore(run, cfg, svd)
        clf, tok = models[svd]
        if test is None:
            test = _test_set(cfg, tok)
        t0 = time.perf_counter()
        if method == "reference" and sel.startswith("float") and f"float_accuracy_{sel[6:]}" in cfg:
            acc = cfg[f"float_accuracy_{sel[6:]}"]  # measured by redistribute on the same test set
            row = {"method": method, "selector": sel, "slc_share": sh, "seed": sd, "accuracy": acc,
                   "sigma": 0.0, "n_test": n_test, "model": model_name, "noise_model": "none",
                   "importance": "", "eval_s": 0.0, "same_as": "run.yaml"}
            _append(row)
            rows.append(row)
            continue
        if method == "reference":
            if sel.startswith("float"):
                acc = evaluate(clf, test)
            elif svd:
                with noisy_svd(clf, {}, sigma=0.0):
                    acc = evaluate(clf, test)
            else:
                with noisy_dense(clf, {}, sigma=0.0):
                    acc = evaluate(clf, test)
        elif svd:
            slc = svd_slc_ranks(clf, sh, sel, imp, selection_seed=sd)
            with noisy_svd(clf, slc, sigma=sigma, seed=sd, noise_model=nm):
                acc = evaluate(clf, test)
        else:
            masks = dense_slc_masks(clf, sh, sel, grads, selection_seed=sd)
            with noisy_dense(clf, masks, sigma=sigma, seed=sd, noise_model=nm):
                acc = evaluate(clf, test)
        row = {"method": method, "selector": sel, "slc_share": sh, "seed": sd, "accuracy": acc,
               "sigma": sig, "n_test": n_test,
               "model": model_name, "noise_model": nm_tag, "importance": imp_tag,
               "eval_s": round(time.perf_counter() - t0, 3)}
        _append(row)
        rows.append(row)
    if out_csv is not None:
        write_csv(rows, out_csv)
    return rows


def _shared_result(method, sel, share, seed, svd, rows, selectors, methods):
    """A finished row that is provably the same evaluation, or None.

    * share 1: nothing is noisy, so the result is the noise-free INT8 reference of that model;
    * share 0: nothing is selected, so every selector gives the same model and the same noise
      draw (same seed) as the method's first selector.
    """
    if share == 1.0:
        ref = f"int8-{'svd' if svd else 'dense'}"
        return next((r for r in rows if r["method"] == "reference" and r["selector"] == ref), None)
    if share == 0.0:
        first = selectors.get(method, [sel])[0]
        if first != sel:
            return next((r for r in rows if r["method"] == method and r["selector"] == first
                         and r["slc_share"] == 0.0 and r["seed"] == seed), None)
    return None


def write_csv(rows: list[dict], path: str | Path) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return atomic_write_text(path, buf.getvalue())


def make_partition(
    run: str | Path,
    slc_share: float = 0.1,
    selector: str = "gradient",
    out: str | Path | None = None,
    importance: str = "accumulated",
    selection_seed: int = 0,
) -> PartitionFile:
    """Partition file for a finished run: per layer and matrix, the SLC rank components."""
    slc_share = check_share(slc_share)
    check_selector("gradient-redistribution", selector, "--selector")
    run, cfg = _load_run(run)
    clf, _ = _restore(run, cfg, svd=True)
    imp = load_torch(run / "importance.pt")[importance]
    slc = svd_slc_ranks(clf, slc_share, selector, imp, selection_seed)
    layers: dict[int, list[MatrixPartition]] = {}
    for d in decomposed_matrices(clf):
        scores = imp.get(d.path)
        summary = None
        if scores is not None:
            tot = float(scores.sum())
            summary = ImportanceSummary(
                total=tot, max=float(scores.max()), mean=float(scores.mean()),
                slc_share=float(scores[slc[d.path]].sum()) / tot if tot > 0 else 0.0)
        layers.setdefault(d.layer, []).append(MatrixPartition(
            name=d.name, shape=(d.module.out_features, d.module.in_features), rank=d.module.rank,
            slc_ranks=sorted(slc[d.path]), importance=summary))
    info = cfg["model"]
    pf = PartitionFile(
        model=ModelInfo(**info),
        method="gradient-redistribution", selector=selector, slc_fraction=slc_share,
        rank_rule=str(cfg.get("rank_rule", "hard-threshold")),
        created_by=f"hyflex partition (run {run}, importance {importance})",
        layers=[LayerPartition(index=i, matrices=m) for i, m in sorted(layers.items())],
    )
    if out is not None:
        pf.dump(out)
    return pf


__all__ = ["redistribute", "accuracy", "make_partition", "write_csv", "CSV_COLUMNS",
           "DEFAULT_SHARES", "METHODS"]
