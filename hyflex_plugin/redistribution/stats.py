"""Confidence intervals and paired comparisons of accuracies measured on the same sentences.

An accuracy point is a (draws x sentences) table of 0/1 correctness: one row per noise draw
(and fine-tuning seed), one column per test sentence. Two sources of spread matter — which
sentences were drawn for the test set, and which noise draw was made — so the 95 % interval
comes from a two-way bootstrap: each replicate resamples the rows and the columns with
replacement and takes the mean. A paired comparison of two methods uses their difference table
(same sentences, same seeds, so the same noise generator seeds), which removes the sentence
difficulty both methods share; its p-value is the two-sided bootstrap probability of the
opposite sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BOOT = 2000
BOOT_SEED = 12345


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % interval (same unit as the data: a fraction 0-1)."""

    mean: float
    low: float
    high: float
    p_value: float | None = None
    """Two-sided bootstrap p-value of 'mean = 0' (paired differences only)."""

    @property
    def half_width(self) -> float:
        """Half the width of the 95 % interval."""
        return (self.high - self.low) / 2


def _draw_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """(n_boot, n): how often each of n items is drawn in n draws with replacement, per replicate."""
    idx = rng.integers(0, n, (n_boot, n)) + np.arange(n_boot)[:, None] * n
    # float32 is exact here: counts, 0/1/-1 entries and their sums stay far below 2**24
    return np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float32)


def _two_way_bootstrap(table: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` replicates, each resampling rows and columns with replacement.

    A replicate's mean is R^T T C / (s n), where R and C count how often each row and column
    was drawn, so all replicates take one matrix product.
    """
    rng = np.random.default_rng(seed)
    s, n = table.shape
    rows = _draw_counts(rng, s, n_boot) if s > 1 else np.ones((n_boot, 1), dtype=np.float32)
    cols = _draw_counts(rng, n, n_boot)
    per_row = table.astype(np.float32) @ cols.T  # (s, n_boot): each row's sum over the drawn columns
    return np.einsum("bs,sb->b", rows, per_row).astype(float) / (s * n)


def mean_ci(table, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> Estimate:
    """Mean accuracy of a (draws x sentences) 0/1 table and its 95 % two-way bootstrap interval."""
    t = np.atleast_2d(np.asarray(table, dtype=float))
    boot = _two_way_bootstrap(t, n_boot, seed)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return Estimate(float(t.mean()), float(lo), float(hi))


def paired_difference(a, b, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> Estimate:
    """Mean of ``a - b`` for two tables on the same sentences and draws, 95 % interval, p-value."""
    ta = np.atleast_2d(np.asarray(a, dtype=float))
    tb = np.atleast_2d(np.asarray(b, dtype=float))
    if ta.shape != tb.shape:
        raise ValueError(f"paired tables differ in shape: {ta.shape} vs {tb.shape}")
    d = ta - tb
    boot = _two_way_bootstrap(d, n_boot, seed)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    mean = float(d.mean())
    if not boot.any() and mean == 0:
        p = 1.0
    else:
        p = float(min(1.0, 2 * min((boot <= 0).mean(), (boot >= 0).mean())))
    return Estimate(mean, float(lo), float(hi), p)


def pack_bits(correct: list[int]) -> str:
    """0/1 list -> hex string (rows of the study cache stay small)."""
    return np.packbits(np.asarray(correct, dtype=np.uint8)).tobytes().hex()


def unpack_bits(text: str, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits` for ``n`` sentences (signed, so differences of tables work)."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))[:n].astype(np.int8)


__all__ = ["Estimate", "mean_ci", "pack_bits", "paired_difference", "unpack_bits"]
