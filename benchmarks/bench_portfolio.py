"""Benchmark of ``riskmodel portfolio`` (issue 14): the synthetic national book on this machine.

    .venv/bin/python benchmarks/bench_portfolio.py --practices 6277 --trials 10000
    .venv/bin/python benchmarks/bench_portfolio.py --practices 6277 --trials 100000
    .venv/bin/python benchmarks/bench_portfolio.py --practices 1000 --trials 10000 --workers-scaling
    .venv/bin/python benchmarks/bench_portfolio.py --throughput

Prints wall time, the peak resident memory of this process and its children (``ru_maxrss``),
and practice-years a second. The machine may be shared: take the best of several runs.

Machines differ from one session to the next: each run first prints this machine's speed on one
core (numpy's normal draws, and the engine benchmark's 20 risks x 1,000,000 years on one thread,
as ``bench_engine.py`` runs it), so figures from two machines can be compared.
"""
from __future__ import annotations

import argparse
import resource
import time


def peak_gib() -> float:
    self_ = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_, kids) / 2**20


def machine_speed() -> None:
    """One core's speed: numpy's float32 normal draws (SFC64) and the engine's own benchmark."""
    import sys
    import tempfile
    from pathlib import Path

    import numpy as np

    g = np.random.Generator(np.random.SFC64(1))
    out = np.empty(1_000_000, dtype=np.float32)
    normals = min(_timed(lambda: g.standard_normal(out=out, dtype=np.float32)) for _ in range(5))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_engine import bench_register

    from riskmodel import load_register, simulate

    with tempfile.TemporaryDirectory() as tmp:
        reg = load_register(bench_register(Path(tmp)))
        engine = min(_timed(lambda: simulate(reg, 1_000_000, seed=1, threads=1)) for _ in range(3))
    print(f"this machine, one core: {1 / normals:,.0f} million float32 normals/s; engine benchmark "
          f"(20 risks x 1,000,000 years, 1 thread) {engine:.3f} s")


def run_book(practices: int, trials: int, workers: int | None, local: str, repeat: int) -> None:
    from riskmodel.analysis.portfolio import simulate_portfolio
    from riskmodel.inputs.synthetic import synthetic_portfolio

    t = time.perf_counter()
    book = synthetic_portfolio(practices)
    print(f"book of {practices:,} practices built in {time.perf_counter() - t:.1f} s")
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        run = simulate_portfolio(book, trials, 20261, workers=workers, local=local, show_progress=False)
        best = min(best, time.perf_counter() - t)
    print(f"{practices:,} practices x {trials:,} years, {run.where}: best {best:.1f} s of {repeat}; "
          f"{practices * trials / best:,.0f} practice-years/s; peak memory {peak_gib():.2f} GiB; "
          f"mean gross £{run.payer('gross').mean():,.0f}")


def throughput(trials: int, repeat: int) -> None:
    """simulate on one practice (each template, one thread) against the portfolio per practice-year."""
    from riskmodel.analysis.engine import simulate
    from riskmodel.analysis.portfolio import simulate_portfolio
    from riskmodel.inputs.synthetic import synthetic_portfolio

    book = synthetic_portfolio(300)
    by_template: dict[str, object] = {}
    for p in book.practices:
        by_template.setdefault(p.register.practice.source, p)
    rates = []
    for src, p in sorted(by_template.items()):
        best = min(_timed(lambda: simulate(p.register, trials, 1, policy=p.policy, contracts=p.contracts,
                                           threads=1)) for _ in range(repeat))
        rates.append(trials / best)
        print(f"simulate, one practice ({src}), one thread: {trials / best:,.0f} practice-years/s")
    best = min(_timed(lambda: simulate_portfolio(book, trials, 1, workers=1, show_progress=False))
               for _ in range(repeat))
    print(f"portfolio of {len(book.practices)} practices, one worker: {len(book.practices) * trials / best:,.0f} "
          "practice-years/s (the book's mix of templates)")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--practices", type=int, default=6277)
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--local", default=None, choices=("threads", "processes"),
                    help="Dask's local scheduler (default: as riskmodel portfolio chooses)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workers-scaling", action="store_true", help="one worker, then two")
    ap.add_argument("--throughput", action="store_true", help="against simulate on one practice")
    a = ap.parse_args()
    machine_speed()
    if a.throughput:
        throughput(a.trials, a.repeat)
    elif a.workers_scaling:
        for w in (1, 2):
            run_book(a.practices, a.trials, w, a.local, a.repeat)
    else:
        run_book(a.practices, a.trials, a.workers, a.local, a.repeat)


if __name__ == "__main__":
    main()
