"""The scenario model: simulated years kept in memory, to re-apply controls and terms at once.

Control statuses change which potential events happen and how large they are, on the same
random numbers (common random numbers); policy and contract terms are re-applied to the
realised events without simulating again. Everything kept is kept in bounded single-flight
caches (:class:`riskmodel.analysis.cache.Cache`) under explicit keys: a control scenario by the
status of every control, terms by a digest of their fields.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..coverage.allocation import Allocation, ContractSplit, EventTable, Terms, combine
from ..coverage.invariants import check_allocation
from ..inputs.components import COMPONENTS
from ..inputs.contracts import Contracts, load_contracts
from ..inputs.policy import Policy
from ..inputs.register import Register
from ..simulation.draws import default_threads, depends_on, draw_all, realise, status_vector
from ..simulation.sums import accumulate
from .cache import Cache, Memo, digest
from .engine import DEFAULT_SEED, DEFAULT_TRIALS, SimulationResult, risk_profile

#: Bytes of priced allocations a model keeps (going back to a policy and scenario seen before).
PRICED_BYTES = 256 * 2**20


class ChunkedSplit:
    """A control scenario's events after contract cover, one :class:`ContractSplit` per chunk of
    trials, priced on all cores and joined (exactly as :func:`simulate` prices chunk by chunk)."""

    def __init__(self, parts: list[ContractSplit], threads: int):
        self.parts = parts
        self.threads = threads

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def by_component(self) -> dict[str, np.ndarray]:
        return {k: sum(p.by_component[k] for p in self.parts) for k in self.parts[0].by_component}

    def apply(self, policy: Policy | None, excluded: np.ndarray | None = None,
              warranty: np.ndarray | None = None, *, detail: bool = True, with_reasons: bool = True) -> Allocation:
        """:meth:`ContractSplit.apply` on every chunk, joined with :func:`combine`."""
        def one(p):
            return p.apply(policy, excluded, warranty, detail=detail, with_reasons=with_reasons)

        if len(self.parts) == 1:
            return one(self.parts[0])
        with ThreadPoolExecutor(min(self.threads, len(self.parts))) as pool:
            return combine(list(pool.map(one, self.parts)))


class ScenarioModel:
    """Simulated years kept in memory, to re-apply controls and policy terms at once.

    Parameters
    ----------
    register : Register
    trials, seed : int
    threads : int, optional
        Worker threads (default: up to 2).
    max_scenarios : int
        Control scenarios kept (events and contract split of each; each holds its events).

    Examples
    --------
    >>> model = ScenarioModel(register, trials=100_000, seed=1)      # doctest: +SKIP
    >>> base = model.result(policy)                                    # doctest: +SKIP
    >>> mfa = model.result(policy, control_status={"mfa": True})       # doctest: +SKIP
    """

    def __init__(self, register: Register, trials: int = DEFAULT_TRIALS, seed: int = DEFAULT_SEED,
                 *, threads: int | None = None, show_progress: bool | None = None, max_scenarios: int = 16):
        self.register = register
        self.trials = trials
        self.seed = seed
        self.threads = threads or default_threads()
        self.store = draw_all(register, trials, seed, aux=True, threads=self.threads, show_progress=show_progress)
        self.plan = self.store.plan
        self.max_scenarios = max_scenarios
        self.default_contracts = load_contracts()
        self._deps = [depends_on(self.plan, p) for p in self.plan.risks]
        blocks = (max_scenarios + 2) * len(self.plan.risks) * len(self.store.chunks)
        self._scenarios = Cache(max_scenarios)      # scenario -> its realised events
        self._details = Cache(max_scenarios)        # ("by risk" | "table" | "profiles", scenario) -> ...
        self._splits = Cache(max_scenarios)         # (scenario, contracts) -> ChunkedSplit
        self._priced = Cache(8 * max_scenarios, PRICED_BYTES)    # (scenario, terms, detail) -> Allocation
        self._realised = Cache(blocks)              # one risk's events in one chunk (realise's memo)
        self._work = Cache(4 * blocks)              # contract cover and pricing work by block and split
        self._digests = Cache(64)                   # id of a frozen input -> (it, its digest)

    # -- control scenarios -------------------------------------------------------------------
    def _digest(self, frozen) -> str:
        """:func:`digest` of a frozen input (policy, contracts), computed once per object."""
        kept = self._digests.peek(id(frozen))
        if kept is None or kept[0] is not frozen:       # (kept holds it: its id is not reused)
            kept = (frozen, digest(frozen))
            self._digests.put(id(frozen), kept)
        return kept[1]

    def _status(self, control_status: dict[str, bool] | None) -> dict[str, bool]:
        return {**self.register.control_status, **(control_status or {})}

    def _key(self, control_status: dict[str, bool] | None) -> tuple[bool, ...]:
        """A control scenario's key: the status of every control the simulation depends on."""
        return tuple(status_vector(self.plan, self.register, self._status(control_status)).tolist())

    def _scenario(self, key: tuple[bool, ...], threads: int | None = None) -> dict:
        """A control scenario's realised events, chunk by chunk (kept)."""
        return self._scenarios.get(key, lambda: self._realise_all(np.array(key, dtype=bool), threads))

    def _pool(self, threads: int | None = None) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(min(threads or self.threads, len(self.store.chunks)))

    def _realise_all(self, vec: np.ndarray, threads: int | None = None) -> dict:
        """Realise every chunk under the control statuses ``vec`` (risks unaffected are reused).

        Only what pricing needs is built here: the events and the per-trial gross."""
        cost = self.register.practice.interruption_cost_per_hour
        gross = np.zeros(self.trials)
        memo = Memo(self._realised)

        def one(ch):
            losses = realise(self.plan, ch, vec, cost, memo)
            sums = accumulate(losses, ch.n, gross[ch.start:ch.start + ch.n])
            # each risk's events are named as realise names them: a block's work is reused
            # by every scenario that realises the risk alike
            sources = [(ch.index, p.index, cost, tuple(bool(vec[c]) for c in self._deps[p.index]))
                       for p in self.plan.risks]
            table = EventTable.from_losses(losses, ch.n, ch.year_deny, sources=sources)
            return (losses, ch.start), table, sums

        with self._pool(threads) as pool:
            done = list(pool.map(one, self.store.chunks))
        return {"parts": [d[0] for d in done], "tables": [d[1] for d in done], "gross": gross,
                "risk_sum": sum(d[2][0] for d in done), "comp_sum": sum(d[2][1] for d in done)}

    def _detail(self, key: tuple[bool, ...]) -> tuple[np.ndarray, np.ndarray]:
        """A scenario's per-trial totals by risk (R, trials) and component (K, trials), built on
        first request from the per-trial sums each risk's events keep (a toggle needs neither)."""
        def build():
            sc = self._scenario(key)
            R, K = len(self.plan.risks), len(COMPONENTS)
            by_risk, by_comp = np.zeros((R, self.trials)), np.zeros((K, self.trials))
            for (losses, start), ch in zip(sc["parts"], self.store.chunks):
                sl = slice(start, start + ch.n)
                accumulate(losses, ch.n, None, by_risk[:, sl], by_comp[:, sl])
            return by_risk, by_comp

        return self._details.get(("by risk", key), build)

    def losses(self, control_status: dict[str, bool] | None = None):
        """(EventTable, by_risk (R, trials), by_component (K, trials)) for a control scenario.

        The table of all trials is assembled on first request (pricing works chunk by chunk)."""
        key = self._key(control_status)
        sc = self._scenario(key)
        table = self._details.get(("table", key), lambda: EventTable.from_chunks(
            sc["parts"], self.trials, np.concatenate([ch.year_deny for ch in self.store.chunks])))
        return (table, *self._detail(key))

    def by_risk(self, control_status: dict[str, bool] | None = None) -> np.ndarray:
        """Per-trial gross loss by risk (risks, trials) of a control scenario."""
        return self._detail(self._key(control_status))[0]

    def risk_profiles(self, control_status: dict[str, bool] | None = None) -> list[dict]:
        """Per risk (register order): ``risk_id`` and the figures of :func:`risk_profile`
        (``mean``, ``prob_event``, ``cost_if_event_p50``, ``cost_if_event_p90``, ``p99``,
        ``p99_se``) under a control scenario (kept: they depend on the controls only)."""
        key = self._key(control_status)

        def build():
            by_risk, _ = self._detail(key)
            means = self._scenario(key)["risk_sum"] / self.trials
            return [{"risk_id": r.risk_id, **risk_profile(means[i], by_risk[i])}
                    for i, r in enumerate(self.register.risks)]

        return self._details.get(("profiles", key), build)

    def risk_means(self, control_status: dict[str, bool] | None = None) -> np.ndarray:
        """Expected annual gross loss by risk (risks,) of a control scenario (no per-trial matrix)."""
        return self._scenario(self._key(control_status))["risk_sum"] / self.trials

    def events_affected(self, control: str) -> int:
        """Potential events of the risks whose losses depend on ``control`` (work to re-realise)."""
        c = self.plan.controls.index(control)
        idx = [p.index for p in self.plan.risks if c in self._deps[p.index]]
        return int(sum(ch.risks[i].trial.size for ch in self.store.chunks for i in idx))

    # -- contract cover and pricing ----------------------------------------------------------
    def split(self, contracts: Contracts | None = None,
              control_status: dict[str, bool] | None = None, *, threads: int | None = None) -> ChunkedSplit:
        """The events of a control scenario after contract cover (kept).

        ``threads`` caps the worker threads used if the scenario must be computed."""
        key = (self._key(control_status), self._digest(contracts or self.default_contracts))
        return self._splits.get(key, lambda: self._split(key, contracts or self.default_contracts, threads))

    def _split(self, key: tuple, contracts: Contracts, threads: int | None = None) -> ChunkedSplit:
        """Contract cover applied to a control scenario's events, chunk by chunk."""
        sc = self._scenario(key[0], threads)
        terms = Terms.compile(self.register, contracts, None)     # contract terms only
        R = len(self.plan.risks)

        def one(args):
            table, ch = args
            # the engine's per-trial gross, so that retained = gross - contract - insurer holds to
            # the last bit against SimulationResult.gross
            return ContractSplit.prepare(table, terms, R, sc["gross"][ch.start:ch.start + ch.n],
                                         key=("split", key, ch.index), reuse=self._work.get)

        with self._pool(threads) as pool:
            return ChunkedSplit(list(pool.map(one, zip(sc["tables"], self.store.chunks))), self.threads)

    def prepare(self, contracts: Contracts | None = None, control_status: dict[str, bool] | None = None,
                *, threads: int | None = 1) -> None:
        """Realise a control scenario and apply contract cover, so that pricing it later is quick
        (the dashboard's background warm-up; ``threads`` caps the worker threads, default one)."""
        self.split(contracts, control_status, threads=threads)

    def prepared(self, contracts: Contracts | None = None, control_status: dict[str, bool] | None = None) -> bool:
        """Whether the contract split of a control scenario is ready (computed and still kept)."""
        return (self._key(control_status), self._digest(contracts or self.default_contracts)) in self._splits

    def allocate(self, policy: Policy | None, contracts: Contracts | None = None,
                 control_status: dict[str, bool] | None = None, *, detail: bool = True,
                 with_reasons: bool = True) -> Allocation:
        """Apply terms to the simulated events of a control scenario.

        Only the policy is priced again when the same control scenario and contracts were used
        before; ``detail=False`` gives per-trial totals only (fastest). The last results are kept:
        going back to a policy and control scenario seen a moment ago costs nothing. Treat the
        result as read-only.
        """
        contracts = contracts or self.default_contracts
        status = self._status(control_status)      # (the terms may depend on any control)
        key = (tuple(sorted(status.items())), self._digest(contracts), self._digest(policy), detail, with_reasons)

        def price():
            split = self.split(contracts, status)
            terms = Terms.compile(self.register, contracts, policy, status)
            alloc = split.apply(policy, terms.excluded, terms.warranty, detail=detail, with_reasons=with_reasons)
            check_allocation(alloc, f"pricing of {self.register.path}")
            return alloc

        return self._priced.get(key, price)

    def result(self, policy: Policy | None = None, contracts: Contracts | None = None,
               control_status: dict[str, bool] | None = None) -> SimulationResult:
        """The :class:`SimulationResult` of a control scenario and terms (as :func:`simulate`)."""
        status = self._status(control_status)
        key = self._key(status)
        sc = self._scenario(key)
        br, bc = self._detail(key)
        contracts = contracts or self.default_contracts
        alloc = self.allocate(policy, contracts, status)
        return SimulationResult(self.register, self.trials, self.seed, sc["gross"], br, bc,
                                sc["risk_sum"] / self.trials, sc["comp_sum"] / self.trials, alloc, policy,
                                contracts, status)
