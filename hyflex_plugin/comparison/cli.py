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
    c.set_defaults(func=_compare)

    d = subparsers.add_parser(
        "demo", help="the main job on built-in defaults (what `make demo` runs): a comparison "
                     "report for bert-large and bert-base at a few N")
    d.add_argument("--out", default="results/demo", metavar="DIR",
                   help="report folder (default: results/demo)")
    d.set_defaults(func=_demo)


def _compare(args) -> int:
    from hyflex_plugin.comparison.compare import (
        DEFAULT_MODELS,
        DEFAULT_SEQ_LENS,
        DEFAULT_SLC_FRACTIONS,
    )
    from hyflex_plugin.comparison.demo import run_and_report
    from hyflex_plugin.comparison.baselines import BASELINE_KEYS

    run_and_report(models=args.model or (None if args.partition else DEFAULT_MODELS), seq_lens=args.seq_len or DEFAULT_SEQ_LENS,
                   slc_fractions=args.slc_fraction or DEFAULT_SLC_FRACTIONS,
                   designs=args.design or BASELINE_KEYS, out=args.out, json_path=args.json,
                   cache=not args.no_cache, partition=args.partition)
    return 0


def _demo(args) -> int:
    from hyflex_plugin.comparison.demo import run_demo

    return run_demo(out=args.out)
