"""The practice's incident and near-miss log: ``incidents.csv`` beside the register, or a sheet
``incidents`` in the register's workbook.

Format (documented for users in ``registers/README.md``, "The incident and near-miss log"): one
row per incident or near miss, below a header row holding ``incident_id``. Columns:

``incident_id``, ``discovered`` (date and time: ``2026-07-14 09:30`` or ``2026-07-14T09:30``; a
date alone is 00:00), ``kind`` (``incident`` or ``near_miss``), ``risk_id`` (or ``category`` when
no risk fits), ``reportable`` (``yes``/``no``/``undecided``: a personal data breach the ICO must
hear of), ``reported_to_ico`` (date and time), ``patients_informed`` (date), ``cost`` (pounds
actually spent, optional), ``<component>_cost`` (optional, per loss component, with the
register's component names; ``business_interruption_cost`` in pounds), ``notes``.

Read with the register's rules (:mod:`riskmodel.io.sheets`) and validated like it: every problem is
located (file, row as Excel shows it, column, value, what was expected) and collected in one
pass; nothing is silently misread (unknown ``risk_id`` or ``category``, a report before the
discovery, a date after ``--as-of``, duplicate ids, an unknown ``kind``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .components import CATEGORIES, COMPONENTS
from ..io.locations import INCIDENTS_FILE, find_incidents_file
from ..io.errors import InputError, Problem, ProblemLog
from ..io.parsing import NumberError, clean_text, is_blank, number_hint, parse_number
from ..io.sheets import EXCEL_SUFFIXES, read_sheet_if_present, read_table

#: File name of the log beside a register, and sheet name in a workbook.
INCIDENTS_SHEET = "incidents"
KINDS = ("incident", "near_miss")
REPORTABLE = ("yes", "no", "undecided")
COST_COLUMNS = tuple(f"{c}_cost" for c in COMPONENTS)
COLUMNS = ("incident_id", "discovered", "kind", "risk_id", "category", "reportable", "reported_to_ico",
           "patients_informed", "cost", "notes") + COST_COLUMNS
#: Most rows a log may hold (the register's table limit).
MAX_INCIDENTS = 2_000

_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DATE_HELP = "expected a date and time written 2026-07-14 09:30 (or 2026-07-14T09:30; a date alone is 00:00)"


@dataclass(frozen=True)
class Incident:
    """One row of the log."""

    incident_id: str
    discovered: dt.datetime
    kind: str                                  # "incident" or "near_miss"
    risk_id: str | None
    category: str | None
    reportable: str                            # "yes", "no" or "undecided"
    reported_to_ico: dt.datetime | None = None
    patients_informed: dt.datetime | None = None
    cost: float | None = None
    component_costs: tuple[tuple[str, float], ...] = ()   # (component, pounds)
    notes: str = ""
    row: int | None = None


@dataclass(frozen=True)
class IncidentLog:
    """A validated log: its incidents (file order), file, and warnings."""

    path: str
    incidents: tuple[Incident, ...]
    warnings: tuple[Problem, ...] = field(default=(), compare=False)


def parse_when(value: Any) -> dt.datetime:
    """A date and time from a cell: ``2026-07-14 09:30``, ``2026-07-14T09:30``, ``2026-07-14``
    (00:00), or a date/datetime Excel stored. Raises ``ValueError`` otherwise."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = clean_text(str(value)).strip()
    m = _DATE_RE.fullmatch(text)
    if not m:
        raise ValueError(_DATE_HELP)
    y, mo, d, h, mi, s = m.groups()
    try:
        return dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        raise ValueError(f"not a calendar date and time; {_DATE_HELP}") from None


def find_incidents(register: str | Path) -> Path | None:
    """The log used by default for a register: ``incidents.csv`` beside it, else the register's
    workbook itself when it has a visible sheet ``incidents`` (returned as the workbook's path)."""
    register = Path(register)
    beside = find_incidents_file(register)
    if beside is not None:
        return beside
    if register.suffix.lower() in EXCEL_SUFFIXES and register.is_file():
        table, _ = read_sheet_if_present(register, INCIDENTS_SHEET, "incident_id")
        if table is not None:
            return register
    return None


def load_incidents(path: str | Path, risk_ids=(), *, as_of: dt.datetime | None = None,
                   now: dt.datetime | None = None, until: dt.datetime | None = None) -> IncidentLog:
    """Read and validate a log (CSV, or the sheet ``incidents`` of a workbook).

    Parameters
    ----------
    path : path
        ``incidents.csv`` or a workbook with a sheet ``incidents``.
    risk_ids : iterable of str
        The register's risk ids: a ``risk_id`` not among them is an error.
    as_of : datetime, optional
        ``--as-of``: a date after it (discovered, reported, patients informed) is an error.
    now : datetime, optional
        The clock (tests); a date after it is always an error.
    until : datetime, optional
        The end of the period the register is used for (its quarter's end): a row discovered at
        or after it is not checked against the register's risk ids (the log is shared by every
        quarter, and a later quarter may add risks).

    Raises
    ------
    InputError
        With every problem found.
    """
    path = Path(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        if not path.is_file():
            raise InputError([Problem(str(path), None, None, None, "file not found; check the path")])
        table, problems = read_sheet_if_present(path, INCIDENTS_SHEET, "incident_id")
        if table is None:
            raise InputError(problems + [Problem(str(path), None, None, None,
                                                 f"no visible sheet '{INCIDENTS_SHEET}' holding the incident log")])
    else:
        table = read_table(path, header="incident_id", max_rows=MAX_INCIDENTS)
        problems = list(table.warnings)
    log = ProblemLog(table.file)
    log.problems += problems
    ids = {clean_text(r).strip(): r for r in risk_ids}
    now = now or dt.datetime.now()
    limit = min(as_of, now) if as_of is not None else now
    limit_name = "--as-of" if as_of is not None and as_of <= now else "today"
    for col in ("incident_id", "discovered", "kind"):
        if col not in table.columns:
            log.error(None, col, None, f"the incident log needs a column '{col}' (see registers/README.md)")
    if "risk_id" not in table.columns and "category" not in table.columns:
        log.error(None, "risk_id", None, "the incident log needs a column 'risk_id' (or 'category')")
    for col in table.columns:
        if col and col not in COLUMNS:
            log.warn(None, col, None, "column not in the incident log format: kept but not used "
                     f"(columns: {', '.join(COLUMNS[:10])}, <component>_cost)")
    log.raise_if_errors()
    out: list[Incident] = []
    seen: dict[str, int] = {}
    for values, row in zip(table.rows, table.row_numbers):
        if all(is_blank(v) for v in values.values()):
            continue
        inc = _parse_row(values, row, log, ids, limit, limit_name, seen, until)
        if inc is not None:
            out.append(inc)
    log.raise_if_errors()
    return IncidentLog(table.file, tuple(out), tuple(log.warnings))


def _when(log: ProblemLog, row: int, column: str, value: Any) -> dt.datetime | None:
    if is_blank(value):
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        log.error(row, column, value, str(exc))
        return None


def _costs(values: dict, row: int, log: ProblemLog) -> tuple[float | None, list[tuple[str, float]]]:
    """Row ``row``'s pounds spent: the total (``cost``) and by component (``<component>_cost``)."""
    cost = None
    comps = []
    for column in ("cost",) + COST_COLUMNS:
        v = values.get(column)
        if is_blank(v):
            continue
        try:
            x = parse_number(v)
        except (NumberError, ValueError, TypeError) as exc:
            log.error(row, column, v, "expected pounds spent, e.g. 1200 or £1,200" + number_hint(exc))
            continue
        if not x >= 0 or x > 1e10:
            log.error(row, column, v, "expected pounds spent, from 0 to £10 billion")
            continue
        if column == "cost":
            cost = x
        else:
            comps.append((column[:-len("_cost")], x))
    return cost, comps


def _parse_row(values: dict, row: int, log: ProblemLog, ids: dict[str, str], limit: dt.datetime,
               limit_name: str, seen: dict[str, int], until: dt.datetime | None = None) -> Incident | None:
    before = len(log.errors)
    raw_id = values.get("incident_id")
    iid = "" if is_blank(raw_id) else clean_text(str(raw_id)).strip()
    if not iid:
        log.error(row, "incident_id", raw_id, "every row needs an incident_id (a short unique code such as I01)")
    elif iid in seen:
        log.error(row, "incident_id", iid, f"duplicate incident_id (also row {seen[iid]}); give each row its own id")
    else:
        seen[iid] = row
    discovered = _when(log, row, "discovered", values.get("discovered"))
    if discovered is None and is_blank(values.get("discovered")):
        log.error(row, "discovered", None, "when the incident was discovered is required; " + _DATE_HELP)
    kind_raw = values.get("kind")
    kind = "" if is_blank(kind_raw) else clean_text(str(kind_raw)).strip().lower().replace(" ", "_").replace("-", "_")
    if kind == "nearmiss":
        kind = "near_miss"
    if kind not in KINDS:
        log.error(row, "kind", kind_raw, "expected 'incident' or 'near_miss'")
    risk_raw, cat_raw = values.get("risk_id"), values.get("category")
    risk_id = None if is_blank(risk_raw) else clean_text(str(risk_raw)).strip()
    category = None if is_blank(cat_raw) else clean_text(str(cat_raw)).strip().lower()
    later = until is not None and discovered is not None and discovered >= until
    if risk_id is not None and not later:
        if risk_id not in ids:
            log.error(row, "risk_id", risk_raw, "not a risk_id of the register (ids: "
                      f"{', '.join(sorted(ids)) or 'none'}); correct it, or leave it empty and give a category")
        else:
            risk_id = ids[risk_id]
    if category is not None and category not in CATEGORIES:
        log.error(row, "category", cat_raw, f"expected one of {', '.join(CATEGORIES)}")
    if risk_id is None and category is None:
        log.error(row, "risk_id", None, "give the register's risk_id, or a category when no risk fits")
    rep_raw = values.get("reportable")
    reportable = "no" if is_blank(rep_raw) and kind == "near_miss" else (
        "" if is_blank(rep_raw) else clean_text(str(rep_raw)).strip().lower())
    if reportable not in REPORTABLE:
        log.error(row, "reportable", rep_raw, "expected yes, no or undecided (is it a personal data breach "
                  "the ICO must be told of within 72 hours?)")
    if kind == "near_miss" and reportable == "yes":
        log.error(row, "reportable", rep_raw, "a near miss is not a breach: set reportable to no, or kind to incident")
    reported = _when(log, row, "reported_to_ico", values.get("reported_to_ico"))
    informed = _when(log, row, "patients_informed", values.get("patients_informed"))
    if reported is not None and reportable == "no":
        log.warn(row, "reported_to_ico", values.get("reported_to_ico"),
                 "reported to the ICO but marked reportable = no: check which is right")
    for column, when in (("discovered", discovered), ("reported_to_ico", reported), ("patients_informed", informed)):
        if when is not None and when > limit:
            log.error(row, column, values.get(column),
                      f"a date after {limit_name} ({limit:%Y-%m-%d %H:%M}); correct it or run with a later --as-of")
    if discovered is not None:
        if reported is not None and reported < discovered:
            log.error(row, "reported_to_ico", values.get("reported_to_ico"),
                      f"reported before it was discovered ({discovered:%Y-%m-%d %H:%M}); correct either date")
        if informed is not None and informed.date() < discovered.date():
            log.error(row, "patients_informed", values.get("patients_informed"),
                      f"patients informed before it was discovered ({discovered:%Y-%m-%d}); correct either date")
    cost, comps = _costs(values, row, log)
    if (cost is not None or comps) and kind == "near_miss":
        log.warn(row, "cost", cost, "a near miss with a cost: kept, but costs are checked only for incidents")
    notes = "" if is_blank(values.get("notes")) else str(values.get("notes"))
    if len(log.errors) > before or discovered is None:
        return None
    return Incident(iid, discovered, kind, risk_id, category, reportable, reported, informed, cost,
                    tuple(comps), notes, row)


__all__ = ["COLUMNS", "INCIDENTS_FILE", "INCIDENTS_SHEET", "Incident", "IncidentLog", "find_incidents",
           "load_incidents", "parse_when"]
