"""``hyflex sensitivity``: the paper's claims as ranges, from every chosen or estimated number.

Each number that is a choice or an estimate carries a ``range`` with its source where it lives:
the cost-model data file (``range``/``range_source`` of a constant), a design file (``ranges:``
by dotted field name) or the claims file (``hyflex_slc_fraction_range``). This module

1. evaluates the designs a claim needs for any set of values (:class:`ClaimStudy`) on the
   sweep's fast engine (:func:`hyflex_plugin.sweep.evaluate_points`: the exact engine's
   evaluation with AccelForge's per-Einsum results replaced by their closed form; varied
   constants are overridden for the batch, varied design fields set in the design), HyFlexPIM
   at the nearest of a grid of SLC shares;
2. varies one number at a time over its range (tornado), then a Latin-hypercube sample of all of
   them together, and reports per claim the model's min / median / max ratio (min and max over
   every evaluated point, the median over the sample) and whether the paper's figure lies
   inside;
3. re-checks a few samples on the exact engine (the same ``evaluate_points`` call with
   ``engine="accelforge"``: constants replaced in-process, cache keyed on them) and reports the
   largest relative difference.

The claims' paper figures are never read by the model: they only label the result.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from hyflex_plugin.comparison.baselines import HYFLEX, load_design
from hyflex_plugin.comparison.compare import _row, claim_value
from hyflex_plugin.comparison.published import PaperClaims, load_claims
from hyflex_plugin.console import progress as progress_bar
from hyflex_plugin.costmodels.constants import DATA_FILE, load_constants
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation.model import ModelResult

DEFAULT_SEQ_LENS = (128, 1024, 8192)
TOP_DRIVERS = 8


@dataclass(frozen=True)
class Param:
    """One number varied over its range."""

    key: str             # unique id: const:<name> | design:<design>:<field> | claims:hyflex_slc_fraction
    kind: str            # const | design | share
    name: str            # constant name, dotted design field, or hyflex_slc_fraction
    design: str | None   # design key (kind design)
    nominal: float
    lo: float
    hi: float
    unit: str
    source: str          # where the range comes from
    file: str            # the file that holds the number

    def to_dict(self) -> dict:
        """The parameter as JSON-able data."""
        return {k: getattr(self, k) for k in ("key", "kind", "name", "design", "nominal", "lo",
                                              "hi", "unit", "source", "file")}


def parameters(design_keys, claims: PaperClaims | None = None) -> list[Param]:
    """Every ranged number that can move a claim on ``design_keys``."""
    claims = claims or load_claims()
    out = []
    for name, c in load_constants().constants.items():
        if c.range is not None:
            out.append(Param(f"const:{name}", "const", name, None, c.value, c.range[0],
                             c.range[1], c.unit, c.range_source or "", str(DATA_FILE)))
    for k in design_keys:
        d = load_design(k)
        for fname, r in d.ranges.items():
            if fname == "slc_fraction":
                continue  # a fixed-share design's share is not varied (no claim uses one)
            out.append(Param(f"design:{k}:{fname}", "design", fname, k,
                             float(d.field_value(fname)), r.range[0], r.range[1], "",
                             r.source, k))
    if claims.hyflex_slc_fraction_range is not None and HYFLEX in design_keys:
        lo, hi = claims.hyflex_slc_fraction_range
        out.append(Param("claims:hyflex_slc_fraction", "share", "hyflex_slc_fraction", HYFLEX,
                         claims.hyflex_slc_fraction, lo, hi, "fraction",
                         claims.hyflex_slc_fraction_range_source or "", "paper_claims.yaml"))
    return out


# ----------------------------------------------------------------------------- evaluation
class ClaimStudy:
    """The designs the claims need, evaluated for any parameter values (fast or exact engine)."""

    def __init__(self, model, seq_lens, design_keys, params: list[Param], claims: PaperClaims):
        self.model, self.seq_lens = model, sorted(seq_lens)
        self.design_keys = list(design_keys)
        self.params, self.claims = params, claims
        self.designs = {k: load_design(k) for k in self.design_keys}
        share = [p for p in params if p.kind == "share"]
        self.shares = (sorted({share[0].lo, share[0].nominal, (share[0].lo + share[0].hi) / 2,
                               share[0].hi}) if share else [claims.hyflex_slc_fraction])

    def nominal_values(self) -> dict[str, float]:
        """Every parameter at its nominal value."""
        return {p.key: p.nominal for p in self.params}

    def split(self, values: dict[str, float]):
        """(constants, designs, share) of a parameter assignment (missing keys: nominal)."""
        v = {**self.nominal_values(), **values}
        consts = {p.name: v[p.key] for p in self.params
                  if p.kind == "const" and v[p.key] != p.nominal}
        designs = dict(self.designs)
        for p in self.params:
            if p.kind == "design" and v[p.key] != p.nominal:
                designs[p.design] = designs[p.design].with_value(p.name, v[p.key])
        share = self.claims.hyflex_slc_fraction
        for p in self.params:
            if p.kind == "share":
                share = min(self.shares, key=lambda s: (abs(s - v[p.key]), s))
        return consts, designs, share

    def rows(self, values: dict[str, float], engine: str = "fast",
             cache: bool = True) -> dict[tuple[str, int], dict]:
        """Row dicts (as in ``Comparison.rows``) per (design, N) for ``values`` on ``engine``
        (``fast`` or ``accelforge``, see :func:`hyflex_plugin.sweep.evaluate_points`).
        """
        from hyflex_plugin.sweep.engines import evaluate_points

        consts, designs, share = self.split(values)
        points = [{"design": designs[k], "model": self.model, "seq_len": n,
                   "slc_fraction": share, "key": k}
                  for k in self.design_keys for n in self.seq_lens]

        def row(point: dict, result: ModelResult) -> dict:
            k = point["key"]
            return _row(k, result, share if designs[k].slc_fraction is None else None)

        out = {}
        for p, r in zip(points, evaluate_points(points, engine, constants=consts, cache=cache,
                                                row=row)):
            if r["error"] is not None:
                raise RuntimeError(f"sensitivity: {p['key']} at N = {p['seq_len']} with "
                                   f"{values}: {r['error']}")
            out[(p["key"], p["seq_len"])] = r
        return out

    def exact_rows(self, values: dict[str, float], cache: bool = True) -> dict[tuple[str, int], dict]:
        """The same rows from the exact engine (AccelForge re-run under the replaced constants)."""
        return self.rows(values, "accelforge", cache)

    def claim_values(self, rows: dict[tuple[str, int], dict], claim_keys) -> dict[str, float]:
        """Each claim's model value from rows keyed by (design, N)."""
        out = {}
        for key in claim_keys:
            c = self.claims.claim(key)
            best = claim_value(c, lambda d, n: rows.get((d, n)), self.seq_lens)
            if best is not None:
                out[key] = best[0]
        return out


# ----------------------------------------------------------------------------- the study
def modelled_claims(claims: PaperClaims, claim_keys=None) -> list[str]:
    """Keys of the claims with a modelled baseline (``claim_keys`` checked against the file)."""
    if claim_keys:
        for k in claim_keys:
            c = claims.claim(k)
            if c.baseline is None:
                raise HyflexInputError("--claim", "claim", f"claim {k!r} has a published-only "
                                       "baseline: no model value to vary")
        return list(dict.fromkeys(claim_keys))
    return [c.key for c in claims.claims if c.baseline is not None]


def run_sensitivity(model="bert-large", seq_lens=DEFAULT_SEQ_LENS, claim_keys=None,
                    samples: int = 500, seed: int = 0, recheck: int = 2, cache: bool = True,
                    progress: bool = True) -> dict:
    """One-at-a-time, then Latin-hypercube sensitivity of the modelled claims (see module doc)."""
    from scipy.stats import qmc

    from hyflex_plugin.workloads.shapes import load_model_shape

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise HyflexInputError("--samples", "samples", f"expected an integer >= 2, got {samples!r}")
    if isinstance(recheck, bool) or not isinstance(recheck, int) or recheck < 0:
        raise HyflexInputError("--recheck", "recheck", f"expected an integer >= 0, got {recheck!r}")
    for n in seq_lens:
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise HyflexInputError("--seq-len", "seq_len", f"expected positive integers, got {n!r}")
    shape = load_model_shape(model)
    claims = load_claims()
    keys = modelled_claims(claims, claim_keys)
    designs = [HYFLEX] + sorted({claims.claim(k).baseline for k in keys})
    params = parameters(designs, claims)
    rc = ClaimStudy(shape, seq_lens, designs, params, claims)

    nominal = rc.claim_values(rc.rows({}), keys)
    oat = {k: [] for k in keys}
    for p in progress_bar(params, desc="sensitivity: one at a time", enabled=progress):
        lo = rc.claim_values(rc.rows({p.key: p.lo}), keys)
        hi = rc.claim_values(rc.rows({p.key: p.hi}), keys)
        for k in keys:
            if k in lo and k in hi:
                oat[k].append({"param": p.key, "value_at_min": lo[k], "value_at_max": hi[k],
                               "swing": abs(hi[k] - lo[k])})
    unit = qmc.LatinHypercube(d=len(params), seed=seed).random(samples)
    points = [{p.key: p.lo + u * (p.hi - p.lo) for p, u in zip(params, row)} for row in unit]
    values = {k: [] for k in keys}
    for pt in progress_bar(points, desc="sensitivity: Latin hypercube", enabled=progress):
        cv = rc.claim_values(rc.rows(pt), keys)
        for k in keys:
            values[k].append(cv.get(k, math.nan))

    result_claims = {}
    for k in keys:
        c = claims.claim(k)
        vs = sorted(v for v in values[k] if not math.isnan(v))
        # the range covers every evaluated point: the sample, the nominal and the one-at-a-time ends
        ends = vs + [nominal[k]] * (k in nominal) + [x for d in oat[k]
                                                     for x in (d["value_at_min"], d["value_at_max"])]
        lo, hi = c.paper_range if c.paper_range else (c.paper, c.paper)
        top = sorted(oat[k], key=lambda d: -d["swing"])[:TOP_DRIVERS]
        result_claims[k] = {
            "name": c.name, "paper": c.paper, "paper_range": c.paper_range,
            "nominal": nominal.get(k),
            "ratio_min": min(ends) if vs else None,
            "ratio_median": statistics.median(vs) if vs else None,
            "ratio_max": max(ends) if vs else None,
            "paper_inside": bool(vs) and hi >= min(ends) and lo <= max(ends),
            "one_at_a_time": sorted(oat[k], key=lambda d: -d["swing"]),
            "top_drivers": top,
        }
    checks = []
    if recheck:
        pick = _recheck_points(points, values[keys[0]], recheck)
        for i in progress_bar(pick, desc="sensitivity: AccelForge re-check", enabled=progress):
            fast = rc.claim_values(rc.rows(points[i]), keys)
            exact = rc.claim_values(rc.exact_rows(points[i], cache=cache), keys)
            for k in keys:
                if k in fast and k in exact:
                    checks.append({"sample": i, "claim": k, "fast": fast[k], "exact": exact[k],
                                   "rel_err": abs(fast[k] - exact[k]) / abs(exact[k])})
    return {
        "model": shape.name, "seq_lens": rc.seq_lens, "samples": samples, "seed": seed,
        "designs": designs, "slc_share_grid": rc.shares,
        "params": [p.to_dict() for p in params],
        "claims": result_claims,
        "recheck": checks,
        "recheck_max_rel_err": max((c["rel_err"] for c in checks), default=None),
    }


def _recheck_points(points, values, n: int) -> list[int]:
    """The samples giving the lowest and highest value of the first claim, then evenly spaced."""
    order = sorted(range(len(points)), key=lambda i: (math.isnan(values[i]), values[i]))
    pick = [order[0], order[-1]] + [order[len(order) * (j + 1) // (n + 1)] for j in range(n)]
    return list(dict.fromkeys(pick))[:n]


def apply_to_claims(claims_table: list[dict], study: dict) -> None:
    """Put each claim's range (``ratio_min/median/max``, ``paper_inside``) into a claims table."""
    for entry in claims_table:
        s = study["claims"].get(entry["key"])
        for f in ("ratio_min", "ratio_median", "ratio_max", "paper_inside"):
            entry[f] = s[f] if s else None
        entry["top_drivers"] = [d["param"] for d in s["top_drivers"][:3]] if s else []


def tornado_plot(study: dict, key: str, path) -> None:
    """Horizontal bars: the claim's value with each of the 8 largest drivers at its min and max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = study["claims"][key]
    top = s["top_drivers"]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * max(len(top), 1) + 1.6))
    nominal = s["nominal"]
    for i, d in enumerate(reversed(top)):
        a, b = d["value_at_min"], d["value_at_max"]
        ax.barh(i, b - nominal, left=nominal, color="tab:orange", alpha=0.8)
        ax.barh(i, a - nominal, left=nominal, color="tab:blue", alpha=0.8)
    ax.set_yticks(range(len(top)))
    ax.set_yticklabels([d["param"].split(":", 1)[1] for d in reversed(top)], fontsize=8)
    ax.axvline(nominal, color="k", lw=1)
    lo, hi = s["paper_range"] or (s["paper"], s["paper"])
    ax.axvspan(lo * 0.995, hi * 1.005, color="tab:green", alpha=0.3, label="paper")
    ax.set_xlabel("HyFlexPIM / baseline (blue: driver at its min, orange: at its max)")
    ax.set_title(s["name"], fontsize=9)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sensitivity_markdown(study: dict) -> str:
    """The study as Markdown: ranges per claim, the drivers, the parameters and the re-check."""
    lines = [f"Model {study['model']}, N = {', '.join(map(str, study['seq_lens']))}; "
             f"{study['samples']} Latin-hypercube samples (seed {study['seed']}) of "
             f"{len(study['params'])} ranged numbers; HyFlexPIM's SLC share is sampled on the "
             f"grid {', '.join(f'{s:.3g}' for s in study['slc_share_grid'])}.", "",
             "| claim | paper | model (nominal) | min | median | max | paper inside |",
             "|---|---|---|---|---|---|---|"]
    for s in study["claims"].values():
        paper = (f"{s['paper_range'][0]:g}-{s['paper_range'][1]:g}x" if s["paper_range"]
                 else f"{s['paper']:g}x")
        lines.append(f"| {s['name']} | {paper} | {s['nominal']:.3f}x | {s['ratio_min']:.3f}x | "
                     f"{s['ratio_median']:.3f}x | {s['ratio_max']:.3f}x | "
                     f"{'yes' if s['paper_inside'] else 'no'} |")
    lines += ["", "Largest drivers (one at a time, claim value with the number at its min -> max):", ""]
    for s in study["claims"].values():
        drivers = "; ".join(f"{d['param'].split(':', 1)[1]} {d['value_at_min']:.3f} -> "
                            f"{d['value_at_max']:.3f}" for d in s["top_drivers"][:4])
        lines.append(f"- {s['name']}: {drivers}")
    lines += ["", "| number | file | nominal | min | max | source of the range |", "|---|---|---|---|---|---|"]
    for p in study["params"]:
        lines.append(f"| {p['name']}{' (' + p['design'] + ')' if p['design'] else ''} | "
                     f"{p['file'].rsplit('/', 1)[-1]} | {p['nominal']:.4g} | {p['lo']:.4g} | "
                     f"{p['hi']:.4g} | {p['source']} |")
    if study["recheck"]:
        lines += ["", f"Re-check on the exact engine (AccelForge): {len(study['recheck'])} claim "
                  f"values of {len({c['sample'] for c in study['recheck']})} samples, largest "
                  f"relative difference {study['recheck_max_rel_err']:.2e}."]
    return "\n".join(lines) + "\n"


def write_sensitivity(study: dict, out) -> None:
    """sensitivity.json, sensitivity.md and one tornado_<claim>.png per claim, atomically."""
    from hyflex_plugin.io import atomic_directory, atomic_write_json, atomic_write_text

    with atomic_directory(out) as tmp:
        atomic_write_json(tmp / "sensitivity.json", study)
        atomic_write_text(tmp / "sensitivity.md", "# Sensitivity of the claims\n\n"
                          + sensitivity_markdown(study))
        for key in study["claims"]:
            tornado_plot(study, key, tmp / f"tornado_{key}.png")
