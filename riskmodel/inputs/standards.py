"""Which of the standards a GP practice already answers to its controls serve.

Two standards, mapped to the controls library in ``riskmodel/data/standards.csv`` (one row per
requirement and control that serves it, each with its ``source``; a requirement no control in
the library serves has one row with an empty ``control``):

- **Cyber Essentials**' five technical controls (NCSC/IASME, "Cyber Essentials: Requirements for
  IT infrastructure"): firewalls, secure configuration, security update management, user access
  control, malware protection;
- the **National Data Guardian's ten data security standards** (NDG, "Review of Data Security,
  Consent and Opt-Outs", 2016, published with the Department of Health's consultation "Your Data:
  Better Security, Better Choice, Better Care"; the Data Security and Protection Toolkit for GP
  practices is organised by them).

A practice may replace the mapping with its own ``standards.csv`` beside its register (or a
``standards`` sheet in an Excel register), like the other tables (:mod:`riskmodel.inputs.controls`).

Status of each requirement: ``in_place`` when a control serving it is in place, ``planned`` when
only planned controls serve it, ``missing`` when none of the register's controls serves it
(controls of the library the register does not name count as absent).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..io.errors import ProblemLog
from ..io.parsing import cell_text, is_blank
from .controls import practice_table

#: The standards and their order in the JSON and the reports.
STANDARDS = {"cyber_essentials": "Cyber Essentials", "ndg": "National Data Guardian's standards"}
COLUMNS = ["standard", "id", "name", "control", "source"]
STATUSES = ("in_place", "planned", "missing")
STATUS_WORDS = {"in_place": "covered", "planned": "only planned", "missing": "not covered"}


@dataclass(frozen=True)
class Requirement:
    """One requirement of a standard and the library controls that serve it (with sources)."""

    standard: str
    id: str
    name: str
    controls: tuple[str, ...]
    sources: tuple[str, ...]


def load_standards(register_path: str | Path | None = None,
                   known_controls: set[str] | None = None) -> list[Requirement]:
    """The mapping, the practice's own if it has one, in file order.

    Raises
    ------
    InputError
        A missing column, an unknown standard, a row without id or name, or a control that is
        not in the controls library (located errors).
    """
    table = practice_table(Path(register_path) if register_path else None, "standards")
    log = ProblemLog(table.file)
    missing = [c for c in COLUMNS if c not in table.columns]
    for c in missing:
        log.error(None, c, None, f"missing column '{c}'; the table needs columns {', '.join(COLUMNS)}")
    log.raise_if_errors()
    order: dict[tuple[str, str], dict] = {}
    for row, n in zip(table.rows, table.row_numbers):
        std = cell_text(row["standard"]).strip().lower()
        if not std:
            continue
        if std not in STANDARDS:
            log.error(n, "standard", row["standard"], f"expected one of: {', '.join(STANDARDS)}")
            continue
        rid, name = cell_text(row["id"]).strip(), cell_text(row["name"]).strip()
        if not rid or not name:
            log.error(n, "id" if not rid else "name", None, "expected the requirement's id and name")
            continue
        entry = order.setdefault((std, rid), {"name": name, "controls": [], "sources": []})
        control = "" if is_blank(row["control"]) else cell_text(row["control"]).strip()
        if control:
            if known_controls is not None and control not in known_controls:
                log.error(n, "control", control, "a control of the controls library (controls.csv)")
                continue
            if control not in entry["controls"]:
                entry["controls"].append(control)
        source = "" if is_blank(row["source"]) else cell_text(row["source"]).strip()
        if source:
            entry["sources"].append(source)
    log.raise_if_errors()
    out = [Requirement(std, rid, e["name"], tuple(e["controls"]), tuple(e["sources"]))
           for (std, rid), e in order.items()]
    return sorted(out, key=lambda r: list(STANDARDS).index(r.standard))


def requirement_status(controls: tuple[str, ...] | list[str], control_status: dict[str, bool]) -> tuple[str, list[str]]:
    """(status, the register's controls that serve the requirement) for a requirement served by
    ``controls``, given the register's statuses (``True`` in place, ``False`` planned)."""
    named = [c for c in controls if c in control_status]
    if any(control_status[c] for c in named):
        return "in_place", named
    if named:
        return "planned", named
    return "missing", []


def standards_status(requirements: list[Requirement], control_status: dict[str, bool]) -> dict[str, list[dict]]:
    """JSON ``standards``: per standard, each requirement's ``id``, ``name``, ``status`` and
    ``controls`` (the register's controls that serve it)."""
    out: dict[str, list[dict]] = {s: [] for s in STANDARDS}
    for req in requirements:
        status, named = requirement_status(req.controls, control_status)
        out[req.standard].append({"id": req.id, "name": req.name, "status": status, "controls": named})
    return out


def standards_text(standards: dict, labels: dict[str, str] | None = None) -> str:
    """Which standards the practice's controls cover, in plain words (Markdown)."""
    from ..io.formatting import md_escape

    labels = labels or {}
    lines = []
    for std, title in STANDARDS.items():
        reqs = standards.get(std) or []
        if not reqs:
            continue
        covered = [r for r in reqs if r["status"] == "in_place"]
        planned = [r for r in reqs if r["status"] == "planned"]
        missing = [r for r in reqs if r["status"] == "missing"]
        line = f"- **{title}: {len(covered)} of {len(reqs)} covered** by controls in place."
        if planned:
            line += " Only planned: " + "; ".join(
                f"{md_escape(r['name'])} (by {', '.join(md_escape(labels.get(c, c)) for c in r['controls'])})"
                for r in planned) + "."
        if missing:
            line += " Not covered by any of your controls: " + "; ".join(md_escape(r["name"]) for r in missing) + "."
        lines.append(line)
    return "\n".join(lines)


__all__ = ["STANDARDS", "Requirement", "load_standards", "requirement_status", "standards_status", "standards_text"]
