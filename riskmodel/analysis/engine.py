"""Run the engine: simulate a register's annual losses and, given terms, who pays.

Two ways in:

* :func:`simulate` streams chunk by chunk, so memory stays bounded whatever the trial count;
  it keeps per-trial totals (gross and, with terms, contract/insurer/retained) for every trial
  and per-trial totals by risk and by component for the first ``detail_trials`` trials.
* :class:`ScenarioModel` keeps every simulated event so that control statuses and policy terms
  can be re-applied to the same simulated years at once (policy comparisons, the dashboard).
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..coverage.allocation import Allocation, ContractSplit, EventTable, Scratch, Terms, allocate, combine
from ..inputs.components import COMPONENTS
from ..inputs.contracts import Contracts, load_contracts
from ..coverage.invariants import check_allocation
from .metrics import PERCENTILES
from .results import SimulationResult, gap_table, policy_summary, risk_profile
from ..inputs.policy import Policy
from ..inputs.register import Register
from ..simulation.draws import (Plan, accumulate, chunks, default_threads, depends_on, draw_all, draw_chunk,
                         progress, realise, status_vector)

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


class ChunkedSplit:
    """A control scenario's events after contract cover, one :class:`ContractSplit` per chunk of
    trials, priced on all cores and joined (exactly as :func:`simulate` prices chunk by chunk)."""

    def __init__(self, parts: list[ContractSplit], threads: int):
        self.parts = parts
        self.threads = threads
        self._priced: dict[tuple, Allocation] = {}     # the last few policies priced (shared, read-only)
        self._priced_lock = threading.Lock()

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def by_component(self) -> dict[str, np.ndarray]:
        return {k: sum(p.by_component[k] for p in self.parts) for k in self.parts[0].by_component}

    def apply(self, policy: Policy | None, excluded: np.ndarray | None = None,
              warranty: np.ndarray | None = None, *, detail: bool = True, with_reasons: bool = True) -> Allocation:
        """:meth:`ContractSplit.apply` on every chunk, joined with :func:`combine`.

        The last few results are kept: going back to a policy and control scenario seen a moment
        ago (a partner flipping a control on and off) costs nothing. Treat the result as read-only.
        """
        key = (repr(policy), None if excluded is None else excluded.tobytes(),
               None if warranty is None else warranty.tobytes(), detail, with_reasons)
        with self._priced_lock:
            if key in self._priced:
                return self._priced[key]

        def one(p):
            return p.apply(policy, excluded, warranty, detail=detail, with_reasons=with_reasons)

        if len(self.parts) == 1:
            result = one(self.parts[0])
        else:
            with ThreadPoolExecutor(min(self.threads, len(self.parts))) as pool:
                result = combine(list(pool.map(one, self.parts)))
        with self._priced_lock:
            self._priced[key] = result
            while len(self._priced) > 4:
                self._priced.pop(next(iter(self._priced)))
        return result


class ScenarioModel:
    """Simulated years kept in memory, to re-apply controls and policy terms at once.

    Control statuses change which potential events happen and how large they are, on the same
    random numbers (common random numbers); policy and contract terms are re-applied to the
    realised events without simulating again.

    Examples
    --------
    >>> model = ScenarioModel(register, trials=100_000, seed=1)      # doctest: +SKIP
    >>> base = model.result(policy)                                    # doctest: +SKIP
    >>> mfa = model.result(policy, control_status={"mfa": True})       # doctest: +SKIP
    """

    def __init__(self, register: Register, trials: int = DEFAULT_TRIALS, seed: int = DEFAULT_SEED,
                 *, threads: int | None = None, show_progress: bool | None = None):
        self.register = register
        self.trials = trials
        self.seed = seed
        self.threads = threads or default_threads()
        self.store = draw_all(register, trials, seed, aux=True, threads=self.threads, show_progress=show_progress)
        self.plan = self.store.plan
        self._cache: dict[tuple, Future] = {}          # control scenario -> its realised events
        self._splits: dict[tuple, Future] = {}         # (scenario, contracts) -> ChunkedSplit
        #: control scenarios kept (events and contract split of each); see the dashboard's warm-up
        self.max_scenarios = 16
        self._lock = threading.RLock()     # scenarios may be prepared from a background thread
        self._memo: dict = {}
        self.default_contracts = load_contracts()
        self._scratch = [Scratch() for _ in self.store.chunks]

    def _scenario(self, status: dict[str, bool], threads: int | None = None) -> dict:
        """A control scenario's realised events, chunk by chunk (cached)."""
        vec = status_vector(self.plan, self.register, status)
        key = tuple(vec.tolist())
        return self._cached(self._cache, key, lambda: self._realise_all(vec, threads))

    def _cached(self, store: dict, key, compute):
        """``store[key]``, computed by ``compute()`` on first request.

        The lock is held only to look up and insert, never while computing: the dashboard's
        background warm-up preparing one scenario never holds up the partner's next change,
        which computes its own scenario alongside (or waits for the same one to finish)."""
        with self._lock:
            entry = store.get(key)
            owner = entry is None
            if owner:
                entry = store[key] = Future()
                while len(store) > self.max_scenarios:
                    store.pop(next(iter(store)))
        if owner:
            try:
                entry.set_result(compute())
            except BaseException as exc:
                with self._lock:
                    if store.get(key) is entry:
                        del store[key]
                entry.set_exception(exc)
                raise
        return entry.result()

    def losses(self, control_status: dict[str, bool] | None = None):
        """(EventTable, by_risk (R, trials), by_component (K, trials)) for a control scenario.

        The table of all trials is assembled on first request (pricing works chunk by chunk)."""
        sc = self._scenario({**self.register.control_status, **(control_status or {})})
        with self._lock:
            if sc["table"] is None:
                sc["table"] = EventTable.from_chunks(
                    sc["parts"], self.trials, np.concatenate([ch.year_deny for ch in self.store.chunks]))
        by_risk, by_comp = self._detail(sc)
        return sc["table"], by_risk, by_comp

    def by_risk(self, control_status: dict[str, bool] | None = None) -> np.ndarray:
        """Per-trial gross loss by risk (risks, trials) of a control scenario."""
        return self._detail(self._scenario({**self.register.control_status, **(control_status or {})}))[0]

    def risk_profiles(self, control_status: dict[str, bool] | None = None) -> list[dict]:
        """Per risk (register order): ``risk_id`` and the figures of :func:`risk_profile`
        (``mean``, ``prob_event``, ``cost_if_event_p50``, ``cost_if_event_p90``, ``p99``,
        ``p99_se``) under a control scenario."""
        sc = self._scenario({**self.register.control_status, **(control_status or {})})
        by_risk, _ = self._detail(sc)
        means = sc["risk_sum"] / self.trials
        return [{"risk_id": r.risk_id, **risk_profile(means[i], by_risk[i])}
                for i, r in enumerate(self.register.risks)]

    def risk_means(self, control_status: dict[str, bool] | None = None) -> np.ndarray:
        """Expected annual gross loss by risk (risks,) of a control scenario (no per-trial matrix)."""
        sc = self._scenario({**self.register.control_status, **(control_status or {})})
        return sc["risk_sum"] / self.trials

    def _pool(self, threads: int | None = None) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(min(threads or self.threads, len(self.store.chunks)))

    def _realise_all(self, vec: np.ndarray, threads: int | None = None) -> dict:
        """Realise every chunk under the control statuses ``vec`` (risks unaffected are reused).

        Only what pricing needs is built here: the events and the per-trial gross. The per-trial
        matrices by risk and component are built on first request (:meth:`_detail`): a control
        toggle in the dashboard needs neither.
        """
        cost = self.register.practice.interruption_cost_per_hour
        if len(self._memo) > (self.max_scenarios + 2) * len(self.plan.risks) * len(self.store.chunks):
            self._memo.clear()
        gross = np.zeros(self.trials)

        def one(ch):
            losses = realise(self.plan, ch, vec, cost, self._memo)
            sums = accumulate(losses, ch.n, gross[ch.start:ch.start + ch.n])
            return (losses, ch.start), EventTable.from_losses(losses, ch.n, ch.year_deny), sums

        with self._pool(threads) as pool:
            done = list(pool.map(one, self.store.chunks))
        return {"parts": [d[0] for d in done], "tables": [d[1] for d in done], "table": None,
                "gross": gross, "risk_sum": sum(d[2][0] for d in done), "comp_sum": sum(d[2][1] for d in done),
                "by_risk": None, "by_component": None}

    def _detail(self, sc: dict) -> tuple[np.ndarray, np.ndarray]:
        """A scenario's per-trial totals by risk (R, trials) and component (K, trials), built once
        from the per-trial sums each risk's events already keep."""
        with self._lock:
            if sc["by_risk"] is None:
                R, K = len(self.plan.risks), len(COMPONENTS)
                by_risk, by_comp = np.zeros((R, self.trials)), np.zeros((K, self.trials))
                for (losses, start), ch in zip(sc["parts"], self.store.chunks):
                    sl = slice(start, start + ch.n)
                    accumulate(losses, ch.n, None, by_risk[:, sl], by_comp[:, sl])
                sc["by_risk"], sc["by_component"] = by_risk, by_comp
            return sc["by_risk"], sc["by_component"]

    def events_affected(self, control: str) -> int:
        """Potential events of the risks whose losses depend on ``control`` (work to re-realise)."""
        c = self.plan.controls.index(control)
        idx = [p.index for p in self.plan.risks if c in depends_on(self.plan, p)]
        return int(sum(ch.risks[i].trial.size for ch in self.store.chunks for i in idx))

    def split(self, contracts: Contracts | None = None,
              control_status: dict[str, bool] | None = None, *, threads: int | None = None) -> "ChunkedSplit":
        """The events of a control scenario after contract cover (cached).

        ``threads`` caps the worker threads used if the scenario must be computed (the dashboard's
        background warm-up uses one, leaving a core free for the partner's next change)."""
        status = {**self.register.control_status, **(control_status or {})}
        contracts = contracts or self.default_contracts
        key = (tuple(status_vector(self.plan, self.register, status).tolist()), repr(contracts))
        return self._cached(self._splits, key, lambda: self._split(contracts, status, threads))

    def _split(self, contracts: Contracts, status: dict[str, bool], threads: int | None = None) -> "ChunkedSplit":
        """Contract cover applied to a control scenario's events, chunk by chunk."""
        sc = self._scenario(status, threads)
        terms = Terms.compile(self.register, contracts, None, status)
        R = len(self.plan.risks)

        def one(args):
            table, ch = args
            # the engine's per-trial gross, so that retained = gross - contract - insurer holds to
            # the last bit against SimulationResult.gross
            return ContractSplit.prepare(table, terms, R, sc["gross"][ch.start:ch.start + ch.n])

        with self._pool(threads) as pool:
            parts = list(pool.map(one, zip(sc["tables"], self.store.chunks)))
        for part, scratch in zip(parts, self._scratch):
            part.scratch = scratch      # one set of pricing buffers per chunk, whatever the scenario
        return ChunkedSplit(parts, self.threads)

    def allocate(self, policy: Policy | None, contracts: Contracts | None = None,
                 control_status: dict[str, bool] | None = None, *, detail: bool = True,
                 with_reasons: bool = True) -> Allocation:
        """Apply terms to the simulated events of a control scenario.

        Only the policy is priced again when the same control scenario and contracts were used
        before; ``detail=False`` gives per-trial totals only (fastest).
        """
        status = {**self.register.control_status, **(control_status or {})}
        contracts = contracts or self.default_contracts
        split = self.split(contracts, status)
        terms = Terms.compile(self.register, contracts, policy, status)
        alloc = split.apply(policy, terms.excluded, terms.warranty, detail=detail, with_reasons=with_reasons)
        check_allocation(alloc, f"pricing of {self.register.path}")
        return alloc

    def result(self, policy: Policy | None = None, contracts: Contracts | None = None,
               control_status: dict[str, bool] | None = None) -> SimulationResult:
        status = {**self.register.control_status, **(control_status or {})}
        sc = self._scenario(status)
        br, bc = self._detail(sc)
        contracts = contracts or self.default_contracts
        alloc = self.allocate(policy, contracts, status)
        return SimulationResult(self.register, self.trials, self.seed, sc["gross"], br, bc,
                                sc["risk_sum"] / self.trials, sc["comp_sum"] / self.trials, alloc, policy,
                                contracts, status)


__all__ = ["simulate", "SimulationResult", "ScenarioModel", "ChunkedSplit", "DEFAULT_TRIALS", "DEFAULT_SEED",
           "PERCENTILES"]
