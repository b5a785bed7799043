"""The one strict base class and the one "did you mean" helper (issue 12 item 2)."""

import doctest

import pytest

import hyflex_plugin.basetypes as basetypes
from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.comparison.published import PaperClaims, PublishedDesigns
from hyflex_plugin.costmodels.constants import ConstantsFile
from hyflex_plugin.partition.schema import PartitionFile
from hyflex_plugin.workloads.shapes import ModelShape


def test_doctests():
    result = doctest.testmod(basetypes)
    assert result.attempted >= 5 and result.failed == 0


@pytest.mark.parametrize("schema", [HyflexDesign, PartitionFile, PublishedDesigns, PaperClaims,
                                    ConstantsFile, ModelShape])
def test_every_schema_is_strict(schema):
    assert issubclass(schema, StrictModel)
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        schema.model_validate({"no_such_field": 1})


def _models(schema, seen=None):
    """``schema`` and every StrictModel reachable through its fields."""
    import typing
    seen = seen if seen is not None else set()
    if schema in seen:
        return seen
    seen.add(schema)
    for f in schema.model_fields.values():
        stack = [f.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, StrictModel):
                _models(t, seen)
            stack.extend(typing.get_args(t))
    return seen


@pytest.mark.parametrize("schema", [HyflexDesign, PartitionFile, PublishedDesigns, PaperClaims,
                                    ConstantsFile, ModelShape])
def test_every_field_is_documented(schema):
    models = _models(schema)
    assert len(models) >= 1
    undocumented = [f"{m.__name__}.{n}" for m in models for n, f in m.model_fields.items()
                    if not (f.description or "").strip()]
    assert not undocumented
