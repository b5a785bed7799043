"""AccelForge's mapper against the pinned mappings, Einsum by Einsum (issue 14).

:func:`layer_cases` lists the distinct AccelForge specs of one block: every linear layer's SLC
and MLC parts on the analog path (at the real token count, not one token scaled) and Q·Kᵀ and
S·V on the digital path. :func:`compare` evaluates one of them with the design's pinned mapping
and with AccelForge's FFM mapper (``--search``) and returns both, with the ratios and the
mapper's time. Used by the test that holds the search within ±5 % of the pinned mappings and by
``benchmarks/bench_mapper.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.evaluation.engine import (
    EinsumCost,
    attention_params,
    evaluate_einsum,
    linear_params,
)
from hyflex_plugin.evaluation.model import linear_parts
from hyflex_plugin.partition.schema import PartitionFile
from hyflex_plugin.workloads.einsums import layer_einsums
from hyflex_plugin.workloads.shapes import ModelShape


@dataclass
class Case:
    """One distinct AccelForge spec of a block: the Einsums (and parts) it stands for."""

    names: list[str]
    kind: str  # 'analog' | 'digital'
    params: dict

    @property
    def label(self) -> str:
        """Short description of the case (kind and shape) for tables."""
        p = self.params
        if self.kind == "analog":
            mode = "SLC" if p["bits_per_cell"] == 1 else "MLC"
            return f"{'/'.join(self.names)} {mode} {p['K']}x{p['N']} M={p['M']}"
        return f"{'/'.join(self.names)} H={p['H']} M={p['M']} J={p['J']} K={p['K']}"


def layer_cases(design: HyflexDesign, shape: ModelShape, seq_len: int,
                slc_fraction: float | None, partition: PartitionFile | None = None) -> list[Case]:
    """The distinct analog parts and digital matmuls of block 0 of ``shape`` (batch 1), split
    by a uniform ``slc_fraction`` or by ``partition`` (SVD factors), as the evaluation splits
    them.
    """
    cases: dict[str, Case] = {}
    for e in layer_einsums(shape, seq_len, linear_path=design.linear_path):
        if e.category == "linear" and design.linear_path == "analog":
            for k, n, slc in linear_parts(design, e.name, e.dims["K"], e.dims["N"],
                                          slc_fraction, partition, 0):
                params = linear_params(design, k, n, slc, tokens=e.dims["M"])
                _add(cases, e.name, "analog", params)
        elif e.category == "attention":
            d = e.dims
            _add(cases, e.name, "digital", attention_params(design, d["H"], d["M"], d["J"], d["K"]))
    return list(cases.values())


def _add(cases: dict[str, Case], name: str, kind: str, params: dict) -> None:
    key = repr((kind, sorted(params.items())))
    if key in cases:
        cases[key].names.append(name)
    else:
        cases[key] = Case([name], kind, params)


@dataclass
class Comparison:
    """One Einsum evaluated with the pinned mapping and with AccelForge's mapper search."""
    case: Case
    pinned: EinsumCost
    searched: EinsumCost
    search_s: float

    @property
    def energy_ratio(self) -> float:
        """Energy with the searched mapping / energy with the pinned one."""
        return self.searched.energy_j / self.pinned.energy_j

    @property
    def latency_ratio(self) -> float:
        """Latency with the searched mapping / latency with the pinned one."""
        return self.searched.latency_s / self.pinned.latency_s

    def to_dict(self) -> dict:
        """The comparison as JSON-able data (SI units)."""
        return {"einsums": self.case.names, "kind": self.case.kind, "label": self.case.label,
                "params": self.case.params,
                "pinned": {"energy_j": self.pinned.energy_j, "latency_s": self.pinned.latency_s},
                "searched": {"energy_j": self.searched.energy_j,
                             "latency_s": self.searched.latency_s},
                "energy_ratio": self.energy_ratio, "latency_ratio": self.latency_ratio,
                "search_s": self.search_s}


def compare(design: HyflexDesign, case: Case) -> Comparison:
    """Pinned mapping vs AccelForge's mapper on one case (no cache: both really run)."""
    pinned = evaluate_einsum(design, case.kind, case.params, cache=False)
    t = time.perf_counter()
    searched = evaluate_einsum(design, case.kind, case.params, search=True, cache=False)
    return Comparison(case, pinned, searched, time.perf_counter() - t)
