"""``add_total`` (the portfolio's yearly sum) against ``accumulate`` (the engine's), bit for bit."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.simulation.draws import RiskLosses
from riskmodel.simulation.sums import SPARSE_SUM_BELOW, accumulate, add_total


@st.composite
def chunk_losses(draw):
    """Risks with random events over ``n`` years: some dense, some sparse, some empty, sharing
    components in any order."""
    n = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    g = np.random.default_rng(seed)
    losses = []
    for i in range(draw(st.integers(0, 7))):
        m = int(g.choice([0, 1, g.integers(1, n + 1), g.integers(n, 4 * n + 2)]))
        comps = tuple(sorted(g.choice(9, size=int(g.integers(1, 4)), replace=False).tolist()))
        values = g.lognormal(5, 2, (len(comps), m)) * (g.random((len(comps), m)) < 0.7)
        losses.append(RiskLosses(i, g.integers(0, n, m), comps, values, None, None))
    return n, losses


@settings(max_examples=300, deadline=None)
@given(chunk_losses())
def test_add_total_is_accumulates_total_to_the_last_bit(case):
    n, losses = case
    a = np.zeros(n)
    accumulate(losses, n, a)
    for rl in losses:                     # (accumulate keeps its sums with the events)
        rl.per_trial = rl.sums = None
    b = np.zeros(n)
    add_total(losses, n, b)
    assert np.array_equal(a.view(np.int64), b.view(np.int64))


def test_both_paths_are_taken():
    """A risk below the sparse threshold is summed over its years only, one above over all: the
    property above covers both (a mutation of either path fails it)."""
    n = 100
    g = np.random.default_rng(1)
    sparse = RiskLosses(0, g.integers(0, n, int(SPARSE_SUM_BELOW * n) - 1), (0, 3), g.random((2, 24)), None, None)
    dense = RiskLosses(1, g.integers(0, n, 3 * n), (3,), g.random((1, 3 * n)), None, None)
    a, b = np.zeros(n), np.zeros(n)
    accumulate([sparse, dense], n, a)
    sparse.per_trial = sparse.sums = dense.per_trial = dense.sums = None
    add_total([sparse, dense], n, b)
    assert np.array_equal(a, b)
    assert sparse.per_trial is None       # the sparse risk never built its dense rows
