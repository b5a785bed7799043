"""benchmarks/memtrace.py: the peak resident size and what every thread was doing at it."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from memtrace import MemoryTrace, rss_bytes  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc (Linux)")


def allocate_and_hold(n_bytes: int) -> float:
    block = np.ones(n_bytes // 8)  # touched, so resident
    time.sleep(0.3)
    return float(block[-1])


def test_memory_trace_records_the_peak_and_the_stack_that_made_it():
    before = rss_bytes()
    with MemoryTrace(interval_s=0.01, step_bytes=50 * 2**20, keep=("test_benchmark_memtrace",)) as mt:
        allocate_and_hold(400 * 2**20)
    rep = mt.report()
    assert rep["peak_rss_gb"] * 2**30 >= before + 380 * 2**20
    assert rep["peak_rss_gb"] * 2**30 < before + 600 * 2**20
    main = rep["peak_at"]["stacks"]["MainThread"]
    assert any("allocate_and_hold" in f for f in main)
    # file names relative to the checkout, wherever it lies (results are committed)
    assert any(f.startswith("tests/test_benchmark_memtrace.py:") for f in main), main
    assert rep["timeline_t_s_rss_gb"]
