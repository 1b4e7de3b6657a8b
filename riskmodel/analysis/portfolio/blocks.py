"""The work of one task: a block of practices over a group of chunks of years.

Money leaves a task in whole pence (int64): each practice's yearly amounts are rounded to the
penny, then added. Integer addition is exact, so the book's totals are the same to the penny
whatever the blocks, the groups of chunks, the order tasks finish or the workers they ran on
(floating-point sums would change in the last bits with the grouping).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...coverage.allocation import EventTable, allocate
from ...coverage.invariants import check_split
from ...simulation.draws import draw_chunk, realise, stream_states
from ...simulation.sums import add_total
from ...simulation.memory import keep_freed_memory
from .scratch import write_gross
from .shared import draw_events, practice_losses

#: Rows of a task's per-year money: gross, contract, insurer, retained.
PAYERS = ("gross", "contract", "insurer", "retained")


def pence(x: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(x) * 100.0).astype(np.int64)


@dataclass
class YearOfPractice:
    """One practice's figures for one chunk of years (pence)."""

    money: np.ndarray          # int64 (4, n): gross, contract, insurer, retained
    shared: np.ndarray         # int64 (len(exposures), n): gross from each shared event it is exposed to
    hit: np.ndarray            # bool (len(exposures), n): a loss from that event that year


def practice_chunk(job, events, drawn, chunk: int, start: int, n: int, *, price: bool = True,
                   states: np.ndarray | None = None) -> YearOfPractice:
    """Simulate one practice's own register and the shared events that hit it over one chunk,
    priced together through its contracts and policy (``price=False``: gross only). ``states``:
    its streams' states, computed with the block's (:func:`block_states`)."""
    terms = job.terms if price else None
    # (the auxiliary draws have streams of their own: without them the events are the same)
    draws = draw_chunk(job.plan, job.seed, chunk, start, n, aux=terms is not None, controls=job.in_place,
                       states=states)
    losses = realise(job.plan, draws, job.in_place, job.cost_per_hour)
    extra = practice_losses(job, events, drawn, chunk)
    gross = np.zeros(n)
    add_total(losses + extra, n, gross)
    money = np.zeros((4, n), dtype=np.int64)
    money[0] = pence(gross)
    if terms is not None:
        alloc = allocate(EventTable.from_losses(losses + extra, n, draws.year_deny), terms,
                         job.n_risks + len(events), detail=False, gross_per_trial=gross)
        pt = alloc.per_trial
        check_split(pt["gross"], pt["contract"], pt["insurer"], pt["retained"],
                    where=f"portfolio simulation of {job.name}", statistic="annual loss per simulated year")
        money[2] = np.minimum(pence(pt["insurer"]), money[0])
        money[3] = np.minimum(pence(pt["retained"]), money[0] - money[2])
    else:
        money[3] = money[0]
    money[1] = money[0] - money[2] - money[3]       # so the four add up, each in [0, gross]
    shared = np.zeros((len(job.exposures), n), dtype=np.int64)
    hit = np.zeros((len(job.exposures), n), dtype=bool)
    for j, e in enumerate(job.exposures):
        rl = extra[e]
        if rl.trial.size == 0:
            continue
        year = np.bincount(rl.trial, weights=rl.values.sum(axis=0), minlength=n)
        shared[j] = pence(year)
        hit[j] = year > 0
    return YearOfPractice(money, shared, hit)


def block_states(jobs, chunk: int, *, price: bool = True) -> list:
    """Each practice's stream states for ``chunk``, computed together (None each when they
    cannot be: each practice then seeds its own)."""
    states = stream_states([j.plan for j in jobs], [j.seed for j in jobs], chunk,
                           [price and j.terms is not None for j in jobs])
    return [None] * len(jobs) if states is None else states


@dataclass
class GroupResult:
    """A task's (or a sum of tasks') figures for one group of chunks, years ``start..start+n``."""

    start: int
    money: np.ndarray          # int64 (4, n): the block's sums
    hits: np.ndarray           # int32 (n,): practices with a loss from any shared event
    event_gross: np.ndarray    # int64 (E, n)
    event_hits: np.ndarray     # int32 (E, n): practices hit by each event
    practices: np.ndarray      # int64 (P,): book indices of the practices below
    sums: np.ndarray           # int64 (P, 4): each practice's sums over the years
    top: np.ndarray            # int64 (P, k): each practice's k largest yearly gross, descending


def _top(x: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest values of each row, descending (``k`` at most the row length)."""
    k = min(k, x.shape[1])
    part = -np.partition(-x, k - 1, axis=1)[:, :k] if k < x.shape[1] else x
    return -np.sort(-part, axis=1)


def _worker_memory() -> None:
    """In a worker process (Dask's local processes, a cluster's workers: processes that only run
    tasks), reuse freed memory as the command line does (:func:`keep_freed_memory`); in the
    caller's own process (the threads scheduler) leave its allocator alone."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        keep_freed_memory()


def run_block(jobs, events, seed: int, parts, k_top: int, store: str | None = None) -> GroupResult:
    """Pass 1 of a task: practices ``jobs`` over the chunks ``parts`` ((chunk, first year, years),
    consecutive). With ``store`` (a file name), the block's yearly gross (years x practices,
    pence) is written there for the worst years' split by practice (:mod:`.scratch`)."""
    _worker_memory()
    start = parts[0][1]
    n = sum(p[2] for p in parts)
    E = len(events)
    res = GroupResult(start, np.zeros((4, n), np.int64), np.zeros(n, np.int32), np.zeros((E, n), np.int64),
                      np.zeros((E, n), np.int32), np.array([j.index for j in jobs], dtype=np.int64),
                      np.zeros((len(jobs), 4), np.int64), np.zeros((len(jobs), min(k_top, n)), np.int64))
    tops = [[] for _ in jobs]
    kept = np.zeros((n, len(jobs)), np.int64) if store else None
    for chunk, first, size in parts:
        sl = slice(first - start, first - start + size)
        drawn = draw_events(events, seed, chunk, size)
        states = block_states(jobs, chunk)
        for i, job in enumerate(jobs):
            y = practice_chunk(job, events, drawn, chunk, first, size, states=states[i])
            res.money[:, sl] += y.money
            res.sums[i] += y.money.sum(axis=1)
            if kept is not None:
                kept[sl, i] = y.money[0]
            tops[i].append(_top(y.money[:1], k_top)[0])
            if len(job.exposures):
                res.hits[sl] += y.hit.any(axis=0)
                ex = list(job.exposures)
                res.event_gross[ex, sl] += y.shared
                res.event_hits[ex, sl] += y.hit
    for i, t in enumerate(tops):
        res.top[i] = _top(np.concatenate(t)[None, :], k_top)[0]
    if kept is not None:
        write_gross(store, kept)
    return res


def merge(*results: GroupResult) -> GroupResult:
    """Tasks' results for the same group of chunks (disjoint blocks of practices), added (integer
    sums: the same whatever the grouping)."""
    first = results[0]
    return GroupResult(first.start, sum(r.money for r in results), sum(r.hits for r in results),
                       sum(r.event_gross for r in results), sum(r.event_hits for r in results),
                       np.concatenate([r.practices for r in results]),
                       np.concatenate([r.sums for r in results]), np.concatenate([r.top for r in results]))


def tail_block(jobs, events, seed: int, parts, tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 of a task: each practice's gross (pence) summed over the book's worst years
    ``tail`` (sorted year numbers, 0-based) that fall in ``parts``. Chunks without such a year
    are skipped. Returns (book indices, sums)."""
    sums = np.zeros(len(jobs), dtype=np.int64)
    for chunk, first, size in parts:
        lo, hi = np.searchsorted(tail, [first, first + size])
        if lo == hi:
            continue
        local = tail[lo:hi] - first
        drawn = draw_events(events, seed, chunk, size)
        states = block_states(jobs, chunk, price=False)
        for i, job in enumerate(jobs):
            y = practice_chunk(job, events, drawn, chunk, first, size, price=False, states=states[i])
            sums[i] += y.money[0].take(local).sum()
    return np.array([j.index for j in jobs], dtype=np.int64), sums


def merge_tail(*parts):
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


__all__ = ["PAYERS", "YearOfPractice", "GroupResult", "block_states", "practice_chunk", "run_block", "merge",
           "tail_block", "merge_tail", "pence"]
