"""One colour per meaning, in every chart of every report, the review and the dashboard.

Colours are looked up by *name* (payer or reason), never by position, so an exclusion has the same
colour whichever reasons a practice has and in whatever order they come.

Payers use the Okabe-Ito palette (readable with the common colour-vision deficiencies): the
others who pay in blues (the NHS or supplier contract light, the insurer dark), the practice in
vermillion, all losses (gross) in dark grey. Retained-loss reasons use Paul Tol's "muted" scheme
(designed for colour-blind readers), plus Okabe-Ito orange and a light grey, none of them a payer
colour. Charts also print the amounts as text, so no number depends on telling two colours apart.
"""
from __future__ import annotations

from ..coverage.allocation import REASONS

#: Payer -> colour.
PAYER_COLOURS: dict[str, str] = {
    "gross": "#4d4d4d",      # dark grey: all losses, before anyone pays
    "contract": "#56b4e9",   # sky blue (Okabe-Ito)
    "insurer": "#0072b2",    # blue (Okabe-Ito)
    "retained": "#d55e00",   # vermillion (Okabe-Ito): the practice, the gap
}

#: Payer -> how a partner reads it.
PAYER_LABELS: dict[str, str] = {
    "gross": "All losses (gross)",
    "contract": "NHS or supplier contract",
    "insurer": "Insurer",
    "retained": "Practice (the gap)",
}

#: Retained-loss reason (:data:`riskmodel.coverage.allocation.REASONS`) -> colour.
REASON_COLOURS: dict[str, str] = {
    "no policy": "#882255",         # wine
    "not covered": "#cc6677",       # rose
    "exclusion": "#aa4499",         # purple
    "excess": "#ddcc77",            # sand
    "waiting period": "#e69f00",    # orange (Okabe-Ito)
    "indemnity period": "#999933",  # olive
    "claim limit": "#44aa99",       # teal
    "sublimit": "#117733",          # green
    "aggregate limit": "#332288",   # indigo
    "coinsurance": "#bbbbbb",       # light grey
}

#: A reason the palette does not know (a future one) is drawn in this grey, never a payer colour.
OTHER_COLOUR = "#888888"

#: Reference lines (excess, policy limit).
REFERENCE_COLOUR = "#666666"

assert set(REASON_COLOURS) == set(REASONS), "every retained-loss reason needs its colour"
assert not set(REASON_COLOURS.values()) & set(PAYER_COLOURS.values()), "reasons and payers must differ"


def payer_colour(payer: str) -> str:
    return PAYER_COLOURS[payer]


def reason_colour(reason: str) -> str:
    return REASON_COLOURS.get(reason, OTHER_COLOUR)


def reason_order(reasons) -> list[str]:
    """Reasons in the fixed order of :data:`REASONS` (unknown ones last, alphabetically), so a legend
    lists them the same way in every chart."""
    known = [r for r in REASONS if r in set(reasons)]
    return known + sorted(set(reasons) - set(REASONS))


__all__ = ["PAYER_COLOURS", "PAYER_LABELS", "REASON_COLOURS", "OTHER_COLOUR", "REFERENCE_COLOUR",
           "payer_colour", "reason_colour", "reason_order"]
