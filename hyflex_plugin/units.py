"""Unit helpers. Code works in SI (m, J, s, W, m^2); human units appear only at the edges."""

from __future__ import annotations

import re

from hyflex_plugin.errors import HyflexInputError

_LEN = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "nm": 1e-9}


def parse_tech_node(value: str | float | int, source: str = "tech_node") -> float:
    """Technology node in metres from ``65nm``, ``65``, ``"65e-9"`` or ``6.5e-08``.

    A bare number >= 1 is read as nanometres (``65`` -> 65e-9 m).
    """
    if isinstance(value, (int, float)):
        v = float(value)
        return v * 1e-9 if v >= 1 else v
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(nm|um|mm|m)?\s*", str(value))
    try:
        v = float(m.group(1)) if m else None
    except ValueError:  # '.', '1e', '+-' match the character class but are no numbers
        v = None
    if v is None:
        raise HyflexInputError(source, "tech_node", f"expected e.g. '65nm' or 65e-9, got {value!r}")
    unit = m.group(2)
    if unit is None:
        return v * 1e-9 if v >= 1 else v
    return v * _LEN[unit]


def nm(value_m: float) -> str:
    """Human form of a length in metres, e.g. 6.5e-08 -> '65nm'."""
    return f"{value_m * 1e9:g}nm"
