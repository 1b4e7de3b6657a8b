"""The Monte Carlo engine: potential events, controls and common shocks, realised losses.

Model (documented for users in ``docs/model.md``):

* Each risk's yearly event count is Poisson. With ``events_low``/``events_high`` (or a
  qualitative likelihood) the rate itself is lognormal per simulated year, so counts are a
  Poisson-lognormal mixture (overdispersed).
* Each event draws every loss component independently from its lognormal (occurring with its
  probability); business interruption is downtime hours times the practice's cost per hour.
* Controls and common shocks act by *thinning*: the engine draws potential events at the highest
  rate a risk can have (its rate times the multipliers of the common shocks that can hit it) and
  keeps each with probability ``prod(1 - reduction)`` over frequency controls in place, times
  ``1 / multiplier`` for each shock that did not occur that year. Severity controls multiply the
  components they act on by ``1 - reduction``. Each control's reduction is drawn once a year
  (uniform between its low and high) and shared by all risks it protects. Because the same
  potential events and draws serve every control scenario, comparisons use common random
  numbers: a control put in place can only remove events or shrink losses.
* Work is done in chunks of :data:`CHUNK` trials with streams keyed by (risk, chunk, purpose), so
  results are bit-for-bit the same for a seed whatever the number of threads, and a run of
  whole chunks is the start of any longer run with the same seed.

The register compiled for the engine (:class:`Plan`) and the memory checks are in
:mod:`riskmodel.simulation.plan`; they are re-exported here.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..inputs.components import BUSINESS_INTERRUPTION, COMPONENTS
from ..inputs.register import Register
from .plan import CHUNK, MAX_DRAWN_RATE, Plan, depends_on, kept_bytes_per_chunk, kept_memory_budget
# Re-exported: the plan and its memory estimates were in this module (simulation/plan.py now).
from .plan import (BYTES_PER_EVENT, BYTES_PER_EVENT_COMPONENT, CHUNKS_IN_FLIGHT,  # noqa: F401
                   KEPT_BYTES_PER_EVENT, KEPT_BYTES_PER_EVENT_COMPONENT, MEMORY_BUDGET, RiskPlan,
                   base_rate_factor, capped_lognormal_mean, check_plan, check_work, estimated_bytes,
                   expected_events_per_chunk, potential_events_per_chunk, status_vector)
from .layout import POSTERIOR, _stream_layout, stream_keys, stream_states  # noqa: F401 (re-exported)
from .sampling import lognormal_yearly_events, occurrences, yearly_events
from .streams import AUX, COMPONENT_BASE, CONTROL, EVENTS, RISK, WARRANTY, YEAR, streams

#: Per thread, generators that :func:`draw_chunk` gives new states for each call (they are used
#: only within the call): making a generator is about half the cost of a stream.
_pools = threading.local()


@dataclass
class RiskDraws:
    """Potential events of one risk in one chunk."""

    trial: np.ndarray              # int64 (numpy's index type: bincount and take use it as is)
    thin: np.ndarray | None        # float32 uniforms for thinning
    amounts: np.ndarray            # float32 (comps, events): pounds, or hours for BI
    aux: np.ndarray | None = None  # float32 (2, events): time in year, contract recovery uniforms


@dataclass
class ChunkDraws:
    """Everything random in one chunk of trials."""

    index: int
    start: int
    n: int
    control_u: np.ndarray          # float64 (controls, n)
    risks: list[RiskDraws]
    #: float32 (n,): one uniform per policy year, deciding whether the insurer declines that year's
    #: claims for a missing warranted control (None without the auxiliary draws)
    year_deny: np.ndarray | None = None
    #: shock risk index -> bool (n,): the years with at least one potential event of the shock,
    #: the years its targets' potential events include its multiplier (:func:`year_factor`)
    shock_years: dict = field(default_factory=dict)


def _lognormal(g: np.random.Generator, m: int, mu: float, sigma: float, out: np.ndarray | None = None) -> np.ndarray:
    """``m`` float32 lognormal draws ``exp(mu + sigma z)`` (into ``out`` if given)."""
    col = g.standard_normal(m, dtype=np.float32, out=out)
    col *= np.float32(sigma)
    col += np.float32(mu)
    return np.exp(col, out=col)


def draw_chunk(plan: Plan, seed: int, chunk: int, start: int, n: int, *, aux: bool,
               controls: np.ndarray | None = None, states: np.ndarray | None = None) -> ChunkDraws:
    """Draw one chunk's potential events for every risk and the controls' yearly effects.

    ``controls`` (bool per plan control): draw only these controls' yearly effects, the rows of
    the others are NaN (a run that applies one choice of controls needs no others; each control
    has its own stream, so no other number changes). ``states``: the streams' states
    (:func:`stream_states`), when the caller computed them with other practices'.

    Common shocks are drawn first: a shock target's potential events are drawn at its base rate
    times the multipliers of the shocks that have at least one potential event in the year
    (:func:`year_factor`), the years in which a shock can occur under some choice of controls.
    """
    keys, rows = _stream_layout(plan, aux, chunk)
    pool = getattr(_pools, "gens", None)
    if pool is None:
        pool = _pools.gens = []
    gens = dict(zip(keys, streams(seed, [(k, nm, chunk, pp) for k, nm, pp in keys], rows=rows, reuse=pool,
                                  states=states)))
    control_u = np.empty((len(plan.controls), n))
    for c, name in enumerate(plan.controls):
        if controls is None or controls[c]:
            gens[(CONTROL, name, 0)].random(n, out=control_u[c])
        else:
            control_u[c] = np.nan
    draws: list[RiskDraws | None] = [None] * len(plan.risks)
    shock_years: dict[int, np.ndarray] = {}
    factors: dict[tuple, tuple] = {}
    for p in plan.order:                       # shocks first: their years set their targets' rates
        g = gens[(RISK, p.risk_id, EVENTS)]
        f = year_factor(p, shock_years, n, factors)
        if p.posterior is not None:
            # the rate of each simulated year from the posterior, by inverse CDF: a lognormal
            # prior's own normal draws (the same stream as without a log), a gamma prior's
            # uniforms from a new stream
            if p.rate_sigma is not None:
                lam = p.posterior.from_normal(g.standard_normal(n))
            else:
                lam = p.posterior.quantile(gens[(RISK, p.risk_id, POSTERIOR)].random(n))
            trial = yearly_events(g, np.minimum(lam, MAX_DRAWN_RATE) * _rate_factor(f))
        elif p.rate_sigma is not None:
            trial = lognormal_yearly_events(g, n, p.rate_mu, p.rate_sigma, MAX_DRAWN_RATE, _rate_factor(f))
        elif isinstance(f, float):
            total = g.poisson(p.rate * f * n)
            trial = g.integers(0, n, total, dtype=np.int64)
        else:
            # years grouped by the product of the multipliers of the shocks that can occur in
            # them: in each group a Poisson total at the group's rate, spread over its years
            parts = []
            for years, factor in zip(f.years, f.factors):
                total = g.poisson(p.rate * factor * years.size)
                parts.append(years.take(g.integers(0, years.size, total, dtype=np.int64)))
            trial = np.concatenate(parts)
        if p.is_shock:
            shock_years[p.index] = np.bincount(trial, minlength=n) > 0
        m = trial.size
        thin = g.random(m, dtype=np.float32) if plan.thins(p) else None
        amounts = np.empty((len(p.comps), m), dtype=np.float32)
        for j, (k, mu, sigma, prob) in enumerate(p.comps):
            gk = gens[(RISK, p.risk_id, COMPONENT_BASE + k)]
            if prob < 1.0:
                # whether the component occurs first, then an amount only where it does (about a
                # third of the components of the examples' events occur)
                row = amounts[j]                  # (a row's own indexing: faster than amounts[j, ...])
                row.fill(0.0)
                occurs = occurrences(gk, m, prob)
                row[occurs] = _lognormal(gk, occurs.size, mu, sigma)
            else:
                _lognormal(gk, m, mu, sigma, out=amounts[j])
        extra = gens[(RISK, p.risk_id, AUX)].random((2, m), dtype=np.float32) if aux else None
        draws[p.index] = RiskDraws(trial, thin, amounts, extra)
    deny = gens[(YEAR, WARRANTY, 0)].random(n, dtype=np.float32) if aux else None
    return ChunkDraws(chunk, start, n, control_u, draws, deny, shock_years)  # type: ignore[arg-type]


class YearFactor(NamedTuple):
    """The factor on a shock target's register rate in each year (:func:`year_factor`)."""

    per_year: np.ndarray        # (n,)
    factors: list[float]        # per distinct product of multipliers, ascending
    years: list[np.ndarray]     # the years (ascending) of each


def year_factor(p: RiskPlan, shock_years: dict[int, np.ndarray], n: int, cache: dict) -> float | YearFactor:
    """The factor on risk ``p``'s register rate at which its potential events are drawn in each
    year: its base rate (:func:`~riskmodel.simulation.plan.base_rate_factor`) times the multiplier
    of each shock that has a potential event that year (``shock_years``: shock index -> bool per
    year). A float for a risk no shock can hit (the same every year). ``cache`` keeps the
    products of multipliers per set of shocks for the chunk.
    """
    if not p.shocks:
        return float(p.base)
    groups = cache.get(p.shocks)
    if groups is None and len(p.shocks) == 1 and p.shocks[0][1] != 1.0:
        # one shock (the examples' case): the same groups as below without a sort, the years
        # without the shock and those with it, in the order of their multipliers
        s, m = p.shocks[0]
        hit = shock_years[s]
        pairs = [(1.0, (~hit).nonzero()[0]), (float(m), hit.nonzero()[0])]
        if m < 1.0:
            pairs.reverse()
        pairs = [(v, y) for v, y in pairs if y.size]
        groups = cache[p.shocks] = (np.where(hit, m, 1.0), [v for v, _ in pairs], [y for _, y in pairs])
    if groups is None:
        mult = np.ones(n)
        for s, m in p.shocks:
            mult = mult * np.where(shock_years[s], m, 1.0)
        groups = cache[p.shocks] = (mult, *groups_by_value(mult))
    mult, values, years = groups
    return YearFactor(p.base * mult, [p.base * v for v in values], years)


def groups_by_value(mult: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """The distinct values of ``mult`` (ascending) and the indices (ascending) holding each."""
    values, group = np.unique(mult, return_inverse=True)
    order = np.argsort(group, kind="stable")
    return values.tolist(), np.split(order, np.cumsum(np.bincount(group, minlength=values.size))[:-1])


def _rate_factor(f: float | YearFactor) -> np.ndarray | float:
    """Per year, the factor of :func:`year_factor`."""
    return f if isinstance(f, float) else f.per_year


@dataclass
class RiskLosses:
    """Realised events of one risk in one chunk, after controls and shocks."""

    index: int
    trial: np.ndarray       # int64, trial within chunk
    comps: tuple[int, ...]  # component indices of the columns
    values: np.ndarray      # float64 (comps, events), pounds
    hours: np.ndarray | None  # BI downtime hours per event, if the risk has BI
    aux: np.ndarray | None
    per_trial: np.ndarray | None = None  # (comps, n) per-trial sums, filled on first use
    #: (per-trial sums by component, per-trial total, sum, sums by component), filled on first use
    sums: tuple | None = None


def realise(plan: Plan, draws: ChunkDraws, in_place: np.ndarray, cost_per_hour: float,
            memo: dict | None = None) -> list[RiskLosses]:
    """Apply control statuses (bool per plan control) and shocks to a chunk's potential events.

    With ``memo`` (a dict kept by the caller), a risk already realised in this chunk under the
    same status of the controls it depends on is reused: toggling one control recomputes only
    the risks it protects.
    """
    n = draws.n
    reduction = {}

    def factor(effects) -> np.ndarray | None:
        f = None
        for c, lo, hi in effects:
            if not in_place[c]:
                continue
            key = (c, lo, hi)
            if key not in reduction:
                reduction[key] = 1.0 - (lo + (hi - lo) * draws.control_u[c])
            f = reduction[key] if f is None else f * reduction[key]     # (never changed in place)
        return f

    occurred: dict[int, np.ndarray] = {}
    missed: dict[tuple, np.ndarray | None] = {}   # per shock and multiplier (thinned_back)

    def thinned_back(s: int, mult: float) -> np.ndarray | None:
        """Per year, 1 / mult where shock ``s`` could occur but did not, else 1 (None: 1 in every
        year); once per shock and multiplier for all its targets."""
        if (s, mult) not in missed:
            m = draws.shock_years[s] & ~occurred[s]
            missed[s, mult] = np.where(m, 1.0 / mult, 1.0) if m.any() else None
        return missed[s, mult]

    out: list[RiskLosses | None] = [None] * len(plan.risks)
    bi = COMPONENTS.index(BUSINESS_INTERRUPTION)
    for p in plan.order:
        key = None
        if memo is not None:
            key = (draws.index, p.index, cost_per_hour, tuple(bool(in_place[c]) for c in depends_on(plan, p)))
            hit = memo.get(key)        # (one lookup: another thread may clear the memo)
            if hit is not None:
                out[p.index] = hit
                if p.is_shock:
                    occurred[p.index] = np.bincount(hit.trial, minlength=n) > 0
                continue
        d = draws.risks[p.index]
        trial, amounts, aux = d.trial, d.amounts, d.aux
        if d.thin is not None:
            keep_p = factor(p.freq_controls)
            for s, mult in p.shocks:
                # thinned back by the multiplier where the shock could occur but did not (a
                # factor of one everywhere is left out: the same keep_p, the same events kept)
                back = thinned_back(s, mult)
                if back is not None:
                    keep_p = back if keep_p is None else keep_p * back
            if keep_p is not None:         # (None: every potential event kept, thin < 1)
                kept = (d.thin < keep_p.take(trial)).nonzero()[0]   # take() is ~4x faster than a mask
                trial, amounts = trial.take(kept), amounts.take(kept, axis=1)
                aux = None if aux is None else aux.take(kept, axis=1)
        values = amounts.astype(np.float64)
        hours = None
        for j, (k, *_rest) in enumerate(p.comps):
            f = factor(p.sev_controls[j])
            if f is not None:
                values[j] *= f.take(trial)
            if k == bi:
                hours = values[j].copy()
                values[j] *= cost_per_hour
        if p.is_shock:
            occurred[p.index] = np.bincount(trial, minlength=n) > 0
        out[p.index] = RiskLosses(p.index, trial, tuple(k for k, *_ in p.comps), values, hours, aux)
        if key is not None:
            memo[key] = out[p.index]
    return out  # type: ignore[return-value]


def chunks(trials: int):
    """(chunk index, first trial, trials in chunk) covering ``trials``."""
    for j, start in enumerate(range(0, trials, CHUNK)):
        yield j, start, min(CHUNK, trials - start)


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def progress(iterable, total: int, desc: str, enabled: bool | None):
    """Wrap in a tqdm bar on a terminal (or when asked)."""
    if enabled is None:
        enabled = sys.stderr.isatty() and total > 4
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="chunk", leave=False)


@dataclass
class EventStore:
    """All potential events of a run, kept so that control scenarios and policy terms can be
    re-applied to the same simulated years (the dashboard, policy comparisons)."""

    plan: Plan
    seed: int
    trials: int
    chunks: list[ChunkDraws] = field(default_factory=list)


def draw_all(register: Register, trials: int, seed: int, *, aux: bool = True,
             threads: int | None = None, show_progress: bool | None = None) -> EventStore:
    """Draw and keep every chunk of potential events (memory grows with trials).

    Raises
    ------
    InputError
        When keeping every chunk's events would exceed :data:`MEMORY_BUDGET` (the message says
        how many simulated years fit).
    """
    plan = Plan.from_register(register)
    parts = list(chunks(trials))
    per_chunk = kept_bytes_per_chunk(plan)
    budget = kept_memory_budget()
    if per_chunk * len(parts) > budget:
        from ..io.errors import InputError, Problem

        fit = max(1, int(budget // per_chunk)) * CHUNK
        raise InputError([Problem(register.path, None, None, f"{trials:,} simulated years",
                                  f"at most about {fit:,} simulated years for this register when every "
                                  f"simulated event is kept in memory (policy comparisons, the dashboard): "
                                  f"{trials:,} would need about {per_chunk * len(parts) / 2**30:,.1f} GiB; "
                                  "use fewer trials")])
    with ThreadPoolExecutor(threads or default_threads()) as pool:
        done = pool.map(lambda c: draw_chunk(plan, seed, c[0], c[1], c[2], aux=aux), parts)
        store = EventStore(plan, seed, trials, list(progress(done, len(parts), "simulating", show_progress)))
    return store
