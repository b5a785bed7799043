"""Evaluation on AccelForge: per-Einsum (engine) and whole-model (model) results."""

from hyflex_plugin.evaluation.model import ModelResult, evaluate_model, format_result

__all__ = ["ModelResult", "evaluate_model", "format_result"]
