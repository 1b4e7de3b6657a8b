"""Cyber insurance policy schedules (``policy.toml``): sections, limits, excess, exclusions.

See ``registers/README.md`` for the format with a filled example. Defaults: every section is
covered except regulatory fines (their insurability in England is doubtful, shared/domain.md)
and betterment; business interruption has an 8-hour waiting period ("typically eight hours",
CFC, shared/domain.md) that pays only the hours beyond it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .components import BUSINESS_INTERRUPTION, COMPONENTS
from .errors import ProblemLog
from .tomlfile import check_keys, read_toml, take_number

NOT_COVERED_BY_DEFAULT = ("regulatory_fine", "betterment")
DEFAULT_WAITING_PERIOD_HOURS = 8.0
WAITING_MODES = ("beyond", "qualifying")
#: Risk tags that the war / state-backed exclusion applies to.
WAR_TAGS = ("state_backed", "war")

_TOP = {"name", "insurer", "period_start", "premium", "aggregate_limit", "excess",
        "limit_any_one_claim", "coinsurance", "sections", "requires_controls",
        "warranty_denial_probability", "war_exclusion", "unencrypted_device_exclusion", "notes",
        "illustrative"}
_SECTION = {"covered", "sublimit", "excess"}
_BI = _SECTION | {"waiting_period_hours", "waiting_period_mode", "indemnity_period_hours"}


@dataclass(frozen=True)
class Section:
    """One section of cover for a loss component."""

    covered: bool = True
    sublimit: float | None = None
    excess: float | None = None


@dataclass(frozen=True)
class Policy:
    """A cyber policy schedule. Money in pounds; ``excess`` is per claim (per event)."""

    name: str = "Cyber policy"
    insurer: str = ""
    period_start: str = ""
    premium: float = 0.0
    aggregate_limit: float = 0.0
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
    source: str = ""

    def __post_init__(self) -> None:
        if self.aggregate_limit < 0 or self.excess < 0 or self.premium < 0:
            raise ValueError("limits, excess and premium must be at least 0")
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
    def insured(self) -> bool:
        return self.aggregate_limit > 0 and any(s.covered for s in self.sections.values())


def load_policy(path: str | Path, known_controls: set[str] | None = None) -> Policy:
    """Read and validate a policy schedule.

    Raises
    ------
    InputError
        Located problems: unknown sections or keys, negative or non-numeric money, bad modes.
    """
    data = read_toml(path, "policy")
    log = ProblemLog(str(path))
    check_keys(log, data, _TOP)
    kw: dict = {"source": str(path)}
    for key in ("name", "insurer", "period_start"):
        if key in data:
            kw[key] = str(data[key])
    kw["premium"] = take_number(log, data, "premium", 0.0)
    kw["aggregate_limit"] = take_number(log, data, "aggregate_limit", 0.0, required=True)
    kw["excess"] = take_number(log, data, "excess", 0.0)
    kw["limit_any_one_claim"] = take_number(log, data, "limit_any_one_claim", None)
    kw["coinsurance"] = take_number(log, data, "coinsurance", 0.0, high=1.0)
    kw["warranty_denial_probability"] = take_number(log, data, "warranty_denial_probability", 1.0, high=1.0)
    for key in ("war_exclusion", "unencrypted_device_exclusion"):
        if key in data:
            if not isinstance(data[key], bool):
                log.error(None, key, data[key], "expected true or false")
            else:
                kw[key] = data[key]
    req = data.get("requires_controls", [])
    if not isinstance(req, list) or not all(isinstance(x, str) for x in req):
        log.error(None, "requires_controls", req, 'expected a list of control names, e.g. ["mfa", "offline_backups"]')
        req = []
    for c in req:
        if known_controls is not None and c not in known_controls:
            log.error(None, "requires_controls", c, f"unknown control; expected one of: {', '.join(sorted(known_controls))}")
    kw["requires_controls"] = tuple(req)

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
        covered = sec.get("covered", comp not in NOT_COVERED_BY_DEFAULT)
        if not isinstance(covered, bool):
            log.error(None, f"{prefix}covered", covered, "expected true or false")
            covered = False
        sections[comp] = Section(covered, take_number(log, sec, "sublimit", None, prefix=prefix),
                                 take_number(log, sec, "excess", None, prefix=prefix))
        if comp == BUSINESS_INTERRUPTION:
            kw["waiting_period_hours"] = take_number(log, sec, "waiting_period_hours",
                                                     DEFAULT_WAITING_PERIOD_HOURS, prefix=prefix)
            kw["indemnity_period_hours"] = take_number(log, sec, "indemnity_period_hours", None, prefix=prefix)
            mode = sec.get("waiting_period_mode", "beyond")
            if mode not in WAITING_MODES:
                log.error(None, f"{prefix}waiting_period_mode", mode, "expected 'beyond' or 'qualifying'")
            else:
                kw["waiting_period_mode"] = mode
    log.raise_if_errors()
    return Policy(sections=sections, **kw)
