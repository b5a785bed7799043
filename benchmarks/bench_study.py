"""Issue 13's accuracy study for one real model, timed, with the machine load beside the times.

Full study (the issue's targets): 3 fine-tuning seeds, >= 4,000 test sentences, 5 noise seeds,
sigma 0.01-0.2 (7 values incl. the paper's ~4 % BER point), SLC 0/5/10/20 %, 6 methods.
``--reduced`` runs the smaller study that fits a shared, loaded machine; the JSON records
exactly which parameters were reduced and never calls a reduced run the full one.

    .venv/bin/python benchmarks/bench_study.py --model minilm [--reduced] [--workers 2]
        [--scheduler tcp://...] [--speedup]

Writes benchmarks/results/study_<model>/ (CSV, PNG, study.json) and
benchmarks/results/bench_study_<model>.json (parameters, timings, load averages, peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

FULL = {"ft_seeds": [0, 1, 2], "n_train": 2000, "n_test": 4000, "n_calib": 256, "epochs": 1,
        "noise_seeds": [0, 1, 2, 3, 4], "sigmas": None, "fractions": [0.0, 0.05, 0.10, 0.20],
        "methods": None}
REDUCED = {
    "minilm": {"ft_seeds": [0], "noise_seeds": [0, 1, 2], "sigmas": [0.025, 0.05, 0.0811, 0.1, 0.2]},
    "mpnet": {"ft_seeds": [0], "n_train": 1000, "n_calib": 128, "noise_seeds": [0, 1],
              "sigmas": [0.025, 0.0811, 0.2],
              "methods": ["redistribution", "brute-force", "brute-force-equal"]},
}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def speedup(run: str, n_points: int = 12) -> dict:
    """Wall time of the same noisy points with 1 and with 2 in-process workers."""
    from hyflex_plugin.redistribution.study import evaluate_study

    kw = {"methods": ("redistribution", "brute-force"), "fractions": (0.05, 0.1, 0.2),
          "sigmas": (0.05,), "seeds": tuple(range(max(1, n_points // 6))), "progress": False}
    out = {}
    for w in (1, 2):
        cache = Path(run) / f"speedup_{w}.jsonl"
        cache.unlink(missing_ok=True)
        # warm the references so both timings cover the noisy points only
        evaluate_study([run], workers=w, cache_file=cache, **{**kw, "fractions": ()})
        la = _load()
        t0 = time.perf_counter()
        evaluate_study([run], workers=w, cache_file=cache, **kw)
        out[f"workers_{w}_s"] = round(time.perf_counter() - t0, 1)
        out[f"workers_{w}_loadavg_before"] = la
        out[f"workers_{w}_loadavg_after"] = _load()
        cache.unlink(missing_ok=True)
    out["speedup"] = round(out["workers_1_s"] / out["workers_2_s"], 2)
    out["n_points"] = 2 * 3 * len(kw["seeds"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm", choices=["minilm", "mpnet"])
    ap.add_argument("--runs", default="runs/study", help="folder for the run folders")
    ap.add_argument("--reduced", action="store_true", help="the reduced study (see REDUCED)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--speedup", action="store_true", help="also time 1 vs 2 workers")
    a = ap.parse_args()

    from hyflex_plugin.redistribution.experiment import redistribute
    from hyflex_plugin.redistribution.study import DEFAULT_SIGMAS, STUDY_METHODS, study

    params = dict(FULL)
    if a.reduced:
        params.update(REDUCED[a.model])
    params["sigmas"] = params["sigmas"] or list(DEFAULT_SIGMAS)
    params["methods"] = params["methods"] or list(STUDY_METHODS)
    reduced_keys = {k: {"full": FULL[k] if FULL[k] is not None else "default", "ran": params[k]}
                    for k in params if a.reduced and params[k] != FULL[k] and FULL[k] is not None}
    if a.reduced and params["methods"] != list(STUDY_METHODS):
        reduced_keys["methods"] = {"full": list(STUDY_METHODS), "ran": params["methods"]}
    if a.reduced and params["sigmas"] != list(DEFAULT_SIGMAS):
        reduced_keys["sigmas"] = {"full": list(DEFAULT_SIGMAS), "ran": params["sigmas"]}
    timings, loads = {}, {"start": _load()}
    t_all = time.perf_counter()
    runs = []
    for s in params["ft_seeds"]:
        t0 = time.perf_counter()
        runs.append(str(redistribute(a.model, "rotten-tomatoes", out=Path(a.runs) / f"{a.model}-s{s}",
                                     epochs=params["epochs"], n_train=params["n_train"],
                                     n_test=params["n_test"], n_calib=params["n_calib"], seed=s)))
        timings[f"redistribute_seed{s}_s"] = round(time.perf_counter() - t0, 1)
        loads[f"after_redistribute_seed{s}"] = _load()
    out = RESULTS / f"study_{a.model}"
    res = study(runs, out, methods=params["methods"], fractions=params["fractions"],
                sigmas=params["sigmas"], seeds=params["noise_seeds"], workers=a.workers,
                scheduler=a.scheduler)
    timings.update({k: round(v, 1) for k, v in res["info"]["timings_s"].items()})
    timings["whole_s"] = round(time.perf_counter() - t_all, 1)
    loads["end"] = _load()
    info = {"model": a.model, "study": "REDUCED (not the full study)" if a.reduced else "full",
            "reduced": reduced_keys, "params": params, "workers": a.workers, "scheduler": a.scheduler,
            "n_evaluations": res["info"]["n_evaluations"], "timings_s": timings, "loadavg": loads,
            "cpu_count": os.cpu_count(),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    if a.speedup:
        info["speedup_1_to_2_workers"] = speedup(runs[0])
    from hyflex_plugin.io import read_yaml

    # fine-tuning times as measured when each run folder was made (also when reused here)
    info["run_timings_s"] = {Path(r).name: read_yaml(Path(r) / "run.yaml").get("timings_s") for r in runs}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_study_{a.model}.json").write_text(json.dumps(info, indent=1) + "\n")
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
