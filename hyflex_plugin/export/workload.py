"""The workload side of the Timeloop export: which problems, their shapes, mappings, constraints.

One Timeloop problem per distinct linear part (k inputs -> n outputs, SLC or MLC, on the analog
path) and one per attention matmul (Q.K^T, S.V on the digital path), each with how often it
occurs in the model. For each problem the export writes

- the problem (``problems/<name>.problem.yaml``): linear ``Outputs[M,N] += Weights[K,N] x
  Inputs[M,K]`` over the input bits ``B``; attention ``C[H,M,J] += A[H,M,K] x B[H,J,K]`` over the
  NOR steps ``S`` of each MAC. ``B`` and ``S`` index no tensor: they are time (see ``arch.py``);
- hyflex's own mapping (``mappings/<name>.map.yaml``), every factor and loop order given, for
  ``timeloop-model``;
- the mapper's constraints (``constraints/<name>.constraints.yaml``): what the hardware fixes
  (see :func:`linear_problem`), leaving the rest to ``timeloop-mapper``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.export.arch import mode_params
from hyflex_plugin.workloads.shapes import ModelShape


@dataclass
class LinearProblem:
    """One linear part (k inputs -> n outputs, SLC or MLC) on the analog path."""

    k: int
    n: int
    slc: bool
    tokens: int
    count: int = 0           # occurrences in the whole model
    matrices: tuple = ()

    @property
    def name(self) -> str:
        """Run name, e.g. ``linear_k768_n691_mlc``."""
        return f"linear_k{self.k}_n{self.n}_{'slc' if self.slc else 'mlc'}"


@dataclass
class AttentionProblem:
    """C[h,m,j] = sum_k A[h,m,k] B[h,j,k] on the digital path."""

    name: str
    h: int
    m: int
    j: int
    k: int
    pus: int
    count: int = 0


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def collect_problems(design: HyflexDesign, shape: ModelShape, seq_len: int,
                     share: float | None, partition) -> tuple[list[LinearProblem],
                                                               list[AttentionProblem]]:
    """Distinct linear parts and the two attention matmuls of the model (with counts)."""
    from hyflex_plugin.evaluation.engine import arrays_for_linear
    from hyflex_plugin.evaluation.model import linear_parts

    if design.linear_path != "analog":
        raise HyflexInputError("--arch", "linear_path",
                               "the Timeloop export covers designs with linear_path 'analog'")
    linear: dict[tuple, LinearProblem] = {}
    pus_max = 1
    for layer in range(shape.n_layers):
        arrays = 0
        for name, k, n in shape.linear_matrices():
            for pk, pn, slc in linear_parts(design, name, k, n, share, partition, layer):
                p = linear.setdefault((pk, pn, slc), LinearProblem(pk, pn, slc, seq_len))
                p.count += 1
                if name not in p.matrices:
                    p.matrices = (*p.matrices, name)
                arrays += arrays_for_linear(design, pk, pn, slc)
        pus = max(1, math.ceil(arrays / design.arrays_per_pu)) if design.arrays_per_pu else 1
        pus_max = max(pus_max, pus)
    h, d = shape.num_heads, shape.head_dim
    attn = [AttentionProblem("attention_qk", h, seq_len, seq_len, d, pus_max, shape.n_layers),
            AttentionProblem("attention_sv", h, seq_len, d, seq_len, pus_max, shape.n_layers)]
    return sorted(linear.values(), key=lambda p: (not p.slc, p.k, p.n)), attn


def _proj(*dims: str) -> list:
    return [[[x]] for x in dims]


def _problem(name: str, sizes: dict[str, int], spaces: dict[str, tuple[str, ...]],
             output: str) -> dict:
    return {"problem": {"version": "0.4", "instance": dict(sizes),
                        "shape": {"name": name, "dimensions": list(sizes),
                                  "data_spaces": [{"name": s, "projection": _proj(*dims),
                                                   **({"read_write": True} if s == output else {})}
                                                  for s, dims in spaces.items()]}}}


def _loops(dims: list[str], levels: list[tuple]) -> list:
    """Mapping targets from (target, type, factors, inner-to-outer order of named dims[, split]).

    A spatial level's ``split`` 0 puts its fanout on the Y axis (meshY).
    """
    out = []
    for target, kind, factors, order, *split in levels:
        perm = [*order, *[d for d in dims if d not in order]]
        t = {"target": target, "type": kind, "factors": [f"{d}={factors.get(d, 1)}" for d in dims],
             "permutation": perm}
        if split:
            t["split"] = split[0]
        out.append(t)
    return out


def linear_problem(p: LinearProblem, design: HyflexDesign) -> tuple[dict, dict, dict, dict]:
    """Problem, hyflex's mapping, the mapper's constraints and the padded shape of a linear part.

    hyflex's mapping (weight-stationary): tokens stream from the source one at a time; output
    columns over arrays (``arrays_n``) and over the columns of an array, the reduction over
    arrays (``arrays_k``) and the 64 rows; the input bits ``B`` are walked at the shift-add,
    which keeps each output's running sum, so every bit drives the rows, reads the cells and
    is converted once per column.

    The constraints state what the hardware fixes, not the answer: weights are programmed once
    and never move, so no level walks N or K in time (they are all spatial); a cell holds one
    weight (``cim_unit``: every factor 1) and the rows / columns of an array are spatial and
    fully used (``row`` K, ``column`` N); the ADC, mode switch and drivers walk no loops of their
    own (they hold a cycle's values); the input bits are walked at the shift-add that
    accumulates them (``B`` at ``shift_add``). The mapper chooses where the tokens are walked
    and the loop orders.
    """
    a = design.analog
    mp = mode_params(design, p.slc)
    wpr, bits = mp["weights_per_row"], mp["n_input_slices"]
    arrays_n, arrays_k = _ceil(p.n, wpr), _ceil(p.k, a.rows)
    n_pad, k_pad = arrays_n * wpr, arrays_k * a.rows
    dims = ["M", "N", "K", "B"]
    sizes = {"M": p.tokens, "N": n_pad, "K": k_pad, "B": bits}
    problem = _problem(p.name, sizes, {"Weights": ("K", "N"), "Inputs": ("M", "K"),
                                       "Outputs": ("M", "N")}, "Outputs")
    periph = ["adc", "row_drivers"] + (["mode_switch"] if mp["mode_switch"] else [])
    levels = [("source", "temporal", {"M": p.tokens}, ["M"]),
              ("buffer", "temporal", {}, []),
              ("arrays", "spatial", {"N": arrays_n, "K": arrays_k}, ["N", "K"]),
              ("shift_add", "temporal", {"B": bits}, ["B"]),
              *[(t, "temporal", {}, []) for t in periph],
              ("row", "spatial", {"K": a.rows}, ["K"], 0),
              ("column", "spatial", {"N": wpr}, ["N"]),
              ("cim_unit", "temporal", {}, [])]
    mapping = {"mapping": _loops(dims, levels)}
    # weights stay in the cells (programmed once, never moved): no temporal N or K anywhere;
    # a cell holds one weight; the rows and columns of an array are spatial; the ADC, mode
    # switch and drivers hold one cycle's values; the input bits are walked at the shift-add
    fixed = ["N=1", "K=1"]
    targets = [{"target": "cim_unit", "type": "temporal", "factors": [f"{d}=1" for d in dims]},
               {"target": "row", "type": "spatial", "factors": [f"K={a.rows}", "N=1", "M=1", "B=1"],
                "split": 0},
               {"target": "column", "type": "spatial", "factors": [f"N={wpr}", "K=1", "M=1", "B=1"]},
               *[{"target": t, "type": "temporal", "factors": [f"{d}=1" for d in dims]}
                 for t in periph],
               {"target": "shift_add", "type": "temporal", "factors": [*fixed, f"B={bits}"]},
               {"target": "arrays", "type": "spatial", "factors": ["M=1", "B=1"]},
               {"target": "buffer", "type": "temporal", "factors": [*fixed, "B=1"]},
               {"target": "source", "type": "temporal", "factors": [*fixed, "B=1"]}]
    info = {"k": p.k, "n": p.n, "k_padded": k_pad, "n_padded": n_pad, "arrays": arrays_n * arrays_k,
            "arrays_n": arrays_n, "arrays_k": arrays_k, "input_bits": bits}
    return problem, mapping, {"constraints": {"version": "0.4", "targets": targets}}, info


def attention_problem(p: AttentionProblem, design: HyflexDesign) -> tuple[dict, dict, dict, dict]:
    """Problem, hyflex's mapping, the mapper's constraints and the padded shape of a matmul.

    hyflex's mapping (row-parallel): heads and query rows over the digital arrays, output columns
    over the 1024 row lanes of an array (in waves when there are more), each lane walking its
    query rows and the reduction temporally, one MAC = ``S`` NOR steps. The constraints fix what
    the hardware does: every lane of an array computes one output column at a time (``lanes``:
    J over all lanes, or all of J when it is smaller), accumulating it in place over the whole
    reduction (``K`` at ``digital_cells``), every MAC takes its NOR steps in the lane (``S`` at
    ``nor_steps``), each head has arrays of its own (``digital_arrays``: all H, and M), the
    buffer stages the whole matmul (``source``: factors 1); the mapper chooses how the query
    rows are spread over arrays and time, the waves and the loop orders.
    """
    from hyflex_plugin.costmodels.models import nor_steps_per_mac

    d = design.digital
    total = p.pus * design.pu.digital_modules * design.pu.digital_arrays_per_module
    arrays_m = max(1, min(total // p.h, p.m))
    tile_m = _ceil(p.m, arrays_m)
    lanes_j = min(p.j, d.rows)
    waves = _ceil(p.j, lanes_j)
    m_pad, j_pad = arrays_m * tile_m, waves * lanes_j
    steps = nor_steps_per_mac(d.op_bits, d.number_format)
    dims = ["H", "M", "J", "K", "S"]
    sizes = {"H": p.h, "M": m_pad, "J": j_pad, "K": p.k, "S": steps}
    problem = _problem(p.name, sizes, {"A": ("H", "M", "K"), "B": ("H", "J", "K"),
                                       "C": ("H", "M", "J")}, "C")
    levels = [("source", "temporal", {}, []),
              ("buffer", "temporal", {"J": waves}, ["J"]),
              ("digital_arrays", "spatial", {"H": p.h, "M": arrays_m}, ["H", "M"]),
              ("lanes", "spatial", {"J": lanes_j}, ["J"]),
              ("digital_cells", "temporal", {"M": tile_m, "K": p.k}, ["K", "M"]),
              ("nor_steps", "temporal", {"S": steps}, ["S"])]
    mapping = {"mapping": _loops(dims, levels)}
    targets = [{"target": "nor_steps", "type": "temporal", "factors": [f"S={steps}", "H=1", "M=1",
                                                                       "J=1", "K=1"]},
               {"target": "digital_cells", "type": "temporal", "factors": [f"K={p.k}", "S=1"]},
               {"target": "lanes", "type": "spatial",
                "factors": [f"J={lanes_j}", "H=1", "M=1", "K=1", "S=1"]},
               {"target": "digital_arrays", "type": "spatial",
                "factors": [f"H={p.h}", "J=1", "K=1", "S=1"]},
               {"target": "buffer", "type": "temporal", "factors": ["K=1", "S=1"]},
               {"target": "source", "type": "temporal", "factors": [f"{d}=1" for d in dims]}]
    info = {"h": p.h, "m": p.m, "j": p.j, "k": p.k, "m_padded": m_pad, "j_padded": j_pad,
            "digital_arrays": total, "pus": p.pus, "nor_steps_per_mac": steps}
    return problem, mapping, {"constraints": {"version": "0.4", "targets": targets}}, info


MAPPER = {"mapper": {"version": "0.4", "optimization_metrics": ["delay", "energy"],
                     "algorithm": "random_pruned", "num_threads": 1, "timeout": 1000,
                     "victory_condition": 100, "search_size": 0,
                     "max_permutations_per_if_visit": 4, "live_status": False,
                     "diagnostics": False, "log_stats": False, "out_prefix": "timeloop-mapper"}}
