"""AccelForge's FFM mapper (`--search`) against the pinned mappings on one bert-base layer.

Every distinct Einsum of one bert-base block at N = 128, 10 % SLC (the SLC and MLC parts of
Q/K/V/attention output, FFN1 and FFN2 at M = 128 tokens, Q·Kᵀ and S·V): the pinned mapping's
and the mapper's energy and latency, their ratios, and the mapper's time per Einsum. Then the
whole-layer `evaluate_model(..., search=True)` path (linear parts per token, scaled) against the
pinned path. Prints a table and saves benchmarks/results/mapper.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "mapper.json"


def main() -> None:
    """Run the mapper benchmark; print and save its JSON."""
    os.environ["HYFLEX_CACHE_DIR"] = tempfile.mkdtemp(prefix="hyflex-bench-mapper-")
    from hyflex_plugin.architecture import load_arch
    from hyflex_plugin.evaluation import evaluate_model
    from hyflex_plugin.evaluation.mapper_check import compare, layer_cases
    from hyflex_plugin.io import atomic_write_json
    from hyflex_plugin.workloads import load_model_shape

    design, shape = load_arch(), load_model_shape("bert-base")
    one_layer = shape.model_copy(update={"n_layers": 1})
    load_before = os.getloadavg()[0]
    rows = []
    print(f"{'Einsum (part)':40s} {'E search/pinned':>16s} {'L search/pinned':>16s} {'search s':>9s}")
    for case in layer_cases(design, shape, 128, 0.1):
        c = compare(design, case)
        rows.append(c.to_dict())
        print(f"{case.label:40s} {c.energy_ratio:16.4f} {c.latency_ratio:16.4f} {c.search_s:9.1f}",
              flush=True)

    t = time.perf_counter()
    pinned = evaluate_model(one_layer, 128, 0.1, arch=design, cache=False)
    pinned_s = time.perf_counter() - t
    t = time.perf_counter()
    searched = evaluate_model(one_layer, 128, 0.1, arch=design, search=True, cache=False)
    search_s = time.perf_counter() - t
    layer = {
        "pinned_s": pinned_s, "search_s": search_s,
        "energy_ratio": searched.energy_j / pinned.energy_j,
        "latency_ratio": searched.latency_s / pinned.latency_s,
        "per_einsum": {n: {"energy_ratio": e.energy_j / pinned.layers[0].einsums[n].energy_j
                           if pinned.layers[0].einsums[n].energy_j else None,
                           "latency_ratio": e.latency_s / pinned.layers[0].einsums[n].latency_s
                           if pinned.layers[0].einsums[n].latency_s else None}
                       for n, e in searched.layers[0].einsums.items()},
    }
    print(f"whole layer (evaluate_model, search=True): energy x{layer['energy_ratio']:.4f}, "
          f"latency x{layer['latency_ratio']:.4f}; mapper {search_s:.1f} s vs pinned {pinned_s:.1f} s")
    result = {"model": "bert-base", "seq_len": 128, "slc_fraction": 0.1, "einsums": rows,
              "search_s_total": sum(r["search_s"] for r in rows), "layer": layer,
              "load_avg_1min_before": load_before, "load_avg_1min_after": os.getloadavg()[0],
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    atomic_write_json(OUT, result)
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
