"""Who pays: contract cover, then the insurance policy, then the practice, event by event.

For every simulated event, in order:

1. **Contract cover** by the system owner (:mod:`riskmodel.coverage.contract`): each
   component's ``borne`` share, paid with the owner's ``recovery_probability`` (one draw per
   event) and capped per event.
2. **The policy**, on what is left (:mod:`riskmodel.coverage.stages`): exclusions (war/state-backed,
   unencrypted devices, missing warranted controls); sections not covered; business-interruption
   waiting and indemnity periods on the downtime hours; each section's own excess, then the
   per-claim excess shared by the other sections (pro rata); the any-one-claim limit; section
   sublimits and then the annual aggregate limit, eroded in the order events fall within the year
   (:mod:`riskmodel.coverage.erosion`); then coinsurance (the practice's share of what the policy
   pays; limits apply before it).
3. **The practice** retains the rest: ``retained = gross - contract - insurer`` per event and
   component, so the three always add up to gross.

Every pound retained is attributed to one reason: no policy, not covered, exclusion, excess,
waiting period, indemnity period, claim limit, sublimit, aggregate limit or coinsurance. (What a
contract fails to recover is simply a loss like any other for the policy.)

The pieces: :class:`EventTable` (:mod:`~riskmodel.coverage.events`), :class:`Terms`
(:mod:`~riskmodel.coverage.terms`), :class:`ContractSplit`, the :class:`Allocation` result and
:func:`combine` (:mod:`~riskmodel.coverage.result`); this module prices them in one call.
"""
from __future__ import annotations

import numpy as np

from .contract import ContractSplit, contract_cover
from .events import BI, K, Block, EventTable, group_start
from .result import PAYERS, REASONS, Allocation, combine
from .terms import Terms


def allocate(table: EventTable, terms: Terms, n_risks: int, *, detail: bool = True,
             gross_per_trial: np.ndarray | None = None) -> Allocation:
    """Split every event's loss between contract, insurer and practice (see module docs).

    Parameters
    ----------
    table : EventTable
    terms : Terms
        Contracts and policy compiled for the register and control scenario of ``table``.
    n_risks : int
    detail : bool
        Also by component and risk, with the reasons (``False``: per-trial totals only).
    gross_per_trial : ndarray (trials,), optional
        The caller's per-trial gross (saves summing it again; keeps gross bit for bit the caller's).
    """
    split = ContractSplit.prepare(table, terms, n_risks, gross_per_trial, totals=detail)
    return split.apply(terms.policy, terms.excluded, terms.warranty, detail=detail)


__all__ = ["Allocation", "Block", "ContractSplit", "EventTable", "Terms", "allocate", "combine",
           "contract_cover", "group_start", "BI", "K", "PAYERS", "REASONS"]
