"""MLC slice noise sigma <-> cell bit-error rate (pure Python: the CLI uses it without torch).

Our derivation (not from the paper): the largest 2-bit level (3) misreads when its noise
|3 * sigma * n| exceeds half the level spacing (0.5), so BER = 2 * Q(0.5 / (3 sigma)).
"""

from __future__ import annotations

from statistics import NormalDist

from hyflex_plugin.errors import HyflexInputError


def sigma_from_bit_error_rate(ber: float) -> float:
    """Relative slice noise sigma that gives a cell-level error probability ``ber``.

    Our derivation (not from the paper): the largest 2-bit level (3) misreads when its noise
    |3 * sigma * n| exceeds half the level spacing (0.5), so BER = 2 * Q(0.5 / (3 sigma)),
    sigma = 0.5 / (3 * Q^-1(BER / 2)).
    """
    if not 0 < ber < 1:
        raise HyflexInputError("--ber", "bit_error_rate", f"must be in (0, 1), got {ber}")
    z = NormalDist().inv_cdf(1 - ber / 2)
    return 0.5 / (3 * z)


def bit_error_rate_from_sigma(sigma: float) -> float:
    """Inverse of :func:`sigma_from_bit_error_rate`: BER = 2 * Q(0.5 / (3 sigma))."""
    if sigma <= 0:
        return 0.0
    return 2 * (1 - NormalDist().cdf(0.5 / (3 * sigma)))
