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
    shown literally, never as HTML, emphasis, a link or a formula (``$x$``), and on one line (a line
    break or other control character in a name becomes a space: it cannot start a heading or a
    bullet of its own in a report)."""
    import html
    import re

    s = html.escape(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", str(text)), quote=False)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value):
    """A value for a CSV the package writes, never read as a formula by a spreadsheet: text
    starting with ``=``, ``+``, ``-``, ``@``, a tab or a line break (or their full-width forms) is
    prefixed with ``'`` (OWASP's advice for CSV injection). Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def printable(text) -> str:
    """Text from the inputs made safe to print on a terminal: control characters (escape
    sequences that could move the cursor, retitle or clear the terminal, a carriage return that
    hides what came before) are shown as ``\\x1b``-style escapes."""
    import unicodedata

    return "".join(ch if not unicodedata.category(ch).startswith("C") and unicodedata.category(ch) not in ("Zl", "Zp")
                   else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


#: A figure's Monte Carlo margin is shown when its standard error is above this share of it.
MARGIN_SHOWN_ABOVE = 0.02
#: The margin shown is this many standard errors (a 95% interval for the simulation's own noise).
MARGIN_Z = 1.96


def _two_figures(x: float) -> float:
    """``1234`` -> ``1200``; ``87`` -> ``87``: a margin needs no more precision than that."""
    if x <= 0:
        return 0.0
    step = 10 ** max(0, math.floor(math.log10(x)) - 1)
    return math.ceil(x / step) * step


def money_with_margin(value: float | None, se: float | None, *, threshold: float = MARGIN_SHOWN_ABOVE) -> str:
    """A simulated amount with its Monte Carlo margin when that matters.

    ``'£95,391 ± £4,200'`` when the standard error ``se`` is more than ``threshold`` (2%) of the
    value: the margin is 1.96 standard errors (95% of reruns with other random numbers would land
    within it), rounded up to two significant figures. Otherwise, or without a standard error,
    just the amount: ``'£95,391'``.
    """
    text = money(value)
    if value is None or se is None or not math.isfinite(se) or se <= 0:
        return text
    if se > threshold * abs(value):
        return f"{text} ± {money(_two_figures(MARGIN_Z * se))}"
    return text


def trials_to_halve(trials: int) -> str:
    """The plain sentence saying how to halve Monte Carlo margins (they shrink as 1/sqrt(trials))."""
    return (f"Running {4 * trials:,} simulated years instead of {trials:,} would halve these margins "
            f"(± is the range in which 95% of reruns with other random numbers would fall).")


def chance(p: float | None, trials: int | None = None) -> str:
    """The chance of something in a year, as a partner reads it best: a percentage for what
    happens in at least one year in ten (``'45%'``), ``'1 in N years'`` for rarer things
    (``'1 in 270 years'``, N to two significant figures), ``'not seen in 100,000 years'`` for
    what never happened in the simulated years."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    if p <= 0:
        return f"not seen in {trials:,} years" if trials else "not seen"
    if p >= 0.995:
        return "over 99%"
    if p >= 0.1:
        return f"{100 * p:.0f}%"
    n = 1 / p
    digits = max(0, math.floor(math.log10(n)) - 1)
    n = round(n / 10 ** digits) * 10 ** digits
    return f"1 in {n:,.0f} years"
