"""Parsers of option values: argparse ``type=`` functions, also used by the Python API.

Each function takes the text of one command-line value (or, from Python, the value itself) and
returns it parsed, or raises :class:`BadValue`. argparse shows a ``BadValue`` message as
``hyflex CMD: error: argument --OPT: <message>``; pydantic (``EvaluationRequest``) turns it into
a validation error of the field. So ``--slc-fraction 10%`` on the command line and
``slc_fraction="10%"`` in Python are parsed by the same code. The examples below run as tests
(``tests/test_cli.py``).
"""

from __future__ import annotations

import argparse
import math

__all__ = ["BadValue", "fraction", "fractions", "integers", "positive_int", "tech_node", "output_target"]


class BadValue(argparse.ArgumentTypeError, ValueError):
    """A value that does not parse; the message says what was expected and what was given."""


def fraction(value) -> float:
    """A share between 0 and 1, written as a fraction (``0.1``) or a percentage (``10%``).

    >>> fraction("0.1")
    0.1
    >>> fraction("10%")
    0.1
    >>> fraction(" 5 % ")
    0.05
    >>> fraction(1)
    1.0
    >>> fraction("1.5")
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected a share between 0 and 1 (e.g. 0.1 or 10%), got '1.5'
    >>> fraction(True)
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected a share between 0 and 1 (e.g. 0.1 or 10%), got True
    """
    expected = f"expected a share between 0 and 1 (e.g. 0.1 or 10%), got {value!r}"
    if isinstance(value, bool):
        raise BadValue(expected)
    try:
        if isinstance(value, str):
            text = value.strip()
            share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        else:
            share = float(value)
    except (TypeError, ValueError):
        raise BadValue(expected) from None
    if not (math.isfinite(share) and 0.0 <= share <= 1.0):
        raise BadValue(expected)
    return share


def fractions(text: str) -> list[float]:
    """Comma-separated shares; a ``%`` on any value makes all of them percentages.

    >>> fractions("0,0.05,0.1")
    [0.0, 0.05, 0.1]
    >>> fractions("0,5,10%")
    [0.0, 0.05, 0.1]
    >>> fractions("0.1,x")
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected a share between 0 and 1 (e.g. 0.1 or 10%), got 'x'
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    percent = any(p.endswith("%") for p in parts)
    if not parts:
        raise BadValue(f"expected shares separated by commas, got {text!r}")
    return [fraction(p if p.endswith("%") or not percent else p + "%") for p in parts]


def nonnegative_floats(text: str) -> list[float]:
    """Comma-separated numbers >= 0 (noise sigmas).

    >>> nonnegative_floats("0.01,0.025, 0.2")
    [0.01, 0.025, 0.2]
    >>> nonnegative_floats("0.1,-1")
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected numbers >= 0 separated by commas, got '-1'
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise BadValue(f"expected numbers >= 0 separated by commas, got {text!r}")
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise BadValue(f"expected numbers >= 0 separated by commas, got {p!r}") from None
        if not v >= 0 or v == float("inf"):
            raise BadValue(f"expected numbers >= 0 separated by commas, got {p!r}")
        out.append(v)
    return out


def positive_int(value) -> int:
    """A positive integer (a sequence length, a batch size, a count).

    >>> positive_int("128")
    128
    >>> positive_int(4096)
    4096
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected a positive integer, got '0'
    >>> positive_int(2.5)
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected a positive integer, got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadValue(f"expected a positive integer, got {value!r}")
    try:
        n = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        raise BadValue(f"expected a positive integer, got {value!r}") from None
    if n <= 0:
        raise BadValue(f"expected a positive integer, got {value!r}")
    return n


def integers(text: str) -> list[int]:
    """Comma-separated whole numbers >= 0 (random seeds, indices).

    >>> integers("0, 1,2")
    [0, 1, 2]
    >>> integers("0,1.7")
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected whole numbers >= 0 separated by commas, got '1.7'
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise BadValue(f"expected whole numbers >= 0 separated by commas, got {text!r}")
    for p in parts:
        if not p.isdigit():
            raise BadValue(f"expected whole numbers >= 0 separated by commas, got {p!r}")
    return [int(p) for p in parts]


def tech_node(text) -> float:
    """A technology node in metres, from ``65nm``, ``65`` (nm) or ``6.5e-8`` (m).

    >>> tech_node("65nm")
    6.5e-08
    >>> tech_node("32")
    3.2e-08
    """
    from hyflex_plugin.errors import HyflexInputError
    from hyflex_plugin.units import parse_tech_node

    try:
        return parse_tech_node(text)
    except HyflexInputError as exc:
        raise BadValue(exc.message) from None


def output_target(text: str) -> str:
    """A file to write, or ``-`` for standard output.

    >>> output_target("-")
    '-'
    >>> output_target("results/x.json")
    'results/x.json'
    >>> output_target("")
    Traceback (most recent call last):
    ...
    hyflex_plugin.argtypes.BadValue: expected a file name or '-' (standard output)
    """
    if not str(text).strip():
        raise BadValue("expected a file name or '-' (standard output)")
    return str(text)
