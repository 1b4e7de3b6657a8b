"""The risk register: load a CSV or Excel register, validate it in one pass, and describe it.

The format is documented in ``registers/README.md``. Every problem is reported with the file,
the row as the user sees it (header = row 1), the column, the bad value and what is expected.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .components import (BUSINESS_INTERRUPTION, CATEGORIES, COLUMN_PREFIX, COMPONENTS, OWNERS)
from .distributions import LogNormal, mean_above_high
from ..io.errors import InputError, Problem, ProblemLog
from ..io.parsing import (cell_text, clean_text, invisible_characters, is_blank, number_hint, parse_bool,
                      parse_list, parse_number)
from .practice import Practice, load_practice
from ..io.sheets import EXCEL_SUFFIXES, MAX_ROWS, hidden_sheet_warnings, read_table
from .controls import Control, Scales, load_controls, load_scales

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
_MAXIMA = {"events per year": MAX_EVENTS_PER_YEAR, "pounds per event": MAX_POUNDS_PER_EVENT,
           "hours": MAX_HOURS_PER_EVENT}
KNOWN_COLUMNS = set(REQUIRED_COLUMNS) | set(DETAIL_COLUMNS) | {
    "events_low", "events_high", "likelihood", "impact", "controls", "common_shock",
    "shock_multiplier", "shock_targets", "shock_effect", "tags",
} | {f"{COLUMN_PREFIX[c]}_{s}" for c in COMPONENTS for s in ("low", "high", "prob")}

_CONTROL_ITEM = re.compile(r"^(?P<name>[a-z0-9_ .-]+?)\s*(\((?P<status>[a-z _-]+)\))?$")


@dataclass(frozen=True)
class ComponentRange:
    """A per-event loss component: a lognormal with 90% range ``low``-``high`` occurring with
    probability ``prob`` in an event. For business interruption the range is in hours."""

    component: str
    low: float
    high: float
    prob: float = 1.0

    @property
    def dist(self) -> LogNormal:
        return LogNormal.from_range(self.low, self.high)

    def mean(self) -> float:
        return self.prob * self.dist.mean()


@dataclass(frozen=True)
class Frequency:
    """Annual event count: Poisson with mean ``mean`` or, when ``low``/``high`` are given, a
    Poisson whose rate is lognormal with that 90% range (a Poisson-lognormal mixture)."""

    mean: float
    low: float | None = None
    high: float | None = None
    basis: str = "events_per_year"

    @property
    def rate(self) -> LogNormal | None:
        if self.low is None or self.high is None:
            return None
        return LogNormal.from_range(self.low, self.high)

    @classmethod
    def from_range(cls, low: float, high: float, basis: str) -> "Frequency":
        return cls(LogNormal.from_range(low, high).mean(), low, high, basis)

    def prob_at_least_one(self) -> float:
        """Chance of at least one event in a year: ``1 - exp(-m)`` for a Poisson count; for the
        Poisson-lognormal mixture ``1 - E[exp(-rate)]``, by Gauss-Hermite quadrature (80 nodes,
        exact to ~1e-12 for the validated ranges)."""
        rate = self.rate
        if rate is None:
            return float(-np.expm1(-self.mean))
        x, w = np.polynomial.hermite_e.hermegauss(80)
        lam = np.exp(rate.mu + rate.sigma * x)
        return float(1.0 - np.dot(w, np.exp(-lam)) / np.sqrt(2.0 * np.pi))

    def variance(self) -> float:
        """Variance of the annual count: ``m + m**2 * (exp(sigma**2) - 1)`` for the mixture."""
        rate = self.rate
        if rate is None:
            return self.mean
        return self.mean + rate.var()


@dataclass(frozen=True)
class Risk:
    """One row of the register."""

    risk_id: str
    title: str
    category: str
    system_owner: str
    frequency: Frequency
    components: tuple[ComponentRange, ...]
    controls: tuple[str, ...] = ()
    common_shock: bool = False
    shock_multiplier: float = 1.0
    shock_targets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    row: int | None = None
    #: ``concentrate`` (default): the targets' register rates stay their long-run averages and the
    #: shock gathers their events into shock years; ``add``: the register rates are those of years
    #: without the shock, and a shock year adds events on top (the long-run average rises).
    shock_effect: str = "concentrate"

    def component(self, name: str) -> ComponentRange | None:
        for c in self.components:
            if c.component == name:
                return c
        return None


@dataclass(frozen=True)
class Register:
    """A validated register with its practice, controls library and control statuses.

    ``control_status`` maps every control named in the register to ``True`` (in place) or
    ``False`` (planned). Controls in the library but not named are absent (not in place).
    """

    path: str
    practice: Practice
    risks: tuple[Risk, ...]
    controls: dict[str, Control]
    control_status: dict[str, bool]
    warnings: tuple[Problem, ...] = ()
    sha256: str = ""
    scales: Scales | None = field(default=None, repr=False, compare=False)
    #: what the practice's incident log says (:class:`riskmodel.analysis.evidence.Evidence`): with it the
    #: engine draws each risk's yearly rate from its posterior; ``None`` (no log) leaves the
    #: register's frequencies as they are
    evidence: Any = field(default=None, repr=False, compare=False)

    @property
    def risk_ids(self) -> list[str]:
        return [r.risk_id for r in self.risks]

    def in_place(self, control: str) -> bool:
        return self.control_status.get(control, False)

    def with_control_status(self, **status: bool) -> "Register":
        """A copy with some controls switched between in place (True) and planned (False)."""
        unknown = [c for c in status if c not in self.control_status]
        if unknown:
            raise KeyError(f"controls not named in the register: {', '.join(unknown)}")
        return replace(self, control_status={**self.control_status, **status})

    def to_frame(self):
        """The register as a table (one row per risk) for display."""
        import pandas as pd

        rows = []
        for r in self.risks:
            rows.append({
                "risk_id": r.risk_id, "title": r.title, "category": CATEGORIES[r.category],
                "system_owner": r.system_owner, "events_per_year": r.frequency.mean,
                "controls": ", ".join(c + ("" if self.in_place(c) else " (planned)") for c in r.controls),
                **dict(r.details),
            })
        return pd.DataFrame(rows)


def register_hash(path: str | Path) -> str:
    """SHA-256 of the register file's bytes (recorded in reports and manifests)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def find_practice_file(register_path: Path) -> Path | None:
    candidate = register_path.parent / "practice.toml"
    return candidate if candidate.is_file() else None


def load_register(path: str | Path, practice: str | Path | Practice | None = None) -> Register:
    """Load and validate a register (CSV or ``.xlsx``), with its practice profile and tables.

    Parameters
    ----------
    path : path
        The register file.
    practice : path or Practice, optional
        A practice profile; by default ``practice.toml`` beside the register, else defaults.

    Returns
    -------
    Register

    Raises
    ------
    InputError
        With every problem found (file, row, column, value and what is expected).
    """
    path = Path(path)
    problems: list[Problem] = []
    table = read_table(path, "register", header="risk_id", max_rows=MAX_RISKS)
    problems += table.warnings
    if path.suffix.lower() in EXCEL_SUFFIXES:
        problems += hidden_sheet_warnings(path)
    if isinstance(practice, Practice):
        prof = practice
    else:
        prof_path = Path(practice) if practice is not None else find_practice_file(path)
        try:
            prof = load_practice(prof_path, default_name=path.parent.name or path.stem)
            problems += prof.warnings
        except InputError as exc:
            problems += exc.problems
            prof = Practice()
    try:
        controls = load_controls(path)
    except InputError as exc:
        problems += exc.problems
        controls = load_controls(None)
    try:
        scales = load_scales(path)
    except InputError as exc:
        problems += exc.problems
        scales = load_scales(None)
    log = ProblemLog(table.file)
    risks, status = _parse_rows(table, log, controls, scales)
    problems += log.problems
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    register = Register(str(path), prof, tuple(risks), controls, status,
                        tuple(p for p in problems if p.severity == "warning"), register_hash(path), scales)
    return register


def _number(log: ProblemLog, row: int, column: str, value: Any, expected: str = "expected a number",
            maximum: float | None = None, unit: str = "") -> float | None:
    try:
        x = parse_number(value)
    except (ValueError, TypeError) as exc:
        log.error(row, column, value, expected + number_hint(exc))
        return None
    if x < 0:
        log.error(row, column, value, "expected a number of at least 0 (no negatives)")
        return None
    if maximum is not None and x > maximum:
        log.error(row, column, value, f"expected at most {maximum:,.0f} {unit}".rstrip()
                  + "; check for a typing slip (an extra zero or a misplaced decimal point)")
        return None
    return x


def _pair(log: ProblemLog, row: int, values: dict, prefix: str, unit: str) -> tuple[float, float] | None | str:
    """Read ``<prefix>_low``/``<prefix>_high``; 'blank' when both are empty."""
    lo_c, hi_c = f"{prefix}_low", f"{prefix}_high"
    lo_v, hi_v = values.get(lo_c), values.get(hi_c)
    if is_blank(lo_v) and is_blank(hi_v):
        return "blank"
    if is_blank(lo_v) or is_blank(hi_v):
        missing = lo_c if is_blank(lo_v) else hi_c
        log.error(row, missing, None, f"expected a value here because {hi_c if missing == lo_c else lo_c} "
                  f"is filled in: give both ends of the 90% range ({unit}), or neither")
        return None
    top = _MAXIMA.get(unit)
    lo = _number(log, row, lo_c, lo_v, f"expected a number ({unit})", top, unit)
    hi = _number(log, row, hi_c, hi_v, f"expected a number ({unit})", top, unit)
    if lo is None or hi is None:
        return None
    if lo > hi:
        log.error(row, lo_c, lo_v, f"expected {lo_c} at most {hi_c} ({cell_text(hi_v)}): "
                  "low is the 5th percentile, high the 95th")
        return None
    if lo == 0 and hi > 0:
        log.error(row, lo_c, lo_v, "expected a low above 0 (a lognormal range cannot start at 0); "
                  "use a small positive value such as 1")
        return None
    if lo > 0 and hi / lo > MAX_RANGE_RATIO:
        log.error(row, lo_c, lo_v, f"expected a range whose high is at most {MAX_RANGE_RATIO:,.0f} times its "
                  f"low, got {cell_text(lo_v)}-{cell_text(hi_v)}; check for a typing slip")
        return None
    if hi > 0 and mean_above_high(lo, hi):
        log.warn(row, hi_c, hi_v, f"the range {cell_text(lo_v)}-{cell_text(hi_v)} is so wide that its mean "
                 f"({LogNormal.from_range(lo, hi).mean():,.0f}) lies above its high value; check for a typing slip")
    return (lo, hi)


def _parse_rows(table, log: ProblemLog, controls: dict[str, Control], scales: Scales):
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    alternatives = {"events_per_year": ("events_low", "likelihood"),
                    "incident_response_low": ("impact",), "incident_response_high": ("impact",)}
    for c in missing:
        # A register may give frequency or impact in another documented way.
        if c in alternatives and any(a in table.columns for a in alternatives[c]):
            continue
        log.error(table.header_row, c, None,
                  f"missing column '{c}'; a register needs at least: {', '.join(REQUIRED_COLUMNS)}")
    for c in table.columns:
        if c not in KNOWN_COLUMNS:
            _unknown_column(log, table, c)
    if not table.rows:
        log.error(None, None, None, "the register has no risks; add one row per risk below the header")
    if log.errors:
        return [], {}

    risks: list[Risk] = []
    status: dict[str, tuple[bool, int]] = {}
    seen_ids: dict[str, int] = {}
    for values, n in zip(table.rows, table.row_numbers):
        risk = _parse_row(values, n, log, controls, scales, status)
        if risk is None:
            continue
        if risk.risk_id in seen_ids:
            log.error(n, "risk_id", risk.risk_id, f"expected a unique risk_id; row {seen_ids[risk.risk_id]} "
                      "already uses it")
            continue
        seen_ids[risk.risk_id] = n
        risks.append(risk)
    ids = set(seen_ids)
    for r in risks:
        for t in r.shock_targets:
            if t not in ids:
                log.error(r.row, "shock_targets", t, "expected risk_ids of other rows in this register")
    if not log.errors:
        for i, hits in shocks_on(risks).items():
            product = float(np.prod([m for _, m in hits])) if hits else 1.0
            if product > MAX_SHOCK_PRODUCT:
                names = ", ".join(f"{risks[s].risk_id} (x{m:g})" for s, m in hits)
                log.error(risks[i].row, "shock_multiplier", f"{product:g}",
                          f"at most {MAX_SHOCK_PRODUCT:g} for the shock multipliers that can hit one risk "
                          f"multiplied together; {risks[i].risk_id} can be hit by {names}: lower the "
                          "multipliers or narrow their shock_targets")
    return risks, {name: s for name, (s, _) in status.items()}


def _resembles(column: str) -> str | None:
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


def _unknown_column(log: ProblemLog, table, column: str) -> None:
    """A column not in the format: an error when it resembles a column that changes the numbers
    and that the register lacks (its values would be silently dropped), else a warning."""
    title = next((t for t in table.column_titles if t and column == _normal(t)), column)
    like = _resembles(column)
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


def shocks_on(risks) -> dict[int, list[tuple[int, float]]]:
    """For each risk (by index), the common shocks that can hit it: (shock index, multiplier).

    A shock hits its ``shock_targets``, or every risk that is not itself a common shock; a shock
    never hits itself or another shock, and a multiplier of 1 hits nothing."""
    index = {r.risk_id: i for i, r in enumerate(risks)}
    out: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(risks))}
    for s in risks:
        if not s.common_shock or s.shock_multiplier <= 1.0:
            continue
        targets = s.shock_targets or tuple(r.risk_id for r in risks if not r.common_shock)
        for t in targets:
            j = index[t]
            if j != index[s.risk_id] and not risks[j].common_shock:
                out[j].append((index[s.risk_id], s.shock_multiplier))
    return out


def _parse_row(values: dict, n: int, log: ProblemLog, controls: dict[str, Control], scales: Scales,
               status: dict[str, tuple[bool, int]]) -> Risk | None:
    before = len(log.errors)
    risk_id = clean_id(values.get("risk_id"))
    if not risk_id:
        log.error(n, "risk_id", None, "expected a risk_id (a short unique code such as R01)")
    else:
        hidden = invisible_characters(str(values.get("risk_id")).strip())
        if hidden:
            log.warn(n, "risk_id", values.get("risk_id"),
                     f"the risk_id holds invisible or look-alike characters ({', '.join(hidden)}); read as "
                     f"'{risk_id}': retype it to remove them")
    title = cell_text(values.get("title"))
    if not title:
        log.error(n, "title", None, "expected a short title describing the risk")
    category = cell_text(values.get("category")).lower().replace(" ", "_")
    if category not in CATEGORIES:
        log.error(n, "category", values.get("category"), f"expected one of: {', '.join(CATEGORIES)}")
    owner = cell_text(values.get("system_owner")).lower()
    if owner not in OWNERS:
        log.error(n, "system_owner", values.get("system_owner"), f"expected one of: {', '.join(OWNERS)}")

    frequency = _frequency(values, n, log, scales)
    components = _components(values, n, log, scales, category if category in CATEGORIES else None)

    names: list[str] = []
    for item in parse_list(values.get("controls")):
        m = _CONTROL_ITEM.match(item.strip().lower())
        if not m:
            log.error(n, "controls", item, "expected control names separated by ';', each optionally "
                      "followed by (planned), e.g. 'mfa; offline_backups (planned)'")
            continue
        name = m["name"].strip().replace(" ", "_").replace("-", "_")
        state = (m["status"] or "in place").replace("_", " ").replace("-", " ").strip()
        if name not in controls:
            log.error(n, "controls", item, f"unknown control; expected one of: {', '.join(sorted(controls))} "
                      "(or add it to a controls.csv beside the register)")
            continue
        if state not in ("planned", "in place"):
            log.error(n, "controls", item, "expected the status '(planned)' or '(in place)'")
            continue
        in_place = state == "in place"
        if name in status and status[name][0] != in_place:
            log.error(n, "controls", item, f"control '{name}' is marked "
                      f"{'in place' if status[name][0] else 'planned'} on row {status[name][1]}; "
                      "a control is either in place or planned for the whole practice")
            continue
        status.setdefault(name, (in_place, n))
        if name not in names:
            names.append(name)

    try:
        common_shock = parse_bool(values.get("common_shock"))
    except ValueError:
        log.error(n, "common_shock", values.get("common_shock"), "expected yes or no")
        common_shock = False
    multiplier = 1.0
    if common_shock:
        multiplier = DEFAULT_SHOCK_MULTIPLIER
        if not is_blank(values.get("shock_multiplier")):
            m = _number(log, n, "shock_multiplier", values.get("shock_multiplier"), "expected a number",
                        MAX_SHOCK_MULTIPLIER, "(times likelier)")
            if m is not None and m < 1:
                log.error(n, "shock_multiplier", values.get("shock_multiplier"),
                          "expected a multiplier of at least 1 (how many times likelier other risks become)")
            elif m is not None:
                multiplier = m
    elif not is_blank(values.get("shock_multiplier")):
        log.warn(n, "shock_multiplier", values.get("shock_multiplier"),
                 "ignored because common_shock is not 'yes'")
    targets = tuple(clean_id(t) for t in parse_list(values.get("shock_targets")))
    effect = cell_text(values.get("shock_effect")).strip().lower() or "concentrate"
    if effect not in SHOCK_EFFECTS:
        log.error(n, "shock_effect", values.get("shock_effect"),
                  "expected 'concentrate' (the default: other risks' rates stay their long-run averages) "
                  "or 'add' (a shock year adds events on top of them)")
    elif not common_shock and not is_blank(values.get("shock_effect")):
        log.warn(n, "shock_effect", values.get("shock_effect"), "ignored because common_shock is not 'yes'")
    tags = tuple(t.lower() for t in parse_list(values.get("tags")))
    details = tuple((c, cell_text(values.get(c))) for c in DETAIL_COLUMNS if not is_blank(values.get(c)))
    if len(log.errors) > before or frequency is None or components is None:
        return None
    if not components:
        log.warn(n, None, None, "this risk has no loss components filled in, so it adds nothing to the losses")
    return Risk(risk_id, title, category, owner, frequency, tuple(components), tuple(names),
                common_shock, multiplier, targets, tags, details, n,
                effect if effect in SHOCK_EFFECTS else "concentrate")


def clean_id(value: Any) -> str:
    """A risk_id as compared: NFKC-normalised (fullwidth digits, non-breaking spaces), invisible
    characters (zero-width spaces) removed, spaces trimmed; so look-alikes are one id."""
    return " ".join(cell_text(value).split())


def _level(value: Any, words: dict[str, int]) -> float | None:
    """A 1-5 level: a number, or a word of the NHS 5x5 risk matrix (``likely``, ``major``)."""
    if isinstance(value, str):
        key = " ".join(clean_text(value).strip().lower().replace("_", " ").replace("-", " ").split())
        if key in words:
            return float(words[key])
    try:
        return parse_number(value)
    except (ValueError, TypeError):
        return None


def _frequency(values: dict, n: int, log: ProblemLog, scales: Scales) -> Frequency | None:
    given = [k for k, cols in (("events_per_year", ("events_per_year",)),
                               ("events_low/events_high", ("events_low", "events_high")),
                               ("likelihood", ("likelihood",)))
             if any(not is_blank(values.get(c)) for c in cols)]
    if not given:
        log.error(n, "events_per_year", None, "expected the expected number of events per year "
                  "(or events_low/events_high, or a likelihood from 1 to 5)")
        return None
    if len(given) > 1:
        log.error(n, "events_per_year", values.get("events_per_year"),
                  f"expected one way of giving frequency, but found {' and '.join(given)}; keep one")
        return None
    if given[0] == "events_per_year":
        rate = _number(log, n, "events_per_year", values.get("events_per_year"),
                       "expected a number of events per year, such as 0.5", MAX_EVENTS_PER_YEAR, "events per year")
        return None if rate is None else Frequency(rate)
    if given[0] == "likelihood":
        value = values.get("likelihood")
        level = _level(value, LIKELIHOOD_WORDS)
        if level is None or not float(level).is_integer() or int(level) not in scales.likelihood:
            log.error(n, "likelihood", value, f"expected a whole number from the likelihood scale: "
                      f"{', '.join(map(str, sorted(scales.likelihood)))}, or a word of the NHS 5x5 matrix: "
                      + ", ".join(f"{w} ({k})" for w, k in LIKELIHOOD_WORDS.items()))
            return None
        lo, hi = scales.likelihood[int(level)]
        return Frequency.from_range(lo, hi, f"likelihood {int(level)}")
    pair = _pair(log, n, values, "events", "events per year")
    if pair is None or pair == "blank":
        return None
    lo, hi = pair
    if hi == 0:
        return Frequency(0.0)
    return Frequency.from_range(lo, hi, "events_low/events_high")


def _components(values: dict, n: int, log: ProblemLog, scales: Scales, category: str | None):
    out: list[ComponentRange] = []
    ok = True
    for comp in COMPONENTS:
        prefix = COLUMN_PREFIX[comp]
        unit = "hours" if comp == BUSINESS_INTERRUPTION else "pounds per event"
        pair = _pair(log, n, values, prefix, unit)
        prob_v = values.get(f"{prefix}_prob")
        prob = 1.0
        if not is_blank(prob_v):
            try:
                prob = parse_number(prob_v)
                hint = ""
            except (ValueError, TypeError) as exc:
                prob, hint = None, number_hint(exc)
            if prob is None or not 0 <= prob <= 1:
                log.error(n, f"{prefix}_prob", prob_v, "expected a probability from 0 to 1 (or a percentage)"
                          + hint)
                ok = False
                continue
        if pair is None:
            ok = False
            continue
        if pair == "blank":
            if not is_blank(prob_v):
                log.warn(n, f"{prefix}_prob", prob_v, f"ignored because {prefix}_low/{prefix}_high are empty")
            continue
        lo, hi = pair
        if hi > 0 and prob > 0:
            out.append(ComponentRange(comp, lo, hi, prob))
    impact_v = values.get("impact")
    if not is_blank(impact_v):
        level = _level(impact_v, IMPACT_WORDS)
        if level is None or not float(level).is_integer() or int(level) not in scales.impact:
            log.error(n, "impact", impact_v, f"expected a whole number from the impact scale: "
                      f"{', '.join(map(str, sorted(scales.impact)))}, or a word of the NHS 5x5 matrix: "
                      + ", ".join(f"{w} ({k})" for w, k in IMPACT_WORDS.items()))
            return None
        if out:
            log.warn(n, "impact", impact_v, "ignored because loss ranges are given for this risk")
        elif category is not None:
            mult = scales.impact[int(level)]
            if category not in scales.templates:
                log.error(n, "impact", impact_v, f"no impact template for category '{category}'; "
                          "give loss ranges or add the category to impact_templates.csv")
                return None
            out = [ComponentRange(c, lo * mult, hi * mult, p) for c, lo, hi, p in scales.templates[category]]
    return out if ok else None


def expected_annual_loss(register: Register, risk: Risk) -> float:
    """Closed-form expected annual loss of one risk with no controls applied (for checks)."""
    rate = register.practice.interruption_cost_per_hour
    per_event = sum(c.mean() * (rate if c.component == BUSINESS_INTERRUPTION else 1.0)
                    for c in risk.components)
    return float(risk.frequency.mean * per_event)


__all__ = ["ComponentRange", "Frequency", "Risk", "Register", "load_register", "register_hash",
           "expected_annual_loss", "REQUIRED_COLUMNS"]
