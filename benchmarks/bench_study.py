"""Issue 13's accuracy study for one real model, timed, with the machine load and CPU time beside.

The plan (``PLANS``): every draw (3 fine-tuning seeds x 5 noise seeds, >= 4,000 test sentences)
at the two main sigmas (0.025, the paper's noise as modelled, and 0.0812, the paper's ~4 % BER
point) for the three main methods at 0/5/10/20 % SLC;
the noise-regime sweep (sigma 0.01-0.2) with 1 noise seed on the first fine-tuning seed; the
three redistribution variants at the main sigma with 3 noise seeds on the first fine-tuning seed.
Evaluations run in bfloat16 (CPU autocast); a few points are re-checked in float32
(``dtype_check.csv``). MiniLM is fine-tuned in bfloat16 mixed precision too, MPNet in float32
(``fine_tune_dtype``). ``mpnet`` (12 layers, 768 wide: ~8x MiniLM's arithmetic) runs a smaller
plan, and its JSON lists every difference from the MiniLM plan; ``--reduced`` runs a plan that
fits a loaded machine. No reduced run is ever labelled full.

    .venv/bin/python benchmarks/bench_study.py --model minilm [--reduced] [--workers 2]
        [--scheduler tcp://...] [--speedup]

Writes benchmarks/results/study_<model>/ (CSV, PNG, study.json) and
benchmarks/results/bench_study_<model>.json (plan, timings, load averages, CPU time, peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from hyflex_plugin.redistribution.noise import MLC_SIGMA as PAPER_SIGMA  # the paper's MLC noise (0.025)

try:
    from memtrace import MemoryTrace  # run as a script: benchmarks/ is on sys.path
except ImportError:
    from benchmarks.memtrace import MemoryTrace

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

MAIN = ["redistribution", "brute-force-equal", "brute-force"]
VARIANTS = ["redistribution-u-only", "redistribution-svt-only", "redistribution-product"]
MAIN_SIGMA = 0.0812  # the paper's ~4 % cell BER through our derivation (study.DEFAULT_SIGMAS)
#: The study of issue 13 (``minilm``), and what fits for the 8x larger MPNet.
PLANS = {
    "minilm": {"ft_seeds": [0, 1, 2], "n_train": 2000, "n_test": 4000, "n_calib": 256, "epochs": 1,
               "noise_seeds": [0, 1, 2, 3, 4], "main_sigmas": [PAPER_SIGMA, MAIN_SIGMA], "sigmas": None,
               "sweep_seeds": [0], "fractions": [0.0, 0.05, 0.10, 0.20], "methods": MAIN,
               "variants": VARIANTS, "variant_seeds": [0, 1, 2], "compute_dtype": "bfloat16",
               "fine_tune_dtype": "bfloat16", "one_run_at_a_time": False},
    # fine-tuned in float32, the default arithmetic: MPNet's SVD fine-tune is seed-sensitive
    # (float SVD accuracy, seeds 0/1: float32 83.9/63.1 %, bfloat16 74.5/74.4 %), so no dtype
    # effect is established for it either way; MiniLM's three seeds agree within 0.1 points.
    # One run's models in memory at a time: two runs' together peaked at 8.8 GB.
    "mpnet": {"ft_seeds": [0, 1], "n_train": 1000, "n_test": 2000, "n_calib": 128, "epochs": 1,
              "noise_seeds": [0, 1, 2], "main_sigmas": [MAIN_SIGMA], "sigmas": [0.025, MAIN_SIGMA, 0.2],
              "sweep_seeds": [0], "fractions": [0.0, 0.05, 0.10, 0.20], "methods": MAIN,
              "variants": [], "variant_seeds": [], "compute_dtype": "bfloat16", "fine_tune_dtype": "float32",
              "one_run_at_a_time": True},
}
#: What fitted a 2-core machine shared by 8 engineers (load 14-17) on 2026-11-29, 03:00-04:30 UTC.
REDUCED = {
    "minilm": {"ft_seeds": [0], "n_train": 320, "n_test": 1000, "n_calib": 64, "noise_seeds": [0, 1],
               "sigmas": [0.025, MAIN_SIGMA, 0.2], "fractions": [0.0, 0.10, 0.20], "variants": []},
    "mpnet": {"ft_seeds": [0], "n_train": 128, "n_test": 250, "n_calib": 32, "noise_seeds": [0],
              "sigmas": [MAIN_SIGMA], "fractions": [0.0, 0.10], "variants": []},
}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_s() -> float:
    """CPU seconds used by this process and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def speedup(run: str, compute_dtype: str, n_points: int = 12, torch_threads: int | None = 1) -> dict:
    """Wall time of the same noisy points with 1 and with 2 in-process workers.

    ``torch_threads``: torch's intra-op threads per worker, the same for both runs (1: the
    workers' scaling); None: the study's default, cores / workers (1 worker then already uses
    both cores through torch, so this measures what a second worker adds on top).
    """
    from hyflex_plugin.redistribution.study import evaluate_study

    kw = {"methods": ("redistribution", "brute-force"), "fractions": (0.05, 0.1, 0.2),
          "sigmas": (0.05,), "seeds": tuple(range(max(1, n_points // 6))), "progress": False,
          "compute_dtype": compute_dtype, "torch_threads": torch_threads}
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
    out["compute_dtype"] = compute_dtype
    out["torch_threads_per_worker"] = torch_threads or "cores / workers"
    return out


def blocks_of(params: dict):
    """The study's blocks for a plan (see the module docstring)."""
    from hyflex_plugin.redistribution.study import Block, sweep_blocks

    blocks = sweep_blocks(params["methods"], params["fractions"], params["sigmas"], params["noise_seeds"],
                          main_sigmas=params["main_sigmas"], sweep_seeds=params["sweep_seeds"])
    if params["variants"]:
        blocks += (Block(("redistribution", *params["variants"]), tuple(params["fractions"]),
                         tuple(params["main_sigmas"]), tuple(params["variant_seeds"]), runs=1),)
    return blocks


def plan_for(model: str, reduced: bool) -> tuple[dict, dict]:
    """(parameters, {parameter: {"study": issue-13 value, "ran": value}} for every difference)."""
    from hyflex_plugin.redistribution.study import DEFAULT_SIGMAS

    full = {**PLANS["minilm"], "sigmas": list(DEFAULT_SIGMAS)}
    params = {**PLANS[model]}
    if reduced:
        params.update(REDUCED[model])
    params["sigmas"] = params["sigmas"] or list(DEFAULT_SIGMAS)
    params["sweep_seeds"] = [s for s in params["sweep_seeds"] if s in params["noise_seeds"]]
    differs = {k: {"study": full[k], "ran": params[k]} for k in full if params[k] != full[k]}
    return params, differs


def main() -> None:
    """Run the study (or a reduced one) for one model and save its timings as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm", choices=sorted(PLANS))
    ap.add_argument("--runs", default="runs/study", help="folder for the run folders")
    ap.add_argument("--reduced", action="store_true", help="the reduced study (see REDUCED)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--speedup", action="store_true", help="also time 1 vs 2 workers")
    ap.add_argument("--only-cached", action="store_true",
                    help="summarise the evaluations finished so far (a partial study; says so)")
    a = ap.parse_args()
    with MemoryTrace() as mt:
        info = run_plan(a)
    info["memory"] = mt.report()
    from hyflex_plugin.io import atomic_write_json

    RESULTS.mkdir(exist_ok=True)
    atomic_write_json(RESULTS / f"bench_study_{a.model}.json", info)
    print(json.dumps({k: v for k, v in info.items() if k != "memory"}, indent=1))
    print("peak resident size", info["memory"]["peak_rss_gb"], "GB; at the peak:",
          json.dumps(info["memory"]["peak_at"], indent=1))


def run_plan(a: argparse.Namespace) -> dict:
    """Fine-tune the runs and run the study of ``a.model``'s plan; the timings etc. as a dict."""
    from hyflex_plugin.redistribution.experiment import redistribute
    from hyflex_plugin.redistribution.study import study

    params, differs = plan_for(a.model, a.reduced)
    blocks = blocks_of(params)
    timings, loads, cpu = {}, {"start": _load()}, {}
    t_all, c_all = time.perf_counter(), _cpu_s()
    runs = []
    for s in params["ft_seeds"]:
        t0 = time.perf_counter()
        runs.append(str(redistribute(a.model, "rotten-tomatoes", out=Path(a.runs) / f"{a.model}-s{s}",
                                     epochs=params["epochs"], n_train=params["n_train"],
                                     n_test=params["n_test"], n_calib=params["n_calib"], seed=s,
                                     compute_dtype=params["fine_tune_dtype"])))
        timings[f"redistribute_seed{s}_s"] = round(time.perf_counter() - t0, 1)
        loads[f"after_redistribute_seed{s}"] = _load()
    out = RESULTS / f"study_{a.model}"
    c0 = _cpu_s()
    res = study(runs, out, blocks=blocks, workers=a.workers, scheduler=a.scheduler,
                only_cached=a.only_cached, compute_dtype=params["compute_dtype"],
                one_run_at_a_time=params["one_run_at_a_time"])
    cpu["study_cpu_s"] = round(_cpu_s() - c0, 1)
    timings.update({k: round(v, 1) for k, v in res["info"]["timings_s"].items()})
    done, planned = res["info"]["n_points_done"], res["info"]["n_points_planned"]
    timings["whole_s"] = round(time.perf_counter() - t_all, 1)
    cpu["whole_cpu_s"] = round(_cpu_s() - c_all, 1)
    loads["end"] = _load()
    label = "REDUCED (a loaded-machine plan, not the study)" if a.reduced else (
        "full" if not differs else "smaller than the MiniLM plan (see 'differs_from_study')")
    if done < planned:
        label += f"; PARTIAL: {done} of {planned} points"
    info = {"model": a.model, "study": label, "differs_from_study": differs, "params": params,
            "blocks": res["info"]["blocks"], "workers": a.workers, "scheduler": a.scheduler,
            "n_points_planned": planned, "n_points_done": done,
            "timings_s": timings, "cpu_s": cpu, "loadavg": loads, "cpu_count": os.cpu_count(),
            "dtype_check": res["info"]["dtype_check"],
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    if a.speedup:
        info["speedup_1_to_2_workers"] = speedup(runs[0], params["compute_dtype"])
        info["speedup_1_to_2_workers_default_threads"] = speedup(runs[0], params["compute_dtype"], torch_threads=None)
    from hyflex_plugin.io import read_yaml

    # fine-tuning times as measured when each run folder was made (also when reused here)
    info["run_timings_s"] = {Path(r).name: read_yaml(Path(r) / "run.yaml").get("timings_s") for r in runs}
    info["fine_tuning_s"] = round(sum(sum(v.values()) for v in info["run_timings_s"].values() if v), 1)
    # the whole study = fine-tuning (measured when each run folder was made) + everything after it
    after = timings["whole_s"] - sum(v for k, v in timings.items() if k.startswith("redistribute_seed"))
    timings["whole_with_fine_tuning_s"] = round(info["fine_tuning_s"] + after, 1)
    return info


if __name__ == "__main__":
    main()
