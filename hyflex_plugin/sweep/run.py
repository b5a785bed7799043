"""``hyflex sweep``: run a SPEC's points on an engine, resumably, and write the results folder.

Flow: validate the SPEC -> expand its points -> build each point's design (a design the schema
rejects is recorded with its reason) -> skip points already in ``DIR/results.parquet`` ->
evaluate the rest (fast: vectorised batches in this process; accelforge: on Dask) while
rewriting ``results.parquet`` atomically every few seconds -> verification sample (fast and
auto) -> ``results.csv``, ``pareto.csv``, ``pareto.png``, ``summary.md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import statistics
import time
from pathlib import Path

from hyflex_plugin.architecture.design import ARCH_DIR, load_arch
from hyflex_plugin.console import progress as progress_bar
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_json, atomic_write_text
from hyflex_plugin.sweep import results as res
from hyflex_plugin.sweep.engines import (
    evaluate_points,
    exact_task,
    fast_rows,
    peak_rss_bytes,
    relative_difference,
)
from hyflex_plugin.sweep.spec import apply_axes, base_data, expand, load_spec

ENGINES = ("auto", "fast", "accelforge")
#: metrics the verification sample compares
VERIFY_METRICS = ("energy_j", "latency_s", "throughput_tops", "tops_per_w", "tops_per_mm2",
                  "area_mm2")
FAST_CHUNK = 256        # points per fast-engine batch (progress update, results flush)
FLUSH_SECONDS = 2.0     # the exact engine rewrites results.parquet at most this often


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A ``distributed.Client``: to ``scheduler`` (tcp://HOST:PORT) if given, else to an
    embedded LocalCluster of ``workers`` single-threaded worker processes (default: cores).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as e:
            raise HyflexInputError("--scheduler", None,
                                   f"cannot reach the Dask scheduler {scheduler!r}: {e}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.WARNING)  # the in-process scheduler's INFO lines would hide the bar
    try:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield client
    finally:
        log.setLevel(level)


def _exact_rows(payloads: list[dict], client, on_row) -> None:
    """Evaluate on the exact engine; ``on_row(payload, row)`` as each point completes."""
    if client is None:
        for p in payloads:
            on_row(p, exact_task(p, disk_cache=True))
        return
    from distributed import as_completed

    futures = client.map(exact_task, payloads, pure=False)
    which = {f.key: p for f, p in zip(futures, payloads)}
    try:
        for fut in as_completed(futures):
            on_row(which[fut.key], fut.result())
    except BaseException:
        client.cancel(futures)
        raise


def run_sweep(spec_path: str | Path, out: str | Path, engine: str = "auto", verify: int = 20,
              scheduler: str | None = None, workers: int | None = None,
              progress: bool = True, shipped: bool = True) -> dict:
    """Run the sweep of ``spec_path`` into ``out`` (see module docstring); returns statistics
    (points, evaluated, resumed, seconds, cpu_seconds, points_per_s, verification, peak memory).
    """
    if engine not in ENGINES:
        raise HyflexInputError("--engine", None, f"expected one of {list(ENGINES)}, got {engine!r}")
    if isinstance(verify, bool) or not isinstance(verify, int) or verify < 0:
        raise HyflexInputError("--verify", None, f"expected a count >= 0, got {verify!r}")
    if workers is not None and (isinstance(workers, bool) or workers < 0):
        raise HyflexInputError("--workers", None, f"expected a count >= 0, got {workers!r}")
    spec, _, base_path = load_spec(spec_path)
    base = base_data(base_path)  # axes are set in the design file as written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run_engine = "fast" if engine in ("auto", "fast") else "accelforge"
    axes = list(spec.axes)
    points = expand(spec)

    rows: dict[str, dict] = {}
    for r in res.read_results(out):  # resume: keep finished rows of this spec and engine
        if r.get("engine") in (run_engine, "schema"):
            rows[r["point_id"]] = r
    todo, payloads = [], []
    for p in points:
        base_row = {"index": p["index"], "point_id": p["point_id"], "model": p["model"],
                    "seq_len": p["seq_len"], **p["axes"]}
        if p["point_id"] in rows:
            rows[p["point_id"]].update(index=p["index"])
            continue
        try:
            design = apply_axes(base, p["axes"])
        except ValueError as e:
            rows[p["point_id"]] = {**base_row, "engine": "schema", "error": str(e)}
            continue
        todo.append(base_row)
        # the fast engine runs here and takes the design as it is; Dask workers get its data
        payloads.append({"design": design if run_engine == "fast" else design.model_dump(),
                         "model": p["model"],
                         "seq_len": p["seq_len"], "slc_fraction": spec.slc_fraction,
                         "batch": spec.batch, "point_id": p["point_id"]})
    wanted = {p["point_id"] for p in points}
    rows = {k: v for k, v in rows.items() if k in wanted}
    resumed = len(rows)
    by_id = {r["point_id"]: r for r in todo}

    last = [time.monotonic()]

    def flush(force: bool = False) -> None:
        if force or time.monotonic() - last[0] >= FLUSH_SECONDS:
            res.write_results(out, list(rows.values()), axes)
            last[0] = time.monotonic()

    bar = progress_bar(total=len(points), initial=len(rows), desc=f"sweep ({run_engine})", unit="pt",
                       enabled=progress, smoothing=0.1)
    t0, cpu0 = time.monotonic(), time.process_time()
    stats = {"engine": engine, "points": len(points),
             "designs": len(points) // (len(spec.models) * len(spec.seq_lens)),
             "resumed": resumed, "evaluated": len(payloads)}
    client_cm = (dask_client(scheduler, workers)
                 if run_engine == "accelforge" and payloads and workers != 0
                 else contextlib.nullcontext(None))
    try:
        with client_cm as client:
            if run_engine == "fast":
                for i in range(0, len(payloads), FAST_CHUNK):
                    chunk = payloads[i:i + FAST_CHUNK]
                    for p, row in zip(chunk, fast_rows(chunk)):
                        rows[p["point_id"]] = {**by_id[p["point_id"]], **row}
                    bar.update(len(chunk))
                    flush()
            else:
                def on_row(p, row):
                    rows[p["point_id"]] = {**by_id[p["point_id"]], **row}
                    bar.update(1)
                    flush()

                _exact_rows(payloads, client, on_row)
            if client is not None:
                stats["worker_peak_rss_bytes"] = client.run(peak_rss_bytes)
    except BaseException:
        bar.close()
        flush(force=True)  # Ctrl-C / failure: everything finished so far is kept
        raise
    bar.close()
    flush(force=True)
    stats["seconds"] = time.monotonic() - t0
    # CPU time of this process while evaluating: the fast engine's whole cost (on Dask: the
    # client's share only)
    stats["cpu_seconds"] = time.process_time() - cpu0
    stats["points_per_s"] = len(payloads) / stats["seconds"] if payloads and stats["seconds"] else 0.0

    df = res.frame(list(rows.values()), axes)
    verification = None
    if run_engine == "fast" and verify:
        verification = _verify(out, df, base, verify, scheduler, workers, spec, progress)
    stats["verification"] = verification
    front = res.pareto(df, spec)
    res.write_csv(out / "results.csv", df)
    res.write_csv(out / "pareto.csv", front)
    marks = _shipped_rows(spec, run_engine) if shipped else []
    res.plot(out / "pareto.png", df, front, marks)
    stats["client_peak_rss_bytes"] = peak_rss_bytes()
    atomic_write_text(out / "summary.md", res.summary(
        Path(spec_path).read_text(), df, front, spec, axes, stats, verification))
    return stats


def _verify(out: Path, df, base, n: int, scheduler, workers, spec, progress) -> dict:
    """Re-evaluate a random sample of the fast rows on the exact engine; max/median relative
    difference per metric. Kept in ``verification.json`` (a re-run with the same sample reuses
    it).
    """
    ok = df[df["error"].isna()]
    rng = random.Random(0)
    ids = sorted(rng.sample(list(ok["point_id"]), min(n, len(ok))))
    cached = out / "verification.json"
    if cached.is_file():
        old = json.loads(cached.read_text())
        if old.get("point_ids") == ids:
            return old
    sample = ok.set_index("point_id").loc[ids]
    points = expand(spec)
    by_id = {p["point_id"]: p for p in points}
    payload = [{"design": apply_axes(base, by_id[i]["axes"]).model_dump(),
                "model": by_id[i]["model"], "seq_len": by_id[i]["seq_len"],
                "slc_fraction": spec.slc_fraction, "batch": spec.batch} for i in ids]
    t0 = time.monotonic()
    exact: list[dict] = []
    bar = progress_bar(total=len(payload), desc="verify (accelforge)", unit="pt", enabled=progress)
    with (dask_client(scheduler, workers) if workers != 0 else contextlib.nullcontext(None)) as client:
        _exact_rows(payload, client, lambda p, r: (exact.append((payload.index(p), r)),
                                                     bar.update(1)))
    bar.close()
    exact_rows = [r for _, r in sorted(exact, key=lambda t: t[0])]
    metrics = {}
    for m in VERIFY_METRICS:
        diffs = [relative_difference(float(sample.loc[i, m]), float(e[m]))
                 for i, e in zip(ids, exact_rows) if e.get("error") is None]
        if diffs:
            metrics[m] = {"max": max(diffs), "median": statistics.median(diffs)}
    v = {"n": len(ids), "seconds": time.monotonic() - t0, "point_ids": ids, "metrics": metrics,
         "exact_errors": sum(e.get("error") is not None for e in exact_rows)}
    atomic_write_json(cached, v)
    return v


def _shipped_rows(spec, engine: str) -> list[dict]:
    """The shipped hybrid-capable designs (arch_specs/*.yaml) at each (model, N) of the spec,
    on the fast engine, to mark them in the plot.
    """
    points, names = [], []
    for f in sorted(ARCH_DIR.glob("*.yaml")):
        d = load_arch(f)
        for model in spec.models:
            for n in spec.seq_lens:
                points.append({"design": d, "model": model, "seq_len": n,
                               "slc_fraction": spec.slc_fraction, "batch": spec.batch})
                names.append(d.name)
    rows = evaluate_points(points, "fast")
    return [{**r, "design": name, "model": p["model"], "seq_len": p["seq_len"]}
            for r, name, p in zip(rows, names, points) if not math.isnan(r.get("tops_per_w", math.nan))]
