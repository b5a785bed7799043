"""The one base class of every hyflex schema, and the one "did you mean" helper.

Every file hyflex reads (design, partition, published designs, cost-model constants, export
files, workload shapes) is validated by a pydantic model derived from :class:`StrictModel`:

- an unknown key is an error (``extra="forbid"``), so a misspelled field is never silently
  ignored;
- the string literal written under a field is its documentation, and pydantic copies it into the
  field's ``description`` (``use_attribute_docstrings``), so ``Model.model_fields[name]`` and the
  JSON schema carry the same text the source shows. Each such docstring states the unit.

Messages naming a misspelled key suggest the closest valid name through :func:`closest_name`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel", "closest_name", "did_you_mean"]


class StrictModel(BaseModel):
    """Base of every hyflex schema: unknown keys are rejected, field docstrings document."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


def closest_name(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate ``word`` most likely misspells, or None.

    A candidate equal up to letter case wins; otherwise the closest by difflib's ratio, if at
    least ``cutoff``.

    >>> closest_name("adc_bits_mcl", ["adc_bits_mlc", "adc_bits_slc", "rows"])
    'adc_bits_mlc'
    >>> closest_name("Rows", ["rows", "columns"])
    'rows'
    >>> closest_name("banana", ["rows", "columns"]) is None
    True
    """
    candidates = [str(c) for c in candidates]
    for c in candidates:
        if c.lower() == word.lower():
            return c
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string.

    >>> did_you_mean("op_bit", ["op_bits", "clock"])
    " (did you mean 'op_bits'?)"
    >>> did_you_mean("zzz", ["op_bits"])
    ''
    """
    close = closest_name(word, candidates, cutoff)
    return f" (did you mean '{close}'?)" if close else ""
