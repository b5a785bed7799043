"""Sub-commands of the cost-model stage: ``hyflex calibrate``, ``hyflex breakdown``, ``hyflex tables``."""

from __future__ import annotations

import json

#: file formats of ``hyflex tables``
FORMATS = ("csv", "yaml")


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
    p = subparsers.add_parser("calibrate",
                              help="one processing unit of a design from the models vs the paper's Table 2")
    _design_options(p)
    p.set_defaults(func=cmd_calibrate)

    b = subparsers.add_parser("breakdown", help="area and peak power of a design per component, "
                              "module, processing unit and chip")
    _design_options(b)
    b.set_defaults(func=cmd_breakdown)

    t = subparsers.add_parser("tables", help="energy per action and area of every hyflex component")
    t.add_argument("--tech-node", default="65nm", help="technology node, e.g. 65nm, 32nm, 7-130 nm "
                   "(default: %(default)s)")
    t.add_argument("--format", choices=FORMATS, default=None,
                   help="file format (default: from --out's suffix, else csv)")
    t.add_argument("--out", default=None, help="write to FILE (atomically) instead of the terminal")
    t.set_defaults(func=cmd_tables)


def _design_options(p) -> None:
    p.add_argument("--arch", default=None, metavar="FILE",
                   help="design file (default: arch_specs/hyflexpim.yaml, HyFlexPIM)")
    p.add_argument("--tech-node", default=None,
                   help="technology node, e.g. 32nm (default: the design file's tech_node)")
    p.add_argument("--json", default=None, nargs="?", const="-", metavar="FILE|-",
                   help="write the result as JSON to FILE (atomically) or stdout ('-', also "
                        "the meaning of a bare --json) instead of the table")


def _tech(args) -> float:
    from hyflex_plugin.units import parse_tech_node

    return parse_tech_node(args.tech_node, source="--tech-node")


def _design_result(args, api):
    """``api(tech_node, design)`` for the CLI's --arch and --tech-node; errors name the option."""
    from hyflex_plugin.architecture.design import load_arch
    from hyflex_plugin.io import check_output_file

    if args.json not in (None, "-"):
        check_output_file(args.json, "--json", "json")  # before any work
    design = load_arch(args.arch)
    if args.tech_node is None:
        return api(None, design)
    return _checked(lambda tech: api(tech, design), _tech(args), args.tech_node)


def _emit(args, result: dict, text) -> int:
    from hyflex_plugin.console import log
    from hyflex_plugin.io import atomic_write_json

    if args.json == "-":
        print(json.dumps(result, indent=2))
    elif args.json:
        atomic_write_json(args.json, result)
        log.info("wrote %s", args.json)
    else:
        print(text(result))
    return 0


def cmd_calibrate(args) -> int:
    """``hyflex calibrate``."""
    from hyflex_plugin.costmodels.calibrate import calibrate_pu, format_calibration

    return _emit(args, _design_result(args, calibrate_pu), format_calibration)


def cmd_breakdown(args) -> int:
    """``hyflex breakdown``."""
    from hyflex_plugin.costmodels.breakdown import design_breakdown, format_breakdown

    return _emit(args, _design_result(args, lambda tech, design: design_breakdown(design, tech)),
                 format_breakdown)


def cmd_tables(args) -> int:
    """``hyflex tables``."""
    from hyflex_plugin.console import log
    from hyflex_plugin.costmodels import tables
    from hyflex_plugin.io import atomic_write_text, check_output_file

    tech = _tech(args)
    if args.out is not None:
        check_output_file(args.out, "--out", "out")
    rows = _checked(tables.component_table, tech, args.tech_node)
    if args.out is None:
        if args.format is None:
            print(tables.to_text(rows))
        else:
            print(tables.to_csv(rows) if args.format == "csv" else tables.to_yaml(rows, tech), end="")
        return 0
    fmt = args.format or ("yaml" if str(args.out).endswith((".yaml", ".yml")) else "csv")
    text = tables.to_csv(rows) if fmt == "csv" else tables.to_yaml(rows, tech)
    atomic_write_text(args.out, text)
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0


def _checked(api, tech: float, given: str):
    """Call ``api(tech)``; a bad technology node is reported against the --tech-node option."""
    from hyflex_plugin.errors import HyflexInputError

    try:
        return api(tech)
    except HyflexInputError as exc:
        if exc.field != "tech_node":
            raise
        raise HyflexInputError("--tech-node", None, f"{given!r}: {exc.message}") from exc
