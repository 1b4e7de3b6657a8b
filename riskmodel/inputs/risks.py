"""The register's data: loss components, frequencies, risks and the validated register, with the
common shocks that can hit each risk and a risk's closed-form expected annual loss.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..io.errors import Problem
from .components import BUSINESS_INTERRUPTION, CATEGORIES
from .controls import Control, Scales
from .distributions import LogNormal
from .practice import Practice


@dataclass(frozen=True)
class ComponentRange:
    """A per-event loss component: a lognormal with 90% range ``low``-``high`` occurring with
    probability ``prob`` in an event. For business interruption the range is in hours."""

    component: str
    low: float
    high: float
    prob: float = 1.0

    @property
    def dist(self) -> LogNormal:
        return LogNormal.from_range(self.low, self.high)

    def mean(self) -> float:
        return self.prob * self.dist.mean()


@dataclass(frozen=True)
class Frequency:
    """Annual event count: Poisson with mean ``mean`` or, when ``low``/``high`` are given, a
    Poisson whose rate is lognormal with that 90% range (a Poisson-lognormal mixture)."""

    mean: float
    low: float | None = None
    high: float | None = None
    basis: str = "events_per_year"

    @property
    def rate(self) -> LogNormal | None:
        if self.low is None or self.high is None:
            return None
        return LogNormal.from_range(self.low, self.high)

    @classmethod
    def from_range(cls, low: float, high: float, basis: str) -> "Frequency":
        return cls(LogNormal.from_range(low, high).mean(), low, high, basis)

    def prob_at_least_one(self) -> float:
        """Chance of at least one event in a year: ``1 - exp(-m)`` for a Poisson count; for the
        Poisson-lognormal mixture ``1 - E[exp(-rate)]``, by Gauss-Hermite quadrature (80 nodes,
        exact to ~1e-12 for the validated ranges)."""
        rate = self.rate
        if rate is None:
            return float(-np.expm1(-self.mean))
        x, w = np.polynomial.hermite_e.hermegauss(80)
        lam = np.exp(rate.mu + rate.sigma * x)
        return float(1.0 - np.dot(w, np.exp(-lam)) / np.sqrt(2.0 * np.pi))

    def variance(self) -> float:
        """Variance of the annual count: ``m + m**2 * (exp(sigma**2) - 1)`` for the mixture."""
        rate = self.rate
        if rate is None:
            return self.mean
        return self.mean + rate.var()


@dataclass(frozen=True)
class Risk:
    """One row of the register."""

    risk_id: str
    title: str
    category: str
    system_owner: str
    frequency: Frequency
    components: tuple[ComponentRange, ...]
    controls: tuple[str, ...] = ()
    common_shock: bool = False
    shock_multiplier: float = 1.0
    shock_targets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    row: int | None = None
    #: ``concentrate`` (default): the targets' register rates stay their long-run averages and the
    #: shock gathers their events into shock years; ``add``: the register rates are those of years
    #: without the shock, and a shock year adds events on top (the long-run average rises).
    shock_effect: str = "concentrate"

    def component(self, name: str) -> ComponentRange | None:
        for c in self.components:
            if c.component == name:
                return c
        return None


@dataclass(frozen=True)
class Register:
    """A validated register with its practice, controls library and control statuses.

    ``control_status`` maps every control named in the register to ``True`` (in place) or
    ``False`` (planned). Controls in the library but not named are absent (not in place).
    """

    path: str
    practice: Practice
    risks: tuple[Risk, ...]
    controls: dict[str, Control]
    control_status: dict[str, bool]
    warnings: tuple[Problem, ...] = ()
    sha256: str = ""
    scales: Scales | None = field(default=None, repr=False, compare=False)
    #: what the practice's incident log says (:class:`riskmodel.analysis.evidence.Evidence`): with it the
    #: engine draws each risk's yearly rate from its posterior; ``None`` (no log) leaves the
    #: register's frequencies as they are
    evidence: Any = field(default=None, repr=False, compare=False)

    @property
    def risk_ids(self) -> list[str]:
        return [r.risk_id for r in self.risks]

    def in_place(self, control: str) -> bool:
        return self.control_status.get(control, False)

    def with_control_status(self, **status: bool) -> "Register":
        """A copy with some controls switched between in place (True) and planned (False)."""
        unknown = [c for c in status if c not in self.control_status]
        if unknown:
            raise KeyError(f"controls not named in the register: {', '.join(unknown)}")
        return replace(self, control_status={**self.control_status, **status})

    def to_frame(self):
        """The register as a table (one row per risk) for display."""
        import pandas as pd

        rows = []
        for r in self.risks:
            rows.append({
                "risk_id": r.risk_id, "title": r.title, "category": CATEGORIES[r.category],
                "system_owner": r.system_owner, "events_per_year": r.frequency.mean,
                "controls": ", ".join(c + ("" if self.in_place(c) else " (planned)") for c in r.controls),
                **dict(r.details),
            })
        return pd.DataFrame(rows)


def shocks_on(risks) -> dict[int, list[tuple[int, float]]]:
    """For each risk (by index), the common shocks that can hit it: (shock index, multiplier).

    A shock hits its ``shock_targets``, or every risk that is not itself a common shock; a shock
    never hits itself or another shock, and a multiplier of 1 hits nothing."""
    index = {r.risk_id: i for i, r in enumerate(risks)}
    out: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(risks))}
    for s in risks:
        if not s.common_shock or s.shock_multiplier <= 1.0:
            continue
        targets = s.shock_targets or tuple(r.risk_id for r in risks if not r.common_shock)
        for t in targets:
            j = index[t]
            if j != index[s.risk_id] and not risks[j].common_shock:
                out[j].append((index[s.risk_id], s.shock_multiplier))
    return out


def expected_annual_loss(register: Register, risk: Risk) -> float:
    """Closed-form expected annual loss of one risk with no controls applied (for checks)."""
    rate = register.practice.interruption_cost_per_hour
    per_event = sum(c.mean() * (rate if c.component == BUSINESS_INTERRUPTION else 1.0)
                    for c in risk.components)
    return float(risk.frequency.mean * per_event)
