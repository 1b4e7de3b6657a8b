"""Frequencies that learn from the practice's own incidents, cost checks, and the 72-hour clock.

Documented for users in ``docs/model.md`` ("Learning from the practice's own incidents").

* **Prior.** The register's frequency for a risk is the prior for its annual rate ``lambda``:
  a point ``events_per_year`` ``m`` is a gamma prior with mean ``m`` and shape
  :data:`GAMMA_PRIOR_SHAPE` (rate ``b0 = shape / m``: "as if the practice had already seen
  ``shape`` events in ``b0`` years"); a 90% range (``events_low``/``events_high`` or a likelihood)
  is its lognormal.
* **Evidence.** The log's incidents (``kind = incident``) of the risk over the log's coverage of
  ``T`` years are Poisson evidence: likelihood proportional to ``lambda**k exp(-lambda T)``.
* **Posterior.** Exact: conjugate for the gamma prior (``Gamma(shape + k, b0 + T)``); on a fine
  grid in ``log lambda`` for the lognormal prior (the log-posterior is concave: the grid spans 12
  prior standard deviations either side of its mode, with at least 100 points per posterior
  standard deviation).
* **Weight of evidence.** The share of the posterior mean that comes from the data:
  ``(posterior_mean - prior_mean) / (k/T - prior_mean)`` clipped to [0, 1]; for the gamma prior
  this is exactly ``T / (b0 + T)``. When ``k/T`` equals the prior mean (the data agree with it)
  the ratio is undefined: the weight of a gamma prior with the same mean and variance is given,
  ``T / (m / v + T)``.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import special, stats

from ..inputs.components import BUSINESS_INTERRUPTION
from ..inputs.incidents import IncidentLog, parse_when

#: Shape of the gamma prior put on a point ``events_per_year``: the prior is worth two events of
#: the practice's own experience. Its 90% range is 0.18 to 2.37 times the register's figure,
#: wider than a likelihood band of the register's scale (3 to 5 times from low to high), as a
#: single figure written without a range deserves; and a practice's own years count: at 1.5
#: events a year, two years of log carry 60% of the weight, at 0.3 a year 23%.
GAMMA_PRIOR_SHAPE = 2.0
#: Width of the lognormal posterior's grid either side of its mode, in prior standard deviations
#: of ``log lambda`` (the density there is below ``exp(-72)`` of its peak: the log-posterior's
#: curvature is at least the prior's).
GRID_HALF_WIDTH = 12.0
#: Chance outside a register's 90% range.
OUTSIDE = 0.1
#: A cost check flags a risk when so many costs fall outside its ranges that the chance of as
#: many or more under Binomial(n, 0.1) is below this.
COST_FLAG_P = 0.05
#: Hours the ICO allows from discovery to report (UK GDPR Art. 33).
ICO_HOURS = 72.0
YEAR_SECONDS = 365.25 * 86400.0


@dataclass(frozen=True)
class RatePosterior:
    """The posterior of one risk's annual rate, and how the engine draws from it."""

    kind: str                    # "gamma" or "lognormal"
    prior_mean: float
    events: int
    exposure: float              # years
    shape: float = 0.0           # gamma posterior shape and rate
    rate: float = 0.0
    grid: np.ndarray | None = field(default=None, repr=False)   # log lambda
    cdf: np.ndarray | None = field(default=None, repr=False)
    sf: np.ndarray | None = field(default=None, repr=False)
    dens: np.ndarray | None = field(default=None, repr=False)   # normalised density in log lambda
    prior_var: float = 0.0

    @property
    def mean(self) -> float:
        if self.kind == "gamma":
            return self.shape / self.rate
        return float(_trapz(np.exp(self.grid) * self.dens, self.grid))

    def quantile(self, p) -> np.ndarray:
        """The rate at probability ``p`` (array)."""
        p = np.asarray(p, dtype=float)
        if self.kind == "gamma":
            return special.gammaincinv(self.shape, p) / self.rate
        return np.exp(np.interp(p, self.cdf, self.grid))

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """The rate at the probability of standard normal draws ``z`` (the lognormal prior's
        stream): ``quantile(Phi(z))``, read from the upper tail for ``z > 0`` so no precision is
        lost near 1."""
        z = np.asarray(z, dtype=float)
        if self.kind == "gamma":
            return np.where(z <= 0, special.gammaincinv(self.shape, special.ndtr(z)),
                            special.gammainccinv(self.shape, special.ndtr(-z))) / self.rate
        lower = np.interp(special.ndtr(z), self.cdf, self.grid)
        upper = np.interp(special.ndtr(-z), self.sf[::-1], self.grid[::-1])
        return np.exp(np.where(z <= 0, lower, upper))

    def prob_at_least_one(self) -> float:
        """``1 - E[exp(-lambda)]`` under the posterior."""
        if self.kind == "gamma":
            return float(-np.expm1(self.shape * math.log(self.rate / (self.rate + 1.0))))
        return float(1.0 - _trapz(np.exp(-np.exp(self.grid)) * self.dens, self.grid))

    def high(self, q: float = 0.95) -> float:
        return float(self.quantile(q))

    @property
    def weight_of_evidence(self) -> float:
        return weight_of_evidence(self.prior_mean, self.mean, self.events, self.exposure,
                                  self.prior_var)


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def weight_of_evidence(prior_mean: float, posterior_mean: float, k: int, T: float, prior_var: float) -> float:
    """Share of the posterior mean that comes from the data (module docstring)."""
    if T <= 0:
        return 0.0
    observed = k / T
    if abs(observed - prior_mean) <= 1e-9 * max(prior_mean, 1e-12):
        b = prior_mean / prior_var if prior_var > 0 else math.inf
        return 0.0 if math.isinf(b) else T / (b + T)
    return float(min(1.0, max(0.0, (posterior_mean - prior_mean) / (observed - prior_mean))))


def gamma_posterior(mean: float, k: int, T: float, shape: float = GAMMA_PRIOR_SHAPE) -> RatePosterior:
    """Conjugate update of the gamma prior with mean ``mean`` and shape ``shape``."""
    b0 = shape / mean
    return RatePosterior("gamma", mean, int(k), float(T), shape + k, b0 + T, prior_var=mean / b0)


def lognormal_posterior(mu: float, sigma: float, k: int, T: float) -> RatePosterior:
    """Posterior of a lognormal(mu, sigma) rate after ``k`` events in ``T`` years, on a grid."""
    def grad(u):
        return -(u - mu) / sigma ** 2 + k - T * math.exp(u)

    lo, hi = mu - sigma, mu + sigma
    while grad(lo) < 0:
        lo -= 4 * sigma
    while grad(hi) > 0:
        hi += 4 * sigma
    for _ in range(200):                      # bisection: grad is decreasing (concave log-posterior)
        mid = 0.5 * (lo + hi)
        if grad(mid) > 0:
            lo = mid
        else:
            hi = mid
    mode = 0.5 * (lo + hi)
    s = 1.0 / math.sqrt(1.0 / sigma ** 2 + T * math.exp(mode))
    n = int(min(400_001, max(20_001, math.ceil(2 * GRID_HALF_WIDTH * sigma / (s / 100.0)))))
    u = np.linspace(mode - GRID_HALF_WIDTH * sigma, mode + GRID_HALF_WIDTH * sigma, n)
    logp = -(u - mu) ** 2 / (2 * sigma ** 2) + k * (u - mode) - T * (np.exp(u) - math.exp(mode))
    dens = np.exp(logp - logp.max())
    dens /= _trapz(dens, u)
    steps = (dens[1:] + dens[:-1]) * np.diff(u) / 2.0
    cdf = np.concatenate([[0.0], np.cumsum(steps)])
    sf = np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])
    total = cdf[-1]
    prior_mean = math.exp(mu + sigma ** 2 / 2)
    prior_var = prior_mean ** 2 * math.expm1(sigma ** 2)
    return RatePosterior("lognormal", prior_mean, int(k), float(T), grid=u, cdf=cdf / total, sf=sf / total,
                         dens=dens, prior_var=prior_var)


# ------------------------------------------------------------------------------------------------
# coverage of the log

def quarter_start(when: dt.datetime) -> dt.datetime:
    return dt.datetime(when.year, 3 * ((when.month - 1) // 3) + 1, 1)


def next_quarter(start: dt.datetime) -> dt.datetime:
    return dt.datetime(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)


def quarter_name(start: dt.datetime) -> str:
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"


def register_quarter_end(register_path: str | Path) -> dt.datetime | None:
    """End of the quarter a register is named for (``2026Q4.csv`` -> 2027-01-01 00:00)."""
    import re

    m = re.fullmatch(r"(\d{4})[Qq]([1-4])", Path(register_path).stem)
    if not m:
        return None
    return next_quarter(dt.datetime(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1))


def practice_log_start(practice_source: str) -> dt.datetime | None:
    """``log_start`` from the practice's ``practice.toml``, if it sets one."""
    path = Path(practice_source) if practice_source and practice_source != "defaults" else None
    if path is None or not path.is_file():
        return None
    import tomllib

    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except (tomllib.TOMLDecodeError, OSError):
        return None
    value = data.get("log_start")
    if value is None:
        return None
    from ..io.errors import InputError, Problem

    try:
        return parse_when(value)
    except ValueError as exc:
        raise InputError([Problem(str(path), None, "log_start", value, str(exc))]) from None


# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """What the log says, ready for the engine (``posteriors``) and for the JSON results."""

    log_path: str
    start: dt.datetime
    end: dt.datetime
    exposure_years: float
    posteriors: dict = field(repr=False)          # risk_id -> RatePosterior (empty if no coverage)
    frequency_update: list = field(repr=False)
    ico_72h: dict = field(repr=False)

    def summary(self) -> dict:
        return {"frequency_update": self.frequency_update, "ico_72h": self.ico_72h}


def build_evidence(register, log: IncidentLog, *, as_of: dt.datetime | None = None,
                   log_start: dt.datetime | None = None) -> Evidence:
    """The posterior rates, cost checks, near-miss trends and the 72-hour clock of a register
    from its practice's log.

    Coverage runs from ``log_start`` (``practice.toml``), else the start of the quarter of the
    log's first row, to ``as_of``, else the end of the register's quarter (``2026Q4``), else now.
    Rows discovered at or after the end are left out (a later quarter's rows in a log shared by
    every quarter).
    """
    end = as_of or register_quarter_end(register.path) or dt.datetime.now().replace(microsecond=0)
    if log_start is None:
        log_start = practice_log_start(register.practice.source)
    rows = [i for i in log.incidents if i.discovered < end]
    if log_start is not None:
        start = log_start
        rows = [i for i in rows if i.discovered >= start]
    elif rows:
        start = quarter_start(min(i.discovered for i in rows))
    else:
        start = quarter_start(min((i.discovered for i in log.incidents), default=end))
    T = max(0.0, (end - start).total_seconds() / YEAR_SECONDS)
    quarters = []
    q = quarter_start(start)
    while q < end:
        quarters.append(q)
        q = next_quarter(q)
    posteriors, updates = {}, []
    for r in register.risks:
        mine = [i for i in rows if i.risk_id == r.risk_id]
        k = sum(1 for i in mine if i.kind == "incident")
        rate = r.frequency.rate
        post = (gamma_posterior(r.frequency.mean, k, T) if rate is None
                else lognormal_posterior(rate.mu, rate.sigma, k, T))
        if T > 0:
            posteriors[r.risk_id] = post
        near = {quarter_name(q): 0 for q in quarters}
        for i in mine:
            if i.kind == "near_miss":
                near[quarter_name(quarter_start(i.discovered))] = near.get(quarter_name(quarter_start(i.discovered)), 0) + 1
        pm = post.mean if T > 0 else r.frequency.mean
        updates.append({
            "risk_id": r.risk_id, "prior": "gamma" if rate is None else "lognormal",
            "prior_mean": float(r.frequency.mean), "posterior_mean": float(pm),
            "events_observed": k, "exposure_years": T,
            "weight_of_evidence": post.weight_of_evidence if T > 0 else 0.0,
            "posterior_p5": float(post.quantile(0.05)) if T > 0 else None,
            "posterior_p95": float(post.quantile(0.95)) if T > 0 else None,
            "near_misses": [{"quarter": qn, "count": c} for qn, c in near.items()],
            "cost_check": cost_check(register, r, [i for i in mine if i.kind == "incident"]),
        })
    clock = {"log": log.path, "coverage_start": f"{start:%Y-%m-%d %H:%M}", **ico_72h(rows, end)}
    return Evidence(log.path, start, end, T, posteriors, updates, clock)


def _event_total_range(register, risk) -> tuple[float, float]:
    """5th and 95th percentiles of one event's total cost before controls (a fixed-seed Monte
    Carlo of 200,000 events: the components are independent lognormals)."""
    from ..simulation.streams import stream

    g = stream(0, 9, risk.risk_id, 0)
    n = 200_000
    total = np.zeros(n)
    for c in risk.components:
        x = np.exp(c.dist.mu + c.dist.sigma * g.standard_normal(n))
        if c.component == BUSINESS_INTERRUPTION:
            x = x * register.practice.interruption_cost_per_hour
        if c.prob < 1:
            x = x * (g.random(n) < c.prob)
        total += x
    lo, hi = np.quantile(total, [0.05, 0.95])
    return float(lo), float(hi)


def cost_check(register, risk, incidents) -> dict:
    """Realised costs against the register's 90% ranges: each ``<component>_cost`` against that
    component's range (business interruption: downtime hours times the cost per hour; a
    component the register does not give the risk counts as outside), or, for an incident with
    only a total ``cost``, against the 5th-95th percentiles of one event's total."""
    observed = outside = 0
    total_range = None
    cph = register.practice.interruption_cost_per_hour
    for inc in incidents:
        if inc.component_costs:
            for comp, x in inc.component_costs:
                c = risk.component(comp)
                observed += 1
                if c is None:
                    outside += 1
                    continue
                lo, hi = (c.low, c.high)
                if comp == BUSINESS_INTERRUPTION:
                    lo, hi = lo * cph, hi * cph
                outside += not (lo <= x <= hi)
        elif inc.cost is not None:
            if total_range is None:
                total_range = _event_total_range(register, risk)
            observed += 1
            outside += not (total_range[0] <= inc.cost <= total_range[1])
    p = float(stats.binom.sf(outside - 1, observed, OUTSIDE)) if observed else 1.0
    return {"risk_id": risk.risk_id, "observed": observed, "outside_range": outside,
            "expected_outside": OUTSIDE * observed, "p_value": p,
            "flag": bool(observed > 0 and outside > 0 and p < COST_FLAG_P)}


def ico_72h(incidents, end: dt.datetime) -> dict:
    """The 72-hour clock for each reportable incident, as of ``end``: ``on_time`` (reported
    within 72 hours of discovery, exactly 72 included), ``late``, ``open`` (not reported and more
    than 72 hours past discovery at ``end``) or ``pending`` (not reported, still within 72
    hours). A report dated at or after ``end`` is not yet made at ``end``."""
    out = []
    for i in incidents:
        if i.kind != "incident" or i.reportable != "yes":
            continue
        reported = i.reported_to_ico if i.reported_to_ico is not None and i.reported_to_ico < end else None
        if reported is not None:
            hours = (reported - i.discovered).total_seconds() / 3600.0
            status = "on_time" if hours <= ICO_HOURS else "late"
            out.append({"incident_id": i.incident_id, "risk_id": i.risk_id, "discovered": f"{i.discovered:%Y-%m-%d %H:%M}",
                        "reported_to_ico": f"{reported:%Y-%m-%d %H:%M}", "hours": hours, "status": status})
        else:
            open_for = (end - i.discovered).total_seconds() / 3600.0
            out.append({"incident_id": i.incident_id, "risk_id": i.risk_id, "discovered": f"{i.discovered:%Y-%m-%d %H:%M}",
                        "reported_to_ico": None, "hours": None, "hours_open": open_for,
                        "status": "open" if open_for > ICO_HOURS else "pending"})
    hours = [r["hours"] for r in out if r["hours"] is not None]
    count = {s: sum(1 for r in out if r["status"] == s) for s in ("on_time", "late", "open", "pending")}
    return {"as_of": f"{end:%Y-%m-%d %H:%M}", "reportable": len(out), "reported": len(hours),
            "on_time": count["on_time"], "late": count["late"], "open": count["open"], "pending": count["pending"],
            "undecided": sum(1 for i in incidents if i.kind == "incident" and i.reportable == "undecided"),
            "median_hours_to_report": float(np.median(hours)) if hours else None, "incidents": out}


__all__ = ["Evidence", "GAMMA_PRIOR_SHAPE", "RatePosterior", "build_evidence", "cost_check", "gamma_posterior",
           "ico_72h", "lognormal_posterior", "weight_of_evidence"]


def with_incident_log(register, path=None, *, as_of: dt.datetime | None = None,
                      now: dt.datetime | None = None):
    """``register`` with the evidence of its practice's incident log attached (a copy), and the
    log's warnings. ``path`` defaults to ``incidents.csv`` beside the register (or its workbook's
    sheet ``incidents``); without a log the register is returned unchanged.

    Raises
    ------
    InputError
        Every problem of the log (or of ``log_start`` in ``practice.toml``).
    """
    from dataclasses import replace

    from ..inputs.incidents import find_incidents, load_incidents

    if path is None:
        path = find_incidents(register.path)
        if path is None:
            return register, ()
    log = load_incidents(path, register.risk_ids, as_of=as_of, now=now,
                         until=as_of or register_quarter_end(register.path))
    return replace(register, evidence=build_evidence(register, log, as_of=as_of)), log.warnings
