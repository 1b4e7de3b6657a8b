"""Money and percentages formatted for people (reports, widgets, the CLI)."""
from __future__ import annotations

import math


def money(x: float | None) -> str:
    """``12345.6`` -> ``'£12,346'``; negatives as ``'-£1,200'``; ``None`` as ``'—'``."""
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
    """Axis-friendly, three significant figures at most: ``£1.25m``, ``£2.5k``, ``£45k``, ``£900``."""
    sign, ax = ("-" if x < 0 else ""), abs(x)
    for size, suffix in ((1e6, "m"), (1e3, "k"), (1.0, "")):
        if ax >= size * 0.9995 or size == 1.0:
            v = ax / size
            digits = 0 if v == 0 or size == 1.0 else max(0, 2 - math.floor(math.log10(v)))
            text = f"{v:,.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}£{text}{suffix}"
    return "£0"


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


_MD_SPECIAL = "\\`*_[]{}$#|~"


def md_escape(text) -> str:
    """Text from the inputs (a practice, policy, risk or control name) made safe to put in Markdown:
    shown literally, never as HTML, emphasis, a link or a formula (``$x$``)."""
    import html

    s = html.escape(str(text), quote=False)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)
