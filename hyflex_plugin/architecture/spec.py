"""Instantiate a design's AccelForge spec for one Einsum.

A design file (``arch_specs/*.yaml``) names two AccelForge templates (arch + workload, Jinja2):
``analog`` for one linear-layer part on the crossbars and ``digital`` for one attention matmul
on the digital PIM arrays. :func:`accelforge_spec` renders one of them with an Einsum's shape
(see :func:`hyflex_plugin.evaluation.engine.linear_params` / ``attention_params``) and, unless
``mapping=False``, the design's fixed mapping, giving an ``accelforge.Spec`` ready for
``spec.evaluate_mapping()`` (or for AccelForge's mapper when ``mapping=False``).
"""

from __future__ import annotations

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.errors import HyflexInputError

PATHS = ("analog", "digital")


def accelforge_spec(design: HyflexDesign, kind: str, params: dict, mapping: bool = True):
    """The ``accelforge.Spec`` of one Einsum on ``design``'s ``kind`` path ('analog'|'digital')."""
    import accelforge as af

    if kind not in PATHS:
        raise HyflexInputError("kind", None, f"expected one of {PATHS}, got {kind!r}")
    files = [str(design.template_path(kind))]
    if mapping:
        files.append(str(design.mapping_path(kind)))
    return af.Spec.from_yaml(*files, jinja_parse_data=dict(params))
