"""Money and percentages formatted for people (reports, widgets, the CLI)."""
from __future__ import annotations

import math


def money(x: float | None) -> str:
    """``12345.6`` -> ``'£12,346'``; negatives as ``'-£1,200'``; ``None`` as ``'—'``; an unlimited
    amount (``math.inf`` or the JSON string ``"unlimited"``) as ``'unlimited'``."""
    if x == math.inf or x == "unlimited":
        return "unlimited"
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    sign = "-" if x < 0 else ""
    return f"{sign}£{abs(x):,.0f}"


def signed_money(x: float) -> str:
    """A change: ``'+£1,200'``, ``'-£300'``, ``'£0'``."""
    if round(x) == 0:
        return "£0"
    return ("+" if x > 0 else "-") + money(abs(x))


def money_short(x: float) -> str:
    """Axis-friendly: ``£1.2m``, ``£45k``, ``£900``."""
    ax = abs(x)
    if ax >= 1e6:
        return f"£{x / 1e6:,.1f}m"
    if ax >= 1e3:
        return f"£{x / 1e3:,.0f}k"
    return f"£{x:,.0f}"


def percent(p: float | None, digits: int = 1) -> str:
    """``0.0123`` -> ``'1.2%'``; very small non-zero values as ``'<0.1%'``."""
    if p is None:
        return "—"
    if 0 < p < 10 ** (-digits) / 100:
        return f"<{10 ** (-digits):.{digits}f}%"
    return f"{100 * p:.{digits}f}%"


def one_in(p: float) -> str:
    """A probability as 'about 1 in N years'."""
    if p <= 0:
        return "less than once in the years simulated"
    return f"about 1 in {max(1, round(1 / p)):,} years"
