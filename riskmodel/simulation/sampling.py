"""How the engine draws two things it needs many of: each simulated year's event count, and the
events at which a loss component occurs.

Both are exact samplers of the model's distributions (docs/model.md, "How the engine draws"),
chosen for speed on the numbers the model needs:

* :func:`yearly_events`: a year's Poisson count by inverting one uniform when the year's rate is
  small (most years of most risks), numpy's Poisson sampler otherwise;
* :func:`occurrences`: a rare component's occurrences as geometric gaps between them, a common
  one's as one uniform per event.
"""
from __future__ import annotations

import math

import numpy as np

#: A component occurring with a probability below this, among at least ``SPARSE_FROM`` events,
#: has its occurrences drawn as the geometric gaps between them (one draw per occurrence), not
#: one uniform per event: the examples' rare components (1% and 5%) are two thirds of their
#: components' events. (Below ``SPARSE_FROM`` events the few more numpy calls cost more.)
SPARSE_BELOW = 0.25
SPARSE_FROM = 2_000
#: A simulated year whose drawn rate is at most this gets its event count by inverting one uniform
#: (a step per event, over the years not yet done: measured about twice as fast as numpy's
#: sampler up to rates of 6 to 12 a year); a year above it, from numpy's Poisson sampler.
INVERT_RATE_UP_TO = 10.0
#: The most steps of that inversion: a count above it has a chance below 1e-29 at such rates, and
#: the bound keeps a uniform within rounding of 1 from stepping on.
_MAX_INVERTED = 64


def occurrences(g: np.random.Generator, m: int, prob: float) -> np.ndarray:
    """Indices (ascending, int64) of the events among ``m`` at which a component occurring
    independently with probability ``prob`` occurs.

    Below :data:`SPARSE_BELOW` (among at least :data:`SPARSE_FROM` events) the gaps between
    occurrences are drawn: geometric, as ``1 + floor(E / -log(1 - prob))`` with ``E`` a standard
    exponential, in batches a little above the number expected (:func:`_batch`; a batch that ends
    before ``m`` is followed by another). Otherwise one float32 uniform per event, below ``prob``.
    Both give independent occurrences with probability ``prob``.
    """
    if prob >= SPARSE_BELOW or m < SPARSE_FROM:
        return (g.random(m, dtype=np.float32) < prob).nonzero()[0]
    if prob <= 0.0:
        return np.zeros(0, dtype=np.int64)
    scale = -1.0 / math.log1p(-prob)       # a gap is 1 + floor(E scale), E exponential: geometric
    parts, last = [], -1.0
    while last < m - 1:
        left = (m - 1 - last) * prob
        gaps = g.standard_exponential(_batch(left))
        gaps *= scale
        np.floor(gaps, out=gaps)
        gaps += 1.0
        at = np.cumsum(gaps)
        at += last
        parts.append(at)
        last = float(at[-1])
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return out[:np.searchsorted(out, m)].astype(np.int64)


def _batch(expected: float) -> int:
    """Gaps drawn at once when ``expected`` occurrences are left: the expected number, four
    standard deviations and 8 more (a second batch is seldom needed)."""
    return int(expected + 4.0 * math.sqrt(expected)) + 8


#: ``exp(-lam) >= 1 - lam``: a year whose uniform is at most ``1 - lam`` (less this margin, far
#: above rounding) has no event, known without its P(0) (most years of a rare risk).
_NO_EVENT_MARGIN = 1e-12


def yearly_events(g: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """The simulated year (int64) of each event when year ``t`` has a Poisson(``lam[t]``) count:
    each year's index repeated by its count (not in year order).

    One uniform per year. A year with ``lam`` at most :data:`INVERT_RATE_UP_TO` takes the
    smallest count ``k`` whose Poisson distribution function reaches its uniform (inversion, by
    the recurrence ``P(k) = P(k-1) lam / k``: the years still short of their uniform after ``k``
    steps have at least ``k + 1`` events); the others are drawn by numpy's sampler after. A year
    whose uniform is at most ``1 - lam`` has no event (``P(0) = exp(-lam) >= 1 - lam``): P(0) is
    computed for the other years only.
    """
    u = g.random(lam.size)
    years = (~(u <= (1.0 - _NO_EVENT_MARGIN) - lam)).nonzero()[0]
    return _invert(g, years, u.take(years), lam.take(years))


def lognormal_yearly_events(g: np.random.Generator, n: int, mu: float, sigma: float, cap: float,
                            factor: float | np.ndarray) -> np.ndarray:
    """:func:`yearly_events` of ``n`` years at the rates ``minimum(exp(mu + sigma z), cap) *
    factor``, ``z`` standard normal (drawn first, one per year, then the uniforms).

    The same events, bit for bit, as ``yearly_events(g, lam)`` with those rates, but each year's
    ``exp`` is taken only where the year may have an event: ``exp(mu + w) <= e**mu / (1 - w)``
    for ``w = sigma z < 1`` bounds the rate, and a year whose uniform is at most one less that
    bound has no event.
    """
    w = sigma * g.standard_normal(n)
    u = g.random(n)
    # a year may have an event unless u <= 1 - bound (less the margin), bound = K factor / (1 - w)
    # with K = e**mu (and a relative margin): written without the division, and every year with
    # w near 1 or above kept (no bound)
    bound = (math.exp(mu) * (1.0 + 1e-9)) * factor
    years = ((((1.0 - _NO_EVENT_MARGIN) - u) * (1.0 - w) < bound) | (w >= 0.999)).nonzero()[0]
    f = factor if np.isscalar(factor) else factor.take(years)
    lam = np.minimum(np.exp(mu + w.take(years)), cap) * f
    return _invert(g, years, u.take(years), lam)


def _invert(g: np.random.Generator, years: np.ndarray, u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The events of :func:`yearly_events` from the years (ascending) that may have one, with
    their uniforms and rates (every year with ``lam`` above :data:`INVERT_RATE_UP_TO` among them)."""
    small = lam <= INVERT_RATE_UP_TO
    pk = np.exp(-np.where(small, lam, 0.0))          # P(0)
    at = (small & (u > pk)).nonzero()[0]              # the years with at least one event
    idx = years.take(at)
    parts = [idx]
    if idx.size:
        uu, ll, pp = u.take(at), lam.take(at), pk.take(at)
        cdf = pp.copy()
        for k in range(1, _MAX_INVERTED):
            pp *= ll / k
            cdf += pp
            more = (uu > cdf).nonzero()[0]            # at least k + 1 events
            if more.size == 0:
                break
            parts.append(idx.take(more))
            # the years left behind are dropped once they are a quarter of those carried on (the
            # distribution function only grows: a year short of its uniform was short before)
            if more.size < 0.75 * idx.size:
                idx, uu, ll = idx.take(more), uu.take(more), ll.take(more)
                pp, cdf = pp.take(more), cdf.take(more)
    big = (~small).nonzero()[0]
    if big.size:
        parts.append(np.repeat(years.take(big), g.poisson(lam.take(big))))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


__all__ = ["occurrences", "yearly_events", "lognormal_yearly_events", "SPARSE_BELOW", "SPARSE_FROM",
           "INVERT_RATE_UP_TO"]
