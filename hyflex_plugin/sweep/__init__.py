"""Design-space sweeps: ``hyflex sweep SPEC.yaml --out DIR`` (docs/sweep.md).

Public API: :func:`evaluate_points` (a batch of (design, model, N) points on the exact or the
fast engine, optionally with cost-model constants overridden), :func:`run_sweep`,
:func:`load_spec`.
"""

from hyflex_plugin.sweep.engines import evaluate_points
from hyflex_plugin.sweep.spec import SweepSpec, expand, load_spec

__all__ = ["SweepSpec", "evaluate_points", "expand", "load_spec", "run_sweep"]


def __getattr__(name):
    if name == "run_sweep":
        from hyflex_plugin.sweep.run import run_sweep

        return run_sweep
    raise AttributeError(name)
