"""Each practice of a book compiled once for the engine: its plan, control statuses and terms.

A plan (:class:`riskmodel.simulation.draws.Plan`) costs tens of milliseconds to compile (each
common shock's chance of a year is a quadrature), the simulation of a practice's year chunk about
as much: so practices whose registers differ only in their loss ranges (the synthetic book's
practices are three templates resized) share one compiled plan, with their own ranges put in.
Terms are compiled once per (register structure, contracts, policy) and given each practice's
cost of an hour of interruption.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from operator import attrgetter

import numpy as np

from ...coverage.allocation import Terms
from ...inputs.contracts import Contracts, load_contracts
from ...inputs.distributions import Z95
from ...inputs.register import Frequency, Register, Risk
from ...simulation.draws import Plan, status_vector
from .keys import SHARED_CATEGORY, SHARED_OWNER, practice_seed


@dataclass(frozen=True)
class PracticeJob:
    """What a worker needs to simulate one practice of a book.

    ``terms`` has one row per register risk, then one per shared event of the book (in the
    book's order); ``exposures`` are the indices of the shared events that can hit the practice.
    """

    index: int
    name: str
    seed: int
    plan: Plan
    in_place: np.ndarray
    cost_per_hour: float
    terms: Terms | None
    exposures: tuple[int, ...]

    @property
    def n_risks(self) -> int:
        return len(self.plan.risks)


def _structure(register: Register) -> tuple:
    """What a plan depends on, except the loss components' ranges (a key: each risk's fields but
    its components, which count by name and probability)."""
    risks = tuple(_risk_fields(r) + tuple(map(_component_key, r.components)) for r in register.risks)
    return (risks, tuple(sorted(register.control_status.items())), id(register.controls),
            id(register.evidence))


_RISK_FIELDS = tuple(f.name for f in fields(Risk) if f.name != "components")
_risk_fields = attrgetter(*_RISK_FIELDS)
_component_key = attrgetter("component", "prob")


def _with_ranges(plan: Plan, register: Register) -> Plan:
    """``plan`` (compiled from a register of the same structure) with ``register``'s component
    ranges: ``(component index, mu, sigma, prob)`` as :meth:`Plan.from_register` builds them."""
    rows = [register.risks[p.index].components for p in plan.risks]
    flat = [c for cs in rows for c in cs]
    low = np.array([c.low for c in flat], dtype=np.float64)
    high = np.array([c.high for c in flat], dtype=np.float64)
    prob = [c.prob for c in flat]
    if not ((low > 0) & (low <= high)).all():
        raise ValueError(f"{register.path}: a component's range needs 0 < low <= high")
    # LogNormal.from_range for every component at once: the same numpy operations, element by
    # element, so the same values to the last bit (each call took a few microseconds)
    log_low, log_high = np.log(low), np.log(high)
    mu = (0.5 * (log_low + log_high)).tolist()
    sigma = ((log_high - log_low) / (2.0 * Z95)).tolist()
    risks, i = [], 0
    for p in plan.risks:
        m = len(p.comps)
        comps = tuple(zip([c[0] for c in p.comps], mu[i:i + m], sigma[i:i + m], prob[i:i + m]))
        i += m
        risks.append(_with(p, comps=comps))
    return _with(plan, risks=tuple(risks))


def _with(obj, **changes):
    """A copy of the frozen dataclass ``obj`` with ``changes`` (fields that need no checking):
    what :func:`dataclasses.replace` gives, without calling ``__init__`` again (six times faster;
    a book compiles thousands of practices' plans). What ``obj`` keeps in its ``__dict__`` beyond
    its fields is copied too: a plan's stream layout (its risks' names and components), which
    :func:`_with_ranges` leaves unchanged."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


def shared_rows(events) -> tuple[Risk, ...]:
    """A register row per shared event, for :meth:`Terms.compile` only: the contract owner
    :data:`~.keys.SHARED_OWNER`, the category :data:`~.keys.SHARED_CATEGORY`, no tags (no war
    exclusion)."""
    return tuple(Risk(f"shared:{e.name}", e.description or e.name, SHARED_CATEGORY, SHARED_OWNER,
                      Frequency(float(e.frequency)), ()) for e in events)


class Compiler:
    """Compiles practices, sharing plans and terms between practices of the same structure."""

    def __init__(self, events, seed: int):
        self.events = tuple(events)
        self.seed = int(seed)
        self.rows = shared_rows(self.events)
        self._plans: dict = {}
        self._terms: dict = {}
        self._default_contracts: Contracts | None = None

    def plan(self, register: Register) -> tuple[Plan, tuple]:
        key = _structure(register)
        base = self._plans.get(key)
        if base is None:
            base = self._plans[key] = (register, Plan.from_register(register))
        reg0, plan = base
        return (plan if reg0 is register else _with_ranges(plan, register)), key

    def terms(self, key: tuple, register: Register, contracts, policy) -> Terms | None:
        if contracts is None and policy is None:
            return None                      # as simulate: no terms, the practice keeps everything
        if contracts is None:
            if self._default_contracts is None:
                self._default_contracts = load_contracts()
            contracts = self._default_contracts
        tkey = (key, id(contracts), id(policy))
        if tkey not in self._terms:
            aug = replace(register, risks=register.risks + self.rows)
            self._terms[tkey] = (contracts, policy, Terms.compile(aug, contracts, policy, register.control_status))
        terms = self._terms[tkey][2]
        return replace(terms, cost_per_hour=register.practice.interruption_cost_per_hour)

    def job(self, index: int, practice, exposures: tuple[int, ...]) -> PracticeJob:
        reg = practice.register
        plan, key = self.plan(reg)
        return PracticeJob(index, practice.name, practice_seed(self.seed, practice.name), plan,
                           status_vector(plan, reg), float(reg.practice.interruption_cost_per_hour),
                           self.terms(key, reg, practice.contracts, practice.policy), exposures)


def compile_book(portfolio, seed: int) -> list[PracticeJob]:
    """Every practice of ``portfolio`` compiled (:class:`PracticeJob`), in book order."""
    compiler = Compiler(portfolio.events, seed)
    exposed: list[list[int]] = [[] for _ in portfolio.practices]
    for e, event in enumerate(portfolio.events):
        for i in portfolio.practices_of(event):
            exposed[i].append(e)
    return [compiler.job(i, p, tuple(exposed[i])) for i, p in enumerate(portfolio.practices)]


__all__ = ["PracticeJob", "Compiler", "compile_book", "shared_rows"]
