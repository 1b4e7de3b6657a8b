"""Guards on who pays: every figure the package shows must be a possible split of the loss.

For the total, every risk, every component and every retained-loss reason:

* ``contract + insurer + retained = gross`` to the penny (on the figures shown: means per year);
* each payer is between 0 and gross;
* every number is finite;
* the reasons for what the practice retains add up to what it retains.

Percentiles follow from the per-year bounds: a payer never pays more than the gross loss in any
year, so none of its percentiles (nor its worst-1% average) can exceed gross's.

These checks run before anything is written or shown (:meth:`SimulationResult.summary`, the
advisors' review, the dashboard). A breach is a bug in riskmodel, never in the user's files: it
raises :class:`InvariantError` naming the statistic, and nothing is written.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

#: Absolute tolerance in pounds ("to the penny") on figures per year.
PENNY = 0.005
#: Relative tolerance for floating-point rounding in sums of many terms.
REL = 1e-9
PAYERS = ("contract", "insurer", "retained")
TAIL_STATS = ("p50", "p90", "p95", "p99", "p99_5", "tvar99")


class InvariantError(RuntimeError):
    """An impossible figure (a split that does not add up, a payer outside [0, gross], a number
    that is not finite). This is a bug in riskmodel: please report it with the inputs."""


def _fail(where: str, statistic: str, detail: str) -> None:
    raise InvariantError(
        f"internal error in riskmodel ({where}): {statistic}: {detail}. This is a bug in the model, "
        "not in your files; nothing was written. Please report it with the register and policy files.")


def _tol(gross: float | np.ndarray) -> float | np.ndarray:
    return PENNY + REL * np.abs(gross)


def check_split(gross, contract, insurer, retained, *, where: str, statistic: str) -> None:
    """Check one split (scalars or arrays of the same shape): finite, each payer in [0, gross],
    and contract + insurer + retained = gross within a penny.

    Raises
    ------
    InvariantError
        Naming ``statistic`` and the first offending value.
    """
    parts = {"gross": gross, "contract": contract, "insurer": insurer, "retained": retained}
    arrs = {k: np.asarray(v, dtype=np.float64) for k, v in parts.items()}
    for name, a in arrs.items():
        bad = ~np.isfinite(a)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            _fail(where, f"{statistic} {name}", f"value {a.ravel()[i]!r} (at {i}) is not a finite amount")
    g = arrs["gross"]
    tol = _tol(g)
    if (g < -tol).any():
        i = int(np.flatnonzero((g < -tol).ravel())[0])
        _fail(where, f"{statistic} gross", f"{g.ravel()[i]!r} (at {i}) is negative")
    for name in PAYERS:
        a = arrs[name]
        low, high = a < -tol, a > g + tol
        for bad, what in ((low, "below 0"), (high, "above gross")):
            if bad.any():
                i = int(np.flatnonzero(np.broadcast_to(bad, g.shape).ravel())[0])
                _fail(where, f"{statistic} {name}",
                      f"{a.ravel()[i]!r} (at {i}) is {what} (gross {g.ravel()[i]!r})")
    total = arrs["contract"] + arrs["insurer"] + arrs["retained"]
    off = np.abs(total - g) > tol
    if off.any():
        i = int(np.flatnonzero(off.ravel())[0])
        _fail(where, statistic, f"contract + insurer + retained = {total.ravel()[i]!r} but gross is "
                                f"{g.ravel()[i]!r} (at {i})")


def check_reasons(reasons: Mapping[str, object], retained, *, where: str, statistic: str) -> None:
    """Check that the reasons (each finite and >= 0) add up to ``retained`` within a penny."""
    ret = np.asarray(retained, dtype=np.float64)
    total = np.zeros_like(ret)
    for reason, v in reasons.items():
        a = np.asarray(v, dtype=np.float64)
        if not np.isfinite(a).all():
            _fail(where, f"{statistic} reason '{reason}'", "is not a finite amount")
        if (a < -_tol(ret)).any():
            _fail(where, f"{statistic} reason '{reason}'", f"is negative ({float(a.min())!r})")
        total = total + a
    off = np.abs(total - ret) > _tol(ret)
    if off.any():
        i = int(np.flatnonzero(off.ravel())[0])
        _fail(where, f"{statistic} reasons",
              f"add up to {total.ravel()[i]!r} but the practice retains {ret.ravel()[i]!r} (at {i})")


def check_allocation(alloc, where: str) -> None:
    """Check an :class:`~riskmodel.coverage.allocation.Allocation`: per simulated year, and (when priced
    with detail) the means per year by component and by risk, and the retained-loss reasons."""
    n = max(1, int(alloc.trials))
    pt = alloc.per_trial
    check_split(pt["gross"], pt["contract"], pt["insurer"], pt["retained"], where=where,
                statistic="annual loss per simulated year")
    for attr, label in (("by_component", "by component"), ("by_risk", "by risk")):
        part = getattr(alloc, attr)
        if part is not None:
            check_split(*(np.asarray(part[p]) / n for p in ("gross",) + PAYERS), where=where,
                        statistic=f"mean {label}")
    if alloc.reasons is not None and alloc.by_component is not None:
        check_reasons({r: np.asarray(v) / n for r, v in alloc.reasons.items()},
                      np.asarray(alloc.by_component["retained"]) / n, where=where,
                      statistic="retained by reason and component")


def _walk_finite(obj, path: str, where: str) -> None:
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, (int, float, np.floating, np.integer)):
        if not math.isfinite(float(obj)):
            _fail(where, path, f"{obj!r} is not a finite number")
        return
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _walk_finite(v, f"{path}.{k}" if path else str(k), where)
        return
    if isinstance(obj, Iterable):
        for i, v in enumerate(obj):
            _walk_finite(v, f"{path}[{i}]", where)


def check_summary(summary: Mapping, where: str) -> None:
    """Check a results dictionary (``SimulationResult.summary()``, ``results.json``).

    Every number is finite; with a split: for the totals' means, every risk's and component's
    means, each payer is in [0, gross] and they add up to gross; each payer's percentiles and
    worst-1% average lie between 0 and gross's; the retained-loss reasons add up to retained.
    """
    _walk_finite(summary, "", where)
    if "insurer" not in summary or summary.get("insurer") is None:
        return
    g = summary["gross"]
    check_split(g["mean"], *(summary[p]["mean"] for p in PAYERS), where=where, statistic="expected annual loss")
    for p in PAYERS:
        for s in TAIL_STATS:
            if s in g and s in summary[p]:
                v, top = float(summary[p][s]), float(g[s])
                if v < -_tol(top) or v > top + _tol(top):
                    _fail(where, f"{p} {s}", f"{v!r} is outside [0, gross {s} {top!r}]")
    for row in summary.get("by_risk", []):
        check_split(row["mean"], *(row[f"{p}_mean"] for p in PAYERS), where=where,
                    statistic=f"risk {row.get('risk_id')!s} expected annual loss")
    for comp, row in (summary.get("by_component") or {}).items():
        check_split(row["mean"], *(row[f"{p}_mean"] for p in PAYERS), where=where,
                    statistic=f"component {comp} expected annual loss")
    for row in summary.get("gap_table") or []:
        check_split(row["gross"], *(row[p] for p in PAYERS), where=where,
                    statistic=f"gap table {row.get('component')}")
        if "reasons" in row:
            check_reasons(row["reasons"], row["retained"], where=where,
                          statistic=f"gap table {row.get('component')} retained by reason")


__all__ = ["InvariantError", "check_allocation", "check_summary", "check_split", "check_reasons"]
