"""Markdown tables of a finished study (``results/study_<model>/*.csv``), as docs/redistribution.md
shows them, so the numbers in the docs are printed from the results and not typed by hand.

    PYTHONPATH=. .venv/bin/python benchmarks/study_tables.py --model minilm
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MAIN = ("redistribution", "brute-force-equal", "brute-force")
VARIANTS = ("redistribution-product", "redistribution-u-only", "redistribution-svt-only")


def _read(folder: Path, name: str) -> list[dict]:
    path = folder / name
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _pts(x: str | float) -> str:
    return f"{float(x) * 100:.1f}"


def _ci(r: dict, key: str, lo: str, hi: str) -> str:
    return f"{_pts(r[key])} [{_pts(r[lo])}, {_pts(r[hi])}]"


def _p(p: str) -> str:
    v = float(p)
    return "p < 0.001" if v < 0.001 else f"p = {v:.2g}"


def references(folder: Path) -> str:
    """Mean (range) over runs of every noise-free reference accuracy."""
    by = defaultdict(list)
    for r in _read(folder, "references.csv"):
        by[r["reference"]].append(float(r["accuracy"]))
    lines = ["| reference | accuracy, % (mean over runs; range) |", "|---|---|"]
    for k, v in sorted(by.items()):
        lines.append(f"| {k} | {sum(v) / len(v) * 100:.1f} ({min(v) * 100:.1f}–{max(v) * 100:.1f}) |")
    return "\n".join(lines)


def concentration(folder: Path) -> str:
    """Top-5/10/20 % shares per matrix kind, mean over runs (range for 'all')."""
    by = defaultdict(list)
    for r in _read(folder, "concentration.csv"):
        by[(r["state"], r["kind"])].append(r)
    kinds = ["q", "k", "v", "attn_out", "ffn1", "ffn2", "all"]
    cols = [(s, f) for s in ("dense", "redistributed") for f in (5, 10, 20)]
    lines = ["| matrix | " + " | ".join(f"{s} {f} %" for s, f in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for k in kinds:
        cells = []
        for s, f in cols:
            v = [float(r[f"top{f}_share"]) * 100 for r in by.get((s, k), [])]
            if not v:
                cells.append("")
                continue
            cell = f"{sum(v) / len(v):.1f}"
            if k == "all" and len(v) > 1:
                cell += f" ({min(v):.1f}–{max(v):.1f})"
            cells.append(cell)
        name = f"**{k}**" if k == "all" else k
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main_settings(folder: Path) -> str:
    """Loss [CI] of the main methods where every draw was evaluated, and the paired difference."""
    summary = _read(folder, "summary.csv")
    paired = {(r["a"], r["b"], r["slc_fraction"], r["sigma"]): r for r in _read(folder, "paired.csv")}
    most = max((int(r["n_draws"]) for r in summary), default=0)
    rows = {(r["method"], r["slc_fraction"], r["sigma"]): r for r in summary if int(r["n_draws"]) == most}
    lines = ["| σ | SLC | redistribution | brute force, equal budget | brute force, dense budget | "
             "redistribution − equal-budget BF (loss) | half-width: loss (acc) |", "|---" * 7 + "|"]
    for sigma in sorted({k[2] for k in rows}, key=float):
        for frac in sorted({k[1] for k in rows if k[2] == sigma}, key=float):
            cells = [_ci(rows[(m, frac, sigma)], "loss", "loss_ci_low", "loss_ci_high")
                     if (m, frac, sigma) in rows else "" for m in MAIN]
            p = paired.get(("redistribution", "brute-force-equal", frac, sigma))
            diff = (f"{_ci(p, 'loss_diff', 'loss_diff_ci_low', 'loss_diff_ci_high')}, {_p(p['loss_diff_p'])}"
                    if p else "")
            hw = f"{float(p['loss_half_width']) * 100:.2f} ({float(p['half_width']) * 100:.2f})" if p else ""
            lines.append(f"| {float(sigma):g} | {float(frac) * 100:.0f} % | " + " | ".join(cells) +
                         f" | {diff} | {hw} |")
    return f"{most} draws per setting\n\n" + "\n".join(lines)


def noise_regime(folder: Path) -> str:
    """Loss per sigma for each main method at each SLC fraction (points)."""
    summary = _read(folder, "summary.csv")
    by = {(r["method"], r["slc_fraction"], r["sigma"]): r for r in summary}
    fracs = sorted({r["slc_fraction"] for r in summary}, key=float)
    sigmas = sorted({r["sigma"] for r in summary if r["method"] in MAIN}, key=float)
    head = " | ".join(f"{m}, SLC " + " / ".join(f"{float(f) * 100:.0f}" for f in fracs) + " %" for m in MAIN)
    lines = [f"| σ (cell BER) | draws | {head} |", "|---" * (2 + len(MAIN)) + "|"]
    for s in sigmas:
        ber = next(float(r["ber"]) for r in summary if r["sigma"] == s)
        n = next(r["n_draws"] for r in summary if r["sigma"] == s and r["method"] == MAIN[0])
        cells = [" / ".join(_pts(by[(m, f, s)]["loss"]) if (m, f, s) in by else "–" for f in fracs) for m in MAIN]
        lines.append(f"| {float(s):g} ({ber * 100:.2g} %) | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def variants(folder: Path) -> str:
    """The variants' loss [CI] beside redistribution, and product − equal-budget brute force."""
    summary = _read(folder, "summary.csv")
    by = {(r["method"], r["slc_fraction"], r["sigma"]): r for r in summary}
    paired = {(r["a"], r["b"], r["slc_fraction"], r["sigma"]): r for r in _read(folder, "paired.csv")}
    keys = sorted({(r["sigma"], r["slc_fraction"]) for r in summary if r["method"] in VARIANTS},
                  key=lambda k: (float(k[0]), float(k[1])))
    if not keys:
        return "(no variants in this study)"
    lines = ["| σ | SLC | product (noise on U·ΣVᵀ) | U only | ΣVᵀ only | redistribution | "
             "product − equal-budget BF (loss) |", "|---" * 7 + "|"]
    for s, f in keys:
        cells = [_ci(by[(m, f, s)], "loss", "loss_ci_low", "loss_ci_high") + f" ({by[(m, f, s)]['n_draws']})"
                 if (m, f, s) in by else "" for m in (*VARIANTS, "redistribution")]
        p = paired.get(("redistribution-product", "brute-force-equal", f, s))
        diff = f"{_ci(p, 'loss_diff', 'loss_diff_ci_low', 'loss_diff_ci_high')}, {_p(p['loss_diff_p'])}" if p else ""
        lines.append(f"| {float(s):g} | {float(f) * 100:.0f} % | " + " | ".join(cells) + f" | {diff} |")
    return "(draws in brackets after each CI)\n\n" + "\n".join(lines)


def per_run(folder: Path) -> str:
    """Each run's noise-free INT8 references and its mean loss over noise seeds at the main sigmas."""
    from hyflex_plugin.redistribution.study import STUDY_METHODS  # method -> (weights, ...)

    rows = _read(folder, "study_rows.csv")
    runs = list(dict.fromkeys(r["run"] for r in rows))
    if len(runs) < 2:
        return "(one run)"
    ref = {(r["run"], r["method"].removeprefix("int8-")): float(r["accuracy"])
           for r in rows if r["method"].startswith("int8-")}
    acc = defaultdict(list)
    for r in rows:
        if r["method"] in MAIN:
            acc[(r["run"], r["method"], r["slc_fraction"], r["sigma"])].append(float(r["accuracy"]))
    draws = {k: len(v) for k, v in acc.items()}
    main = sorted({(k[3], k[2]) for k, n in draws.items() if n == max(draws.values())},
                  key=lambda k: (float(k[0]), float(k[1])))
    names = [Path(r).name for r in runs]
    lines = ["| run | " + " | ".join(f"INT8 {v}" for v in ("svd", "dense_equal", "dense")) + " |",
             "|---" * 4 + "|"]
    for r, n in zip(runs, names):
        lines.append(f"| {n} | " + " | ".join(_pts(ref[(r, v)]) if (r, v) in ref else ""
                                             for v in ("svd", "dense_equal", "dense")) + " |")
    lines += ["", "| σ | SLC | " + " | ".join(f"{m}: " + " / ".join(names) for m in MAIN) + " |",
              "|---" * (2 + len(MAIN)) + "|"]
    for s, f in main:
        cells = []
        for m in MAIN:
            w = STUDY_METHODS[m][0]
            cells.append(" / ".join(_pts(ref[(r, w)] - sum(v) / len(v)) if (v := acc.get((r, m, f, s))) else "–"
                                    for r in runs))
        lines.append(f"| {float(s):g} | {float(f) * 100:.0f} % | " + " | ".join(cells) + " |")
    n = max(draws.values())
    return f"loss in points, mean of {n} noise seeds per run (no intervals: see the pooled table)\n\n" + \
        "\n".join(lines)


def dtype_check(folder: Path) -> str:
    """Range of the float32 re-check's agreement and accuracy difference."""
    rows = _read(folder, "dtype_check.csv")
    if not rows:
        return "(no float32 re-check)"
    agree = [float(r["agreement"]) * 100 for r in rows]
    diff = [abs(float(r["diff"])) * 100 for r in rows]
    zero = sum(float(r["diff_ci_low"]) <= 0 <= float(r["diff_ci_high"]) for r in rows)
    return (f"{len(rows)} points: {min(agree):.2f}–{max(agree):.2f} % of sentences alike, largest |difference| "
            f"{max(diff):.3f} points, {zero} of {len(rows)} intervals contain 0")


def main() -> None:
    """Print every table of one model's study."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm")
    a = ap.parse_args()
    folder = RESULTS / f"study_{a.model}"
    for title, fn in (("references", references), ("concentration", concentration),
                      ("main settings", main_settings), ("noise regime", noise_regime),
                      ("variants", variants), ("per run", per_run), ("float32 re-check", dtype_check)):
        print(f"### {title}\n\n{fn(folder)}\n")


if __name__ == "__main__":
    main()
