"""A book of practices and the supplier events they share: the inputs of ``riskmodel portfolio``.

An advisor, a broker or an ICB asks what happens to all its practices in the same bad year. Most
English practices run one of two clinical systems, so one supplier's outage hits thousands at
once (docs/portfolio.md). The inputs are:

- the practices: each practice folder's register for a quarter, with its policy and contracts
  (:func:`load_portfolio`), or a synthetic national book (:mod:`riskmodel.inputs.synthetic`);
- the shared supplier events (``portfolio.toml``, :func:`load_shared_events`): a supplier, the
  service it provides, how often, how long and how widely it fails. An event hits the practices
  whose ``[suppliers]`` table in ``practice.toml`` names that supplier for that service.

This module only reads and describes; the simulation is elsewhere.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmodel.io.errors import InputError, ProblemLog
from riskmodel.inputs.practice import SUPPLIER_SERVICES, supplier_key
from riskmodel.io.tomlfile import read_toml, take_bool, take_number

if TYPE_CHECKING:  # pragma: no cover
    from riskmodel.inputs.contracts import Contracts
    from riskmodel.inputs.policy import Policy
    from riskmodel.inputs.register import Register

#: The services a practice depends on (the keys of ``[suppliers]`` in practice.toml).
SERVICES: tuple[str, ...] = ("clinical_system", "telephony", "it_support", "website", "online_consultation",
                             "patient_app", "pathology", "payroll")
assert SERVICES == tuple(SUPPLIER_SERVICES), "one list of services: riskmodel.inputs.practice.SUPPLIER_SERVICES"

#: The shared events' file in a registers folder.
PORTFOLIO_FILE = "portfolio.toml"
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


@dataclass(frozen=True)
class PortfolioPractice:
    """One practice of a book: its register for the quarter (with its profile, so
    ``register.practice.suppliers``), its policy and its contract cover."""

    name: str
    register: "Register"
    policy: "Policy | None"
    contracts: "Contracts | None"
    icb: str = ""
    list_size: int = 0

    def supplier(self, service: str) -> str | None:
        """Who provides ``service`` to this practice (``None``: its profile does not say)."""
        return self.register.practice.supplier(service)

    @property
    def insured(self) -> bool:
        return self.policy is not None and self.policy.insured


@dataclass(frozen=True)
class Portfolio:
    """A book of practices and the supplier events they share.

    Raises
    ------
    ValueError
        Two practices or two events with the same name (events compared ignoring case).
    """

    practices: tuple[PortfolioPractice, ...]
    events: tuple[SharedEvent, ...]
    source: str
    #: (service, supplier key) -> indices of the practices with that supplier, built once
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "practices", tuple(self.practices))
        object.__setattr__(self, "events", tuple(self.events))
        _unique([p.name for p in self.practices], "practice")
        _unique([e.name.strip().casefold() for e in self.events], "shared event")
        index: dict[tuple[str, str], list[int]] = {}
        for i, p in enumerate(self.practices):
            for service, name in p.register.practice.suppliers:
                index.setdefault((service, supplier_key(name)), []).append(i)
        self._index.update({k: tuple(v) for k, v in index.items()})

    def practices_of(self, event: SharedEvent) -> tuple[int, ...]:
        """Indices (into ``practices``) of the practices whose supplier of ``event.service`` is
        ``event.supplier``, in book order."""
        return self._index.get((event.service, supplier_key(event.supplier)), ())

    def __len__(self) -> int:
        return len(self.practices)


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    dup = sorted({n for n in names if n in seen or seen.add(n)})
    if dup:
        raise ValueError(f"each {what} needs a unique name; repeated: {', '.join(dup[:5])}")


# ---- portfolio.toml ---------------------------------------------------------------------------
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
        from riskmodel.inputs.distributions import mean_above_high

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
            continue
        out.append(SharedEvent(str(name).strip(), supplier, service, float(frequency), hours[0], hours[1],
                               float(share_low), float(share_high), float(breach_p), cost[0], cost[1],
                               description, source))
    log.raise_if_errors()
    return tuple(out)


# ---- a registers folder as a book -------------------------------------------------------------
def load_practice_inputs(practice_dir: str | Path, quarter: str, prepare=None) -> PortfolioPractice:
    """One practice folder as the quarterly report reads it: the quarter's register (passed to
    ``prepare(register) -> (register, warnings)`` if given: the caller's
    ``riskmodel.analysis.evidence.with_incident_log`` attaches the incident log beside it, a later
    stage this one may not import), the quarter's policy (``<quarter>.policy.toml``, else
    ``policy.toml``; ``None`` without either) and the contract cover (``contracts.toml`` beside
    it over the shipped default).

    Raises
    ------
    InputError
        Problems in any of the practice's files; ``FileNotFoundError`` without a register for
        the quarter.
    """
    from riskmodel.inputs.contracts import load_contracts
    from riskmodel.io.locations import beside, find_policy, find_quarter_register
    from riskmodel.inputs.policy import load_policy
    from riskmodel.inputs.register import load_register

    d = Path(practice_dir)
    path = find_quarter_register(d, quarter)
    if path is None:
        raise FileNotFoundError(f"no register for {quarter} in its folder (expected {quarter}.xlsx or "
                                f"{quarter}.csv)")
    reg = load_register(path)
    if prepare is not None:     # e.g. riskmodel.analysis.evidence.with_incident_log (a later stage)
        reg, _ = prepare(reg)
    pol_path = find_policy(path, quarter)
    pol = load_policy(pol_path, set(reg.controls)) if pol_path else None
    con = load_contracts(beside(path, "contracts.toml"))
    return PortfolioPractice(d.name, reg, pol, con, reg.practice.icb, int(reg.practice.list_size))


def load_portfolio(registers_dir: str | Path, quarter: str, prepare=None) -> tuple[Portfolio, list[tuple[str, str]]]:
    """Every practice folder of ``registers_dir`` for ``quarter``, and the shared events of its
    ``portfolio.toml`` (none without one).

    Practice folders are the sub-folders not starting with ``.`` or ``_`` (as ``riskmodel
    report`` reads them), each read by :func:`load_practice_inputs`. One bad practice never
    stops the book: a folder that fails to load (no register for the quarter, an invalid file)
    is left out and returned in the failures with its reason.

    Returns
    -------
    (Portfolio, list of (practice, error message))

    Raises
    ------
    FileNotFoundError
        ``registers_dir`` is not a folder.
    InputError
        Problems in ``portfolio.toml`` (it is the book's own file, not one practice's).
    """
    root = Path(registers_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder of practice folders at {root}")
    events = load_shared_events(root / PORTFOLIO_FILE) if (root / PORTFOLIO_FILE).is_file() else ()
    practices, failures = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        try:
            practices.append(load_practice_inputs(d, quarter, prepare))
        except InputError as exc:
            failures.append((d.name, str(exc)))
        except Exception as exc:  # one practice failing must not stop the book
            failures.append((d.name, _reason(exc)))
    return Portfolio(tuple(practices), events, str(root)), failures


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    text = str(exc).strip()
    return text.splitlines()[-1][:500] if text else exc.__class__.__name__


# ---- describing a book --------------------------------------------------------------------------
def portfolio_facts(portfolio: Portfolio) -> dict:
    """What a book holds, as plain JSON-ready values (for the command's output and the report).

    Keys: ``source``, ``practices``, ``patients`` (sum of list sizes), ``list_size`` (min, median,
    mean, max), ``icbs`` (how many), ``by_icb`` (practices per ICB), ``insured`` and
    ``uninsured`` counts, ``policies`` (practices per policy name; ``"no policy"`` without one),
    ``illustrative`` (practices whose profile says so), ``suppliers`` (per service, practices per
    supplier, largest first, with ``"not stated"`` for practices whose profile does not say) and
    ``events`` (per shared event, its figures and the practices and patients it can hit).
    """
    import statistics

    ps = portfolio.practices
    sizes = [int(p.list_size) for p in ps]
    by_icb: dict[str, int] = {}
    policies: dict[str, int] = {}
    for p in ps:
        by_icb[p.icb or "not stated"] = by_icb.get(p.icb or "not stated", 0) + 1
        name = "no policy" if p.policy is None else (p.policy.name if p.policy.insured else
                                                      f"{p.policy.name} (no cover)")
        policies[name] = policies.get(name, 0) + 1
    suppliers: dict[str, dict[str, int]] = {}
    for service in SERVICES:
        counts: dict[str, int] = {}
        shown: dict[str, str] = {}
        for p in ps:
            name = p.supplier(service)
            key = "not stated" if name is None else supplier_key(name)
            shown.setdefault(key, "not stated" if name is None else name)
            counts[key] = counts.get(key, 0) + 1
        suppliers[service] = {shown[k]: v for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
    events = []
    for e in portfolio.events:
        hit = portfolio.practices_of(e)
        events.append({"name": e.name, "supplier": e.supplier, "service": e.service, "frequency": e.frequency,
                       "hours_low": e.hours_low, "hours_high": e.hours_high, "share_low": e.share_low,
                       "share_high": e.share_high, "breach_probability": e.breach_probability,
                       "breach_cost_low": e.breach_cost_low, "breach_cost_high": e.breach_cost_high,
                       "practices": len(hit), "patients": sum(sizes[i] for i in hit),
                       "description": e.description, "source": e.source})
    insured = sum(1 for p in ps if p.insured)
    return {
        "source": portfolio.source,
        "practices": len(ps),
        "patients": sum(sizes),
        "list_size": ({"min": min(sizes), "median": float(statistics.median(sizes)),
                       "mean": sum(sizes) / len(sizes), "max": max(sizes)} if sizes else {}),
        "icbs": len([k for k in by_icb if k != "not stated"]),
        "by_icb": dict(sorted(by_icb.items())),
        "insured": insured,
        "uninsured": len(ps) - insured,
        "policies": dict(sorted(policies.items(), key=lambda kv: (-kv[1], kv[0]))),
        "illustrative": sum(1 for p in ps if p.register.practice.illustrative),
        "suppliers": suppliers,
        "events": events,
    }


__all__ = ["SERVICES", "PORTFOLIO_FILE", "SharedEvent", "PortfolioPractice", "Portfolio", "load_shared_events",
           "load_practice_inputs", "load_portfolio", "portfolio_facts"]
