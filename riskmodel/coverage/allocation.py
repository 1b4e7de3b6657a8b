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

import threading
from dataclasses import dataclass, field

import numpy as np

from ..inputs.components import BUSINESS_INTERRUPTION, COMPONENTS
from ..inputs.contracts import Contracts
from ..inputs.policy import WAR_TAGS, Policy
from ..inputs.register import Register

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
    aux: np.ndarray | None = None    # float32 (2, events): time in year, contract recovery uniforms
    hours: np.ndarray | None = None  # BI downtime hours per event (None: the risk has no BI)


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
    (:func:`_erode`). Each :class:`Block` holds its events' pounds by component, their auxiliary
    uniforms and downtime hours, without copies; only ``trial`` is one array over all events.
    The other per-event arrays (``risk``, ``time``, ``u_recover``, ``u_deny``, ``hours``) are
    joined from the blocks on first use: pricing works block by block and rarely needs them.
    """

    trials: int
    trial: np.ndarray             # int64 (events,)
    blocks: list[Block]
    #: float32 (trials,): one uniform per policy year for the warranty decision (None: no aux draws)
    year_deny: np.ndarray | None = None
    _joined_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> int:
        return int(self.trial.size)

    def _joined(self, name: str, part, dtype) -> np.ndarray:
        """``part(block)`` of every block, joined into one array over all events (once)."""
        if name not in self._joined_cache:
            self._joined_cache[name] = (np.concatenate([part(b) for b in self.blocks]) if self.blocks
                                        else np.zeros(0, dtype))
        return self._joined_cache[name]

    @property
    def risk(self) -> np.ndarray:
        """int32 (events,): the risk of each event."""
        return self._joined("risk", lambda b: np.full(b.stop - b.start, b.risk, np.int32), np.int32)

    @property
    def time(self) -> np.ndarray:
        """float32 (events,): when in the year each event falls, in [0, 1)."""
        return self._joined("time", lambda b: b.aux[0], np.float32)

    @property
    def u_recover(self) -> np.ndarray:
        """float32 (events,): the uniform that decides whether a contract pays the event."""
        return self._joined("u_recover", lambda b: b.aux[1], np.float32)

    @property
    def u_deny(self) -> np.ndarray:
        """float32 (events,): the uniform of each event's policy year that decides whether the
        insurer declines that year's claims for a missing warranted control (one per year)."""
        if "u_deny" not in self._joined_cache:
            self._joined_cache["u_deny"] = self.deny_of(self.trial)
        return self._joined_cache["u_deny"]

    def deny_of(self, trial: np.ndarray) -> np.ndarray:
        """The policy-year warranty uniforms of the years ``trial``."""
        if self.year_deny is None:
            raise ValueError("allocation needs the years' warranty draws (simulate with aux=True)")
        return self.year_deny.take(trial)

    @property
    def hours(self) -> np.ndarray:
        """(events,): business-interruption downtime hours (0 for risks without it)."""
        return self._joined("hours", lambda b: b.hours if b.hours is not None else np.zeros(b.stop - b.start),
                            np.float64)

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
    def from_losses(cls, losses, n: int, year_deny: np.ndarray | None, offset: int = 0) -> "EventTable":
        """One chunk's realised events of every risk (see :meth:`from_chunks`)."""
        return cls.from_chunks([(losses, offset)], n, year_deny)

    @classmethod
    def from_chunks(cls, parts, trials: int, year_deny: np.ndarray | None) -> "EventTable":
        """Events of ``parts``, a list of (list of RiskLosses, first trial of the chunk), with the
        years' warranty uniforms ``year_deny`` (trials,)."""
        pieces = [(rl, off) for losses, off in parts for rl in losses]
        total = int(sum(rl.trial.size for rl, _ in pieces))
        trial = np.empty(total, dtype=np.int64)
        blocks = []
        at = 0
        for rl, off in pieces:
            m = rl.trial.size
            if rl.aux is None:
                raise ValueError("allocation needs the events' auxiliary draws (simulate with aux=True)")
            np.add(rl.trial, off, out=trial[at:at + m], casting="unsafe")
            if m:
                blocks.append(Block(at, at + m, rl.index, rl.comps, rl.values, rl.memo, rl.aux, rl.hours))
            at += m
        return cls(trials, trial, blocks, year_deny)


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


def _share(num: np.ndarray, den: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The share ``num / den`` of an amount left after a term, always within [0, 1].

    0 where ``den <= 0`` (nothing to share). Rounding can leave ``num`` a hair outside
    ``[0, den]`` (or ``den`` a tiny negative after subtractions): the result is clipped, so a
    share can never scale an amount up. (An unclipped share of a tiny negative over a clamped
    denominator once put a 280-digit amount into the reports.) ``out`` may be ``den`` itself.
    """
    if out is None:
        out = np.zeros(np.shape(den))
        np.divide(num, den, out=out, where=den > 0)
    else:
        positive = den > 0
        np.divide(num, den, out=out, where=positive)
        out[~positive] = 0.0
    return np.clip(out, 0.0, 1.0, out=out)


class Scratch:
    """Reusable per-event buffers for pricing, so that pricing a new control scenario does not
    fault in fresh memory (about 2 µs a page on the project's machines). One per chunk of trials,
    shared by the scenarios' splits of that chunk; ``lock`` serialises their use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int) -> np.ndarray:
        """A float64 buffer of ``size`` (contents undefined), reused between calls."""
        buf = self._buffers.get(name)
        if buf is None or buf.size < size:
            buf = self._buffers[name] = np.empty(size)
        return buf[:size]


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
              stages: list, buffer: np.ndarray) -> None:
    """Apply ``change`` in place to the per-event claim totals ``work`` and scale the sparse
    columns ``keys`` by each event's new total over its old one. With ``reasons`` (detail), record
    what the change removed from each column and append the per-event factor to ``stages``
    (written into ``buffer``, of one float per event)."""
    before = None
    if reasons is not None:
        before = buffer
        np.copyto(before, work)
    pre = {k: work[cols[k][0]] for k in keys}
    change(work)
    for k in keys:
        idx, val = cols[k]
        after = val * _share(work[idx], pre[k])
        if reasons is not None:
            reasons[reason][k] += val.sum() - after.sum()
        cols[k][1] = after
    if reasons is not None:
        stages.append(_share(work, before, out=before))


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
    table: EventTable
    left: list[np.ndarray]      # per block: (comps, events) pounds left by contracts
    per_trial: dict[str, np.ndarray]     # gross, contract (trials,)
    by_component: dict[str, np.ndarray]  # gross, contract, left (K,)
    by_risk: dict[str, np.ndarray]       # gross, contract (risks,)
    bi_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # events with BI
    bi_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bi_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # £/hour left after contracts
    #: per block, a memo for work that depends only on the block's events after contract cover
    #: (kept with the block's source, so a control toggle reuses it for the risks it leaves alone)
    after_memos: list[dict] = field(default_factory=list, repr=False)
    #: per-event buffers for pricing (the scenario model shares one per chunk between scenarios)
    scratch: Scratch = field(default_factory=Scratch, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return self.table.size

    @property
    def trial(self) -> np.ndarray:
        return self.table.trial

    @property
    def blocks(self) -> list[Block]:
        return self.table.blocks

    @property
    def time(self) -> np.ndarray:
        return self.table.time

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
        left_rows, after_memos = [], []
        for b in table.blocks:
            sl = slice(b.start, b.stop)
            share = terms.borne[b.risk, list(b.comps)]
            rec = float(terms.recovery_probability[b.risk])
            cap = float(terms.cap_per_event[b.risk])
            key = ("contract", share.tobytes(), rec, cap)
            memo = b.memo if b.memo is not None else {}
            if key not in memo:
                memo[key] = _split_block(b.values, share, rec, cap, b.aux[1])
            left, c_e, sums = memo[key]
            after_memos.append(memo.setdefault(("after", key), {}))
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
        split = cls(n, n_risks, table, left_rows,
                    {"gross": gross_per_trial if gross_t is None else gross_t,
                     "contract": np.bincount(table.trial, weights=contract_e, minlength=n)},
                    by_comp, by_risk, after_memos=after_memos)
        idx, bi_left = split.column(BI)
        bi_gross = table.column(BI)[1]
        bi_blocks = [b for b in table.blocks if BI in b.comps]
        split.bi_index = idx
        split.bi_hours = np.concatenate([b.hours for b in bi_blocks]) if bi_blocks else np.zeros(0)
        split.bi_rate = terms.cost_per_hour * _share(bi_left, bi_gross)
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
        """1.0 for events the policy may pay, 0.0 for events denied by an exclusion (cached).

        Exclusions act on whole risks, so only the blocks of excluded risks are written."""
        key = ("keep", None if excluded is None else excluded.tobytes(),
               None if warranty is None else warranty.tobytes(), probability)
        if key not in self._cache:
            keep = None
            for b in self.blocks:
                ex = excluded is not None and bool(excluded[b.risk])
                wr = warranty is not None and bool(warranty[b.risk]) and probability > 0
                if not (ex or wr):
                    continue
                if keep is None:
                    keep = np.ones(self.size)
                sl = slice(b.start, b.stop)
                if ex:
                    keep[sl] = 0.0
                else:       # the policy year's decision: all of that year's claims, or none
                    np.greater_equal(self.table.deny_of(self.trial[sl]), probability, out=keep[sl],
                                     casting="unsafe")
            self._remember(key, keep)
        return self._cache[key]

    def _regular_claims(self, regular: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write each event's claim on the ``regular`` sections into ``out``.

        A block's sum over its regular sections is kept with the block, so after a control toggle
        only the blocks of the risks it changed are summed again."""
        memos = self.after_memos or [{} for _ in self.blocks]
        for b, left, memo in zip(self.blocks, self.left, memos):
            js = tuple(j for j, k in enumerate(b.comps) if regular[k])
            sl = slice(b.start, b.stop)
            if not js:
                out[sl] = 0.0
                continue
            mkey = ("regular", js)
            if mkey not in memo:
                memo[mkey] = left[js[0]] if len(js) == 1 else left[list(js)].sum(axis=0)
            out[sl] = memo[mkey]
        return out

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
        with self.scratch.lock:
            return self._apply(policy, excluded, warranty, detail, with_reasons)

    def _apply(self, policy, excluded, warranty, detail: bool, with_reasons: bool) -> Allocation:
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
        work = self._regular_claims(regular, self.scratch.get("work", self.size))
        if keep0 is not None:
            work *= keep0
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
        sharing = [k for k in special if sec[k].excess is None]
        for k in sharing:
            work[cols[k][0]] += cols[k][1]
        stages: list[np.ndarray | None] = [keep0]  # regular sections' factors, stage by stage
        if policy.excess > 0:
            def take_excess(w):
                w -= policy.excess
                np.maximum(w, 0.0, out=w)
            _pro_rata(work, cols, sharing, take_excess, "excess", reasons, stages,
                      self.scratch.get("excess factor", self.size))
        at_excess = len(stages)
        for k, (idx, val) in cols.items():
            if k not in sharing:
                work[idx] += val

        # any-one-claim limit, pro rata over the sections
        limit_claim = policy.limit_any_one_claim
        if limit_claim is not None and work.max(initial=0.0) > limit_claim:
            _pro_rata(work, cols, list(cols), lambda w: np.minimum(w, limit_claim, out=w), "claim limit",
                      reasons, stages, self.scratch.get("claim limit factor", self.size))
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
                # what the sublimit took is at most what the event claimed: rounding must not
                # leave a claim a hair below zero (only this section's events changed)
                work[idx] = np.maximum(work[idx] - (val - paid), 0.0)
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
            ag = _share(_erode(work, trial, self.time, before_aggregate, limit), work)
            stages.append(ag)
        # the regular sections: what is left of each column after each stage, block by block
        # (cumulative factors over a block's slice stay small, so nothing event-sized is built)
        if not with_reasons:                       # only what is left at the end is needed
            final = [st for st in stages if st is not None]
            if len(final) > 1:
                prod = np.multiply(final[0], final[1], out=self.scratch.get("product", self.size))
                for st in final[2:]:
                    prod *= st
                final = [prod]
            stages = final or [None]
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
        for k, (idx, val) in cols.items():
            after = val * ag[idx] if ag is not None else val
            reasons["aggregate limit"][k] += val.sum() - after.sum()
            ins_k[k] = after.sum()
        # by risk: blocks are contiguous runs of one risk's events
        ins_r = np.zeros(self.n_risks)
        for b in self.blocks:
            sl = slice(b.start, b.stop)
            ins_r[b.risk] += work[sl].dot(ag[sl]) if ag is not None else work[sl].sum()
        if c > 0:
            reasons["coinsurance"] += ins_k * c
            ins_k = ins_k * (1.0 - c)
            ins_r *= 1.0 - c
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
