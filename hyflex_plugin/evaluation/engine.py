"""Evaluate one Einsum on AccelForge with hyflex's cost models, with a disk cache.

Each Einsum is rendered from the design's AccelForge template (``arch_specs/accelforge/``) and
either evaluated with the design's fixed mapping (``mappings/``, ``spec.evaluate_mapping()``) or
mapped by AccelForge's FFM mapper (``search=True``). Results are cached on disk under a key of
everything that affects them: the rendered parameters, the template and mapping text, the cost
model sources and data file, and the package version.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hyflex_plugin import __version__
from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.architecture.spec import accelforge_spec
from hyflex_plugin.io import atomic_write_json, cache_dir
from hyflex_plugin.workloads.einsums import count_arrays

_COSTMODEL_DIR = Path(__file__).resolve().parents[1] / "costmodels"


@dataclass
class EinsumCost:
    """Cost of one Einsum: energy per component [J], latency [s], MACs, action counts."""

    energy_by_component_j: dict[str, float]
    latency_s: float
    macs: int
    actions: dict[str, float] = field(default_factory=dict)

    @property
    def energy_j(self) -> float:
        """Total energy [J]."""
        return sum(self.energy_by_component_j.values())

    def scaled(self, factor: float) -> EinsumCost:
        """This cost repeated ``factor`` times (energy, latency, MACs and actions scale)."""
        return EinsumCost({k: v * factor for k, v in self.energy_by_component_j.items()},
                          self.latency_s * factor, int(round(self.macs * factor)),
                          {k: v * factor for k, v in self.actions.items()})


_SOURCE_HASH: str | None = None


def _sources_hash() -> str:
    """Hash of the cost-model code and data and of this engine.

    The engine reads AccelForge's results, so a change to either invalidates the cache.
    """
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        h = hashlib.sha256(__version__.encode())
        sources = [p for p in sorted(_COSTMODEL_DIR.rglob("*"))
                   if p.suffix in (".py", ".yaml") and "hwcomponents_entry" not in p.parts]
        for p in [*sources, Path(__file__).resolve()]:
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _SOURCE_HASH = h.hexdigest()
    return _SOURCE_HASH


def _key(design: HyflexDesign, kind: str, params: dict, search: bool) -> str:
    h = hashlib.sha256()
    from hyflex_plugin.costmodels.constants import active_overrides

    what = {"kind": kind, "params": params, "search": search}
    if active_overrides():  # cost-model constants overridden (sensitivity studies)
        what["constants"] = active_overrides()
    h.update(json.dumps(what, sort_keys=True).encode())
    h.update(design.template_path(kind).read_bytes())
    if not search:
        h.update(design.mapping_path(kind).read_bytes())
    h.update(_sources_hash().encode())
    return h.hexdigest()[:32]


def _run_accelforge(design: HyflexDesign, kind: str, params: dict, search: bool) -> EinsumCost:
    from hyflex_plugin.costmodels.hwc_compat import reset_model_cache

    reset_model_cache()
    spec = accelforge_spec(design, kind, params, mapping=not search)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        if search:
            result = _search(spec)
        else:
            result = spec.evaluate_mapping()
    energy = {k: float(v) for k, v in result.energy(per_component=True).items()}
    actions = {f"{c}.{a}": float(n) for (c, a), n in result.actions().items()}
    compute = [k for k in actions if k.endswith(".compute")]
    macs = int(round(sum(actions[k] for k in compute)))
    return EinsumCost(energy, float(result.latency()), macs, actions)


def _search(spec):
    """AccelForge's FFM mapper, then a detailed evaluation of the best mapping (no SVG render).

    Loop-order exploration is off (the mapper's slowest lever). Imperfect spatial loops are on:
    a layer part's output count is often prime (691 MLC columns of a 768-wide layer at 10 % SLC),
    and with perfect factors only the mapper cannot split such a part over its arrays at all.
    What the hardware allows is stated in the templates' constraints (docs/evaluation.md,
    "Mapper constraints").
    """
    from copy import deepcopy

    from accelforge.mapper.FFM.main import map_workload_to_arch
    from accelforge.model.main import evaluate_mapping

    spec.mapper.explore_loop_orders = False
    spec.mapper.explore_imperfect_spatial_loops = True
    mappings = map_workload_to_arch(spec, print_progress=False, eval_in_detail=False)
    if len(mappings.data) == 0:
        raise RuntimeError("AccelForge's mapper found no valid mapping")
    local = deepcopy(spec)
    local.model.metrics = local.mapper.info_metrics
    local.mapping = mappings.data.iloc[0]["Total<SEP>mapping"](_for_model=True)
    return evaluate_mapping(local, flattened_arches=mappings.flattened_arches,
                            evaluated_specs=mappings.evaluated_specs)


def evaluate_einsum(design: HyflexDesign, kind: str, params: dict, search: bool = False,
                    cache: bool = True) -> EinsumCost:
    """Evaluate one Einsum (``kind`` 'analog' or 'digital') rendered with ``params``."""
    params = {k: params[k] for k in sorted(params)}
    path = cache_dir() / f"{_key(design, kind, params, search)}.json"
    if cache and path.is_file():
        try:
            return EinsumCost(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            pass  # a corrupt entry is recomputed
    cost = _run_accelforge(design, kind, params, search)
    if cache:
        atomic_write_json(path, asdict(cost))
    return cost


# ----------------------------------------------------------------------------- parameters
def linear_params(design: HyflexDesign, k: int, n: int, slc: bool, tokens: int = 1,
                  timing=None) -> dict:
    """Template parameters of one linear part (k inputs -> n outputs) in SLC or MLC mode.

    ``timing``: the design's :func:`~hyflex_plugin.evaluation.timing.analog_timing`, if the
    caller has it already (a block asks for a dozen parts of one design).
    """
    from hyflex_plugin.evaluation.timing import analog_timing, conversion_rate_per_array

    a = design.analog
    bits = a.slc_bits_per_cell if slc else a.mlc_bits_per_cell
    hybrid = a.mlc_bits_per_cell != a.slc_bits_per_cell
    adc_bits = a.adc_bits_slc if slc else a.adc_bits_mlc
    return {
        "M": tokens, "K": k, "N": n, "bits_per_cell": bits, "rows": a.rows, "columns": a.columns,
        "input_bits": a.input_bits, "weight_bits": a.weight_bits, "adc_bits": adc_bits,
        "adc_max_bits": a.adc_max_bits,
        # conversions/s of one array's share of ADCs: adcs_per_array / (bits + sampling) x step
        "adc_throughput": conversion_rate_per_array(timing or analog_timing(design), slc),
        "mode_switch": hybrid, "tech_node": design.tech_node, "buffer_bits": design.pu.buffer_bits,
        "buffer_width": design.pu.buffer_width, "cycle": a.cycle,
    }


def attention_params(design: HyflexDesign, heads: int, m: int, j: int, k: int,
                     pus: int = 1) -> dict:
    """Template parameters of one attention matmul C[h,m,j] = sum_k A[h,m,k] B[h,j,k]."""
    d = design.digital
    return {
        "H": heads, "M": m, "J": j, "K": k, "lanes": d.rows, "op_bits": d.op_bits,
        "number_format": d.number_format,
        "total_arrays": pus * design.pu.digital_modules * design.pu.digital_arrays_per_module,
        "tech_node": design.tech_node, "buffer_bits": design.pu.buffer_bits,
        "buffer_width": design.pu.buffer_width, "clock_hz": d.clock,
    }


def arrays_for_linear(design: HyflexDesign, k: int, n: int, slc: bool) -> int:
    """Analog arrays one linear part (k inputs -> n outputs) occupies (whole arrays)."""
    a = design.analog
    return count_arrays(k, n, a.rows, a.columns,
                        a.slc_bits_per_cell if slc else a.mlc_bits_per_cell, a.weight_bits)
