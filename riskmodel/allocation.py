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


@dataclass(frozen=True)
class Block:
    """The events of one risk in one chunk: a contiguous slice of an :class:`EventTable`."""

    start: int
    stop: int
    risk: int
    comps: tuple[int, ...]      # component indices of the rows of ``values``
    values: np.ndarray          # (comps, events) pounds
    memo: dict | None = None    # kept with the block's source, for work that depends on it only


def _column(blocks, rows, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(event indices, pounds) of component ``k``, gathered from per-block rows."""
    idx, val = [], []
    for b, r in zip(blocks, rows):
        if k in b.comps:
            idx.append(np.arange(b.start, b.stop))
            val.append(r[b.comps.index(k)])
    if not idx:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(idx), np.concatenate(val)


@dataclass
class EventTable:
    """Realised events of many simulated years, in blocks of one risk and one chunk of trials.

    Events are not in time order: per-trial totals need no order, and the few years in which a
    sublimit or the aggregate limit runs out are put in time order when that happens
    (:func:`_erode`). Each :class:`Block` holds its events' pounds by component; ``hours`` is the
    business-interruption downtime of each event.
    """

    trials: int
    trial: np.ndarray             # int64 (events,)
    risk: np.ndarray              # int32 (events,)
    time: np.ndarray              # float32 (events,): when in the year, in [0, 1)
    blocks: list[Block]
    hours: np.ndarray             # (events,)
    u_recover: np.ndarray
    u_deny: np.ndarray

    @property
    def size(self) -> int:
        return int(self.trial.size)

    def column(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(events, gross pounds) of component ``k`` where it occurs."""
        return _column(self.blocks, [b.values for b in self.blocks], k)

    @property
    def columns(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """component -> (events, gross pounds) for every component that occurs."""
        present = sorted({k for b in self.blocks for k in b.comps})
        return {k: self.column(k) for k in present}

    @property
    def values(self) -> np.ndarray:
        """Dense (events, K) gross pounds (for inspection and tests; pricing never builds it)."""
        out = np.zeros((self.size, K))
        for b in self.blocks:
            for j, k in enumerate(b.comps):
                out[b.start:b.stop, k] = b.values[j]
        return out

    @classmethod
    def from_losses(cls, losses, n: int, offset: int = 0) -> "EventTable":
        """One chunk's realised events of every risk (see :meth:`from_chunks`)."""
        return cls.from_chunks([(losses, offset)], n)

    @classmethod
    def from_chunks(cls, parts, trials: int) -> "EventTable":
        """Events of ``parts``, a list of (list of RiskLosses, first trial of the chunk)."""
        pieces = [(rl, off) for losses, off in parts for rl in losses]
        total = int(sum(rl.trial.size for rl, _ in pieces))
        trial = np.empty(total, dtype=np.int64)
        risk = np.empty(total, dtype=np.int32)
        hours = np.zeros(total)
        aux = np.empty((3, total), dtype=np.float32)
        blocks = []
        at = 0
        for rl, off in pieces:
            m = rl.trial.size
            sl = slice(at, at + m)
            np.add(rl.trial, off, out=trial[sl], casting="unsafe")
            risk[sl] = rl.index
            if rl.aux is None:
                raise ValueError("allocation needs the events' auxiliary draws (simulate with aux=True)")
            aux[:, sl] = rl.aux
            if rl.hours is not None:
                hours[sl] = rl.hours
            if m:
                blocks.append(Block(at, at + m, rl.index, rl.comps, rl.values, rl.memo))
            at += m
        return cls(trials, trial, risk, aux[0], blocks, hours, aux[1], aux[2])


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
    by_component: dict[str, np.ndarray] | None  # payer -> (K,) sums over all trials
    by_risk: dict[str, np.ndarray] | None     # payer -> (risks,) sums
    reasons: dict[str, np.ndarray] | None     # reason -> (K,) sums
    # (the three above are None for an allocation priced with detail=False)
    aggregate_exhausted: np.ndarray           # (trials,) bool
    sublimit_exhausted: dict[str, np.ndarray]  # component -> (trials,) bool


def _group_start(trial: np.ndarray) -> np.ndarray:
    """Index of the first event of each event's trial (events sorted by trial)."""
    n = trial.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = trial[1:] != trial[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def _within_year_paid(x: np.ndarray, trial: np.ndarray, limit: float) -> np.ndarray:
    """Pay each event from an annual limit eroded in event order within each trial.

    ``x`` is sorted by trial, then time. What a year has used before each event is summed event by
    event within that year only (one vectorised step per position in the year), so each year's
    numbers are exact and never depend on the other years in the array.
    """
    n = x.size
    if n == 0:
        return x.copy()
    pos = np.arange(n) - _group_start(trial)
    before = np.zeros(n)
    order = np.argsort(pos, kind="stable")
    bounds = np.cumsum(np.bincount(pos))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ids = order[lo:hi]                       # the events at this position in their year
        before[ids] = before[ids - 1] + x[ids - 1]
    return np.minimum(before + x, limit) - np.minimum(before, limit)


def _erode(x: np.ndarray, trial: np.ndarray, time: np.ndarray, totals: np.ndarray,
           limit: float) -> np.ndarray:
    """What an annual ``limit`` pays of each event, eroded in time order within each year.

    Only the events of years whose ``totals`` exceed the limit are sorted and eroded; the others
    are paid in full. Returns ``x`` itself when no year reaches the limit.
    """
    hit = totals > limit
    if not hit.any():
        return x
    idx = np.flatnonzero(hit[trial])
    idx = idx[np.lexsort((time[idx], trial[idx]))]
    out = x.copy()
    out[idx] = _within_year_paid(x[idx], trial[idx], limit)
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (without warnings or temporaries for the zeros)."""
    out = np.zeros_like(den)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _split_block(values: np.ndarray, share: np.ndarray, rec: float, cap: float, u_recover: np.ndarray):
    """One block's contract cover: (left (comps, events), contract per event or None, sums by
    component of gross, contract and left)."""
    if not share.any():
        sums = values.sum(axis=1)
        return values, None, {"gross": sums, "contract": np.zeros(len(share)), "left": sums}
    contract = values * share[:, None]
    if rec < 1.0:
        contract *= u_recover < rec
    tot = contract.sum(axis=0)
    if np.isfinite(cap) and (tot > cap).any():
        contract *= np.minimum(1.0, _ratio(np.full_like(tot, cap), tot) + (tot <= 0))
        tot = contract.sum(axis=0)
    left = values - contract
    return left, tot, {"gross": values.sum(axis=1), "contract": contract.sum(axis=1), "left": left.sum(axis=1)}


def _pro_rata(work: np.ndarray, cols: dict, keys: list[int], change, reason: str, reasons: dict | None,
              stages: list) -> None:
    """Apply ``change`` in place to the per-event claim totals ``work`` and scale the sparse
    columns ``keys`` by each event's new total over its old one. With ``reasons`` (detail), record
    what the change removed from each column and append the per-event factor to ``stages``."""
    before = work.copy() if reasons is not None else None
    pre = {k: work[cols[k][0]] for k in keys}
    change(work)
    for k in keys:
        idx, val = cols[k]
        after = val * _ratio(work[idx], pre[k])
        if reasons is not None:
            reasons[reason][k] += val.sum() - after.sum()
        cols[k][1] = after
    if reasons is not None:
        stages.append(_ratio(work, before))


@dataclass
class ContractSplit:
    """Simulated events after contract cover, ready to have any policy applied at once.

    Contract cover depends only on the control scenario and the contract terms, so it is computed
    once (:meth:`prepare`); :meth:`apply` then prices a policy on per-event totals: the sections
    without a sublimit or their own excess are summed into one claim per event (cached while the
    sections do not change), and only sections with their own terms, and business interruption,
    are kept as sparse columns. Per-component and per-risk splits and the reasons for what is
    retained are computed only when ``detail=True``.
    """

    trials: int
    n_risks: int
    trial: np.ndarray
    risk: np.ndarray
    time: np.ndarray
    blocks: list[Block]
    left: list[np.ndarray]      # per block: (comps, events) pounds left by contracts
    u_deny: np.ndarray
    per_trial: dict[str, np.ndarray]     # gross, contract (trials,)
    by_component: dict[str, np.ndarray]  # gross, contract, left (K,)
    by_risk: dict[str, np.ndarray]       # gross, contract (risks,)
    bi_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # events with BI
    bi_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bi_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # £/hour left after contracts
    _cache: dict = field(default_factory=dict, repr=False)
    _buffer: np.ndarray | None = field(default=None, repr=False)

    @property
    def _work(self) -> np.ndarray:
        """A reusable buffer of one float per event (pricing works in place)."""
        if self._buffer is None:
            self._buffer = np.empty(self.size)
        return self._buffer

    @property
    def size(self) -> int:
        return int(self.trial.size)

    @classmethod
    def prepare(cls, table: EventTable, terms: Terms, n_risks: int,
                gross_per_trial: np.ndarray | None = None) -> "ContractSplit":
        """Apply contract cover (by system owner) to every event of ``table``, block by block.

        A block's split depends only on its own events and its risk's contract terms, so it is
        kept with the block's source (a risk realised under the same controls is reused when
        a control toggle changes other risks only). ``gross_per_trial``, when the caller has it
        (the engine does), saves summing the gross loss again.
        """
        E = table.size
        n = table.trials
        contract_e = np.zeros(E)
        gross_t = None
        if gross_per_trial is None:
            gross_t = np.zeros(n)
        by_comp = {p: np.zeros(K) for p in ("gross", "contract", "left")}
        by_risk = {p: np.zeros(n_risks) for p in ("gross", "contract")}
        left_rows = []
        for b in table.blocks:
            sl = slice(b.start, b.stop)
            share = terms.borne[b.risk, list(b.comps)]
            rec = float(terms.recovery_probability[b.risk])
            cap = float(terms.cap_per_event[b.risk])
            key = ("contract", share.tobytes(), rec, cap)
            memo = b.memo if b.memo is not None else {}
            if key not in memo:
                memo[key] = _split_block(b.values, share, rec, cap, table.u_recover[sl])
            left, c_e, sums = memo[key]
            if gross_t is not None:
                for row in b.values:
                    gross_t += np.bincount(table.trial[sl], weights=row, minlength=n)
            if c_e is not None:
                contract_e[sl] = c_e
            comps = list(b.comps)
            for name, v in sums.items():
                by_comp[name][comps] += v
            by_risk["gross"][b.risk] += sums["gross"].sum()
            by_risk["contract"][b.risk] += sums["contract"].sum()
            left_rows.append(left)
        split = cls(n, n_risks, table.trial, table.risk, table.time, table.blocks, left_rows, table.u_deny,
                    {"gross": gross_per_trial if gross_t is None else gross_t,
                     "contract": np.bincount(table.trial, weights=contract_e, minlength=n)},
                    by_comp, by_risk)
        idx, bi_left = split.column(BI)
        bi_gross = table.column(BI)[1]
        split.bi_index, split.bi_hours = idx, table.hours[idx]
        split.bi_rate = terms.cost_per_hour * _ratio(bi_left, bi_gross)
        return split

    def _finish(self, insurer_trial: np.ndarray, before_aggregate: np.ndarray, exhausted: np.ndarray,
                sub_exhausted: dict, detail: dict | None) -> Allocation:
        per_trial = {**self.per_trial, "insurer": insurer_trial,
                     "retained": self.per_trial["gross"] - self.per_trial["contract"] - insurer_trial,
                     "claims_before_aggregate": before_aggregate}
        if detail is None:
            return Allocation(self.trials, per_trial, None, None, None, exhausted, sub_exhausted)
        ins_k, ins_r, reasons = detail
        g, c = self.by_component, self.by_risk
        by_component = {"gross": g["gross"], "contract": g["contract"], "insurer": ins_k,
                        "retained": g["gross"] - g["contract"] - ins_k}
        by_risk = {"gross": c["gross"], "contract": c["contract"], "insurer": ins_r,
                   "retained": c["gross"] - c["contract"] - ins_r}
        return Allocation(self.trials, per_trial, by_component, by_risk, reasons, exhausted, sub_exhausted)

    def _keep(self, excluded: np.ndarray | None, warranty: np.ndarray | None,
              probability: float) -> np.ndarray | None:
        """1.0 for events the policy may pay, 0.0 for events denied by an exclusion (cached)."""
        key = ("keep", None if excluded is None else excluded.tobytes(),
               None if warranty is None else warranty.tobytes(), probability)
        if key not in self._cache:
            denied = None
            if excluded is not None and excluded.any():
                denied = excluded[self.risk]
            if warranty is not None and warranty.any() and probability > 0:
                w = warranty[self.risk] & (self.u_deny < probability)
                denied = w if denied is None else denied | w
            self._remember(key, None if denied is None else (~denied).astype(np.float64))
        return self._cache[key]

    def _regular_claims(self, regular: np.ndarray, keep0: np.ndarray | None, keep_key) -> np.ndarray:
        """Each event's claim on the ``regular`` sections after exclusions (cached, read-only)."""
        key = ("sum", regular.tobytes(), keep_key)
        if key not in self._cache:
            s = np.zeros(self.size)
            for b, left in zip(self.blocks, self.left):
                for j, k in enumerate(b.comps):
                    if regular[k]:
                        s[b.start:b.stop] += left[j]
            if keep0 is not None:
                s *= keep0
            s.flags.writeable = False
            self._remember(key, s)
        return self._cache[key]

    def _remember(self, key, value) -> None:
        if len(self._cache) > 8:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = value

    def column(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(events, pounds) of component ``k`` left after contract cover (empty if none; cached)."""
        key = ("column", k)
        if key not in self._cache:
            self._cache[key] = _column(self.blocks, self.left, k)
        return self._cache[key]

    def apply(self, policy: Policy | None, excluded: np.ndarray | None = None,
              warranty: np.ndarray | None = None, *, detail: bool = True,
              with_reasons: bool = True) -> Allocation:
        """Price ``policy`` on these events (see the module docs for the order of terms).

        The sections without their own excess or sublimit ("regular") are priced on one total
        per event; the others, and business interruption, are kept as sparse columns (only the
        events where they are non-zero). Work is done in place on one buffer of event totals.

        Parameters
        ----------
        policy : Policy or None
        excluded, warranty : ndarray (risks,) of bool, optional
            From :meth:`Terms.compile`: risks wholly excluded, and risks missing a warranted control.
        detail : bool
            Also split by component and by risk, with the reasons for what is retained. Without
            it ``by_component``, ``by_risk`` and ``reasons`` are None (per-trial totals only).
        with_reasons : bool
            With ``detail``, also the reasons (``False``: by component and risk only, faster;
            ``reasons`` is None).
        """
        n = self.trials
        trial = self.trial
        reasons = {r: np.zeros(K) for r in REASONS} if detail else None
        left_k = self.by_component["left"]
        if policy is None or not policy.insured:
            zero = np.zeros(n)
            det = None
            if detail:
                reasons["no policy"] += left_k
                det = (np.zeros(K), np.zeros(self.n_risks), reasons)
            return self._finish(zero, zero, np.zeros(n, dtype=bool), {}, det)

        sec = [policy.section(c) for c in COMPONENTS]
        covered = np.array([s.covered for s in sec])
        special = [k for k in range(K) if k != BI and covered[k]
                   and (sec[k].excess is not None or sec[k].sublimit is not None)]
        regular = covered.copy()
        regular[BI] = False
        regular[special] = False

        # exclusions: denied events claim nothing
        p = policy.warranty_denial_probability
        keep0 = self._keep(excluded, warranty, p)
        keep_key = (None if excluded is None else excluded.tobytes(),
                    None if warranty is None else warranty.tobytes(), p)
        S = self._regular_claims(regular, keep0, keep_key)
        cols: dict[int, list] = {}     # component -> [events, pounds]
        for k in special:
            idx, val = self.column(k)
            cols[k] = [idx, val * keep0[idx] if keep0 is not None else val.copy()]
        if detail:
            reasons["not covered"][~covered] += left_k[~covered]
            for k in special:
                reasons["exclusion"][k] += left_k[k] - cols[k][1].sum()

        # business interruption: waiting and indemnity periods act on the hours
        if covered[BI]:
            idx, h = self.bi_index, self.bi_hours
            rate = self.bi_rate if keep0 is None else self.bi_rate * keep0[idx]
            capped = h if policy.indemnity_period_hours is None else np.minimum(h, policy.indemnity_period_hours)
            wp = policy.waiting_period_hours
            pay_h = np.maximum(capped - wp, 0.0) if policy.waiting_period_mode == "beyond" else np.where(h > wp, capped, 0.0)
            paid = pay_h * rate
            if detail:
                claim_bi, after_ind = (h * rate).sum(), (capped * rate).sum()
                reasons["exclusion"][BI] += left_k[BI] - claim_bi
                reasons["indemnity period"][BI] += claim_bi - after_ind
                reasons["waiting period"][BI] += after_ind - paid.sum()
            cols[BI] = [idx, paid]

        # each section's own excess
        for k, (idx, val) in cols.items():
            if sec[k].excess is not None:
                after = np.maximum(val - sec[k].excess, 0.0)
                if detail:
                    reasons["excess"][k] += val.sum() - after.sum()
                cols[k][1] = after

        # the per-claim excess, shared pro rata by the regular sections and sublimited ones
        work = self._work
        np.copyto(work, S)
        sharing = [k for k in special if sec[k].excess is None]
        for k in sharing:
            work[cols[k][0]] += cols[k][1]
        stages: list[np.ndarray | None] = [keep0]  # regular sections' factors, stage by stage
        if policy.excess > 0:
            def take_excess(w):
                w -= policy.excess
                np.maximum(w, 0.0, out=w)
            _pro_rata(work, cols, sharing, take_excess, "excess", reasons, stages)
        at_excess = len(stages)
        for k, (idx, val) in cols.items():
            if k not in sharing:
                work[idx] += val

        # any-one-claim limit, pro rata over the sections
        limit_claim = policy.limit_any_one_claim
        if limit_claim is not None and work.max(initial=0.0) > limit_claim:
            _pro_rata(work, cols, list(cols), lambda w: np.minimum(w, limit_claim, out=w), "claim limit",
                      reasons, stages)
        at_claim_limit = len(stages)

        # sublimits, eroded in time order within each year
        sub_exhausted = {}
        for k, (idx, val) in cols.items():
            sub = sec[k].sublimit
            if sub is None:
                continue
            t = trial[idx]
            totals = np.bincount(t, weights=val, minlength=n)
            sub_exhausted[COMPONENTS[k]] = totals >= sub if sub > 0 else np.ones(n, dtype=bool)
            paid = _erode(val, t, self.time[idx], totals, sub)
            if paid is not val:
                work[idx] -= val - paid
                if detail:
                    reasons["sublimit"][k] += val.sum() - paid.sum()
                cols[k][1] = paid

        # annual aggregate limit across all sections
        before_aggregate = np.bincount(trial, weights=work, minlength=n)
        limit = policy.aggregate_limit
        exhausted = before_aggregate >= limit
        c = policy.coinsurance
        insurer_trial = np.minimum(before_aggregate, limit) * (1.0 - c)
        if not detail:
            return self._finish(insurer_trial, before_aggregate, exhausted, sub_exhausted, None)

        ag = None
        if (before_aggregate > limit).any():
            ag = _ratio(_erode(work, trial, self.time, before_aggregate, limit), work)
            stages.append(ag)
        # the regular sections: what is left of each column after each stage, block by block
        # (cumulative factors over a block's slice stay small, so nothing event-sized is built)
        if not with_reasons:                       # only what is left at the end is needed
            final = [st for st in stages if st is not None]
            stages = [np.prod(final, axis=0) if len(final) > 1 else (final[0] if final else None)]
        cum = np.zeros((len(stages), K))           # (stages, K)
        for b, left in zip(self.blocks, self.left):
            js = [j for j, k in enumerate(b.comps) if regular[k]]
            if not js:
                continue
            ks = [b.comps[j] for j in js]
            sl = slice(b.start, b.stop)
            f = None
            for i, st in enumerate(stages):
                if st is not None:
                    f = st[sl] if f is None else f * st[sl]
                # .dot is BLAS gemv: numpy 2's matmul is far slower for this shape
                cum[i, ks] += (left.sum(axis=1) if f is None else left.dot(f))[js]
        r = regular
        if with_reasons:
            reasons["exclusion"][r] += left_k[r] - cum[0][r]
            reasons["excess"][r] += cum[0][r] - cum[at_excess - 1][r]
            reasons["claim limit"][r] += cum[at_excess - 1][r] - cum[at_claim_limit - 1][r]
            reasons["aggregate limit"][r] += cum[at_claim_limit - 1][r] - cum[-1][r]
        ins_k = np.zeros(K)
        ins_k[r] = cum[-1][r]
        event = work * ag if ag is not None else work.copy()
        for k, (idx, val) in cols.items():
            after = val * ag[idx] if ag is not None else val
            reasons["aggregate limit"][k] += val.sum() - after.sum()
            ins_k[k] = after.sum()
        if c > 0:
            reasons["coinsurance"] += ins_k * c
            ins_k = ins_k * (1.0 - c)
            event *= 1.0 - c
        ins_r = np.bincount(self.risk, weights=event, minlength=self.n_risks)
        return self._finish(insurer_trial, before_aggregate, exhausted, sub_exhausted,
                            (ins_k, ins_r, reasons if with_reasons else None))


def allocate(table: EventTable, terms: Terms, n_risks: int, *, detail: bool = True,
             gross_per_trial: np.ndarray | None = None) -> Allocation:
    """Split every event's loss between contract, insurer and practice (see module docs)."""
    split = ContractSplit.prepare(table, terms, n_risks, gross_per_trial)
    return split.apply(terms.policy, terms.excluded, terms.warranty, detail=detail)


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
