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
        "methods": None, "variant_sigmas": None, "variant_fractions": None}
MAIN = ["redistribution", "brute-force-equal", "brute-force"]
VARIANTS = ["redistribution-u-only", "redistribution-svt-only", "redistribution-product"]
#: What fitted a 2-core machine shared by 8 engineers (load 14-17) on 2026-11-29, 03:00-04:30 UTC.
REDUCED = {
    "minilm": {"ft_seeds": [0], "n_train": 320, "n_test": 1000, "n_calib": 64, "noise_seeds": [0, 1],
               "sigmas": [0.025, 0.0811, 0.2], "fractions": [0.0, 0.10, 0.20], "methods": MAIN,
               "variant_sigmas": [0.0811], "variant_fractions": [0.10]},
    "mpnet": {"ft_seeds": [0], "n_train": 128, "n_test": 250, "n_calib": 32, "noise_seeds": [0],
              "sigmas": [0.0811], "fractions": [0.0, 0.10], "methods": MAIN,
              "variant_sigmas": [], "variant_fractions": []},
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
    """Run the reduced (or full) study for one model and save its timings as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm", choices=["minilm", "mpnet"])
    ap.add_argument("--runs", default="runs/study", help="folder for the run folders")
    ap.add_argument("--reduced", action="store_true", help="the reduced study (see REDUCED)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--speedup", action="store_true", help="also time 1 vs 2 workers")
    ap.add_argument("--only-cached", action="store_true",
                    help="summarise the evaluations finished so far (a partial study; says so)")
    a = ap.parse_args()

    from hyflex_plugin.redistribution.experiment import redistribute
    from hyflex_plugin.redistribution.study import DEFAULT_SIGMAS, STUDY_METHODS, study

    params = dict(FULL)
    if a.reduced:
        params.update(REDUCED[a.model])
    params["sigmas"] = params["sigmas"] or list(DEFAULT_SIGMAS)
    params["methods"] = params["methods"] or list(STUDY_METHODS)
    if params["variant_sigmas"] is None:  # full study: variants are in the main cross product
        params["methods"] = list(dict.fromkeys(params["methods"] + VARIANTS))
        params["variant_sigmas"], params["variant_fractions"] = [], []
    reduced_keys = {k: {"full": FULL[k] if FULL[k] is not None else "default", "ran": params[k]}
                    for k in params if a.reduced and params[k] != FULL[k] and FULL[k] is not None}
    if a.reduced and params["methods"] != list(STUDY_METHODS):
        reduced_keys["methods"] = {"full": list(STUDY_METHODS), "ran": params["methods"],
                                   "variants_at_sigmas": params["variant_sigmas"],
                                   "variants_at_fractions": params["variant_fractions"]}
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
                scheduler=a.scheduler, only_cached=a.only_cached)
    timings.update({k: round(v, 1) for k, v in res["info"]["timings_s"].items()})
    done, planned = res["info"]["n_points_done"], res["info"]["n_points_planned"]
    if params["variant_sigmas"]:
        t0 = time.perf_counter()
        var = study(runs, out / "variants", methods=["redistribution", *VARIANTS],
                    fractions=params["variant_fractions"], sigmas=params["variant_sigmas"],
                    seeds=params["noise_seeds"], workers=a.workers, scheduler=a.scheduler,
                    only_cached=a.only_cached)
        timings["variants_s"] = round(time.perf_counter() - t0, 1)
        done += var["info"]["n_points_done"]
        planned += var["info"]["n_points_planned"]
    timings["whole_s"] = round(time.perf_counter() - t_all, 1)
    loads["end"] = _load()
    partial = done < planned
    label = "REDUCED (not the full study)" if a.reduced else "full"
    if partial:
        label += f"; PARTIAL: {done} of {planned} points"
    info = {"model": a.model, "study": label,
            "reduced": reduced_keys, "params": params, "workers": a.workers, "scheduler": a.scheduler,
            "n_points_planned": planned, "n_points_done": done, "timings_s": timings, "loadavg": loads,
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
