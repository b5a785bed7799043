"""Sub-commands of the evaluation stage: ``hyflex evaluate``."""

from __future__ import annotations

import json

from hyflex_plugin.argtypes import fraction, output_target, positive_int


def add_request_options(p, default_model: str = "bert-base", default_seq_len: int | None = 128) -> None:
    """The options of an :class:`~hyflex_plugin.evaluation.request.EvaluationRequest`."""
    from hyflex_plugin.workloads.shapes import PRESETS

    p.add_argument("--model", default=default_model,
                   help=f"preset ({', '.join(PRESETS)}) or a path to a Hugging Face config.json "
                        "(default: %(default)s)")
    p.add_argument("--seq-len", type=positive_int, default=default_seq_len, metavar="N",
                   help="sequence length N in tokens (default: "
                        + (f"{default_seq_len})" if default_seq_len else
                           "a ViT config's patches + class token, otherwise 128)"))
    p.add_argument("--slc-fraction", "--slc-share", dest="slc_fraction", type=fraction,
                   default=0.1, metavar="S",
                   help="share of each matrix in SLC cells, 0.1 or 10%% (default: %(default)s); "
                        "with --partition the file decides and this is ignored")
    p.add_argument("--partition", default=None, metavar="FILE",
                   help="partition file from `hyflex partition`")
    p.add_argument("--arch", default=None, metavar="FILE",
                   help="design file, a path or a name in arch_specs/ (default: hyflexpim.yaml)")


def request_from_args(args, **extra):
    """The validated EvaluationRequest of the options added by :func:`add_request_options`."""
    from hyflex_plugin.evaluation.request import EvaluationRequest

    fields = dict(model=args.model, seq_len=args.seq_len, slc_fraction=args.slc_fraction,
                  partition=args.partition, arch=args.arch)
    return EvaluationRequest(**{**fields, **extra})


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    p = subparsers.add_parser("evaluate", help="energy, latency, throughput and area of a whole "
                              "transformer on a HyFlexPIM design (AccelForge)")
    add_request_options(p, default_seq_len=None)
    p.add_argument("--batch", type=positive_int, default=1,
                   help="sequences per inference (default: %(default)s)")
    p.add_argument("--search", action="store_true",
                   help="map with AccelForge's mapper instead of the fixed mappings (slow)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the disk cache")
    p.add_argument("--json", default=None, type=output_target, metavar="FILE|-",
                   help="write the full result as JSON to FILE (atomically) or stdout ('-')")
    p.add_argument("--list", action="store_true",
                   help="list the model presets and the shipped design files, then exit")
    p.set_defaults(func=cmd_evaluate)


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


def cmd_evaluate(args) -> int:
    """``hyflex evaluate``."""
    import sys

    from hyflex_plugin.console import log
    from hyflex_plugin.evaluation.model import evaluate, format_result, resolve_seq_len
    from hyflex_plugin.io import atomic_write_json, check_output_file

    if args.list:
        return _list()
    if args.json and args.json != "-":
        check_output_file(args.json, "--json", "json")
    seq_len, note = resolve_seq_len(args.model, args.seq_len)
    if note:  # the derived N is part of the output (stderr when stdout carries the JSON)
        print(note, file=sys.stderr if args.json == "-" else sys.stdout)
    request = request_from_args(args, seq_len=seq_len, batch=args.batch, search=args.search,
                                cache=not args.no_cache)
    result = evaluate(request, progress=True)
    if args.json == "-":
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(format_result(result))
    if args.json:
        atomic_write_json(args.json, result.to_dict())
        log.info("wrote %s", args.json)
    return 0
