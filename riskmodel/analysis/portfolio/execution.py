"""Running the tasks on Dask: the local scheduler of this machine, or a cluster.

Tasks are leaves of a Dask graph; their results are added pairwise in the graph (a tree), so
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


def tree(delayed, merge, leaves: list, name: str):
    """``leaves`` added pairwise with ``merge`` (a delayed tree), as one delayed value."""
    level = 0
    while len(leaves) > 1:
        nxt = []
        for i in range(0, len(leaves) - 1, 2):
            nxt.append(delayed(merge)(leaves[i], leaves[i + 1], dask_key_name=f"{name}-merge-{level}-{i}"))
        if len(leaves) % 2:
            nxt.append(leaves[-1])
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
def _one_blas_thread(enabled: bool):
    """Worker processes started meanwhile (Dask's local processes scheduler spawns them: they
    import numpy afresh) run OpenBLAS on one thread: each worker's work is single-threaded numpy
    with a few tiny matrix-vector products, and OpenBLAS's own threads, one per core in every
    worker, wait for work by spinning on the cores the other workers need (measured: 3-10% less
    CPU in the workers of a 1,500-practice book). A value the user set is kept."""
    if not enabled or "OPENBLAS_NUM_THREADS" in os.environ:
        yield
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OPENBLAS_NUM_THREADS", None)


class Runner:
    """Computes delayed values locally (``address=None``) or on the Dask cluster at ``address``
    (``tcp://HOST:PORT``). Use as a context manager (the cluster connection is closed at exit)."""

    def __init__(self, address: str | None = None, *, local: str = "threads", workers: int | None = None,
                 show_progress: bool | None = None):
        if local not in LOCAL_SCHEDULERS:
            raise ValueError(f"local scheduler must be one of {', '.join(LOCAL_SCHEDULERS)}, got {local!r}")
        self.address, self.local = address, local
        self.workers = workers or default_workers()
        self.show_progress = sys.stderr.isatty() if show_progress is None else show_progress
        self.client = None

    def __enter__(self) -> "Runner":
        if self.address:
            from distributed import Client

            self.client = Client(self.address, timeout="30s")
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    @property
    def where(self) -> str:
        if self.address:
            return f"Dask cluster at {self.address}"
        return f"this machine (Dask's local {self.local} scheduler, {self.workers} workers)"

    def compute(self, values: list, desc: str) -> list:
        """The results of ``values`` (delayed), in order."""
        if self.client is None:
            import dask

            with _progress_callback(desc, self.show_progress), _one_blas_thread(self.local == "processes"):
                return list(dask.compute(*values, scheduler=self.local, num_workers=self.workers))
        from distributed import as_completed
        from tqdm import tqdm

        futures = self.client.compute(values)
        with tqdm(total=len(futures), desc=desc, unit="group", leave=False, disable=not self.show_progress) as bar:
            for _ in as_completed(futures):
                bar.update(1)
        return self.client.gather(futures)


__all__ = ["Runner", "LOCAL_SCHEDULERS", "default_workers", "tree"]
