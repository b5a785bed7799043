"""Export a HyFlexPIM design + transformer workload to classic Timeloop v0.4 / Accelergy inputs.

``export_timeloop(model, seq_len, slc_fraction, partition, arch, out, force)`` writes, atomically:

- ``arch/analog_slc.arch.yaml``, ``arch/analog_mlc.arch.yaml``, ``arch/digital.arch.yaml``:
  the analog crossbar path (one file per cell mode) and the digital NOR-PIM path, in
  CiMLoop's compute-in-memory style: arrays, rows and columns as spatial fanouts (containers),
  a ``cim_unit`` storage that keeps weights only, a virtualized 1-bit MAC, the ADC, word-line
  drivers, shift-add and mode switch as components that keep (or pass) one tensor each;
  bit-serial inputs and weight slices appear as ``energy_scale`` on the components they
  multiply (n_input_slices, n_weight_slices; the same factors as the AccelForge templates);
- ``problems/<name>.problem.yaml``: one problem per distinct layer shape (linear parts on the
  analog path, Q.K^T and S.V on the digital path), and ``constraints/<name>.constraints.yaml``
  with the weight-stationary (analog) / row-parallel (digital) factors that pin the mapper to
  hyflex's fixed mapping; ``mapper/mapper.yaml``;
- ``accelergy/``: table-based plug-in CSVs and an estimator plug-in (see ``accelergy.py``) plus
  ``hyflex_components.csv`` (every hyflex component, all actions);
- ``runs.yaml`` (which arch/problem/constraints go together and how often each problem occurs per
  model), ``reference.yaml`` (hyflex's own evaluation of each problem, optional) and
  ``README.md`` with the exact ``timeloop-mapper`` / ``timeloop-model`` commands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from hyflex_plugin.architecture.design import HyflexDesign, load_arch
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.export import accelergy as acc
from hyflex_plugin.export.schema import Tagged, dump_yaml, validate_export
from hyflex_plugin.io import atomic_directory
from hyflex_plugin.workloads.shapes import ModelShape, load_model_shape

LINEAR_SPACES = ("Weights", "Inputs", "Outputs")
ATTN_SPACES = ("A", "B", "C")


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
        return f"linear_k{self.k}_n{self.n}_{'slc' if self.slc else 'mlc'}"

    @property
    def key(self):
        return (self.k, self.n, self.slc)


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


# ----------------------------------------------------------------------------- workload
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


# ----------------------------------------------------------------------------- architecture
def _storage(name: str, subclass: str, attrs: dict, keep: list[str], bypass: list[str],
             energy_scale: float | None = None) -> Tagged:
    node = Tagged("!Component", name=name, **{"class": "storage"}, subclass=subclass,
                  attributes=attrs, constraints={"dataspace": {"keep": keep, "bypass": bypass}})
    if energy_scale not in (None, 1):
        node["energy_scale"] = energy_scale
    return node


def _mode_params(design: HyflexDesign, slc: bool) -> dict:
    a = design.analog
    bits = a.slc_bits_per_cell if slc else a.mlc_bits_per_cell
    n_w = a.weight_bits // bits
    return {"bits_per_cell": bits, "n_weight_slices": n_w, "n_input_slices": a.input_bits,
            "weights_per_row": a.columns // n_w, "adc_bits": a.adc_bits_slc if slc else a.adc_bits_mlc,
            "mode_switch": a.mlc_bits_per_cell != a.slc_bits_per_cell}


def analog_arch(design: HyflexDesign, slc: bool, arrays: int) -> tuple[dict, list]:
    """Architecture document of the analog path in one cell mode, and its primitives."""
    a = design.analog
    mp = _mode_params(design, slc)
    slices = mp["n_input_slices"] * mp["n_weight_slices"]
    prims = acc.analog_primitives(mp["bits_per_cell"], a.rows, a.columns, mp["adc_bits"],
                                  a.adc_max_bits, a.adcs_per_array * a.columns / a.cycle,
                                  design.pu.buffer_bits, mp["mode_switch"], design.pu.buffer_width)
    sub = {p.subclass: p for p in prims}
    names = [p.subclass for p in prims]

    def attrs_of(prefix: str, **extra) -> tuple[str, dict]:
        s = next(n for n in names if n.startswith(prefix))
        return s, {**{k: v for k, v in sub[s].attributes.items()}, **extra}

    tech = {"technology": f"{round(design.tech_node * 1e9):d}nm", "tech_node": design.tech_node,
            "global_cycle_seconds": a.cycle, "datawidth": 8}
    nodes: list = [Tagged("!Container", name="hyflexpim_pu", attributes=tech)]
    nodes.append(_storage("source", "hyflex_dummy_storage",
                          {"depth": "INF", "width": 64, "datawidth": 8},
                          list(LINEAR_SPACES), []))
    s, at = attrs_of("hyflex_buffer")
    nodes.append(_storage("buffer", s, {**at, "depth": design.pu.buffer_bits // design.pu.buffer_width, "datawidth": 8},
                          ["Inputs", "Outputs"], ["Weights"]))
    nodes.append(Tagged("!Container", name="arrays", spatial={"meshX": arrays},
                        attributes={"n_input_slices": mp["n_input_slices"],
                                    "n_weight_slices": mp["n_weight_slices"]}))
    s, at = attrs_of("hyflex_sar_adc")
    nodes.append(_storage("adc", s, {**at, "depth": "INF", "width": 8, "datawidth": 8},
                          ["Outputs"], ["Inputs", "Weights"], slices))
    s, at = attrs_of("hyflex_shift_add")
    nodes.append(_storage("shift_add", s, {**at, "depth": "INF", "width": 8, "datawidth": 8},
                          ["Outputs"], ["Inputs", "Weights"], slices))
    if mp["mode_switch"]:
        s, at = attrs_of("hyflex_mode_switch")
        nodes.append(_storage("mode_switch", s, {**at, "depth": "INF", "width": 8, "datawidth": 8},
                              ["Outputs"], ["Inputs", "Weights"], slices))
    s, at = attrs_of("hyflex_wordline_driver")
    nodes.append(_storage("row_drivers", s, {**at, "depth": "INF", "width": 8, "datawidth": 8},
                          ["Inputs"], ["Weights", "Outputs"], mp["n_input_slices"]))
    # the bit line: analog current summation of the rows' partial sums (free). It takes
    # Timeloop's spatial reduction over the rows, so the peripherals above see finished sums.
    nodes.append(_storage("bitline", "hyflex_dummy_storage", {"depth": "INF", "width": 8,
                                                             "datawidth": 8},
                          ["Outputs"], ["Inputs", "Weights"]))
    nodes.append(Tagged("!Container", name="row", spatial={"meshY": a.rows}))
    nodes.append(Tagged("!Container", name="column", spatial={"meshX": mp["weights_per_row"]}))
    s, at = attrs_of("hyflex_rram_cell")
    nodes.append(_storage("cim_unit", s, {**at, "depth": 1, "width": 8, "datawidth": 8},
                          ["Weights"], ["Inputs", "Outputs"], slices))
    nodes.append(Tagged("!Component", name="virtualized_mac", **{"class": "compute"},
                        subclass="hyflex_virtual_mac", attributes={"width": 1}))
    doc = {"architecture": {"version": "0.4", "nodes": nodes},
           "variables": {"version": "0.4", "n_input_slices": mp["n_input_slices"],
                         "n_weight_slices": mp["n_weight_slices"]}}
    return doc, prims


def digital_arch(design: HyflexDesign, total_arrays: int) -> tuple[dict, list]:
    d = design.digital
    prims = acc.digital_primitives(d.rows, d.op_bits, design.pu.buffer_bits, design.pu.buffer_width)
    tech = {"technology": f"{round(design.tech_node * 1e9):d}nm", "tech_node": design.tech_node,
            "global_cycle_seconds": 1.0 / d.clock, "datawidth": 8}
    nodes = [
        Tagged("!Container", name="hyflexpim_pu", attributes=tech),
        _storage("source", "hyflex_dummy_storage", {"depth": "INF", "width": 64, "datawidth": 8},
                 list(ATTN_SPACES), []),
        _storage("buffer", "hyflex_buffer", {"width": design.pu.buffer_width, "size": design.pu.buffer_bits,
                                             "depth": "INF", "datawidth": 8},
                 list(ATTN_SPACES), []),
        Tagged("!Container", name="digital_arrays", spatial={"meshX": total_arrays}),
        Tagged("!Container", name="lanes", spatial={"meshX": d.rows}),
        _storage("digital_cells", "hyflex_digital_pim_cells",
                 {"rows": d.rows, "op_bits": d.op_bits, "depth": "INF", "width": 8, "datawidth": 8},
                 list(ATTN_SPACES), []),
        Tagged("!Component", name="digital_mac", **{"class": "compute"},
               subclass="hyflex_digital_pim_mac",
               attributes={"rows": d.rows, "op_bits": d.op_bits, "width": 8}),
    ]
    return {"architecture": {"version": "0.4", "nodes": nodes}}, prims


# ----------------------------------------------------------------------------- problems
def _proj(*dims: str) -> list:
    return [[[x]] for x in dims]


def linear_problem(p: LinearProblem, design: HyflexDesign) -> tuple[dict, dict, dict]:
    """Problem, constraints and padding info of one linear part (weight-stationary)."""
    a = design.analog
    mp = _mode_params(design, p.slc)
    wpr = mp["weights_per_row"]
    arrays_n, arrays_k = _ceil(p.n, wpr), _ceil(p.k, a.rows)
    n_pad, k_pad = arrays_n * wpr, arrays_k * a.rows
    problem = {"problem": {"version": "0.4", "instance": {"M": p.tokens, "N": n_pad, "K": k_pad},
                           "shape": {"name": p.name, "dimensions": ["M", "N", "K"],
                                     "data_spaces": [
                                         {"name": "Weights", "projection": _proj("K", "N")},
                                         {"name": "Inputs", "projection": _proj("M", "K")},
                                         {"name": "Outputs", "projection": _proj("M", "N"),
                                          "read_write": True}]}}}
    ones = ["M=1", "N=1", "K=1"]
    # weight-stationary: tokens stream from the source, one at a time, through the cells that
    # hold the weights (the weights' tile does not change with M, so they are never refetched);
    # the buffer holds one token's input and output vectors, as in hyflex (M = 1, x tokens)
    targets = [{"target": "source", "type": "temporal", "factors": [f"M={p.tokens}", "N=1", "K=1"],
                "permutation": ["N", "K", "M"]}]
    targets += [{"target": t, "type": "temporal", "factors": ones, "permutation": ["M", "N", "K"]}
                for t in ("buffer", "adc", "shift_add", "row_drivers", "bitline", "cim_unit")]
    if mp["mode_switch"]:
        targets.append({"target": "mode_switch", "type": "temporal", "factors": ones,
                        "permutation": ["M", "N", "K"]})
    targets += [
        {"target": "arrays", "type": "spatial", "factors": [f"N={arrays_n}", f"K={arrays_k}", "M=1"],
         "permutation": ["N", "K", "M"]},
        {"target": "row", "type": "spatial", "factors": [f"K={a.rows}", "N=1", "M=1"],
         "permutation": ["K", "N", "M"], "split": 0},
        {"target": "column", "type": "spatial", "factors": [f"N={wpr}", "K=1", "M=1"],
         "permutation": ["N", "K", "M"]},
    ]
    info = {"k": p.k, "n": p.n, "k_padded": k_pad, "n_padded": n_pad, "arrays": arrays_n * arrays_k,
            "arrays_n": arrays_n, "arrays_k": arrays_k}
    return problem, {"constraints": {"version": "0.4", "targets": targets}}, info


def attention_problem(p: AttentionProblem, design: HyflexDesign) -> tuple[dict, dict, dict]:
    d = design.digital
    total = p.pus * design.pu.digital_modules * design.pu.digital_arrays_per_module
    arrays_m = max(1, min(total // p.h, p.m))
    tile_m = _ceil(p.m, arrays_m)
    lanes_j = min(p.j, d.rows)
    waves = _ceil(p.j, lanes_j)
    m_pad, j_pad = arrays_m * tile_m, waves * lanes_j
    problem = {"problem": {"version": "0.4",
                           "instance": {"H": p.h, "M": m_pad, "J": j_pad, "K": p.k},
                           "shape": {"name": p.name, "dimensions": ["H", "M", "J", "K"],
                                     "data_spaces": [
                                         {"name": "A", "projection": _proj("H", "M", "K")},
                                         {"name": "B", "projection": _proj("H", "J", "K")},
                                         {"name": "C", "projection": _proj("H", "M", "J"),
                                          "read_write": True}]}}}
    perm = ["H", "M", "J", "K"]
    targets = [
        {"target": "source", "type": "temporal", "factors": ["H=1", "M=1", "J=1", "K=1"],
         "permutation": perm},
        {"target": "buffer", "type": "temporal", "factors": [f"J={waves}", "H=1", "M=1", "K=1"],
         "permutation": ["J", "H", "M", "K"]},
        {"target": "digital_arrays", "type": "spatial",
         "factors": [f"H={p.h}", f"M={arrays_m}", "J=1", "K=1"], "permutation": perm},
        {"target": "lanes", "type": "spatial", "factors": [f"J={lanes_j}", "H=1", "M=1", "K=1"],
         "permutation": ["J", "H", "M", "K"]},
        {"target": "digital_cells", "type": "temporal",
         "factors": [f"M={tile_m}", f"K={p.k}", "H=1", "J=1"], "permutation": ["K", "M", "H", "J"]},
    ]
    info = {"h": p.h, "m": p.m, "j": p.j, "k": p.k, "m_padded": m_pad, "j_padded": j_pad,
            "digital_arrays": total, "pus": p.pus}
    return problem, {"constraints": {"version": "0.4", "targets": targets}}, info


MAPPER = {"mapper": {"version": "0.4", "optimization_metrics": ["energy", "delay"],
                     "algorithm": "random_pruned", "num_threads": 2, "timeout": 1000,
                     "victory_condition": 100, "search_size": 0,
                     "max_permutations_per_if_visit": 4, "live_status": False,
                     "diagnostics": False, "log_stats": False, "out_prefix": "timeloop-mapper"}}


# ----------------------------------------------------------------------------- reference
def reference_energy(design: HyflexDesign, kind: str, prob, cache: bool = True,
                     padded: dict | None = None) -> dict:
    """hyflex's own evaluation (AccelForge, fixed mapping) of one exported problem.

    ``padded`` (the run's ``shape``): evaluate the padded sizes the Timeloop problem has instead.
    """
    from hyflex_plugin.evaluation.engine import attention_params, evaluate_einsum, linear_params

    if kind == "analog":
        k, n = (padded["k_padded"], padded["n_padded"]) if padded else (prob.k, prob.n)
        cost = evaluate_einsum(design, "analog", linear_params(design, k, n, prob.slc, 1),
                               cache=cache).scaled(prob.tokens)
    else:
        m, j = (padded["m_padded"], padded["j_padded"]) if padded else (prob.m, prob.j)
        cost = evaluate_einsum(design, "digital",
                               attention_params(design, prob.h, m, j, prob.k, prob.pus),
                               cache=cache)
    return {"energy_j": cost.energy_j, "latency_s": cost.latency_s, "macs": cost.macs,
            "energy_by_component_j": dict(cost.energy_by_component_j)}


# ----------------------------------------------------------------------------- export
@dataclass
class ExportResult:
    out: Path
    runs: list[dict]
    files: list[str]

    def summary(self) -> str:
        lines = [f"wrote {len(self.files)} files to {self.out}", f"{len(self.runs)} Timeloop runs:"]
        for r in self.runs:
            ref = r.get("hyflex_energy_j")
            lines.append(f"  {r['name']:<34} x{r['count_per_model']:<4} "
                         + (f"hyflex {ref * 1e9:.4g} nJ" if ref is not None else ""))
        lines.append(f"see {self.out / 'README.md'}")
        return "\n".join(lines)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise HyflexInputError("--out", None, f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise HyflexInputError("--out", None, f"{out} exists and is not empty: choose another "
                               "folder or pass --force to replace it")


def export_timeloop(model: str | Path | ModelShape = "bert-base", seq_len: int = 128,
                    slc_fraction: float | None = 0.1, partition=None, arch=None,
                    out: str | Path = "timeloop_export", force: bool = False,
                    reference: bool = True, cache: bool = True,
                    progress: bool = False) -> ExportResult:
    """Write the Timeloop v0.4 / Accelergy export of ``model`` on ``arch`` into ``out``.

    Args:
        model: preset name, Hugging Face ``config.json`` path or ModelShape.
        seq_len: tokens N of one sequence.
        slc_fraction: share of each matrix's output columns in SLC (0..1), unless ``partition``.
        partition: a partition file (path or PartitionFile) from ``hyflex redistribute``.
        arch: a design file (default ``arch_specs/hyflexpim.yaml``) or HyflexDesign.
        out: export folder; refused if it exists and is not empty unless ``force``.
        reference: also evaluate every problem with hyflex (AccelForge) into reference.yaml.
    """
    from hyflex_plugin.costmodels import tables
    from hyflex_plugin.partition import PartitionFile

    out = Path(out)
    _check_out(out, force)
    shape = load_model_shape(model)
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len <= 0:
        raise HyflexInputError("--seq-len", "seq_len", f"expected a positive integer, got {seq_len!r}")
    if slc_fraction is not None:
        try:
            ok = 0.0 <= float(slc_fraction) <= 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise HyflexInputError("--slc-fraction", "slc_fraction",
                                   f"expected a share between 0 and 1, got {slc_fraction!r}")
    design = arch if isinstance(arch, HyflexDesign) else load_arch(arch)
    part = None
    if partition is not None:
        part = partition if isinstance(partition, PartitionFile) else PartitionFile.load(partition)
        part.check_model(str(partition), shape.n_layers, shape.hidden_size, shape.intermediate_size)
    share = design.slc_fraction if design.slc_fraction is not None else slc_fraction
    if design.slc_fraction is not None:
        part = None
    if share is None and part is None:
        raise HyflexInputError("--slc-fraction", "slc_fraction",
                               "expected a share between 0 and 1 or a --partition file")

    linear, attn = collect_problems(design, shape, seq_len, share, part)
    files: dict[str, str] = {}
    runs: list[dict] = []
    prims: list = []
    infos = {p.name: linear_problem(p, design) for p in linear}
    for slc in (True, False):
        mode = "slc" if slc else "mlc"
        ps = [p for p in linear if p.slc == slc]
        if not ps:
            continue
        arrays = max(design.arrays_per_pu, max(infos[p.name][2]["arrays"] for p in ps))
        doc, pr = analog_arch(design, slc, arrays)
        prims += pr
        files[f"arch/analog_{mode}.arch.yaml"] = dump_yaml(doc)
    total_digital = attn[0].pus * design.pu.digital_modules * design.pu.digital_arrays_per_module
    doc, pr = digital_arch(design, total_digital)
    prims += pr
    files["arch/digital.arch.yaml"] = dump_yaml(doc)
    files["mapper/mapper.yaml"] = dump_yaml(MAPPER)

    todo = [("analog", p) for p in linear] + [("digital", p) for p in attn]
    for kind, p in tqdm(todo, desc="export timeloop", disable=not progress, leave=False):
        prob, cons, info = infos[p.name] if kind == "analog" else attention_problem(p, design)
        files[f"problems/{p.name}.problem.yaml"] = dump_yaml(prob)
        files[f"constraints/{p.name}.constraints.yaml"] = dump_yaml(cons)
        arch_file = (f"arch/analog_{'slc' if p.slc else 'mlc'}.arch.yaml" if kind == "analog"
                     else "arch/digital.arch.yaml")
        run = {"name": p.name, "path": kind, "arch": arch_file,
               "problem": f"problems/{p.name}.problem.yaml",
               "constraints": f"constraints/{p.name}.constraints.yaml",
               "count_per_model": p.count, "shape": info}
        if kind == "analog":
            run["matrices"] = list(p.matrices)
        if reference:
            ref = reference_energy(design, kind, p, cache=cache)
            run["hyflex_energy_j"] = ref["energy_j"]
            run["hyflex_energy_by_component_j"] = ref["energy_by_component_j"]
            run["hyflex_latency_s"] = ref["latency_s"]
            padded = reference_energy(design, kind, p, cache=cache, padded=info)
            run["hyflex_energy_padded_j"] = padded["energy_j"]
            run["hyflex_energy_padded_by_component_j"] = padded["energy_by_component_j"]
        runs.append(run)

    prims = acc.unique(prims)
    rows = acc.primitive_rows(prims, design.tech_node)
    for name, text in acc.table_csvs(rows, design.tech_node).items():
        files[f"accelergy/tables/data/{name}"] = text
    files["accelergy/tables/hyflex.table.yaml"] = acc.table_identifier(design.tech_node)
    for name, text in acc.plugin_files(rows).items():
        files[f"accelergy/plugin/{name}"] = text
    files["accelergy/hyflex_components.csv"] = tables.to_csv(tables.component_table(design.tech_node))

    import yaml

    meta = {"model": shape.name, "seq_len": seq_len,
            "slc_fraction": None if part is not None else share,
            "partition": str(partition) if part is not None else None, "design": design.name,
            "tech_node_m": design.tech_node, "units": {"energy": "J", "latency": "s"},
            "runs": runs}
    files["runs.yaml"] = yaml.safe_dump(meta, sort_keys=False)
    files["README.md"] = _readme(meta, design)

    with atomic_directory(out) as tmp:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        validate_export(tmp)  # never move a folder that does not validate
    return ExportResult(out, runs, sorted(files))


def _readme(meta: dict, design: HyflexDesign) -> str:
    lines = [
        f"# Timeloop v0.4 / Accelergy export of {meta['model']} on {design.name}",
        "",
        f"Generated by `hyflex export timeloop` (sequence length {meta['seq_len']}, "
        + (f"SLC share {meta['slc_fraction']}" if meta["partition"] is None
           else f"partition {meta['partition']}") + ").",
        "Units inside the YAML follow Timeloop/Accelergy: energy tables in pJ, area in um^2.",
        "",
        "## Files",
        "- `arch/analog_slc.arch.yaml`, `arch/analog_mlc.arch.yaml`: analog crossbar path per cell mode;"
        " `arch/digital.arch.yaml`: digital NOR-PIM path (attention).",
        "- `problems/*.problem.yaml` + `constraints/*.constraints.yaml`: one layer shape each, pinned to"
        " hyflex's weight-stationary / row-parallel mapping.",
        "- `mapper/mapper.yaml`: mapper settings.",
        "- `accelergy/tables/`: data for Accelergy's table-based plug-in (`hyflex.table.yaml` + `data/*.csv`).",
        "- `accelergy/plugin/`: an Accelergy estimator plug-in serving the same numbers.",
        "- `accelergy/hyflex_components.csv`: every hyflex component and action (reference).",
        "- `runs.yaml`: which files go together, how often each problem occurs in the model, and"
        " hyflex's own energy of each problem (`hyflex_energy_j`) to compare with.",
        "",
        "## Set up Accelergy (once)",
        "Either add `accelergy/plugin` to the `estimator_plug_ins` list of",
        "`~/.config/accelergy/accelergy_config.yaml`, or register the tables with the table-based",
        "plug-in: `accelergyTables -r \"$PWD/accelergy/tables\"`.",
        "",
        "## Run",
        "These files use the user-facing v0.4 format (`!Container` / `!Component` tags). Timeloop",
        "builds that read v0.4 `nodes` take them directly; otherwise let timeloopfe (Timeloop's",
        "Python front-end, in the timeloop-accelergy container images) flatten them and call the",
        "binaries (Python snippet below). From this folder, per problem:",
        "",
        "```sh",
    ]
    for r in meta["runs"]:
        files = f"{r['arch']} {r['problem']} {r['constraints']} mapper/mapper.yaml"
        lines.append(f"mkdir -p output/{r['name']} && timeloop-mapper {files} -o output/{r['name']}")
    lines += [
        "```",
        "",
        "Then evaluate the mapping the mapper found (or any hand-written one) with",
        "",
        "```sh",
    ]
    for r in meta["runs"]:
        lines.append(f"timeloop-model {r['arch']} {r['problem']} "
                     f"output/{r['name']}/timeloop-mapper.map.yaml -o output/{r['name']}")
    lines += [
        "```",
        "",
        "With timeloopfe in Python (same inputs):",
        "",
        "```python",
        "import pytimeloop.timeloopfe.v4 as tl",
        "spec = tl.Specification.from_yaml_files(ARCH, PROBLEM, CONSTRAINTS, 'mapper/mapper.yaml')",
        "tl.call_mapper(spec, output_dir='output/NAME')",
        "```",
        "",
        "## Comparing with hyflex",
        "Multiply each run's energy by `count_per_model` and sum for the linear and attention",
        "energy of the whole model. Problems are padded to whole array columns/rows (see",
        "`shape` in runs.yaml); hyflex's reference is unpadded. See hyflex's docs/timeloop-export.md",
        "for the tolerance and why.",
        "",
    ]
    return "\n".join(lines)
