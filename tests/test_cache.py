"""The bounded single-flight cache and its keys."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from riskmodel import Contracts, OwnerCover, Policy, Section
from riskmodel.analysis.cache import Cache, digest


def test_bound_on_entries_keeps_the_most_recently_used():
    cache = Cache(3)
    for k in "abc":
        cache.get(k, lambda k=k: k.upper())
    cache.get("a", lambda: pytest.fail("kept: not computed again"))     # a is now the newest
    cache.get("d", lambda: "D")
    assert len(cache) == 3
    assert "b" not in cache and all(k in cache for k in "acd")


def test_bound_on_bytes():
    cache = Cache(100, max_bytes=3 * 8_000)
    for i in range(10):
        cache.get(i, lambda: np.zeros(1_000))
        assert cache.bytes <= 3 * 8_000
    assert len(cache) == 3 and all(i in cache for i in (7, 8, 9))
    big = cache.get("big", lambda: np.zeros(10_000))         # alone over the bound: still returned
    assert big.size == 10_000 and len(cache) == 1


def test_single_flight_under_threads():
    cache, calls, started = Cache(4), [], threading.Event()
    release = threading.Event()

    def slow():
        calls.append(1)
        started.set()
        assert release.wait(30)
        return object()

    with ThreadPoolExecutor(5) as pool:
        waiting = [pool.submit(cache.get, "k", slow) for _ in range(4)]
        assert started.wait(30)
        other = pool.submit(cache.get, "other", lambda: 42)     # another key is not held up
        assert other.result(timeout=30) == 42
        assert not any(w.done() for w in waiting)
        release.set()
        results = [w.result(timeout=30) for w in waiting]
    assert len(calls) == 1 and all(r is results[0] for r in results)


def test_a_failed_computation_is_not_kept_and_reaches_the_waiters():
    cache, started, release = Cache(4), threading.Event(), threading.Event()

    def broken():
        started.set()
        assert release.wait(30)
        raise RuntimeError("boom")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, "k", broken)
        assert started.wait(30)
        second = pool.submit(cache.get, "k", lambda: pytest.fail("waits for the first"))
        release.set()
        for f in (first, second):
            with pytest.raises(RuntimeError, match="boom"):
                f.result(timeout=30)
    assert "k" not in cache
    assert cache.get("k", lambda: 7) == 7


def policy(**kw):
    base = dict(name="P", aggregate_limit=50_000.0, excess=1_000.0, limit_any_one_claim=None,
                sections={"extortion": Section(sublimit=10_000.0)}, requires_controls=("mfa",))
    return Policy(**{**base, **kw})


def test_keys_equal_for_equal_inputs_built_separately():
    assert digest(policy()) == digest(policy())
    a = policy(sections={"extortion": Section(sublimit=10_000.0), "crime": Section(covered=False)})
    b = policy(sections={"crime": Section(covered=False), "extortion": Section(sublimit=10_000.0)})
    assert digest(a) == digest(b)                               # a mapping's order does not matter
    c1 = Contracts({"supplier": OwnerCover({"data_restoration": 1.0}, 0.6, 20_000.0)})
    c2 = Contracts({"supplier": OwnerCover({"data_restoration": 1.0}, 0.6, 20_000.0)})
    assert digest(c1) == digest(c2)
    assert digest(np.arange(3.0), (1, "a")) == digest(np.arange(3.0), (1, "a"))


@pytest.mark.parametrize("change", [
    dict(name="Q"), dict(aggregate_limit=50_001.0), dict(excess=0.0), dict(limit_any_one_claim=1e5),
    dict(sections={"extortion": Section(sublimit=10_001.0)}), dict(sections={}),
    dict(sections={"extortion": Section(sublimit=10_000.0, excess=5.0)}),
    dict(requires_controls=()), dict(coinsurance=0.1), dict(waiting_period_hours=12.0),
    dict(waiting_period_mode="qualifying"), dict(indemnity_period_hours=48.0), dict(cover=False),
    dict(warranty_denial_probability=0.5),
])
def test_keys_differ_when_any_field_differs(change):
    assert digest(policy(**change)) != digest(policy())


def test_keys_tell_types_and_values_apart():
    values = [None, True, False, 0, 1, 0.0, -0.0, 1.0, "1", b"1", (1,), [1], (1, 2), ((1,), 2),
              np.zeros(2), np.zeros(2, dtype=np.float32), np.zeros((1, 2)), {"a": 1}, {"a": 2}]
    assert len({digest(v) for v in values}) == len(values)
    with pytest.raises(TypeError, match="fields"):
        digest(object())
