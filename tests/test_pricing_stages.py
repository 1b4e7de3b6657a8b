"""Each pricing stage on its own, by hand, against the rule of docs/model.md."""
from __future__ import annotations

import numpy as np
import pytest

from riskmodel import Policy, Section
from riskmodel.coverage.contract import contract_cover
from riskmodel.coverage.events import K
from riskmodel.coverage.erosion import erode, share, within_year_paid
from riskmodel.coverage.stages import Claims, Sections, claim_limit, policy_excess, section_excesses


def test_contract_cover_shares_recovery_and_cap():
    values = np.array([[100.0, 100.0, 400.0], [50.0, 0.0, 400.0]])     # 2 components, 3 events
    left, per_event, sums = contract_cover(values, np.array([1.0, 0.5]), 0.5, 500.0,
                                           np.array([0.1, 0.9, 0.2], dtype=np.float32))
    # event 0: pays 100 + 25; event 1: not recovered (0.9 >= 0.5); event 2: 600 capped at 500
    np.testing.assert_allclose(per_event, [125.0, 0.0, 500.0])
    np.testing.assert_allclose(left + (values - left), values)
    np.testing.assert_allclose(sums["contract"] + sums["left"], sums["gross"])
    assert (left >= 0).all()


def erosion_by_loop(x, trial, time, limit):
    """The rule in words: each year's events in time order, each paid what is left of the limit."""
    out = np.empty_like(x)
    for t in np.unique(trial):
        used = 0.0
        for i in np.flatnonzero(trial == t)[np.argsort(time[trial == t], kind="stable")]:
            out[i] = min(used + x[i], limit) - min(used, limit)
            used += x[i]
    return out


def test_erosion_pays_in_time_order_within_each_year_exactly():
    rng = np.random.default_rng(1)
    trial = rng.integers(0, 50, 600)
    x = rng.lognormal(9, 1.2, trial.size)
    time = rng.random(trial.size).astype(np.float32)
    totals = np.bincount(trial, weights=x, minlength=50)
    np.testing.assert_array_equal(erode(x, trial, time, totals, 30_000.0),
                                  erosion_by_loop(x, trial, time, 30_000.0))
    assert erode(x, trial, time, totals, 1e12) is x                     # no year reaches it
    order = np.lexsort((time, trial))
    np.testing.assert_array_equal(within_year_paid(x[order], trial[order], 30_000.0),
                                  erosion_by_loop(x, trial, time, 30_000.0)[order])


def test_share_never_scales_an_amount_up():
    np.testing.assert_array_equal(share(np.array([2.0, -1e-12, 1.0, 5.0]), np.array([1.0, 1.0, 0.0, -1e-12])),
                                  [1.0, 0.0, 0.0, 0.0])


def claims_of(work, cols, reasons=True):
    return Claims(np.array(work, dtype=float), {k: [np.array(i), np.array(v, dtype=float)] for k, (i, v) in cols.items()},
                  {r: np.zeros(K) for r in ("excess", "claim limit")} if reasons else None, [("exclusion", None)])


def test_excesses_own_then_shared_pro_rata():
    pol = Policy(aggregate_limit=1e9, excess=1_000.0,
                 sections={"extortion": Section(sublimit=1e6), "crime": Section(excess=500.0)})
    s = Sections.of(pol)
    ext, crime = s.special
    claims = claims_of([3_000.0, 500.0], {ext: ([0], [1_000.0]), crime: ([1], [800.0])})
    section_excesses(s, claims)
    np.testing.assert_allclose(claims.cols[crime][1], [300.0])           # its own excess only
    policy_excess(pol, s, claims)
    # event 0: 3,000 regular + 1,000 extortion share the 1,000 excess: 3/4 and 1/4 kept
    np.testing.assert_allclose(claims.cols[ext][1], [750.0])
    np.testing.assert_allclose(claims.work, [3_000.0, 300.0])            # + crime after its excess
    assert claims.stages[-1][0] == "excess"
    np.testing.assert_allclose(claims.stages[-1][1], [0.75, 0.0])


@pytest.mark.parametrize("reasons", [True, False])
def test_claim_limit_pro_rata_over_sections(reasons):
    pol = Policy(aggregate_limit=1e9, limit_any_one_claim=1_000.0, sections={"extortion": Section(sublimit=1e6)})
    s = Sections.of(pol)
    (ext,) = s.special
    claims = claims_of([4_000.0, 600.0], {ext: ([0], [1_000.0])}, reasons)
    claim_limit(pol, claims)
    np.testing.assert_allclose(claims.work, [1_000.0, 600.0])
    np.testing.assert_allclose(claims.cols[ext][1], [250.0])
    if reasons:
        assert claims.reasons["claim limit"][ext] == pytest.approx(750.0)
