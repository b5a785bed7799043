"""Sub-commands of the export stage: ``hyflex export timeloop``, ``hyflex export validate``."""

from __future__ import annotations

from hyflex_plugin.evaluation.cli import add_request_options, request_from_args


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    p = subparsers.add_parser("export", help="export the design to classic Timeloop v0.4 / Accelergy")
    sub = p.add_subparsers(dest="export_command", metavar="FORMAT")
    t = sub.add_parser("timeloop", help="Timeloop v0.4 architecture, problems, constraints, mapper "
                       "and Accelergy tables/plug-in")
    add_request_options(t)
    t.add_argument("--out", required=True, help="export folder (must be new or empty)")
    t.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    t.add_argument("--no-reference", action="store_true",
                   help="skip hyflex's own evaluation of each problem (faster)")
    t.set_defaults(func=cmd_export_timeloop)
    v = sub.add_parser("validate", help="check an export folder: v0.4 schema, cross-checks, and what "
                       "timeloopfe/Accelergy 0.4 will do with it")
    v.add_argument("folder")
    v.set_defaults(func=cmd_export_validate)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def cmd_export_timeloop(args) -> int:
    """``hyflex export timeloop``."""
    from hyflex_plugin.export.timeloop import export_timeloop

    result = export_timeloop(request=request_from_args(args), out=args.out, force=args.force,
                             reference=not args.no_reference, progress=True)
    print(result.summary())
    return 0


def cmd_export_validate(args) -> int:
    """``hyflex export validate``."""
    from hyflex_plugin.export.schema import validate_export

    counts = validate_export(args.folder)
    print(f"{args.folder}: valid Timeloop v0.4 export ("
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ")")
    return 0
