"""Running the tasks on Dask: the local scheduler of this machine, or a cluster.

Tasks are leaves of a Dask graph; their results are added eight at a time in the graph (a tree), so
only a few results are held at once and the driver receives one result per group of chunks.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

#: Local schedulers: ``threads`` (the default: measured fastest on this machine, see
#: docs/portfolio-engine.md) or ``processes``.
LOCAL_SCHEDULERS = ("threads", "processes")


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


#: Results a merge task adds at once: few merge tasks, each a hand-off between the workers and
#: the process that runs them (tens of milliseconds each on a busy machine).
MERGE_ARITY = 8


def tree(delayed, merge, leaves: list, name: str, arity: int = MERGE_ARITY):
    """``leaves`` added ``arity`` at a time with ``merge`` (a delayed tree), as one delayed value."""
    level = 0
    while len(leaves) > 1:
        nxt = []
        for i in range(0, len(leaves), arity):
            group = leaves[i:i + arity]
            nxt.append(delayed(merge)(*group, dask_key_name=f"{name}-merge-{level}-{i}") if len(group) > 1
                       else group[0])
        leaves, level = nxt, level + 1
    return leaves[0]


def _progress_callback(total_desc: str, enabled: bool):
    from dask.callbacks import Callback

    class Bar(Callback):
        def _start_state(self, dsk, state):
            from tqdm import tqdm

            self.bar = tqdm(total=len(dsk), desc=total_desc, unit="task", leave=False, disable=not enabled)

        def _posttask(self, key, result, dsk, state, worker_id):
            self.bar.update(1)

        def _finish(self, dsk, state, errored):
            self.bar.close()

    return Bar()


@contextmanager
def _one_blas_thread():
    """Worker processes started meanwhile (Dask's local processes scheduler spawns them: they
    import numpy afresh) run OpenBLAS on one thread: each worker's work is single-threaded numpy
    with a few tiny matrix-vector products, and OpenBLAS's own threads, one per core in every
    worker, wait for work by spinning on the cores the other workers need (measured: 3-10% less
    CPU in the workers of a 1,500-practice book). A value the user set is kept."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        yield
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OPENBLAS_NUM_THREADS", None)


def _warm_worker(pause: float) -> int:
    """A worker process's first task: import what the book's tasks run (numpy, the engine, the
    pricing), so it is ready when they come. The pause keeps one worker from taking every
    warm-up task. Returns the worker's process id."""
    import time

    from . import blocks  # noqa: F401

    time.sleep(pause)
    return os.getpid()


def _init_worker() -> None:
    """A local worker process's start: Dask's own, then a lower priority (``nice``) than this
    process, whose threads relay each task and result between Dask and the workers. With every
    core busy in the workers, a worker waited 30-60 ms between tasks (blocked sending its result
    until this process read it, or waiting for its next task); at the lower priority, about a
    sixth less (measured on a 2,000-practice book)."""
    from dask.multiprocessing import initialize_worker_process

    initialize_worker_process()
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # pragma: no cover - not allowed here: run at the same priority
        pass


#: How much lower local worker processes' priority is than the process that runs them.
WORKER_NICENESS = 5


def _start_pool(workers: int):
    """Dask's local worker processes (spawned, as Dask's processes scheduler starts them), started
    now and importing the engine while the caller goes on (compiling the book)."""
    from concurrent.futures import ProcessPoolExecutor

    from dask.multiprocessing import get_context

    pool = ProcessPoolExecutor(workers, mp_context=get_context(), initializer=_init_worker)
    for _ in range(workers):            # one each: a process is spawned per task submitted
        pool.submit(_warm_worker, 0.2)
    return pool


class _Queued:
    """A process pool as Dask's processes scheduler sees it, with room for twice as many tasks as
    it has workers (``_max_workers``: the tasks Dask keeps submitted): each worker then has its
    next task queued when it finishes one, instead of waiting for this process to send it
    (measured on the national book: each worker's idle time between tasks fell from 4.1 s to
    3.1 s; merging eight results per task took it to about 2 s). The pool's workers take queued
    tasks as they come free, so none is left waiting at the end."""

    def __init__(self, pool, workers: int):
        self.pool, self._max_workers = pool, 2 * workers

    def submit(self, *args, **kwargs):
        return self.pool.submit(*args, **kwargs)


class Runner:
    """Computes delayed values locally (``address=None``) or on the Dask cluster at ``address``
    (``tcp://HOST:PORT``). Use as a context manager (the cluster connection is closed at exit).

    Dask's local ``processes`` scheduler runs on worker processes started when the runner is
    entered (:func:`_start_pool`): they import the engine while the caller prepares the work,
    and each takes one task at a time (Dask's default hands a process six at once, which left
    one worker idle for the last several seconds of a national book).
    """

    def __init__(self, address: str | None = None, *, local: str = "threads", workers: int | None = None,
                 show_progress: bool | None = None):
        if local not in LOCAL_SCHEDULERS:
            raise ValueError(f"local scheduler must be one of {', '.join(LOCAL_SCHEDULERS)}, got {local!r}")
        self.address, self.local = address, local
        self.workers = workers or default_workers()
        self.show_progress = sys.stderr.isatty() if show_progress is None else show_progress
        self.client = None
        self.pool = None

    def __enter__(self) -> "Runner":
        if self.address:
            from distributed import Client

            self.client = Client(self.address, timeout="30s")
        elif self.local == "processes":
            with _one_blas_thread():
                self.pool = _start_pool(self.workers)
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)     # (after an error: drop the queued tasks)
            self.pool = None

    @property
    def where(self) -> str:
        if self.address:
            return f"Dask cluster at {self.address}"
        return f"this machine (Dask's local {self.local} scheduler, {self.workers} workers)"

    def compute(self, values: list, desc: str) -> list:
        """The results of ``values`` (delayed), in order."""
        if self.client is None:
            import dask

            # (the scheduler as a function: Dask then does not import distributed to look for a
            # client, a second on this machine)
            if self.local == "processes":
                from functools import partial

                from dask.multiprocessing import get
                if self.pool is None:
                    raise RuntimeError("use the Runner as a context manager (with Runner(...) as runner)")
                scheduler = partial(get, pool=_Queued(self.pool, self.workers), chunksize=1)
            else:
                from dask.threaded import get as scheduler
            with _progress_callback(desc, self.show_progress):
                return list(dask.compute(*values, scheduler=scheduler, num_workers=self.workers))
        from distributed import as_completed
        from tqdm import tqdm

        futures = self.client.compute(values)
        with tqdm(total=len(futures), desc=desc, unit="group", leave=False, disable=not self.show_progress) as bar:
            for _ in as_completed(futures):
                bar.update(1)
        return self.client.gather(futures)


__all__ = ["Runner", "LOCAL_SCHEDULERS", "default_workers", "tree"]
