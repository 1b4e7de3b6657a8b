"""Results of a simulation: :class:`SimulationResult` and the figures its JSON is built from.

Moved here from :mod:`riskmodel.analysis.engine` (which imports them back by name).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.shipped import package_version
from ..coverage.allocation import REASONS, Allocation
from ..coverage.invariants import check_summary
from ..inputs.components import COMPONENT_LABELS, COMPONENTS
from ..inputs.contracts import Contracts
from ..inputs.policy import Policy
from ..inputs.register import Register
from .metrics import DEFAULT_THRESHOLDS, event_year_stats, exceedance_curve, prob_exceed, quantile_se, summarize


@dataclass
class SimulationResult:
    """Simulated annual losses of one register (and, with terms, who pays them).

    Attributes
    ----------
    gross : ndarray (trials,)
        Annual gross loss per simulated year.
    by_risk, by_component : ndarray (risks, d) and (components, d)
        Per-trial totals for the first ``d = min(trials, detail_trials)`` years.
    risk_mean, component_mean : ndarray
        Means over all trials.
    allocation : Allocation or None
        Contract / insurer / retained split, when a policy or contracts were given.
    """

    register: Register
    trials: int
    seed: int
    gross: np.ndarray
    by_risk: np.ndarray
    by_component: np.ndarray
    risk_mean: np.ndarray
    component_mean: np.ndarray
    allocation: Allocation | None = None
    policy: Policy | None = None
    contracts: Contracts | None = None
    control_status: dict[str, bool] = field(default_factory=dict)

    def payer(self, name: str) -> np.ndarray:
        """Per-trial annual totals for ``gross``, ``contract``, ``insurer`` or ``retained``."""
        if name == "gross":
            return self.gross
        if self.allocation is None:
            if name == "retained":
                return self.gross
            return np.zeros_like(self.gross)
        return self.allocation.per_trial[name]

    def summary(self, thresholds=DEFAULT_THRESHOLDS) -> dict:
        """Everything a report or another tool needs, as plain JSON-ready values.

        Raises
        ------
        InvariantError
            If any split is impossible (see :mod:`riskmodel.coverage.invariants`): checked here, before
            any JSON, report or review is produced from it.
        """
        reg = self.register
        where = f"results of {reg.path}"
        out: dict = {
            "trials": self.trials, "seed": self.seed, "version": package_version(),
            "register": reg.path, "register_sha256": reg.sha256,
            "practice": {"name": reg.practice.name, "ods_code": reg.practice.ods_code,
                         "list_size": reg.practice.list_size,
                         "interruption_cost_per_hour": reg.practice.interruption_cost_per_hour,
                         "illustrative": reg.practice.illustrative},
            "controls": {c: ("in place" if s else "planned") for c, s in sorted(self.control_status.items())},
            "gross": summarize(self.gross),
            "prob_exceed": {f"{t:.0f}": prob_exceed(self.gross, t) for t in thresholds},
            "exceedance_curve": exceedance_curve(self.gross),
        }
        # the practice's incident log (riskmodel/evidence.py): null without one
        evidence = reg.evidence
        out["frequency_update"] = None if evidence is None else evidence.frequency_update
        out["ico_72h"] = None if evidence is None else evidence.ico_72h
        d = self.by_risk.shape[1]
        alloc = self.allocation
        by_risk = []
        for i, r in enumerate(reg.risks):
            row = {"risk_id": r.risk_id, "title": r.title, "category": r.category,
                   "system_owner": r.system_owner,
                   **risk_profile(self.risk_mean[i], self.by_risk[i] if d else None),
                   "share_of_mean": float(self.risk_mean[i] / self.gross.mean()) if self.gross.mean() > 0 else 0.0}
            if alloc is not None:
                for p in ("contract", "insurer", "retained"):
                    row[f"{p}_mean"] = float(alloc.by_risk[p][i] / self.trials)
            by_risk.append(row)
        by_risk.sort(key=lambda r: -r["mean"])
        out["by_risk"] = by_risk
        out["percentiles_by_risk_from_trials"] = d
        by_comp = {}
        for k, c in enumerate(COMPONENTS):
            entry = {"label": COMPONENT_LABELS[c], "mean": float(self.component_mean[k]),
                     "p99": float(np.quantile(self.by_component[k], 0.99)) if d else 0.0}
            if alloc is not None:
                for p in ("contract", "insurer", "retained"):
                    entry[f"{p}_mean"] = float(alloc.by_component[p][k] / self.trials)
            by_comp[c] = entry
        out["by_component"] = by_comp
        if alloc is not None:
            for p in ("contract", "insurer", "retained"):
                out[p] = summarize(alloc.per_trial[p])
            out["retained_prob_exceed"] = {f"{t:.0f}": prob_exceed(alloc.per_trial["retained"], t)
                                           for t in thresholds}
            out["retained_exceedance_curve"] = exceedance_curve(alloc.per_trial["retained"])
            out["prob_aggregate_exhausted"] = float(alloc.aggregate_exhausted.mean()) if self.policy and self.policy.insured else None
            out["prob_sublimit_exhausted"] = {c: float(v.mean()) for c, v in alloc.sublimit_exhausted.items()}
            out["gap_table"] = gap_table(alloc, self.trials)
            insured = self.policy is not None and self.policy.insured
            out["limit_for_1_in_100"] = (float(np.quantile(alloc.per_trial["claims_before_aggregate"], 0.99))
                                         if insured else None)
            out["policy"] = policy_summary(self.policy)
            out["contracts"] = {"name": self.contracts.name, "source": self.contracts.source} if self.contracts else None
        check_summary(out, where)        # (the allocation itself was checked where it was priced)
        return out


def risk_profile(mean: float, per_trial: np.ndarray | None) -> dict:
    """One risk's figures: the expected annual loss over all trials (``mean``) and, from its
    per-trial annual losses, the chance of a year with a loss from it (``prob_event``), the cost
    of such a year (``cost_if_event_p50``, ``cost_if_event_p90``) and the 1-in-100 year (``p99``
    with ``p99_se``). A risk rarer than 1 in 100 years has ``p99`` 0: the cost-if-event figures
    are the ones to show for it."""
    out = {"mean": float(mean)}
    if per_trial is None or per_trial.size == 0:
        return {**out, "prob_event": 0.0, "cost_if_event_p50": 0.0, "cost_if_event_p90": 0.0,
                "p99": 0.0, "p99_se": 0.0}
    out.update(event_year_stats(per_trial))
    out["p99"] = float(np.quantile(per_trial, 0.99))
    out["p99_se"] = quantile_se(per_trial, 0.99)
    return out


def policy_summary(policy: Policy | None) -> dict | None:
    """The policy's terms as JSON-ready values (``json.dumps(..., allow_nan=False)`` works).

    ``insured`` is :attr:`Policy.insured` (whether the policy can pay anything).
    ``aggregate_limit`` is a number, or the string ``"unlimited"`` for an unlimited limit (never
    ``Infinity``); it is 0 when cover is switched off (``insured = false``), so that code reading
    ``aggregate_limit > 0`` as "insured" stays right. ``None`` for no policy at all.
    """
    if policy is None:
        return None
    limit = ("unlimited" if policy.unlimited else policy.aggregate_limit) if policy.cover else 0.0
    return {"name": policy.name, "insurer": policy.insurer, "premium": policy.premium,
            "insured": policy.insured,
            "aggregate_limit": limit, "excess": policy.excess,
            "limit_any_one_claim": policy.limit_any_one_claim, "coinsurance": policy.coinsurance,
            "waiting_period_hours": policy.waiting_period_hours,
            "waiting_period_mode": policy.waiting_period_mode,
            "indemnity_period_hours": policy.indemnity_period_hours,
            "requires_controls": list(policy.requires_controls),
            "sections": {c: {"covered": s.covered, "sublimit": s.sublimit, "excess": s.excess}
                         for c, s in policy.sections.items()},
            "source": policy.source}


def gap_table(alloc: Allocation, trials: int) -> list[dict]:
    """Rows per component: mean gross, contract, insurer, retained, and retained by reason."""
    rows = []
    for k, c in enumerate(COMPONENTS):
        row = {"component": c, "label": COMPONENT_LABELS[c]}
        for p in ("gross", "contract", "insurer", "retained"):
            row[p] = float(alloc.by_component[p][k] / trials)
        row["reasons"] = ({} if alloc.reasons is None else
                          {r: float(alloc.reasons[r][k] / trials) for r in REASONS if alloc.reasons[r][k] > 0})
        rows.append(row)
    return rows


__all__ = ["SimulationResult", "risk_profile", "policy_summary", "gap_table"]
