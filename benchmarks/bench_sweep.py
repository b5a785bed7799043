"""Sweep speed and memory (issue 10). Prints and saves JSON (results/sweep.json).

(a) fast engine: the whole example sweep (sweeps/example.yaml, 1,080 points), no
    verification, in a fresh process (its imports not timed, as for the exact engine's
    workers; reported as imports_s); then the verification sample alone (--verify 20, exact
    engine on a 2-worker LocalCluster, cold AccelForge), timed separately;
(b) exact engine: the same EXACT_POINTS points of the example (distinct array geometries and
    nodes, so no AccelForge result is shared between points) on an embedded LocalCluster with
    1 and with 2 workers, alternately ROUNDS times (the shared machine's load drifts), cold
    (fresh workers keep results only in memory), cluster start-up and each worker's first
    AccelForge call (imports) not timed; scaling = time(1) / time(2) per round; also the CPU
    time of each task (process_time), which the load of other jobs does not inflate;
(b2) the same on two external clusters (1 and 2 workers) started with ``dask scheduler`` /
    ``dask worker``, each process in its own session like on separate hosts (with the kernel's
    autogroup scheduling, processes of one session share one CPU share); the rounds of (b) and
    (b2) alternate, so that both see the same load of the shared machine;
(c) ratio of the fast engine's points/s to the exact engine's (1 worker), and the same ratio
    in CPU seconds per point;
peak RSS of the client process of each part and of every worker.
Targets: scaling >= 1.7x, fast >= 1000x exact, example sweep < 30 s before verification.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "results" / "sweep.json"
EXAMPLE = ROOT / "sweeps" / "example.yaml"
EXACT_POINTS = 16  # 8 left the 2-worker runs waiting on one last task (busy share 0.87-0.96)
ROUNDS = 2

FAST = """
import json, sys, time
t = time.perf_counter()
from hyflex_plugin.sweep.run import run_sweep
from hyflex_plugin.sweep.engines import peak_rss_bytes
# imports outside the timed part, as for the exact engine (its workers import in warm())
import pandas, pyarrow.parquet, hyflex_plugin.evaluation.model, hyflex_plugin.sweep.fast
import hyflex_plugin.costmodels.breakdown
imports = time.perf_counter() - t
t, c = time.perf_counter(), time.process_time()
s = run_sweep(sys.argv[1], sys.argv[2], engine='fast', verify=0, progress=False, shipped=False)
total, cpu = time.perf_counter() - t, time.process_time() - c
t = time.perf_counter()
v = run_sweep(sys.argv[1], sys.argv[2], engine='auto', verify=20, progress=False, shipped=False)
vt = time.perf_counter() - t
print('RESULT', json.dumps({'points': s['points'], 'engine_s': s['seconds'], 'imports_s': imports,
      'engine_cpu_s': s['cpu_seconds'], 'run_cpu_s': cpu,
      'points_per_s': s['points_per_s'], 'run_total_s': total,
      'verify_points': v['verification']['n'], 'verify_s': v['verification']['seconds'],
      'verify_run_total_s': vt, 'verify_max_rel_diff': {m: d['max'] for m, d in
      v['verification']['metrics'].items()}, 'verify_median_rel_diff': {m: d['median'] for m, d
      in v['verification']['metrics'].items()}, 'client_peak_rss_bytes': peak_rss_bytes()}))
"""

EXACT = """
import json, os, statistics, sys, time
from hyflex_plugin.sweep.spec import load_spec, expand, apply_axes
from hyflex_plugin.sweep.run import dask_client
from hyflex_plugin.sweep.engines import exact_task, peak_rss_bytes

def timed(p):
    import time
    t, c = time.perf_counter(), time.process_time()
    row = exact_task(p)
    return row['error'], time.perf_counter() - t, time.process_time() - c

def forget():
    from hyflex_plugin.sweep import engines
    engines._MEMO.clear()

def warm():  # imports and AccelForge's first-run set-up, outside the timed part
    from hyflex_plugin.architecture.design import load_arch
    from hyflex_plugin.evaluation.engine import evaluate_einsum, linear_params
    d = load_arch()
    evaluate_einsum(d, 'analog', linear_params(d, 64, 64, True, 1), cache=False)

if __name__ == '__main__':
    spec, _, base = load_spec(sys.argv[1])
    n, rounds = int(sys.argv[2]), int(sys.argv[3])
    external = sys.argv[4:]      # scheduler addresses of external clusters: 1 worker, 2 workers
    seen, points = set(), []
    for p in expand(spec):       # distinct geometry and node: no shared AccelForge result
        a = p['axes']
        key = (a['analog.rows'], a['analog.columns'], a['tech_node'])
        if key not in seen:
            seen.add(key)
            points.append({'design': apply_axes(base, a).model_dump(), 'model': p['model'],
                           'seq_len': p['seq_len'], 'slc_fraction': spec.slc_fraction})
    points = points[:n]
    runs = []
    for r in range(rounds):      # 1 and 2 workers alternately: the load of the machine drifts
        for workers in (1, 2):
            load = os.getloadavg()[0]
            cm = (dask_client(scheduler=external[workers - 1]) if external
                  else dask_client(workers=workers))
            with cm as client:
                client.run(warm)
                client.run(forget)  # external workers live on: forget earlier rounds' results
                t = time.perf_counter()
                res = client.gather(client.map(timed, points, pure=False))
                dt = time.perf_counter() - t
                rss = list(client.run(peak_rss_bytes).values())
            assert all(e is None for e, _, _ in res), res
            runs.append({'workers': workers, 'seconds': dt, 'points_per_s': len(points) / dt,
                         'task_cpu_s_median': statistics.median(c for _, _, c in res),
                         'task_wall_s_median': statistics.median(w for _, w, _ in res),
                         # share of a task's wall time it was not on a CPU (other processes)
                         'task_wait_share_median': statistics.median((w - c) / w
                                                                     for _, w, c in res),
                         # share of workers x run time spent inside tasks (the rest: tasks of
                         # unequal length ending unevenly, scheduling, gathering)
                         'busy_share': sum(w for _, w, _ in res) / (workers * dt),
                         'load_1min': load, 'worker_peak_rss_bytes': rss})
    print('RESULT', json.dumps({'points': len(points), 'runs': runs,
                                'client_peak_rss_bytes': peak_rss_bytes()}))
"""


def _external_clusters(tmp: Path) -> tuple[list[subprocess.Popen], list[str]]:
    """A scheduler with 1 worker and one with 2 workers, every process started by
    ``dask scheduler`` / ``dask worker`` in its own session (as on separate hosts).
    """
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYFLEX_CACHE_DIR": str(tmp / "cache")}
    procs, addresses = [], []
    for n in (1, 2):
        f = tmp / f"scheduler{n}.json"
        procs.append(subprocess.Popen(
            [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(f)], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not f.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(f.read_text())["address"]
        addresses.append(address)
        for i in range(n):
            procs.append(subprocess.Popen(
                [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--local-directory", str(tmp / f"w{n}{i}")], env=env,
                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    for n, address in zip((1, 2), addresses):
        with Client(address, timeout="60s") as c:
            c.wait_for_workers(n, timeout=120)
    return procs, addresses


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _run(code: str, *args: str) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HYFLEX_CACHE_DIR": cache,
               "MPLBACKEND": "Agg"}
        p = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                           text=True, check=False)
    if p.returncode:
        raise RuntimeError(p.stderr[-3000:])
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    """Run the sweep benchmark; print and save its JSON."""
    res = {"machine": {"cores": os.cpu_count(), "load_1min_before": _load()},
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as out:
        res["fast"] = _run(FAST, str(EXAMPLE), out)
    print("fast:", json.dumps(res["fast"], indent=1))
    # (b) and (b2), their rounds alternating (one round = 1 then 2 workers)
    with tempfile.TemporaryDirectory() as tmp:
        procs, addresses = _external_clusters(Path(tmp))
        try:
            local, external = [], []
            for _ in range(ROUNDS):
                local.append(_run(EXACT, str(EXAMPLE), str(EXACT_POINTS), "1"))
                external.append(_run(EXACT, str(EXAMPLE), str(EXACT_POINTS), "1", *addresses))
        finally:
            _stop(procs)
    for key, parts in (("exact", local), ("exact_external", external)):
        res[key] = {"points": parts[0]["points"], "runs": [r for p in parts for r in p["runs"]],
                    "client_peak_rss_bytes": max(p["client_peak_rss_bytes"] for p in parts)}
    for r in res["exact"]["runs"]:
        print("exact:", r)
    runs = res["exact"]["runs"]
    one = [r for r in runs if r["workers"] == 1]
    two = [r for r in runs if r["workers"] == 2]
    res["scaling_1_to_2_workers"] = [a["seconds"] / b["seconds"] for a, b in zip(one, two)]
    exact_pps = statistics.median(r["points_per_s"] for r in one)
    res["exact_points_per_s_1_worker"] = exact_pps
    res["fast_over_exact_points_per_s"] = res["fast"]["points_per_s"] / exact_pps
    # the same ratio in CPU time per point, which the machine's load does not change
    exact_cpu = statistics.median(r["task_cpu_s_median"] for r in runs)
    res["fast_over_exact_cpu_per_point"] = exact_cpu / (res["fast"]["engine_cpu_s"]
                                                        / res["fast"]["points"])
    for r in res["exact_external"]["runs"]:
        print("exact, external cluster:", r)
    ext = res["exact_external"]["runs"]
    res["scaling_1_to_2_workers_external"] = [
        a["seconds"] / b["seconds"] for a, b in zip([r for r in ext if r["workers"] == 1],
                                                    [r for r in ext if r["workers"] == 2])]
    res["targets"] = {
        "scaling_ge_1.7": statistics.median(res["scaling_1_to_2_workers"]) >= 1.7,
        "scaling_ge_1.7_external": statistics.median(res["scaling_1_to_2_workers_external"]) >= 1.7,
        "fast_ge_1000x_exact": res["fast_over_exact_points_per_s"] >= 1000,
        "example_lt_30s_before_verification": res["fast"]["engine_s"] < 30,
    }
    res["machine"]["load_1min_after"] = _load()
    print(json.dumps({k: res[k] for k in ("scaling_1_to_2_workers",
                                          "scaling_1_to_2_workers_external",
                                          "fast_over_exact_points_per_s",
                                          "fast_over_exact_cpu_per_point", "targets")}, indent=1))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    from hyflex_plugin.io import atomic_write_json

    atomic_write_json(OUT, res)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
