"""One bounded, single-flight cache, and stable keys for it.

:class:`Cache` keeps values under explicit keys, least recently used first out, within a number
of entries and of bytes; a value asked for by two threads at once is computed once (the second
waits for the first). :func:`digest` builds keys from frozen inputs: a stable hash of a
dataclass's fields (and of numbers, strings, arrays and containers of them), equal for equal
inputs built separately, different when any field differs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future
from enum import Enum
from pathlib import PurePath
from typing import Any

import numpy as np


def digest(*values: Any) -> str:
    """A stable hex digest of ``values`` (dataclasses by type and fields, numbers by value and
    type, arrays by dtype, shape and bytes, mappings whatever their order).

    Raises
    ------
    TypeError
        For a value of a type without a stable digest (give the cache a key built of its fields).
    """
    h = hashlib.blake2b(digest_size=20)
    for v in values:
        _feed(h, v)
    return h.hexdigest()


def _feed(h, v: Any) -> None:
    if v is None or isinstance(v, bool):
        h.update(b"N" if v is None else b"T" if v else b"F")
    elif isinstance(v, Enum):
        h.update(b"E" + type(v).__qualname__.encode())
        _feed(h, v.value)
    elif isinstance(v, int):
        h.update(b"i%d;" % v)
    elif isinstance(v, float):
        h.update(b"f" + struct.pack("<d", v))
    elif isinstance(v, str):
        b = v.encode()
        h.update(b"s%d:" % len(b) + b)
    elif isinstance(v, bytes):
        h.update(b"b%d:" % len(v) + v)
    elif isinstance(v, PurePath):
        h.update(b"P")
        _feed(h, str(v))
    elif isinstance(v, np.ndarray):
        h.update(b"a" + v.dtype.str.encode() + repr(v.shape).encode())
        h.update(np.ascontiguousarray(v).tobytes())
    elif isinstance(v, np.generic):
        _feed(h, v.item())
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        h.update(b"D" + f"{type(v).__module__}.{type(v).__qualname__}".encode())
        for f in dataclasses.fields(v):
            if f.compare:                      # what equality compares is what the value is
                _feed(h, f.name)
                _feed(h, getattr(v, f.name))
    elif isinstance(v, Mapping):
        items = sorted(((digest(k), x) for k, x in v.items()), key=lambda kx: kx[0])
        h.update(b"M%d:" % len(items))
        for dk, x in items:
            h.update(dk.encode())
            _feed(h, x)
    elif isinstance(v, (tuple, list)):
        h.update(b"L%d:" % len(v) if isinstance(v, list) else b"U%d:" % len(v))
        for x in v:
            _feed(h, x)
    elif isinstance(v, (set, frozenset)):
        h.update(b"S%d:" % len(v) + "".join(sorted(digest(x) for x in v)).encode())
    else:
        raise TypeError(f"no stable digest for a {type(v).__name__}: build the key from its fields")


def nbytes(value: Any, _seen: set | None = None) -> int:
    """Bytes of the arrays a value holds (through tuples, lists, dicts and dataclasses; each
    array counted once)."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes if value.base is None else 0     # views share their base's bytes
    if isinstance(value, (tuple, list)):
        return sum(nbytes(x, seen) for x in value)
    if isinstance(value, dict):
        return sum(nbytes(x, seen) for x in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    return 0


class Cache:
    """Values by key, least recently used out, computed once however many threads ask.

    Parameters
    ----------
    max_entries : int
        Most values kept.
    max_bytes : int, optional
        Most bytes kept (as :func:`nbytes` counts them, or ``size``); the value just computed is
        kept even if it alone is larger. Without it, values are not measured.
    size : callable, optional
        Bytes of a value (default :func:`nbytes`).
    """

    def __init__(self, max_entries: int, max_bytes: int | None = None,
                 size: Callable[[Any], int] = nbytes):
        if max_entries < 1:
            raise ValueError("a cache keeps at least one entry")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Future, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def bytes(self) -> int:
        """Bytes of the values kept."""
        return self._bytes

    def __contains__(self, key: Hashable) -> bool:
        """Whether a value is kept (computed and not evicted) under ``key``."""
        with self._lock:
            entry = self._entries.get(key)
        return entry is not None and entry[0].done() and entry[0].exception() is None

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``key``; computed by ``compute()`` if not kept (by this thread, while
        others asking for ``key`` wait for it). The lock is held only to look up and insert,
        never while computing. A computation that fails is not kept: its error goes to every
        thread waiting for it, and the next request computes again."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                future = entry[0]
            else:
                future = Future()
                self._entries[key] = (future, 0)
        if entry is not None:
            return future.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                if self._entries.get(key, (None,))[0] is future:
                    del self._entries[key]
            future.set_exception(exc)
            raise
        future.set_result(value)
        self._admit(key, future, self._measure(value))
        return value

    def peek(self, key: Hashable, default: Any = None) -> Any:
        """The value kept under ``key`` if it is ready, else ``default`` (never waits or computes)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry[0].done() or entry[0].exception() is not None:
                return default
            self._entries.move_to_end(key)
            return entry[0].result()

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` (replacing what was kept)."""
        future = Future()
        future.set_result(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (future, 0)
        self._admit(key, future, self._measure(value))

    def _measure(self, value: Any) -> int:
        return 0 if self.max_bytes is None else self._size(value)

    def _admit(self, key: Hashable, future: Future, size: int) -> None:
        """Count a computed value's bytes and evict the least recently used down to the bounds."""
        with self._lock:
            if self._entries.get(key, (None,))[0] is not future:
                return                                  # cleared meanwhile
            self._entries[key] = (future, size)
            self._bytes += size
            while len(self._entries) > 1 and (
                    len(self._entries) > self.max_entries
                    or (self.max_bytes is not None and self._bytes > self.max_bytes)):
                oldest = next(iter(self._entries))
                if oldest == key:
                    self._entries.move_to_end(key)      # the newest value stays
                    oldest = next(iter(self._entries))
                _, gone = self._entries.pop(oldest)
                self._bytes -= gone

    def clear(self) -> None:
        """Forget every value (computations under way finish for those waiting on them)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class Memo:
    """A :class:`Cache` seen as the ``get``/``[key] = value`` mapping a function that takes a
    memo dict uses (e.g. :func:`riskmodel.simulation.draws.realise`)."""

    def __init__(self, cache: Cache):
        self.cache = cache

    def get(self, key: Hashable, default: Any = None) -> Any:
        return self.cache.peek(key, default)

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self.cache.put(key, value)
