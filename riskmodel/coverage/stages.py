"""Stage 2, the policy: its terms applied in order to what contract cover leaves.

:func:`price` runs the stages, each a small function on the claims so far (:class:`Claims`):

1. :func:`exclusions`: exclusions and missing warranted controls deny whole events; sections not
   covered claim nothing.
2. :func:`business_interruption`: waiting and indemnity periods act on the downtime hours.
3. :func:`section_excesses`: each section's own excess, per event.
4. :func:`policy_excess`: the per-claim excess, shared pro rata by the sections without their own.
5. :func:`claim_limit`: the any-one-claim limit, pro rata over the sections.
6. :func:`sublimits`: each section's annual sublimit, eroded in event order within the year.
7. :func:`aggregate`: the annual aggregate limit over all sections, and coinsurance (the
   practice's share of what the policy pays; limits apply before it).

The practice retains the rest. With detail, :func:`split_by_component` and :func:`split_by_risk`
give what the insurer pays of each component and risk, and the reasons for what is retained.
The sections without their own excess or sublimit ("regular") are priced on one claim per event
(``work``); the others, and business interruption, are sparse columns (only their events).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..inputs.components import COMPONENTS
from ..inputs.policy import Policy, Section
from .erosion import erode, share
from .events import BI, K
from .result import REASONS, Allocation

if TYPE_CHECKING:
    from .contract import ContractSplit


@dataclass(frozen=True)
class Sections:
    """The policy's sections: which are covered, and which have their own terms ("special")."""

    sec: list[Section]
    covered: np.ndarray      # (K,) bool
    special: list[int]       # covered, not BI, with their own excess or sublimit: sparse columns
    regular: np.ndarray      # (K,) bool: covered, not BI, not special: summed per event

    @classmethod
    def of(cls, policy: Policy) -> "Sections":
        sec = [policy.section(c) for c in COMPONENTS]
        covered = np.array([s.covered for s in sec])
        special = [k for k in range(K) if k != BI and covered[k]
                   and (sec[k].excess is not None or sec[k].sublimit is not None)]
        regular = covered.copy()
        regular[BI] = False
        regular[special] = False
        return cls(sec, covered, special, regular)


@dataclass
class Claims:
    """Claims after the stages so far (changed in place by each stage)."""

    work: np.ndarray               # (events,) the claim on the summed sections
    cols: dict[int, list]          # component -> [events, pounds]: the sparse sections
    reasons: dict | None           # reason -> (K,) retained (None: per-trial totals only)
    #: the summed sections' factor per event after each stage, with that stage's reason (detail)
    stages: list[tuple[str, np.ndarray | None]]


def exclusions(split: ContractSplit, policy: Policy, s: Sections, excluded, warranty,
               reasons: dict | None) -> Claims:
    """Stage 1: the claims on the covered sections, without the events the policy denies."""
    keep = split.keep(excluded, warranty, policy.warranty_denial_probability)
    work = split.regular_claims(s.regular)
    if keep is not None:
        work *= keep
    cols: dict[int, list] = {}
    for k in s.special:
        idx, val = split.column(k)
        cols[k] = [idx, val * keep.take(idx) if keep is not None else val.copy()]
    if reasons is not None:
        left_k = split.by_component["left"]
        reasons["not covered"][~s.covered] += left_k[~s.covered]
        for k in s.special:
            reasons["exclusion"][k] += left_k[k] - cols[k][1].sum()
    return Claims(work, cols, reasons, [("exclusion", keep)])


def business_interruption(split: ContractSplit, policy: Policy, claims: Claims) -> None:
    """Stage 2: the BI claim is the hours beyond the waiting period (``beyond``), or all hours if
    over it (``qualifying``), up to the indemnity period, at the rate left after contracts."""
    keep, reasons = claims.stages[0][1], claims.reasons
    idx, h = split.bi_index, split.bi_hours
    rate = split.bi_rate if keep is None else split.bi_rate * keep.take(idx)
    ip = policy.indemnity_period_hours
    capped = h if ip is None else np.minimum(h, ip)
    wp = policy.waiting_period_hours
    pay_h = np.maximum(capped - wp, 0.0) if policy.waiting_period_mode == "beyond" else np.where(h > wp, capped, 0.0)
    paid = pay_h * rate
    if reasons is not None:
        claim_bi, after_ind = (h * rate).sum(), (capped * rate).sum()
        reasons["exclusion"][BI] += split.by_component["left"][BI] - claim_bi
        reasons["indemnity period"][BI] += claim_bi - after_ind
        reasons["waiting period"][BI] += after_ind - paid.sum()
    claims.cols[BI] = [idx, paid]


def section_excesses(s: Sections, claims: Claims) -> None:
    """Stage 3: each section with its own excess keeps what is over it, event by event."""
    for k, (idx, val) in claims.cols.items():
        if s.sec[k].excess is not None:
            after = np.maximum(val - s.sec[k].excess, 0.0)
            if claims.reasons is not None:
                claims.reasons["excess"][k] += val.sum() - after.sum()
            claims.cols[k][1] = after


def _pro_rata(claims: Claims, keys: list[int], change, reason: str) -> None:
    """Apply ``change`` in place to the per-event claims ``work`` and scale the sparse columns
    ``keys`` by each event's new claim over its old one. With reasons (detail), record what the
    change removed from each column and the summed sections' factor per event."""
    work, cols, reasons = claims.work, claims.cols, claims.reasons
    before = None if reasons is None else work.copy()
    pre = {k: work[cols[k][0]] for k in keys}
    change(work)
    for k in keys:
        idx, val = cols[k]
        after = val * share(work.take(idx), pre[k])
        if reasons is not None:
            reasons[reason][k] += val.sum() - after.sum()
        cols[k][1] = after
    if reasons is not None:
        claims.stages.append((reason, share(work, before, out=before)))


def policy_excess(policy: Policy, s: Sections, claims: Claims) -> None:
    """Stage 4: the per-claim excess, taken from each event's claim on the sections without their
    own excess (shared pro rata); then every section's claim joins the event's claim."""
    cols, work = claims.cols, claims.work
    sharing = [k for k in s.special if s.sec[k].excess is None]
    for k in sharing:
        work[cols[k][0]] += cols[k][1]
    if policy.excess > 0:
        def take_excess(w):
            w -= policy.excess
            np.maximum(w, 0.0, out=w)
        _pro_rata(claims, sharing, take_excess, "excess")
    for k, (idx, val) in cols.items():
        if k not in sharing:
            work[idx] += val


def claim_limit(policy: Policy, claims: Claims) -> None:
    """Stage 5: no event's claim exceeds the any-one-claim limit (pro rata over the sections)."""
    limit = policy.limit_any_one_claim
    if limit is not None and claims.work.max(initial=0.0) > limit:
        _pro_rata(claims, list(claims.cols), lambda w: np.minimum(w, limit, out=w), "claim limit")


def sublimits(split: ContractSplit, s: Sections, claims: Claims) -> dict[str, np.ndarray]:
    """Stage 6: each section's annual sublimit, eroded in time order within each year. Returns
    component -> (trials,) bool: the years whose claims on the section reach its sublimit."""
    n, trial, work = split.trials, split.trial, claims.work
    exhausted = {}
    for k, (idx, val) in claims.cols.items():
        sub = s.sec[k].sublimit
        if sub is None:
            continue
        t = trial.take(idx)
        totals = np.bincount(t, weights=val, minlength=n)
        exhausted[COMPONENTS[k]] = totals >= sub if sub > 0 else np.ones(n, dtype=bool)
        paid = erode(val, t, split.time.take(idx), totals, sub)
        if paid is not val:
            # what the sublimit took is at most what the event claimed: rounding must not
            # leave a claim a hair below zero (only this section's events changed)
            work[idx] = np.maximum(work.take(idx) - (val - paid), 0.0)
            if claims.reasons is not None:
                claims.reasons["sublimit"][k] += val.sum() - paid.sum()
            claims.cols[k][1] = paid
    return exhausted


def aggregate(split: ContractSplit, policy: Policy, claims: Claims):
    """Stage 7: the annual aggregate limit and coinsurance, per year. Returns (what the insurer
    pays, the claims before the aggregate limit, whether the limit is reached), each (trials,)."""
    before = np.bincount(split.trial, weights=claims.work, minlength=split.trials)
    limit = policy.aggregate_limit
    insurer = np.minimum(before, limit) * (1.0 - policy.coinsurance)
    return insurer, before, before >= limit


def aggregate_share(split: ContractSplit, policy: Policy, claims: Claims, before: np.ndarray) -> np.ndarray | None:
    """Stage 7 event by event (detail): the share of each event's claim the aggregate limit pays,
    eroded in time order within each year (None: no year is over the limit)."""
    limit = policy.aggregate_limit
    if not (before > limit).any():
        return None
    ag = share(erode(claims.work, split.trial, split.time, before, limit), claims.work)
    claims.stages.append(("aggregate limit", ag))
    return ag


def _regular_after_stages(split: ContractSplit, s: Sections, stages: list) -> np.ndarray:
    """(stages, K): what is left of each summed section after each stage, summed block by block
    (cumulative factors over a block's slice stay small, so nothing event-sized is built)."""
    cum = np.zeros((len(stages), K))
    for b, left in zip(split.blocks, split.left):
        js = [j for j, k in enumerate(b.comps) if s.regular[k]]
        if not js:
            continue
        ks = [b.comps[j] for j in js]
        sl = slice(b.start, b.stop)
        f = None
        for i, (_, st) in enumerate(stages):
            if st is not None:
                f = st[sl] if f is None else f * st[sl]
            # .dot is BLAS gemv: numpy 2's matmul is far slower for this shape
            cum[i, ks] += (left.sum(axis=1) if f is None else left.dot(f))[js]
    return cum


def split_by_component(split: ContractSplit, s: Sections, claims: Claims, ag: np.ndarray | None,
                       with_reasons: bool) -> np.ndarray:
    """What the insurer pays of each component (K,), before coinsurance; with ``with_reasons``,
    the reasons for what the summed sections lose at each stage (the sparse sections' reasons
    were recorded by the stages themselves)."""
    stages, reasons, r = claims.stages, claims.reasons, s.regular
    if not with_reasons:                       # only what is left at the end is needed
        final = [st for _, st in stages if st is not None]
        if len(final) > 1:
            prod = np.multiply(final[0], final[1])
            for st in final[2:]:
                prod *= st
            final = [prod]
        stages = [("", f) for f in final] or [("", None)]
    cum = _regular_after_stages(split, s, stages)
    if with_reasons:
        prev = split.by_component["left"]
        for (reason, _), after in zip(stages, cum):
            reasons[reason][r] += prev[r] - after[r]
            prev = after
    ins_k = np.zeros(K)
    ins_k[r] = cum[-1][r]
    for k, (idx, val) in claims.cols.items():
        after = val * ag.take(idx) if ag is not None else val
        reasons["aggregate limit"][k] += val.sum() - after.sum()
        ins_k[k] = after.sum()
    return ins_k


def split_by_risk(split: ContractSplit, claims: Claims, ag: np.ndarray | None) -> np.ndarray:
    """What the insurer pays of each risk (risks,), before coinsurance: blocks are contiguous
    runs of one risk's events."""
    ins_r = np.zeros(split.n_risks)
    work = claims.work
    for b in split.blocks:
        sl = slice(b.start, b.stop)
        ins_r[b.risk] += work[sl].dot(ag[sl]) if ag is not None else work[sl].sum()
    return ins_r


def uninsured(split: ContractSplit, detail: bool) -> Allocation:
    """No policy (or cover switched off): the practice retains all that contracts leave."""
    n = split.trials
    zero = np.zeros(n)
    det = None
    if detail:
        reasons = {r: np.zeros(K) for r in REASONS}
        reasons["no policy"] += split.by_component["left"]
        det = (np.zeros(K), np.zeros(split.n_risks), reasons)
    return split._finish(zero, zero, np.zeros(n, dtype=bool), {}, det)


def price(split: ContractSplit, policy: Policy | None, excluded: np.ndarray | None = None,
          warranty: np.ndarray | None = None, *, detail: bool = True, with_reasons: bool = True) -> Allocation:
    """Price ``policy`` on the events of ``split``, stage by stage (see the module docs and
    :meth:`ContractSplit.apply` for the parameters)."""
    if policy is None or not policy.insured:
        return uninsured(split, detail)
    s = Sections.of(policy)
    claims = exclusions(split, policy, s, excluded, warranty,
                        {r: np.zeros(K) for r in REASONS} if detail else None)
    if s.covered[BI]:
        business_interruption(split, policy, claims)
    section_excesses(s, claims)
    policy_excess(policy, s, claims)
    claim_limit(policy, claims)
    sub_exhausted = sublimits(split, s, claims)
    insurer, before, exhausted = aggregate(split, policy, claims)
    if not detail:
        return split._finish(insurer, before, exhausted, sub_exhausted, None)
    ag = aggregate_share(split, policy, claims, before)
    ins_k = split_by_component(split, s, claims, ag, with_reasons)
    ins_r = split_by_risk(split, claims, ag)
    c, reasons = policy.coinsurance, claims.reasons
    if c > 0:
        reasons["coinsurance"] += ins_k * c
        ins_k = ins_k * (1.0 - c)
        ins_r *= 1.0 - c
    return split._finish(insurer, before, exhausted, sub_exhausted,
                         (ins_k, ins_r, reasons if with_reasons else None))
