"""Sub-commands of the export stage: ``hyflex export timeloop``, ``hyflex export validate``."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    p = subparsers.add_parser("export", help="export the design to classic Timeloop v0.4 / Accelergy")
    sub = p.add_subparsers(dest="export_command", metavar="FORMAT")
    t = sub.add_parser("timeloop", help="Timeloop v0.4 architecture, problems, constraints, mapper "
                       "and Accelergy tables/plug-in")
    t.add_argument("--model", default="bert-base",
                   help="preset (bert-base, bert-large, gpt2, llama-3.2-1b, vit-base) or config.json")
    t.add_argument("--seq-len", type=int, default=128, help="sequence length N (tokens)")
    t.add_argument("--slc-fraction", type=float, default=0.1,
                   help="share of each matrix in SLC cells, 0..1 (default 0.1)")
    t.add_argument("--partition", default=None, help="partition file from `hyflex redistribute`")
    t.add_argument("--arch", default=None, help="design file (default arch_specs/hyflexpim.yaml)")
    t.add_argument("--out", required=True, help="export folder (must be new or empty)")
    t.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    t.add_argument("--no-reference", action="store_true",
                   help="skip hyflex's own evaluation of each problem (faster)")
    t.set_defaults(func=_timeloop)
    v = sub.add_parser("validate", help="check an export folder: v0.4 schema, cross-checks, and what "
                       "timeloopfe/Accelergy 0.4 will do with it")
    v.add_argument("folder")
    v.set_defaults(func=_validate)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _timeloop(args) -> int:
    from hyflex_plugin.export.timeloop import export_timeloop

    result = export_timeloop(model=args.model, seq_len=args.seq_len, slc_fraction=args.slc_fraction,
                             partition=args.partition, arch=args.arch, out=args.out,
                             force=args.force, reference=not args.no_reference, progress=True)
    print(result.summary())
    return 0


def _validate(args) -> int:
    from hyflex_plugin.export.schema import validate_export

    counts = validate_export(args.folder)
    print(f"{args.folder}: valid Timeloop v0.4 export ("
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ")")
    return 0
