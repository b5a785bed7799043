"""Sub-commands of the comparison stage: ``hyflex compare`` and ``hyflex demo``."""

from __future__ import annotations

import argparse


def _share(text: str) -> float:
    """An SLC share: 0.1 or 10% (both mean ten per cent)."""
    t = text.strip()
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share such as 0.1 or 10%, got {text!r}") from None


def register(subparsers) -> None:
    from hyflex_plugin.comparison.baselines import BASELINE_KEYS

    c = subparsers.add_parser(
        "compare", help="HyFlexPIM vs modelled baselines and the paper's published claims (report)",
        description="Run HyFlexPIM and the modelled baselines (ASADI-dagger, all-SLC, all-MLC, hybrid "
                    "without redistribution, digital PIM only) over models, N and SLC shares, and write "
                    "a report folder (Markdown, PNG plots, CSV) with the paper's claims next to this "
                    "model's values. Defaults: 5 models x N 128..8192 x SLC 5/10/20/50 %. "
                    "Every AccelForge result is cached on disk, so an interrupted sweep resumes; "
                    "the full default sweep takes minutes with a cold cache on 2 cores.")
    c.add_argument("--model", action="append", metavar="NAME",
                   help="model preset or config.json (repeatable; default: bert-base, bert-large, "
                        "gpt2, llama-3.2-1b, vit-base)")
    c.add_argument("--seq-len", action="append", type=int, metavar="N",
                   help="sequence length (repeatable; default: 128 256 ... 8192)")
    c.add_argument("--slc-fraction", action="append", type=_share, metavar="S",
                   help="HyFlexPIM SLC share, 0.1 or 10%% (repeatable; default: 5, 10, 20, 50 %%)")
    c.add_argument("--design", action="append", choices=BASELINE_KEYS, metavar="KEY",
                   help=f"designs to run (repeatable; default: all of {', '.join(BASELINE_KEYS)})")
    c.add_argument("--partition", metavar="FILE",
                   help="also run HyFlexPIM with this partition file from gradient redistribution "
                        "(without --model: the partition's model)")
    c.add_argument("--out", default="results/compare", metavar="DIR",
                   help="report folder (replaced atomically; default: results/compare)")
    c.add_argument("--json", metavar="FILE", help="also write every number as JSON to FILE")
    c.add_argument("--no-cache", action="store_true", help="re-evaluate instead of using the disk cache")
    c.add_argument("--sensitivity-samples", type=int, default=200, metavar="K",
                   help="Latin-hypercube samples behind each claim's range (default 200; 0 = no ranges)")
    c.add_argument("--iso-area", action="store_true",
                   help="also give every design the silicon area of HyFlexPIM's chip (replicating "
                        "or spanning its pipeline) and report both views")
    c.set_defaults(func=_compare)

    s = subparsers.add_parser(
        "sensitivity", help="the paper's claims as ranges: vary every chosen or estimated number",
        description="Vary every number that is a choice or an estimate (a `range` in the "
                    "cost-model data file, `ranges:` in a design file, the claims file's "
                    "hyflex_slc_fraction_range) one at a time, then all together on a "
                    "Latin-hypercube sample, on the fast re-costing engine; re-check some samples "
                    "on AccelForge. Writes sensitivity.json, sensitivity.md and a tornado plot "
                    "of the 8 largest drivers per claim.")
    s.add_argument("--model", default="bert-large", metavar="NAME",
                   help="model preset or config.json (default: bert-large, the paper's reference)")
    s.add_argument("--seq-len", action="append", type=int, metavar="N",
                   help="sequence length (repeatable; default: 128 1024 8192)")
    s.add_argument("--claim", action="append", metavar="KEY",
                   help="claim key from paper_claims.yaml (repeatable; default: every modelled claim)")
    s.add_argument("--samples", type=int, default=500, metavar="K",
                   help="Latin-hypercube samples (default 500)")
    s.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    s.add_argument("--recheck", type=int, default=2, metavar="K",
                   help="samples re-checked on the exact engine, AccelForge (default 2)")
    s.add_argument("--out", default="results/sensitivity", metavar="DIR",
                   help="output folder (replaced atomically; default: results/sensitivity)")
    s.add_argument("--no-cache", action="store_true", help="re-evaluate instead of using the disk cache")
    s.set_defaults(func=_sensitivity)

    d = subparsers.add_parser(
        "demo", help="the main job on built-in defaults (what `make demo` runs): a comparison "
                     "report for bert-large and bert-base at a few N")
    d.add_argument("--out", default="results/demo", metavar="DIR",
                   help="report folder (default: results/demo)")
    d.set_defaults(func=_demo)


def _compare(args) -> int:
    from hyflex_plugin.comparison.baselines import BASELINE_KEYS
    from hyflex_plugin.comparison.compare import (
        DEFAULT_MODELS,
        DEFAULT_SEQ_LENS,
        DEFAULT_SLC_FRACTIONS,
    )
    from hyflex_plugin.comparison.demo import run_and_report

    run_and_report(models=args.model or (None if args.partition else DEFAULT_MODELS), seq_lens=args.seq_len or DEFAULT_SEQ_LENS,
                   slc_fractions=args.slc_fraction or DEFAULT_SLC_FRACTIONS,
                   designs=args.design or BASELINE_KEYS, out=args.out, json_path=args.json,
                   cache=not args.no_cache, partition=args.partition,
                   sensitivity_samples=args.sensitivity_samples, iso_area=args.iso_area)
    return 0


def _sensitivity(args) -> int:
    from pathlib import Path

    from hyflex_plugin.comparison.sensitivity import (
        DEFAULT_SEQ_LENS,
        run_sensitivity,
        sensitivity_markdown,
        write_sensitivity,
    )

    study = run_sensitivity(args.model, args.seq_len or DEFAULT_SEQ_LENS, args.claim,
                            samples=args.samples, seed=args.seed, recheck=args.recheck,
                            cache=not args.no_cache)
    write_sensitivity(study, args.out)
    print(sensitivity_markdown(study))
    print(f"hyflex: sensitivity written to {Path(args.out).resolve()}")
    return 0


def _demo(args) -> int:
    from hyflex_plugin.comparison.demo import run_demo

    return run_demo(out=args.out)
