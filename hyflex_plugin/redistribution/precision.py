"""The arithmetic of the accuracy experiment's forward passes (torch-free, for the CLI)."""

from __future__ import annotations

from hyflex_plugin.errors import HyflexInputError

#: 'float32', or 'bfloat16' (torch CPU autocast: the operations autocast lists for bfloat16 —
#: the linear layers among them, checked by a test — compute in bfloat16, about 3x faster on
#: CPUs with AVX512-BF16). Weights and their noise are made in float32 either way.
COMPUTE_DTYPES = ("float32", "bfloat16")


def check_compute_dtype(value: str) -> str:
    """``value`` if it is one of :data:`COMPUTE_DTYPES`, else an input error naming the option."""
    if value not in COMPUTE_DTYPES:
        raise HyflexInputError("--compute-dtype", "compute_dtype",
                               f"expected one of {list(COMPUTE_DTYPES)}, got {value!r}")
    return value
