"""Shared supplier events in one chunk of simulated years: the draws every practice shares, and
the losses they bring to one practice, as extra risks of its own (so it prices them with its
own events, together, in the order they fall within the year)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...inputs.components import COMPONENTS
from ...inputs.distributions import LogNormal
from ...simulation.draws import RiskLosses
from ...simulation.streams import stream
from .keys import BREACH_COMPONENT, EVENT_DRAWS, OUTAGE_COMPONENT, PRACTICE_DRAWS, SHARED

BI = COMPONENTS.index(OUTAGE_COMPONENT)
BREACH = COMPONENTS.index(BREACH_COMPONENT)


@dataclass(frozen=True)
class EventChunk:
    """One shared event's occurrences in one chunk of years (the same for every practice)."""

    trial: np.ndarray      # int64 (m,): the simulated year within the chunk, ascending
    time: np.ndarray       # float32 (m,): when in the year, in [0, 1)
    recover: np.ndarray    # float32 (m,): the supplier contract's recovery uniform
    hours: np.ndarray      # float64 (m,): outage hours at every practice hit (0: no outage)
    share: np.ndarray      # float64 (m,): share of the supplier's practices hit
    breach: np.ndarray     # bool (m,): the occurrence includes a data breach at the supplier

    @property
    def size(self) -> int:
        return int(self.trial.size)


def _lognormal(g: np.random.Generator, low: float, high: float, m: int) -> np.ndarray:
    """``m`` lognormal draws with 90% range ``low``-``high`` (zeros for a 0, 0 range); the
    normals are drawn either way, so the stream's later draws never depend on the range."""
    z = g.standard_normal(m)
    if high <= 0:
        return np.zeros(m)
    d = LogNormal.from_range(low, high)
    return np.exp(d.mu + d.sigma * z)


def draw_event(event, seed: int, chunk: int, n: int) -> EventChunk:
    """An event's occurrences in chunk ``chunk`` of ``n`` years: a Poisson number at its
    frequency, each in a uniform year of the chunk; all draws from the event's own stream."""
    g = stream(seed, SHARED, event.name, chunk, EVENT_DRAWS)
    m = int(g.poisson(float(event.frequency) * n))
    trial = np.sort(g.integers(0, n, m, dtype=np.int64))
    time = g.random(m, dtype=np.float32)
    recover = g.random(m, dtype=np.float32)
    hours = _lognormal(g, event.hours_low, event.hours_high, m)
    share = event.share_low + (event.share_high - event.share_low) * g.random(m)
    breach = g.random(m) < event.breach_probability
    return EventChunk(trial, time, recover, hours, share, breach)


def draw_events(events, seed: int, chunk: int, n: int) -> list[EventChunk]:
    return [draw_event(e, seed, chunk, n) for e in events]


def _none(index: int) -> RiskLosses:
    return RiskLosses(index, np.zeros(0, np.int64), (BI,), np.zeros((1, 0)), None, np.zeros((2, 0), np.float32))


def practice_losses(job, events, drawn: list[EventChunk], chunk: int) -> list[RiskLosses]:
    """The shared events' losses at one practice in one chunk: one :class:`RiskLosses` per event
    of the book (risk index: the register's risks, then the book's events in order; empty for
    an event that cannot hit it or did not; the engine's sums index risks by position).

    An occurrence hits the practice when its uniform (the practice's own stream for the event)
    is below the occurrence's share; it then loses the outage hours times its cost of an hour
    (business interruption) and, when the supplier's data is breached, its own notification
    and response cost (a lognormal draw from the event's breach cost range).
    """
    out = [_none(job.n_risks + e) for e in range(len(events))]
    for e in job.exposures:
        event, ev = events[e], drawn[e]
        m = ev.size
        g = stream(job.seed, SHARED, event.name, chunk, PRACTICE_DRAWS)
        u = g.random(m)
        cost = _lognormal(g, event.breach_cost_low, event.breach_cost_high, m)
        hit = u < ev.share
        if event.hours_high <= 0:
            hit &= ev.breach          # a breach-only event costs nothing without its breach
        idx = hit.nonzero()[0]
        if idx.size == 0:
            continue
        comps, rows = [], []
        hours = None
        if event.hours_high > 0:
            hours = ev.hours.take(idx)
            comps.append(BI)
            rows.append(hours * job.cost_per_hour)
        if event.breach_probability > 0:
            comps.append(BREACH)
            rows.append(np.where(ev.breach.take(idx), cost.take(idx), 0.0))
        aux = np.stack([ev.time.take(idx), ev.recover.take(idx)])
        out[e] = RiskLosses(job.n_risks + e, ev.trial.take(idx), tuple(comps), np.array(rows), hours, aux)
    return out


__all__ = ["EventChunk", "draw_event", "draw_events", "practice_losses"]
