"""Sub-command of the sweep stage: ``hyflex sweep``."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    p = subparsers.add_parser(
        "sweep", help="design-space sweep from a SPEC file: results table, Pareto fronts, plot "
        "(exact engine on Dask, or the vectorised fast engine)")
    p.add_argument("spec", help="sweep SPEC file (YAML; format in docs/sweep.md)")
    p.add_argument("--out", required=True, help="results folder (a re-run resumes in it)")
    p.add_argument("--engine", default="auto", choices=["auto", "fast", "accelforge"],
                   help="auto = fast + verification sample; fast; accelforge (exact, on Dask) "
                        "(default: %(default)s)")
    p.add_argument("--verify", type=int, default=20, metavar="N",
                   help="points of a fast sweep re-checked on the exact engine (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="existing Dask scheduler (default: an embedded LocalCluster)")
    p.add_argument("--workers", type=int, default=None,
                   help="workers of the embedded LocalCluster (default: cores; 0 = in this "
                        "process, no Dask)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args) -> int:
    """``hyflex sweep``."""
    from hyflex_plugin.sweep.run import run_sweep

    stats = run_sweep(args.spec, args.out, engine=args.engine, verify=args.verify,
                      scheduler=args.scheduler, workers=args.workers,
                      progress=not args.no_progress)
    print(f"hyflex sweep: {stats['points']} points ({stats['evaluated']} evaluated, "
          f"{stats['resumed']} from an earlier run) in {stats['seconds']:.1f} s; "
          f"wrote {args.out}/results.parquet, results.csv, pareto.csv, pareto.png, summary.md")
    v = stats.get("verification")
    if v:
        worst = max(v["metrics"].items(), key=lambda kv: kv[1]["max"], default=None)
        if worst:
            print(f"fast engine vs exact on {v['n']} points: largest difference "
                  f"{worst[1]['max']:.3%} ({worst[0]})")
    return 0
