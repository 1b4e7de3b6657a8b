"""The engine against closed forms, an exact FFT method, and its own guarantees."""
from __future__ import annotations

import math

import numpy as np
import pytest

from riskmodel import InputError, load_register, simulate
from riskmodel.analysis.engine import ScenarioModel
from riskmodel.simulation.draws import CHUNK

from .conftest import REGISTERS, lognormal_range, risk

MU, SIGMA, LAM = 10.0, 1.5, 2.0


def within(estimate, exact, se, k=4.0):
    """|estimate - exact| within k standard errors."""
    assert abs(estimate - exact) <= k * se, f"{estimate} vs {exact} (se {se})"


def test_compound_poisson_mean_and_second_moment(make_register):
    lo, hi = lognormal_range(MU, SIGMA)
    reg = load_register(make_register([risk(events_per_year=LAM, incident_response_low=lo,
                                            incident_response_high=hi)]))
    res = simulate(reg, 400_000, seed=11)
    x = res.gross
    ex, ex2 = math.exp(MU + SIGMA**2 / 2), math.exp(2 * MU + 2 * SIGMA**2)
    mean, var = LAM * ex, LAM * ex2
    within(x.mean(), mean, x.std() / math.sqrt(x.size))
    # E[S^2] = Var + mean^2, a mean whose standard error we estimate from the sample
    s2 = x**2
    within(s2.mean(), var + mean**2, s2.std() / math.sqrt(x.size), k=5)


def test_overdispersed_count_closed_form(make_register):
    # constant loss 1,000 (low == high) makes S = 1000 N, so counts can be checked exactly
    reg = load_register(make_register([risk(events_per_year="", events_low=0.5, events_high=4,
                                            incident_response_low=1000, incident_response_high=1000)]))
    f = reg.risks[0].frequency
    n = simulate(reg, 300_000, seed=3).gross / 1000
    assert np.allclose(n, np.round(n))
    within(n.mean(), f.mean, n.std() / math.sqrt(n.size))
    n2 = n**2
    within(n2.mean(), f.variance() + f.mean**2, n2.std() / math.sqrt(n.size), k=5)
    assert f.variance() > f.mean  # overdispersed


def test_percentiles_against_exact_fft(make_register):
    aggregate = pytest.importorskip("aggregate")
    lo, hi = lognormal_range(MU, SIGMA)
    reg = load_register(make_register([risk(events_per_year=LAM, incident_response_low=lo,
                                            incident_response_high=hi)]))
    res = simulate(reg, 400_000, seed=5)
    exact = aggregate.build(f"agg Check {LAM} claims sev {math.exp(MU)} * lognorm {SIGMA} poisson",
                            log2=18, bs=200, normalize=False)
    T = res.gross.size
    for p in (0.5, 0.9, 0.95, 0.99):
        q = np.quantile(res.gross, p)
        # the exact CDF at the simulated percentile is p up to binomial sampling error
        F = float(exact.cdf(q))
        within(F, p, math.sqrt(p * (1 - p) / T), k=4.5)


def test_same_seed_same_numbers_bit_for_bit_whatever_threads():
    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    a = simulate(reg, 3 * CHUNK // 2, seed=7, threads=1)
    b = simulate(reg, 3 * CHUNK // 2, seed=7, threads=2)
    assert np.array_equal(a.gross, b.gross)
    assert np.array_equal(a.by_risk, b.by_risk)
    assert np.array_equal(a.risk_mean, b.risk_mean) and np.array_equal(a.component_mean, b.component_mean)
    assert a.summary() == b.summary()
    c = simulate(reg, 3 * CHUNK // 2, seed=8)
    assert not np.array_equal(a.gross, c.gross)


def test_whole_chunks_are_a_prefix_of_a_longer_run():
    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    short = simulate(reg, CHUNK, seed=2)
    long = simulate(reg, CHUNK + 10, seed=2)
    assert np.array_equal(short.gross, long.gross[:CHUNK])


def test_risks_get_independent_streams(make_register):
    reg = load_register(make_register([risk("A"), risk("B")]))
    res = simulate(reg, 200_000, seed=1)
    a, b = res.by_risk
    assert not np.array_equal(a, b)
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 4 / math.sqrt(a.size)


def test_adding_a_risk_keeps_other_risks_numbers(make_register, tmp_path):
    from .conftest import write_register
    one = load_register(write_register(tmp_path / "a", [risk("A")]))
    two = load_register(write_register(tmp_path / "b", [risk("A"), risk("Z")]))
    assert np.array_equal(simulate(one, 5000, seed=4).by_risk[0], simulate(two, 5000, seed=4).by_risk[0])


def test_controls_in_place_never_raise_any_years_loss():
    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    planned = {c: False for c in reg.control_status}
    in_place = {c: True for c in reg.control_status}
    lo = simulate(reg, 50_000, seed=9, control_status=in_place).gross
    hi = simulate(reg, 50_000, seed=9, control_status=planned).gross
    assert np.all(lo <= hi + 1e-9)
    assert lo.mean() < hi.mean()


def test_frequency_control_closed_form(make_register):
    # MFA reduces frequency by U(0.5, 0.9): expected factor 0.3
    reg = load_register(make_register([risk(events_per_year=2, controls="mfa")]))
    res = simulate(reg, 300_000, seed=12)
    ex = reg.risks[0].components[0].dist.mean()
    within(res.gross.mean(), 2 * 0.3 * ex, res.gross.std() / math.sqrt(res.gross.size))


def _shock_register(make_register, **shock):
    rows = [risk("S", category="supplier_outage", system_owner="supplier", events_per_year=0.5,
                 common_shock="yes", shock_multiplier=3, **shock),
            risk("A", events_per_year=1.0)]
    return load_register(make_register(rows))


def test_common_shock_concentrates_events_and_keeps_the_long_run_rate(make_register):
    """Default: the register's rate is the long-run average; a shock year has M times the rate
    of a year without: base rate r / (1 + (M - 1) P), P = 1 - exp(-0.5)."""
    reg = _shock_register(make_register)
    res = simulate(reg, 300_000, seed=13)
    p_shock = 1 - math.exp(-0.5)
    ex = reg.risks[1].components[0].dist.mean()
    a, shock_year = res.by_risk[1], res.by_risk[0] > 0
    within(a.mean(), 1.0 * ex, a.std() / math.sqrt(a.size))
    base = 1.0 / (1 + 2 * p_shock)
    for years, rate in ((shock_year, 3 * base), (~shock_year, base)):
        within(a[years].mean(), rate * ex, a[years].std() / math.sqrt(years.sum()))
    within(shock_year.mean(), p_shock, math.sqrt(p_shock * (1 - p_shock) / a.size))
    # and losses of the two risks become positively correlated
    assert np.corrcoef(res.by_risk[0], a)[0, 1] > 0.05


def test_common_shock_that_adds_events_raises_the_long_run_rate(make_register):
    """``shock_effect = add``: the register's rate is that of years without the shock."""
    reg = _shock_register(make_register, shock_effect="add")
    res = simulate(reg, 300_000, seed=13)
    p_shock = 1 - math.exp(-0.5)
    ex = reg.risks[1].components[0].dist.mean()
    a = res.by_risk[1]
    within(a.mean(), 1.0 * ex * (1 + 2 * p_shock), a.std() / math.sqrt(a.size))


def _counts(make_register, rows, trials, seed):
    """Each risk's yearly event count (every event costs exactly 1,000)."""
    for r in rows:
        r.update(incident_response_low=1000, incident_response_high=1000)
    reg = load_register(make_register(rows))
    res = simulate(reg, trials, seed=seed)
    counts = res.by_risk / 1000
    assert np.allclose(counts, np.round(counts))
    return reg, np.round(counts)


def _poisson_mean(counts, rate, what):
    """The mean of ``counts`` against a Poisson(``rate``) mean, within 4 of its standard errors."""
    assert counts.size > 1000, what
    within(counts.mean(), rate, math.sqrt(rate / counts.size))


def test_shock_removed_by_a_control_leaves_its_targets_at_the_base_rate(make_register):
    """Potential events of a target carry the shock's multiplier only in the years where the shock
    has a potential event; where a frequency control on the shock removed it, they are thinned
    back: the target's count is Poisson(M b) in years the shock occurred, Poisson(b) in the
    others, whatever the control did (b from the register rate and P, the chance of a shock year
    before controls: docs/model.md)."""
    rows = [risk("S", category="supplier_outage", system_owner="supplier", events_per_year=0.5,
                 common_shock="yes", shock_multiplier=3, controls="mfa"),
            risk("A", events_per_year=2.0)]
    reg, n = _counts(make_register, rows, 400_000, 17)
    assert reg.control_status["mfa"]
    base = 2.0 / (1 + 2 * (1 - math.exp(-0.5)))
    shock = n[0] > 0
    _poisson_mean(n[1][shock], 3 * base, "shock years")
    _poisson_mean(n[1][~shock], base, "other years")
    # the control made shock years rarer than P: 1 - E[exp(-0.5 (1 - U))], U ~ U(0.5, 0.9)
    p = 1 - (math.exp(-0.05) - math.exp(-0.25)) / 0.2
    within(shock.mean(), p, math.sqrt(p * (1 - p) / shock.size))


def test_two_shocks_on_one_target_multiply_in_years_both_occur(make_register):
    """Each combination of shocks gives the target its own rate: b times the multipliers of the
    shocks that occurred (the draws group years by the shocks that can occur in them)."""
    rows = [risk("S1", category="supplier_outage", system_owner="supplier", events_per_year=0.4,
                 common_shock="yes", shock_multiplier=3),
            risk("S2", category="supplier_outage", system_owner="supplier", events_per_year=0.7,
                 common_shock="yes", shock_multiplier=2),
            risk("A", events_per_year=1.5)]
    _, n = _counts(make_register, rows, 400_000, 19)
    p1, p2 = 1 - math.exp(-0.4), 1 - math.exp(-0.7)
    base = 1.5 / ((1 + 2 * p1) * (1 + p2))
    s1, s2 = n[0] > 0, n[1] > 0
    for years, mult in ((~s1 & ~s2, 1), (s1 & ~s2, 3), (~s1 & s2, 2), (s1 & s2, 6)):
        _poisson_mean(n[2][years], mult * base, f"multiplier {mult}")
    within(n[2].mean(), 1.5, math.sqrt(n[2].var() / n[2].size))


def test_shock_on_a_target_with_a_rate_range(make_register):
    """A target whose rate is lognormal per year gets the multiplier on that year's rate: its mean
    count is M b E[rate] in shock years and b E[rate] in the others (the rate independent of the
    shock)."""
    rows = [risk("S", category="supplier_outage", system_owner="supplier", events_per_year=0.3,
                 common_shock="yes", shock_multiplier=4),
            risk("A", events_per_year="", events_low=0.5, events_high=6)]
    reg, n = _counts(make_register, rows, 400_000, 23)
    mean = reg.risks[1].frequency.mean
    base = 1 / (1 + 3 * (1 - math.exp(-0.3)))
    shock = n[0] > 0
    for years, rate in ((shock, 4 * base * mean), (~shock, base * mean)):
        x = n[1][years]
        within(x.mean(), rate, x.std() / math.sqrt(x.size))


def test_targets_potential_events_carry_the_multiplier_only_where_a_shock_can_occur(make_register):
    """The draws themselves: a target's potential events number Poisson(M b) in a year with a
    potential shock event and Poisson(b) in the others (no events drawn to be thinned away in
    years no shock can hit)."""
    from riskmodel.simulation.draws import draw_chunk
    from riskmodel.simulation.plan import Plan

    rows = [risk("S", category="supplier_outage", system_owner="supplier", events_per_year=0.5,
                 common_shock="yes", shock_multiplier=3, controls="mfa"),
            risk("A", events_per_year=2.0)]
    plan = Plan.from_register(load_register(make_register(rows)))
    base = 2.0 / (1 + 2 * (1 - math.exp(-0.5)))
    counts, years = [], []
    for chunk in range(4):
        d = draw_chunk(plan, 29, chunk, chunk * CHUNK, CHUNK, aux=False)
        years.append(d.shock_years[0])
        assert np.array_equal(years[-1], np.bincount(d.risks[0].trial, minlength=CHUNK) > 0)
        counts.append(np.bincount(d.risks[1].trial, minlength=CHUNK))
    counts, years = np.concatenate(counts), np.concatenate(years)
    for where, rate in ((years, 3 * base), (~years, base)):
        _poisson_mean(counts[where], rate, "potential events")
        x = counts[where]          # Poisson: the variance equals the mean
        within(x.var(), rate, math.sqrt((rate + 2 * rate**2) / x.size))


@pytest.mark.parametrize("mult", [2.0, 0.5, 1.7])
@pytest.mark.parametrize("share", [0.0, 0.2, 1.0])
def test_one_shocks_year_groups_equal_the_general_grouping(mult, share):
    """A target of one shock takes a shortcut to its groups of years: the same groups, factors
    and per-year factors as the grouping by distinct products that several shocks use."""
    from types import SimpleNamespace

    from riskmodel.simulation.draws import groups_by_value, year_factor

    n = 1000
    hit = np.random.default_rng(3).random(n) < share
    f = year_factor(SimpleNamespace(shocks=((4, mult),), base=0.8), {4: hit}, n, {})
    values, years = groups_by_value(np.ones(n) * np.where(hit, mult, 1.0))
    assert f.factors == [0.8 * v for v in values]
    assert len(f.years) == len(years) and all(np.array_equal(a, b) for a, b in zip(f.years, years))
    assert np.array_equal(f.per_year, 0.8 * (np.ones(n) * np.where(hit, mult, 1.0)))


def test_chance_of_a_shock_year_with_a_lognormal_rate_matches_integration():
    from scipy import integrate, stats

    from riskmodel.inputs.register import Frequency

    f = Frequency.from_range(0.05, 2.0, "events_low/events_high")
    rate = f.rate
    exact = 1 - integrate.quad(lambda z: math.exp(-math.exp(rate.mu + rate.sigma * z)) * stats.norm.pdf(z),
                               -12, 12, epsabs=1e-13)[0]
    assert abs(f.prob_at_least_one() - exact) < 1e-10
    assert abs(Frequency(0.7).prob_at_least_one() - (1 - math.exp(-0.7))) < 1e-15


def test_shock_multipliers_are_capped_per_risk(make_register):
    rows = [risk(f"S{i}", category="supplier_outage", events_per_year=0.1, common_shock="yes",
                 shock_multiplier=5) for i in range(2)] + [risk("A")]
    with pytest.raises(InputError) as info:
        load_register(make_register(rows))
    text = str(info.value)
    assert "shock_multiplier" in text and "25" in text and "at most 20" in text and "S0 (x5)" in text
    rows[1]["shock_targets"] = "S0"            # a shock never hits another shock: S1 hits nothing
    rows[1]["shock_multiplier"] = 2
    load_register(make_register(rows))


def test_scenario_model_matches_streaming_engine():
    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    model = ScenarioModel(reg, 20_000, seed=3)
    a = model.result(None).gross
    b = simulate(reg, 20_000, seed=3).gross
    assert np.allclose(a, b, rtol=1e-12, atol=1e-9)


def test_summary_statistics_are_consistent():
    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    s = simulate(reg, 20_000, seed=1).summary()
    g = s["gross"]
    assert g["p50"] <= g["p90"] <= g["p95"] <= g["p99"] <= g["p99_5"]
    assert g["tvar99"] >= g["p99"]
    assert sum(r["mean"] for r in s["by_risk"]) == pytest.approx(g["mean"], rel=1e-9)
    assert sum(c["mean"] for c in s["by_component"].values()) == pytest.approx(g["mean"], rel=1e-9)


def test_scenario_model_reproduces_simulate_bit_for_bit():
    """The streaming engine and the in-memory scenario model (dashboard, comparisons) give the
    same years, to the last bit, with a policy and contracts too."""
    from riskmodel import load_contracts, load_policy

    d = REGISTERS / "northgate-multisite"
    reg = load_register(d / "2026Q4.xlsx")
    pol = load_policy(d / "policy.toml", set(reg.controls))
    con = load_contracts(d / "contracts.toml")
    a = simulate(reg, 70_000, 3, policy=pol, contracts=con)       # two chunks, the second partial
    b = ScenarioModel(reg, 70_000, 3).result(pol, con)
    assert np.array_equal(a.gross, b.gross)
    for payer in ("contract", "insurer", "retained"):
        assert np.array_equal(a.payer(payer), b.payer(payer)), payer
    assert np.array_equal(a.by_risk, b.by_risk)
    assert np.array_equal(a.risk_mean, b.risk_mean) and np.array_equal(a.component_mean, b.component_mean)


def test_scenario_requests_at_once_share_one_computation():
    """The dashboard's warm-up prepares scenarios in a background thread: requests for the same
    scenario from several threads share one computation."""
    from concurrent.futures import ThreadPoolExecutor

    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    model = ScenarioModel(reg, 2_000, seed=3, show_progress=False)
    none = {c: False for c in reg.control_status}
    every = {c: True for c in reg.control_status}
    with ThreadPoolExecutor(4) as pool:      # the same scenario asked for at once: computed once
        got = list(pool.map(lambda s: model.by_risk(s), [none, every, none, every]))
    assert got[0] is got[2] and got[1] is got[3] and got[0] is not got[1]
    assert got[0].shape == (len(reg.risks), 2_000)
    # (blocking, failures and bounds of the cache itself: tests/test_cache.py)


def test_warranty_denial_declines_a_policy_years_claims_together(make_register):
    """A missing warranted control (MFA): the insurer declines all of a year's claims on the risks
    it is relevant to, or none, once per policy year, with the policy's probability."""
    from riskmodel import Policy

    reg = load_register(make_register([risk("A", events_per_year=3, controls="mfa (planned)"),
                                       risk("B", events_per_year=2, controls="mfa (planned)")]))
    paid_in_full = simulate(reg, 40_000, seed=21, policy=Policy(aggregate_limit=1e9)).payer("insurer")
    res = simulate(reg, 40_000, seed=21, policy=Policy(aggregate_limit=1e9, requires_controls=("mfa",),
                                                       warranty_denial_probability=0.3))
    ins = res.payer("insurer")
    claimed = paid_in_full > 0
    declined = ins[claimed] == 0
    # every year is all or nothing: never a part of a year's claims
    np.testing.assert_allclose(ins[claimed][~declined], paid_in_full[claimed][~declined], rtol=1e-12)
    p, m = declined.mean(), claimed.sum()
    within(p, 0.3, math.sqrt(0.3 * 0.7 / m))


def test_by_risk_gives_the_chance_and_cost_of_a_year_it_happens(make_register):
    """A rare risk (0.004 a year) has a 1-in-100 year of £0 but a real cost when it happens:
    prob_event = 1 - exp(-rate) (closed form, within its binomial error), and the cost of such a
    year is at least one event's cost. The scenario model gives the same figures as the engine."""
    reg = load_register(make_register([risk("RARE", events_per_year=0.004),
                                       risk("OFTEN", events_per_year=2.0)]))
    res = simulate(reg, 200_000, seed=31)
    rows = {r["risk_id"]: r for r in res.summary()["by_risk"]}
    for rid, rate in (("RARE", 0.004), ("OFTEN", 2.0)):
        p = 1 - math.exp(-rate)
        within(rows[rid]["prob_event"], p, math.sqrt(p * (1 - p) / res.trials))
    rare = rows["RARE"]
    assert rare["p99"] == 0.0 and rare["cost_if_event_p50"] > 1000 and rare["cost_if_event_p90"] > rare["cost_if_event_p50"]
    # one event (nearly always, at this rate): the median year's cost is the severity's median
    dist = reg.risks[0].components[0].dist
    assert abs(math.log(rare["cost_if_event_p50"] / math.exp(dist.mu))) < 0.15
    model = ScenarioModel(reg, 200_000, seed=31, show_progress=False)
    for prof in model.risk_profiles():
        for key in ("mean", "prob_event", "cost_if_event_p50", "cost_if_event_p90", "p99"):
            assert prof[key] == rows[prof["risk_id"]][key], key


def test_drawing_only_the_controls_in_place_changes_no_number():
    """``draw_chunk(..., controls=in_place)`` (the portfolio) skips the other controls' yearly
    effects (NaN rows): every other draw, and the losses realised with those controls, the same."""
    from riskmodel.simulation.draws import Plan, draw_chunk, realise, status_vector

    reg = load_register(REGISTERS / "meadowbank-average" / "2026Q4.csv")
    plan = Plan.from_register(reg)
    in_place = status_vector(plan, reg)
    assert in_place.any() and not in_place.all()
    full = draw_chunk(plan, 4, 1, CHUNK, 2_000, aux=True)
    part = draw_chunk(plan, 4, 1, CHUNK, 2_000, aux=True, controls=in_place)
    assert np.array_equal(part.control_u[in_place], full.control_u[in_place])
    assert np.isnan(part.control_u[~in_place]).all()
    for a, b in zip(full.risks, part.risks):
        assert np.array_equal(a.trial, b.trial) and np.array_equal(a.amounts, b.amounts)
    for a, b in zip(realise(plan, full, in_place, 80.0), realise(plan, part, in_place, 80.0)):
        assert np.array_equal(a.trial, b.trial) and np.array_equal(a.values, b.values)
