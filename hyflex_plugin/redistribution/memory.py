"""Give freed heap memory back to the operating system between evaluations.

With two worker threads, the noisy copies of MPNet's weight matrices (9-75 MB temporaries per
matrix) left freed but resident memory behind: a tiny-data study's resident size grew to 7.6 GB
where the live data is about 4 GB (measured with benchmarks/memtrace.py). Our reading, not
checked beyond these measurements: glibc's malloc keeps one heap per thread and, once its
dynamic mmap threshold has risen, serves large blocks from those heaps instead of fresh mappings.
Serving large blocks from mappings instead (``M_MMAP_THRESHOLD``)
costs 1.5-2x in forward-pass time here, so the study trims the heaps after each evaluation
(``malloc_trim``), which costs milliseconds. Other C libraries: nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


def release_free_memory() -> bool:
    """Return freed heap pages of every thread's heap to the OS (glibc); False if not possible."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False


__all__ = ["release_free_memory"]
