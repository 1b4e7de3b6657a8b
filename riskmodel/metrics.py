"""Statistics of simulated annual losses: mean and its standard error, percentiles, TVaR,
exceedance probabilities and the loss exceedance curve."""
from __future__ import annotations

import math

import numpy as np

#: Percentiles reported everywhere (JSON keys).
PERCENTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p99_5": 0.995}
RETURN_PERIODS: tuple[int, ...] = (2, 5, 10, 20, 50, 100, 200, 500, 1000)
DEFAULT_THRESHOLDS: tuple[float, ...] = (10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000)


def tvar(x: np.ndarray, level: float = 0.99) -> float:
    """Tail value at risk: the mean of the worst ``1 - level`` share of years.

    Uses the ``ceil(n * (1 - level))`` largest values, so it is never below the percentile.
    """
    n = x.size
    k = max(1, math.ceil(n * (1.0 - level) - 1e-9))
    top = np.partition(x, n - k)[n - k:]
    return float(top.mean())


def summarize(x: np.ndarray) -> dict[str, float]:
    """``mean``, ``mean_se`` (Monte Carlo standard error), ``std``, percentiles and ``tvar99``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    qs = np.quantile(x, list(PERCENTILES.values()))
    out = {"mean": mean, "mean_se": std / math.sqrt(n) if n else 0.0, "std": std}
    out.update({k: float(v) for k, v in zip(PERCENTILES, qs)})
    out["tvar99"] = tvar(x, 0.99)
    return out


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
