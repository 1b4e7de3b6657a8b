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

import numpy as np

from ..coverage.allocation import EventTable, Terms, allocate, combine
from ..inputs.components import COMPONENTS
from ..inputs.contracts import Contracts, load_contracts
from ..coverage.invariants import check_allocation
from .metrics import PERCENTILES
from .results import SimulationResult, gap_table, policy_summary, risk_profile
from ..inputs.policy import Policy
from ..inputs.register import Register
from ..simulation.draws import Plan, chunks, default_threads, draw_chunk, progress, realise, status_vector
from ..simulation.sums import accumulate

DEFAULT_TRIALS = 100_000
DEFAULT_SEED = 20261
DETAIL_TRIALS = 1_000_000


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
