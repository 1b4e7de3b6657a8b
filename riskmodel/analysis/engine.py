"""Run the engine: simulate a register's annual losses and, given terms, who pays.

Two ways in:

* :func:`simulate` streams chunk by chunk, so memory stays bounded whatever the trial count;
  it keeps per-trial totals (gross and, with terms, contract/insurer/retained) for every trial
  and per-trial totals by risk and by component for the first ``detail_trials`` trials.
* :class:`ScenarioModel` keeps every simulated event so that control statuses and policy terms
  can be re-applied to the same simulated years at once (policy comparisons, the dashboard).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..io.shipped import package_version
from ..coverage.allocation import REASONS, Allocation, EventTable, Terms, allocate, combine
from ..inputs.components import COMPONENT_LABELS, COMPONENTS
from ..inputs.contracts import Contracts, load_contracts
from ..coverage.invariants import check_allocation, check_summary
from .metrics import (DEFAULT_THRESHOLDS, PERCENTILES, event_year_stats, exceedance_curve, prob_exceed,
                      quantile_se, summarize)
from ..inputs.policy import Policy
from ..inputs.register import Register
from ..simulation.draws import Plan, accumulate, chunks, default_threads, draw_chunk, progress, realise, status_vector

DEFAULT_TRIALS = 100_000
DEFAULT_SEED = 20261
DETAIL_TRIALS = 1_000_000


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


def simulate(register: Register, trials: int = DEFAULT_TRIALS, seed: int = DEFAULT_SEED, *,
             policy: Policy | None = None, contracts: Contracts | None = None,
             control_status: dict[str, bool] | None = None, threads: int | None = None,
             detail_trials: int = DETAIL_TRIALS, show_progress: bool | None = None) -> SimulationResult:
    """Simulate ``trials`` years of the register's losses.

    Parameters
    ----------
    register : Register
    trials : int
        Simulated years. Memory is bounded: chunks of trials are simulated and discarded.
    seed : int
        The same seed gives the same numbers bit for bit (whatever ``threads``).
    policy, contracts : optional
        Terms to split every event between contract, insurer and practice. With a policy and no
        contracts, the shipped default contract cover is used.
    control_status : dict, optional
        Controls to switch in place (True) or to planned (False) for this run.
    threads : int, optional
        Worker threads (default: up to 2). Results do not depend on it.
    detail_trials : int
        Keep per-trial totals by risk and component for this many trials.

    Returns
    -------
    SimulationResult
    """
    if trials < 1:
        raise ValueError("trials must be at least 1")
    plan = Plan.from_register(register)
    status = {**register.control_status, **(control_status or {})}
    in_place = status_vector(plan, register, status)
    cost = register.practice.interruption_cost_per_hour
    if policy is not None and contracts is None:
        contracts = load_contracts()
    terms = Terms.compile(register, contracts, policy, status) if contracts is not None else None
    R, K = len(plan.risks), len(COMPONENTS)
    d = min(trials, detail_trials)
    # uninitialised: each chunk's worker zeroes its own slices, on all cores (every by_risk row
    # is written whole)
    gross = np.empty(trials)
    by_risk = np.empty((R, d))
    by_comp = np.empty((K, d))
    parts = list(chunks(trials))

    def work(part):
        j, start, n = part
        draws = draw_chunk(plan, seed, j, start, n, aux=terms is not None)
        losses = realise(plan, draws, in_place, cost)
        m = max(0, min(n, d - start))
        gross[start:start + n] = 0.0
        by_comp[:, start:start + m] = 0.0
        rs, cs = accumulate(losses, n, gross[start:start + n],
                            by_risk[:, start:start + m] if m else None, by_comp[:, start:start + m] if m else None)
        alloc = None
        if terms is not None:
            alloc = allocate(EventTable.from_losses(losses, n, draws.year_deny), terms, R,
                             gross_per_trial=gross[start:start + n])
        return rs, cs, alloc

    risk_sum = np.zeros(R)
    comp_sum = np.zeros(K)
    allocs = []
    with ThreadPoolExecutor(threads or default_threads()) as pool:
        for rs, cs, alloc in progress(pool.map(work, parts), len(parts), "simulating", show_progress):
            risk_sum += rs
            comp_sum += cs
            if alloc is not None:
                allocs.append(alloc)
    allocation = combine(allocs) if allocs else None
    if allocation is not None:
        check_allocation(allocation, f"simulation of {register.path}")
    return SimulationResult(register, trials, seed, gross, by_risk, by_comp, risk_sum / trials,
                            comp_sum / trials, allocation, policy, contracts, status)


def __getattr__(name: str):
    """:class:`ScenarioModel` and :class:`ChunkedSplit` live in :mod:`riskmodel.analysis.scenarios`
    (importable from here as before)."""
    if name in ("ScenarioModel", "ChunkedSplit"):
        from . import scenarios

        return getattr(scenarios, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["simulate", "SimulationResult", "ScenarioModel", "ChunkedSplit", "DEFAULT_TRIALS", "DEFAULT_SEED",
           "PERCENTILES"]
