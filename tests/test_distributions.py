import numpy as np
import pytest

from riskmodel.inputs.distributions import LogNormal, Z95, mean_above_high


def test_range_maps_to_5th_and_95th_percentiles():
    d = LogNormal.from_range(2_000, 50_000)
    assert d.ppf(0.05) == pytest.approx(2_000, rel=1e-12)
    assert d.ppf(0.95) == pytest.approx(50_000, rel=1e-12)


def test_moments_match_closed_form():
    d = LogNormal(10.0, 1.5)
    assert d.mean() == pytest.approx(np.exp(10 + 1.125))
    assert d.var() == pytest.approx((np.exp(2.25) - 1) * np.exp(20 + 2.25))


def test_mean_above_high_threshold_is_sigma_two_z95():
    # sigma = 2*Z95 exactly when high/low = exp(4*Z95**2)
    ratio = np.exp(4 * Z95**2)
    assert not mean_above_high(1.0, ratio * 0.99)
    assert mean_above_high(1.0, ratio * 1.01)


def test_bad_range_rejected():
    with pytest.raises(ValueError):
        LogNormal.from_range(10, 5)


def test_z95_is_the_normal_95th_percentile_to_the_last_bit():
    from scipy import stats

    assert Z95 == float(stats.norm.ppf(0.95))
