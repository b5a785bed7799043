"""Work-arounds for known hwcomponents faults (hwcomponents 1.0.114).

After any ``hwcomponents.get_*`` query, the module-level model cache holds wrapper objects and
``hwcomponents.get_models(...)`` (which AccelForge calls when costing a spec) raises
``AttributeError: 'ComponentModelWrapper' object has no attribute '__name__'``. Clearing the
cache before AccelForge costs a spec avoids it; the cache is rebuilt on the next call.
"""

from __future__ import annotations


def reset_model_cache() -> None:
    """Forget hwcomponents' cached model list if it holds wrapper objects (the faulty state).

    A healthy cache of model classes is kept, so repeated calls cost nothing.
    """
    import hwcomponents.find_models as fm

    cached = fm._ALL_ESTIMATORS
    if cached is not None and all(isinstance(m, type) for m in cached):
        return
    fm._ALL_ESTIMATORS = None
