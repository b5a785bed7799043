"""Sub-commands of the cost-model stage: ``hyflex calibrate``, ``hyflex tables``."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="one processing unit from the models vs the paper's Table 2")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of the table")
    p.add_argument("--tech-node", default="65nm", help="technology node, e.g. 65nm (default)")
    p.set_defaults(func=_calibrate)

    t = subparsers.add_parser("tables", help="energy per action and area of every hyflex component")
    t.add_argument("--tech-node", default="65nm", help="technology node, e.g. 65nm, 32nm (7-130 nm)")
    t.add_argument("--format", choices=["csv", "yaml"], default=None,
                   help="file format (default: from --out's suffix, else csv)")
    t.add_argument("--out", default=None, help="write to FILE (atomically) instead of the terminal")
    t.set_defaults(func=_tables)


def _tech(args) -> float:
    from hyflex_plugin.units import parse_tech_node

    return parse_tech_node(args.tech_node, source="--tech-node")


def _calibrate(args) -> int:
    from hyflex_plugin.costmodels.calibrate import calibrate_pu, format_calibration

    result = _checked(calibrate_pu, _tech(args), args.tech_node)
    print(json.dumps(result, indent=2) if args.json else format_calibration(result))
    return 0


def _tables(args) -> int:
    from hyflex_plugin.costmodels import tables
    from hyflex_plugin.io import atomic_write_text

    tech = _tech(args)
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
    print(f"wrote {len(rows)} rows to {args.out}")
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
