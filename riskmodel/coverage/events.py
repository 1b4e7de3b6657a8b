"""The event table: every simulated event of many years, in blocks of one risk and one chunk.

Events are not in time order: per-trial totals need no order, and the few years in which a
sublimit or the aggregate limit runs out are put in time order when that happens
(:func:`riskmodel.coverage.erosion.erode`).
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..inputs.components import BUSINESS_INTERRUPTION, COMPONENTS

#: Index of business interruption among :data:`COMPONENTS`, and the number of components.
BI = COMPONENTS.index(BUSINESS_INTERRUPTION)
K = len(COMPONENTS)


@dataclass(frozen=True)
class Block:
    """The events of one risk in one chunk: a contiguous slice of an :class:`EventTable`.

    ``source`` names the block's events for reuse of work that depends on them only (the
    scenario model gives the chunk, the risk and the status of the controls it depends on);
    ``None``: nothing about the block is kept beyond one pricing.
    """

    start: int
    stop: int
    risk: int
    comps: tuple[int, ...]      # component indices of the rows of ``values``
    values: np.ndarray          # (comps, events) pounds
    source: Hashable | None = None
    aux: np.ndarray | None = None    # float32 (2, events): time in year, contract recovery uniforms
    hours: np.ndarray | None = None  # BI downtime hours per event (None: the risk has no BI)


def column_of(blocks, rows, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(event indices, pounds) of component ``k``, gathered from per-block rows."""
    idx, val = [], []
    for b, r in zip(blocks, rows):
        if k in b.comps:
            idx.append(np.arange(b.start, b.stop))
            val.append(r[b.comps.index(k)])
    if not idx:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(idx), np.concatenate(val)


def group_start(trial: np.ndarray) -> np.ndarray:
    """Index of the first event of each event's trial (events sorted by trial)."""
    n = trial.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = trial[1:] != trial[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def _joined(blocks: list[Block], part, dtype) -> np.ndarray:
    """``part(block)`` of every block, joined into one array over all events."""
    return np.concatenate([part(b) for b in blocks]) if blocks else np.zeros(0, dtype)


@dataclass
class EventTable:
    """Realised events of many simulated years, in blocks of one risk and one chunk of trials.

    Each :class:`Block` holds its events' pounds by component, their auxiliary uniforms and
    downtime hours, without copies; only ``trial`` is one array over all events. The other
    per-event arrays (``risk``, ``time``, ``u_recover``, ``u_deny``, ``hours``) are joined from
    the blocks on first use (pricing works block by block and rarely needs them) and live as
    long as the table.
    """

    trials: int
    trial: np.ndarray             # int64 (events,)
    blocks: list[Block]
    #: float32 (trials,): one uniform per policy year for the warranty decision (None: no aux draws)
    year_deny: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.trial.size)

    @cached_property
    def risk(self) -> np.ndarray:
        """int32 (events,): the risk of each event."""
        return _joined(self.blocks, lambda b: np.full(b.stop - b.start, b.risk, np.int32), np.int32)

    @cached_property
    def time(self) -> np.ndarray:
        """float32 (events,): when in the year each event falls, in [0, 1)."""
        return _joined(self.blocks, lambda b: b.aux[0], np.float32)

    @cached_property
    def u_recover(self) -> np.ndarray:
        """float32 (events,): the uniform that decides whether a contract pays the event."""
        return _joined(self.blocks, lambda b: b.aux[1], np.float32)

    @cached_property
    def u_deny(self) -> np.ndarray:
        """float32 (events,): the uniform of each event's policy year that decides whether the
        insurer declines that year's claims for a missing warranted control (one per year)."""
        return self.deny_of(self.trial)

    def deny_of(self, trial: np.ndarray) -> np.ndarray:
        """The policy-year warranty uniforms of the years ``trial``."""
        if self.year_deny is None:
            raise ValueError("allocation needs the years' warranty draws (simulate with aux=True)")
        return self.year_deny.take(trial)

    @cached_property
    def hours(self) -> np.ndarray:
        """(events,): business-interruption downtime hours (0 for risks without it)."""
        return _joined(self.blocks, lambda b: b.hours if b.hours is not None else np.zeros(b.stop - b.start),
                       np.float64)

    def column(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(events, gross pounds) of component ``k`` where it occurs."""
        return column_of(self.blocks, [b.values for b in self.blocks], k)

    @property
    def columns(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """component -> (events, gross pounds) for every component that occurs."""
        present = sorted({k for b in self.blocks for k in b.comps})
        return {k: self.column(k) for k in present}

    @property
    def values(self) -> np.ndarray:
        """Dense (events, K) gross pounds (for inspection and tests; pricing never builds it)."""
        out = np.zeros((self.size, K))
        for b in self.blocks:
            for j, k in enumerate(b.comps):
                out[b.start:b.stop, k] = b.values[j]
        return out

    @classmethod
    def from_losses(cls, losses, n: int, year_deny: np.ndarray | None, offset: int = 0, *,
                    sources=None) -> "EventTable":
        """One chunk's realised events of every risk (see :meth:`from_chunks`); ``sources``,
        optional, names each risk's events (:attr:`Block.source`, same order as ``losses``)."""
        return cls.from_chunks([(losses, offset)], n, year_deny, sources=None if sources is None else [sources])

    @classmethod
    def from_chunks(cls, parts, trials: int, year_deny: np.ndarray | None, *, sources=None) -> "EventTable":
        """Events of ``parts``, a list of (list of RiskLosses, first trial of the chunk), with the
        years' warranty uniforms ``year_deny`` (trials,); ``sources``, optional, one list per part
        naming each risk's events (:attr:`Block.source`)."""
        names = sources or [[None] * len(losses) for losses, _ in parts]
        pieces = [(rl, off, name) for (losses, off), part_names in zip(parts, names)
                  for rl, name in zip(losses, part_names)]
        total = int(sum(rl.trial.size for rl, _, _ in pieces))
        trial = np.empty(total, dtype=np.int64)
        blocks = []
        at = 0
        for rl, off, name in pieces:
            m = rl.trial.size
            if rl.aux is None:
                raise ValueError("allocation needs the events' auxiliary draws (simulate with aux=True)")
            np.add(rl.trial, off, out=trial[at:at + m], casting="unsafe")
            if m:
                blocks.append(Block(at, at + m, rl.index, rl.comps, rl.values, name, rl.aux, rl.hours))
            at += m
        return cls(trials, trial, blocks, year_deny)
