"""Distributions fitted to the 90% ranges people write in registers.

A range ``(low, high)`` is read as the 5th and 95th percentiles of a lognormal. The same fit is
used for per-event losses, downtime hours and, for ``events_low``/``events_high``, the annual
event rate (which makes the yearly count a Poisson-lognormal mixture, overdispersed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Standard normal 95th percentile: a 90% range spans +/- Z95 standard deviations in log space.
#: Written out (it is ``scipy.special.ndtri(0.95)`` to the last bit, checked in the tests) so that
#: importing the package does not import scipy.stats (most of the command line's start-up time).
Z95: float = 1.6448536269514722


@dataclass(frozen=True)
class LogNormal:
    """Lognormal with log-mean ``mu`` and log-sd ``sigma`` (``sigma = 0`` is a constant)."""

    mu: float
    sigma: float

    @classmethod
    def from_range(cls, low: float, high: float) -> "LogNormal":
        """Fit to a 90% range: ``low`` and ``high`` become the 5th and 95th percentiles.

        Examples
        --------
        >>> d = LogNormal.from_range(1_000, 10_000)
        >>> round(d.ppf(0.05)), round(d.ppf(0.95))
        (1000, 10000)
        """
        if not (0 < low <= high):
            raise ValueError(f"a lognormal range needs 0 < low <= high, got {low}, {high}")
        mu = 0.5 * (np.log(low) + np.log(high))
        sigma = (np.log(high) - np.log(low)) / (2.0 * Z95)
        return cls(float(mu), float(sigma))

    def mean(self) -> float:
        return float(np.exp(self.mu + 0.5 * self.sigma**2))

    def second_moment(self) -> float:
        return float(np.exp(2.0 * self.mu + 2.0 * self.sigma**2))

    def var(self) -> float:
        return self.second_moment() - self.mean() ** 2

    def ppf(self, q: float) -> float:
        from scipy.special import ndtri

        return float(np.exp(self.mu + self.sigma * ndtri(q)))


def mean_above_high(low: float, high: float) -> bool:
    """True when a 90% range is so wide that the fitted lognormal's mean exceeds ``high``.

    That happens when ``sigma > 2 * Z95``, i.e. ``high / low`` above about 50,000: usually a
    typing slip (an extra zero) rather than a belief.
    """
    d = LogNormal.from_range(low, high)
    return d.mu + 0.5 * d.sigma**2 > np.log(high)     # in log space: no overflow for huge ranges
