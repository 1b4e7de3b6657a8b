"""Who pays: contract cover, then the insurance policy, then the practice, event by event.

For every simulated event, in order:

1. **Contract cover** by the system owner: each component's ``borne`` share, paid with the
   owner's ``recovery_probability`` (one draw per event) and capped per event.
2. **The policy**, on what is left: exclusions (war/state-backed, unencrypted devices, missing
   warranted controls); sections not covered; business-interruption waiting and indemnity
   periods on the downtime hours; each section's own excess, then the per-claim excess shared by
   the other sections (pro rata); the any-one-claim limit; section sublimits and then the annual
   aggregate limit, eroded in the order events fall within the year; then coinsurance (the
   practice's share of what the policy pays; limits apply before it).
3. **The practice** retains the rest: ``retained = gross - contract - insurer`` per event and
   component, so the three always add up to gross.

Every pound retained is attributed to one reason: no policy, not covered, exclusion, excess,
waiting period, indemnity period, claim limit, sublimit, aggregate limit or coinsurance. (What a
contract fails to recover is simply a loss like any other for the policy.)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .components import BUSINESS_INTERRUPTION, COMPONENTS
from .contracts import Contracts
from .policy import WAR_TAGS, Policy
from .register import Register

BI = COMPONENTS.index(BUSINESS_INTERRUPTION)
K = len(COMPONENTS)
REASONS = ("no policy", "not covered", "exclusion", "excess", "waiting period", "indemnity period",
           "claim limit", "sublimit", "aggregate limit", "coinsurance")
PAYERS = ("gross", "contract", "insurer", "retained")


@dataclass
class EventTable:
    """Realised events sorted by trial, then by time within the year.

    ``values`` holds gross pounds by component (columns in :data:`COMPONENTS` order); ``hours``
    the business-interruption downtime of each event.
    """

    trials: int
    trial: np.ndarray
    risk: np.ndarray
    values: np.ndarray
    hours: np.ndarray
    u_recover: np.ndarray
    u_deny: np.ndarray
    _start: np.ndarray | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return int(self.trial.size)

    @property
    def group_start(self) -> np.ndarray:
        """Index of the first event of each event's trial (for cumulative sums within a year)."""
        if self._start is None:
            n = self.trial.size
            first = np.ones(n, dtype=bool)
            if n:
                first[1:] = self.trial[1:] != self.trial[:-1]
            idx = np.where(first, np.arange(n), 0)
            self._start = np.maximum.accumulate(idx) if n else idx
        return self._start

    @classmethod
    def from_losses(cls, losses, n: int, offset: int = 0) -> "EventTable":
        """Merge one chunk's realised events of every risk and sort them into time order."""
        sizes = [rl.trial.size for rl in losses]
        total = int(sum(sizes))
        trial = np.empty(total, dtype=np.int64)
        risk = np.empty(total, dtype=np.int32)
        values = np.zeros((total, K))
        hours = np.zeros(total)
        aux = np.zeros((3, total), dtype=np.float32)
        at = 0
        for rl, m in zip(losses, sizes):
            sl = slice(at, at + m)
            trial[sl] = rl.trial
            risk[sl] = rl.index
            for j, k in enumerate(rl.comps):
                values[sl, k] = rl.values[j]
            if rl.hours is not None:
                hours[sl] = rl.hours
            if rl.aux is None:
                raise ValueError("allocation needs the events' auxiliary draws (simulate with aux=True)")
            aux[:, sl] = rl.aux
            at += m
        order = np.argsort(trial + aux[0].astype(np.float64), kind="stable")
        return cls(n, trial[order] + offset, risk[order], values[order], hours[order],
                   aux[1][order], aux[2][order])

    @classmethod
    def concat(cls, tables: list["EventTable"]) -> "EventTable":
        return cls(sum(t.trials for t in tables),
                   np.concatenate([t.trial for t in tables]), np.concatenate([t.risk for t in tables]),
                   np.concatenate([t.values for t in tables]), np.concatenate([t.hours for t in tables]),
                   np.concatenate([t.u_recover for t in tables]), np.concatenate([t.u_deny for t in tables]))


@dataclass(frozen=True)
class Terms:
    """Contracts and policy compiled against a register and its control statuses."""

    borne: np.ndarray            # (risks, K)
    recovery_probability: np.ndarray  # (risks,)
    cap_per_event: np.ndarray    # (risks,)
    policy: Policy | None
    excluded: np.ndarray         # (risks,) bool: war or unencrypted-device exclusion
    warranty: np.ndarray         # (risks,) bool: a warranted control relevant to the risk is not in place
    cost_per_hour: float

    @classmethod
    def compile(cls, register: Register, contracts: Contracts, policy: Policy | None,
                control_status: dict[str, bool] | None = None) -> "Terms":
        status = {**register.control_status, **(control_status or {})}
        R = len(register.risks)
        borne = np.zeros((R, K))
        rec = np.ones(R)
        cap = np.full(R, np.inf)
        excluded = np.zeros(R, dtype=bool)
        warranty = np.zeros(R, dtype=bool)
        for i, r in enumerate(register.risks):
            cover = contracts.cover(r.system_owner)
            for comp, share in cover.borne.items():
                borne[i, COMPONENTS.index(comp)] = share
            rec[i] = cover.recovery_probability
            if cover.cap_per_event is not None:
                cap[i] = cover.cap_per_event
            if policy is not None:
                if policy.war_exclusion and any(t in WAR_TAGS for t in r.tags):
                    excluded[i] = True
                if (policy.unencrypted_device_exclusion and r.category == "lost_stolen_device"
                        and not status.get("device_encryption", False)):
                    excluded[i] = True
                for c in policy.requires_controls:
                    ctrl = register.controls.get(c)
                    relevant = ctrl is None or not ctrl.categories or r.category in ctrl.categories
                    if relevant and not status.get(c, False):
                        warranty[i] = True
        return cls(borne, rec, cap, policy, excluded, warranty,
                   register.practice.interruption_cost_per_hour)


@dataclass
class Allocation:
    """Who pays, per trial and in total, with the reasons for what the practice retains."""

    trials: int
    per_trial: dict[str, np.ndarray]          # payer -> (trials,)
    by_component: dict[str, np.ndarray]       # payer -> (K,) sums over all trials
    by_risk: dict[str, np.ndarray]            # payer -> (risks,) sums
    reasons: dict[str, np.ndarray]            # reason -> (K,) sums
    aggregate_exhausted: np.ndarray           # (trials,) bool
    sublimit_exhausted: dict[str, np.ndarray]  # component -> (trials,) bool


def _within_year_paid(x: np.ndarray, start: np.ndarray, limit: float) -> np.ndarray:
    """Pay each event from an annual limit eroded in event order within each trial."""
    cs = np.cumsum(x)
    before = cs - x
    base = before[start]
    cum_after = cs - base
    cum_before = before - base
    return np.minimum(cum_after, limit) - np.minimum(cum_before, limit)


def allocate(table: EventTable, terms: Terms, n_risks: int) -> Allocation:
    """Split every event's loss between contract, insurer and practice (see module docs)."""
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
            x = claim[:, k]
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


def combine(parts: list[Allocation]) -> Allocation:
    """Join allocations of consecutive chunks of trials."""
    first = parts[0]
    return Allocation(
        sum(p.trials for p in parts),
        {k: np.concatenate([p.per_trial[k] for p in parts]) for k in first.per_trial},
        {k: sum(p.by_component[k] for p in parts) for k in first.by_component},
        {k: sum(p.by_risk[k] for p in parts) for k in first.by_risk},
        {k: sum(p.reasons[k] for p in parts) for k in first.reasons},
        np.concatenate([p.aggregate_exhausted for p in parts]),
        {k: np.concatenate([p.sublimit_exhausted[k] for p in parts]) for k in first.sublimit_exhausted},
    )
