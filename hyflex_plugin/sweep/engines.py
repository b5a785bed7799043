"""Evaluate batches of (design, model, N) points on the exact or the fast engine.

This is the Python API behind ``hyflex sweep`` and the one other studies (``hyflex
sensitivity``) use::

    from hyflex_plugin.sweep import evaluate_points
    rows = evaluate_points([{"design": design, "model": "bert-base", "seq_len": 128}],
                           engine="fast", constants={"adc_energy_calibration": 1.2})

Each point is a dict with ``design`` (a ``HyflexDesign``, its ``model_dump()``, or a design-file
path), ``model``, ``seq_len`` and optionally ``slc_fraction`` (default 0.1; a design with a
fixed ``slc_fraction`` uses its own) and ``batch``. Each returned row holds the whole-model
metrics of ``hyflex evaluate --json`` (no per-layer detail; energy breakdowns flattened to
``energy_by_category_j.<category>`` columns; or what ``row(point, result)`` makes of the
result, see :func:`evaluate_points`), ``engine`` and ``error`` (None, or the reason the point
could not be evaluated: the point is recorded, never fatal).

Engines:
- ``accelforge``: the exact evaluation (AccelForge per Einsum, fixed mappings). With
  ``client`` (a ``distributed.Client``) the points run on that Dask cluster; workers keep their
  AccelForge results in memory and write no files, rows come back to the caller.
- ``fast``: the same evaluation (the same code: ``evaluate_model``) with the per-Einsum
  AccelForge call replaced by the closed form of :mod:`hyflex_plugin.sweep.fast`, each
  distinct Einsum solved once (memoised per Einsum and constants, across batches).

``constants`` overrides cost-model constants of the data file for the whole batch (on workers
too): see :func:`hyflex_plugin.costmodels.constants.overridden_constants`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterable

from hyflex_plugin.architecture.design import HyflexDesign, load_arch
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.evaluation.engine import EinsumCost, evaluate_einsum

ENGINES = ("accelforge", "fast")


def _design(d) -> HyflexDesign:
    if isinstance(d, HyflexDesign):
        return d
    if isinstance(d, dict):
        return HyflexDesign.model_validate(d)
    return load_arch(d)


def result_row(result) -> dict:
    """Whole-model metrics of a ``ModelResult`` (``evaluate --json`` minus per-layer detail)."""
    d = result.to_dict(layers=False)
    # slc_fraction: the share the evaluation request resolved (a fixed-share design's own)
    row = {k: d[k] for k in ("slc_fraction", "energy_j", "latency_s", "ops", "throughput_tops",
                             "tops_per_w", "tops_per_mm2", "area_mm2", "pus", "chips")}
    for key in ("energy_by_category_j", "energy_by_component_j"):
        for k, v in sorted(d[key].items()):
            row[f"{key}.{k}"] = v
    return row


def _evaluate_one(point: dict, evaluator: Callable | None, cache: bool,
                  row: Callable | None = None) -> dict:
    from hyflex_plugin.evaluation.model import evaluate_model

    design = _design(point["design"])
    r = evaluate_model(model=point["model"], seq_len=int(point["seq_len"]),
                       slc_fraction=point.get("slc_fraction", 0.1), arch=design,
                       batch=int(point.get("batch", 1)), cache=cache, einsum_evaluator=evaluator)
    return result_row(r) if row is None else row(point, r)


def _guarded(fn: Callable[[], dict], engine: str) -> dict:
    """Run one point; a bad point becomes a row with its reason instead of an exception.

    An error while the ``hyflex`` command is being interrupted is the Ctrl-C in another form
    (see :func:`hyflex_plugin.cli.interrupt_requested`), not the point's: it interrupts.
    """
    from hyflex_plugin.cli import interrupt_requested

    try:
        row = fn()
        row["error"] = None
    except (HyflexInputError, ValueError, ZeroDivisionError, RuntimeError) as e:
        if interrupt_requested():
            raise KeyboardInterrupt from e
        row = {"error": f"{type(e).__name__}: {e}"}
    row["engine"] = engine
    return row


# ----------------------------------------------------------------------------- exact engine
_MEMO: dict[str, EinsumCost] = {}


def _memory_evaluator(design, kind, params, search=False, cache=True) -> EinsumCost:
    """AccelForge per Einsum with an in-memory memo (Dask workers write no files)."""
    from hyflex_plugin.costmodels.constants import active_overrides

    key = json.dumps([design.fingerprint(), kind, params, search, active_overrides()],
                     sort_keys=True, default=str)
    if key not in _MEMO:
        _MEMO[key] = evaluate_einsum(design, kind, params, search=search, cache=False)
    return _MEMO[key]


def exact_task(point: dict, constants: dict | None = None, disk_cache: bool = False,
               row: Callable | None = None) -> dict:
    """One point on the exact engine (runs on a Dask worker or in-process)."""
    from hyflex_plugin.costmodels.constants import overridden_constants

    with overridden_constants(constants or {}):
        return _guarded(lambda: _evaluate_one(
            point, None if disk_cache else _memory_evaluator, disk_cache, row), "accelforge")


def peak_rss_bytes() -> int:
    """Peak resident memory of this process [bytes] (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ----------------------------------------------------------------------------- fast engine
#: closed-form results by Einsum (kind + parameters) and overridden constants; kept across
#: batches (a sweep asks for the same few hundred Einsums thousands of times)
_CLOSED_FORM: dict[tuple, EinsumCost] = {}
_CLOSED_FORM_MAX = 50_000  # about 1 kB each: cleared when full (a sweep needs a few hundred)


def _closed_form_evaluator(design, kind, params, search=False, cache=True) -> EinsumCost:
    """The per-Einsum closed form of :mod:`hyflex_plugin.sweep.fast` in place of AccelForge,
    memoised per Einsum: each distinct Einsum is solved once, when a point first needs it.
    """
    from hyflex_plugin.costmodels.constants import active_overrides
    from hyflex_plugin.sweep.fast import BATCH

    # (the parameters come in the fixed order of engine.linear_params / attention_params)
    key = (kind, tuple(params.items()), tuple(sorted(active_overrides().items())))
    cost = _CLOSED_FORM.get(key)
    if cost is None:
        if len(_CLOSED_FORM) >= _CLOSED_FORM_MAX:
            _CLOSED_FORM.clear()
        cost = _CLOSED_FORM[key] = BATCH[kind]([params])[0]
    return cost


@contextlib.contextmanager
def _quiet_hwcomponents():
    """Hwcomponents logs every model instantiation at INFO; thousands of them cost more than
    the closed form. Silenced while a fast batch runs.
    """
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


def fast_rows(points: list[dict], constants: dict | None = None,
              row: Callable | None = None) -> list[dict]:
    """Every point on the fast engine: the exact engine's evaluation with the closed form per
    Einsum (each distinct Einsum solved once).
    """
    from hyflex_plugin.costmodels.constants import overridden_constants

    with overridden_constants(constants or {}), _quiet_hwcomponents():
        return [_guarded(lambda p=p: _evaluate_one(p, _closed_form_evaluator, False, row), "fast")
                for p in points]


# ----------------------------------------------------------------------------- both
def evaluate_points(points: Iterable[dict], engine: str = "fast", constants: dict | None = None,
                    client=None, cache: bool = True, row: Callable | None = None) -> list[dict]:
    """Rows (see module docstring) of ``points`` on ``engine``, in the order of ``points``.

    ``row(point, result)``: a point's row from its whole-model result (a
    :class:`~hyflex_plugin.evaluation.model.ModelResult`) instead of :func:`result_row`
    (``error`` and ``engine`` are added to it).
    """
    points = list(points)
    if engine == "fast":
        return fast_rows(points, constants, row)
    if engine != "accelforge":
        raise HyflexInputError("--engine", "engine", f"expected one of {ENGINES}, got {engine!r}")
    payload = [{**p, "design": _design(p["design"]).model_dump()} for p in points]
    if client is None:
        return [exact_task(p, constants, disk_cache=cache, row=row) for p in payload]
    futures = client.map(exact_task, payload, constants=constants, row=row, pure=False)
    return client.gather(futures)


def relative_difference(a: float, b: float) -> float:
    """|a - b| / |b| (b the exact value); 0 when both are 0."""
    if a == b:
        return 0.0
    if b == 0 or not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / abs(b)
