"""Statistics of simulated annual losses: mean and its standard error, percentiles and their
Monte Carlo standard errors, TVaR and its standard error, exceedance probabilities, the loss
exceedance curve, and per-risk "cost of a year it happens" figures."""
from __future__ import annotations

import math

import numpy as np

#: Percentiles reported everywhere (JSON keys).
PERCENTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p99_5": 0.995}
RETURN_PERIODS: tuple[int, ...] = (2, 5, 10, 20, 50, 100, 200, 500, 1000)
DEFAULT_THRESHOLDS: tuple[float, ...] = (10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000)
#: Two-sided 95% normal quantile used for the order-statistic interval of a percentile.
Z95_TWO_SIDED: float = 1.959964


def _tail(x: np.ndarray, level: float) -> np.ndarray:
    """The ``ceil(n * (1 - level))`` largest values (unordered, except that the smallest is first)."""
    n = x.size
    k = max(1, math.ceil(n * (1.0 - level) - 1e-9))
    return np.partition(x, n - k)[n - k:]


def tvar(x: np.ndarray, level: float = 0.99) -> float:
    """Tail value at risk: the mean of the worst ``1 - level`` share of years.

    Uses the ``ceil(n * (1 - level))`` largest values, so it is never below the percentile.
    """
    return float(_tail(x, level).mean())


def _tvar_se_from_tail(top: np.ndarray, level: float) -> float:
    """Manistre–Hancock standard error from the tail ``top`` that :func:`tvar` averages."""
    k = top.size
    if k < 2:
        return 0.0
    t = float(top.mean())
    var_at = float(top[0])  # np.partition puts the k-th largest value first
    cond_var = float(top.var(ddof=1))
    return math.sqrt(max(0.0, cond_var + level * (t - var_at) ** 2) / k)


def tvar_se(x: np.ndarray, level: float = 0.99) -> float:
    """Monte Carlo standard error of :func:`tvar`.

    Manistre & Hancock (2005) give the large-sample variance of the TVaR (CTE) estimator as

        Var ≈ [Var(X | X ≥ VaR) + level · (TVaR − VaR)²] / (n · (1 − level)).

    Here ``VaR`` is the smallest of the ``k = ceil(n (1 − level))`` values that :func:`tvar`
    averages, ``Var(X | X ≥ VaR)`` their sample variance, and ``n (1 − level)`` is taken as ``k``
    (equal for the usual trial counts; it keeps the figure sane for tiny ``n``).

    Parameters
    ----------
    x : np.ndarray
        Simulated annual losses, one per trial.
    level : float
        TVaR level, e.g. 0.99 for the worst 1% of years.

    Returns
    -------
    float
        The standard error; 0.0 when fewer than two years are in the tail (it cannot be
        estimated) or the tail is constant.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("tvar_se of an empty array")
    return _tvar_se_from_tail(_tail(x, level), level)


def _quantile_se_ranks(n: int, q: float) -> tuple[float, float, float]:
    """0-based fractional positions ``(lo, hi)`` of the order-statistic interval, and its scale.

    Centred on numpy's linear position ``(n - 1) q``; half-width ``z sqrt(n q (1 - q))`` ranks;
    clipped to ``[0, n - 1]``. The scale ``sqrt(n q (1 - q))`` turns a slope in value per rank
    into a standard error.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    scale = math.sqrt(n * q * (1.0 - q))
    centre = (n - 1) * q
    half = Z95_TWO_SIDED * scale
    return max(0.0, centre - half), min(float(n - 1), centre + half), scale


def _kth(pos: float, n: int) -> tuple[int, int]:
    """The two order statistics (0-based) that linear interpolation at ``pos`` needs."""
    lo = int(math.floor(pos))
    return lo, min(lo + 1, n - 1)


def _at(part: np.ndarray, pos: float) -> float:
    """Value at fractional 0-based position ``pos`` of an array partitioned at its neighbours."""
    i, j = _kth(pos, part.size)
    frac = pos - i
    a, b = float(part[i]), float(part[j])
    return a + (b - a) * frac if frac else a


def _se_from_partition(part: np.ndarray, q: float) -> float:
    lo, hi, scale = _quantile_se_ranks(part.size, q)
    if hi <= lo:
        return 0.0
    return max(0.0, scale * (_at(part, hi) - _at(part, lo)) / (hi - lo))


def quantile_se(x: np.ndarray, q: float) -> float:
    """Monte Carlo standard error of the sample ``q``-quantile, without a density estimate.

    Distribution-free order-statistic interval (David & Nagaraja, *Order Statistics*, §7.1): the
    number of trials below the true quantile is Binomial(n, q), so the order statistics at ranks
    ``n q ± z sqrt(n q (1 − q))`` (z = 1.959964) bound a ~95% confidence interval for it. The
    standard error is that interval's width over ``2 z``:

        SE = (x_(hi) − x_(lo)) / (2 z).

    The ranks are fractional and read with numpy's linear interpolation between neighbouring
    order statistics (centred on ``(n − 1) q``, where ``np.quantile`` reads the estimate), so the
    width is exactly ``2 z sqrt(n q (1 − q))`` ranks and there is no rounding bias. Near the ends
    of a small sample the ranks are clipped to the data and the slope over the ranks that remain
    is used: ``SE = sqrt(n q (1 − q)) · (x_(hi) − x_(lo)) / (hi − lo)``, the same formula when
    nothing is clipped. For large ``n`` this tends to ``sqrt(q (1 − q) / n) / f(ξ_q)``.

    Only the needed ranks are selected (``np.partition``); the array is never sorted.

    Parameters
    ----------
    x : np.ndarray
        Simulated annual losses, one per trial.
    q : float
        Quantile level in ``[0, 1]``.

    Returns
    -------
    float
        The standard error (0.0 for one value, a constant array or ``q`` of 0 or 1).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        raise ValueError("quantile_se of an empty array")
    lo, hi, _ = _quantile_se_ranks(n, q)
    kth = sorted({*_kth(lo, n), *_kth(hi, n)})
    return _se_from_partition(np.partition(x, kth), q)


def summarize(x: np.ndarray) -> dict[str, float]:
    """Mean, spread, percentiles and TVaR of simulated annual losses, with Monte Carlo errors.

    Returns
    -------
    dict[str, float]
        ``mean``, ``mean_se`` (standard deviation over ``sqrt(n)``), ``std``, ``p50`` … ``p99_5``
        (numpy's linear interpolation), ``tvar99``, and a standard error for each percentile
        (``p50_se`` … ``p99_5_se``, :func:`quantile_se`) and for ``tvar99`` (``tvar99_se``,
        :func:`tvar_se`).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    qs = np.quantile(x, list(PERCENTILES.values()))
    out = {"mean": mean, "mean_se": std / math.sqrt(n) if n else 0.0, "std": std}
    out.update({k: float(v) for k, v in zip(PERCENTILES, qs)})
    top = _tail(x, 0.99)
    out["tvar99"] = float(top.mean())
    # One selection over every rank the percentile errors need.
    flat = x.ravel()
    kth: set[int] = set()
    for q in PERCENTILES.values():
        lo, hi, _ = _quantile_se_ranks(n, q)
        kth.update((*_kth(lo, n), *_kth(hi, n)))
    part = np.partition(flat, sorted(kth))
    out.update({f"{k}_se": _se_from_partition(part, q) for k, q in PERCENTILES.items()})
    out["tvar99_se"] = _tvar_se_from_tail(top, 0.99)
    return out


def event_year_stats(x: np.ndarray) -> dict[str, float]:
    """How often one risk costs anything in a year, and what such a year costs.

    Parameters
    ----------
    x : np.ndarray
        One risk's simulated annual loss, one per trial (mostly zeros).

    Returns
    -------
    dict[str, float]
        ``prob_event``: share of years with a loss above 0; ``cost_if_event_p50`` and
        ``cost_if_event_p90``: median and 90th percentile (numpy's linear interpolation) of the
        annual loss over those years only, 0.0 when no year has a loss.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    pos = x[x > 0]
    prob = pos.size / max(1, x.size)
    if pos.size:
        p50, p90 = (float(v) for v in np.quantile(pos, [0.5, 0.9]))
    else:
        p50 = p90 = 0.0
    return {"prob_event": float(prob), "cost_if_event_p50": p50, "cost_if_event_p90": p90}


def prob_exceed(x: np.ndarray, threshold: float) -> float:
    """Share of simulated years whose loss is above ``threshold``."""
    return float(np.count_nonzero(np.asarray(x) > threshold) / max(1, np.asarray(x).size))


def exceedance_curve(x: np.ndarray, return_periods=RETURN_PERIODS) -> list[dict[str, float]]:
    """Loss exceedance curve at standard return periods: the loss exceeded once in ``T`` years."""
    probs = [1.0 - 1.0 / t for t in return_periods]
    qs = np.quantile(np.asarray(x, dtype=np.float64), probs)
    return [{"return_period": int(t), "prob_exceed": 1.0 / t, "loss": float(q)}
            for t, q in zip(return_periods, qs)]


def exceedance_points(x: np.ndarray, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(loss, probability of exceeding it) for plotting a smooth curve."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    idx = np.unique(np.clip(np.round(n - n * np.logspace(0, -np.log10(n), points)).astype(int), 0, n - 1))
    return x[idx], 1.0 - (idx + 1) / n + 1.0 / n
