"""The register's columns and the limits on its values: what a register may hold, and what to
say about a column the format does not know (documented in ``registers/README.md``).
"""
from __future__ import annotations

import difflib

from ..io.errors import ProblemLog
from ..io.sheets import MAX_ROWS
from .components import COLUMN_PREFIX, COMPONENTS

REQUIRED_COLUMNS = ("risk_id", "title", "category", "system_owner", "events_per_year",
                    "incident_response_low", "incident_response_high")
DETAIL_COLUMNS = ("asset", "owner", "review_date", "status", "notes")
#: Default frequency multiplier on other risks in a year when a common-shock risk occurs
#: (assumption: a supplier outage roughly triples other incidents while staff work around it).
DEFAULT_SHOCK_MULTIPLIER = 3.0

#: Largest values a register may hold: far beyond any GP practice's risks, they catch typing
#: slips (an extra few zeros) that would otherwise overflow the simulation or exhaust memory.
MAX_EVENTS_PER_YEAR = 1_000.0        # incidents that cost money: about three a day
MAX_POUNDS_PER_EVENT = 1e10          # £10 billion
MAX_HOURS_PER_EVENT = 87_600.0       # ten years of downtime
MAX_RANGE_RATIO = 1e9                # high at most a billion times low (nine orders of magnitude)
MAX_SHOCK_MULTIPLIER = 10.0              # a common shock makes other risks at most ten times likelier
#: Largest product of the multipliers of the shocks that can hit one risk: the engine draws a
#: risk's potential events at its rate times that product, so it bounds the work and memory.
MAX_SHOCK_PRODUCT = 20.0
#: How a common shock acts on its targets' rates (column ``shock_effect`` on the shock's row).
SHOCK_EFFECTS = ("concentrate", "add")
#: Most risks a register may hold (far beyond any practice's; bounds the work and memory).
MAX_RISKS = MAX_ROWS
#: The NHS 5x5 risk matrix words, accepted for ``likelihood`` and ``impact``.
LIKELIHOOD_WORDS = {"rare": 1, "unlikely": 2, "possible": 3, "likely": 4, "almost certain": 5}
IMPACT_WORDS = {"negligible": 1, "minor": 2, "moderate": 3, "major": 4, "catastrophic": 5}
#: The largest value of each unit a range may hold.
MAXIMA = {"events per year": MAX_EVENTS_PER_YEAR, "pounds per event": MAX_POUNDS_PER_EVENT,
          "hours": MAX_HOURS_PER_EVENT}
KNOWN_COLUMNS = set(REQUIRED_COLUMNS) | set(DETAIL_COLUMNS) | {
    "events_low", "events_high", "likelihood", "impact", "controls", "common_shock",
    "shock_multiplier", "shock_targets", "shock_effect", "tags",
} | {f"{COLUMN_PREFIX[c]}_{s}" for c in COMPONENTS for s in ("low", "high", "prob")}


def resembles(column: str) -> str | None:
    """The known column an unknown one most resembles (``controls_in_place`` -> ``controls``)."""
    close = difflib.get_close_matches(column, sorted(KNOWN_COLUMNS), n=1, cutoff=0.75)
    if close:
        return close[0]
    words = column.split("_")
    for known in sorted(KNOWN_COLUMNS, key=len, reverse=True):
        k = known.split("_")
        if any(words[i:i + len(k)] == k for i in range(len(words))):
            return known
    close = difflib.get_close_matches(column, sorted(KNOWN_COLUMNS), n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_column(log: ProblemLog, table, column: str) -> None:
    """A column not in the format: an error when it resembles a column that changes the numbers
    and that the register lacks (its values would be silently dropped), else a warning."""
    title = next((t for t in table.column_titles if t and column == _normal(t)), column)
    like = resembles(column)
    if like is not None and like not in table.columns and like not in DETAIL_COLUMNS:
        log.error(table.header_row, title, None,
                  f"column not recognised; it looks like '{like}', which this register lacks, so its values "
                  f"would be ignored: rename the column header to '{like}' (or to something unlike it, such "
                  "as a name starting 'note', if it is only a note)")
    elif like is not None:
        log.warn(table.header_row, title, None, f"column not recognised, kept but not used (did you mean "
                 f"'{like}'?); see registers/README.md for names")
    else:
        log.warn(table.header_row, title, None,
                 "column not recognised, kept but not used; see registers/README.md for names")


def _normal(title: str) -> str:
    from ..io.sheets import normalise_column

    return normalise_column(title)
