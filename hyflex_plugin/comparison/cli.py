"""Sub-commands of the comparison stage: ``hyflex compare`` and ``hyflex demo``."""

from __future__ import annotations

from hyflex_plugin.argtypes import fraction, positive_int


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    from hyflex_plugin.comparison.baselines import BASELINE_KEYS
    from hyflex_plugin.comparison.compare import (
        DEFAULT_MODELS,
        DEFAULT_SEQ_LENS,
        DEFAULT_SLC_FRACTIONS,
    )

    c = subparsers.add_parser(
        "compare", help="HyFlexPIM vs modelled baselines and the paper's published claims (report)",
        description="Run HyFlexPIM and the modelled baselines (ASADI-dagger, all-SLC, all-MLC, hybrid "
                    "without redistribution, digital PIM only) over models, N and SLC shares, and write "
                    "a report folder (Markdown, PNG plots, CSV) with the paper's claims next to this "
                    "model's values. Every AccelForge result is cached on disk, so an interrupted "
                    "sweep resumes; the full default sweep takes minutes with a cold cache on 2 cores.")
    c.add_argument("--model", action="append", metavar="NAME",
                   help="model preset or config.json (repeatable; default: "
                        f"{' '.join(DEFAULT_MODELS)})")
    c.add_argument("--seq-len", action="append", type=positive_int, metavar="N",
                   help=f"sequence length (repeatable; default: {' '.join(map(str, DEFAULT_SEQ_LENS))})")
    c.add_argument("--slc-fraction", "--slc-share", dest="slc_fraction", action="append",
                   type=fraction, metavar="S",
                   help="HyFlexPIM SLC share, 0.1 or 10%% (repeatable; default: "
                        f"{' '.join(f'{s:g}' for s in DEFAULT_SLC_FRACTIONS)})")
    c.add_argument("--design", action="append", choices=BASELINE_KEYS, metavar="KEY",
                   help=f"designs to run (repeatable; default: all of {', '.join(BASELINE_KEYS)})")
    c.add_argument("--partition", metavar="FILE",
                   help="also run HyFlexPIM with this partition file from gradient redistribution "
                        "(without --model: the partition's model)")
    c.add_argument("--out", default="results/compare", metavar="DIR",
                   help="report folder (replaced atomically; default: %(default)s)")
    c.add_argument("--json", metavar="FILE", help="also write every number as JSON to FILE")
    c.add_argument("--no-cache", action="store_true", help="re-evaluate instead of using the disk cache")
    c.add_argument("--sensitivity-samples", type=int, default=200, metavar="K",
                   help="Latin-hypercube samples behind each claim's range (0 = no ranges; "
                        "default: %(default)s)")
    c.add_argument("--iso-area", action="store_true",
                   help="also give every design the silicon area of HyFlexPIM's chip (replicating "
                        "or spanning its pipeline) and report both views")
    c.set_defaults(func=cmd_compare)

    s = subparsers.add_parser(
        "sensitivity", help="the paper's claims as ranges: vary every chosen or estimated number",
        description="Vary every number that is a choice or an estimate (a `range` in the "
                    "cost-model data file, `ranges:` in a design file, the claims file's "
                    "hyflex_slc_fraction_range) one at a time, then all together on a "
                    "Latin-hypercube sample, on the sweep's fast engine; re-check some samples "
                    "on AccelForge. Writes sensitivity.json, sensitivity.md and a tornado plot "
                    "of the 8 largest drivers per claim.")
    s.add_argument("--model", default="bert-large", metavar="NAME",
                   help="model preset or config.json (default: bert-large, the paper's reference)")
    s.add_argument("--seq-len", action="append", type=positive_int, metavar="N",
                   help="sequence length (repeatable; default: 128 1024 8192)")
    s.add_argument("--claim", action="append", metavar="KEY",
                   help="claim key from paper_claims.yaml (repeatable; default: every modelled claim)")
    s.add_argument("--samples", type=int, default=500, metavar="K",
                   help="Latin-hypercube samples (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    s.add_argument("--recheck", type=int, default=2, metavar="K",
                   help="samples re-checked on the exact engine, AccelForge (default: %(default)s)")
    s.add_argument("--out", default="results/sensitivity", metavar="DIR",
                   help="output folder (replaced atomically; default: %(default)s)")
    s.add_argument("--no-cache", action="store_true", help="re-evaluate instead of using the disk cache")
    s.set_defaults(func=cmd_sensitivity)

    d = subparsers.add_parser(
        "demo", help="the main job on built-in defaults (what `make demo` runs): a comparison "
                     "report for bert-large and bert-base at a few N")
    d.add_argument("--out", default="results/demo", metavar="DIR",
                   help="report folder (default: %(default)s)")
    d.set_defaults(func=cmd_demo)


def cmd_compare(args) -> int:
    """``hyflex compare``."""
    from hyflex_plugin.comparison.baselines import BASELINE_KEYS
    from hyflex_plugin.comparison.compare import (
        DEFAULT_MODELS,
        DEFAULT_SEQ_LENS,
        DEFAULT_SLC_FRACTIONS,
    )
    from hyflex_plugin.comparison.demo import run_and_report

    run_and_report(models=args.model or (None if args.partition else DEFAULT_MODELS),
                   seq_lens=args.seq_len or DEFAULT_SEQ_LENS,
                   slc_fractions=args.slc_fraction or DEFAULT_SLC_FRACTIONS,
                   designs=args.design or BASELINE_KEYS, out=args.out, json_path=args.json,
                   cache=not args.no_cache, partition=args.partition,
                   sensitivity_samples=args.sensitivity_samples, iso_area=args.iso_area)
    return 0


def cmd_sensitivity(args) -> int:
    """``hyflex sensitivity``."""
    from pathlib import Path

    from hyflex_plugin.comparison.sensitivity import (
        DEFAULT_SEQ_LENS,
        run_sensitivity,
        sensitivity_markdown,
        write_sensitivity,
    )
    from hyflex_plugin.console import log

    study = run_sensitivity(args.model, args.seq_len or DEFAULT_SEQ_LENS, args.claim,
                            samples=args.samples, seed=args.seed, recheck=args.recheck,
                            cache=not args.no_cache)
    write_sensitivity(study, args.out)
    print(sensitivity_markdown(study))
    log.info("sensitivity written to %s", Path(args.out).resolve())
    return 0


def cmd_demo(args) -> int:
    """``hyflex demo``."""
    from hyflex_plugin.comparison.demo import run_demo

    return run_demo(out=args.out)
