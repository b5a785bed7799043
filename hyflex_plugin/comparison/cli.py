"""Sub-commands of the comparison stage: ``hyflex demo``."""

from __future__ import annotations


def register(subparsers) -> None:
    d = subparsers.add_parser("demo", help="the main job on built-in defaults (what `make demo` runs)")
    d.set_defaults(func=_demo)


def _demo(args) -> int:
    from hyflex_plugin.comparison.demo import run_demo

    return run_demo()
