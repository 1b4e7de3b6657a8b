"""The risk register: load a CSV or Excel register, validate it in one pass, and describe it.

The format is documented in ``registers/README.md``. Every problem is reported with the file,
the row as the user sees it (header = row 1), the column, the bad value and what is expected.
The register's data types are in :mod:`~riskmodel.inputs.risks`, its columns and limits in
:mod:`~riskmodel.inputs.columns`, one row's reading in :mod:`~riskmodel.inputs.rows`; the names
defined there are re-exported here.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..io.errors import InputError, Problem, ProblemLog
from ..io.sheets import EXCEL_SUFFIXES, hidden_sheet_warnings, read_table
from .columns import KNOWN_COLUMNS, MAX_RISKS, MAX_SHOCK_PRODUCT, REQUIRED_COLUMNS, unknown_column
from .controls import Control, Scales, load_controls, load_scales
from .practice import Practice, load_practice
from .risks import ComponentRange, Frequency, Register, Risk, expected_annual_loss, shocks_on
from .rows import parse_row
# Re-exported: these were defined here before the register was split by content.
from .columns import (DEFAULT_SHOCK_MULTIPLIER, DETAIL_COLUMNS, IMPACT_WORDS, LIKELIHOOD_WORDS,  # noqa: F401,E402
                      MAX_EVENTS_PER_YEAR, MAX_HOURS_PER_EVENT, MAX_POUNDS_PER_EVENT, MAX_RANGE_RATIO,
                      MAX_SHOCK_MULTIPLIER, SHOCK_EFFECTS)
from .rows import clean_id  # noqa: F401,E402


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
            unknown_column(log, table, c)
    if not table.rows:
        log.error(None, None, None, "the register has no risks; add one row per risk below the header")
    if log.errors:
        return [], {}

    risks: list[Risk] = []
    status: dict[str, tuple[bool, int]] = {}
    seen_ids: dict[str, int] = {}
    for values, n in zip(table.rows, table.row_numbers):
        risk = parse_row(values, n, log, controls, scales, status)
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


__all__ = ["ComponentRange", "Frequency", "Risk", "Register", "load_register", "register_hash",
           "expected_annual_loss", "REQUIRED_COLUMNS"]
