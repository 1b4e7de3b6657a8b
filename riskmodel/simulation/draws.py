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
"""
from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..inputs.components import BUSINESS_INTERRUPTION, COMPONENTS
from ..inputs.register import Register, shocks_on
from ..io.errors import ProblemLog
from .streams import AUX, COMPONENT_BASE, CONTROL, EVENTS, RISK, WARRANTY, YEAR, stream

#: Trials per chunk: fixed, so results never depend on threads or total trials. 50,000 splits the
#: default 100,000 trials into two equal chunks, one per core (65,536 left one core idle a third
#: of the time), and is large enough that per-chunk overhead stays small.
CHUNK = 50_000

#: Cap on a risk's drawn annual event rate (events_low/events_high): the validated high value is
#: at most 1,000 a year, so only a range wide enough to be flagged ("its mean lies above its
#: high value") can reach it, in its far tail; it keeps a typing slip from exhausting memory.
MAX_DRAWN_RATE = 10_000.0
#: Purpose of a risk's stream of uniforms for its yearly rate drawn from a gamma posterior (a
#: point ``events_per_year`` updated by the incident log): a new stream, so every other draw of
#: the register keeps its numbers.
POSTERIOR = 2


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
        """Potential events are drawn at the register rate times this: the base rate times
        the multipliers of every shock that can hit the risk (thinned back in years without)."""
        return self.base * self.potential

    @property
    def thins(self) -> bool:
        return bool(self.freq_controls) or self.potential > 1.0


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


def draw_chunk(plan: Plan, seed: int, chunk: int, start: int, n: int, *, aux: bool) -> ChunkDraws:
    """Draw one chunk's potential events for every risk and the controls' yearly effects."""
    control_u = np.empty((len(plan.controls), n))
    for c, name in enumerate(plan.controls):
        control_u[c] = stream(seed, CONTROL, name, chunk).random(n)
    draws = []
    for p in plan.risks:
        g = stream(seed, RISK, p.risk_id, chunk, EVENTS)
        if p.posterior is not None:
            # the rate of each simulated year from the posterior, by inverse CDF: a lognormal
            # prior's own normal draws (the same stream as without a log), a gamma prior's
            # uniforms from a new stream
            if p.rate_sigma is not None:
                lam = p.posterior.from_normal(g.standard_normal(n))
            else:
                lam = p.posterior.quantile(stream(seed, RISK, p.risk_id, chunk, POSTERIOR).random(n))
            lam = np.minimum(lam, MAX_DRAWN_RATE) * p.draw_rate_factor
            counts = g.poisson(lam)
            trial = np.repeat(np.arange(n, dtype=np.int64), counts)
        elif p.rate_sigma is not None:
            lam = np.minimum(np.exp(p.rate_mu + p.rate_sigma * g.standard_normal(n)), MAX_DRAWN_RATE) * p.draw_rate_factor
            counts = g.poisson(lam)
            trial = np.repeat(np.arange(n, dtype=np.int64), counts)
        else:
            total = g.poisson(p.rate * p.draw_rate_factor * n)
            trial = g.integers(0, n, total, dtype=np.int64)
        m = trial.size
        thin = g.random(m, dtype=np.float32) if p.thins else None
        amounts = np.empty((len(p.comps), m), dtype=np.float32)
        for j, (k, mu, sigma, prob) in enumerate(p.comps):
            gk = stream(seed, RISK, p.risk_id, chunk, COMPONENT_BASE + k)
            col = amounts[j]
            gk.standard_normal(m, dtype=np.float32, out=col)
            col *= np.float32(sigma)
            col += np.float32(mu)
            np.exp(col, out=col)
            if prob < 1.0:
                col *= gk.random(m, dtype=np.float32) < prob
        extra = stream(seed, RISK, p.risk_id, chunk, AUX).random((2, m), dtype=np.float32) if aux else None
        draws.append(RiskDraws(trial, thin, amounts, extra))
    deny = stream(seed, YEAR, WARRANTY, chunk).random(n, dtype=np.float32) if aux else None
    return ChunkDraws(chunk, start, n, control_u, draws, deny)


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


def depends_on(plan: Plan, p: RiskPlan) -> tuple[int, ...]:
    """Controls whose status can change a risk's realised events (its own, and through the
    common shocks that can hit it, the shock risks' frequency controls)."""
    out = {c for c, *_ in p.freq_controls}
    out.update(c for effects in p.sev_controls for c, *_ in effects)
    for s, _ in p.shocks:
        out.update(c for c, *_ in plan.risks[s].freq_controls)
    return tuple(sorted(out))


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
            f = reduction[key].copy() if f is None else f * reduction[key]
        return f

    occurred: dict[int, np.ndarray] = {}
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
        if p.thins:
            keep_p = factor(p.freq_controls)
            if keep_p is None:
                keep_p = np.ones(n)
            for s, mult in p.shocks:
                keep_p = keep_p * np.where(occurred[s], 1.0, 1.0 / mult)
            kept = np.flatnonzero(d.thin < keep_p[trial])    # take() is ~4x faster than a mask
            trial, amounts = trial.take(kept), amounts.take(kept, axis=1)
            aux = None if aux is None else aux.take(kept, axis=1)
        values = amounts.astype(np.float64)
        hours = None
        for j, (k, *_rest) in enumerate(p.comps):
            f = factor(p.sev_controls[j])
            if f is not None:
                values[j] *= f[trial]
            if k == bi:
                hours = values[j].copy()
                values[j] *= cost_per_hour
        if p.is_shock:
            occurred[p.index] = np.bincount(trial, minlength=n) > 0
        out[p.index] = RiskLosses(p.index, trial, tuple(k for k, *_ in p.comps), values, hours, aux)
        if key is not None:
            memo[key] = out[p.index]
    return out  # type: ignore[return-value]


def _per_trial(rl: RiskLosses, n: int) -> np.ndarray:
    """(comps, n) per-trial sums of a risk's events (no copy for a single component)."""
    # (bincount gives integers for a risk without events: always float64 here)
    if len(rl.values) == 1:
        return np.bincount(rl.trial, weights=rl.values[0], minlength=n).astype(np.float64, copy=False)[None, :]
    return np.array([np.bincount(rl.trial, weights=v, minlength=n) for v in rl.values], dtype=np.float64)


def _sums(rl: RiskLosses, n: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """A risk's per-trial sums by component (comps, n), its per-trial total (n,), its sum and its
    sums by component (kept with its events, so a risk realised under the same controls is never
    summed twice)."""
    if rl.sums is None:
        if rl.per_trial is None:
            rl.per_trial = _per_trial(rl, n)
        pt = rl.per_trial
        csums = pt.sum(axis=1)
        rl.sums = (pt, pt[0] if len(pt) == 1 else pt.sum(axis=0), csums.sum(), csums)
    return rl.sums


def accumulate(losses: list[RiskLosses], n: int, total: np.ndarray | None, by_risk: np.ndarray | None = None,
               by_comp: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Add a chunk's per-trial totals into preallocated views: ``total`` (n,), if given, gets the
    yearly loss, ``by_risk`` rows (risks, m) and ``by_comp`` rows (K, m), if given, the first ``m``
    trials. Returns the sums over the chunk's trials by risk and by component.

    Risks are summed by component first (in risk order), then the components into ``total`` (in
    component order): the engine and the scenario model get the same sums to the last bit, and a
    register whose risks share a few components needs few passes over the trials.
    """
    risk_sum = np.zeros(len(losses))
    comp_sum = np.zeros(len(COMPONENTS))
    comp_rows: dict[int, np.ndarray] = {}
    for rl in losses:
        pt, row, rsum, csums = _sums(rl, n)
        if by_risk is not None:
            by_risk[rl.index] = row[:by_risk.shape[1]]
        risk_sum[rl.index] = rsum
        for j, k in enumerate(rl.comps):
            comp_sum[k] += csums[j]
            if k in comp_rows:
                comp_rows[k] += pt[j]
            else:
                comp_rows[k] = pt[j].copy()
    for k in sorted(comp_rows):
        if total is not None:
            total += comp_rows[k]
        if by_comp is not None:
            by_comp[k] += comp_rows[k][:by_comp.shape[1]]
    return risk_sum, comp_sum


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


def status_vector(plan: Plan, register: Register, status: dict[str, bool] | None = None) -> np.ndarray:
    """Bool per plan control: in place under ``status`` (defaults to the register's)."""
    merged = {**register.control_status, **(status or {})}
    return np.array([bool(merged.get(c, False)) for c in plan.controls], dtype=bool)
