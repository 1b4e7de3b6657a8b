"""``simulate_portfolio``: every practice of a book and the shared supplier events on common
simulated years, on Dask (docs/portfolio-engine.md)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...simulation.draws import CHUNK
from .blocks import GroupResult, merge, merge_tail, run_block, tail_block
from .compile import compile_book
from .execution import Runner, tree
from .scratch import open_scratch, tail_sums

#: Practices per task (a block), and chunks of years per task: the numbers do not depend on them.
BLOCK_SIZE = 64
CHUNKS_PER_TASK = 1
#: TVaR level of the practices' contributions (the portfolio's worst 1% of years).
TAIL_LEVEL = 0.99


@dataclass
class PortfolioRun:
    """A book's simulated years: per-year totals (pence) and per-practice figures.

    Attributes
    ----------
    money : ndarray int64 (4, trials)
        The book's gross, contract, insurer and retained loss of each simulated year, in pence.
    hits : ndarray int32 (trials,)
        Practices with a loss from a shared event in each year.
    event_gross, event_hits : ndarray (events, trials)
        Each shared event's gross (pence) and practices hit, per year.
    practice_sums : ndarray int64 (practices, 4)
        Each practice's gross, contract, insurer, retained summed over the years (pence).
    practice_p99 : ndarray (practices,)
        Each practice's 99th percentile yearly gross (pounds; numpy's linear interpolation).
    tail : ndarray int64
        The book's worst ``ceil(1% of trials)`` years by gross (0-based, ascending; ties to the
        earlier year), whose mean is the gross TVaR99.
    contribution : ndarray (practices,)
        Each practice's gross over ``tail`` divided by its length (pounds): they add up to the
        book's gross TVaR99.
    """

    portfolio: object
    trials: int
    seed: int
    money: np.ndarray
    hits: np.ndarray
    event_gross: np.ndarray
    event_hits: np.ndarray
    practice_sums: np.ndarray
    practice_p99: np.ndarray
    tail: np.ndarray
    contribution: np.ndarray
    where: str = ""

    def payer(self, name: str) -> np.ndarray:
        """The book's yearly ``gross``, ``contract``, ``insurer`` or ``retained`` loss in pounds."""
        return self.money[("gross", "contract", "insurer", "retained").index(name)] / 100.0


def year_parts(trials: int, chunk: int = CHUNK) -> list[tuple[int, int, int]]:
    """(chunk index, first year, years) covering ``trials``: the engine's chunks (its streams)."""
    return [(j, s, min(chunk, trials - s)) for j, s in enumerate(range(0, trials, chunk))]


def top_needed(trials: int, level: float = 0.99) -> int:
    """How many of a practice's largest years its ``level`` percentile needs."""
    return min(trials, trials - int(math.floor((trials - 1) * level)))


def percentile_from_top(top: np.ndarray, trials: int, level: float = 0.99) -> np.ndarray:
    """Per row, the ``level`` percentile (numpy's linear interpolation) of ``trials`` values of
    which ``top`` holds the largest, descending."""
    pos = (trials - 1) * level
    lo = int(math.floor(pos))
    hi = min(lo + 1, trials - 1)
    a = top[:, trials - 1 - lo].astype(np.float64)
    b = top[:, trials - 1 - hi].astype(np.float64)
    return (a + (b - a) * (pos - lo)) / 100.0


def tail_years(gross: np.ndarray, level: float = TAIL_LEVEL) -> np.ndarray:
    """The ``ceil(n (1 - level))`` largest years (as :func:`riskmodel.analysis.metrics.tvar`)."""
    n = gross.size
    k = max(1, math.ceil(n * (1.0 - level) - 1e-9))
    return np.sort(np.argsort(gross, kind="stable")[n - k:])


#: Practice-years from which the local default is Dask's processes scheduler (see simulate_portfolio).
PROCESSES_FROM = 5_000_000


def simulate_portfolio(portfolio, trials: int, seed: int, *, scheduler: str | None = None,
                       local: str | None = None, workers: int | None = None, block_size: int = BLOCK_SIZE,
                       chunks_per_task: int = CHUNKS_PER_TASK, chunk: int = CHUNK,
                       show_progress: bool | None = None, scratch=None) -> PortfolioRun:
    """Simulate every practice of ``portfolio`` and its shared events over ``trials`` common years.

    Parameters
    ----------
    portfolio : riskmodel.inputs.portfolio.Portfolio
    trials, seed : int
        The same seed gives the same numbers bit for bit, whatever ``scheduler``, ``local``,
        ``workers``, ``block_size``, ``chunks_per_task`` and ``scratch``.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler; by default this machine.
    local, workers : optional
        Dask's local scheduler (``threads`` or ``processes``) and its workers. By default
        ``processes`` for a book of at least ``PROCESSES_FROM`` practice-years (both cores kept
        busy, see docs/portfolio-engine.md) and ``threads`` below (no worker processes to start
        for a small book).
    block_size, chunks_per_task : int
        Practices per task and chunks of years per task (how the work is split).
    chunk : int
        Years per chunk of random streams: the engine's (``simulate``'s) by default; another
        value gives other (equally valid) numbers.
    scratch : str, Path or False, optional
        Where the tasks write their practices' yearly gross for the worst years' split by
        practice (:mod:`.scratch`): by default a temporary folder on this machine when running
        here, none on a cluster; ``False``: none (the worst years are simulated again); a
        folder: that one (on a cluster, a folder every worker and this machine share).
    """
    if trials < 1:
        raise ValueError("trials must be at least 1")
    if not portfolio.practices:
        raise ValueError("the book has no practices to simulate")
    if local is None:
        local = "processes" if len(portfolio.practices) * trials >= PROCESSES_FROM else "threads"
    # (the runner first: local worker processes start while the book compiles)
    with Runner(scheduler, local=local, workers=workers, show_progress=show_progress) as runner, \
            open_scratch(scratch, len(portfolio.practices), trials, default=scheduler is None) as store:
        jobs = compile_book(portfolio, seed)
        parts = year_parts(trials, chunk)
        work = _Work(jobs, tuple(portfolio.events), seed, block_size,
                     [parts[i:i + chunks_per_task] for i in range(0, len(parts), chunks_per_task)])
        run = _assemble(runner.compute(work.first_pass(top_needed(trials), store), "simulating the book"),
                        portfolio, trials, seed)
        run.where = runner.where
        if store is not None:
            sums = work.tail_from_store(store, run.tail)
        else:
            sums = np.zeros(len(jobs), dtype=np.int64)
            for idx, s in runner.compute(work.second_pass(run.tail), "the worst years again"):
                np.add.at(sums, idx, s)
    run.contribution = sums / run.tail.size / 100.0
    return run


class _Work:
    """A run's tasks as a Dask graph: blocks of practices by groups of chunks of years."""

    def __init__(self, jobs, events, seed: int, block_size: int, groups):
        import dask

        self.jobs, self.seed, self.groups = jobs, seed, groups
        starts = range(0, len(jobs), block_size)
        self.blocks = [dask.delayed(jobs[i:i + block_size], name=f"jobs-{i}", traverse=False) for i in starts]
        #: each block's book indices (the columns of its scratch files)
        self.indices = [np.array([j.index for j in jobs[i:i + block_size]], dtype=np.int64) for i in starts]
        self.events = dask.delayed(events, name="events", traverse=False)

    def first_pass(self, k_top: int, store) -> list:
        """One delayed :class:`GroupResult` per group of chunks (pairwise merged blocks)."""
        import dask

        return [tree(dask.delayed, merge,
                     [dask.delayed(run_block)(b, self.events, self.seed, g, k_top,
                                              store.path(bi, gi) if store is not None else None,
                                              dask_key_name=f"block-{bi}-{gi}")
                      for bi, b in enumerate(self.blocks)], f"group-{gi}")
                for gi, g in enumerate(self.groups)]

    def second_pass(self, tail: np.ndarray) -> list:
        """The worst years simulated again: (book indices, gross sums) per group of chunks."""
        import dask

        return [tree(dask.delayed, merge_tail,
                     [dask.delayed(tail_block)(b, self.events, self.seed, g, tail, dask_key_name=f"tail-{bi}-{gi}")
                      for bi, b in enumerate(self.blocks)], f"tail-{gi}")
                for gi, g in enumerate(self.groups)]

    def tail_from_store(self, store, tail: np.ndarray) -> np.ndarray:
        """Each practice's gross over the worst years ``tail``, read back from the tasks' files."""
        sums = np.zeros(len(self.jobs), dtype=np.int64)
        for gi, g in enumerate(self.groups):
            start, end = g[0][1], g[-1][1] + g[-1][2]
            lo, hi = np.searchsorted(tail, [start, end])
            if lo == hi:
                continue
            for bi, idx in enumerate(self.indices):
                np.add.at(sums, idx, tail_sums(store.path(bi, gi), tail[lo:hi] - start))
        return sums


def _assemble(results: list[GroupResult], portfolio, trials: int, seed: int) -> PortfolioRun:
    """The groups' results put together (integer sums; the top values merged exactly)."""
    P, E = len(portfolio.practices), len(portfolio.events)
    money = np.zeros((4, trials), np.int64)
    hits = np.zeros(trials, np.int32)
    event_gross = np.zeros((E, trials), np.int64)
    event_hits = np.zeros((E, trials), np.int32)
    sums = np.zeros((P, 4), np.int64)
    k = top_needed(trials)
    tops: list[list[np.ndarray]] = [[] for _ in range(P)]
    for r in results:
        sl = slice(r.start, r.start + r.money.shape[1])
        money[:, sl] += r.money
        hits[sl] += r.hits
        event_gross[:, sl] += r.event_gross
        event_hits[:, sl] += r.event_hits
        np.add.at(sums, r.practices, r.sums)
        for i, t in zip(r.practices.tolist(), r.top):
            tops[i].append(t)
    top = np.stack([-np.sort(-np.concatenate(t))[:k] for t in tops])
    p99 = percentile_from_top(top, trials)
    return PortfolioRun(portfolio, trials, seed, money, hits, event_gross, event_hits, sums, p99,
                        tail_years(money[0]), np.zeros(P))


__all__ = ["PortfolioRun", "simulate_portfolio", "BLOCK_SIZE", "CHUNKS_PER_TASK", "year_parts", "tail_years"]
