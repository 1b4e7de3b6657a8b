"""Monte Carlo errors of percentiles and TVaR, and per-risk "cost of a year it happens" figures.

Every tolerance below comes from a standard error (binomial, order-statistic spacings, the SE of
a standard deviation), stated next to it; none was widened to make a test pass. All randomness
comes from numpy Generators with fixed seeds.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pytest
from scipy import optimize, stats

from riskmodel.analysis.metrics import (PERCENTILES, Z95_TWO_SIDED, event_year_stats, quantile_se, summarize, tvar,
                               tvar_se)

Z = Z95_TWO_SIDED
TAIL_QS = (0.95, 0.99, 0.995)
NEW_KEYS = ("p50_se", "p90_se", "p95_se", "p99_se", "p99_5_se", "tvar99_se")


def old_summarize(x: np.ndarray) -> dict[str, float]:
    """``summarize`` as it was before the standard errors were added (the JSON contract)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    qs = np.quantile(x, list(PERCENTILES.values()))
    out = {"mean": mean, "mean_se": std / math.sqrt(n) if n else 0.0, "std": std}
    out.update({k: float(v) for k, v in zip(PERCENTILES, qs)})
    k = max(1, math.ceil(n * (1.0 - 0.99) - 1e-9))
    out["tvar99"] = float(np.partition(x, n - k)[n - k:].mean())
    return out


# --------------------------------------------------------------------------- quantile_se by hand

def test_quantile_se_equally_spaced_values_is_sqrt_npq():
    # Values 0..n-1 (shuffled) rise by exactly 1 per rank, so the interval spans 2 z sqrt(n q (1-q))
    # and SE = sqrt(n q (1 - q)) exactly, whatever the order of the input.
    x = np.random.default_rng(1).permutation(np.arange(1000.0))
    for q in (0.5, 0.9, 0.99):
        assert quantile_se(x, q) == pytest.approx(math.sqrt(1000 * q * (1 - q)), rel=1e-12)


def test_quantile_se_is_interval_width_over_2z():
    # Independent reading of the same definition: the ranks n q ± z sqrt(n q (1-q)) about numpy's
    # position (n-1) q, read with np.quantile's own linear interpolation.
    x = np.random.default_rng(2).lognormal(0.0, 1.5, 5_001)
    n = x.size
    for q in (0.5, 0.9, 0.95, 0.99):
        half = Z * math.sqrt(n * q * (1 - q))
        lo, hi = ((n - 1) * q - half) / (n - 1), ((n - 1) * q + half) / (n - 1)
        expected = (np.quantile(x, hi) - np.quantile(x, lo)) / (2 * Z)
        assert quantile_se(x, q) == pytest.approx(expected, rel=1e-12)


def test_quantile_se_small_and_degenerate_samples():
    # Clipped at the top: 10 equally spaced values still give the slope 1 per rank.
    assert quantile_se(np.arange(10.0), 0.99) == pytest.approx(math.sqrt(10 * 0.99 * 0.01), rel=1e-12)
    assert quantile_se(np.array([3.0]), 0.5) == 0.0
    assert quantile_se(np.zeros(100_000), 0.995) == 0.0
    assert quantile_se(np.full(7, 2.5), 0.9) == 0.0
    assert quantile_se(np.arange(50.0), 0.0) == 0.0
    assert quantile_se(np.arange(50.0), 1.0) == 0.0
    # Mostly zero years: the 90th percentile and its error are both 0, the 99th is not.
    x = np.zeros(10_000)
    x[:300] = np.arange(1.0, 301.0)
    assert quantile_se(x, 0.9) == 0.0
    assert quantile_se(x, 0.99) > 0.0
    with pytest.raises(ValueError):
        quantile_se(np.array([]), 0.5)
    with pytest.raises(ValueError):
        quantile_se(np.arange(5.0), 1.5)


def test_quantile_se_leaves_input_alone():
    x = np.random.default_rng(3).exponential(size=1_000)
    before = x.copy()
    quantile_se(x, 0.99)
    tvar_se(x, 0.99)
    summarize(x)
    assert np.array_equal(x, before)


# ------------------------------------------------------------ quantile_se against the closed form

@pytest.mark.parametrize("dist", [stats.lognorm(1.0), stats.expon()], ids=["lognormal", "exponential"])
def test_quantile_se_matches_asymptotic_formula(dist):
    """Mean SE over R samples of n = 100,000 against sqrt(q (1-q) / n) / f(xi_q).

    Tolerance: the interval's width is a sum of m = 2 z sqrt(n q (1-q)) order-statistic spacings,
    which (Rényi) are close to independent exponentials, so one SE estimate has relative SD
    1/sqrt(m) (6.1% at q = 0.95, 9.0% at 0.99, 10.7% at 0.995 — checked with 200 samples), and
    the mean of R has 1/sqrt(m R). We allow 4 of those, plus 1% for the second-order (curvature)
    bias of a finite difference over ±z sqrt(q(1-q)/n), which is 0.25% at q = 0.995 for the
    exponential.
    """
    n, reps = 100_000, 30
    rng = np.random.default_rng(20240611)
    ses = {q: [] for q in TAIL_QS}
    for _ in range(reps):
        x = dist.rvs(size=n, random_state=rng)
        for q in TAIL_QS:
            ses[q].append(quantile_se(x, q))
    for q in TAIL_QS:
        closed = math.sqrt(q * (1 - q) / n) / dist.pdf(dist.ppf(q))
        m = 2 * Z * math.sqrt(n * q * (1 - q))
        tol = 4 / math.sqrt(m * reps) + 0.01
        assert np.mean(ses[q]) == pytest.approx(closed, rel=tol), q


# ------------------------------------------------------------------------------------- coverage

@lru_cache(maxsize=None)
def lognormal_replications() -> dict[str, np.ndarray]:
    """400 independent samples of 100,000 lognormal(0, 1) years: estimates and their errors."""
    reps, n = 400, 100_000
    rng = np.random.default_rng(987654321)
    est = np.empty((reps, len(TAIL_QS)))
    se = np.empty_like(est)
    tv = np.empty(reps)
    tv_se = np.empty(reps)
    for r in range(reps):
        x = rng.lognormal(0.0, 1.0, n)
        est[r] = np.quantile(x, TAIL_QS)
        se[r] = [quantile_se(x, q) for q in TAIL_QS]
        tv[r] = tvar(x, 0.99)
        tv_se[r] = tvar_se(x, 0.99)
    return {"est": est, "se": se, "tvar": tv, "tvar_se": tv_se}


def test_quantile_interval_covers_true_value_95_percent_of_the_time():
    """estimate ± 1.96 SE covers the true lognormal quantile in ~95% of 400 replications.

    Tolerance: 3 binomial SDs, 3 * sqrt(0.95 * 0.05 / 400) = 3.3 points. n = 100,000 (the default
    trial count): with 3,000 replications we measured 94.1%, 95.0% and 94.7% at q = 0.95, 0.99,
    0.995. At n = 20,000 the far tail under-covers (93.4% at 0.995): the SE estimate then has ~16%
    relative noise and is correlated with the estimate in a skewed tail, so a Wald interval falls
    a little short. That is a property of the method at small n, not something to test around.
    """
    rep = lognormal_replications()
    reps = rep["est"].shape[0]
    true = stats.lognorm(1.0).ppf(TAIL_QS)
    covered = np.abs(rep["est"] - true) <= Z * rep["se"]
    tol = 3 * math.sqrt(0.95 * 0.05 / reps)
    for j, q in enumerate(TAIL_QS):
        assert covered[:, j].mean() == pytest.approx(0.95, abs=tol), q


def test_quantile_se_matches_spread_of_estimates():
    # The mean SE against the SD of the 400 estimates. The SD of an SD over R roughly-normal
    # replications is s / sqrt(2 (R - 1)) = 3.5%; 4 of those.
    rep = lognormal_replications()
    reps = rep["est"].shape[0]
    sd = rep["est"].std(axis=0, ddof=1)
    for j, q in enumerate(TAIL_QS):
        assert rep["se"][:, j].mean() == pytest.approx(sd[j], rel=4 / math.sqrt(2 * (reps - 1))), q


# --------------------------------------------------------------------------------------- tvar_se

def sd_of_sd(values: np.ndarray) -> float:
    """Standard error of the sample SD, from the sample's own fourth moment (no normality).

    Var(s²) ≈ (μ4 − σ⁴ (R − 3)/(R − 1)) / R and, by the delta method, SE(s) ≈ SE(s²) / (2 s).
    """
    r = values.size
    s2 = values.var(ddof=1)
    m4 = np.mean((values - values.mean()) ** 4)
    return math.sqrt(max(m4 - s2 ** 2 * (r - 3) / (r - 1), 0.0) / r) / (2 * math.sqrt(s2))


def test_tvar_se_by_hand():
    # 1..1000 at 99%: the worst k = 10 years are 991..1000; TVaR 995.5, VaR 991,
    # Var(X | X >= VaR) = var(991..1000, ddof=1) = 55/6, so
    # SE = sqrt((55/6 + 0.99 * 4.5²) / 10).
    x = np.random.default_rng(4).permutation(np.arange(1.0, 1001.0))
    assert tvar_se(x, 0.99) == pytest.approx(math.sqrt((55 / 6 + 0.99 * 4.5 ** 2) / 10), rel=1e-12)
    assert tvar_se(np.array([5.0]), 0.99) == 0.0
    assert tvar_se(np.arange(50.0), 0.99) == 0.0  # one year in the tail: no spread to measure
    assert tvar_se(np.zeros(100_000), 0.99) == 0.0
    with pytest.raises(ValueError):
        tvar_se(np.array([]))


def test_tvar_se_exponential_matches_closed_form_and_replications():
    """Exponential(1): Var(X | X > VaR) = 1 and TVaR − VaR = 1 (memoryless), so Manistre–Hancock
    gives SE = sqrt((1 + level) / (n (1 − level))) exactly.

    The empirical SD of 400 TVaR estimates must match within 3 SEs of an SD (``sd_of_sd``), and
    the mean tvar_se must match the closed form within 4 SEs of that mean.
    """
    reps, n, level = 400, 20_000, 0.99
    rng = np.random.default_rng(55)
    est = np.empty(reps)
    ses = np.empty(reps)
    for r in range(reps):
        x = rng.exponential(1.0, n)
        est[r] = tvar(x, level)
        ses[r] = tvar_se(x, level)
    closed = math.sqrt((1 + level) / (n * (1 - level)))
    assert est.std(ddof=1) == pytest.approx(closed, abs=3 * sd_of_sd(est))
    assert ses.mean() == pytest.approx(closed, abs=4 * ses.std(ddof=1) / math.sqrt(reps))


def test_tvar_se_lognormal_matches_spread_of_estimates():
    # Mean tvar_se against the SD of 400 TVaR estimates (n = 100,000, so 1,000 tail years each);
    # tolerance: 3 combined SEs of the SD (from its fourth moment) and of the mean tvar_se.
    rep = lognormal_replications()
    est, ses = rep["tvar"], rep["tvar_se"]
    sd = est.std(ddof=1)
    tol = 3 * math.hypot(sd_of_sd(est), ses.std(ddof=1) / math.sqrt(ses.size))
    assert ses.mean() == pytest.approx(sd, abs=tol)


# ----------------------------------------------------------------------------------- summarize

def summarize_samples() -> list[np.ndarray]:
    rng = np.random.default_rng(8)
    n = 100_000
    mostly_zero = np.where(rng.random(n) < 0.03, rng.lognormal(10.0, 1.5, n), 0.0)
    return [
        mostly_zero,
        rng.lognormal(9.0, 2.0, 250_000),
        rng.exponential(1_000.0, 3),
        rng.exponential(1_000.0, 150),
        np.array([42.0]),
        np.zeros(10_000),
        np.arange(1_000, dtype=np.int64),  # integers are converted as before
    ]


@pytest.mark.parametrize("x", summarize_samples(), ids=lambda x: f"n={x.size}")
def test_summarize_keeps_old_values_bit_for_bit(x):
    old = old_summarize(x)
    new = summarize(x)
    assert list(new)[:len(old)] == list(old)
    for k, v in old.items():
        assert new[k] == v, k  # exact equality: reports and stored JSON must not move
    assert set(new) == set(old) | set(NEW_KEYS)


@pytest.mark.parametrize("x", summarize_samples(), ids=lambda x: f"n={x.size}")
def test_summarize_errors_are_finite_nonnegative_and_match_the_functions(x):
    out = summarize(x)
    for k in NEW_KEYS:
        assert isinstance(out[k], float) and math.isfinite(out[k]) and out[k] >= 0.0, k
    for k, q in PERCENTILES.items():
        assert out[f"{k}_se"] == pytest.approx(quantile_se(x, q), rel=1e-12, abs=0.0), k
    assert out["tvar99_se"] == tvar_se(x, 0.99)


def test_summarize_errors_on_mostly_zero_losses():
    out = summarize(summarize_samples()[0])
    # 97% zero years: the median and 90th percentile are exactly 0 with no Monte Carlo error;
    # the tail figures have a positive one that is small next to the figure at 100,000 years.
    assert out["p50"] == out["p50_se"] == out["p90"] == out["p90_se"] == 0.0
    for k in ("p99", "p99_5", "tvar99"):
        assert 0.0 < out[f"{k}_se"] < 0.1 * out[k], k


# ---------------------------------------------------------------------------- event_year_stats

def test_event_year_stats_by_hand():
    # 4 of 10 years have a loss: 10, 20, 30, 40. Median 25; 90th percentile at position
    # 0.9 * 3 = 2.7 between 30 and 40: 37.
    x = np.array([0, 0, 10, 0, 20, 0, 0, 30, 40, 0], dtype=float)
    assert event_year_stats(x) == pytest.approx(
        {"prob_event": 0.4, "cost_if_event_p50": 25.0, "cost_if_event_p90": 37.0})
    assert event_year_stats(np.zeros(1_000)) == {"prob_event": 0.0, "cost_if_event_p50": 0.0,
                                                 "cost_if_event_p90": 0.0}
    assert event_year_stats(np.array([])) == {"prob_event": 0.0, "cost_if_event_p50": 0.0,
                                              "cost_if_event_p90": 0.0}
    assert event_year_stats(np.array([0.0, 7.0])) == {"prob_event": 0.5, "cost_if_event_p50": 7.0,
                                                      "cost_if_event_p90": 7.0}


def compound_poisson(rng: np.random.Generator, n: int, lam: float, severity) -> np.ndarray:
    """Annual totals of a Poisson(lam) number of losses drawn by ``severity(size)``."""
    counts = rng.poisson(lam, n)
    trial = np.repeat(np.arange(n), counts)
    return np.bincount(trial, weights=severity(counts.sum()), minlength=n)


def test_event_year_stats_compound_poisson_lognormal_probability():
    # P(at least one loss) = 1 − exp(−λ); tolerance 3 binomial SEs.
    n, lam = 1_000_000, 0.002
    rng = np.random.default_rng(31)
    x = compound_poisson(rng, n, lam, lambda size: rng.lognormal(9.0, 1.2, size))
    p = 1 - math.exp(-lam)
    out = event_year_stats(x)
    assert out["prob_event"] == pytest.approx(p, abs=3 * math.sqrt(p * (1 - p) / n))
    assert 0.0 < out["cost_if_event_p50"] < out["cost_if_event_p90"]


def test_event_year_stats_compound_poisson_exponential_costs():
    """Poisson(λ) counts of exponential(β) losses: given k ≥ 1 losses the year costs Gamma(k, β),
    so the cost of a loss year has the closed-form CDF Σ_k P(N = k | N ≥ 1) · Gamma(k, β).CDF.

    Percentiles of that mixture are found with a root finder; the sample ones must agree within 4
    asymptotic SEs sqrt(q (1 − q) / m) / g(ξ_q), m = number of loss years, g = mixture density.
    """
    n, lam, beta = 400_000, 0.3, 5_000.0
    rng = np.random.default_rng(77)
    x = compound_poisson(rng, n, lam, lambda size: rng.exponential(beta, size))
    out = event_year_stats(x)
    p_event = 1 - math.exp(-lam)
    assert out["prob_event"] == pytest.approx(p_event, abs=3 * math.sqrt(p_event * (1 - p_event) / n))

    ks = np.arange(1, 40)
    w = stats.poisson(lam).pmf(ks) / p_event

    def cdf(y: float) -> float:
        return float(np.sum(w * stats.gamma(ks, scale=beta).cdf(y)))

    def pdf(y: float) -> float:
        return float(np.sum(w * stats.gamma(ks, scale=beta).pdf(y)))

    m = np.count_nonzero(x > 0)
    for key, q in (("cost_if_event_p50", 0.5), ("cost_if_event_p90", 0.9)):
        xi = optimize.brentq(lambda y: cdf(y) - q, 1e-9, 100 * beta)
        se = math.sqrt(q * (1 - q) / m) / pdf(xi)
        assert out[key] == pytest.approx(xi, abs=4 * se), key
