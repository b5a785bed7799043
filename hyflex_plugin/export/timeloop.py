"""Export a HyFlexPIM design + transformer workload to classic Timeloop v0.4 / Accelergy inputs.

``export_timeloop(model, seq_len, slc_fraction, partition, arch, out, force)`` writes, atomically:

- ``arch/analog_slc.arch.yaml``, ``arch/analog_mlc.arch.yaml``, ``arch/digital.arch.yaml``: the
  analog crossbar path (one file per cell mode) and the digital NOR-PIM path (``arch.py``);
- ``problems/<name>.problem.yaml``, ``mappings/<name>.map.yaml`` (hyflex's mapping),
  ``constraints/<name>.constraints.yaml`` (what the hardware fixes) per distinct layer shape,
  ``mapper/mapper.yaml`` (``workload.py``);
- ``accelergy/``: table-based plug-in CSVs, the estimator plug-in and ``hyflex_components.csv``
  (``accelergy.py``);
- ``runs.yaml`` (which files go together, how often each problem occurs in the model, hyflex's
  own evaluation of each problem), ``run_timeloop.py`` (runs one problem through timeloopfe,
  Timeloop and Accelergy) and ``README.md`` with the exact commands (``readme.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.console import progress as progress_bar
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation.request import EvaluationRequest
from hyflex_plugin.export import accelergy as acc
from hyflex_plugin.export.arch import analog_arch, digital_arch
from hyflex_plugin.export.readme import RUNNER, readme
from hyflex_plugin.export.schema import dump_yaml, validate_export
from hyflex_plugin.export.workload import (
    MAPPER,
    AttentionProblem,
    LinearProblem,
    attention_problem,
    collect_problems,
    linear_problem,
)
from hyflex_plugin.io import atomic_directory
from hyflex_plugin.workloads.shapes import ModelShape


# ----------------------------------------------------------------------------- reference
def reference_energy(design: HyflexDesign, kind: str, prob, cache: bool = True,
                     padded: dict | None = None) -> dict:
    """Hyflex's own evaluation (AccelForge, fixed mapping) of one exported problem.

    ``padded`` (the run's ``shape``): evaluate the padded sizes the Timeloop problem has instead.
    """
    from hyflex_plugin.evaluation.engine import (
        attention_params,
        evaluate_einsum,
        linear_params,
    )

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


def _reference_fields(design: HyflexDesign, kind: str, p, info: dict, cache: bool) -> dict:
    ref = reference_energy(design, kind, p, cache=cache)
    padded = reference_energy(design, kind, p, cache=cache, padded=info)
    return {"hyflex_energy_j": ref["energy_j"],
            "hyflex_energy_by_component_j": ref["energy_by_component_j"],
            "hyflex_latency_s": ref["latency_s"],
            "hyflex_energy_padded_j": padded["energy_j"],
            "hyflex_energy_padded_by_component_j": padded["energy_by_component_j"],
            "hyflex_latency_padded_s": padded["latency_s"]}


# ----------------------------------------------------------------------------- export
@dataclass
class ExportResult:
    """What an export wrote: the folder, its runs (as in runs.yaml) and the files."""

    out: Path
    runs: list[dict]
    files: list[str]

    def summary(self) -> str:
        """A few lines for the CLI."""
        lines = [f"wrote {len(self.files)} files to {self.out}", f"{len(self.runs)} Timeloop runs:"]
        for r in self.runs:
            ref = r.get("hyflex_energy_j")
            lines.append(f"  {r['name']:<34} x{r['count_per_model']:<4} "
                         + (f"hyflex {ref * 1e9:.4g} nJ" if ref is not None else ""))
        lines.append(f"see {self.out / 'README.md'}")
        return "\n".join(lines)


def _check_out(out: Path, force: bool) -> None:
    from hyflex_plugin.io import check_output_folder

    check_output_folder(out, "--out", "out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise HyflexInputError("--out", None, f"{out} exists and is not empty: choose another "
                               "folder or pass --force to replace it")


def _inputs(model, seq_len, slc_fraction, partition, arch, cache=True, request=None):
    """Checked inputs through one EvaluationRequest: (request, shape, design, share, partition or None)."""
    req = request or EvaluationRequest(model=model, seq_len=seq_len, slc_fraction=slc_fraction,
                                       partition=partition, arch=arch, cache=cache)
    return req, req.model, req.design, req.slc_fraction, req.partition


def _architecture_files(design: HyflexDesign, linear: list[LinearProblem],
                        attn: list[AttentionProblem], infos: dict) -> tuple[dict, list, dict]:
    """Architecture documents (path -> text), their primitives and each primitive's cycles [s]."""
    files, prims, cycle_s = {}, [], {}
    for slc in (True, False):
        ps = [p for p in linear if p.slc == slc]
        if not ps:
            continue
        arrays = max(design.arrays_per_pu, max(infos[p.name][3]["arrays"] for p in ps))
        doc, pr = analog_arch(design, slc, arrays)
        files[f"arch/analog_{'slc' if slc else 'mlc'}.arch.yaml"] = dump_yaml(doc)
        prims += pr
        for p in pr:
            cycle_s.setdefault(p.subclass, set()).add(doc["variables"]["GLOBAL_CYCLE_SECONDS"])
    total_digital = attn[0].pus * design.pu.digital_modules * design.pu.digital_arrays_per_module
    doc, pr = digital_arch(design, total_digital)
    files["arch/digital.arch.yaml"] = dump_yaml(doc)
    prims += pr
    for p in pr:
        cycle_s.setdefault(p.subclass, set()).add(doc["variables"]["GLOBAL_CYCLE_SECONDS"])
    return files, acc.unique(prims), cycle_s


def _accelergy_files(design: HyflexDesign, prims: list, cycle_s: dict) -> dict[str, str]:
    from hyflex_plugin.costmodels import tables

    files = {}
    rows = acc.primitive_rows(prims, design.tech_node)
    for name, text in acc.table_csvs(rows, design.tech_node, cycle_s).items():
        files[f"accelergy/tables/data/{name}"] = text
    files["accelergy/tables/hyflex.table.yaml"] = acc.table_identifier(design.tech_node)
    for name, text in acc.plugin_files(rows).items():
        files[f"accelergy/plugin/{name}"] = text
    files["accelergy/hyflex_components.csv"] = tables.to_csv(tables.component_table(design.tech_node))
    return files


def export_timeloop(model: str | Path | ModelShape = "bert-base", seq_len: int = 128,
                    slc_fraction: float | None = 0.1, partition=None, arch=None,
                    out: str | Path = "timeloop_export", force: bool = False,
                    reference: bool = True, cache: bool = True,
                    progress: bool = False,
                    request: EvaluationRequest | None = None) -> ExportResult:
    """Write the Timeloop v0.4 / Accelergy export of ``model`` on ``arch`` into ``out``.

    Args:
        model: preset name, Hugging Face ``config.json`` path or ModelShape.
        seq_len: tokens N of one sequence.
        slc_fraction: share of each matrix's output columns in SLC (0..1), unless ``partition``.
        partition: a partition file (path or PartitionFile) from ``hyflex redistribute``.
        arch: a design file (default ``arch_specs/hyflexpim.yaml``) or HyflexDesign.
        out: export folder; refused if it exists and is not empty unless ``force``.
        force: replace a non-empty ``out``.
        reference: also evaluate every problem with hyflex (AccelForge) into runs.yaml.
        cache: use hyflex's evaluation cache for the reference.
        progress: show a progress bar.
        request: a validated :class:`~hyflex_plugin.evaluation.request.EvaluationRequest`; when
            given, it replaces ``model``, ``seq_len``, ``slc_fraction``, ``partition``, ``arch``
            and ``cache``.
    """
    import yaml

    out = Path(out)
    _check_out(out, force)
    req, shape, design, share, part = _inputs(model, seq_len, slc_fraction, partition, arch, cache,
                                              request)
    seq_len, cache = req.seq_len, req.cache
    linear, attn = collect_problems(design, shape, seq_len, share, part)
    infos = {p.name: linear_problem(p, design) for p in linear}
    infos.update({p.name: attention_problem(p, design) for p in attn})
    files, prims, cycle_s = _architecture_files(design, linear, attn, infos)
    files["mapper/mapper.yaml"] = dump_yaml(MAPPER)

    runs: list[dict] = []
    todo = [("analog", p) for p in linear] + [("digital", p) for p in attn]
    for kind, p in progress_bar(todo, enabled=progress, desc="export timeloop", leave=False):
        prob, mapping, cons, info = infos[p.name]
        files[f"problems/{p.name}.problem.yaml"] = dump_yaml(prob)
        files[f"mappings/{p.name}.map.yaml"] = dump_yaml(mapping)
        files[f"constraints/{p.name}.constraints.yaml"] = dump_yaml(cons)
        run = {"name": p.name, "path": kind,
               "arch": (f"arch/analog_{'slc' if p.slc else 'mlc'}.arch.yaml" if kind == "analog"
                        else "arch/digital.arch.yaml"),
               "problem": f"problems/{p.name}.problem.yaml",
               "mapping": f"mappings/{p.name}.map.yaml",
               "constraints": f"constraints/{p.name}.constraints.yaml",
               "count_per_model": p.count, "shape": info}
        if kind == "analog":
            run["matrices"] = list(p.matrices)
        if reference:
            run.update(_reference_fields(design, kind, p, info, cache))
        runs.append(run)
    files.update(_accelergy_files(design, prims, cycle_s))

    meta = {"model": shape.name, "seq_len": seq_len,
            "slc_fraction": share, "partition": req.partition_source, "design": design.name,
            "tech_node_m": design.tech_node, "units": {"energy": "J", "latency": "s"},
            "runs": runs}
    files["runs.yaml"] = yaml.safe_dump(meta, sort_keys=False)
    files["run_timeloop.py"] = RUNNER.read_text(encoding="utf-8")
    files["README.md"] = readme(meta, design)

    with atomic_directory(out) as tmp:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        validate_export(tmp)  # never move a folder that does not validate
    return ExportResult(out, runs, sorted(files))
