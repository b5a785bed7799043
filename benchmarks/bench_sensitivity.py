"""Speed of issue 9's mechanisms (replication, mode-dependent ADC timing) and of the claims'
sensitivity study. Prints and saves JSON (results/sensitivity.json).

(a) bert-large, N = 128, HyFlexPIM at 10 % SLC, whole model, cold cache (target < 5 s);
(b) the sensitivity of one claim (throughput vs ASADI-dagger at N = 128) over 500
    Latin-hypercube samples, cold cache, with 2 samples re-checked on AccelForge (targets:
    < 3 min, re-check within 1 %).
Each part runs in a fresh process with its own empty cache folder.
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

OUT = Path(__file__).parent / "results" / "sensitivity.json"

PARTS = {
    "bert_large_n128_cold": """
from hyflex_plugin.evaluation import evaluate_model
import time
t = time.perf_counter(); r = evaluate_model('bert-large', 128, 0.1); cold = time.perf_counter() - t
print({'cold_s': cold, 'throughput_tops': r.throughput_ops / 1e12})
""",
    "sensitivity_one_claim_500": """
from hyflex_plugin.comparison.sensitivity import run_sensitivity
import time
t = time.perf_counter()
s = run_sensitivity('bert-large', [128], ['asadi_throughput_n128'], samples=500, seed=0,
                    recheck=2, progress=False)
c = s['claims']['asadi_throughput_n128']
print({'total_s': time.perf_counter() - t, 'samples': 500, 'params': len(s['params']),
       'ratio_min': c['ratio_min'], 'ratio_median': c['ratio_median'],
       'ratio_max': c['ratio_max'], 'paper_inside': c['paper_inside'],
       'recheck_samples': len({x['sample'] for x in s['recheck']}),
       'recheck_max_rel_err': s['recheck_max_rel_err']})
""",
}


def _run(code: str) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "HYFLEX_CACHE_DIR": cache, "MPLBACKEND": "Agg"}
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True)
        out = ast.literal_eval(p.stdout.strip().splitlines()[-1])
        out["process_wall_s"] = time.perf_counter() - t
        return out


def main() -> None:
    """Run the sensitivity benchmark; print and save its JSON."""
    res = {"load_average_1min": {"before": os.getloadavg()[0]}}
    for name, code in PARTS.items():
        print(f"running {name} ...", flush=True)
        res[name] = _run(code)
        print(f"  {res[name]}", flush=True)
    res["load_average_1min"]["after"] = os.getloadavg()[0]
    res["targets"] = {"bert_large_cold_s": 5, "sensitivity_one_claim_500_s": 180,
                      "recheck_rel_err": 0.01}
    res["meets_targets"] = {
        "bert_large_cold": res["bert_large_n128_cold"]["cold_s"] < 5,
        "sensitivity_time": res["sensitivity_one_claim_500"]["total_s"] < 180,
        "recheck_within_1_percent": res["sensitivity_one_claim_500"]["recheck_max_rel_err"] < 0.01,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    from hyflex_plugin.io import atomic_write_json

    atomic_write_json(OUT, res)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
