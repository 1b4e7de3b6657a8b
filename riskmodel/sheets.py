"""Read a table from CSV or an Excel sheet as rows numbered the way the user sees them."""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, Problem
from .parsing import is_blank

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True)
class Table:
    """Rows of a sheet: ``rows[i]`` maps normalised column name to the raw cell value and
    ``row_numbers[i]`` is its row as shown in Excel (header row 1)."""

    file: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    row_numbers: tuple[int, ...]
    column_titles: tuple[str, ...] = ()


def normalise_column(title: Any) -> str:
    """``"Events per year "`` -> ``"events_per_year"``."""
    text = "" if title is None else str(title)
    return "_".join(text.strip().lower().replace("-", " ").split())


def _fail(file: str, expected: str, value: Any = None) -> InputError:
    return InputError([Problem(file, None, None, value, expected)])


def excel_sheet_names(path: Path) -> list[str]:
    """Names of the sheets of a workbook (raises InputError if it cannot be opened)."""
    return list(_open_workbook(path).sheetnames)


def _open_workbook(path: Path):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _fail(str(path), f"expected an Excel .xlsx workbook that opens ({exc.__class__.__name__}); "
                    "save it again from Excel as .xlsx or export the sheet as CSV") from None


def read_table(path: str | Path, sheet: str | None = None, *, first_sheet: bool = True) -> Table:
    """Read a CSV file, or one sheet of an ``.xlsx`` workbook.

    Parameters
    ----------
    path : path
        A ``.csv`` or ``.xlsx`` file.
    sheet : str, optional
        Workbook sheet to read; if absent and ``first_sheet`` the first sheet is read.

    Raises
    ------
    InputError
        The file is missing, unreadable, empty, or the sheet is absent.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise _fail(file, "file not found; check the path (a register is a .csv or .xlsx file)")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        book = _open_workbook(path)
        try:
            names = list(book.sheetnames)
            if sheet is None or sheet not in names:
                if sheet is not None and not first_sheet:
                    raise _fail(file, f"sheet '{sheet}' not found; the workbook has: {', '.join(names)}")
                if sheet is not None:
                    lowered = {n.lower(): n for n in names}
                    sheet = lowered.get(sheet.lower(), names[0])
                else:
                    sheet = names[0]
            raw = [list(r) for r in book[sheet].iter_rows(values_only=True)]
        except InputError:
            raise
        except Exception as exc:  # openpyxl raises many types for damaged workbooks
            raise _fail(file, f"the workbook could not be read ({exc.__class__.__name__}); "
                        "save it again from Excel as .xlsx") from None
        finally:
            book.close()
        file = f"{file} [sheet {sheet}]"
    elif path.suffix.lower() in {".csv", ".txt"}:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = path.read_bytes().decode("cp1252")
            except UnicodeDecodeError:
                raise _fail(file, "expected text in UTF-8 (save as 'CSV UTF-8' from Excel)") from None
        if "\x00" in text:
            raise _fail(file, "expected a text CSV file; this looks binary")
        try:
            raw = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise _fail(file, f"expected a comma-separated file ({exc})") from None
    else:
        raise _fail(file, "expected a .csv or .xlsx file", path.suffix)
    return _to_table(file, raw)


def _to_table(file: str, raw: list[list[Any]]) -> Table:
    # Skip leading blank rows; the first non-blank row is the header.
    start = 0
    while start < len(raw) and all(is_blank(v) for v in raw[start]):
        start += 1
    if start == len(raw):
        raise _fail(file, "the file is empty; expected a header row of column names, then one row per item")
    titles = ["" if v is None else str(v) for v in raw[start]]
    columns = [normalise_column(t) for t in titles]
    problems = []
    seen: dict[str, int] = {}
    for i, (col, title) in enumerate(zip(columns, titles)):
        if col in seen and col:
            problems.append(Problem(file, start + 1, title, title,
                                    "each column name may appear only once; rename or remove the copy"))
        seen.setdefault(col, i)
    if problems:
        raise InputError(problems)
    rows, numbers = [], []
    for offset, values in enumerate(raw[start + 1:], start=start + 2):
        if all(is_blank(v) for v in values):
            continue
        row = {}
        for i, col in enumerate(columns):
            if col:
                row[col] = values[i] if i < len(values) else None
        extra = [v for v in values[len(columns):] if not is_blank(v)]
        if extra:
            problems.append(Problem(file, offset, None, extra[0],
                                    "a value lies beyond the last named column; add a header or remove it"))
        rows.append(row)
        numbers.append(offset)
    if problems:
        raise InputError(problems)
    return Table(file, tuple(c for c in columns if c), tuple(rows), tuple(numbers), tuple(titles))
