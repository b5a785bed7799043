"""Python API of the redistribution stage: :func:`redistribute`, :func:`accuracy`,
:func:`make_partition` (the CLI commands ``hyflex redistribute / accuracy / partition``).

The run folder these read and write is described in :mod:`.runfolder`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_yaml
from hyflex_plugin.partition.schema import (
    ImportanceSummary,
    LayerPartition,
    MatrixPartition,
    ModelInfo,
    PartitionFile,
)
from hyflex_plugin.redistribution.data import make_split
from hyflex_plugin.redistribution.model import build_classifier, encode, evaluate
from hyflex_plugin.redistribution.noise import (
    MLC_SIGMA,
    PaperSliceNoise,
    make_noise_model,
)
from hyflex_plugin.redistribution.precision import check_compute_dtype
from hyflex_plugin.redistribution.runfolder import (
    ROWS_FILE,
    RUN_FILE,
    STEP,
    RowCache,
    check_run_arguments,
    load_run,
    record_step,
    remove_if_empty,
    step_done,
)
from hyflex_plugin.redistribution.runfolder import (
    write_csv as _write_csv,
)
from hyflex_plugin.redistribution.selection import (
    METHODS,
    check_selector,
    check_share,
    dense_slc_masks,
    noisy_dense,
    noisy_svd,
    svd_slc_ranks,
)
from hyflex_plugin.redistribution.svd import (
    decompose_model,
    decompose_with_ranks,
    decomposed_matrices,
    parse_rank_rule,
    rank_structure,
)
from hyflex_plugin.redistribution.training import (
    dense_weight_gradients,
    fine_tune,
    load_torch,
    save_torch,
    sigma_importance,
)

CSV_COLUMNS = ["method", "selector", "slc_fraction", "seed", "accuracy", "sigma", "n_test", "model",
               "same_as"]
DEFAULT_SHARES = (0.0, 0.05, 0.10, 0.20, 0.30, 0.50, 1.0)


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """The accuracy table (:data:`CSV_COLUMNS`) as CSV."""
    return _write_csv(rows, path, CSV_COLUMNS)


@dataclass
class _Prepared:
    """Everything the steps of :func:`redistribute` share: data, model, arguments."""

    clf: object
    info: dict
    train: list
    calib: list
    test: list
    n_labels: int
    args: dict


def _check_redistribute_args(epochs: int, svd_epochs: int, seq_len: int) -> None:
    if epochs < 1:
        raise HyflexInputError("--epochs", "epochs", f"must be >= 1, got {epochs}")
    if svd_epochs < 1:
        raise HyflexInputError("--svd-epochs", "svd_epochs", f"must be >= 1, got {svd_epochs}")
    if seq_len < 8:
        raise HyflexInputError("--seq-len", "seq_len", f"must be >= 8 tokens, got {seq_len}")


def _prepare(args: dict, n_calib: int) -> _Prepared:
    """Load the data split and the model (fails before anything is written)."""
    split = make_split(args["dataset"], args["n_train"], args["n_test"], n_calib,
                       split_seed=args["seed"], test_file=args["test_file"])
    clf, tok, info = build_classifier(args["model"], split.n_labels, seed=args["seed"])
    train = encode(tok, split.train, args["seq_len"])
    calib = encode(tok, split.calib, args["seq_len"]) or train[:n_calib]
    test = encode(tok, split.test, args["seq_len"])
    return _Prepared(clf, info, train, calib, test, split.n_labels, args)


def _train_step(out: Path, p: _Prepared, name: str, epochs: int, seed: int, desc: str,
                ckpt_every: int) -> dict | None:
    """Fine-tune ``p.clf`` for step ``name`` (or load its finished weights)."""
    st = STEP[name]
    weights = out / st.outputs[0]
    if weights.is_file():
        p.clf.load_state_dict(load_torch(weights))
        return None
    record_step(out, st, p.args)
    a = p.args
    res = fine_tune(p.clf, p.train, epochs, a["batch_size"], a["lr"], seed=seed,
                    ckpt_every=ckpt_every, checkpoint=out / "checkpoints" / st.checkpoint, desc=desc,
                    compute_dtype=a["compute_dtype"])
    save_torch(p.clf.state_dict(), weights)
    (out / "checkpoints" / st.checkpoint).unlink(missing_ok=True)
    return res


def _dense_steps(out: Path, p: _Prepared, ckpt_every: int, timings: dict, cfg: dict) -> None:
    t0 = time.perf_counter()
    _train_step(out, p, "dense", p.args["epochs"], p.args["seed"], "dense fine-tune", ckpt_every)
    timings["dense_finetune_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not step_done(out, STEP["dense_grads"]):
        record_step(out, STEP["dense_grads"], p.args)
        save_torch(dense_weight_gradients(p.clf, p.calib, p.args["batch_size"], p.args["compute_dtype"]),
                   out / "dense_grads.pt")
    cfg["float_accuracy_dense"] = evaluate(p.clf, p.test)
    timings["dense_grads_eval_s"] = time.perf_counter() - t0


def _svd_steps(out: Path, p: _Prepared, rank_rule, ckpt_every: int, timings: dict, cfg: dict) -> None:
    t0 = time.perf_counter()
    decompose_model(p.clf, rank_rule)
    cfg["ranks"] = rank_structure(p.clf)
    timings["decompose_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    last = out / "checkpoints" / "last_sigma_grad.pt"
    res = _train_step(out, p, "svd", p.args["svd_epochs"], p.args["seed"] + 1, "SVD fine-tune",
                      ckpt_every)
    if res is not None:
        save_torch(res["last_sigma_grad"], last)
    timings["svd_finetune_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not step_done(out, STEP["importance"]):
        record_step(out, STEP["importance"], p.args)
        save_torch({"accumulated": sigma_importance(p.clf, p.calib, p.args["batch_size"], p.args["compute_dtype"]),
                    "last-batch": load_torch(last) if last.is_file() else {}}, out / "importance.pt")
    cfg["float_accuracy_svd"] = evaluate(p.clf, p.test)
    timings["importance_eval_s"] = time.perf_counter() - t0


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
    rank: str | float = "hard-threshold",
    test_file: str | Path | None = None,
    ckpt_every: int = 20,
    force: bool = False,
    compute_dtype: str = "float32",
) -> Path:
    """Fine-tune dense, decompose by SVD, fine-tune U, sigma, V, score importance. Resumable.

    ``compute_dtype`` 'bfloat16' fine-tunes and scores in mixed precision (CPU autocast; weights
    and optimiser float32); the float accuracies in run.yaml are measured in float32 either way.

    A folder made with other arguments is refused (the differing arguments are listed), or with
    ``force`` the affected steps are recomputed. A run that fails before writing anything leaves
    no folder behind.
    """
    svd_epochs = epochs if svd_epochs is None else svd_epochs
    _check_redistribute_args(epochs, svd_epochs, seq_len)
    check_compute_dtype(compute_dtype)
    rank_rule = parse_rank_rule(rank)
    out = Path(out)
    args = {"model": str(model), "dataset": str(dataset),
            "test_file": str(test_file) if test_file else None, "n_train": n_train,
            "n_test": n_test, "n_calib": n_calib, "seq_len": seq_len, "epochs": epochs,
            "svd_epochs": svd_epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
            "rank_rule": str(rank_rule), "compute_dtype": compute_dtype}
    existed = out.exists()
    if existed:
        check_run_arguments(out, args, force)
        if (out / RUN_FILE).is_file() and all(step_done(out, STEP[s]) for s in
                                              ("dense", "dense_grads", "svd", "importance")):
            return out  # finished earlier with the same arguments: nothing to redo
    p = _prepare(args, n_calib)
    try:
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        cfg = {"model": p.info, **{k: v for k, v in args.items() if k not in ("model", "rank_rule")},
               "rank_rule": args["rank_rule"], "n_labels": p.n_labels}
        timings: dict[str, float] = {}
        _dense_steps(out, p, ckpt_every, timings, cfg)
        _svd_steps(out, p, rank_rule, ckpt_every, timings, cfg)
        cfg["timings_s"] = timings
        atomic_write_yaml(out / RUN_FILE, cfg)
    except BaseException:
        if not existed:
            remove_if_empty(out)
        raise
    return out


class RunEvaluator:
    """Models of a finished run, restored on first use, and their test set; evaluates one point.

    ``variant`` names the weights: 'dense' (dense.pt), 'svd' (svd.pt) or 'dense_equal'
    (dense_equal.pt, the equal-budget baseline). One evaluator serves any number of threads:
    loading is locked, and a noisy evaluation never modifies the models (:mod:`.readback`).
    """

    WEIGHTS = {"dense": "dense.pt", "svd": "svd.pt", "dense_equal": "dense_equal.pt"}
    GRADS = {"dense": "dense_grads.pt", "dense_equal": "dense_equal_grads.pt"}

    def __init__(self, run: Path, cfg: dict, importance: str = "accumulated"):
        self.run, self.cfg, self.importance = run, cfg, importance
        self._models: dict[str, object] = {}
        self._tok = None
        self._test = None
        self._imp = None
        self._grads: dict[str, dict] = {}
        self._lock = threading.RLock()

    def model(self, variant: str):
        """The restored classifier for ``variant`` (eval mode)."""
        with self._lock:
            return self._model(variant)

    def _model(self, variant: str):
        if variant not in self._models:
            cfg = self.cfg
            clf, tok, _ = build_classifier(cfg["model"]["source"], cfg["n_labels"], seed=cfg["seed"])
            if variant == "svd":
                decompose_with_ranks(clf, cfg["ranks"])
            clf.load_state_dict(load_torch(self.run / self.WEIGHTS[variant]))
            clf.eval()
            self._models[variant], self._tok = clf, tok
        return self._models[variant]

    def test_set(self, n: int | None = None):
        """The encoded test sentences (the first ``n`` if given)."""
        with self._lock:
            return self._test_set(n)

    def _test_set(self, n: int | None):
        if self._test is None:
            cfg = self.cfg
            self.model("svd")
            split = make_split(cfg["dataset"], cfg["n_train"], cfg["n_test"], cfg["n_calib"],
                               split_seed=cfg["seed"], test_file=cfg.get("test_file"))
            self._test = encode(self._tok, split.test, cfg["seq_len"])
        return self._test if n is None else self._test[:n]

    def importance_scores(self) -> dict:
        """|dL/dsigma| per SVD matrix (the run's ``importance`` kind)."""
        with self._lock:
            if self._imp is None:
                self._imp = load_torch(self.run / "importance.pt")[self.importance]
            return self._imp

    def dense_gradients(self, variant: str = "dense") -> dict:
        """Accumulated |dL/dW| of a dense variant's block weights."""
        with self._lock:
            if variant not in self._grads:
                self._grads[variant] = load_torch(self.run / self.GRADS[variant])
            return self._grads[variant]

    def noisy_predictions(self, variant: str, share: float, selector: str, noise, seed: int,
                          selection_seed: int | None = None, protect: str = "both",
                          noise_on: str = "factors", compute_dtype: str = "float32"):
        """Per-sentence correctness (list of 0/1) of ``variant`` with the top ``share`` SLC.

        ``compute_dtype``: arithmetic of the forward pass (:data:`.precision.COMPUTE_DTYPES`).
        An SVD model's noisy factors are multiplied into one matrix per layer first (the same
        linear map, computed as one fused linear: see ``SVDLinear.forward``).
        """
        from hyflex_plugin.redistribution.model import predictions

        clf = self.model(variant)
        sel_seed = seed if selection_seed is None else selection_seed
        if variant == "svd":
            slc = svd_slc_ranks(clf, share, selector, self.importance_scores(), selection_seed=sel_seed)
            ctx = noisy_svd(clf, slc, noise, seed=seed, protect=protect, noise_on=noise_on, fuse=True)
        else:
            grads = self.dense_gradients(variant) if selector == "gradient" else None
            masks = dense_slc_masks(clf, share, selector, grads, selection_seed=sel_seed)
            ctx = noisy_dense(clf, masks, noise, seed=seed)
        with ctx:
            return predictions(clf, self.test_set(), compute_dtype=compute_dtype)


@dataclass(frozen=True)
class _Job:
    method: str
    selector: str
    share: float
    seed: int
    svd: bool


def _check_accuracy_args(shares, methods, selectors, importance, sigma):
    shares = [check_share(s, "--shares") for s in shares]
    for m in methods:
        for s in selectors.get(m, []):
            check_selector(m, s)
    if importance not in ("accumulated", "last-batch"):
        raise HyflexInputError("--importance", "importance",
                               f"expected 'accumulated' or 'last-batch', got {importance!r}")
    if sigma < 0:
        raise HyflexInputError("--sigma", "sigma", f"must be >= 0, got {sigma}")
    return shares


def _plan_jobs(methods, selectors, shares, seeds, references: bool) -> list[_Job]:
    """Reference rows first, then each method's first (main) selector for every seed, then the
    other (ablation) selectors; seed-major inside, so an interrupted sweep has whole curves.
    """
    jobs = []
    if references:
        for svd in (False, True):
            for kind in ("float", "int8"):
                jobs.append(_Job("reference", f"{kind}-{'svd' if svd else 'dense'}", 1.0, 0, svd))
    for main_pass in (True, False):
        for sd in seeds:
            for m in methods:
                sels = selectors.get(m, [])
                for sel in (sels[:1] if main_pass else sels[1:]):
                    for sh in shares:
                        jobs.append(_Job(m, sel, sh, sd, m == "gradient-redistribution"))
    return jobs


def _row_key(r: dict) -> tuple:
    share = r.get("slc_fraction", r.get("slc_share"))  # rows cached before the rename
    return (r["method"], r["selector"], round(share, 6), r["seed"], round(r["sigma"], 6),
            r.get("noise_model", "paper"), r.get("importance", ""))


def _evaluate_job(ev: RunEvaluator, job: _Job, noise) -> float:
    """Accuracy of one sweep point (a reference or a noisy method point)."""
    variant = "svd" if job.svd else "dense"
    if job.method == "reference" and job.selector.startswith("float"):
        return evaluate(ev.model(variant), ev.test_set())
    if job.method == "reference":
        noise, share, sel = PaperSliceNoise(0.0), 0.0, "magnitude"
    else:
        share, sel = job.share, job.selector
    pred = ev.noisy_predictions(variant, share, sel, noise, job.seed)
    return sum(pred) / max(1, len(pred))


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
    from hyflex_plugin.console import progress

    run, cfg = load_run(run)
    selectors = selectors or {"gradient-redistribution": ["gradient", "singular-value"],
                              "brute-force": ["magnitude", "gradient"]}
    shares = _check_accuracy_args(shares, methods, selectors, importance, sigma)
    noise = make_noise_model(noise_model, sigma)
    cache = RowCache(run / ROWS_FILE, _row_key)
    ev = RunEvaluator(run, cfg, importance)
    rows: list[dict] = []
    for job in progress(_plan_jobs(methods, selectors, shares, seeds, references),
                    desc="accuracy sweep", unit="eval"):
        ref = job.method == "reference"
        imp_tag = importance if job.method == "gradient-redistribution" and job.selector == "gradient" else ""
        base = {"method": job.method, "selector": job.selector, "slc_fraction": job.share,
                "seed": job.seed, "sigma": 0.0 if ref else sigma, "n_test": cfg["n_test"],
                "model": cfg["model"]["name"], "noise_model": "none" if ref else noise_model,
                "importance": imp_tag}
        done = cache.get(_row_key(base))
        if done is not None:
            if "slc_share" in done:  # cached before the rename
                done = {**done, "slc_fraction": done["slc_share"]}
            rows.append(done)
            continue
        copy = _shared_result(job, rows, selectors)
        if copy is not None:
            same = f"{copy['method']}/{copy['selector']}/{copy['slc_fraction']}/{copy['seed']}"
            rows.append(cache.append({**base, "accuracy": copy["accuracy"], "eval_s": 0.0,
                                      "same_as": same}))
            continue
        if ref and job.selector.startswith("float") and f"float_accuracy_{job.selector[6:]}" in cfg:
            # measured by redistribute on the same test set
            rows.append(cache.append({**base, "accuracy": cfg[f"float_accuracy_{job.selector[6:]}"],
                                      "eval_s": 0.0, "same_as": RUN_FILE}))
            continue
        t0 = time.perf_counter()
        acc = _evaluate_job(ev, job, noise)
        rows.append(cache.append({**base, "accuracy": acc,
                                  "eval_s": round(time.perf_counter() - t0, 3)}))
    if out_csv is not None:
        write_csv(rows, out_csv)
    return rows


def _shared_result(job: _Job, rows: list[dict], selectors: dict) -> dict | None:
    """A finished row that is provably the same evaluation, or None.

    * share 1: nothing is noisy, so the result is the noise-free INT8 reference of that model;
    * share 0: nothing is selected, so every selector gives the same model and the same noise
      draw (same seed) as the method's first selector.
    """
    if job.method == "reference":
        return None
    if job.share == 1.0:
        ref = f"int8-{'svd' if job.svd else 'dense'}"
        return next((r for r in rows if r["method"] == "reference" and r["selector"] == ref), None)
    if job.share == 0.0:
        first = selectors.get(job.method, [job.selector])[0]
        if first != job.selector:
            return next((r for r in rows if r["method"] == job.method and r["selector"] == first
                         and r["slc_fraction"] == 0.0 and r["seed"] == job.seed), None)
    return None


def make_partition(
    run: str | Path,
    slc_fraction: float = 0.1,
    selector: str = "gradient",
    out: str | Path | None = None,
    importance: str = "accumulated",
    selection_seed: int = 0,
    option: str = "--slc-fraction",
) -> PartitionFile:
    """Partition file for a finished run: per layer and matrix, the SLC rank components."""
    slc_fraction = check_share(slc_fraction, option)
    check_selector("gradient-redistribution", selector, "--selector")
    run, cfg = load_run(run)
    ev = RunEvaluator(run, cfg, importance)
    clf, imp = ev.model("svd"), ev.importance_scores()
    slc = svd_slc_ranks(clf, slc_fraction, selector, imp, selection_seed)
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
        method="gradient-redistribution", selector=selector, slc_fraction=slc_fraction,
        rank_rule=str(cfg.get("rank_rule", "hard-threshold")),
        created_by=f"hyflex partition (run {run}, importance {importance})",
        layers=[LayerPartition(index=i, matrices=m) for i, m in sorted(layers.items())],
    )
    if out is not None:
        pf.dump(out)
    return pf


__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_SHARES",
    "METHODS",
    "RunEvaluator",
    "accuracy",
    "make_partition",
    "redistribute",
    "write_csv",
]
