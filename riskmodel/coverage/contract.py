"""Stage 1, contract cover, and the events it leaves for the policy (:class:`ContractSplit`).

Each component's ``borne`` share of an event is paid by the risk's system owner, with the
owner's ``recovery_probability`` (one draw per event) and capped per event
(:func:`contract_cover`). Contract cover depends only on the control scenario and the contract
terms, so it is computed once per scenario (:meth:`ContractSplit.prepare`) and any number of
policies are then priced on what it leaves (:meth:`ContractSplit.apply`, the stages of
:mod:`riskmodel.coverage.stages`).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..inputs.policy import Policy
from .erosion import ratio, share
from .events import BI, K, Block, EventTable, column_of
from .result import Allocation
from .stages import price
from .terms import Terms

#: ``reuse(key, compute)``: the value kept under ``key``, or ``compute()`` kept under it (the
#: scenario model passes its cache's ``get``). Keys name everything the value depends on.
Reuse = Callable[[Hashable, Callable[[], Any]], Any]


def _no_reuse(key, compute):
    return compute()


def contract_cover(values: np.ndarray, borne: np.ndarray, rec: float, cap: float, u_recover: np.ndarray,
                   totals: bool = True):
    """One block's contract cover.

    Parameters
    ----------
    values : ndarray (comps, events)
        Gross pounds of the block's components.
    borne : ndarray (comps,)
        The owner's share of each component.
    rec, cap : float
        Chance the owner pays an event (paid when ``u_recover < rec``), and the most it pays for one.

    totals : bool
        Also the sums by component (``False``: None instead).

    Returns
    -------
    (left (comps, events), contract per event or None, sums by component of gross, contract, left)
    """
    if not borne.any():
        if not totals:
            return values, None, None
        sums = values.sum(axis=1)
        return values, None, {"gross": sums, "contract": np.zeros(len(borne)), "left": sums}
    contract = values * borne[:, None]
    if rec < 1.0:
        contract *= u_recover < rec
    tot = contract.sum(axis=0)
    if np.isfinite(cap) and (tot > cap).any():
        contract *= np.minimum(1.0, ratio(np.full_like(tot, cap), tot) + (tot <= 0))
        tot = contract.sum(axis=0)
    left = values - contract
    if not totals:
        return left, tot, None
    return left, tot, {"gross": values.sum(axis=1), "contract": contract.sum(axis=1), "left": left.sum(axis=1)}


def _rest(gross: np.ndarray, contract: np.ndarray, insurer: np.ndarray) -> np.ndarray:
    """``gross - contract - insurer``, never below 0: when contract and insurer pay everything,
    the subtraction of sums of many events can leave -1e-8 or so of rounding (a retained mean of
    -4.7e-13 pounds was seen); the guard (:mod:`riskmodel.coverage.invariants`) still checks that
    the three add up to gross."""
    return np.maximum(gross - contract - insurer, 0.0)


@dataclass
class ContractSplit:
    """Simulated events after contract cover, ready to have any policy applied at once.

    :meth:`apply` prices a policy on per-event totals: the sections without a sublimit or their
    own excess are summed into one claim per event, and only sections with their own terms, and
    business interruption, are kept as sparse columns. Work that depends only on the split (or
    on one block of it) is kept through ``reuse`` under ``key`` (None: nothing is kept).
    """

    trials: int
    n_risks: int
    table: EventTable
    left: list[np.ndarray]      # per block: (comps, events) pounds left by contracts
    per_trial: dict[str, np.ndarray]     # gross, contract (trials,)
    by_component: dict[str, np.ndarray] | None  # gross, contract, left (K,); None without totals
    by_risk: dict[str, np.ndarray] | None   # gross, contract (risks,); None without totals
    bi_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # events with BI
    bi_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bi_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # £/hour left after contracts
    #: per block, what names its contract cover (None: the block has no source to reuse work by)
    covers: list[Hashable | None] = field(default_factory=list, repr=False)
    key: Hashable | None = None
    reuse: Reuse = field(default=_no_reuse, repr=False)

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
                gross_per_trial: np.ndarray | None = None, *, key: Hashable | None = None,
                reuse: Reuse | None = None, totals: bool = True) -> "ContractSplit":
        """Apply contract cover (by system owner) to every event of ``table``, block by block.

        A block's split depends only on its own events and its risk's contract terms: with
        ``reuse``, it is kept under the block's :attr:`~Block.source` and those terms (a risk
        realised under the same controls is reused when a control toggle changes other risks
        only), and the split's own work under ``key``. ``gross_per_trial``, when the caller has
        it (the engine does), saves summing the gross loss again. ``totals=False`` leaves out the
        sums by component and by risk (``by_component`` and ``by_risk`` are None): the split can
        then only be priced without detail (``apply(..., detail=False)``).
        """
        reuse = reuse or _no_reuse
        n = table.trials
        contract_e = np.zeros(table.size)
        gross_t = np.zeros(n) if gross_per_trial is None else None
        by_comp = {p: np.zeros(K) for p in ("gross", "contract", "left")}
        by_risk = {p: np.zeros(n_risks) for p in ("gross", "contract")}
        left_rows, covers = [], []
        for b in table.blocks:
            sl = slice(b.start, b.stop)
            borne = terms.borne[b.risk, list(b.comps)]
            rec = float(terms.recovery_probability[b.risk])
            cap = float(terms.cap_per_event[b.risk])
            cover = None if b.source is None else ("contract", b.source, borne.tobytes(), rec, cap)
            if not totals:
                cover = None               # (what is kept under a cover has its sums)
            left, c_e, sums = (contract_cover(b.values, borne, rec, cap, b.aux[1], totals) if cover is None else
                               reuse(cover, lambda: contract_cover(b.values, borne, rec, cap, b.aux[1])))
            covers.append(cover)
            if gross_t is not None:
                for row in b.values:
                    gross_t += np.bincount(table.trial[sl], weights=row, minlength=n)
            if c_e is not None:
                contract_e[sl] = c_e
            if totals:
                comps = list(b.comps)
                for name, v in sums.items():
                    by_comp[name][comps] += v
                by_risk["gross"][b.risk] += sums["gross"].sum()
                by_risk["contract"][b.risk] += sums["contract"].sum()
            left_rows.append(left)
        split = cls(n, n_risks, table, left_rows,
                    {"gross": gross_per_trial if gross_t is None else gross_t,
                     "contract": np.bincount(table.trial, weights=contract_e, minlength=n)},
                    by_comp if totals else None, by_risk if totals else None, covers=covers, key=key,
                    reuse=reuse)
        idx, bi_left = split.column(BI)
        bi_gross = table.column(BI)[1]
        bi_blocks = [b for b in table.blocks if BI in b.comps]
        split.bi_index = idx
        split.bi_hours = np.concatenate([b.hours for b in bi_blocks]) if bi_blocks else np.zeros(0)
        split.bi_rate = terms.cost_per_hour * share(bi_left, bi_gross)
        return split

    def _kept(self, what: tuple, compute):
        """``compute()``, kept under this split's key and ``what`` (computed each time without a key)."""
        return compute() if self.key is None else self.reuse((self.key, *what), compute)

    def column(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(events, pounds) of component ``k`` left after contract cover (empty if none; kept)."""
        return self._kept(("column", k), lambda: column_of(self.blocks, self.left, k))

    def keep(self, excluded: np.ndarray | None, warranty: np.ndarray | None,
             probability: float) -> np.ndarray | None:
        """1.0 for events the policy may pay, 0.0 for events denied by an exclusion or a missing
        warranted control (None: none denied; kept)."""
        what = ("keep", None if excluded is None else excluded.tobytes(),
                None if warranty is None else warranty.tobytes(), probability)
        return self._kept(what, lambda: self._keep(excluded, warranty, probability))

    def _keep(self, excluded, warranty, probability: float) -> np.ndarray | None:
        # exclusions act on whole risks, so only the blocks of excluded risks are written
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
        return keep

    def regular_claims(self, regular: np.ndarray) -> np.ndarray:
        """Each event's claim on the ``regular`` sections (bool (K,)), after contract cover.

        A block's sum over its regular sections is kept with the block's contract cover, so after
        a control toggle only the blocks of the risks it changed are summed again."""
        out = np.empty(self.size)
        for b, left, cover in zip(self.blocks, self.left, self.covers):
            js = tuple(j for j, k in enumerate(b.comps) if regular[k])
            sl = slice(b.start, b.stop)
            if not js:
                out[sl] = 0.0
                continue

            def total(left=left, js=js):
                return left[js[0]] if len(js) == 1 else left[list(js)].sum(axis=0)

            out[sl] = total() if cover is None else self.reuse(("regular", cover, js), total)
        return out

    def apply(self, policy: Policy | None, excluded: np.ndarray | None = None,
              warranty: np.ndarray | None = None, *, detail: bool = True,
              with_reasons: bool = True) -> Allocation:
        """Price ``policy`` on these events, stage by stage (:func:`riskmodel.coverage.stages.price`).

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
        if detail and self.by_component is None:
            raise ValueError("this split was prepared without its totals (totals=False): price it with detail=False")
        return price(self, policy, excluded, warranty, detail=detail, with_reasons=with_reasons)

    def _finish(self, insurer_trial: np.ndarray, before_aggregate: np.ndarray, exhausted: np.ndarray,
                sub_exhausted: dict, detail: tuple | None) -> Allocation:
        """The :class:`Allocation`: the practice retains what neither contract nor insurer pays
        (:func:`_rest`)."""
        per_trial = {**self.per_trial, "insurer": insurer_trial,
                     "retained": _rest(self.per_trial["gross"], self.per_trial["contract"], insurer_trial),
                     "claims_before_aggregate": before_aggregate}
        if detail is None:
            return Allocation(self.trials, per_trial, None, None, None, exhausted, sub_exhausted)
        ins_k, ins_r, reasons = detail
        g, c = self.by_component, self.by_risk
        by_component = {"gross": g["gross"], "contract": g["contract"], "insurer": ins_k,
                        "retained": _rest(g["gross"], g["contract"], ins_k)}
        by_risk = {"gross": c["gross"], "contract": c["contract"], "insurer": ins_r,
                   "retained": _rest(c["gross"], c["contract"], ins_r)}
        return Allocation(self.trials, per_trial, by_component, by_risk, reasons, exhausted, sub_exhausted)
