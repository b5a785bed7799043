"""hyflex comparison stage: HyFlexPIM vs modelled baselines and published designs, reports."""

from hyflex_plugin.comparison.compare import Comparison, run_comparison
from hyflex_plugin.comparison.published import load_claims, load_published
from hyflex_plugin.comparison.report import write_report

__all__ = ["Comparison", "run_comparison", "write_report", "load_published", "load_claims"]
