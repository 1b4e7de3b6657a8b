"""Excel workbooks: checked before they are opened (size, zip bombs), the sheet to read chosen
by the documented rule, and each sheet's raw cells read once per opening of the file.

The rule for the sheet (documented for users in ``registers/README.md``): a workbook's sheet named
``register`` (any case) is read if it is visible; else the only visible sheet that is not one of
the optional tables (:data:`TABLE_SHEETS`); else an error lists the sheets. A hidden sheet is never
read: one whose name matches is reported in a warning. The optional tables follow the same rule by
their own names.
"""
from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, Problem
from .formulas import column_letter
from .limits import (HEADER_SEARCH_ROWS, MAX_COLUMNS, MAX_COMPRESSION_RATIO, MAX_FILE_BYTES, MAX_ROWS,
                     MAX_SCAN_ROWS, MAX_SHEET_BYTES, MAX_STRINGS_BYTES, SAVE_AGAIN, describe, fail, too_many)
from .parsing import is_blank

#: Names of the optional tables a workbook may hold as sheets (never taken for the register);
#: ``incidents`` is the practice's incident log (riskmodel/incidents.py).
TABLE_SHEETS = ("controls", "likelihood_scale", "impact_scale", "impact_templates", "incidents")


def _check_workbook_size(path: Path) -> None:
    """Refuse a damaged zip, or one that unpacks to too much (checked before openpyxl reads it)."""
    file = str(path)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise fail(file, f"not a readable Excel workbook ({describe(exc)}); {SAVE_AGAIN}") from None
    if len(infos) > 10_000:
        raise fail(file, f"not a readable Excel workbook (it holds {len(infos):,} parts); {SAVE_AGAIN}")
    total = sum(i.file_size for i in infos)
    if total > MAX_FILE_BYTES:
        raise fail(file, f"the workbook unpacks to {total / 2**20:,.0f} MB, more than the "
                   f"{MAX_FILE_BYTES / 2**20:,.0f} MB a register may use; copy the register sheet into a new "
                   "workbook, or export it as CSV")
    for i in infos:
        if i.filename.lower().endswith("sharedstrings.xml") and i.file_size > MAX_STRINGS_BYTES:
            raise fail(file, f"the workbook's table of text ('{i.filename}') unpacks to "
                       f"{i.file_size / 2**20:,.0f} MB, more than the {MAX_STRINGS_BYTES / 2**20:,.0f} MB a "
                       "register needs; copy the register sheet into a new workbook, or export it as CSV")
        if i.file_size > 2**20 and i.file_size > MAX_COMPRESSION_RATIO * max(i.compress_size, 1):
            raise fail(file, f"part '{i.filename}' of the workbook unpacks to {i.file_size / 2**20:,.0f} MB "
                       f"from {i.compress_size / 2**10:,.0f} KB, more than {MAX_COMPRESSION_RATIO} times "
                       f"smaller: not an ordinary register; {SAVE_AGAIN}")


def _open_workbook(path: Path):
    import openpyxl

    _check_workbook_size(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and the XML parser raise many types for damaged workbooks
        raise fail(str(path), f"not a readable Excel workbook ({describe(exc)}); {SAVE_AGAIN}") from None


def excel_sheet_names(path: Path) -> list[str]:
    """Names of the sheets of a workbook (raises InputError if it cannot be opened)."""
    return [name for name, _ in _book(path).sheets]


def _sheet_state(ws) -> str:
    return getattr(ws, "sheet_state", "visible") or "visible"


def choose_sheet(file: str, sheets: list[tuple[str, str]], want: str | None,
                 optional: bool) -> tuple[str | None, list[Problem]]:
    """The sheet to read under the documented rule, and warnings.

    ``sheets`` lists (name, state) in workbook order. ``want`` is the name sought (``register``
    or a table's name); ``optional`` tables return ``None`` when absent instead of falling back.
    """
    want_key = (want or "register").strip().lower()
    warnings_: list[Problem] = []
    visible = [n for n, s in sheets if s == "visible"]
    hidden = [n for n, s in sheets if s != "visible"]
    named = [n for n in visible if n.strip().lower() == want_key]
    hidden_named = [n for n in hidden if n.strip().lower() == want_key]
    for n in hidden_named:
        warnings_.append(Problem(file, None, None, n,
                                 f"the hidden sheet '{n}' was not read (hidden sheets never are); "
                                 "unhide it (right-click a sheet tab > Unhide) and name it "
                                 f"'{want_key}' if it is the one to read", "warning"))
    if named:
        return named[0], warnings_
    if optional:
        return None, warnings_
    candidates = [n for n in visible if n.strip().lower() not in TABLE_SHEETS]
    if len(candidates) == 1:
        return candidates[0], warnings_
    listing = ", ".join(f"'{n}'" + ("" if s == "visible" else f" ({s})") for n, s in sheets)
    raise InputError([Problem(file, None, None, None,
                              f"expected a visible sheet named '{want_key}' or a single visible sheet; "
                              f"the workbook has: {listing}. Rename the sheet to read to '{want_key}'")]
                     + warnings_)


@dataclass
class _Book:
    """What one opening of a workbook gave: its sheets and the raw cells of the sheets that may
    be read (the register's and the optional tables'), or the error reading each."""

    file: str
    sheets: list[tuple[str, str]]
    raw: dict[str, tuple | InputError]


#: The last workbooks read (a register and its tables come from one opening of the file).
_BOOKS: dict[tuple, _Book] = {}


def _book(path: Path) -> _Book:
    import hashlib

    data = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else b""
    key = (str(path.resolve()), len(data), hashlib.sha256(data).hexdigest())
    if key in _BOOKS:
        return _BOOKS[key]
    file = str(path)
    book = _open_workbook(path)
    try:
        try:
            sheets = [(ws.title, _sheet_state(ws)) for ws in book.worksheets]
        except Exception as exc:
            raise fail(file, f"not a readable Excel workbook ({describe(exc)}); {SAVE_AGAIN}") from None
        wanted = []
        try:
            wanted.append(choose_sheet(file, sheets, "register", optional=False)[0])
        except InputError:
            pass
        for table in TABLE_SHEETS:
            name = choose_sheet(file, sheets, table, optional=True)[0]
            if name is not None and name not in wanted:
                wanted.append(name)
        raw: dict[str, tuple | InputError] = {}
        for name in wanted:
            try:
                raw[name] = _read_sheet(book, file, name)
            except InputError as exc:
                raw[name] = exc
    finally:
        book.close()
    result = _Book(file, sheets, raw)
    while len(_BOOKS) >= 2:
        _BOOKS.pop(next(iter(_BOOKS)))
    _BOOKS[key] = result
    return result


def read_excel_sheet(path: Path, want: str | None, optional: bool):
    """(file label, rows as {row number: [values]}, formulas without a saved result, Excel errors,
    merged ranges, problems, warnings), or None if ``optional`` and absent."""
    book = _book(path)
    name, notes = choose_sheet(book.file, book.sheets, want, optional)
    if name is None:
        return None
    got = book.raw[name]
    if isinstance(got, InputError):
        raise got
    label, grid, formulas, errors, merged, problems = got
    notes = [Problem(label, p.row, p.column, p.value, p.expected, p.severity) for p in notes]
    return label, {k: list(v) for k, v in grid.items()}, formulas, errors, merged, list(problems), notes


def _read_sheet(book, file: str, name: str):
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class _Parser(WorkSheetParser):
        """Keeps each cell's saved result (data_only) and, for formulas, the formula text."""

        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if element.find(FORMULA_TAG) is not None:
                try:
                    formula = self.parse_formula(element)
                except Exception:
                    formula = "=?"
                cell["formula"] = str(getattr(formula, "text", formula))
            return cell

    label = f"{file} [sheet {name}]"
    problems: list[Problem] = []
    ws = book[name]
    grid: dict[int, list[Any]] = {}
    formulas: dict[tuple[int, int], str] = {}
    errors: dict[tuple[int, int], str] = {}
    try:
        size = book._archive.getinfo(ws._worksheet_path).file_size
    except Exception:
        size = 0
    if size > MAX_SHEET_BYTES:
        raise fail(label, f"the sheet unpacks to {size / 2**20:,.0f} MB, more than the "
                   f"{MAX_SHEET_BYTES / 2**20:,.0f} MB a table may use; delete the unused rows and columns, "
                   "or copy the table into a new workbook")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with ws._get_source() as src:
                parser = _Parser(src, ws._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
                data_rows = 0
                for idx, cells in parser.parse():
                    if idx > MAX_SCAN_ROWS:
                        if any(not is_blank(c["value"]) or "formula" in c for c in cells):
                            raise too_many(label, f"values in row {idx:,}, below row {MAX_SCAN_ROWS:,}")
                        continue
                    values: list[Any] = []
                    for c in cells:
                        col, v = c["column"], c["value"]
                        if col > MAX_COLUMNS:
                            if not is_blank(v) or "formula" in c:
                                problems.append(Problem(label, idx, column_letter(col), v,
                                                        f"a value in cell {column_letter(col)}{idx}, beyond "
                                                        f"column {column_letter(MAX_COLUMNS)}; delete it"))
                            continue
                        if c.get("data_type") == "e":
                            errors[(idx, col)] = str(v)
                        if "formula" in c and v is None:
                            formulas[(idx, col)] = c["formula"]
                        if len(values) < col:
                            values.extend([None] * (col - len(values)))
                        values[col - 1] = v
                    if values:
                        grid[idx] = values
                        if any(not is_blank(v) for v in values):
                            data_rows += 1
                            if data_rows > MAX_ROWS + HEADER_SEARCH_ROWS:
                                raise too_many(label, f"more than {MAX_ROWS:,} rows of data")
                merged = [str(m.coord) for m in (parser.merged_cells.mergeCell if parser.merged_cells else [])]
    except InputError:
        raise
    except Exception as exc:
        raise fail(label, f"not a readable Excel workbook: the sheet could not be read "
                   f"({describe(exc)}); {SAVE_AGAIN}") from None
    return label, grid, formulas, errors, merged, problems


def hidden_sheet_warnings(path: Path, names: tuple[str, ...] = TABLE_SHEETS) -> list[Problem]:
    """Warnings for hidden sheets of a workbook named like an optional table (not read)."""
    book = _book(path)
    out = []
    for want in names:
        name, notes = choose_sheet(book.file, book.sheets, want, optional=True)
        if name is None:
            out += notes
    return out
