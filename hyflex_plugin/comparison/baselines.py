"""Modelled baselines: designs built from hyflex's component models and run on the same engine.

Each baseline is a design file in ``arch_specs/`` and goes through
:func:`hyflex_plugin.evaluation.evaluate`, the same engine and cost models as HyFlexPIM (a design
with ``linear_path: digital``, digital-pim-only.yaml, runs its linear layers on the digital path).
Adding a modelled baseline = adding a design file and a line to :data:`DESIGNS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hyflex_plugin.architecture.design import ARCH_DIR, HyflexDesign, load_arch


@dataclass(frozen=True)
class Baseline:
    """A modelled design of the comparison: key, design file, label, role."""
    key: str
    spec: str  # file in arch_specs/
    label: str
    role: str


#: HyFlexPIM itself first, then the modelled baselines (order of tables and plots).
DESIGNS: tuple[Baseline, ...] = (
    Baseline("hyflexpim", "hyflexpim.yaml", "HyFlexPIM",
             "hybrid SLC/MLC analog + digital PIM; SLC share swept"),
    Baseline("asadi-dagger", "asadi-dagger.yaml", "ASADI\u2020",
             "state of the art the paper compares with (ASADI, INT8 variant)"),
    Baseline("all-slc", "all-slc.yaml", "all-SLC",
             "HyFlexPIM hardware, every weight in SLC"),
    Baseline("all-mlc", "all-mlc.yaml", "all-MLC",
             "HyFlexPIM hardware, every weight in MLC (accuracy not kept)"),
    Baseline("hybrid-no-redistribution", "hybrid-no-redistribution.yaml", "hybrid, no redistr.",
             "brute-force SLC/MLC mapping: the 40-50 % SLC needed without redistribution"),
    Baseline("digital-pim-only", "digital-pim-only.yaml", "digital PIM only",
             "no analog PIM; also the modelled stand-in for near-memory processing"),
)
HYFLEX = DESIGNS[0].key
BASELINE_KEYS = tuple(d.key for d in DESIGNS)
#: HyFlexPIM with a partition file from gradient redistribution (``hyflex compare --partition``)
PARTITIONED = Baseline("hyflexpim-partition", "hyflexpim.yaml", "HyFlexPIM (partition)",
                       "HyFlexPIM with the per-matrix SLC ranks of a redistribution partition file")


def baseline(key: str) -> Baseline:
    """The design of the comparison named ``key`` (KeyError if there is none)."""
    for d in (*DESIGNS, PARTITIONED):
        if d.key == key:
            return d
    raise KeyError(key)


def load_design(key: str) -> HyflexDesign:
    """The validated design file of the comparison design ``key``."""
    return load_arch(ARCH_DIR / baseline(key).spec)

