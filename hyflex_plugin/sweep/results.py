"""Sweep results on disk: the results table (parquet + CSV), Pareto fronts, plot, summary.

Every file is written atomically (``hyflex_plugin.io``): a reader, or an interrupted run, only
ever sees a complete earlier or a complete new version.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from hyflex_plugin.io import atomic_write_bytes, atomic_write_text
from hyflex_plugin.sweep.spec import OPS, SweepSpec, parse_constraint

RESULTS = "results.parquet"
KEY_COLUMNS = ["index", "point_id", "model", "seq_len"]
TAIL_COLUMNS = ["engine", "error"]


def frame(rows: list[dict], axes: list[str]):
    """Rows as a DataFrame in a fixed column order, sorted by point index."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values("index", kind="stable").reset_index(drop=True)
    first = [c for c in dict.fromkeys([*KEY_COLUMNS, *axes, "slc_fraction"]) if c in df.columns]
    rest = sorted(c for c in df.columns if c not in first and c not in TAIL_COLUMNS)
    return df[first + rest + [c for c in TAIL_COLUMNS if c in df.columns]]


def write_results(out: Path, rows: list[dict], axes: list[str]) -> None:
    """``results.parquet`` (the resumable record) from ``rows``, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = frame(rows, axes)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    atomic_write_bytes(out / RESULTS, buf.getvalue())


def read_results(out: Path) -> list[dict]:
    """Rows of an earlier (possibly interrupted) run in ``out``; [] if none."""
    import pyarrow.parquet as pq

    p = out / RESULTS
    if not p.is_file():
        return []
    rows = pq.read_table(p).to_pylist()
    # NaN stands for "no such metric in this row" (e.g. ModeSwitch energy on all-SLC designs)
    return [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))}
            for r in rows]


def write_csv(path: Path, df) -> None:
    """Write the table ``df`` as CSV to ``path`` atomically."""
    atomic_write_text(path, df.to_csv(index=False))


def feasible(df, spec: SweepSpec):
    """Rows without error that satisfy every constraint."""
    mask = df["error"].isna() if "error" in df.columns else np.ones(len(df), bool)
    for c in spec.constraints:
        metric, op, value = parse_constraint(c)
        mask &= OPS[op](df[metric], value)
    return df[mask]


def pareto(df, spec: SweepSpec):
    """Non-dominated feasible rows per (model, seq_len) under the spec's objectives."""
    import pandas as pd

    ok = feasible(df, spec)
    parts = []
    for _, g in ok.groupby(["model", "seq_len"], sort=True):
        v = np.column_stack([o.sign * g[o.metric].to_numpy(float) for o in spec.objectives])
        keep = np.ones(len(g), bool)
        for i in range(len(g)):
            ge = np.all(v >= v[i], axis=1)
            gt = np.any(v > v[i], axis=1)
            if np.any(ge & gt):
                keep[i] = False
        parts.append(g[keep])
    return pd.concat(parts) if parts else ok.iloc[0:0]


def plot(path: Path, df, front, shipped: list[dict]) -> None:
    """Throughput vs TOPS/W per (model, N), area as colour, Pareto points ringed, shipped
    designs marked.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["error"].isna()] if "error" in df.columns else df
    groups = sorted(ok.groupby(["model", "seq_len"]).groups)
    if not groups:
        return
    cols = min(2, len(groups))
    rws = math.ceil(len(groups) / cols)
    fig, axs = plt.subplots(rws, cols, figsize=(6.2 * cols, 4.6 * rws), squeeze=False,
                            layout="constrained")
    vmin, vmax = ok["area_mm2"].min(), ok["area_mm2"].max()
    sc = None
    for ax, (model, n) in zip(axs.flat, groups):
        g = ok[(ok["model"] == model) & (ok["seq_len"] == n)]
        sc = ax.scatter(g["tops_per_w"], g["throughput_tops"], c=g["area_mm2"], s=12,
                        cmap="viridis", norm=matplotlib.colors.LogNorm(vmin, vmax), alpha=0.8)
        f = front[(front["model"] == model) & (front["seq_len"] == n)]
        ax.scatter(f["tops_per_w"], f["throughput_tops"], s=40, facecolors="none",
                   edgecolors="red", linewidths=0.9, label="Pareto front")
        marks = [s for s in shipped
                 if s["model"] == model and s["seq_len"] == n and s.get("error") is None]
        for k, s in enumerate(marks):
            ax.scatter([s["tops_per_w"]], [s["throughput_tops"]], marker="*", s=110,
                       color="black", label="shipped designs" if k == 0 else None)
            ax.annotate(s["design"], (s["tops_per_w"], s["throughput_tops"]), fontsize=6,
                        xytext=(6, -22 + 9 * k), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{model}, N = {n}")
        ax.set_xlabel("energy efficiency [TOPS/W]")
        ax.set_ylabel("throughput [TOPS]")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axs.flat)[len(groups):]:
        ax.axis("off")
    fig.colorbar(sc, ax=axs, label="area [mm²]", shrink=0.8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def summary(spec_text: str, df, front, spec: SweepSpec, axes: list[str], stats: dict,
            verification: dict | None) -> str:
    """``summary.md``: the spec, counts, best points, the fast engine's check."""
    err = df[df["error"].notna()] if "error" in df.columns else df.iloc[0:0]
    ok = feasible(df, spec)
    lines = [f"# Sweep `{spec.name}`", "", "## Spec", "", "```yaml", spec_text.rstrip(), "```", "",
             "## Counts", "",
             (f"- points: {stats['points']} ({stats['designs']} design points x "
              f"{len(spec.models)} models x {len(spec.seq_lens)} sequence lengths)"),
             (f"- evaluated in this run: {stats['evaluated']}, taken from an earlier run: "
              f"{stats['resumed']}"),
             f"- invalid or failed (recorded with reason): {len(err)}",
             f"- feasible (no error, constraints {spec.constraints or 'none'}): {len(ok)}",
             f"- on a Pareto front: {len(front)}",
             (f"- engine: {stats['engine']}; time {stats['seconds']:.1f} s "
              f"({stats['points_per_s']:.1f} points/s)"), ""]
    if len(err):
        lines += ["Reasons (first of each kind):", ""]
        for reason in sorted(set(err["error"]))[:10]:
            lines.append(f"- {reason}")
        lines.append("")
    lines += ["## Best points", "",
              "Best feasible point per objective, per model and sequence length.", "",
              "| model | N | objective | value | " + " | ".join(axes) + " |",
              "|---|---|---|---|" + "---|" * len(axes)]
    for (model, n), g in ok.groupby(["model", "seq_len"], sort=True):
        for o in spec.objectives:
            best = g.loc[(o.sign * g[o.metric]).idxmax()]
            word = "max" if o.sign > 0 else "min"
            lines.append(f"| {model} | {n} | {word} {o.metric} | {_fmt(best[o.metric])} | "
                         + " | ".join(_fmt(best[a]) for a in axes) + " |")
    lines.append("")
    lines += ["## Fast engine check", ""]
    if verification is None:
        lines.append("No verification sample (engine accelforge, or --verify 0).")
    else:
        v = verification
        lines += [(f"{v['n']} random points re-evaluated on the exact engine (AccelForge) in "
                   f"{v['seconds']:.1f} s; relative difference fast vs exact:"), "",
                  "| metric | max | median |", "|---|---|---|"]
        for m, d in v["metrics"].items():
            lines.append(f"| {m} | {d['max']:.3%} | {d['median']:.3%} |")
    lines.append("")
    return "\n".join(lines)
