"""Cyber insurance policy schedules (``policy.toml``): sections, limits, excess, exclusions.

See ``registers/README.md`` for the format with a filled example. Defaults: every section is
covered except regulatory fines (insuring penal fines is generally unenforceable in England and
the insurability of ICO fines is contested; see docs/sources.md) and betterment.

No cover is always explicit: no policy file, ``insured = false`` in ``policy.toml``, or
``Policy()`` without an aggregate limit. An aggregate limit of 0 is refused as ambiguous (it
used to mean "uninsured"); ``aggregate_limit = "unlimited"`` is stored as ``math.inf``. A
sublimit is a positive number or absent (no sublimit): a section with no cover is
``covered = false``, never ``sublimit = 0``.

Business interruption is paid on hours down × the practice's cost per hour. The indemnity
period runs from the start of the outage (the market convention) and caps the hours counted;
the waiting period (a time excess, "typically eight hours", CFC) then applies:

- ``"beyond"`` (default): pays the hours after the waiting period and within the indemnity
  period, ``max(min(h, indemnity) - waiting, 0)``: at most indemnity − waiting hours for one
  event.
- ``"qualifying"``: once the outage lasts longer than the waiting period, pays from hour 0 up to
  the indemnity period, ``min(h, indemnity)`` if ``h > waiting`` else 0.

With an 8-hour waiting period and a 720-hour indemnity period a 1,000-hour outage pays 712 hours
("beyond") or 720 hours ("qualifying"); a 6-hour outage pays nothing in either mode; a 20-hour
outage pays 12 or 20 hours. The waiting period replaces the per-claim excess for business
interruption unless the section sets its own excess.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from .components import BUSINESS_INTERRUPTION, COMPONENTS
from ..io.errors import Problem, ProblemLog
from ..io.parsing import parse_number
from ..io.tomlfile import check_keys, read_toml, take_bool, take_number

NOT_COVERED_BY_DEFAULT = ("regulatory_fine", "betterment")
DEFAULT_WAITING_PERIOD_HOURS = 8.0
WAITING_MODES = ("beyond", "qualifying")
#: Risk tags that the war / state-backed exclusion applies to.
WAR_TAGS = ("state_backed", "war")
#: How an unlimited aggregate limit is written in policy.toml and in JSON summaries.
UNLIMITED = "unlimited"

_TOP = {"name", "insurer", "period_start", "premium", "insured", "aggregate_limit", "excess",
        "limit_any_one_claim", "coinsurance", "sections", "requires_controls",
        "warranty_denial_probability", "war_exclusion", "unencrypted_device_exclusion", "notes",
        "illustrative"}
_SECTION = {"covered", "sublimit", "excess"}
_BI = _SECTION | {"waiting_period_hours", "waiting_period_mode", "indemnity_period_hours"}
_NO_COVER_HINT = ("write `insured = false` for no cyber insurance, or a positive limit such as "
                  "`aggregate_limit = 50000` or `aggregate_limit = \"unlimited\"`")
_SUBLIMIT_HINT = ("a section with no cover is `covered = false`; omit sublimit for no sublimit, "
                  "or give a positive amount")


@dataclass(frozen=True)
class Section:
    """One section of cover for a loss component.

    Parameters
    ----------
    covered : bool
        Whether the policy pays for this component at all.
    sublimit : float or None
        Annual sublimit in pounds (it erodes the aggregate limit); ``None`` for no sublimit.
        Must be positive: 0 is refused as ambiguous (no cover is ``covered=False``).
    excess : float or None
        The section's own per-claim excess instead of the policy's; ``None`` for the policy's.

    Raises
    ------
    ValueError
        A sublimit of 0 or less, or a negative excess.
    """

    covered: bool = True
    sublimit: float | None = None
    excess: float | None = None

    def __post_init__(self) -> None:
        if self.sublimit is not None and not self.sublimit > 0:
            raise ValueError(f"sublimit must be positive or None, got {self.sublimit!r}: a section with "
                             "no cover is covered=False; sublimit=None means no sublimit")
        if self.excess is not None and not self.excess >= 0:
            raise ValueError(f"a section's excess must be at least 0 or None, got {self.excess!r}")


@dataclass(frozen=True)
class Policy:
    """A cyber policy schedule. Money in pounds; ``excess`` is per claim (per event).

    Parameters
    ----------
    aggregate_limit : float or None
        Annual limit for all sections together: a positive number, or ``math.inf`` for unlimited.
        ``None`` (the default) means no cover: ``Policy()`` is "no cyber insurance". 0 is
        refused as ambiguous: pass ``cover=False`` (or leave the limit out) for no cover. After
        construction it is always a float (0.0 for a policy without cover and without a limit).
    cover : bool or None
        ``False``: the practice has no cyber insurance (``insured = false`` in policy.toml); the
        other terms are kept for display but nothing is paid. ``True``: insured, which needs a
        positive or infinite ``aggregate_limit``. ``None`` (default): insured exactly when an
        aggregate limit is given. After construction it is always a bool.
    waiting_period_hours, waiting_period_mode, indemnity_period_hours
        Business interruption: see the module docstring for exactly what each mode pays (at
        most ``indemnity_period_hours - waiting_period_hours`` for one event in ``"beyond"``
        mode, ``indemnity_period_hours`` in ``"qualifying"`` mode).

    Raises
    ------
    ValueError
        An aggregate limit of 0 with cover not switched off, ``cover=True`` without a limit,
        negative or NaN money, coinsurance outside [0, 1], an unknown waiting-period mode.
    """

    name: str = "Cyber policy"
    insurer: str = ""
    period_start: str = ""
    premium: float = 0.0
    aggregate_limit: float | None = None
    excess: float = 0.0
    limit_any_one_claim: float | None = None
    coinsurance: float = 0.0
    sections: dict[str, Section] = field(default_factory=dict)
    waiting_period_hours: float = DEFAULT_WAITING_PERIOD_HOURS
    waiting_period_mode: str = "beyond"
    indemnity_period_hours: float | None = None
    requires_controls: tuple[str, ...] = ()
    warranty_denial_probability: float = 1.0
    war_exclusion: bool = True
    unencrypted_device_exclusion: bool = True
    cover: bool | None = None
    source: str = ""
    #: warnings found while reading policy.toml (not UTF-8; a waiting period longer than the
    #: indemnity period). Not part of the terms: ignored when policies are compared.
    warnings: tuple[Problem, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        limit, cover = self.aggregate_limit, self.cover
        if limit is not None and not limit >= 0:          # also catches NaN
            raise ValueError(f"aggregate_limit must be positive or math.inf, got {limit!r}")
        if cover is None:
            if limit == 0:
                raise ValueError("aggregate_limit=0 is ambiguous: pass cover=False (or no aggregate_limit) "
                                 "for no cyber insurance, or a positive limit or math.inf")
            cover = limit is not None
        elif cover and (limit is None or limit == 0):
            raise ValueError(f"cover=True needs a positive aggregate_limit or math.inf, got {limit!r}")
        object.__setattr__(self, "cover", bool(cover))
        object.__setattr__(self, "aggregate_limit", 0.0 if limit is None else float(limit))
        if not (self.excess >= 0 and self.premium >= 0):
            raise ValueError("excess and premium must be at least 0")
        if not 0 <= self.coinsurance <= 1:
            raise ValueError("coinsurance must be between 0 and 1")
        if self.waiting_period_mode not in WAITING_MODES:
            raise ValueError(f"waiting_period_mode must be one of {WAITING_MODES}")
        full = {c: Section(covered=c not in NOT_COVERED_BY_DEFAULT) for c in COMPONENTS}
        full.update(self.sections)
        object.__setattr__(self, "sections", full)

    def section(self, component: str) -> Section:
        return self.sections[component]

    def with_terms(self, **changes) -> "Policy":
        """A copy with top-level terms changed (e.g. ``aggregate_limit=1_000_000``)."""
        return replace(self, **changes)

    def with_section(self, component: str, **changes) -> "Policy":
        """A copy with one section changed (e.g. ``covered=False`` or ``sublimit=50_000``)."""
        sections = dict(self.sections)
        sections[component] = replace(sections[component], **changes)
        return replace(self, sections=sections)

    @property
    def unlimited(self) -> bool:
        """True when the aggregate limit is unlimited (``math.inf``)."""
        return math.isinf(self.aggregate_limit)

    @property
    def insured(self) -> bool:
        """True when the policy can pay anything: cover is on, the limit is positive and at
        least one section is covered."""
        return self.cover and self.aggregate_limit > 0 and any(s.covered for s in self.sections.values())


def load_policy(path: str | Path, known_controls: set[str] | None = None) -> Policy:
    """Read and validate a policy schedule.

    ``insured = false`` reads as a policy without cover (the other terms are then optional).
    Otherwise ``aggregate_limit`` is required: a positive number or ``"unlimited"``.

    Raises
    ------
    InputError
        Located problems: unknown sections or keys, negative or non-numeric money, an aggregate
        limit of 0 or a sublimit of 0 (ambiguous), text where true/false belongs, bad modes.
    """
    log = ProblemLog(str(path))
    data = read_toml(path, "policy", log)
    check_keys(log, data, _TOP)
    kw: dict = {"source": str(path)}
    for key in ("name", "insurer"):
        if key in data:
            if not isinstance(data[key], str):
                log.error(None, key, data[key], f'expected text in quotes, e.g. {key} = "..."')
            kw[key] = str(data[key])
    if "period_start" in data:
        start = _take_date(log, data, "period_start")
        if start is not None:
            kw["period_start"] = start
    cover = take_bool(log, data, "insured", True)
    kw["cover"] = cover
    kw["premium"] = take_number(log, data, "premium", 0.0)
    kw["aggregate_limit"] = _take_aggregate_limit(log, data, cover)
    kw["excess"] = take_number(log, data, "excess", 0.0)
    kw["limit_any_one_claim"] = take_number(log, data, "limit_any_one_claim", None)
    kw["coinsurance"] = take_number(log, data, "coinsurance", 0.0, high=1.0)
    kw["warranty_denial_probability"] = take_number(log, data, "warranty_denial_probability", 1.0, high=1.0)
    for key in ("war_exclusion", "unencrypted_device_exclusion"):
        kw[key] = take_bool(log, data, key, True)
    req = data.get("requires_controls", [])
    if not isinstance(req, list) or not all(isinstance(x, str) for x in req):
        log.error(None, "requires_controls", req, 'expected a list of control names, e.g. ["mfa", "offline_backups"]')
        req = []
    for c in req:
        if known_controls is not None and c not in known_controls:
            log.error(None, "requires_controls", c, f"unknown control; expected one of: {', '.join(sorted(known_controls))}")
    kw["requires_controls"] = tuple(req)

    sections = _sections(log, data, kw)
    log.raise_if_errors()
    return Policy(sections=sections, warnings=tuple(log.warnings), **kw)


def _take_date(log: ProblemLog, data: dict, key: str) -> str | None:
    """An ISO date (``2026-10-01``, quoted or not) as text; a located error otherwise."""
    value = data[key]
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    log.error(None, key, value, f"expected a date written year-month-day, e.g. {key} = 2026-10-01")
    return None


def _take_aggregate_limit(log: ProblemLog, data: dict, cover: bool) -> float | None:
    """``aggregate_limit``: a positive number or ``"unlimited"`` (``math.inf``); required and
    non-zero unless ``insured = false``. ``None`` when absent (or invalid, after logging)."""
    key = "aggregate_limit"
    value = data.get(key)
    if isinstance(value, str) and value.strip().lower() == UNLIMITED:
        return math.inf
    if key not in data:
        if cover:
            log.error(None, key, None, f"missing key '{key}'; {_NO_COVER_HINT}")
        return None
    try:
        limit = parse_number(value)
    except (ValueError, TypeError):
        log.error(None, key, value, f'expected a positive number or "{UNLIMITED}"; {_NO_COVER_HINT}')
        return None
    if limit < 0 or (limit == 0 and cover):
        what = "an aggregate limit of 0 is ambiguous (it no longer means uninsured)" if limit == 0 \
            else "expected a positive number"
        log.error(None, key, value, f"{what}; {_NO_COVER_HINT}")
        return None
    return limit


def _sections(log: ProblemLog, data: dict, kw: dict) -> dict[str, Section]:
    """The schedule's ``[sections.<component>]`` tables; business interruption's waiting and
    indemnity periods go into ``kw`` (the policy's own terms)."""
    sections: dict[str, Section] = {}
    raw_sections = data.get("sections", {})
    if not isinstance(raw_sections, dict):
        log.error(None, "sections", raw_sections, "expected [sections.<component>] tables")
        raw_sections = {}
    for comp, sec in raw_sections.items():
        prefix = f"sections.{comp}."
        if comp not in COMPONENTS:
            log.error(None, f"sections.{comp}", None, f"unknown section; expected one of: {', '.join(COMPONENTS)}")
            continue
        if not isinstance(sec, dict):
            log.error(None, f"sections.{comp}", sec, "expected a table with covered = true/false")
            continue
        check_keys(log, sec, _BI if comp == BUSINESS_INTERRUPTION else _SECTION, prefix)
        covered = take_bool(log, sec, "covered", comp not in NOT_COVERED_BY_DEFAULT, prefix=prefix)
        sublimit = take_number(log, sec, "sublimit", None, prefix=prefix)
        if sublimit == 0:
            log.error(None, f"{prefix}sublimit", sec["sublimit"], _SUBLIMIT_HINT)
            sublimit = None
        sections[comp] = Section(covered, sublimit, take_number(log, sec, "excess", None, prefix=prefix))
        if comp == BUSINESS_INTERRUPTION:
            kw["waiting_period_hours"] = take_number(log, sec, "waiting_period_hours",
                                                     DEFAULT_WAITING_PERIOD_HOURS, prefix=prefix)
            kw["indemnity_period_hours"] = take_number(log, sec, "indemnity_period_hours", None, prefix=prefix)
            waiting, indemnity = kw["waiting_period_hours"], kw["indemnity_period_hours"]
            if waiting is not None and indemnity is not None and waiting > indemnity:
                log.warn(None, f"{prefix}waiting_period_hours", sec.get("waiting_period_hours", waiting),
                         f"the waiting period ({waiting:g} hours) is longer than the indemnity period "
                         f"({indemnity:g} hours), so business interruption can never pay; check the schedule "
                         "(both are counted from the start of the outage)")
            mode = sec.get("waiting_period_mode", "beyond")
            if mode not in WAITING_MODES:
                log.error(None, f"{prefix}waiting_period_mode", mode, "expected 'beyond' or 'qualifying'")
            else:
                kw["waiting_period_mode"] = mode
    return sections
