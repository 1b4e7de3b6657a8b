"""Where a practice's files live: a quarter's register, and the policy and contracts beside it.

Plain path conventions, shared by the command line, the batch, the reports and the dashboard
(no heavy imports: the command line starts without pandas).
"""
from __future__ import annotations

from pathlib import Path

REGISTER_SUFFIXES = (".xlsx", ".xlsm", ".csv")


def find_quarter_register(practice_dir: str | Path, quarter: str) -> Path | None:
    """``<practice_dir>/<quarter>.xlsx`` (or .csv), else ``register.xlsx``/``register.csv``."""
    d = Path(practice_dir)
    for stem in (quarter, "register"):
        for suffix in REGISTER_SUFFIXES:
            if (d / f"{stem}{suffix}").is_file():
                return d / f"{stem}{suffix}"
    return None


def beside(path: Path, name: str) -> Path | None:
    p = path.parent / name
    return p if p.is_file() else None


def find_policy(register: Path, quarter: str | None = None) -> Path | None:
    """The policy for a quarter's register: ``<quarter>.policy.toml`` beside it (a policy that
    changed during the year), else ``policy.toml``."""
    if quarter:
        p = beside(register, f"{quarter}.policy.toml")
        if p is not None:
            return p
    return beside(register, "policy.toml")


#: The practice's incident and near-miss log, beside its registers (shared by every quarter).
INCIDENTS_FILE = "incidents.csv"


def find_incidents_file(register: Path) -> Path | None:
    """``incidents.csv`` beside a register (a workbook's sheet ``incidents`` is looked for by
    :func:`riskmodel.inputs.incidents.find_incidents`)."""
    return beside(Path(register), INCIDENTS_FILE)


__all__ = ["INCIDENTS_FILE", "REGISTER_SUFFIXES", "beside", "find_incidents_file", "find_policy",
           "find_quarter_register"]
