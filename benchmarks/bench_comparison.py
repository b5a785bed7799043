"""Comparison speed and memory (issue 5: `make demo` under 3 min cold on 2 cores). Prints and
saves JSON to benchmarks/results/comparison.json.

(a) `hyflex demo` with an empty cache (bert-large + bert-base, N 128/1024/8192, 5 and 10 % SLC,
    6 designs = 42 evaluations), then (b) the same with the warm cache;
(c) with --full: the default `hyflex compare` sweep (5 models x 7 N x 4 SLC shares x 6 designs)
    with an empty cache.
Each part runs in a fresh process (peak RSS) with its own cache folder.
Targets: (a) < 180 s; (b) < 15 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "comparison.json"
ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], cache: Path) -> dict:
    env = dict(os.environ, HYFLEX_CACHE_DIR=str(cache))
    code = ("import resource, sys; from hyflex_plugin.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(p.stderr[-2000:])
    rss = next(int(line.split()[1]) for line in p.stdout.splitlines() if line.startswith("PEAK_RSS_KB"))
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(rss / 1024, 1)}


def main() -> None:
    """Run the comparison benchmark; print and save its JSON."""
    results = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "demo"
        results["demo_cold"] = _run(["demo", "--out", str(out)], cache)
        print("demo, cold cache:", results["demo_cold"], flush=True)
        results["demo_warm"] = _run(["demo", "--out", str(out)], cache)
        print("demo, warm cache:", results["demo_warm"], flush=True)
        if "--full" in sys.argv:
            results["full_sweep_cold"] = _run(["compare", "--out", str(Path(tmp) / "full")],
                                              Path(tmp) / "cache-full")
            print("full default sweep, cold cache:", results["full_sweep_cold"], flush=True)
    results["targets"] = {"demo_cold_s": 180, "demo_warm_s": 15}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(OUT.read_text()) if OUT.is_file() else {}
    old.update(results)
    OUT.write_text(json.dumps(old, indent=2) + "\n")
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
