"""The straightforward dense allocation (events x components), kept as a test oracle.

It is the first implementation of ``riskmodel.coverage.allocation.allocate``: every step works on the full
matrix of claims. The package now uses a faster path that works on per-event totals; tests check
that both give the same numbers on many policies.
"""
from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from riskmodel.coverage.allocation import BI, K, REASONS, Allocation, EventTable, Terms, group_start
from riskmodel.inputs.components import BUSINESS_INTERRUPTION, COMPONENTS


@dataclass
class DenseTable:
    """Events in time order within each trial, with a dense (events, K) matrix of pounds."""

    trials: int
    trial: np.ndarray
    risk: np.ndarray
    values: np.ndarray
    hours: np.ndarray
    u_recover: np.ndarray
    u_deny: np.ndarray

    @classmethod
    def of(cls, t: EventTable) -> "DenseTable":
        order = np.lexsort((t.time, t.trial))
        return cls(t.trials, t.trial[order], t.risk[order], t.values[order], t.hours[order],
                   t.u_recover[order], t.u_deny[order])

    @property
    def group_start(self) -> np.ndarray:
        return group_start(self.trial)


def _within_year_paid(x: np.ndarray, start: np.ndarray, limit: float) -> np.ndarray:
    """Pay each event from an annual limit eroded in event order within each trial."""
    cs = np.cumsum(x)
    before = cs - x
    base = before[start]
    cum_after = cs - base
    cum_before = before - base
    return np.minimum(cum_after, limit) - np.minimum(cum_before, limit)


def reference_allocate(events: EventTable, terms: Terms, n_risks: int) -> Allocation:
    """Split every event's loss between contract, insurer and practice, on a dense matrix."""
    table = DenseTable.of(events)
    V = table.values
    risk = table.risk
    reasons = {r: np.zeros(K) for r in REASONS}

    # 1. contract cover
    borne = terms.borne[risk]
    paid = table.u_recover < terms.recovery_probability[risk]
    contract = V * borne * paid[:, None]
    tot = contract.sum(axis=1)
    cap = terms.cap_per_event[risk]
    over = tot > cap
    if over.any():
        contract[over] *= (cap[over] / tot[over])[:, None]
    left = V - contract

    insurer = np.zeros_like(V)
    before_aggregate = np.zeros(V.shape[0])
    sub_exhausted: dict[str, np.ndarray] = {}
    agg_exhausted = np.zeros(table.trials, dtype=bool)
    policy = terms.policy
    if policy is None or not policy.insured:
        reasons["no policy"] += left.sum(axis=0)
    else:
        covered = np.array([policy.section(c).covered for c in COMPONENTS])
        denied = terms.excluded[risk]
        if policy.warranty_denial_probability > 0:
            denied = denied | (terms.warranty[risk] & (table.u_deny < policy.warranty_denial_probability))
        claim = left * covered[None, :]
        claim[denied] = 0.0
        reasons["not covered"][~covered] += left[:, ~covered].sum(axis=0)
        if denied.any():
            reasons["exclusion"] += (left[denied] * covered[None, :]).sum(axis=0)

        # business interruption: waiting and indemnity periods act on hours
        if covered[BI]:
            h = table.hours
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(V[:, BI] > 0, claim[:, BI] / np.where(V[:, BI] > 0, V[:, BI], 1.0), 0.0)
            capped_h = h if policy.indemnity_period_hours is None else np.minimum(h, policy.indemnity_period_hours)
            wp = policy.waiting_period_hours
            if policy.waiting_period_mode == "beyond":
                pay_h = np.maximum(capped_h - wp, 0.0)
            else:
                pay_h = np.where(h > wp, capped_h, 0.0)
            rate = terms.cost_per_hour * frac
            after_indemnity = capped_h * rate
            bi_paid = pay_h * rate
            reasons["indemnity period"][BI] += (claim[:, BI] - after_indemnity).sum()
            reasons["waiting period"][BI] += (after_indemnity - bi_paid).sum()
            claim[:, BI] = bi_paid

        # excess: sections with their own, then the per-claim excess shared by the others
        own = np.array([policy.section(c).excess is not None for c in COMPONENTS])
        if policy.section(BUSINESS_INTERRUPTION).excess is None:
            shares_policy_excess = ~own & (np.arange(K) != BI)
        else:
            shares_policy_excess = ~own
        for k in np.flatnonzero(own & covered):
            after = np.maximum(claim[:, k] - policy.section(COMPONENTS[k]).excess, 0.0)
            reasons["excess"][k] += (claim[:, k] - after).sum()
            claim[:, k] = after
        if policy.excess > 0:
            shared = claim[:, shares_policy_excess]
            s = shared.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                keep = np.where(s > 0, np.maximum(s - policy.excess, 0.0) / np.where(s > 0, s, 1.0), 0.0)
            after = shared * keep[:, None]
            reasons["excess"][shares_policy_excess] += (shared - after).sum(axis=0)
            claim[:, shares_policy_excess] = after

        # any-one-claim limit
        if policy.limit_any_one_claim is not None:
            s = claim.sum(axis=1)
            over = s > policy.limit_any_one_claim
            if over.any():
                before = claim[over].copy()
                claim[over] *= (policy.limit_any_one_claim / s[over])[:, None]
                reasons["claim limit"] += (before - claim[over]).sum(axis=0)

        start = table.group_start
        # sublimits, in time order within each year
        for k, comp in enumerate(COMPONENTS):
            sub = policy.section(comp).sublimit
            if sub is None or not covered[k]:
                continue
            x = claim[:, k].copy()
            paid_k = _within_year_paid(x, start, sub)
            reasons["sublimit"][k] += (x - paid_k).sum()
            claim[:, k] = paid_k
            totals = np.bincount(table.trial, weights=x, minlength=table.trials)
            sub_exhausted[comp] = totals >= sub if sub > 0 else np.ones(table.trials, dtype=bool)

        # annual aggregate limit across all sections
        s = claim.sum(axis=1)
        before_aggregate = s
        paid_s = _within_year_paid(s, start, policy.aggregate_limit)
        cut = s > paid_s
        if cut.any():
            before = claim[cut].copy()
            claim[cut] *= (paid_s[cut] / s[cut])[:, None]
            reasons["aggregate limit"] += (before - claim[cut]).sum(axis=0)
        agg_exhausted = np.bincount(table.trial, weights=s, minlength=table.trials) >= policy.aggregate_limit

        if policy.coinsurance > 0:
            reasons["coinsurance"] += claim.sum(axis=0) * policy.coinsurance
            claim *= 1.0 - policy.coinsurance
        insurer = claim

    retained = V - contract - insurer
    parts = {"gross": V, "contract": contract, "insurer": insurer, "retained": retained}
    per_trial = {p: np.bincount(table.trial, weights=a.sum(axis=1), minlength=table.trials)
                 for p, a in parts.items()}
    per_trial["claims_before_aggregate"] = np.bincount(table.trial, weights=before_aggregate,
                                                       minlength=table.trials)
    by_component = {p: a.sum(axis=0) for p, a in parts.items()}
    by_risk = {p: np.bincount(risk, weights=a.sum(axis=1), minlength=n_risks) for p, a in parts.items()}
    return Allocation(table.trials, per_trial, by_component, by_risk, reasons, agg_exhausted, sub_exhausted)


