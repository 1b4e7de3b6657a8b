"""Process memory settings for numpy-heavy work."""
from __future__ import annotations

import functools


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed memory instead of returning it to the system.

    The engine and re-pricing allocate event-sized arrays all the time; with glibc's defaults
    each one is a fresh mapping whose pages the kernel must fault in and zero (about 2 µs a page
    on the project's machines), a large share of the work. Raising the
    mmap and trim thresholds (``mallopt``) keeps freed memory in the process for reuse. Called
    once by processes that are riskmodel's own: the command line, the dashboard's kernel and the
    portfolio's worker processes (a library caller's process is left as it is); a no-op where
    glibc is not the allocator. Peak memory is unchanged; memory is returned at exit. Also turns
    off numpy's huge-page advice (see :func:`_no_hugepage_advice`).
    """
    import ctypes
    import ctypes.util

    _no_hugepage_advice()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 30) and mallopt(M_TRIM_THRESHOLD, 1 << 30)
                and mallopt(M_TOP_PAD, 1 << 28))


def _no_hugepage_advice() -> None:
    """Stop numpy asking for transparent huge pages on large arrays (its default on Linux).

    Where the kernel compacts memory to find huge pages on request (``defrag=madvise``, as on the
    project's machines), a fresh 80 MB array took 120-200 ms instead of 15-35 ms to fill; with
    the advice off, a new dashboard scenario's system time fell from 0.36 s to 0.10 s. The same
    switch as ``NUMPY_MADVISE_HUGEPAGE=0``.
    """
    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)
