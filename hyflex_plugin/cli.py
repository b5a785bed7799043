"""The ``hyflex`` command. Each pipeline stage registers its own sub-commands.

Every sub-command is a thin wrapper over a Python API function of the same stage, so the CLI
and the API do the same things. Sub-command modules import heavy packages (torch, AccelForge)
only inside their handlers, so ``hyflex --help`` stays fast and torch-free.

Conventions of every sub-command: option values are parsed in argparse ``type=`` functions from
:mod:`hyflex_plugin.argtypes` (the same parsers the Python API uses), choices come from the
stage's own tuples, help texts show defaults with ``%(default)s``, handlers are named
``cmd_<command>``. Results go to stdout; messages go through :mod:`hyflex_plugin.console`'s
logger to stderr (``-q`` silences them, ``-v`` adds detail).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import signal
import sys
import threading

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


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (as every hyflex input error is)."""

    def error(self, message: str):
        """Print ``hyflex CMD: error: MESSAGE`` (no usage block) and exit with 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``hyflex`` parser with every stage's sub-commands."""
    parser = _Parser(
        prog="hyflex",
        description="HyFlexPIM hybrid SLC/MLC RRAM PIM: cost models, evaluation on AccelForge, "
        "gradient redistribution, comparison and Timeloop export.",
    )
    parser.add_argument("--version", action="version", version=f"hyflex {__version__}")
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_const", dest="verbosity", const=-1,
                      help="print results only: no progress bars, no messages besides errors")
    talk.add_argument("-v", "--verbose", action="count", dest="verbosity",
                      help="more messages on stderr (repeatable)")
    parser.set_defaults(verbosity=0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


INTERRUPTED = 130
"""Exit status of a run the user interrupted (Ctrl-C): 128 + SIGINT, as shells report it."""

_interrupted = False
_status: int | None = None  # the command's exit status, once it has finished


def interrupt_requested() -> bool:
    """True once a Ctrl-C reached the running ``hyflex`` command (in this process).

    Some libraries turn the KeyboardInterrupt into another error (AccelForge's isl wrapper
    raises ``Exception('Error creating isl.Set ...')``); code that records errors as results
    (the sweep) asks this so that such an error is not taken for the point's own.
    """
    return _interrupted


def _on_sigint(signum, frame):
    """Remember a Ctrl-C while working, then interrupt as Python's default handler does.

    A KeyboardInterrupt raised inside a ``__del__`` or a thread's clean-up (e.g. tqdm's) is
    printed as "Exception ignored" and swallowed; the flag still makes the exit status 130.
    """
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _on_sigint_at_exit(signum, frame):
    """Stop at once with status 130 on a Ctrl-C after the command finished.

    During interpreter shutdown (tqdm's monitor thread joining, atexit handlers) the results are
    already written atomically, so nothing is lost by ending the process here.
    """
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(INTERRUPTED)


def _end_after_exit_handlers() -> None:
    """The last exit handler: end the ``hyflex`` command's process with its status.

    After the exit handlers, CPython's own teardown first resets SIGINT to its default action
    (``_PySignal_Fini``) and then destroys every module, which takes a while with AccelForge,
    pandas or torch loaded; a Ctrl-C in that window killed the process by the signal (status
    -2 instead of 130, seen in the sweep's resume test under load). Everything hyflex writes is
    written atomically before this point, so that teardown is skipped: threads were joined and
    the exit handlers registered after this module was imported ran (atexit runs the last
    registered first; this one is registered when the module is imported, before any command).
    Does nothing unless :func:`main` ran as the command (``argv=None``) and finished.
    """
    if _status is None:
        return
    with contextlib.suppress(Exception):
        import logging

        logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(_status)


atexit.register(_end_after_exit_handlers)


def main(argv: list[str] | None = None) -> int:
    """Run ``hyflex``; the exit status is 0, 2 (bad input) or 130 (interrupted).

    Called with ``argv=None`` (the ``hyflex`` command, ``python -m hyflex_plugin``), Ctrl-C at
    any point, also during interpreter exit, ends the process with status 130, and the process
    ends right after the exit handlers (see :func:`_end_after_exit_handlers`).
    """
    global _interrupted, _status
    _interrupted = False
    own_process = argv is None and threading.current_thread() is threading.main_thread()
    if own_process:
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        rc = _run(argv)
    except KeyboardInterrupt:
        rc = INTERRUPTED
    except Exception:
        if not _interrupted:
            raise
        rc = INTERRUPTED  # a library turned the Ctrl-C into another error (interrupt_requested)
    finally:  # also on SystemExit (argparse's --help and usage errors)
        if own_process:
            signal.signal(signal.SIGINT, _on_sigint_at_exit)
    if _interrupted:
        rc = INTERRUPTED
    if rc == INTERRUPTED:
        print("interrupted", file=sys.stderr)
    if own_process:
        _status = rc
    return rc


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage error (2) or --help/--version (0)
        return exc.code if isinstance(exc.code, int) else 2
    from hyflex_plugin.console import setup_logging

    setup_logging(args.verbosity)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except HyflexInputError as exc:
        print(f"hyflex {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # output piped into e.g. `head`, which closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
