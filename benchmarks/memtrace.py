"""Where a process's memory peaks: resident size sampled in a thread, with every thread's stack
at each new peak.

``MemoryTrace`` reads ``VmRSS`` from ``/proc/self/status`` every ``interval_s`` seconds. Each
time the resident size passes the highest value seen so far by ``step_bytes``, it records the
stacks of all threads (the frames in hyflex, benchmarks and torch's optimiser/serialisation,
innermost last). The result says what the process was doing when it reached its peak, which
``ru_maxrss`` alone cannot. Linux only (it reads /proc).

    with MemoryTrace() as mt:
        work()
    mt.report()  # {"peak_rss_gb", "peak_at": [stacks], "peaks": [...], "timeline": [...]}
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path

#: this checkout's root: stripped from recorded file names, so results do not depend on where it lies
ROOT = f"{Path(__file__).resolve().parents[1]}/"
#: frames kept in a recorded stack: file paths containing one of these
KEEP = ("hyflex_plugin", "benchmarks", "torch/serialization", "torch/optim", "transformers/modeling_utils")


def rss_bytes() -> int:
    """Resident set size of this process (bytes), from /proc/self/status."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _stacks(keep: tuple[str, ...]) -> dict[str, list[str]]:
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    out = {}
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        frames = [f"{fs.filename.split('site-packages/')[-1].removeprefix(ROOT)}:{fs.lineno} {fs.name}"
                  for fs in traceback.extract_stack(frame) if any(k in fs.filename for k in keep)]
        if frames:
            out[names.get(ident, str(ident))] = frames
    return out


class MemoryTrace:
    """Sample this process's resident size; record all threads' stacks at each new peak."""

    def __init__(self, interval_s: float = 0.05, step_bytes: int = 100 * 2**20, timeline_every_s: float = 5.0,
                 keep: tuple[str, ...] = KEEP):
        self.interval_s, self.step_bytes, self.timeline_every_s = interval_s, step_bytes, timeline_every_s
        self.keep = keep
        self.peak = 0
        self.peaks: list[dict] = []
        self.timeline: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memtrace", daemon=True)
        self._t0 = 0.0

    def _run(self) -> None:
        last_tl = -1e9
        recorded = 0
        while not self._stop.is_set():
            now = time.perf_counter() - self._t0
            rss = rss_bytes()
            if rss > self.peak:
                self.peak = rss
                if rss >= recorded + self.step_bytes:
                    recorded = rss
                    self.peaks.append({"t_s": round(now, 2), "rss_gb": round(rss / 2**30, 3),
                                       "stacks": _stacks(self.keep)})
            if now - last_tl >= self.timeline_every_s:
                self.timeline.append((round(now, 1), round(rss / 2**30, 3)))
                last_tl = now
            self._stop.wait(self.interval_s)

    def __enter__(self) -> MemoryTrace:
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, n_peaks: int = 5) -> dict:
        """Peak resident size, the stacks at the peak, the last ``n_peaks`` recorded rises, a timeline."""
        return {"peak_rss_gb": round(self.peak / 2**30, 3), "sample_interval_s": self.interval_s,
                "peak_at": self.peaks[-1] if self.peaks else None, "last_rises": self.peaks[-n_peaks:],
                "timeline_t_s_rss_gb": self.timeline}
