"""The ``hyflex`` command. Each pipeline stage registers its own sub-commands.

Every sub-command is a thin wrapper over a Python API function of the same stage, so the CLI
and the API do the same things. Sub-command modules import heavy packages (torch, AccelForge)
only inside their handlers, so ``hyflex --help`` stays fast and torch-free.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hyflex_plugin import __version__
from hyflex_plugin.errors import HyflexInputError

# Modules that define ``register(subparsers)``; order is the pipeline's order.
COMMAND_MODULES = [
    "hyflex_plugin.redistribution.cli",  # redistribute, accuracy, partition
    "hyflex_plugin.costmodels.cli",  # calibrate, tables
    "hyflex_plugin.evaluation.cli",  # evaluate
    "hyflex_plugin.comparison.cli",  # compare, demo
    "hyflex_plugin.sweep.cli",  # sweep
    "hyflex_plugin.export.cli",  # export timeloop
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyflex",
        description="HyFlexPIM hybrid SLC/MLC RRAM PIM: cost models, evaluation on AccelForge, "
        "gradient redistribution, comparison and Timeloop export.",
    )
    parser.add_argument("--version", action="version", version=f"hyflex {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except HyflexInputError as exc:
        print(f"hyflex {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head`, which closed early: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
