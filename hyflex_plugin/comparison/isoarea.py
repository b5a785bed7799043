"""The iso-area view of a comparison (``hyflex compare --iso-area``) and whether a model fits.

Every design gets the silicon area of HyFlexPIM's chip (``chip.processing_units`` PUs of
HyFlexPIM's PU area). A design whose pipeline needs less area runs ⌊budget / area needed⌋ copies
of its whole pipeline side by side (throughput × copies); one that needs more is spanned over
the PUs that fit: its blocks take turns on them, which needs the crossbars re-programmed between
turns. That re-programming (RRAM write energy, latency and endurance) is not priced, so the
spanned throughput (× PUs available / PUs needed) is an optimistic bound; if not even one block
fits, the design cannot run the model in that area (n/a). Energy per inference is the same in
both views (re-programming aside).
"""

from __future__ import annotations

import math

from hyflex_plugin.comparison.baselines import HYFLEX, load_design
from hyflex_plugin.evaluation.model import pu_area_m2


def chip_area_m2(design_key: str = HYFLEX) -> float:
    """Silicon area [m^2] of one full chip of ``design_key`` (PUs per chip x PU area)."""
    d = load_design(design_key)
    return d.chip.processing_units * pu_area_m2(d)


def iso_area(row: dict, budget_m2: float) -> dict:
    """The row's design given ``budget_m2`` of silicon (see the module docstring)."""
    need = row["area_mm2"] * 1e-6
    pu = need / row["pus"]
    if need <= budget_m2 * (1 + 1e-9):
        copies = math.floor(budget_m2 / need * (1 + 1e-9))
        return {"iso_area_mode": "replicated", "iso_area_copies": copies,
                "iso_area_throughput_tops": row["throughput_tops"] * copies,
                "iso_area_note": f"{copies} pipeline cop{'y' if copies == 1 else 'ies'} in the area"}
    available = math.floor(budget_m2 / pu * (1 + 1e-9))
    if available < row["pus_per_layer"]:
        return {"iso_area_mode": "does not fit", "iso_area_copies": 0,
                "iso_area_throughput_tops": None,
                "iso_area_note": f"one block needs {row['pus_per_layer']} PUs, the area holds "
                                 f"{available}: the model cannot run in this area"}
    return {"iso_area_mode": "spanned", "iso_area_copies": available / row["pus"],
            "iso_area_throughput_tops": row["throughput_tops"] * available / row["pus"],
            "iso_area_note": f"{available} of {row['pus']} PUs: blocks take turns, crossbars "
                             "re-programmed between turns (write cost not priced: optimistic)"}


def add_iso_area(rows: list[dict], budget_m2: float | None = None) -> float:
    """Add the iso-area fields to every row (in place); returns the budget [m^2]."""
    budget = chip_area_m2() if budget_m2 is None else budget_m2
    for r in rows:
        r.update(iso_area(r, budget))
    return budget
