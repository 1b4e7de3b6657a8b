"""The engine's two samplers (``riskmodel.simulation.sampling``) against independent methods:
yearly Poisson counts against scipy's Poisson quantile function on the same uniforms, and the
occurrences of a component against the binomial and geometric laws, with tolerances from the
standard error."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from riskmodel.simulation import sampling
from riskmodel.simulation.sampling import INVERT_RATE_UP_TO, SPARSE_BELOW, SPARSE_FROM, occurrences, yearly_events


def _gen(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.SFC64(seed))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n=st.integers(1, 400),
       scale=st.sampled_from([0.01, 0.3, 1.0, 2.0, 5.0, 10.0, 40.0]))
def test_yearly_counts_are_the_poisson_quantiles_of_their_uniforms(seed, n, scale):
    lam = scale * _gen(seed ^ 1).lognormal(0.0, 0.8, n)
    trial = yearly_events(_gen(seed), lam)
    counts = np.bincount(trial, minlength=n)
    assert trial.dtype == np.int64 and counts.size == n
    # the oracle: the same uniforms through scipy's Poisson quantile function (inverted years),
    # then numpy's Poisson sampler from the same stream for the others, in year order
    g = _gen(seed)
    u = g.random(n)
    small = lam <= INVERT_RATE_UP_TO
    want = np.empty(n, dtype=np.int64)
    want[small] = stats.poisson.ppf(u[small], lam[small]).astype(np.int64)
    want[~small] = g.poisson(lam[~small])
    assert np.array_equal(counts, want)


@pytest.mark.parametrize("lam", [0.04, 0.7, 2.0, 6.0, 9.9, 10.0, 10.1, 25.0])
def test_yearly_counts_follow_the_poisson_law(lam):
    n = 400_000
    counts = np.bincount(yearly_events(_gen(11), np.full(n, lam)), minlength=n)
    assert abs(counts.mean() - lam) < 5 * math.sqrt(lam / n)
    top = int(stats.poisson.ppf(1 - 1e-4, lam))
    seen = np.bincount(np.minimum(counts, top), minlength=top + 1)
    expected = np.append(stats.poisson.pmf(np.arange(top), lam), stats.poisson.sf(top - 1, lam)) * n
    chi2 = ((seen - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(1 - 1e-6, top)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n=st.integers(1, 3000), mu=st.floats(-8.0, 3.5),
       sigma=st.floats(0.01, 2.5), cap=st.sampled_from([5.0, 50.0, 1e6]),
       per_year=st.booleans())
def test_lognormal_rates_give_the_events_of_their_rates_bit_for_bit(seed, n, mu, sigma, cap, per_year):
    """``lognormal_yearly_events`` skips the rate and P(0) of years that cannot have an event:
    the same events, in the same order, as ``yearly_events`` on the rates computed in full."""
    factor = 0.3 + 3 * _gen(seed ^ 5).random(n) if per_year else 0.85
    got = sampling.lognormal_yearly_events(_gen(seed), n, mu, sigma, cap, factor)
    g = _gen(seed)
    lam = np.minimum(np.exp(mu + sigma * g.standard_normal(n)), cap) * factor
    want = yearly_events(g, lam)                 # (its uniforms drawn after the normals)
    assert got.dtype == np.int64 and np.array_equal(got, want)


def test_yearly_counts_of_zero_rates_are_zero():
    assert yearly_events(_gen(3), np.zeros(1000)).size == 0


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), m=st.integers(0, 30_000),
       prob=st.sampled_from([1e-4, 0.01, 0.05, 0.2, 0.249, 0.25, 0.5, 0.99]))
def test_occurrences_are_distinct_events_in_order(seed, m, prob):
    at = occurrences(_gen(seed), m, prob)
    assert at.dtype == np.int64
    assert at.size == 0 or (at[0] >= 0 and at[-1] < m)
    assert np.all(np.diff(at) > 0)


def _chi2_ok(seen: np.ndarray, expected: np.ndarray) -> bool:
    chi2 = ((seen - expected) ** 2 / expected).sum()
    return chi2 < stats.chi2.ppf(1 - 1e-6, seen.size - 1)


@pytest.mark.parametrize("prob", [0.001, 0.01, 0.05, 0.2, 0.5])
@pytest.mark.parametrize("m", [SPARSE_FROM // 2, 300_000])
def test_occurrences_follow_the_bernoulli_law(prob, m):
    """Over many chunks: the number of occurrences is binomial (m, prob), they fall uniformly
    over the chunk's events, and (with many per chunk) the gaps between them are geometric (prob)."""
    chunks = max(1, 3_000_000 // m)
    counts = np.empty(chunks)
    where = np.zeros(20)
    gaps = []
    g = _gen(2026)
    for c in range(chunks):
        at = occurrences(g, m, prob)
        counts[c] = at.size
        where += np.bincount(at * 20 // m, minlength=20)
        gaps.append(np.diff(at, prepend=-1))
    n = m * chunks
    assert abs(counts.sum() - n * prob) < 5 * math.sqrt(n * prob * (1 - prob))
    if chunks > 30:
        assert abs(counts.var(ddof=1) / (m * prob * (1 - prob)) - 1) < 5 * math.sqrt(2 / (chunks - 1))
    assert _chi2_ok(where, np.full(20, counts.sum() / 20))
    if m * prob < 100:
        return          # (few gaps per chunk: the window's end would bias the gaps seen)
    gaps = np.concatenate(gaps)
    # bins of about equal probability: P(a <= G < b) = (1 - p)^(a - 1) - (1 - p)^(b - 1)
    edges = np.unique(np.maximum(1, np.ceil(stats.geom.ppf(np.linspace(0, 1, 21)[:-1], prob))).astype(np.int64))
    seen = np.bincount(np.searchsorted(edges, gaps, side="right") - 1, minlength=edges.size)
    survive = (1 - prob) ** (np.append(edges, np.inf) - 1.0)
    assert _chi2_ok(seen, (survive[:-1] - survive[1:]) * gaps.size)


def test_occurrences_across_many_batches(monkeypatch):
    """A batch of gaps that ends before the last event is followed by another: with batches of
    one gap the law is the same."""
    monkeypatch.setattr(sampling, "_batch", lambda expected: 1)
    m, prob, chunks = 20_000, 0.01, 150
    g = _gen(5)
    total = sum(occurrences(g, m, prob).size for _ in range(chunks))
    n = m * chunks
    assert abs(total - n * prob) < 5 * math.sqrt(n * prob * (1 - prob))
    assert SPARSE_BELOW > prob and m >= SPARSE_FROM      # (the gaps' path, not the uniforms')
