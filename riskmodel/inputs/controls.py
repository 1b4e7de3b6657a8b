"""The editable tables behind a register: likelihood scale, impact templates and controls.

Defaults ship in ``riskmodel/data/``. A practice overrides any of them with a file of the same
name beside its register (``controls.csv``, ``likelihood_scale.csv``, ``impact_scale.csv``,
``impact_templates.csv``) or, for an Excel register, a sheet of that name (without ``.csv``).
A practice's ``controls`` table replaces the library's rows for the controls it names and may add
new ones; the scale tables replace the shipped ones whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .components import BUSINESS_INTERRUPTION, CATEGORIES, COMPONENTS, DOWNTIME
from ..io.errors import ProblemLog
from ..io.parsing import cell_text, is_blank, parse_list, parse_number
from ..io.sheets import EXCEL_SUFFIXES, Table, read_sheet_if_present, read_table

FREQUENCY = "frequency"


def component_name(text: str) -> str | None:
    """Map a component or column prefix (``downtime_hours``) to its component, else None."""
    text = text.strip().lower()
    if text == DOWNTIME:
        return BUSINESS_INTERRUPTION
    return text if text in COMPONENTS else None


@dataclass(frozen=True)
class ControlEffect:
    """A control's effect on one target: ``frequency`` or a loss component.

    The reduction is a fraction drawn uniformly between ``low`` and ``high`` once per simulated
    year (bounded fractions do not suit a lognormal), shared by every target of the control.
    """

    target: str
    low: float
    high: float


@dataclass(frozen=True)
class Control:
    """A security control from the library (or the practice's own table)."""

    name: str
    label: str
    annual_cost: float
    categories: tuple[str, ...]
    effects: tuple[ControlEffect, ...]
    source: str = ""

    def effect_on(self, target: str) -> ControlEffect | None:
        for effect in self.effects:
            if effect.target == target:
                return effect
        return None


@dataclass(frozen=True)
class Scales:
    """Qualitative scales: likelihood 1-5 to an annual-rate range, impact 1-5 to a multiplier of
    the per-category template ranges (given at impact 3)."""

    likelihood: dict[int, tuple[float, float]]
    impact: dict[int, float]
    templates: dict[str, tuple[tuple[str, float, float, float], ...]] = field(default_factory=dict)


def _shipped(name: str) -> Path:
    return Path(str(resources.files("riskmodel") / "data" / name))


#: The column that marks each table's header row (title rows above it are skipped).
HEADERS = {"controls": "control", "likelihood_scale": "likelihood", "impact_scale": "impact",
           "impact_templates": "category", "standards": "standard"}


def _override(register_path: Path | None, name: str) -> Path | Table | None:
    """The practice's own copy of a table, if any: a CSV beside the register or a visible sheet
    of the workbook named like the table (any case; a hidden one is not read, see
    :func:`riskmodel.io.sheets.choose_sheet`)."""
    if register_path is None:
        return None
    beside = register_path.parent / f"{name}.csv"
    if beside.is_file():
        return beside
    if register_path.suffix.lower() in EXCEL_SUFFIXES and register_path.is_file():
        table, _ = read_sheet_if_present(register_path, name, HEADERS.get(name))
        return table
    return None


def _load(source: Path | Table) -> Table:
    if isinstance(source, Table):
        return source
    name = Path(source).stem
    return read_table(source, header=HEADERS.get(name))


def _require(table: Table, log: ProblemLog, columns: list[str]) -> bool:
    missing = [c for c in columns if c not in table.columns]
    for c in missing:
        log.error(None, c, None, f"missing column '{c}'; the table needs columns {', '.join(columns)}")
    return not missing


def _number(log: ProblemLog, row: int, column: str, value, *, low=None, high=None) -> float | None:
    try:
        x = parse_number(value)
    except (ValueError, TypeError):
        log.error(row, column, value, "expected a number")
        return None
    if low is not None and x < low or high is not None and x > high:
        log.error(row, column, value, f"expected a number from {low} to {high}" if high is not None
                  else f"expected a number of at least {low}")
        return None
    return x


def load_controls(register_path: Path | None = None) -> dict[str, Control]:
    """The controls library, with the practice's overrides applied.

    Raises
    ------
    InputError
        A controls table is malformed (located errors).
    """
    library = _parse_controls(_load(_shipped("controls.csv")))
    override = _override(register_path, "controls")
    if override is not None:
        library.update(_parse_controls(_load(override)))
    return library


def _parse_controls(table: Table) -> dict[str, Control]:
    log = ProblemLog(table.file)
    if not _require(table, log, ["control", "target", "reduction_low", "reduction_high"]):
        log.raise_if_errors()
    parts: dict[str, dict] = {}
    for row, n in zip(table.rows, table.row_numbers):
        name = cell_text(row.get("control")).lower()
        if not name:
            log.error(n, "control", row.get("control"), "expected the control's short name, e.g. mfa")
            continue
        entry = parts.setdefault(name, {"label": "", "cost": None, "categories": [], "effects": [],
                                        "source": ""})
        entry["label"] = entry["label"] or cell_text(row.get("label"))
        entry["source"] = entry["source"] or cell_text(row.get("source"))
        if not is_blank(row.get("annual_cost")):
            cost = _number(log, n, "annual_cost", row.get("annual_cost"), low=0)
            if cost is not None:
                entry["cost"] = cost
        for cat in parse_list(row.get("categories")):
            if cat not in CATEGORIES:
                log.error(n, "categories", cat, f"expected categories from: {', '.join(CATEGORIES)}")
            elif cat not in entry["categories"]:
                entry["categories"].append(cat)
        target_text = cell_text(row.get("target")).lower()
        target = FREQUENCY if target_text == FREQUENCY else component_name(target_text)
        if target is None:
            log.error(n, "target", row.get("target"),
                      f"expected 'frequency' or a component: {', '.join(COMPONENTS)} (or downtime_hours)")
            continue
        lo = _number(log, n, "reduction_low", row.get("reduction_low"), low=0, high=1)
        hi = _number(log, n, "reduction_high", row.get("reduction_high"), low=0, high=1)
        if lo is None or hi is None:
            continue
        if lo > hi:
            log.error(n, "reduction_low", lo, f"expected reduction_low at most reduction_high ({hi})")
            continue
        if any(e.target == target for e in entry["effects"]):
            log.error(n, "target", target_text, f"control '{name}' already has an effect on {target}")
            continue
        entry["effects"].append(ControlEffect(target, lo, hi))
    log.raise_if_errors()
    return {
        name: Control(name, e["label"] or name, e["cost"] or 0.0, tuple(e["categories"]),
                      tuple(e["effects"]), e["source"])
        for name, e in parts.items()
    }


def practice_table(register_path: Path | None, name: str) -> Table:
    """Table ``name``: the practice's own copy (:func:`_override`), else the shipped one."""
    override = _override(Path(register_path) if register_path is not None else None, name)
    return _load(override if override is not None else _shipped(f"{name}.csv"))


def load_scales(register_path: Path | None = None) -> Scales:
    """Likelihood and impact scales and the impact templates, with practice overrides."""
    def pick(name: str) -> Table:
        return practice_table(register_path, name)

    table = pick("likelihood_scale")
    log = ProblemLog(table.file)
    likelihood: dict[int, tuple[float, float]] = {}
    if _require(table, log, ["likelihood", "events_low", "events_high"]):
        for row, n in zip(table.rows, table.row_numbers):
            level = _number(log, n, "likelihood", row.get("likelihood"), low=0)
            lo = _number(log, n, "events_low", row.get("events_low"), low=0)
            hi = _number(log, n, "events_high", row.get("events_high"), low=0)
            if None in (level, lo, hi):
                continue
            if not 0 < lo <= hi:
                log.error(n, "events_low", lo, f"expected 0 < events_low <= events_high ({hi})")
                continue
            likelihood[int(level)] = (lo, hi)
    log.raise_if_errors()

    table = pick("impact_scale")
    log = ProblemLog(table.file)
    impact: dict[int, float] = {}
    if _require(table, log, ["impact", "multiplier"]):
        for row, n in zip(table.rows, table.row_numbers):
            level = _number(log, n, "impact", row.get("impact"), low=0)
            mult = _number(log, n, "multiplier", row.get("multiplier"), low=0)
            if level is not None and mult is not None:
                impact[int(level)] = mult
    log.raise_if_errors()

    table = pick("impact_templates")
    log = ProblemLog(table.file)
    templates: dict[str, list] = {}
    if _require(table, log, ["category", "component", "low", "high"]):
        for row, n in zip(table.rows, table.row_numbers):
            cat = cell_text(row.get("category")).lower()
            comp = component_name(cell_text(row.get("component")))
            if cat not in CATEGORIES:
                log.error(n, "category", row.get("category"), f"expected one of: {', '.join(CATEGORIES)}")
                continue
            if comp is None:
                log.error(n, "component", row.get("component"), f"expected one of: {', '.join(COMPONENTS)}")
                continue
            lo = _number(log, n, "low", row.get("low"), low=0)
            hi = _number(log, n, "high", row.get("high"), low=0)
            prob = 1.0 if is_blank(row.get("prob")) else _number(log, n, "prob", row.get("prob"), low=0, high=1)
            if None in (lo, hi, prob):
                continue
            if not 0 < lo <= hi:
                log.error(n, "low", lo, f"expected 0 < low <= high ({hi})")
                continue
            templates.setdefault(cat, []).append((comp, lo, hi, prob))
    log.raise_if_errors()
    return Scales(likelihood, impact, {k: tuple(v) for k, v in templates.items()})
