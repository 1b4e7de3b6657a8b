"""Compare policy schedules on the same simulated losses (common random numbers)."""
from __future__ import annotations

import numpy as np

from ..inputs.contracts import Contracts
from .engine import ScenarioModel
from ..inputs.policy import Policy


def compare(model: ScenarioModel, policies: list[Policy], contracts: Contracts | None = None) -> list[dict]:
    """Per policy: retained mean and 1-in-100, chance the limit runs out, and the reduction in
    expected retained loss (against no policy, same simulated years) per pound of premium."""
    uninsured = model.allocate(None, contracts, detail=False).per_trial["retained"].mean()
    rows = []
    for pol in policies:
        alloc = model.allocate(pol, contracts, detail=False)
        retained = alloc.per_trial["retained"]
        reduction = float(uninsured - retained.mean())
        rows.append({
            "name": pol.name, "source": pol.source, "premium": pol.premium,
            "aggregate_limit": "unlimited" if pol.unlimited else pol.aggregate_limit, "excess": pol.excess,
            "retained_mean": float(retained.mean()),
            "retained_p99": float(np.quantile(retained, 0.99)),
            "insurer_mean": float(alloc.per_trial["insurer"].mean()),
            "prob_aggregate_exhausted": float(alloc.aggregate_exhausted.mean()) if pol.insured else None,
            "reduction_in_retained_mean": reduction,
            "reduction_per_premium_pound": reduction / pol.premium if pol.premium > 0 else None,
        })
    return rows
