"""The comparison report: Markdown, PNG plots (matplotlib Agg), CSV of every number, JSON.

:func:`write_report` builds the folder in a temporary sibling and renames it into place
(:func:`hyflex_plugin.io.atomic_directory`), so a report written halfway never replaces a
complete one.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from hyflex_plugin.comparison.baselines import (
    BASELINE_KEYS,
    HYFLEX,
    PARTITIONED,
    baseline,
    load_design,
)
from hyflex_plugin.comparison.compare import CATEGORIES, Comparison
from hyflex_plugin.io import atomic_directory, atomic_write_json

PLOTS = ("speedup_vs_n.png", "energy_efficiency_vs_n.png", "energy_breakdown.png", "tops_per_mm2.png")
_ROW_FIELDS = ("design", "label", "model", "seq_len", "slc_fraction", "energy_j", "latency_s",
               "stage_latency_s", "ops", "throughput_tops", "tops_per_w", "tops_per_mm2",
               "area_mm2", "pus", "chips", "pus_per_layer", "fits_one_pu_per_layer", "ops_linear",
               "iso_area_mode", "iso_area_copies", "iso_area_throughput_tops",
               *(f"energy_{c}_j" for c in CATEGORIES), *(f"stage_latency_{c}_s" for c in CATEGORIES))


def _csv(rows: list[dict], fields) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    return buf.getvalue()


def _fmt(v, digits=3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1e4 or abs(v) < 1e-3:
            return f"{v:.{digits}g}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(0, digits - 1 - int(math.log10(abs(v))))}f}"
    return str(v)


def claims_text(claims: list[dict]) -> str:
    """Plain-text claims table (printed by ``hyflex compare`` / ``hyflex demo``)."""
    lines = [f"{'claim':62s} {'paper':>9s} {'model':>8s} {'range (min-max)':>16s} {'inside':>6s} "
             f"{'ratio':>7s}  verdict"]
    for c in claims:
        paper = (f"{c['paper_range'][0]:g}-{c['paper_range'][1]:g}" if c.get("paper_range")
                 else f"{c['paper']:g}")
        model = "n/a" if c["model"] is None else f"{c['model']:.2f}"
        ratio = "n/a" if c["ratio"] is None else f"{c['ratio']:.2f}"
        rng = ("n/a" if c.get("ratio_min") is None
               else f"{c['ratio_min']:.2f}-{c['ratio_max']:.2f}x")
        inside = "n/a" if c.get("paper_inside") is None else ("yes" if c["paper_inside"] else "no")
        lines.append(f"{c['name'][:62]:62s} {paper + 'x':>9s} {model + ('x' if c['model'] else ''):>8s} "
                     f"{rng:>16s} {inside:>6s} {ratio:>7s}  {c['verdict']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plots
def _grid(plt, n: int, w: float, h: float):
    """Figure with one panel per model, at most 3 per row; unused panels hidden."""
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols, h * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _plots(cmp: Comparison, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    slc = cmp.reference.get("slc_fraction", cmp.slc_fractions[0])
    others = [d for d in cmp.designs if d not in (HYFLEX, PARTITIONED.key)]
    n_models = len(cmp.models)
    for fname, metric, title in (("speedup_vs_n.png", "throughput_tops", "throughput speed-up"),
                                 ("energy_efficiency_vs_n.png", "tops_per_w", "energy-efficiency gain")):
        fig, axes = _grid(plt, n_models, 4.8, 3.8)
        for ax, model in zip(axes, cmp.models):
            for d in others:
                xs, ys = [], []
                for n in cmp.seq_lens:
                    h, b = cmp.row(HYFLEX, model, n, slc), cmp.row(d, model, n)
                    if h and b and b[metric] > 0:
                        xs.append(n)
                        ys.append(h[metric] / b[metric])
                if xs:
                    ax.plot(xs, ys, marker="o", label=baseline(d).label)
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("sequence length N")
            ax.set_ylabel(f"HyFlexPIM / baseline ({metric.replace('_', ' ')})")
            ax.set_title(f"{model}: {title} ({slc:.0%} SLC)")
            ax.grid(True, which="both", alpha=0.3)
        if axes[0].get_legend_handles_labels()[0]:
            axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)

    n_ref = cmp.seq_lens[0]
    fig, axes = _grid(plt, n_models, 5.5, 4.2)
    for ax, model in zip(axes, cmp.models):
        rows = [r for d in cmp.designs if (r := cmp.row(d, model, n_ref, slc))]
        comps = sorted({k for r in rows for k in r["energy_by_component_j"]
                        if any(x["energy_by_component_j"].get(k, 0) > 0 for x in rows)})
        bottom = [0.0] * len(rows)
        cmap = plt.get_cmap("tab20")
        for i, comp in enumerate(comps):
            vals = [r["energy_by_component_j"].get(comp, 0.0) * 1e3 for r in rows]
            ax.bar(range(len(rows)), vals, bottom=bottom, label=comp, color=cmap(i % 20))
            bottom = [a + b for a, b in zip(bottom, vals)]
        ax.set_xticks(range(len(rows)), [r["label"] for r in rows], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("energy per inference [mJ]")
        ax.set_title(f"{model}, N = {n_ref}: energy by component")
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "energy_breakdown.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(1.6 * len(cmp.designs) * max(1, n_models) ** 0.5 + 3, 4))
    width = 0.8 / n_models
    for j, model in enumerate(cmp.models):
        vals = [(r["tops_per_mm2"] if (r := cmp.row(d, model, n_ref, slc)) else 0.0) for d in cmp.designs]
        ax.bar([i + j * width for i in range(len(cmp.designs))], vals, width, label=model)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cmp.designs))],
                  [baseline(d).label for d in cmp.designs], rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("TOPS/mm² (area of the PUs used)")
    ax.set_title(f"throughput density at N = {n_ref}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "tops_per_mm2.png", dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- markdown
def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def observations(cmp: Comparison) -> list[str]:
    """Facts read off the rows that a reader of the claims table should know."""
    out = []
    for model in cmp.models:
        for n in (cmp.seq_lens[0], cmp.seq_lens[-1]):
            hs = [r for r in cmp.rows if r["design"] == HYFLEX and r["model"] == model and r["seq_len"] == n]
            if len(hs) < 2:
                continue
            t = [r["throughput_tops"] for r in hs]
            e = [r["tops_per_w"] for r in hs]
            out.append(
                f"{model}, N = {n}: across SLC shares {', '.join(_pct(r['slc_fraction']) for r in hs)} "
                f"HyFlexPIM's throughput changes by {max(t) / min(t) - 1:.1%} and its TOPS/W by "
                f"{max(e) / min(e) - 1:.1%}"
                + (" — in this model the SLC share changes energy, not latency (SLC and MLC parts of a "
                   "layer run in parallel on their own arrays, one ADC per array)" if max(t) / min(t) < 1.001 else "")
                + ".")
            break
    model, n = cmp.models[0], cmp.seq_lens[0]
    h = cmp.row(HYFLEX, model, n, cmp.reference.get("slc_fraction"))
    for d in cmp.designs:
        b = cmp.row(d, model, n)
        if h and b and d != HYFLEX and not 0.5 < b["area_mm2"] / h["area_mm2"] < 2:
            out.append(f"{model}: {b['label']} occupies {b['pus']} PUs, {b['area_mm2']:,.0f} mm² "
                       f"({b['area_mm2'] / h['area_mm2']:.1f}x HyFlexPIM's {h['area_mm2']:,.0f} mm²), "
                       "which sets its TOPS/mm²; area is PUs used x PU area from the component models.")
    for model in cmp.models:
        rows = [r for r in cmp.rows if r["design"] == HYFLEX and r["model"] == model]
        if rows:
            r = max(rows, key=lambda r: r["seq_len"])
            share = r["energy_attention_j"] / r["energy_j"]
            out.append(f"{model}, N = {r['seq_len']}: attention (digital PIM) is {share:.0%} of HyFlexPIM's "
                       "energy, so end-to-end ratios between designs that share the digital path tend to 1.")
    return out


def _share_of(cmp: Comparison, key: str) -> str:
    for r in cmp.rows:
        if r["design"] == key and r["slc_fraction"] is not None:
            return f"{r['slc_fraction']:.0%} SLC"
    return "not run"


def _markdown(cmp: Comparison) -> str:
    """The report: header, claims, modelled designs, published designs, plots and files."""
    parts = (_md_header(cmp), _md_claims(cmp), _md_baselines(cmp), _md_modelled(cmp), _md_fit(cmp),
             _md_iso_area(cmp), _md_observations(cmp), _md_published(cmp), _md_plots_and_files(cmp))
    return "\n".join(line for part in parts for line in part)


def _md_header(cmp: Comparison) -> list[str]:
    """Title, what was run and where the numbers come from."""
    md = ["# HyFlexPIM comparison report (hyflex compare)", ""]
    md.append(f"Models: {', '.join(cmp.models)}; N: {', '.join(map(str, cmp.seq_lens))}; "
              f"HyFlexPIM SLC shares: {', '.join(f'{s:.0%}' for s in cmp.slc_fractions)}; "
              f"designs: {', '.join(baseline(d).label for d in cmp.designs)}.")
    md.append("")
    md.append("Every modelled number comes from hyflex's evaluation (AccelForge with hyflex's "
              "hwcomponents cost models, fixed weight-stationary mappings, 65 nm). Published "
              "numbers are quoted from the data file `hyflex_plugin/comparison/data/` with their "
              "provenance. Ratios are HyFlexPIM / baseline; *ratio* in the claims table is "
              "model / paper.")
    return md


def _md_claims(cmp: Comparison) -> list[str]:
    """The paper's claims next to this model's values and ranges, and why they differ."""
    md = ["", "## The paper's claims against this model", "",
          f"{cmp.reference.get('note', '')}. \"Up to\" claims take the best ratio over the N run.", "",
          "| claim | provenance | paper | model | model range (min / median / max) | paper inside | "
          "model / paper | verdict | N |",
          "|---|---|---|---|---|---|---|---|---|"]
    for c in cmp.claims:
        paper = (f"{c['paper_range'][0]:g}–{c['paper_range'][1]:g}×" if c.get("paper_range")
                 else f"{c['paper']:g}×")
        rng = ("n/a" if c.get("ratio_min") is None else
               f"{c['ratio_min']:.2f} / {c['ratio_median']:.2f} / {c['ratio_max']:.2f}×")
        inside = "n/a" if c.get("paper_inside") is None else ("yes" if c["paper_inside"] else "no")
        md.append(f"| {c['name']} | {c['provenance']} | {paper} | "
                  f"{'n/a' if c['model'] is None else f'{c['model']:.2f}×'} | {rng} | {inside} | "
                  f"{'n/a' if c['ratio'] is None else f'{c['ratio']:.2f}'} | {c['verdict']} | "
                  f"{c['seq_len'] or 'n/a'} |")
    if cmp.sensitivity:
        from hyflex_plugin.comparison.sensitivity import sensitivity_markdown

        md += ["", "### Uncertainty of the model's ratios (sensitivity)", "",
               "The *model range* varies every number that is a choice or an estimate over its "
               "sourced range (cost-model data file, design files, claims file): one at a time "
               "(tornado plots `tornado_<claim>.png`), then a Latin-hypercube sample of all of "
               "them together, on the sweep's fast engine (`hyflex sensitivity` also re-checks "
               "samples on AccelForge). The paper's figures are predictions the model is checked "
               "against, never inputs.", "", sensitivity_markdown(cmp.sensitivity)]
        for key in cmp.sensitivity["claims"]:
            md += [f"![tornado {key}](tornado_{key}.png)", ""]
    md += ["", "### Where and why the model differs", ""]
    for c in cmp.claims:
        md.append(f"- **{c['name']}** — {c['verdict']}. {c['explanation']}")
    return md


def _md_baselines(cmp: Comparison) -> list[str]:
    """How each baseline is treated: modelled, approximated or published only."""
    return ["", "### Baselines: modelled or published", "",
            "| baseline | treatment |", "|---|---|",
            "| ASADI† | modelled: `arch_specs/asadi-dagger.yaml` on the same engine and cost models "
            "(ASADI's organisation, INT8, dense attention) |",
            "| all-SLC, all-MLC, hybrid without redistribution | modelled: HyFlexPIM hardware with a "
            "fixed SLC share ("
            + ", ".join(f"{baseline(k).label} {_share_of(cmp, k)}"
                        for k in ("all-slc", "all-mlc", "hybrid-no-redistribution"))
            + ") |",
            "| digital PIM only | modelled: `arch_specs/digital-pim-only.yaml`, linear layers on the "
            "digital NOR-logic path |",
            "| near-memory processing (NMP) | modelled approximation: the digital-PIM-only design stands "
            "in for it (no NMP design is buildable from hyflex's component models) |",
            "| SPRINT | published only: not buildable from hyflex's component models; only ratios are "
            "available, so the claims are shown without a model value |",
            "| ISAAC | published only (background; CNN accelerator), normalised to 65 nm below |",
            ""]


def _md_modelled(cmp: Comparison) -> list[str]:
    """Every modelled row per model, with speed-up and efficiency gain."""
    slc = cmp.reference.get("slc_fraction")
    md = ["## Modelled designs", ""]
    for model in cmp.models:
        md += [f"### {model}", "",
               "| design | SLC | N | energy [mJ] | stage latency [us] | throughput [TOPS] | TOPS/W | "
               "TOPS/mm² | area [mm²] | PUs | speed-up | eff. gain |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for n in cmp.seq_lens:
            h = cmp.row(HYFLEX, model, n, slc)
            for d in cmp.designs:
                shares = cmp.slc_fractions if d == HYFLEX else [None]
                for s in shares:
                    r = cmp.row(d, model, n, s)
                    if r is None:
                        continue
                    sp = h["throughput_tops"] / r["throughput_tops"] if h else None
                    ef = h["tops_per_w"] / r["tops_per_w"] if h else None
                    md.append(
                        f"| {r['label']} | {_pct(r['slc_fraction'])} | {n} | {_fmt(r['energy_j'] * 1e3)} | "
                        f"{_fmt(r['stage_latency_s'] * 1e6)} | {_fmt(r['throughput_tops'])} | "
                        f"{_fmt(r['tops_per_w'])} | {_fmt(r['tops_per_mm2'])} | {_fmt(r['area_mm2'])} | "
                        f"{r['pus']} | {_fmt(sp)} | {_fmt(ef)} |")
        md.append("")
    md.append(f"Speed-up and efficiency gain: HyFlexPIM at {slc:.0%} SLC divided by the row's design.")
    return md


def _md_fit(cmp: Comparison) -> list[str]:
    """Whether each design holds one transformer block per PU, at the first N."""
    slc = cmp.reference.get("slc_fraction")
    n_ref = cmp.seq_lens[0]
    md = ["", "### Does the model fit each design's organisation?", "",
          "Each design maps one transformer block to one PU (ASADI: one PE per encoder layer). "
          "A block whose weights need more analog arrays than a PU has spans several PUs.", "",
          "| model | design | PUs per block | PUs | chips (PUs per chip) | area [mm²] | one PU per block |",
          "|---|---|---|---|---|---|---|"]
    for model in cmp.models:
        for d in cmp.designs:
            r = cmp.row(d, model, n_ref, slc)
            if r is None:
                continue
            per_chip = load_design(d).chip.processing_units if d in BASELINE_KEYS else "n/a"
            md.append(f"| {model} | {r['label']} | {r['pus_per_layer']} | {r['pus']} | "
                      f"{r['chips']} ({per_chip}) | {_fmt(r['area_mm2'])} | "
                      f"{'yes' if r['fits_one_pu_per_layer'] else 'no'} |")
    return md


def _md_iso_area(cmp: Comparison) -> list[str]:
    """Every design at the area of one HyFlexPIM chip (when the comparison has that view)."""
    slc = cmp.reference.get("slc_fraction")
    md: list[str] = []
    if cmp.iso_area:
        md += ["", "### Iso-area view", "",
               f"Every design gets {_fmt(cmp.iso_area['budget_m2'] * 1e6)} mm², the area of one full "
               "HyFlexPIM chip: a smaller pipeline is replicated, a larger one spanned over the PUs "
               "that fit (crossbars re-programmed between turns, write cost not priced: optimistic), "
               "or reported as not fitting.", "",
               "| model | N | design | area needed [mm²] | view | throughput [TOPS] | "
               "iso-area throughput [TOPS] | note |",
               "|---|---|---|---|---|---|---|---|"]
        for model in cmp.models:
            for n in cmp.seq_lens:
                for d in cmp.designs:
                    r = cmp.row(d, model, n, slc)
                    if r is None or "iso_area_mode" not in r:
                        continue
                    md.append(f"| {model} | {n} | {r['label']} | {_fmt(r['area_mm2'])} | "
                              f"{r['iso_area_mode']} | {_fmt(r['throughput_tops'])} | "
                              f"{_fmt(r['iso_area_throughput_tops'])} | {r['iso_area_note']} |")
        md += ["", "Throughput claims at iso area (HyFlexPIM / baseline): " + "; ".join(
            f"{c['name']}: "
            + ("n/a (baseline does not fit)" if c.get("model_iso_area") is None
               else format(c["model_iso_area"], ".2f") + "x")
            for c in cmp.claims if "model_iso_area" in c) + "."]
    return md


def _md_observations(cmp: Comparison) -> list[str]:
    """What the numbers show, in sentences."""
    md: list[str] = []
    md += ["", "### Observations", ""] + [f"- {o}" for o in observations(cmp)]
    return md


def _md_published(cmp: Comparison) -> list[str]:
    """Published designs as published and normalised, with citations."""
    norm = cmp.normalisation
    md = ["", "## Published designs", "",
          f"Normalised to {norm.get('target_tech_node')} with {norm.get('method')} — "
          f"{' '.join(str(norm.get('source', '')).split())}. {' '.join(str(norm.get('note') or '').split())}",
          "",
          "| design | venue | node | precision | area [mm²] | power [W] | throughput [TOPS] | TOPS/W | "
          "area @65nm [mm²] | TOPS @65nm | TOPS/W @65nm | TOPS/mm² @65nm |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in cmp.published:
        def s(v, f=1.0):
            return "n/a" if v is None else _fmt(v * f)
        star = " (unverified)" if p["unverified"] else ""
        md.append(f"| {p['name']}{star} | {p['venue']} | {p['tech_node']} | {p['precision']} | "
                  f"{s(p['area'], 1e6)} | {s(p['power'])} | {s(p['throughput'], 1e-12)} | "
                  f"{s(p['energy_efficiency'], 1e-12)} | {s(p['area_norm'], 1e6)} | "
                  f"{s(p['throughput_norm'], 1e-12)} | {s(p['energy_efficiency_norm'], 1e-12)} | "
                  f"{s(p['area_efficiency_norm'], 1e-18)} |")
    md.append("")
    for p in cmp.published:
        heads = "; ".join(f"{h['text']}: {h['value']:g}{h['unit']} [{h['provenance']}]"
                          for h in p["headline"])
        md.append(f"- **{p['name']}**: {p['citation']}" + (f", doi:{p['doi']}" if p["doi"] else "")
                  + f". Scope: {p['scope']}." + (f" Headline: {heads}." if heads else "")
                  + (f" Unverified numbers: {', '.join(p['unverified'])}." if p["unverified"] else ""))
    return md


def _md_plots_and_files(cmp: Comparison) -> list[str]:
    """Links to the plots and the list of files in the folder."""
    n_ref = cmp.seq_lens[0]
    md = ["", "## Plots", ""]
    for f, t in zip(PLOTS, ("Speed-up vs N per baseline", "Energy-efficiency gain vs N per baseline",
                            f"Energy breakdown per component (N = {n_ref})", f"TOPS/mm² (N = {n_ref})")):
        md += [f"![{t}]({f})", ""]
    md += ["## Files", "",
           "- `results.csv`: every modelled number (one row per design, model, N, SLC share)",
           "- `energy_by_component.csv`: energy per component of every row",
           "- `claims.csv`, `published.csv`: the two tables above",
           "- `comparison.json`: everything, with `claims` as a list of {name, paper, model, ratio}", ""]
    return md


def write_report(cmp: Comparison, out_dir: str | Path, json_path: str | Path | None = None) -> Path:
    """Write the report folder ``out_dir`` (atomically); optionally the JSON to ``json_path``."""
    out_dir = Path(out_dir)
    data = cmp.to_dict()
    with atomic_directory(out_dir) as tmp:
        (tmp / "results.csv").write_text(_csv(cmp.rows, _ROW_FIELDS))
        comp_rows = [{"design": r["design"], "model": r["model"], "seq_len": r["seq_len"],
                      "slc_fraction": r["slc_fraction"], "component": k, "energy_j": v}
                     for r in cmp.rows for k, v in sorted(r["energy_by_component_j"].items())]
        (tmp / "energy_by_component.csv").write_text(
            _csv(comp_rows, ("design", "model", "seq_len", "slc_fraction", "component", "energy_j")))
        (tmp / "claims.csv").write_text(_csv(cmp.claims, ("key", "name", "provenance", "paper", "model",
                                                          "ratio_min", "ratio_median", "ratio_max",
                                                          "paper_inside", "ratio", "verdict", "seq_len", "model_name",
                                                          "slc_fraction", "baseline", "metric", "scope",
                                                          "explanation")))
        (tmp / "published.csv").write_text(_csv(cmp.published, (
            "key", "name", "venue", "tech_node", "precision", "area", "power", "throughput",
            "energy_efficiency", "area_efficiency", "area_norm", "power_norm", "throughput_norm",
            "energy_efficiency_norm", "area_efficiency_norm", "scale_area", "scale_energy",
            "scale_throughput", "doi", "citation")))
        (tmp / "comparison.json").write_text(json.dumps(data, indent=2) + "\n")
        _plots(cmp, tmp)
        if cmp.sensitivity:
            from hyflex_plugin.comparison.sensitivity import tornado_plot

            for key in cmp.sensitivity["claims"]:
                tornado_plot(cmp.sensitivity, key, tmp / f"tornado_{key}.png")
        (tmp / "report.md").write_text(_markdown(cmp))
    if json_path is not None:
        atomic_write_json(json_path, data)
    return out_dir
