"""Read a table from CSV or an Excel sheet as rows numbered the way the user sees them.

Rules (documented for users in ``registers/README.md``):

* **Which sheet.** A workbook's sheet named ``register`` (any case) is read if it is visible;
  else the only visible sheet that is not one of the optional tables (``controls``,
  ``likelihood_scale``, ``impact_scale``, ``impact_templates``); else an error lists the sheets.
  A hidden sheet is never read: one whose name matches is reported in a warning. The optional
  tables follow the same rule by their own names.
* **Which row is the header.** The first row holding the table's key column (``risk_id`` for a
  register); title rows and blank rows above it are skipped. Rows keep the numbers Excel shows.
* **Bounded work.** At most :data:`MAX_ROWS` rows of data, :data:`MAX_SCAN_ROWS` rows in all,
  :data:`MAX_COLUMNS` columns, :data:`MAX_FILE_BYTES` of CSV or of unpacked workbook, and a
  workbook's parts may not be compressed more than :data:`MAX_COMPRESSION_RATIO` to 1 (a "zip
  bomb"). A damaged workbook is an error naming the file, never a traceback.
* **Excel cells.** A formula whose result was saved is read as that result; one without a saved
  result (written by a program other than Excel) is worked out when it is plain arithmetic (numbers,
  ``+ - * /``, brackets, cells of the same sheet), else it is an error. Merged cells at or below the
  header are an error (only the first row of a merged range holds the value). Excel errors
  (``#DIV/0!``) are errors.
* **CSV.** UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252; the delimiter (comma,
  semicolon or tab) is taken from the header line. A cell running over several lines with a
  delimiter in the continuation is an unclosed quote that swallowed the rows after it: an error.

This module assembles the table (header, columns, rows, located problems); the readers are
:mod:`~riskmodel.io.workbook` (Excel), :mod:`~riskmodel.io.csvfile` (CSV) and
:mod:`~riskmodel.io.formulas` (cells without a saved result), within :mod:`~riskmodel.io.limits`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .csvfile import read_csv_grid
from .errors import InputError, Problem
from .formulas import column_index, column_letter, resolve_formulas
from .limits import HEADER_SEARCH_ROWS, MAX_ROWS, describe, fail
from .parsing import clean_text, is_blank
from .workbook import hidden_sheet_warnings, read_excel_sheet
# Re-exported: these were defined here before the readers were split by format.
from .csvfile import sniff_delimiter  # noqa: F401,E402
from .formulas import FormulaError, evaluate_formula  # noqa: F401,E402
from .limits import (MAX_COLUMNS, MAX_COMPRESSION_RATIO, MAX_FILE_BYTES, MAX_SCAN_ROWS,  # noqa: F401,E402
                     MAX_SHEET_BYTES, MAX_STRINGS_BYTES)
from .workbook import TABLE_SHEETS, choose_sheet, excel_sheet_names  # noqa: F401,E402

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True)
class Table:
    """Rows of a sheet: ``rows[i]`` maps normalised column name to the raw cell value and
    ``row_numbers[i]`` is its row as shown in Excel (``header_row`` is the header's)."""

    file: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    row_numbers: tuple[int, ...]
    column_titles: tuple[str, ...] = ()
    header_row: int = 1
    #: warnings found while reading (a hidden sheet not read, a CSV in Windows-1252)
    warnings: tuple[Problem, ...] = ()


def normalise_column(title: Any) -> str:
    """``"Events per year "`` -> ``"events_per_year"`` (invisible characters dropped)."""
    text = "" if title is None else clean_text(str(title))
    return "_".join(text.strip().lower().replace("-", " ").split())


def read_table(path: str | Path, sheet: str | None = None, *, first_sheet: bool = True,
               header: str | None = None, max_rows: int = MAX_ROWS) -> Table:
    """Read a CSV file, or one sheet of an ``.xlsx`` workbook.

    Parameters
    ----------
    path : path
        A ``.csv`` or ``.xlsx`` file.
    sheet : str, optional
        The sheet name sought in a workbook (``register`` by default), chosen by the rule in the
        module docstring.
    first_sheet : bool
        If false, the sheet is optional: ``read_table`` raises when it is absent (use
        :func:`read_sheet_if_present` to get ``None`` instead).
    header : str, optional
        A column name of the header row (``risk_id``): the first row holding it is the header.
        Otherwise the first non-blank row is.
    max_rows : int
        Most rows of data accepted.

    Raises
    ------
    InputError
        The file is missing, unreadable, empty, too large, or the sheet is absent.
    """
    path = Path(path)
    try:
        return _read_table(path, sheet, first_sheet, header, max_rows)
    except OSError as exc:       # permissions, a file removed while read, a network drive gone
        raise fail(str(path), f"the file could not be read ({describe(exc)}); check it is not open "
                    "elsewhere and that you may read it") from None


def _read_table(path: Path, sheet: str | None, first_sheet: bool, header: str | None, max_rows: int) -> Table:
    if not path.is_file():
        raise fail(str(path), "file not found; check the path (a register is a .csv or .xlsx file)")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        got = read_excel_sheet(path, sheet, optional=not first_sheet)
        if got is None:
            raise fail(str(path), f"sheet '{sheet}' not found (a visible sheet of that name)")
        return _excel_table(got, header, max_rows)
    if path.suffix.lower() in {".csv", ".txt"}:
        file, grid, problems, notes, cells = read_csv_grid(path, header)
        return _to_table(file, grid, header, max_rows, problems, notes, cell_problems=cells)
    raise fail(str(path), "expected a .csv or .xlsx file", path.suffix)


def read_sheet_if_present(path: Path, name: str, header: str | None = None) -> tuple[Table | None, list[Problem]]:
    """A workbook's visible sheet ``name`` (any case) if it has one, and warnings (a hidden
    sheet of that name is not read: a warning says so)."""
    got = read_excel_sheet(path, name, optional=True)
    if got is None:
        return None, hidden_sheet_warnings(path, (name,))
    table = _excel_table(got, header, MAX_ROWS)
    return table, list(table.warnings)


def _excel_table(got, header: str | None, max_rows: int) -> Table:
    label, grid, formulas, errors, merged, problems, notes = got
    cell_problems = resolve_formulas(label, grid, formulas, errors)
    table = _to_table(label, grid, header, max_rows, problems, notes, cell_problems=cell_problems,
                      merged=merged)
    return table


def _find_header(grid: dict[int, list[Any]], header: str | None) -> int | None:
    rows = sorted(grid)
    nonblank = [r for r in rows if any(not is_blank(v) for v in grid[r])]
    if not nonblank:
        return None
    if header:
        for r in nonblank[:HEADER_SEARCH_ROWS]:
            if any(normalise_column(v) == header for v in grid[r] if isinstance(v, str)):
                return r
    return nonblank[0]


def _to_table(file: str, grid: dict[int, list[Any]], header: str | None, max_rows: int,
              problems: list[Problem], notes: list[Problem], *,
              cell_problems: dict[tuple[int, int], Problem] | None = None,
              merged: list[str] | None = None) -> Table:
    start = _find_header(grid, header)
    if start is None:
        raise InputError(problems + notes + [Problem(
            file, None, None, None, "the file is empty; expected a header row of column names, then one row per item")])
    titles = ["" if v is None else str(v) for v in grid[start]]
    columns = [normalise_column(t) for t in titles]
    seen: dict[str, int] = {}
    for i, (col, title) in enumerate(zip(columns, titles)):
        if col in seen and col:
            problems.append(Problem(file, start, title, title,
                                    f"each column name may appear only once (columns {column_letter(seen[col] + 1)} "
                                    f"and {column_letter(i + 1)}); rename or remove the copy"))
        seen.setdefault(col, i)

    def column_name(col: int) -> str:
        return columns[col - 1] if col - 1 < len(columns) and columns[col - 1] else column_letter(col)

    for ref in merged or []:
        first, _, last = ref.partition(":")
        m1 = re.match(r"([A-Z]+)(\d+)", first)
        m2 = re.match(r"([A-Z]+)(\d+)", last or first)
        if not m1 or not m2:
            continue
        r1, r2 = int(m1[2]), int(m2[2])
        if r2 < start:
            continue     # a merged title above the header is fine
        problems.append(Problem(file, max(r1, start), column_name(column_index(m1[1])), None,
                                f"cells {ref} are merged, so only the first of them holds the value; "
                                "unmerge them (Home > Merge & Center) and fill each row"))
    for (row, col), p in sorted((cell_problems or {}).items()):
        if row >= start or header is None:
            problems.append(Problem(p.file, p.row, column_name(col), p.value, p.expected, p.severity))

    rows, numbers = [], []
    for n in sorted(r for r in grid if r > start):
        values = grid[n]
        if all(is_blank(v) for v in values):
            continue
        row = {}
        for i, col in enumerate(columns):
            if col:
                row[col] = values[i] if i < len(values) else None
        extra = [(i, v) for i, v in enumerate(values) if (i >= len(columns) or not columns[i]) and not is_blank(v)]
        if extra:
            i, v = extra[0]
            problems.append(Problem(file, n, column_letter(i + 1), v,
                                    f"cell {column_letter(i + 1)}{n} holds a value but its column has no "
                                    "name in the header row; add a column name or remove the value"))
        rows.append(row)
        numbers.append(n)
    if len(rows) > max_rows:
        problems.append(Problem(file, numbers[max_rows], None, None,
                                f"a table may hold at most {max_rows:,} rows of data, this one has "
                                f"{len(rows):,}; split it or remove rows"))
    if any(p.severity == "error" for p in problems):
        raise InputError(problems + notes)
    return Table(file, tuple(c for c in columns if c), tuple(rows), tuple(numbers), tuple(titles),
                 start, tuple(notes))
