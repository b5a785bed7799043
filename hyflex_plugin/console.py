"""What hyflex shows besides its results: log messages and progress bars, both on stderr.

Results (tables, JSON, summaries) go to standard output with ``print``; everything else ("wrote
FILE", timings, where a report is) goes through the ``hyflex`` logger, so ``hyflex -q`` silences
it and ``hyflex -v`` adds detail. Progress bars appear only when stderr is a terminal and the
log level shows INFO messages.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from tqdm import tqdm

log = logging.getLogger("hyflex")


def setup_logging(verbosity: int = 0) -> None:
    """Send the ``hyflex`` logger to stderr: -1 (``-q``) warnings only, 0 info, 1+ (``-v``) debug."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("hyflex: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def progress(iterable: Iterable | None = None, enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm bar on stderr, drawn only if ``enabled``, stderr is a terminal and not ``-q``."""
    quiet = log.level != logging.NOTSET and log.level > logging.INFO
    show = enabled and not quiet and sys.stderr.isatty()
    return tqdm(iterable, disable=not show, **kwargs)
