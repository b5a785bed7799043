"""Sub-commands of the evaluation stage: ``hyflex evaluate``."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="energy, latency, throughput and area of a whole "
                              "transformer on a HyFlexPIM design (AccelForge)")
    p.add_argument("--model", default="bert-base",
                   help="preset (bert-base, bert-large, gpt2, llama-3.2-1b, vit-base) or a path to "
                        "a Hugging Face config.json")
    p.add_argument("--seq-len", type=int, default=None,
                   help="sequence length N (tokens); default: a ViT config's patches + class token, "
                        "otherwise 128")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--slc-fraction", type=float, default=0.1,
                   help="share of each matrix in SLC, 0..1 (default 0.1); with --partition the "
                        "file decides and this is ignored")
    p.add_argument("--partition", default=None, help="partition file from `hyflex partition`")
    p.add_argument("--arch", default=None, help="design file (default arch_specs/hyflexpim.yaml)")
    p.add_argument("--search", action="store_true",
                   help="map with AccelForge's mapper instead of the fixed mappings (slow)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the disk cache")
    p.add_argument("--json", default=None, metavar="FILE|-",
                   help="write the full result as JSON to FILE (atomically) or stdout ('-')")
    p.add_argument("--list", action="store_true",
                   help="list the model presets and the shipped design files, then exit")
    p.set_defaults(func=_evaluate)


def _list() -> int:
    from hyflex_plugin.architecture import ARCH_DIR, load_arch
    from hyflex_plugin.workloads import PRESETS

    print("model presets:")
    for name, s in PRESETS.items():
        kv = f", {s.kv_heads} KV heads" if s.num_kv_heads else ""
        print(f"  {name:14s} {s.n_layers} layers, hidden {s.hidden_size}, {s.num_heads} heads{kv}, "
              f"FFN {s.intermediate_size}")
    print(f"design files ({ARCH_DIR}):")
    for f in sorted(ARCH_DIR.glob("*.yaml")):
        print(f"  {f.name:30s} {load_arch(f).description}")
    return 0


def _evaluate(args) -> int:
    import sys

    from hyflex_plugin.evaluation.model import (
        evaluate_model,
        format_result,
        resolve_seq_len,
    )
    from hyflex_plugin.io import atomic_write_json, check_output_file

    if args.list:
        return _list()
    if args.json and args.json != "-":
        check_output_file(args.json, "--json", "json")
    seq_len, note = resolve_seq_len(args.model, args.seq_len)
    if note:  # the derived N is part of the output (stderr when stdout carries the JSON)
        print(note, file=sys.stderr if args.json == "-" else sys.stdout)
    result = evaluate_model(model=args.model, seq_len=seq_len, slc_fraction=args.slc_fraction,
                            partition=args.partition, arch=args.arch, batch=args.batch,
                            search=args.search, cache=not args.no_cache, progress=True)
    if args.json == "-":
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(format_result(result))
    if args.json:
        atomic_write_json(args.json, result.to_dict())
        print(f"\nwrote {args.json}")
    return 0
