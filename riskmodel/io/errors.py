"""Errors and warnings raised for bad input.

Every problem found in an input file is a :class:`Problem` naming the file, the row as the user
sees it in Excel (header is row 1), the column, the bad value and what was expected. Loaders
collect all problems in one pass and raise a single :class:`InputError` holding them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    Parameters
    ----------
    file : str
        Path of the file, as given by the user.
    row : int or None
        Row number as shown in Excel or a text editor (the header is row 1); ``None`` when the
        problem concerns the whole file or a column.
    column : str or None
        Column (register) or key (TOML) at fault.
    value : Any
        The offending value, shown back to the user.
    expected : str
        What would have been valid, phrased as a fix.
    severity : str
        ``"error"`` or ``"warning"``.
    """

    file: str
    row: int | None
    column: str | None
    value: Any
    expected: str
    severity: str = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        shown = "" if self.value is None else f": got {self.value!r}"
        return f"{self.severity}: {', '.join(where)}{shown}; {self.expected}"


class InputError(ValueError):
    """Raised when an input file (register, practice, policy, contracts, controls) is invalid.

    Attributes
    ----------
    problems : list of Problem
        Every error found (warnings are kept too, for display).
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{len(errors)} problem(s) found; fix them and run again:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass
class ProblemLog:
    """Collects problems while a file is read, so that all are reported in one pass."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, row: int | None, column: str | None, value: Any, expected: str) -> None:
        self.problems.append(Problem(self.file, row, column, value, expected, "error"))

    def warn(self, row: int | None, column: str | None, value: Any, expected: str) -> None:
        self.problems.append(Problem(self.file, row, column, value, expected, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InputError(self.problems)
