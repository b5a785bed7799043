"""``hyflex compare``: HyFlexPIM against modelled baselines and the paper's published claims.

Python API::

    from hyflex_plugin.comparison import run_comparison, write_report
    cmp = run_comparison(models=["bert-base"], seq_lens=[128, 1024], slc_fractions=[0.1])
    write_report(cmp, "results/compare")          # Markdown + PNG + CSV + JSON, atomically
    cmp.claims                                    # [{name, paper, model, ratio, ...}]

HyFlexPIM runs at every SLC share; fixed-share baselines (ASADI-dagger, all-SLC, all-MLC, hybrid
without redistribution, digital PIM only) once per model and N. Every number comes from the
evaluation stage (AccelForge + hyflex's hwcomponents models), cached on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hyflex_plugin.argtypes import BadValue, fraction, positive_int
from hyflex_plugin.comparison.baselines import (
    BASELINE_KEYS,
    HYFLEX,
    PARTITIONED,
    baseline,
    load_design,
)
from hyflex_plugin.comparison.published import (
    PaperClaims,
    PublishedDesigns,
    load_claims,
    load_published,
    normalised,
)
from hyflex_plugin.console import progress as progress_bar
from hyflex_plugin.errors import HyflexInputError

DEFAULT_MODELS = ("bert-base", "bert-large", "gpt2", "llama-3.2-1b", "vit-base")
DEFAULT_SEQ_LENS = (128, 256, 512, 1024, 2048, 4096, 8192)
DEFAULT_SLC_FRACTIONS = (0.05, 0.10, 0.20, 0.50)
CATEGORIES = ("linear", "attention", "sfu", "link")


@dataclass
class Comparison:
    """All numbers of one comparison run (SI units)."""

    models: list[str]
    seq_lens: list[int]
    slc_fractions: list[float]
    designs: list[str]
    rows: list[dict]
    claims: list[dict] = field(default_factory=list)
    published: list[dict] = field(default_factory=list)
    normalisation: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    sensitivity: dict | None = None
    iso_area: dict | None = None

    def row(self, design: str, model: str, seq_len: int, slc_fraction: float | None = None) -> dict | None:
        """The row of ``design`` (HyFlexPIM: at ``slc_fraction``) for ``model`` at ``seq_len``."""
        for r in self.rows:
            if (r["design"] == design and r["model"] == model and r["seq_len"] == seq_len
                    and (design != HYFLEX or slc_fraction is None
                         or abs(r["slc_fraction"] - slc_fraction) < 1e-9)):
                return r
        return None

    def to_dict(self) -> dict:
        """Everything as plain JSON-able data (what ``comparison.json`` holds)."""
        return {
            "config": {"models": self.models, "seq_lens": self.seq_lens,
                       "slc_fractions": self.slc_fractions, "designs": self.designs},
            "reference": self.reference,
            "claims": self.claims,
            "published": self.published,
            "normalisation": self.normalisation,
            "sensitivity": self.sensitivity,
            "iso_area": self.iso_area,
            "rows": self.rows,
        }


def _row(design_key: str, result, requested_slc: float | None) -> dict:
    d = result.to_dict()
    layers = result.layers
    slowest = max(layers, key=lambda layer: layer.latency_s)
    stage_by_cat = {c: 0.0 for c in CATEGORIES}
    for name, e in slowest.einsums.items():
        if slowest.category[name] != "linear":
            stage_by_cat[slowest.category[name]] += e.latency_s
    stage_by_cat["linear"] = max(0.0, slowest.latency_s - sum(stage_by_cat.values()))
    ops_linear = 2 * sum(e.macs for layer in layers for n, e in layer.einsums.items()
                         if layer.category[n] == "linear")
    row = {
        "design": design_key, "label": baseline(design_key).label, "model": d["model"],
        "seq_len": d["seq_len"],
        "slc_fraction": (requested_slc if design_key in (HYFLEX, PARTITIONED.key)
                         else d["slc_fraction"]),
        "energy_j": d["energy_j"], "latency_s": d["latency_s"], "ops": d["ops"],
        "stage_latency_s": slowest.latency_s,
        "throughput_tops": d["throughput_tops"], "tops_per_w": d["tops_per_w"],
        "tops_per_mm2": d["tops_per_mm2"], "area_mm2": d["area_mm2"],
        "pus": d["pus"], "chips": d["chips"], "ops_linear": ops_linear,
        "pus_per_layer": d["pus_per_layer"], "fits_one_pu_per_layer": d["pus_per_layer"] == 1,
        # the slowest block's copies per matrix part (SLC part first) and arrays in use
        "replicas": {m: [p["replicas"] for p in parts] for m, parts in slowest.replicas.items()},
        "replica_arrays": slowest.replica_arrays,
    }
    for c in CATEGORIES:
        row[f"energy_{c}_j"] = d["energy_by_category_j"].get(c, 0.0)
        row[f"stage_latency_{c}_s"] = stage_by_cat[c]
    row["energy_by_component_j"] = d["energy_by_component_j"]
    return row


def _check_list(option: str, field_name: str, values, allowed=None, parse=None) -> list:
    """``values`` as a list without repeats, each parsed by ``parse`` (an argtypes function)."""
    values = list(values)
    if not values:
        raise HyflexInputError(option, field_name, "expected at least one value")
    if parse is not None:
        try:
            values = [parse(v) for v in values]
        except BadValue as exc:
            raise HyflexInputError(option, field_name, str(exc)) from None
    for v in values:
        if allowed is not None and v not in allowed:
            raise HyflexInputError(option, field_name, f"unknown {v!r}: expected one of {', '.join(allowed)}")
    unique = []
    for v in values:  # order-keeping de-duplication (values may be unhashable ModelShapes)
        if v not in unique:
            unique.append(v)
    return unique


def partition_share(partition) -> float:
    """Share of the stored weights a partition file puts in SLC (all matrices, all layers)."""
    slc = mlc = 0
    for layer in partition.layers:
        for m in layer.matrices:
            s, r = m.weight_counts()
            slc, mlc = slc + s, mlc + r
    return slc / (slc + mlc) if slc + mlc else 0.0


def run_comparison(models=DEFAULT_MODELS, seq_lens=DEFAULT_SEQ_LENS,
                   slc_fractions=DEFAULT_SLC_FRACTIONS, designs=BASELINE_KEYS,
                   cache: bool = True, progress: bool = True, partition=None,
                   sensitivity_samples: int = 200, sensitivity_seed: int = 0,
                   iso_area: bool = False) -> Comparison:
    """Evaluate HyFlexPIM and the modelled baselines; compute the claims table.

    ``sensitivity_samples`` > 0 also gives every modelled claim its range (``ratio_min``,
    ``ratio_median``, ``ratio_max``, ``paper_inside``) from a Latin-hypercube sample of every
    ranged number (see :mod:`hyflex_plugin.comparison.sensitivity`); 0 skips it.
    ``iso_area``: also give every design the silicon area of HyFlexPIM's chip (replicating or
    spanning its pipeline, :mod:`hyflex_plugin.comparison.isoarea`): ``iso_area_*`` fields in
    every row and ``model_iso_area`` in the throughput claims.
    ``partition``: a partition file (path or ``PartitionFile``) from gradient redistribution;
    HyFlexPIM is then also run with it (design ``hyflexpim-partition``). With ``models=None`` the
    model is the partition's; otherwise every model must match the partition's shape.
    """
    from hyflex_plugin.evaluation import EvaluationRequest, evaluate
    from hyflex_plugin.partition.schema import PartitionFile
    from hyflex_plugin.workloads.einsums import check_seq_len
    from hyflex_plugin.workloads.shapes import ModelShape, load_model_shape

    part = None
    if partition is not None:
        part = partition if isinstance(partition, PartitionFile) else PartitionFile.load(partition)
        if models is None:
            info = part.model
            models = [ModelShape(name=info.name, n_layers=info.n_layers, hidden_size=info.hidden_size,
                                 num_heads=info.num_heads, num_kv_heads=info.num_kv_heads,
                                 intermediate_size=info.intermediate_size,
                                 gated_ffn=any(lp.matrix("ffn_gate") for lp in part.layers))]
    models = _check_list("--model", "model", models if models is not None else DEFAULT_MODELS)
    shapes = [load_model_shape(m) for m in models]  # clear error for an unknown model
    seen: dict[str, object] = {}
    for m, shape in zip(models, shapes):  # rows and report headings are keyed by the name
        if shape.name in seen:
            raise HyflexInputError("--model", "model",
                                   f"{seen[shape.name]!s} and {m!s} are both named {shape.name!r}: "
                                   "expected models with different names (a config.json is named "
                                   "by its _name_or_path, else its folder or file stem)")
        seen[shape.name] = m
    seq_lens = sorted(check_seq_len(n) for n in _check_list("--seq-len", "seq_len", seq_lens,
                                                            parse=positive_int))
    slc_fractions = sorted(_check_list("--slc-fraction", "slc_fraction", slc_fractions,
                                       parse=fraction))
    designs = _check_list("--design", "design", designs, allowed=BASELINE_KEYS)
    if HYFLEX not in designs:
        designs = [HYFLEX] + designs
    if part is not None:
        designs = designs + [PARTITIONED.key]
    # the evaluation stage checks the published data first: a bad data file fails fast
    published = load_published()
    claims = load_claims()
    loaded = {k: load_design(k) for k in designs if k != PARTITIONED.key}
    # every request is validated (partition against each model too) before anything runs
    part_source = "--partition" if isinstance(partition, PartitionFile) else str(partition)
    jobs = []  # (design key, request, SLC share reported in the row)
    for shape in shapes:
        for n in seq_lens:
            for k in designs:
                if k == PARTITIONED.key:
                    jobs.append((k, EvaluationRequest(
                        model=shape, seq_len=n, slc_fraction=None, partition=part,
                        partition_source=part_source, design=loaded[HYFLEX], cache=cache),
                        partition_share(part)))
                    continue
                shares = slc_fractions if loaded[k].slc_fraction is None else [None]
                jobs.extend((k, EvaluationRequest(model=shape, seq_len=n, slc_fraction=s,
                                                  design=loaded[k], cache=cache), s)
                            for s in shares)
    rows = [_row(k, evaluate(request), share) for k, request, share in
            progress_bar(jobs, enabled=progress, desc="hyflex compare", unit="eval")]
    cmp = Comparison([s.name for s in shapes], seq_lens, slc_fractions, list(designs), rows)
    cmp.normalisation = published.normalisation.model_dump()
    cmp.published = published_table(published)
    if iso_area:
        from hyflex_plugin.comparison.isoarea import add_iso_area

        budget = add_iso_area(cmp.rows)
        cmp.iso_area = {"budget_m2": budget, "design": HYFLEX,
                        "note": "every design gets the area of one full HyFlexPIM chip"}
    cmp.claims = claims_table(cmp, claims)
    if isinstance(sensitivity_samples, bool) or not isinstance(sensitivity_samples, int) \
            or sensitivity_samples < 0 or sensitivity_samples == 1:
        raise HyflexInputError("--sensitivity-samples", "sensitivity_samples",
                               f"expected 0 (no ranges) or an integer >= 2, got {sensitivity_samples!r}")
    if sensitivity_samples:
        from hyflex_plugin.comparison.sensitivity import (
            apply_to_claims,
            run_sensitivity,
        )

        ref = next(sh for sh in shapes if sh.name == cmp.reference["model"])
        keys = [c.key for c in claims.claims if c.baseline is not None and c.baseline in designs]
        if keys:
            cmp.sensitivity = run_sensitivity(ref, cmp.seq_lens, keys, samples=sensitivity_samples,
                                              seed=sensitivity_seed, recheck=0, cache=cache,
                                              progress=progress)
        apply_to_claims(cmp.claims, cmp.sensitivity or {"claims": {}})
    return cmp


def published_table(published: PublishedDesigns) -> list[dict]:
    """Published designs as rows: as published (SI) and normalised to the target node."""
    out = []
    for d in published.designs:
        n = normalised(d, published.normalisation.target_tech_node)
        out.append({"key": d.key, "name": d.name, "venue": d.venue, "tech_node": d.tech_node,
                    "precision": d.precision, "modelled_by": d.modelled_by, "scope": d.scope,
                    "citation": " ".join(d.citation.split()), "doi": d.doi,
                    "unverified": sorted(k for k, q in d.metrics.items() if not q.verified),
                    "headline": [h.model_dump() for h in d.headline], **n})
    return out


def _metric(row: dict, metric: str, scope: str) -> float:
    if scope == "linear":
        if metric == "energy_efficiency":
            return row["ops_linear"] / row["energy_linear_j"]
        return row["ops_linear"] / row["stage_latency_linear_s"]
    return row["throughput_tops"] if metric == "throughput" else row["tops_per_w"]


def _closest(values, target):
    return min(values, key=lambda v: (abs(v - target), v))


def claim_value(c, row_of, seq_lens) -> tuple[float, int, dict, dict] | None:
    """(value, N, HyFlexPIM row, baseline row) of claim ``c``: the ratio of ``c.metric`` at the
    claim's N (the closest run) or, for an "up to" claim, the best over ``seq_lens``.
    ``row_of(design_key, n)`` returns a row dict (keys as in ``Comparison.rows``) or None.
    """
    if c.seq_len is None:
        ns = list(seq_lens)
    else:
        ns = [c.seq_len if c.seq_len in seq_lens else _closest(seq_lens, c.seq_len)]
    best = None
    for n in ns:
        h, b = row_of(HYFLEX, n), row_of(c.baseline, n)
        if h is None or b is None:
            continue
        value = _metric(h, c.metric, c.scope) / _metric(b, c.metric, c.scope)
        if best is None or value > best[0]:
            best = (value, n, h, b)
    return best


def claims_table(cmp: Comparison, claims: PaperClaims) -> list[dict]:
    """The paper's claims next to this model's value: list of {name, paper, model, ratio, ...}."""
    model = claims.reference_model if claims.reference_model in cmp.models else cmp.models[0]
    slc = _closest(cmp.slc_fractions, claims.hyflex_slc_fraction)
    cmp.reference = {"model": model, "slc_fraction": slc,
                     "note": f"claims use {model} with HyFlexPIM at {slc:.0%} SLC"}
    out = []
    for c in claims.claims:
        entry = {"key": c.key, "name": c.name, "paper": c.paper, "paper_range": c.paper_range,
                 "provenance": c.provenance, "metric": c.metric, "scope": c.scope,
                 "baseline": c.baseline, "model": None, "ratio": None, "seq_len": None,
                 "model_name": model, "slc_fraction": slc, "verdict": "", "explanation": ""}
        if c.baseline is None:
            entry["verdict"] = "not modelled (published-only baseline)"
            entry["explanation"] = " ".join(c.drivers.split())
            out.append(entry)
            continue
        if c.baseline not in cmp.designs:
            entry["verdict"] = f"baseline {c.baseline} not in this run"
            out.append(entry)
            continue
        best = claim_value(c, lambda d, n: cmp.row(d, model, n, slc), cmp.seq_lens)
        if best is None:
            entry["verdict"] = "no rows for this claim in this run"
            out.append(entry)
            continue
        value, n, h, b = best
        entry.update(model=value, ratio=value / c.paper, seq_len=n)
        if cmp.iso_area is not None and c.metric == "throughput" and c.scope == "end_to_end":
            hi, bi = h.get("iso_area_throughput_tops"), b.get("iso_area_throughput_tops")
            entry["model_iso_area"] = hi / bi if hi and bi else None
        lo, hi = c.paper_range if c.paper_range else (c.paper, c.paper)
        if lo * (1 - claims.agreement_tolerance) <= value <= hi * (1 + claims.agreement_tolerance):
            entry["verdict"] = "agrees"
        elif value > hi:
            entry["verdict"] = f"model higher by {value / hi:.2f}x"
        else:
            entry["verdict"] = f"model lower by {lo / value:.2f}x"
        if c.seq_len is not None and n != c.seq_len:
            entry["verdict"] += f" (N = {n} used; {c.seq_len} not run)"
        entry["explanation"] = _explain(c, h, b) + " Assumption: " + " ".join(c.drivers.split())
        out.append(entry)
    return out


def _explain(c, h: dict, b: dict) -> str:
    """Numbers behind one model value: where the two designs differ most."""
    name_b = b["label"]
    if c.metric == "throughput":
        parts = [f"{cat} {h[f'stage_latency_{cat}_s'] * 1e6:.1f} vs "
                 f"{b[f'stage_latency_{cat}_s'] * 1e6:.1f} us"
                 for cat in CATEGORIES if h[f"stage_latency_{cat}_s"] or b[f"stage_latency_{cat}_s"]]
        return (f"Slowest pipeline stage at N = {h['seq_len']}: "
                f"HyFlexPIM {h['stage_latency_s'] * 1e6:.1f} us, "
                f"{name_b} {b['stage_latency_s'] * 1e6:.1f} us ({'; '.join(parts)}); "
                f"PUs used {h['pus']} vs {b['pus']}.")
    cats = CATEGORIES if c.scope == "end_to_end" else ("linear",)
    gap = max(cats, key=lambda cat: abs(b[f"energy_{cat}_j"] - h[f"energy_{cat}_j"]))
    shares = "; ".join(f"{cat} {h[f'energy_{cat}_j'] * 1e3:.3f} vs {b[f'energy_{cat}_j'] * 1e3:.3f} mJ"
                       for cat in cats)
    return (f"Energy at N = {h['seq_len']}, HyFlexPIM vs {name_b}: {shares}; the largest gap is "
            f"in {gap}{_component_gap(h, b, 'linear')}.")


def _component_gap(h: dict, b: dict, cat: str) -> str:
    eh, eb = h["energy_by_component_j"], b["energy_by_component_j"]
    keys = {k for k in list(eh) + list(eb) if k.startswith(cat + ".")}
    if not keys:
        return ""
    k = max(keys, key=lambda k: abs(eb.get(k, 0.0) - eh.get(k, 0.0)))
    return (f" (linear-layer component with the largest gap: {k.split('.', 1)[1]}, "
            f"{eh.get(k, 0.0) * 1e3:.3f} vs {eb.get(k, 0.0) * 1e3:.3f} mJ)")
