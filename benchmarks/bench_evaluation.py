"""Evaluation speed and memory (issue: fast whole-model evaluation). Prints and saves JSON.

(a) bert-large, N = 128, whole model: cold cache and warm cache;
(b) sweep: 5 presets x N in {128, 512, 2048, 8192} x SLC share in {0, .05, .1, .2, .5, 1};
(c) AccelForge's own mapper on one bert-base layer's Einsums at N = 128, and the ratio of (a)
    per layer to it.
Each part runs in a fresh process (peak RSS per part) with its own empty cache folder.
Targets: (a) cold < 10 s; (b) < 5 min.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "evaluation.json"

PARTS = {
    "bert_large_n128": """
from hyflex_plugin.evaluation import evaluate_model
import time
t = time.perf_counter(); evaluate_model('bert-large', 128, 0.1); cold = time.perf_counter() - t
t = time.perf_counter(); evaluate_model('bert-large', 128, 0.1); warm = time.perf_counter() - t
print({'cold_s': cold, 'warm_s': warm, 'layers': 24})
""",
    "sweep": """
from hyflex_plugin.evaluation import evaluate_model
from tqdm import tqdm
import itertools, time
t = time.perf_counter(); n = 0
grid = list(itertools.product(['bert-base', 'bert-large', 'gpt2', 'llama-3.2-1b', 'vit-base'],
                              [128, 512, 2048, 8192], [0, 0.05, 0.1, 0.2, 0.5, 1]))
for model, seq, share in tqdm(grid, desc='sweep'):
    evaluate_model(model, seq, share); n += 1
print({'configs': n, 'total_s': time.perf_counter() - t})
""",
    "mapper_one_layer": """
from hyflex_plugin.architecture import load_arch
from hyflex_plugin.evaluation.engine import evaluate_einsum, linear_params, attention_params
from hyflex_plugin.workloads import load_model_shape
import time
d = load_arch(); s = load_model_shape('bert-base')
t = time.perf_counter()
for name, k, n in s.linear_matrices():
    evaluate_einsum(d, 'analog', linear_params(d, k, n, False, 1), search=True, cache=False)
evaluate_einsum(d, 'digital', attention_params(d, s.num_heads, 128, 128, s.head_dim), search=True, cache=False)
evaluate_einsum(d, 'digital', attention_params(d, s.num_heads, 128, s.head_dim, 128), search=True, cache=False)
print({'search_s': time.perf_counter() - t})
""",
}


_PEAK = "\nimport resource as _r\nprint('PEAK_RSS_KB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)\n"


def run_part(code: str) -> dict:
    """Run ``code`` in a fresh Python and return the figures it prints (JSON)."""
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code + _PEAK], capture_output=True, text=True,
                             env={**os.environ, "HYFLEX_CACHE_DIR": cache})
        wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    lines = out.stdout.strip().splitlines()
    res = ast.literal_eval(next(x for x in reversed(lines) if x.startswith("{")))
    res["process_wall_s"] = wall
    peak = next(x for x in reversed(lines) if x.startswith("PEAK_RSS_KB "))
    res["peak_rss_mb"] = int(peak.split()[1]) / 1024  # this part's process only
    return res


def main() -> None:
    """Run the evaluation benchmark; print and save its JSON."""
    load_before = os.getloadavg()[0]
    results = {name: run_part(code) for name, code in PARTS.items()}
    # the machine is shared: the 1-minute load average says how busy it was (2 cores)
    results["load_average_1min"] = {"before": load_before, "after": os.getloadavg()[0]}
    a, c = results["bert_large_n128"], results["mapper_one_layer"]
    results["ratio_cold_per_layer_to_mapper_one_layer"] = (a["cold_s"] / a["layers"]) / c["search_s"]
    results["targets"] = {"bert_large_cold_s": 10, "sweep_s": 300}
    results["meets_targets"] = {"bert_large_cold": a["cold_s"] < 10,
                                "sweep": results["sweep"]["total_s"] < 300}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    from hyflex_plugin.io import atomic_write_json

    atomic_write_json(OUT, results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
