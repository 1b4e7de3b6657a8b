"""The typed result of pricing: who pays, per simulated year and in total, and why."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Why the practice retains a pound (one reason per pound), in the order the terms apply.
REASONS = ("no policy", "not covered", "exclusion", "excess", "waiting period", "indemnity period",
           "claim limit", "sublimit", "aggregate limit", "coinsurance")
PAYERS = ("gross", "contract", "insurer", "retained")


@dataclass
class Allocation:
    """Who pays, per trial and in total, with the reasons for what the practice retains.

    Attributes
    ----------
    trials : int
    per_trial : dict
        payer (:data:`PAYERS`, and ``claims_before_aggregate``) -> (trials,) pounds.
    by_component, by_risk : dict or None
        payer -> (K,) and (risks,) sums over all trials (None when priced with ``detail=False``).
    reasons : dict or None
        reason (:data:`REASONS`) -> (K,) pounds retained for it (None without detail or reasons).
    aggregate_exhausted : ndarray (trials,) of bool
    sublimit_exhausted : dict
        component -> (trials,) bool, for the sections with a sublimit.
    """

    trials: int
    per_trial: dict[str, np.ndarray]
    by_component: dict[str, np.ndarray] | None
    by_risk: dict[str, np.ndarray] | None
    reasons: dict[str, np.ndarray] | None
    aggregate_exhausted: np.ndarray
    sublimit_exhausted: dict[str, np.ndarray]


def combine(parts: list[Allocation]) -> Allocation:
    """Join allocations of consecutive chunks of trials."""
    first = parts[0]

    def total(attr):
        if getattr(first, attr) is None:
            return None
        return {k: sum(getattr(p, attr)[k] for p in parts) for k in getattr(first, attr)}

    return Allocation(
        sum(p.trials for p in parts),
        {k: np.concatenate([p.per_trial[k] for p in parts]) for k in first.per_trial},
        total("by_component"), total("by_risk"), total("reasons"),
        np.concatenate([p.aggregate_exhausted for p in parts]),
        {k: np.concatenate([p.sublimit_exhausted[k] for p in parts]) for k in first.sublimit_exhausted},
    )
