"""The register compiled for the engine, and what a run of it will cost before it starts.

:class:`Plan` holds, for each risk, its rate, the common shocks that can hit it, its loss
components and the controls acting on them, independent of which controls are in place.
:func:`check_plan` and :func:`check_work` refuse a register whose simulation would exceed the
memory budget (``riskmodel validate`` and every simulation run them), from the estimates here
(:func:`estimated_bytes`, :func:`kept_bytes_per_chunk`). :func:`base_rate_factor` gives a shock
target's rate in years without any shock.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..inputs.components import COMPONENTS
from ..inputs.register import Register, shocks_on
from ..io.errors import ProblemLog

#: Trials per chunk: fixed, so results never depend on threads or total trials. 50,000 splits the
#: default 100,000 trials into two equal chunks, one per core (65,536 left one core idle a third
#: of the time), and is large enough that per-chunk overhead stays small.
CHUNK = 50_000

#: Cap on a risk's drawn annual event rate (events_low/events_high): the validated high value is
#: at most 1,000 a year, so only a range wide enough to be flagged ("its mean lies above its
#: high value") can reach it, in its far tail; it keeps a typing slip from exhausting memory.
MAX_DRAWN_RATE = 10_000.0


@dataclass(frozen=True)
class RiskPlan:
    """What the engine needs of one risk, independent of which controls are in place."""

    index: int
    risk_id: str
    rate: float
    rate_mu: float | None
    rate_sigma: float | None
    potential: float                      # product of multipliers of shocks that can hit it
    shocks: tuple[tuple[int, float], ...]  # (shock risk index, multiplier)
    comps: tuple[tuple[int, float, float, float], ...]  # (component index, mu, sigma, prob)
    freq_controls: tuple[tuple[int, float, float], ...]  # (control index, low, high)
    sev_controls: tuple[tuple[tuple[int, float, float], ...], ...]  # per comp
    is_shock: bool
    #: the risk's rate in years without any shock, over its register rate (1 without shocks)
    base: float = 1.0
    #: the posterior of the yearly rate given the practice's incident log
    #: (:class:`riskmodel.analysis.evidence.RatePosterior`), or None: the register's frequency as it is
    posterior: object = field(default=None, compare=False, repr=False)

    @property
    def draw_rate_factor(self) -> float:
        """The most potential events are drawn at, over the register rate: the base rate times
        the multipliers of every shock that can hit the risk. (The engine draws a year at the
        multipliers of the shocks that can occur that year only, :func:`~riskmodel.simulation.draws.year_factor`;
        the work and memory estimates use this bound.)"""
        return self.base * self.potential


@dataclass(frozen=True)
class Plan:
    """The register compiled for the engine."""

    risks: tuple[RiskPlan, ...]
    controls: tuple[str, ...]             # controls named in the register, in order
    components: tuple[str, ...] = COMPONENTS

    @classmethod
    def from_register(cls, register: Register, *, guard: bool = True) -> "Plan":
        """Compile a register. With ``guard`` (the default) a register beyond what validation
        accepts (shock multipliers hitting one risk above 20 in product, or more work than the
        memory budget) raises :class:`~riskmodel.io.errors.InputError` instead of exhausting memory:
        registers built in code or composed from two quarters are not validated by
        :func:`~riskmodel.inputs.register.load_register`."""
        controls = tuple(sorted(register.control_status))
        cidx = {c: i for i, c in enumerate(controls)}
        kidx = {c: i for i, c in enumerate(COMPONENTS)}
        hits = shocks_on(register.risks)
        posteriors = getattr(register.evidence, "posteriors", None) or {}
        plans = []
        for i, r in enumerate(register.risks):
            rate = r.frequency.rate
            post = posteriors.get(r.risk_id)
            comps, sev = [], []
            for c in r.components:
                d = c.dist
                comps.append((kidx[c.component], d.mu, d.sigma, c.prob))
                effects = []
                for name in r.controls:
                    e = register.controls[name].effect_on(c.component)
                    if e is not None:
                        effects.append((cidx[name], e.low, e.high))
                sev.append(tuple(effects))
            freq = []
            for name in r.controls:
                e = register.controls[name].effect_on("frequency")
                if e is not None:
                    freq.append((cidx[name], e.low, e.high))
            shocks = tuple(hits[i])
            plans.append(RiskPlan(
                i, r.risk_id, r.frequency.mean if post is None else post.mean,
                None if rate is None else rate.mu, None if rate is None else rate.sigma,
                float(np.prod([m for _, m in shocks])) if shocks else 1.0, shocks,
                tuple(comps), tuple(freq), tuple(sev), r.common_shock,
                base_rate_factor(register.risks, shocks, posteriors), post))
        # shock risks are realised first: their occurrence changes other risks' keep probability
        plan = cls(tuple(plans), controls)
        if guard:
            check_plan(plan, register)
        return plan

    @property
    def order(self) -> list[RiskPlan]:
        return sorted(self.risks, key=lambda p: not p.is_shock)

    def thins(self, p: RiskPlan) -> bool:
        """Whether some choice of controls keeps fewer than all of ``p``'s potential events (each
        then draws a uniform to decide): a frequency control on ``p``, or a shock that can hit it
        and has one. (A shock without a frequency control occurs in every year it has a potential
        event, the years its targets' potential events carry its multiplier.)"""
        return bool(p.freq_controls) or any(self.risks[s].freq_controls for s, _ in p.shocks)


#: Memory a run at the default trials may use for its data (bytes), checked by validation before
#: simulating; with the ~0.35 GiB the program itself takes, the largest register validation
#: accepts peaks under 2 GiB (measured with ``/usr/bin/time -v``, see registers/README.md).
MEMORY_BUDGET = 1.4 * 2**30
#: Bytes a potential event costs while its chunk is worked on: a fixed part and a part per loss
#: component (draws, realised events, the policy split). Measured: 56, 116, 171 and 359 bytes
#: for 1, 2, 3 and 10 components (with a policy, two threads).
BYTES_PER_EVENT = 60
BYTES_PER_EVENT_COMPONENT = 40
#: Chunks in flight at once (one per worker thread, two by default).
CHUNKS_IN_FLIGHT = 2
#: Bytes a potential event costs when every chunk is kept (the scenario model), fixed and per
#: loss component (see :func:`kept_bytes_per_chunk`).
KEPT_BYTES_PER_EVENT = 24
KEPT_BYTES_PER_EVENT_COMPONENT = 12
#: Trials whose per-risk totals a run keeps (engine.DETAIL_TRIALS).
_DETAIL_TRIALS = 1_000_000
#: Upper normal quantile used for a lognormal rate range (its 95th percentile, the "high").
_Z95 = 1.6448536269514722


def potential_events_per_chunk(plan: Plan) -> np.ndarray:
    """Expected potential events of each risk in one chunk of :data:`CHUNK` trials, on the high
    side: the rate (for a lognormal rate range, the larger of its mean and its high value, capped
    as the engine caps drawn rates) times the product of the shock multipliers that can hit the
    risk (events are drawn at that rate and thinned), times :data:`CHUNK`."""
    out = np.zeros(len(plan.risks))
    for i, p in enumerate(plan.risks):
        if p.posterior is not None:
            rate = max(min(p.posterior.high(0.95), MAX_DRAWN_RATE), p.rate)
        elif p.rate_sigma is None:
            rate = p.rate
        else:
            high = min(float(np.exp(p.rate_mu + _Z95 * p.rate_sigma)), MAX_DRAWN_RATE)
            rate = max(high, capped_lognormal_mean(p.rate_mu, p.rate_sigma, MAX_DRAWN_RATE))
        out[i] = rate * p.draw_rate_factor * CHUNK
    return out


def check_plan(plan: Plan, register: Register) -> None:
    """Raise :class:`~riskmodel.io.errors.InputError` for a plan beyond the limits validation
    enforces (see :func:`check_work`)."""
    from ..io.errors import InputError, Problem
    from ..inputs.register import MAX_SHOCK_PRODUCT

    for p in plan.risks:
        if p.potential > MAX_SHOCK_PRODUCT * (1 + 1e-9):
            r = register.risks[p.index]
            raise InputError([Problem(register.path, r.row, "shock_multiplier", f"{p.potential:g}",
                                      f"at most {MAX_SHOCK_PRODUCT:g} for the shock multipliers that can hit "
                                      f"one risk multiplied together ({r.risk_id}); lower the multipliers or "
                                      "narrow their shock_targets")])
    check_work(register, plan=plan)


def check_work(register: "Register", log: ProblemLog | None = None, *, plan=None) -> None:
    """Refuse a register whose simulation would exceed the memory budget at the default trials.

    ``riskmodel validate`` and every simulation (:func:`check_plan`) run it.

    The estimate (:func:`estimated_bytes`) counts the potential events a
    chunk of simulated years draws (rates times the shock multipliers that can hit each risk);
    the message names the risks that drive it. Logs to ``log``, or raises :class:`InputError`.
    """
    if plan is None:
        plan = Plan.from_register(register, guard=False)
    total, by_events, fixed = estimated_bytes(plan)
    if total <= MEMORY_BUDGET:
        return
    own = log or ProblemLog(register.path)
    need = f"this register would need about {total / 2**30:,.1f} GiB of memory to simulate (at most " \
           f"{MEMORY_BUDGET / 2**30:,.1f} GiB)"
    if by_events.sum() >= fixed.sum():
        events = potential_events_per_chunk(plan)
        top = [int(i) for i in np.argsort(-by_events, kind="stable")[:5] if by_events[i] > 0]
        names = ", ".join(f"{register.risks[i].risk_id} (row {register.risks[i].row}: "
                          f"{events[i] / CHUNK:,.4g})" for i in top)
        risk = register.risks[top[0]]
        own.error(risk.row, "events_per_year", None,
                  f"{need}: it asks for about {events.sum() / CHUNK:,.0f} potential events a simulated year "
                  f"(at the high end of each rate range, times the common-shock multipliers that can hit "
                  f"each risk). The largest: {names}. Lower their events_per_year (or events_high), or the "
                  "shock multipliers and shock_targets that hit them, or split the register")
    else:
        comps = sum(len(r.components) for r in register.risks)
        own.error(None, None, None,
                  f"{need}: its {len(register.risks):,} risks with {comps:,} loss components in all each keep "
                  "a figure per simulated year; merge similar risks, drop loss components that do not "
                  "matter, or split the register")
    if log is None:
        own.raise_if_errors()


def capped_lognormal_mean(mu: float, sigma: float, cap: float) -> float:
    """``E[min(X, cap)]`` for ``X`` lognormal(mu, sigma): the mean rate the engine draws."""
    def phi(z: float) -> float:
        return 0.5 * math.erfc(-z / math.sqrt(2.0))

    if sigma <= 0:
        return min(math.exp(mu), cap)
    z = (math.log(cap) - mu) / sigma
    below = math.exp(min(mu + 0.5 * sigma * sigma, 700.0)) * phi(z - sigma)
    return below + cap * (1.0 - phi(z))


def kept_memory_budget() -> float:
    """Bytes the events of a scenario model may take: half of this machine's memory, and never
    less than :data:`MEMORY_BUDGET` (what any register accepted by validation needs at the
    default trials). More trials than fit are refused with a message, not a MemoryError."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 0
    return max(MEMORY_BUDGET, 0.5 * float(total))


def kept_bytes_per_chunk(plan: Plan) -> float:
    """Bytes one chunk of trials holds when its events are kept (a scenario model): the potential
    events with their draws, a realised control scenario and its contract split. Measured on
    Meadowbank 2026Q4 (200,000 and 1,000,000 years, a policy priced): about 84 MB a chunk,
    against 89 MB estimated with :data:`KEPT_BYTES_PER_EVENT` and per component."""
    events = potential_events_per_chunk(plan)
    comps = np.array([len(p.comps) for p in plan.risks], dtype=float)
    return float((events * (KEPT_BYTES_PER_EVENT + KEPT_BYTES_PER_EVENT_COMPONENT * comps)).sum()
                 + 8.0 * CHUNK * (comps.sum() + len(plan.risks)))


def expected_events_per_chunk(plan: Plan) -> float:
    """Expected potential events in one chunk of trials, summed over risks (high side)."""
    return float(potential_events_per_chunk(plan).sum())


def estimated_bytes(plan: Plan, trials: int = 100_000) -> tuple[float, np.ndarray, np.ndarray]:
    """A run's estimated memory for its data in bytes, and each risk's share in events and in
    fixed arrays.

    Each chunk in flight holds its potential events (:data:`BYTES_PER_EVENT` plus
    :data:`BYTES_PER_EVENT_COMPONENT` per loss component of the risk) and a float64 per trial and
    loss component of each risk; the result keeps a float64 per risk and simulated year.
    """
    in_flight = min(CHUNKS_IN_FLIGHT, max(1, -(-trials // CHUNK)))
    n = min(trials, CHUNK)
    events = potential_events_per_chunk(plan)
    comps = np.array([len(p.comps) for p in plan.risks], dtype=float)
    by_events = events * (BYTES_PER_EVENT + BYTES_PER_EVENT_COMPONENT * comps) * in_flight
    fixed = 8.0 * min(trials, _DETAIL_TRIALS) + 8.0 * n * comps * in_flight
    common = 8.0 * trials * (len(COMPONENTS) + 8)
    return float(by_events.sum() + fixed.sum() + common), by_events, fixed


def base_rate_factor(risks, shocks, posteriors=None) -> float:
    """A target's rate in years without any shock, over its register rate.

    The register's rate is what people estimate: the long-run average. A ``concentrate`` shock
    (the default) with multiplier ``M`` that occurs in a year with probability ``P`` (at least
    one event at its register frequency) leaves that average unchanged: the rate without shocks
    is ``r / (1 + (M - 1) P)``, so ``E[rate] = r``. Independent shocks multiply. An ``add`` shock
    leaves the rate of years without it at ``r`` (the average rises by ``(M - 1) P r``).
    With the practice's incident log (``posteriors``, by risk id) ``P`` is the shock's chance
    under its posterior rate.
    """
    factor = 1.0
    for s, mult in shocks:
        shock = risks[s]
        if shock.shock_effect == "concentrate":
            post = (posteriors or {}).get(shock.risk_id)
            prob = shock.frequency.prob_at_least_one() if post is None else post.prob_at_least_one()
            factor /= 1.0 + (mult - 1.0) * prob
    return factor


def depends_on(plan: Plan, p: RiskPlan) -> tuple[int, ...]:
    """Controls whose status can change a risk's realised events (its own, and through the
    common shocks that can hit it, the shock risks' frequency controls)."""
    out = {c for c, *_ in p.freq_controls}
    out.update(c for effects in p.sev_controls for c, *_ in effects)
    for s, _ in p.shocks:
        out.update(c for c, *_ in plan.risks[s].freq_controls)
    return tuple(sorted(out))


def status_vector(plan: Plan, register: Register, status: dict[str, bool] | None = None) -> np.ndarray:
    """Bool per plan control: in place under ``status`` (defaults to the register's)."""
    merged = {**register.control_status, **(status or {})}
    return np.array([bool(merged.get(c, False)) for c in plan.controls], dtype=bool)
