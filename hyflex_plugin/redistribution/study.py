"""The accuracy study of issue 13: concentration, a fair baseline, the noise regime, statistics.

:func:`study` takes one finished run folder per fine-tuning seed and

1. trains the **equal-budget baseline** in each (dense model fine-tuned for ``epochs +
   svd_epochs`` epochs, the same batches as the SVD fine-tune: ``dense_equal.pt``);
2. measures **gradient concentration** (:mod:`.concentration`) before and after redistribution;
3. evaluates every (method, SLC fraction, sigma, noise seed, fine-tuning seed) point with
   per-sentence correctness, in parallel (threads in this process by default, a Dask cluster
   when ``scheduler`` is given), resuming from ``study_rows.jsonl`` in the first run folder;
4. summarises: accuracy and accuracy loss against each model's own noise-free INT8 reference,
   with 95 % intervals, and paired differences between methods on the same sentences and
   noise seeds (:mod:`.stats`).

Methods (model weights, selector, where SLC protects, where noise is applied):
``redistribution`` (SVD, |dL/dsigma|, U and sigma V^T, each factor), the variants
``redistribution-u-only``, ``redistribution-svt-only`` and ``redistribution-product`` (noise on
the product U sigma V^T), ``brute-force`` (dense model after ``epochs`` epochs, top |dL/dW|) and
``brute-force-equal`` (the equal-budget dense model, top |dL/dW|).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_json
from hyflex_plugin.redistribution.ber import (
    bit_error_rate_from_sigma,
    sigma_from_bit_error_rate,
)
from hyflex_plugin.redistribution.runfolder import (
    RECORDED_DEFAULTS,
    STEP,
    STUDY_ROWS_FILE,
    RowCache,
    check_run_arguments,
    load_run,
    record_step,
    step_done,
    write_csv,
)

#: method -> (model weights, selector, protect, noise_on)
STUDY_METHODS = {
    "redistribution": ("svd", "gradient", "both", "factors"),
    "redistribution-u-only": ("svd", "gradient", "u", "factors"),
    "redistribution-svt-only": ("svd", "gradient", "svt", "factors"),
    "redistribution-product": ("svd", "gradient", "both", "product"),
    "brute-force": ("dense", "gradient", "both", "factors"),
    "brute-force-equal": ("dense_equal", "gradient", "both", "factors"),
}
MAIN_METHODS = ("redistribution", "brute-force-equal", "brute-force")
#: The paper's "about 4 % BER" operating point, as a sigma through our BER derivation.
PAPER_BER = 0.04
DEFAULT_SIGMAS = (0.01, 0.025, 0.05, round(sigma_from_bit_error_rate(PAPER_BER), 4), 0.1, 0.15, 0.2)
DEFAULT_FRACTIONS = (0.0, 0.05, 0.10, 0.20)
#: pairs compared with paired tests: (A, B) -> A - B
COMPARISONS = (("redistribution", "brute-force-equal"), ("redistribution", "brute-force"),
               ("brute-force", "brute-force-equal"), ("redistribution-product", "brute-force-equal"),
               ("redistribution-product", "redistribution"), ("redistribution-u-only", "redistribution"),
               ("redistribution-svt-only", "redistribution"))


@dataclass(frozen=True)
class Point:
    """One evaluation: a method (or an INT8/float reference) at one setting on one run."""

    run: str
    method: str
    slc_fraction: float
    sigma: float
    seed: int
    compute_dtype: str = "float32"

    def canonical(self) -> Point:
        """The point that is provably the same evaluation (share 0: protection is irrelevant)."""
        if self.slc_fraction == 0.0 and self.method in ("redistribution-u-only", "redistribution-svt-only"):
            return Point(self.run, "redistribution", 0.0, self.sigma, self.seed, self.compute_dtype)
        return self

    def key(self) -> tuple:
        """Cache key."""
        return (self.run, self.method, round(self.slc_fraction, 6), round(self.sigma, 6), self.seed,
                self.compute_dtype)


def _row_key(r: dict) -> tuple:
    # rows written before compute_dtype existed were float32
    return Point(r["run"], r["method"], r["slc_fraction"], r["sigma"], r["seed"],
                 r.get("compute_dtype", RECORDED_DEFAULTS["compute_dtype"])).key()


@dataclass(frozen=True)
class Block:
    """One cross product of the study's points: methods x SLC fractions x sigmas x draws.

    The draws are every noise seed in ``seeds`` on each of the first ``runs`` run folders
    (fine-tuning seeds; ``None``: all of them). A study is one or more blocks; a point that two
    blocks share is evaluated once.
    """

    methods: tuple[str, ...]
    fractions: tuple[float, ...]
    sigmas: tuple[float, ...]
    seeds: tuple[int, ...]
    runs: int | None = None
    """Number of run folders (first ones) whose draws are evaluated; None: all."""


def sweep_blocks(methods, fractions, sigmas, seeds, main_sigmas=None, sweep_seeds=None) -> tuple[Block, ...]:
    """The study's usual plan: every draw (all runs x ``seeds``) at ``main_sigmas``; at the
    other sigmas (the noise-regime sweep) the noise seeds ``sweep_seeds`` on the first run only.

    ``main_sigmas`` None: every draw at every sigma (one block).
    """
    methods, fractions, sigmas, seeds = tuple(methods), tuple(fractions), tuple(sigmas), tuple(seeds)
    if main_sigmas is None:
        return (Block(methods, fractions, sigmas, seeds),)
    main = tuple(main_sigmas)
    rest = tuple(s for s in sigmas if not any(abs(s - m) < 1e-9 for m in main))
    blocks = [Block(methods, fractions, main, seeds)]
    if rest:
        blocks.append(Block(methods, fractions, rest, tuple(sweep_seeds or seeds[:1]), runs=1))
    return tuple(blocks)


# ---------------------------------------------------------------- equal-budget baseline


def _run_args(cfg: dict) -> dict:
    keys = ("dataset", "test_file", "n_train", "n_test", "n_calib", "seq_len", "epochs",
            "svd_epochs", "batch_size", "lr", "seed", "rank_rule")
    return {"model": cfg["model"]["source"], **{k: cfg[k] for k in keys},
            "compute_dtype": cfg.get("compute_dtype", RECORDED_DEFAULTS["compute_dtype"])}


def equal_budget_baseline(run: str | Path, ckpt_every: int = 20) -> Path:
    """Fine-tune the dense model for ``svd_epochs`` more epochs (``dense_equal.pt``): the same
    total budget as dense + SVD fine-tuning, the same batches and schedule as the SVD stage.
    """
    from hyflex_plugin.redistribution.experiment import _prepare
    from hyflex_plugin.redistribution.training import (
        dense_weight_gradients,
        fine_tune,
        load_torch,
        save_torch,
    )

    run, cfg = load_run(run)
    st = STEP["dense_equal"]
    args = _run_args(cfg)
    check_run_arguments(run, args, steps=(st,))
    if step_done(run, st):
        return run
    p = _prepare(args, args["n_calib"])
    p.clf.load_state_dict(load_torch(run / "dense.pt"))
    record_step(run, st, args)
    ckpt = run / "checkpoints" / st.checkpoint
    ckpt.parent.mkdir(exist_ok=True)
    fine_tune(p.clf, p.train, args["svd_epochs"], args["batch_size"], args["lr"], seed=args["seed"] + 1,
              ckpt_every=ckpt_every, checkpoint=ckpt, desc="equal-budget dense fine-tune",
              compute_dtype=args["compute_dtype"])
    save_torch(dense_weight_gradients(p.clf, p.calib, args["batch_size"], args["compute_dtype"]),
               run / "dense_equal_grads.pt")
    save_torch(p.clf.state_dict(), run / "dense_equal.pt")
    ckpt.unlink(missing_ok=True)
    return run


# ---------------------------------------------------------------- concentration


def run_concentration(run: str | Path) -> tuple[list[dict], dict]:
    """Concentration rows and Lorenz units of one finished run."""
    from hyflex_plugin.redistribution.concentration import concentration_rows, units
    from hyflex_plugin.redistribution.experiment import RunEvaluator
    from hyflex_plugin.redistribution.svd import decomposed_matrices

    run, cfg = load_run(run)
    ev = RunEvaluator(run, cfg)
    shapes = {d.path: (d.module.out_features, d.module.in_features)
              for d in decomposed_matrices(ev.model("svd"))}
    u = units(ev.dense_gradients("dense"), ev.importance_scores(), shapes)
    return concentration_rows(u), u


# ---------------------------------------------------------------- evaluation


def _evaluate_point(ev, p: Point) -> list[int]:
    from hyflex_plugin.redistribution.noise import PaperSliceNoise

    if p.method.startswith("int8-"):
        return ev.noisy_predictions(p.method[5:], 0.0, "magnitude", PaperSliceNoise(0.0), 0,
                                    compute_dtype=p.compute_dtype)
    variant, selector, protect, noise_on = STUDY_METHODS[p.method]
    return ev.noisy_predictions(variant, p.slc_fraction, selector, PaperSliceNoise(p.sigma), p.seed,
                                protect=protect, noise_on=noise_on, compute_dtype=p.compute_dtype)


class _Evaluators:
    """One RunEvaluator per run, shared by every worker thread of this process (a noisy
    evaluation installs its weights per thread and never modifies the models).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.by_run: dict[str, object] = {}

    def get(self, run: str, only: bool = False):
        """The evaluator of ``run``; ``only``: forget every other run's models before loading it."""
        from hyflex_plugin.redistribution.experiment import RunEvaluator
        from hyflex_plugin.redistribution.memory import release_free_memory

        with self.lock:
            if run not in self.by_run:
                if only and self.by_run:
                    self.by_run.clear()
                    release_free_memory()
                r, cfg = load_run(run)
                self.by_run[run] = RunEvaluator(r, cfg)
            return self.by_run[run]

    def clear(self) -> None:
        """Forget the loaded models (a study calls this when it ends, to free their memory)."""
        with self.lock:
            self.by_run.clear()


_WORKER_EVALUATORS = _Evaluators()


def evaluate_point(p: Point, one_run_at_a_time: bool = False) -> dict:
    """Row for one point (per-sentence correctness packed as hex), in this process.

    ``one_run_at_a_time``: this process keeps only ``p.run``'s models loaded.
    """
    from hyflex_plugin.redistribution.memory import release_free_memory
    from hyflex_plugin.redistribution.stats import pack_bits

    t0 = time.perf_counter()
    correct = _evaluate_point(_WORKER_EVALUATORS.get(p.run, only=one_run_at_a_time), p)
    release_free_memory()  # the noisy weights' freed memory, before the next point
    return {**asdict(p), "n_test": len(correct), "accuracy": sum(correct) / max(1, len(correct)),
            "correct": pack_bits(correct), "eval_s": round(time.perf_counter() - t0, 3)}


def _parallel_rows(points: list[Point], workers: int, scheduler: str | None, one_run_at_a_time: bool = False):
    """Yield rows as they finish: threads in this process, or tasks on a Dask cluster.

    ``one_run_at_a_time``: the points of one run folder finish before the next run's start, and
    each process (this one, or every Dask worker) holds one run's models at a time.
    """
    groups = [points]
    if one_run_at_a_time:
        groups = [[p for p in points if p.run == r] for r in dict.fromkeys(p.run for p in points)]
    fn = partial(evaluate_point, one_run_at_a_time=one_run_at_a_time)
    if scheduler:
        from distributed import as_completed as dask_completed

        from hyflex_plugin.sweep.run import dask_client  # the same Dask path as `hyflex sweep`

        with dask_client(scheduler) as client:
            for group in groups:
                futs = client.map(fn, group, pure=False)
                for fut in dask_completed(futs):
                    yield fut.result()
        return
    if workers <= 1:
        for group in groups:
            for p in group:
                yield fn(p)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for group in groups:
            futs = [pool.submit(fn, p) for p in group]
            for fut in as_completed(futs):
                yield fut.result()


def plan_points(runs: list[str], blocks: tuple[Block, ...], compute_dtype: str = "float32") -> list[Point]:
    """Plan the study's points in the order they are evaluated (no point twice).

    References first (the noise-free INT8 model of every weights variant on every run), then
    each block: its main methods, then its variants; seed-major inside each, so a partial
    (interrupted) study has whole noise draws. (Float accuracies are in each run's run.yaml.)
    """
    variants = sorted({STUDY_METHODS[m][0] for b in blocks for m in b.methods})
    pts = [Point(r, f"int8-{v}", 1.0, 0.0, 0, compute_dtype) for r in runs for v in variants]
    for b in blocks:
        b_runs = runs if b.runs is None else runs[:b.runs]
        main = [m for m in b.methods if m in MAIN_METHODS]
        for group in (main, [m for m in b.methods if m not in MAIN_METHODS]):
            pts += [Point(r, m, f, s, sd, compute_dtype) for sd in b.seeds for r in b_runs for s in b.sigmas
                    for f in b.fractions for m in group]
    return list(dict.fromkeys(pts))


def _check_blocks(blocks: tuple[Block, ...], compute_dtype: str) -> None:
    from hyflex_plugin.redistribution.precision import check_compute_dtype

    for b in blocks:
        for m in b.methods:
            if m not in STUDY_METHODS:
                raise HyflexInputError("--methods", "method", f"expected one of {list(STUDY_METHODS)}, got {m!r}")
    check_compute_dtype(compute_dtype)


def evaluate_study(runs: list[str], methods=tuple(STUDY_METHODS), fractions=DEFAULT_FRACTIONS,
                   sigmas=DEFAULT_SIGMAS, seeds=(0, 1, 2, 3, 4), workers: int | None = None,
                   scheduler: str | None = None, torch_threads: int | None = None,
                   cache_file: str | Path | None = None, progress: bool = True,
                   only_cached: bool = False, blocks: tuple[Block, ...] | None = None,
                   compute_dtype: str = "float32", one_run_at_a_time: bool = False) -> list[dict]:
    """All study rows (cached rows reused; new ones appended to ``cache_file`` as they finish).

    The points are ``blocks`` (default: one block, methods x fractions x sigmas x seeds on every
    run), evaluated in ``compute_dtype``. ``only_cached``: evaluate nothing, return the rows
    already finished (a partial study). ``one_run_at_a_time``: evaluate run by run, with one
    run's models in memory (the peak of a one-run study; an interrupted study then has whole
    runs, not whole noise draws across runs).
    """
    import torch
    from tqdm.auto import tqdm

    from hyflex_plugin.redistribution.memory import release_free_memory

    blocks = blocks or (Block(tuple(methods), tuple(fractions), tuple(sigmas), tuple(seeds)),)
    _check_blocks(blocks, compute_dtype)
    runs = [str(Path(r)) for r in runs]
    workers = workers or min(2, os.cpu_count() or 1)
    points = plan_points(runs, blocks, compute_dtype)
    cache = RowCache(Path(cache_file or Path(runs[0]) / STUDY_ROWS_FILE), _row_key)
    todo = list(dict.fromkeys(p.canonical() for p in points if cache.get(p.canonical().key()) is None))
    if only_cached:
        todo = []
    release_free_memory()  # what fine-tuning and the concentration sort freed, before models load
    old_threads = torch.get_num_threads()
    torch.set_num_threads(torch_threads or max(1, (os.cpu_count() or 1) // max(1, workers)))
    try:
        for row in tqdm(_parallel_rows(todo, workers, scheduler, one_run_at_a_time), total=len(todo), desc="study",
                        unit="eval", disable=not progress):
            cache.append(row)
    finally:
        torch.set_num_threads(old_threads)
    out = []
    for p in points:
        row = cache.get(p.canonical().key())
        if row is None:
            continue  # only_cached: not evaluated yet
        out.append(row if p.canonical() == p else {**row, **asdict(p), "same_as": row["method"]})
    return out


# ---------------------------------------------------------------- summary


def _tables(rows: list[dict]):
    """{(method, fraction, sigma): {(run, seed): correctness array}} and refs {(run, method): array}."""
    from hyflex_plugin.redistribution.stats import unpack_bits

    by: dict[tuple, dict] = {}
    refs: dict[tuple, object] = {}
    for r in rows:
        bits = unpack_bits(r["correct"], r["n_test"])
        if r["method"].startswith("int8-"):
            refs[(r["run"], r["method"])] = bits
        else:
            by.setdefault((r["method"], r["slc_fraction"], r["sigma"]), {})[(r["run"], r["seed"])] = bits
    return by, refs


def planned_draws(points: list[Point]) -> dict[tuple, int]:
    """{(method, SLC fraction, sigma): number of (run, noise seed) draws planned}."""
    out: dict[tuple, int] = {}
    for p in points:
        if not p.method.startswith("int8-"):
            k = (p.method, p.slc_fraction, p.sigma)
            out[k] = out.get(k, 0) + 1
    return out


def summarize(rows: list[dict], n_boot: int = 2000,
              complete_only: dict[tuple, int] | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """(reference rows, per-point summary rows, paired comparison rows).

    ``complete_only`` (a partial study: :func:`planned_draws` of its plan): keep only the
    settings that have every draw planned for them, so no mean mixes different draws.
    """
    import numpy as np

    from hyflex_plugin.redistribution.stats import mean_ci, paired_difference

    by, refs = _tables(rows)
    if complete_only is not None:
        by = {k: c for k, c in by.items() if len(c) == complete_only.get(k)}
    ref_rows = []
    for (run, m), bits in sorted(refs.items()):
        e = mean_ci(bits, n_boot)
        ref_rows.append({"run": run, "reference": m, "accuracy": e.mean, "ci_low": e.low, "ci_high": e.high,
                         "n_test": len(bits)})
    summary = []
    for (m, f, s), cells in sorted(by.items()):
        keys = sorted(cells)
        table = np.stack([cells[k] for k in keys])
        variant = STUDY_METHODS[m][0]
        ref = np.stack([refs[(run, f"int8-{variant}")] for run, _ in keys])
        acc = mean_ci(table, n_boot)
        loss = paired_difference(ref, table, n_boot)  # accuracy lost against its own INT8 model
        summary.append({"method": m, "slc_fraction": f, "sigma": s,
                        "ber": bit_error_rate_from_sigma(s) if s > 0 else 0.0,
                        "n_draws": len(keys), "n_test": table.shape[1],
                        "accuracy": acc.mean, "acc_ci_low": acc.low, "acc_ci_high": acc.high,
                        "loss": loss.mean, "loss_ci_low": loss.low, "loss_ci_high": loss.high})
    paired = []
    for a, b in COMPARISONS:
        for (m, f, s), cells in sorted(by.items()):
            if m != a or (b, f, s) not in by:
                continue
            other = by[(b, f, s)]
            keys = sorted(set(cells) & set(other))
            ta, tb = np.stack([cells[k] for k in keys]), np.stack([other[k] for k in keys])
            ra = np.stack([refs[(run, f"int8-{STUDY_METHODS[a][0]}")] for run, _ in keys])
            rb = np.stack([refs[(run, f"int8-{STUDY_METHODS[b][0]}")] for run, _ in keys])
            d_acc = paired_difference(ta, tb, n_boot)
            d_loss = paired_difference(ra - ta, rb - tb, n_boot)  # loss A - loss B
            paired.append({"a": a, "b": b, "slc_fraction": f, "sigma": s, "n_draws": len(keys),
                           "acc_diff": d_acc.mean, "acc_diff_ci_low": d_acc.low,
                           "acc_diff_ci_high": d_acc.high, "acc_diff_p": d_acc.p_value,
                           "loss_diff": d_loss.mean, "loss_diff_ci_low": d_loss.low,
                           "loss_diff_ci_high": d_loss.high, "loss_diff_p": d_loss.p_value,
                           "half_width": d_acc.half_width, "loss_half_width": d_loss.half_width})
    return ref_rows, summary, paired


def plot_noise_regime(summary: list[dict], path: str | Path, title: str = "",
                      methods=("redistribution", "brute-force-equal", "brute-force")) -> Path:
    """Accuracy loss (points) vs sigma at each SLC fraction, both methods, BER on the top axis."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hyflex_plugin.io import atomic_write_bytes

    fracs = sorted({r["slc_fraction"] for r in summary})
    fig, axes = plt.subplots(1, len(fracs), figsize=(3.6 * len(fracs), 3.6), sharey=True, squeeze=False)
    for ax, f in zip(axes[0], fracs):
        for m in methods:
            pts = sorted((r["sigma"], r) for r in summary if r["method"] == m and r["slc_fraction"] == f)
            if not pts:
                continue
            x = [s for s, _ in pts]
            y = [r["loss"] * 100 for _, r in pts]
            err = [[(r["loss"] - r["loss_ci_low"]) * 100 for _, r in pts],
                   [(r["loss_ci_high"] - r["loss"]) * 100 for _, r in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", ms=3, capsize=2, label=m)
        ax.axvline(sigma_from_bit_error_rate(PAPER_BER), color="grey", lw=0.7, ls=":")
        ax.set_xscale("log")
        ax.set_title(f"{f * 100:.0f} % SLC")
        ax.set_xlabel("MLC slice sigma")
        ax.grid(alpha=0.3)
        top = ax.secondary_xaxis("top", functions=(
            lambda s: s, lambda s: s))
        ticks = [t for t in (0.01, 0.025, 0.05, 0.1, 0.2) if min(x, default=0) <= t <= max(x, default=1)]
        top.set_xticks(ticks, [f"{bit_error_rate_from_sigma(t) * 100:.2g}%" for t in ticks], fontsize=7)
        top.set_xlabel("cell BER", fontsize=8)
    axes[0][0].set_ylabel("accuracy loss vs own INT8 (points)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title or "noise regime", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def dtype_check_blocks(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """The points re-evaluated in float32 when a study runs in another compute dtype: the first
    block's methods at its middle SLC fraction and its sigmas (the main sigmas of
    :func:`sweep_blocks`), noise seed 0 of the first run, and the first run's INT8 references.
    """
    b = blocks[0]
    return (Block(b.methods, (b.fractions[len(b.fractions) // 2],), b.sigmas, b.seeds[:1], runs=1),)


def compare_dtypes(rows: list[dict], check_rows: list[dict]) -> list[dict]:
    """One row per point evaluated in both dtypes: accuracies, the share of sentences whose
    correctness agrees, and the paired difference (study dtype - float32) with its 95 % interval.
    """
    import numpy as np

    from hyflex_plugin.redistribution.stats import paired_difference, unpack_bits

    def point(r):  # the cache key without the dtype
        return _row_key(r)[:-1]

    ref = {point(r): r for r in check_rows}
    out = []
    for r in rows:
        c = ref.get(point(r))
        if c is None:
            continue
        a, b = unpack_bits(r["correct"], r["n_test"]), unpack_bits(c["correct"], c["n_test"])
        d = paired_difference(a, b, n_boot=1000)
        out.append({"run": r["run"], "method": r["method"], "slc_fraction": r["slc_fraction"],
                    "sigma": r["sigma"], "seed": r["seed"], "compute_dtype": r["compute_dtype"],
                    "accuracy": r["accuracy"], "accuracy_float32": c["accuracy"],
                    "agreement": float(np.mean(a == b)), "diff": d.mean, "diff_ci_low": d.low,
                    "diff_ci_high": d.high})
    return out


def study(runs: list[str | Path], out: str | Path, methods=tuple(STUDY_METHODS),
          fractions=DEFAULT_FRACTIONS, sigmas=DEFAULT_SIGMAS, seeds=(0, 1, 2, 3, 4),
          workers: int | None = None, scheduler: str | None = None, n_boot: int = 2000,
          only_cached: bool = False, blocks: tuple[Block, ...] | None = None,
          compute_dtype: str = "float32", one_run_at_a_time: bool = False) -> dict:
    """Whole study; writes CSVs, PNGs and ``study.json`` (timings, load) into ``out``.

    The points are ``blocks`` (default: one block, methods x fractions x sigmas x seeds on every
    run; see :func:`sweep_blocks`). In a ``compute_dtype`` other than float32, the points of
    :func:`dtype_check_blocks` are evaluated in float32 as well and compared
    (``dtype_check.csv``). ``only_cached`` summarises the evaluations finished so far (nothing
    new is evaluated); ``study.json`` then says how many of the planned points are in it.
    ``one_run_at_a_time``: see :func:`evaluate_study` (for several runs of a large model).
    """
    from hyflex_plugin.redistribution.concentration import plot_lorenz

    blocks = blocks or (Block(tuple(methods), tuple(fractions), tuple(sigmas), tuple(seeds)),)
    _check_blocks(blocks, compute_dtype)
    methods = tuple(dict.fromkeys(m for b in blocks for m in b.methods))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [str(Path(r)) for r in runs]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if any(STUDY_METHODS[m][0] == "dense_equal" for m in methods):
        for r in runs:
            equal_budget_baseline(r)
    timings["equal_budget_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conc = []
    for i, r in enumerate(runs):
        rows, u = run_concentration(r)
        conc += [{"run": r, **row} for row in rows]
        if i == 0:
            plot_lorenz(u, out / "concentration.png", f"gradient concentration ({Path(r).name})")
    write_csv(conc, out / "concentration.csv", list(conc[0]))
    timings["concentration_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    rows = evaluate_study(runs, workers=workers, scheduler=scheduler, only_cached=only_cached,
                          blocks=blocks, compute_dtype=compute_dtype, one_run_at_a_time=one_run_at_a_time)
    plan = plan_points(runs, blocks, compute_dtype)
    planned = len(plan)
    timings["evaluate_s"] = time.perf_counter() - t0
    dtype_rows = []
    if compute_dtype != "float32":
        t0 = time.perf_counter()
        check = evaluate_study(runs[:1], workers=workers, scheduler=scheduler, only_cached=only_cached,
                               blocks=dtype_check_blocks(blocks), compute_dtype="float32",
                               cache_file=Path(runs[0]) / STUDY_ROWS_FILE, one_run_at_a_time=one_run_at_a_time)
        dtype_rows = compare_dtypes(rows, check)
        if dtype_rows:
            write_csv(dtype_rows, out / "dtype_check.csv", list(dtype_rows[0]))
        timings["dtype_check_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    refs, summary, paired = summarize(rows, n_boot, complete_only=planned_draws(plan) if only_cached else None)
    for r in runs:  # float (unquantised) accuracies measured by redistribute, for reference
        _, cfg = load_run(r)
        refs += [{"run": r, "reference": f"float-{v}", "accuracy": cfg[f"float_accuracy_{v}"],
                  "ci_low": None, "ci_high": None, "n_test": cfg["n_test"]} for v in ("dense", "svd")]
    write_csv([{k: v for k, v in r.items() if k != "correct"} for r in rows], out / "study_rows.csv",
              ["run", "method", "slc_fraction", "sigma", "seed", "compute_dtype", "n_test", "accuracy", "eval_s",
               "same_as"])
    write_csv(refs, out / "references.csv", list(refs[0]))
    write_csv(summary, out / "summary.csv", list(summary[0]))
    if paired:
        write_csv(paired, out / "paired.csv", list(paired[0]))
    plot_noise_regime(summary, out / "noise_regime.png", f"accuracy loss vs MLC noise ({Path(runs[0]).name})")
    timings["summary_s"] = time.perf_counter() - t0
    info = {"runs": runs, "blocks": [asdict(b) for b in blocks], "compute_dtype": compute_dtype,
            "dtype_check": {"points": len(dtype_rows),
                            "min_agreement": min((r["agreement"] for r in dtype_rows), default=None),
                            "max_abs_diff": max((abs(r["diff"]) for r in dtype_rows), default=None)},
            "workers": workers, "scheduler": scheduler, "one_run_at_a_time": one_run_at_a_time,
            "n_points_planned": planned, "n_points_done": len(rows), "timings_s": timings,
            "loadavg_before_eval": load_before,
            "loadavg_after_eval": os.getloadavg()}
    atomic_write_json(out / "study.json", info)
    _WORKER_EVALUATORS.clear()
    return {"info": info, "concentration": conc, "references": refs, "summary": summary, "paired": paired}


__all__ = ["COMPARISONS", "DEFAULT_FRACTIONS", "DEFAULT_SIGMAS", "STUDY_METHODS", "Block", "Point",
           "compare_dtypes", "dtype_check_blocks", "equal_budget_baseline", "evaluate_point",
           "evaluate_study", "plan_points", "planned_draws", "plot_noise_regime", "run_concentration", "study",
           "summarize", "sweep_blocks"]
