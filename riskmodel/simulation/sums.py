"""A chunk's realised events summed per simulated year: by risk, by component and in total.

:func:`accumulate` gives what the engine and the scenario model report (the sums by risk and by
component too); :func:`add_total` the yearly total alone, to the last bit the same (the
portfolio's practices).
"""
from __future__ import annotations

import numpy as np

from ..inputs.components import COMPONENTS
from .draws import RiskLosses


def _per_trial(rl: RiskLosses, n: int) -> np.ndarray:
    """(comps, n) per-trial sums of a risk's events (no copy for a single component)."""
    # (bincount gives integers for a risk without events: always float64 here)
    if len(rl.values) == 1:
        return np.bincount(rl.trial, weights=rl.values[0], minlength=n).astype(np.float64, copy=False)[None, :]
    out = np.empty((len(rl.values), n))
    for j, v in enumerate(rl.values):      # (into rows: np.array of a list of rows is ten times slower)
        out[j] = np.bincount(rl.trial, weights=v, minlength=n)
    return out


def _sums(rl: RiskLosses, n: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """A risk's per-trial sums by component (comps, n), its per-trial total (n,), its sum and its
    sums by component (kept with its events, so a risk realised under the same controls is never
    summed twice)."""
    if rl.sums is None:
        if rl.per_trial is None:
            rl.per_trial = _per_trial(rl, n)
        pt = rl.per_trial
        csums = pt.sum(axis=1)
        rl.sums = (pt, pt[0] if len(pt) == 1 else pt.sum(axis=0), csums.sum(), csums)
    return rl.sums


def _add_row(comp_rows: dict[int, np.ndarray], k: int, row: np.ndarray) -> None:
    """Add a risk's per-year row of component ``k`` into ``comp_rows[k]`` (a copy for the first)."""
    if k in comp_rows:
        comp_rows[k] += row
    else:
        comp_rows[k] = row.copy()


def accumulate(losses: list[RiskLosses], n: int, total: np.ndarray | None, by_risk: np.ndarray | None = None,
               by_comp: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Add a chunk's per-trial totals into preallocated views: ``total`` (n,), if given, gets the
    yearly loss, ``by_risk`` rows (risks, m) and ``by_comp`` rows (K, m), if given, the first ``m``
    trials. Returns the sums over the chunk's trials by risk and by component.

    Risks are summed by component first (in risk order), then the components into ``total`` (in
    component order): the engine and the scenario model get the same sums to the last bit, and a
    register whose risks share a few components needs few passes over the trials.
    """
    risk_sum = np.zeros(len(losses))
    comp_sum = np.zeros(len(COMPONENTS))
    comp_rows: dict[int, np.ndarray] = {}
    for rl in losses:
        pt, row, rsum, csums = _sums(rl, n)
        if by_risk is not None:
            by_risk[rl.index] = row[:by_risk.shape[1]]
        risk_sum[rl.index] = rsum
        for j, k in enumerate(rl.comps):
            comp_sum[k] += csums[j]
            _add_row(comp_rows, k, pt[j])
    for k in sorted(comp_rows):
        if total is not None:
            total += comp_rows[k]
        if by_comp is not None:
            by_comp[k] += comp_rows[k][:by_comp.shape[1]]
    return risk_sum, comp_sum


#: A risk with fewer events than this share of a chunk's years is summed over the years it has
#: events in only (:func:`add_total`), not over every year of the chunk.
SPARSE_SUM_BELOW = 0.25


def add_total(losses: list[RiskLosses], n: int, total: np.ndarray) -> None:
    """Add a chunk's yearly loss into ``total`` (n,): what :func:`accumulate` adds, to the last
    bit, without the sums by risk and component it also gives.

    The same additions in the same order (each risk's events summed per year by component in
    event order, the risks into each component in risk order, the components into ``total`` in
    component order), but a risk whose events fall in few years is summed over those years only:
    a year without its events would add zero.
    """
    comp_rows: dict[int, np.ndarray] = {}
    for rl in losses:
        m = rl.trial.size
        if m == 0:                        # (zeros added leave the sums as they are)
            continue
        if rl.per_trial is not None:
            for j, k in enumerate(rl.comps):
                _add_row(comp_rows, k, rl.per_trial[j])
            continue
        if m >= SPARSE_SUM_BELOW * n:
            for j, k in enumerate(rl.comps):
                row = np.bincount(rl.trial, weights=rl.values[j], minlength=n)   # (a new array: kept)
                if k in comp_rows:
                    comp_rows[k] += row
                else:
                    comp_rows[k] = row
            continue
        seen = np.bincount(rl.trial, minlength=n) > 0
        years = seen.nonzero()[0]
        at = (np.cumsum(seen) - 1).take(rl.trial)           # each event's place among the years
        for j, k in enumerate(rl.comps):
            part = np.bincount(at, weights=rl.values[j], minlength=years.size)
            row = comp_rows.get(k)
            if row is None:
                row = comp_rows[k] = np.zeros(n)
            row[years] += part
    for k in sorted(comp_rows):
        total += comp_rows[k]


__all__ = ["accumulate", "add_total", "SPARSE_SUM_BELOW"]
