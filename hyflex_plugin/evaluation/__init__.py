"""Evaluation on AccelForge: per-Einsum (engine) and whole-model (model) results."""

from hyflex_plugin.evaluation.model import (
    ModelResult,
    evaluate,
    evaluate_model,
    format_result,
)
from hyflex_plugin.evaluation.request import EvaluationRequest

__all__ = ["EvaluationRequest", "ModelResult", "evaluate", "evaluate_model", "format_result"]
