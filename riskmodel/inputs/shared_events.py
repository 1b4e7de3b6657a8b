"""``portfolio.toml``: the shared supplier events of a book of practices (format:
``registers/README.md``), read with located errors like every other input file."""
from __future__ import annotations

import difflib
from pathlib import Path
from dataclasses import dataclass
from typing import Any

from ..io.errors import ProblemLog
from ..io.tomlfile import read_toml, take_bool, take_number
from .practice import SUPPLIER_SERVICES, supplier_key

#: The services a practice depends on (the keys of ``[suppliers]`` in practice.toml).
SERVICES: tuple[str, ...] = tuple(SUPPLIER_SERVICES)

#: Bounds that catch typing slips (an extra zero), far beyond any supplier's record.
MAX_EVENT_FREQUENCY = 100.0          # events a year
MAX_EVENT_HOURS = 87_600.0           # ten years of interruption (as a register's downtime)
MAX_EVENT_COST = 1e10                # £10 billion per practice
MAX_EVENTS = 1_000                   # shared events in one file

_TOP = {"name", "notes", "illustrative", "events"}
_EVENT = {"supplier", "service", "frequency", "hours_low", "hours_high", "share_low", "share_high",
          "breach_probability", "breach_cost_low", "breach_cost_high", "description", "source"}


@dataclass(frozen=True)
class SharedEvent:
    """A supplier event that hits many practices in the same year.

    Parameters
    ----------
    name : str
        Unique id within the portfolio, e.g. ``"emis-outage"``.
    supplier : str
        Compared (ignoring case and extra spaces, :func:`riskmodel.inputs.practice.supplier_key`) with
        the practices' ``[suppliers]`` values.
    service : str
        One of :data:`SERVICES`: which of the practices' dependencies the supplier provides.
    frequency : float
        Expected events a year (Poisson).
    hours_low, hours_high : float
        Hours of interruption at each practice hit: a 90% range (5th and 95th percentiles of a
        lognormal), charged at the practice's ``interruption_cost_per_hour`` as a register's
        downtime is; for an outage that slows a practice without stopping it, equivalent hours of
        full interruption. ``0, 0``: no interruption (a breach only).
    share_low, share_high : float
        Share of the supplier's practices hit, drawn per event, uniform in [low, high];
        ``1, 1``: all of them.
    breach_probability : float
        Chance that an event includes a data breach at the supplier.
    breach_cost_low, breach_cost_high : float
        Per practice hit by a breach, its notification and response cost: a 90% range
        (lognormal); ``0, 0`` when ``breach_probability`` is 0.
    description, source : str
        In words; where the figures come from.

    Raises
    ------
    ValueError
        An unknown service, a blank supplier or name, or figures out of their ranges.
    """

    name: str
    supplier: str
    service: str
    frequency: float
    hours_low: float
    hours_high: float
    share_low: float = 1.0
    share_high: float = 1.0
    breach_probability: float = 0.0
    breach_cost_low: float = 0.0
    breach_cost_high: float = 0.0
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not str(self.name).strip() or not str(self.supplier).strip():
            raise ValueError("a shared event needs a name and a supplier")
        if self.service not in SERVICES:
            raise ValueError(f"unknown service {self.service!r}; expected one of: {', '.join(SERVICES)}")
        if not 0 <= self.frequency <= MAX_EVENT_FREQUENCY:
            raise ValueError(f"frequency must be from 0 to {MAX_EVENT_FREQUENCY:g} events a year, got {self.frequency!r}")
        _check_range("hours", self.hours_low, self.hours_high, MAX_EVENT_HOURS)
        _check_range("breach_cost", self.breach_cost_low, self.breach_cost_high, MAX_EVENT_COST)
        if not 0 <= self.share_low <= self.share_high <= 1 or self.share_high == 0:
            raise ValueError(f"shares must satisfy 0 <= share_low <= share_high <= 1 with share_high > 0, "
                             f"got {self.share_low!r}, {self.share_high!r}")
        if not 0 <= self.breach_probability <= 1:
            raise ValueError(f"breach_probability must be from 0 to 1, got {self.breach_probability!r}")
        if self.breach_probability > 0 and self.breach_cost_high == 0:
            raise ValueError("an event with a breach_probability needs breach_cost_low and breach_cost_high")

    @property
    def supplier_key(self) -> str:
        """The supplier as compared with the practices' (case and spaces ignored)."""
        return supplier_key(self.supplier)

    @property
    def interrupts(self) -> bool:
        """True when the event interrupts the practices it hits (hours above 0)."""
        return self.hours_high > 0


def _check_range(what: str, low: float, high: float, top: float) -> None:
    if not (0 <= low <= high <= top) or (low == 0 and high > 0):
        raise ValueError(f"{what}_low and {what}_high must be 0 and 0, or 0 < low <= high <= {top:,.0f}; "
                         f"got {low!r}, {high!r}")


def _unknown_key(log: ProblemLog, prefix: str, key: str, value: Any, allowed: set[str] | tuple[str, ...]) -> None:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    log.error(None, f"{prefix}{key}", value, f"unknown key; {hint}expected one of: {', '.join(sorted(allowed))}")


def _text(log: ProblemLog, data: dict, key: str, prefix: str, *, required: bool = False, example: str = "...") -> str:
    if key not in data:
        if required:
            log.error(None, f"{prefix}{key}", None, f'missing key \'{key}\'; add it, e.g. {key} = "{example}"')
        return ""
    value = data[key]
    if not isinstance(value, str) or (required and not value.strip()):
        log.error(None, f"{prefix}{key}", value, f'expected text in quotes, e.g. {key} = "{example}"')
        return ""
    return " ".join(value.split()) if required else value.strip()


def _pair(log: ProblemLog, spec: dict, what: str, prefix: str, top: float, unit: str) -> tuple[float, float] | None:
    """``<what>_low``/``<what>_high``: both or neither (neither is 0, 0); 0 < low <= high."""
    lo_k, hi_k = f"{what}_low", f"{what}_high"
    if lo_k not in spec and hi_k not in spec:
        return 0.0, 0.0
    if (lo_k in spec) != (hi_k in spec):
        missing = hi_k if lo_k in spec else lo_k
        log.error(None, f"{prefix}{missing}", None, f"missing key '{missing}': give both ends of the 90% range "
                  f"({unit}), or neither")
        return None
    lo = take_number(log, spec, lo_k, None, prefix=prefix, high=top)
    hi = take_number(log, spec, hi_k, None, prefix=prefix, high=top)
    if lo is None or hi is None:
        return None
    if lo > hi:
        log.error(None, f"{prefix}{lo_k}", spec[lo_k], f"expected {lo_k} at most {hi_k} ({hi:,g}): low is the "
                  "5th percentile, high the 95th")
        return None
    if lo == 0 and hi > 0:
        log.error(None, f"{prefix}{lo_k}", spec[lo_k], "expected a low above 0 (a lognormal range cannot start "
                  f"at 0); use a small positive value such as 1, or 0 for both ends for no {unit}")
        return None
    if lo > 0:
        from .distributions import mean_above_high

        if mean_above_high(lo, hi):
            log.warn(None, f"{prefix}{hi_k}", spec[hi_k], f"this range is so wide that its average lies above "
                     f"{hi_k}; check for a typing slip (an extra zero)")
    return lo, hi


def load_shared_events(path: str | Path) -> tuple[SharedEvent, ...]:
    """Read the shared supplier events of ``portfolio.toml`` (format: registers/README.md).

    Returns
    -------
    tuple of SharedEvent
        In the file's order.

    Raises
    ------
    InputError
        Every problem found, each located (file, ``events.<name>.<key>``, the value, what was
        expected): unknown keys (with the nearest known one), an unknown service, a missing
        supplier, figures out of range, a range given by one end, an event named twice.
    """
    log = ProblemLog(str(path))
    data = read_toml(path, "shared supplier events", log)
    for key in data:
        if key not in _TOP:
            _unknown_key(log, "", key, data[key], _TOP)
    _text(log, data, "name", "")
    _text(log, data, "notes", "")
    take_bool(log, data, "illustrative", False)
    raw = data.get("events", {})
    if not isinstance(raw, dict):
        log.error(None, "events", raw, "expected [events.<name>] tables, e.g. [events.emis-outage]")
        raw = {}
    if len(raw) > MAX_EVENTS:
        log.error(None, "events", f"{len(raw):,} events", f"expected at most {MAX_EVENTS:,} shared events")
        raw = {}
    out: list[SharedEvent] = []
    seen: dict[str, str] = {}
    for name, spec in raw.items():
        prefix = f"events.{name}."
        if not str(name).strip():
            log.error(None, "events", name, "expected a name for the event, e.g. [events.emis-outage]")
            continue
        key = str(name).strip().casefold()
        if key in seen:
            log.error(None, f"events.{name}", None, f"expected a unique event name; [events.{seen[key]}] is the "
                      "same name (names are compared ignoring case)")
            continue
        seen[key] = name
        if not isinstance(spec, dict):
            log.error(None, f"events.{name}", spec, "expected a table: [events.<name>] then supplier = ..., "
                      "service = ... on the lines below")
            continue
        event = _read_event(log, str(name), spec, prefix)
        if event is not None:
            out.append(event)
    log.raise_if_errors()
    return tuple(out)


def _read_event(log: ProblemLog, name: str, spec: dict, prefix: str) -> "SharedEvent | None":
    """One ``[events.<name>]`` table; ``None`` (with its problems logged) if it has errors."""
    before = len(log.errors)
    for k in spec:
        if k not in _EVENT:
            _unknown_key(log, prefix, k, spec[k], _EVENT)
    supplier = _text(log, spec, "supplier", prefix, required=True, example="EMIS Web")
    service = spec.get("service")
    if "service" not in spec:
        log.error(None, f"{prefix}service", None, f"missing key 'service'; expected one of: {', '.join(SERVICES)}")
    elif service not in SERVICES:
        close = difflib.get_close_matches(str(service), SERVICES, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        log.error(None, f"{prefix}service", service, f"unknown service; {hint}expected one of: {', '.join(SERVICES)}")
    frequency = take_number(log, spec, "frequency", None, prefix=prefix, high=MAX_EVENT_FREQUENCY, required=True)
    hours = _pair(log, spec, "hours", prefix, MAX_EVENT_HOURS, "hours")
    share_low = take_number(log, spec, "share_low", 1.0, prefix=prefix, high=1.0)
    share_high = take_number(log, spec, "share_high", 1.0 if "share_low" not in spec else share_low,
                             prefix=prefix, high=1.0)
    if share_low is not None and share_high is not None:
        if share_low > share_high:
            log.error(None, f"{prefix}share_low", spec.get("share_low"), "expected share_low at most share_high: "
                      "the event hits a share of the supplier's practices drawn between them")
        elif share_high == 0:
            log.error(None, f"{prefix}share_high", spec.get("share_high"),
                      "expected a share above 0: an event that hits no practice does nothing (delete it instead)")
    breach_p = take_number(log, spec, "breach_probability", 0.0, prefix=prefix, high=1.0)
    cost = _pair(log, spec, "breach_cost", prefix, MAX_EVENT_COST, "pounds")
    if breach_p and cost is not None and cost[1] == 0:
        log.error(None, f"{prefix}breach_cost_low", None, "expected breach_cost_low and breach_cost_high (pounds "
                  "per practice hit) because breach_probability is above 0")
    elif not breach_p and cost is not None and cost[1] > 0:
        log.warn(None, f"{prefix}breach_cost_low", spec.get("breach_cost_low"),
                 "ignored because breach_probability is 0 (or missing)")
        cost = (0.0, 0.0)
    if hours is not None and hours[1] == 0 and not breach_p:
        log.warn(None, f"events.{name}", None, "this event neither interrupts (hours 0) nor breaches data "
                 "(breach_probability 0), so it adds nothing")
    description = _text(log, spec, "description", prefix)
    source = _text(log, spec, "source", prefix)
    if len(log.errors) > before or hours is None or cost is None:
        return None
    return SharedEvent(name.strip(), supplier, service, float(frequency), hours[0], hours[1],
                       float(share_low), float(share_high), float(breach_p), cost[0], cost[1],
                       description, source)


