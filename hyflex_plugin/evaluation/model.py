"""Whole-model evaluation on a HyFlexPIM design: energy, latency, throughput, area.

Mapping of a transformer onto the design (documented in docs/evaluation.md):

- one block per processing unit (PU); blocks are pipelined over PUs. A block that needs more
  analog arrays than a PU has spans several PUs (tensor parallelism); PUs fill chips
  (``chip.processing_units`` per chip), chips are chained (pipeline parallelism);
- every linear layer is split into its SLC and its MLC part. With a uniform SLC share the split
  is over the dense weight's output columns (round(share x out) columns in SLC). With a partition
  file from gradient redistribution, each matrix is its SVD pair sigma V^T (in -> r) and U
  (r -> out), split by rank components: n_slc ranks in SLC, r - n_slc in MLC;
- Q.K^T and S.V run on the digital PIM arrays; softmax, layer norms and GELU on the SFU; each
  block's output crosses the link to the next PU; a block spread over p > 1 PUs also exchanges
  (p - 1) / p of every linear layer's output over the link (``link_tp``).

Linear parts are evaluated on AccelForge for one token and scaled by the token count (exact for
the weight-stationary mapping, where every token repeats the same actions; checked in tests).
Identical blocks are evaluated once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.console import progress as progress_bar
from hyflex_plugin.evaluation.engine import (
    EinsumCost,
    arrays_for_linear,
    attention_params,
    evaluate_einsum,
    linear_params,
)
from hyflex_plugin.evaluation.request import ALIASES, EvaluationRequest
from hyflex_plugin.evaluation.timing import (
    analog_timing,
    layer_latency,
    replicated_parts,
)
from hyflex_plugin.partition.schema import PartitionFile
from hyflex_plugin.workloads.einsums import layer_einsums
from hyflex_plugin.workloads.shapes import ModelShape


@dataclass
class LayerResult:
    """One transformer block: its Einsums' costs, PUs, arrays and pipeline-stage latency [s]."""
    index: int
    pus: int
    arrays: int
    einsums: dict[str, EinsumCost]
    latency_s: float
    category: dict[str, str] = field(default_factory=dict)
    #: per matrix, its parts on the analog path: mode, in, out, arrays (one copy), replicas
    replicas: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def replica_arrays(self) -> int:
        """Analog arrays in use, copies included."""
        return sum(p["arrays"] * p["replicas"] for parts in self.replicas.values() for p in parts)

    @property
    def energy_j(self) -> float:
        """Energy of the block [J]."""
        return sum(e.energy_j for e in self.einsums.values())

    def to_dict(self) -> dict:
        """The block as JSON-able data (SI units)."""
        return {
            "index": self.index, "pus": self.pus, "arrays": self.arrays,
            "replica_arrays": self.replica_arrays, "replicas": self.replicas,
            "energy_j": self.energy_j, "latency_s": self.latency_s,
            "einsums": {n: {"energy_j": e.energy_j, "latency_s": e.latency_s, "macs": e.macs,
                            "category": self.category[n],
                            "energy_by_component_j": e.energy_by_component_j}
                        for n, e in self.einsums.items()},
        }


@dataclass
class ModelResult:
    """A whole model on a design: per-block results and totals (SI units)."""
    model: ModelShape
    design: HyflexDesign
    arch_path: str
    seq_len: int
    batch: int
    slc_fraction: float | None
    partition: str | None
    layers: list[LayerResult]
    pus: int
    chips: int
    pu_area_m2: float

    @cached_property
    def _blocks(self) -> tuple[list[LayerResult], list[int]]:
        """One layer per distinct block, and each layer's index into that list.

        Identical blocks share their Einsums; the layers of a result are not changed after it
        is made.
        """
        first: dict[tuple[int, int], int] = {}
        distinct: list[LayerResult] = []
        index = []
        for layer in self.layers:
            key = (id(layer.einsums), id(layer.category))
            if key not in first:
                first[key] = len(distinct)
                distinct.append(layer)
            index.append(first[key])
        return distinct, index

    def _per_layer(self, fn) -> list:
        """``fn(layer)`` of every layer, computed once per distinct block (same order and values
        as computing it for every layer).
        """
        distinct, index = self._blocks
        values = [fn(layer) for layer in distinct]
        return [values[i] for i in index]

    @property
    def energy_j(self) -> float:
        """Energy of one inference [J]."""
        return sum(self._per_layer(lambda layer: layer.energy_j))

    @property
    def latency_s(self) -> float:
        """Latency of one inference through all blocks [s]."""
        return sum(layer.latency_s for layer in self.layers)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one inference (count)."""
        return sum(self._per_layer(lambda layer: sum(e.macs for e in layer.einsums.values())))

    @property
    def ops(self) -> int:
        """Operations of one inference, 2 per MAC (count)."""
        return 2 * self.macs

    @property
    def area_m2(self) -> float:
        """Area of the PUs used [m^2]."""
        return self.pus * self.pu_area_m2

    @property
    def throughput_ops(self) -> float:
        """Ops/s in steady state: the pipeline delivers one inference per slowest stage."""
        return self.ops / max(layer.latency_s for layer in self.layers)

    def energy_by(self, what: str) -> dict[str, float]:
        """Energy [J] by ``category`` (linear, attention, sfu, link) or by ``category.component``."""
        def terms(layer: LayerResult) -> list[tuple[str, float]]:
            if what == "category":
                return [(layer.category[name], e.energy_j) for name, e in layer.einsums.items()]
            return [(f"{layer.category[name]}.{comp}", v) for name, e in layer.einsums.items()
                    for comp, v in e.energy_by_component_j.items()]

        # The totals are the sums of every layer's terms in layer order, as a loop over the
        # layers would add them, but computed with one np.cumsum (which adds in order, so the
        # totals are equal to the last bit): row r of a block holds the r-th term of each key
        # in that block (0.0 where it has none; adding 0.0 changes no sum).
        distinct, index = self._blocks
        block_terms = [terms(layer) for layer in distinct]
        keys: dict[str, int] = {}
        for bt in block_terms:
            for key, _ in bt:
                if key not in keys:
                    keys[key] = len(keys)
        if not keys:
            return {}
        blocks = []
        for bt in block_terms:
            rank: dict[str, int] = {}
            rows: list[list[float]] = []
            for key, v in bt:
                r = rank[key] = rank.get(key, -1) + 1
                if r == len(rows):
                    rows.append([0.0] * len(keys))
                rows[r][keys[key]] = v
            blocks.append(np.array(rows, dtype=float).reshape(-1, len(keys)))
        totals = np.cumsum(np.concatenate([blocks[i] for i in index]), axis=0)[-1]
        return {key: float(totals[i]) for key, i in keys.items()}

    def to_dict(self, layers: bool = True) -> dict:
        """The result as JSON-ready dict; ``layers=False`` leaves out the per-layer detail."""
        energy, ops, throughput = self.energy_j, self.ops, self.throughput_ops
        out = {
            "model": self.model.name, "arch": self.design.name, "arch_file": self.arch_path,
            "seq_len": self.seq_len, "batch": self.batch, "slc_fraction": self.slc_fraction,
            "partition": self.partition,
            "energy_j": energy, "latency_s": self.latency_s,
            "ops": ops,
            "throughput_tops": throughput / 1e12,
            "tops_per_w": ops / energy / 1e12,
            "tops_per_mm2": throughput / 1e12 / (self.area_m2 * 1e6),
            "area_mm2": self.area_m2 * 1e6, "pus": self.pus, "chips": self.chips,
            "pus_per_layer": max(layer.pus for layer in self.layers),
            "energy_by_category_j": self.energy_by("category"),
            "energy_by_component_j": self.energy_by("component"),
        }
        if layers:
            out["layers"] = [layer.to_dict() for layer in self.layers]
        return out


# ----------------------------------------------------------------------------- linear parts
def linear_parts(design: HyflexDesign, name: str, k: int, n: int, share: float | None,
                  partition: PartitionFile | None, layer: int,
                  source: str = "--partition") -> list[tuple[int, int, bool]]:
    """(in, out, is_slc) parts of one matrix on the analog path."""
    if partition is not None:
        lp = partition.layer(layer)
        mp = lp.matrix(name) if lp is not None else None  # shapes: PartitionFile.check_model
        if mp is not None and mp.decomposition == "svd":
            r, s = mp.rank, mp.n_slc_ranks
            return [p for p in [(k, s, True), (s, n, True), (k, r - s, False), (r - s, n, False)]
                    if p[0] and p[1]]
        if mp is not None:
            share = mp.slc_weight_fraction
        elif share is None:
            share = partition.slc_fraction
    n_slc = int(round(share * n))
    return [p for p in [(k, n_slc, True), (k, n - n_slc, False)] if p[1]]


def _sfu_cost(design: HyflexDesign, action: str, elements: int, pus: int) -> EinsumCost:
    from hyflex_plugin.costmodels.models import HyflexSFU, cached_action

    c = cached_action(HyflexSFU, action, lanes=design.pu.sfu_lanes,
                      clock_hz=design.digital.clock, tech_node=design.tech_node)
    return EinsumCost({"SFU": elements * c.energy}, elements / (c.throughput * pus), 0,
                      {f"SFU.{action}": float(elements)})


def _link_cost(design: HyflexDesign, bits: int) -> EinsumCost:
    from hyflex_plugin.costmodels.models import HyflexLink, cached_action, cached_model

    attributes = {"bandwidth": design.chip.link_bandwidth, "tech_node": design.tech_node}
    link = cached_model(HyflexLink, **attributes)
    c = cached_action(HyflexLink, "read", **attributes)
    transfers = bits / link.width
    return EinsumCost({"Link": link.read(bits_per_action=bits).energy}, transfers * c.latency, 0,
                      {"Link.read": transfers})


_PU_AREA: dict[str, float] = {}


def pu_area_m2(design: HyflexDesign) -> float:
    """Area [m^2] of one PU from the component models: analog + digital modules, SFU, buffer
    (memoised per design and cost-model constants: sweeps ask for the same designs often).
    """
    from hyflex_plugin.costmodels.constants import active_overrides

    key = design.model_dump_json() + repr(sorted(active_overrides().items()))
    if key not in _PU_AREA:
        if len(_PU_AREA) >= 20_000:  # keys are a design's JSON (~2 kB): bounded memory
            _PU_AREA.clear()
        _PU_AREA[key] = _pu_area_m2(design)
    return _PU_AREA[key]


def _pu_area_m2(design: HyflexDesign) -> float:
    from hyflex_plugin.costmodels.breakdown import design_breakdown

    return design_breakdown(design)["pu"]["area_m2"]


def _combine_parallel(parts: list[EinsumCost]) -> EinsumCost:
    """Parts on different arrays running at once: energies and actions add, latency is the max."""
    comp: dict[str, float] = {}
    acts: dict[str, float] = {}
    for p in parts:
        for c, v in p.energy_by_component_j.items():
            comp[c] = comp.get(c, 0.0) + v
        for c, v in p.actions.items():
            acts[c] = acts.get(c, 0.0) + v
    return EinsumCost(comp, max((p.latency_s for p in parts), default=0.0),
                      sum(p.macs for p in parts), acts)


def _evaluate_layer(design: HyflexDesign, shape: ModelShape, seq_len: int, batch: int,
                    share: float | None, partition: PartitionFile | None, index: int,
                    search: bool, cache: bool, source: str = "--partition",
                    evaluate_einsum=evaluate_einsum) -> LayerResult:
    tokens = seq_len * batch
    todo = layer_einsums(shape, seq_len, batch, linear_path=design.linear_path)
    linear = [e for e in todo if e.category == "linear"]
    einsums: dict[str, EinsumCost] = {}
    category = {e.name: e.category for e in todo}
    arrays = 0
    replicas: dict[str, list[dict]] = {}
    if design.linear_path == "digital":
        # digital-PIM-only design: weights live in the digital arrays (SLC), linear layers are
        # row-parallel NOR MACs like attention; PUs are sized by digital capacity
        cells = sum(e.dims["K"] * e.dims["N"] for e in linear) * design.analog.weight_bits
        cells_per_pu = (design.pu.digital_modules * design.pu.digital_arrays_per_module
                        * design.digital.rows * design.digital.columns)
        pus = max(1, math.ceil(cells / cells_per_pu))
        for e in linear:
            einsums[e.name] = evaluate_einsum(
                design, "digital", attention_params(design, 1, tokens, e.dims["N"], e.dims["K"], pus),
                search=search, cache=cache)
    else:
        parts = {e.name: linear_parts(design, e.name, e.dims["K"], e.dims["N"], share, partition,
                                       index, source) for e in linear}
        flat = [(name, k, n, slc, arrays_for_linear(design, k, n, slc))
                for name, plist in parts.items() for k, n, slc in plist]
        arrays = sum(a for *_, a in flat)
        pus = max(1, math.ceil(arrays / design.arrays_per_pu)) if design.arrays_per_pu else 1
        # replication: spare arrays of the block's PUs hold copies that serve other tokens
        timing = analog_timing(design)
        placed = replicated_parts(timing, [(name, n, slc, a) for name, k, n, slc, a in flat],
                                  tokens, pus * design.arrays_per_pu, design.pu.replication)
        costs: dict[str, list[EinsumCost]] = {}
        for (name, k, n, slc, a), (r, latency) in zip(flat, placed):
            one = evaluate_einsum(design, "analog", linear_params(design, k, n, slc, 1, timing),
                                  search=search, cache=cache)
            cost = one.scaled(tokens)   # energy and actions: every token once, on any copy
            # latency from the timing functions (equal to AccelForge's on full arrays, tested;
            # AccelForge prices a partly used array as if every column were converted)
            cost.latency_s = latency
            costs.setdefault(name, []).append(cost)
            replicas.setdefault(name, []).append(
                {"mode": "slc" if slc else "mlc", "in": k, "out": n, "arrays": a, "replicas": r})
        for name, clist in costs.items():
            einsums[name] = _combine_parallel(clist)

    # which digital arrays (and SFUs) serve attention: the block's own PU, or all PUs it spans
    att_pus = pus if design.attention_arrays == "spanned-pus" else 1
    for e in todo:
        if e.path == "digital" and e.category == "attention":
            d = e.dims
            einsums[e.name] = evaluate_einsum(
                design, "digital", attention_params(design, d["H"], d["M"], d["J"], d["K"], att_pus),
                search=search, cache=cache).scaled(d["B"])
        elif e.path == "sfu":
            einsums[e.name] = _sfu_cost(design, e.name, e.dims["elements"], att_pus)
    einsums["link"] = _link_cost(design, tokens * shape.hidden_size * 8)
    category["link"] = "link"
    order = [e.name for e in todo] + ["link"]
    if pus > 1:
        # tensor parallelism: each of the block's PUs holds a slice of every linear layer's
        # outputs; the other (pus - 1) / pus of each INT8 output vector is exchanged over the link
        outs = sum(e.dims["N"] for e in linear)
        einsums["link_tp"] = _link_cost(design, int(tokens * outs * 8 * (pus - 1) / pus))
        category["link_tp"] = "link"
        order.append("link_tp")

    latency = layer_latency({n: c.latency_s for n, c in einsums.items()})
    return LayerResult(index, pus, arrays, {n: einsums[n] for n in order}, latency, category,
                       replicas)


DEFAULT_SEQ_LEN = 128
"""N when neither the user nor the model's config (ViT: patches + class token) sets it [tokens]."""


def resolve_seq_len(model, seq_len: int | None) -> tuple[int, str | None]:
    """``seq_len``, or the model's own token count (ViT config) with a note saying so, or 128."""
    if seq_len is not None:
        return seq_len, None
    from hyflex_plugin.workloads.hf_config import default_seq_len

    derived = default_seq_len(model)
    return derived if derived is not None else (DEFAULT_SEQ_LEN, None)


def evaluate_model(model: str | Path | ModelShape = "bert-base", seq_len: int | None = None,
                   slc_fraction: float | str | None = 0.1,
                   partition: str | Path | PartitionFile | None = None,
                   arch: str | Path | HyflexDesign | None = None, batch: int = 1,
                   search: bool = False, cache: bool = True, progress: bool = False,
                   einsum_evaluator=None, **aliases) -> ModelResult:
    """Evaluate a whole transformer on a HyFlexPIM design (see module docstring).

    ``seq_len=None``: the model's own token count (a ViT config: patches + class token), else 128.
    The arguments are the fields of :class:`~hyflex_plugin.evaluation.request.EvaluationRequest`
    (``slc_share`` is accepted for ``slc_fraction``); :func:`evaluate` takes a request.
    ``einsum_evaluator`` replaces the per-Einsum AccelForge evaluation
    (:func:`hyflex_plugin.evaluation.engine.evaluate_einsum`, same signature); the sweep's fast
    engine passes its closed form here so that everything else is shared.
    """
    fields = dict(model=model, seq_len=seq_len, slc_fraction=slc_fraction, partition=partition,
                  arch=arch, batch=batch, search=search, cache=cache)
    for alias in aliases:  # slc_share=... replaces the default of slc_fraction
        fields.pop(ALIASES.get(alias, alias), None)
    return evaluate(EvaluationRequest(**fields, **aliases), progress=progress,
                    einsum_evaluator=einsum_evaluator)


def evaluate(request: EvaluationRequest, progress: bool = False,
             einsum_evaluator=None) -> ModelResult:
    """Evaluate a validated request: the whole model on its design (see module docstring).

    ``einsum_evaluator``: as in :func:`evaluate_model`.
    """
    shape, design, seq_len, batch = request.model, request.design, request.seq_len, request.batch
    share, part, part_source = request.slc_fraction, request.partition, request.partition_source
    search, cache = request.search, request.cache
    layers: list[LayerResult] = []
    memo: dict[tuple, LayerResult] = {}
    blocks = (progress_bar(range(shape.n_layers), enabled=progress, leave=False,
                           desc=f"{shape.name} N={seq_len}") if progress else range(shape.n_layers))
    for i in blocks:
        key = ("uniform",) if part is None else tuple(
            (m.name, m.decomposition, m.rank, m.n_slc_ranks, m.slc_weight_fraction)
            for m in (part.layer(i).matrices if part.layer(i) else []))
        if key not in memo:
            memo[key] = _evaluate_layer(design, shape, seq_len, batch, share, part, i, search,
                                        cache, part_source, einsum_evaluator or evaluate_einsum)
        base = memo[key]
        layers.append(LayerResult(i, base.pus, base.arrays, base.einsums, base.latency_s,
                                  base.category, base.replicas))
    pus = sum(layer.pus for layer in layers)
    chips = math.ceil(pus / design.chip.processing_units)
    return ModelResult(shape, design, request.arch_path, seq_len, batch, share, part_source,
                       layers, pus, chips, pu_area_m2(design))


def format_result(result: ModelResult) -> str:
    """Readable summary table (human units)."""
    d = result.to_dict()
    lines = [
        f"hyflex evaluate: {d['model']} on {d['arch']}, N = {d['seq_len']}, batch {d['batch']}, "
        + (f"SLC share {d['slc_fraction']:.0%}" if d["slc_fraction"] is not None
           else f"partition {d['partition']}"),
        "",
        f"  energy            {d['energy_j'] * 1e3:12.4f} mJ",
        f"  latency           {d['latency_s'] * 1e3:12.4f} ms",
        f"  throughput        {d['throughput_tops']:12.4f} TOPS (pipelined)",
        f"  efficiency        {d['tops_per_w']:12.4f} TOPS/W",
        f"  area (PUs used)   {d['area_mm2']:12.2f} mm2  ({d['pus']} PUs, {d['chips']} chip(s))",
        f"  density           {d['tops_per_mm2']:12.5f} TOPS/mm2",
        "",
        "  energy by category:",
    ]
    total = d["energy_j"]
    for k, v in sorted(d["energy_by_category_j"].items(), key=lambda kv: -kv[1]):
        lines.append(f"    {k:12s} {v * 1e3:12.4f} mJ  {v / total:6.1%}")
    reps = d["layers"][0].get("replicas") or {}
    if reps:
        lines.append("")
        lines.append("  copies per matrix part (layer 0; SLC+MLC where a matrix is split), arrays in use "
                     f"{d['layers'][0]['replica_arrays']} of "
                     f"{d['layers'][0]['pus'] * result.design.arrays_per_pu}:")
        lines.append("    " + ", ".join(f"{m} {'+'.join(str(p['replicas']) for p in parts)}"
                                        for m, parts in reps.items()))
    lines.append("")
    lines.append("  per layer (layer 0; identical layers evaluated once):")
    lines.append(f"    {'einsum':10s} {'energy uJ':>12s} {'latency us':>12s} {'MACs':>14s}")
    for n, e in d["layers"][0]["einsums"].items():
        lines.append(f"    {n:10s} {e['energy_j'] * 1e6:12.3f} {e['latency_s'] * 1e6:12.3f} {e['macs']:14d}")
    return "\n".join(lines)
