"""Annual limits eroded in event order within each year (sublimits and the aggregate limit).

A limit pays each event what is left of it after the events before it in the same year:
``min(used + x, limit) - min(used, limit)``, where ``used`` is the year's claims before the
event. :func:`erode` sorts only the years that reach the limit by time and pays their events
with :func:`within_year_paid`; every other year is paid in full.
"""
from __future__ import annotations

import numpy as np

from .events import group_start


def within_year_paid(x: np.ndarray, trial: np.ndarray, limit: float) -> np.ndarray:
    """Pay each event from an annual limit eroded in event order within each trial.

    ``x`` is sorted by trial, then time. What a year has used before each event is summed event by
    event within that year only (one vectorised step per position in the year, the same additions
    in the same order as a loop over the year's events), so each year's numbers are exact and
    never depend on the other years in the array.
    """
    n = x.size
    if n == 0:
        return x.copy()
    pos = np.arange(n) - group_start(trial)
    before = np.zeros(n)
    order = np.argsort(pos, kind="stable")
    bounds = np.cumsum(np.bincount(pos))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ids = order[lo:hi]                       # the events at this position in their year
        before[ids] = before[ids - 1] + x[ids - 1]
    return np.minimum(before + x, limit) - np.minimum(before, limit)


def erode(x: np.ndarray, trial: np.ndarray, time: np.ndarray, totals: np.ndarray,
          limit: float) -> np.ndarray:
    """What an annual ``limit`` pays of each event, eroded in time order within each year.

    Only the events of years whose ``totals`` exceed the limit are sorted and eroded; the others
    are paid in full. Returns ``x`` itself when no year reaches the limit.
    """
    hit = totals > limit
    if not hit.any():
        return x
    idx = hit.take(trial).nonzero()[0]
    idx = idx[np.lexsort((time.take(idx), trial.take(idx)))]
    out = x.copy()
    out[idx] = within_year_paid(x.take(idx), trial.take(idx), limit)
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (without warnings or temporaries for the zeros)."""
    out = np.zeros_like(den)
    np.divide(num, den, out=out, where=den > 0)
    return out


def share(num: np.ndarray, den: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The share ``num / den`` of an amount left after a term, always within [0, 1].

    0 where ``den <= 0`` (nothing to share). Rounding can leave ``num`` a hair outside
    ``[0, den]`` (or ``den`` a tiny negative after subtractions): the result is clipped, so a
    share can never scale an amount up. (An unclipped share of a tiny negative over a clamped
    denominator once put a 280-digit amount into the reports.) ``out`` may be ``den`` itself.
    """
    if out is None:
        out = np.zeros(np.shape(den))
        np.divide(num, den, out=out, where=den > 0)
    else:
        positive = den > 0
        np.divide(num, den, out=out, where=positive)
        out[~positive] = 0.0
    return np.clip(out, 0.0, 1.0, out=out)
