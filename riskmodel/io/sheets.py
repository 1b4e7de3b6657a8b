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
"""
from __future__ import annotations

import ast
import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import InputError, Problem
from .parsing import clean_text, is_blank, parse_number

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
#: Most rows of data (risks, controls) one table may hold.
MAX_ROWS = 2_000
#: Most rows (blank or not, from the top of the sheet) read before giving up.
MAX_SCAN_ROWS = 100_000
#: Most columns a row may use.
MAX_COLUMNS = 500
#: Largest CSV file, and largest workbook once unpacked (all its parts together).
MAX_FILE_BYTES = 50 * 1024 * 1024
#: Largest text table (``xl/sharedStrings.xml``) and largest sheet read, unpacked: a register of
#: 2,000 rows is a few megabytes; reading these costs about 0.3 s a megabyte.
MAX_STRINGS_BYTES = 10 * 1024 * 1024
MAX_SHEET_BYTES = 15 * 1024 * 1024
#: Largest unpacked size over packed size of one part of a workbook bigger than 1 MB unpacked.
MAX_COMPRESSION_RATIO = 100
#: Rows searched for the header row.
HEADER_SEARCH_ROWS = 50
#: Names of the optional tables a workbook may hold as sheets (never taken for the register);
#: ``incidents`` is the practice's incident log (riskmodel/incidents.py).
TABLE_SHEETS = ("controls", "likelihood_scale", "impact_scale", "impact_templates", "incidents")

_SAVE_AGAIN = "save it again from Excel as .xlsx (File > Save As > Excel Workbook), or export the sheet as CSV"


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


def column_letter(index: int) -> str:
    """1 -> ``A``, 27 -> ``AA``."""
    out = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _fail(file: str, expected: str, value: Any = None) -> InputError:
    return InputError([Problem(file, None, None, value, expected)])


# --------------------------------------------------------------------------------------------
# formulas without a saved result

class FormulaError(ValueError):
    """A formula riskmodel does not work out (anything but arithmetic on numbers and cells)."""


_REF = re.compile(r"(?<![A-Za-z0-9_.])\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?![A-Za-z0-9_(])")
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}


def evaluate_formula(formula: str, lookup: Callable[[int, int, int], float], depth: int = 0) -> float:
    """Work out an Excel formula made of numbers, ``+ - * /``, brackets and references to cells
    of the same sheet (``A1``, ``$B$2``), safely (parsed with :mod:`ast`, never ``eval``).

    ``lookup(row, column, depth)`` gives a referenced cell's number. Raises
    :class:`FormulaError` for anything else (functions, other sheets, text, division by 0).
    """
    text = formula.strip()
    if text.startswith("="):
        text = text[1:]
    if not text or len(text) > 300 or depth > 20:
        raise FormulaError("formula too long or too deeply nested")
    if "!" in text or ":" in text or '"' in text:
        raise FormulaError("refers to another sheet, a range or text")
    refs: dict[str, tuple[int, int]] = {}

    def name(m: re.Match) -> str:
        key = f"cell_{m[1].upper()}_{m[2]}"
        refs[key] = (int(m[2]), _column_index(m[1]))
        return key

    try:
        tree = ast.parse(_REF.sub(name, text), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise FormulaError("not plain arithmetic") from None

    def value(node: ast.AST, level: int = 0) -> float:
        if level > 100:
            raise FormulaError("too deeply nested")
        if isinstance(node, ast.Expression):
            return value(node.body, level + 1)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            try:
                return float(node.value)
            except OverflowError:
                raise FormulaError("number too large") from None
        if isinstance(node, ast.Name) and node.id in refs:
            return lookup(*refs[node.id], depth + 1)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            x = value(node.operand, level + 1)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = value(node.left, level + 1), value(node.right, level + 1)
            if isinstance(node.op, ast.Div) and b == 0:
                raise FormulaError("divides by zero")
            return _BINOPS[type(node.op)](a, b)
        raise FormulaError("not plain arithmetic")

    result = value(tree)
    if result != result or result in (float("inf"), float("-inf")):
        raise FormulaError("the result is not a finite number")
    return result


# --------------------------------------------------------------------------------------------
# Excel

def _check_workbook_size(path: Path) -> None:
    """Refuse a damaged zip, or one that unpacks to too much (checked before openpyxl reads it)."""
    file = str(path)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _fail(file, f"not a readable Excel workbook ({_describe(exc)}); {_SAVE_AGAIN}") from None
    if len(infos) > 10_000:
        raise _fail(file, f"not a readable Excel workbook (it holds {len(infos):,} parts); {_SAVE_AGAIN}")
    total = sum(i.file_size for i in infos)
    if total > MAX_FILE_BYTES:
        raise _fail(file, f"the workbook unpacks to {total / 2**20:,.0f} MB, more than the "
                    f"{MAX_FILE_BYTES / 2**20:,.0f} MB a register may use; copy the register sheet into a new "
                    "workbook, or export it as CSV")
    for i in infos:
        if i.filename.lower().endswith("sharedstrings.xml") and i.file_size > MAX_STRINGS_BYTES:
            raise _fail(file, f"the workbook's table of text ('{i.filename}') unpacks to "
                        f"{i.file_size / 2**20:,.0f} MB, more than the {MAX_STRINGS_BYTES / 2**20:,.0f} MB a "
                        "register needs; copy the register sheet into a new workbook, or export it as CSV")
        if i.file_size > 2**20 and i.file_size > MAX_COMPRESSION_RATIO * max(i.compress_size, 1):
            raise _fail(file, f"part '{i.filename}' of the workbook unpacks to {i.file_size / 2**20:,.0f} MB "
                        f"from {i.compress_size / 2**10:,.0f} KB, more than {MAX_COMPRESSION_RATIO} times "
                        f"smaller: not an ordinary register; {_SAVE_AGAIN}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _open_workbook(path: Path):
    import openpyxl

    _check_workbook_size(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and the XML parser raise many types for damaged workbooks
        raise _fail(str(path), f"not a readable Excel workbook ({_describe(exc)}); {_SAVE_AGAIN}") from None


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
            raise _fail(file, f"not a readable Excel workbook ({_describe(exc)}); {_SAVE_AGAIN}") from None
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


def _read_excel(path: Path, want: str | None, optional: bool):
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
        raise _fail(label, f"the sheet unpacks to {size / 2**20:,.0f} MB, more than the "
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
                            raise _too_many(label, f"values in row {idx:,}, below row {MAX_SCAN_ROWS:,}")
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
                                raise _too_many(label, f"more than {MAX_ROWS:,} rows of data")
                merged = [str(m.coord) for m in (parser.merged_cells.mergeCell if parser.merged_cells else [])]
    except InputError:
        raise
    except Exception as exc:
        raise _fail(label, f"not a readable Excel workbook: the sheet could not be read "
                    f"({_describe(exc)}); {_SAVE_AGAIN}") from None
    return label, grid, formulas, errors, merged, problems


def _too_many(label: str, what: str) -> InputError:
    return _fail(label, f"the sheet has {what}; a table may hold at most {MAX_ROWS:,} rows of data "
                 f"within its first {MAX_SCAN_ROWS:,} rows: delete the unused rows below it")


def _resolve_formulas(label: str, grid: dict[int, list[Any]], formulas: dict[tuple[int, int], str],
                      errors: dict[tuple[int, int], str]) -> dict[tuple[int, int], Problem]:
    """Fill formula cells without a saved result where they are plain arithmetic; problems for
    the others and for Excel error values, by cell."""
    out: dict[tuple[int, int], Problem] = {}
    done: dict[tuple[int, int], float] = {}

    def lookup(row: int, col: int, depth: int) -> float:
        if (row, col) in done:
            return done[(row, col)]
        if (row, col) in formulas:
            return evaluate_formula(formulas[(row, col)], lookup, depth)
        values = grid.get(row, [])
        v = values[col - 1] if col - 1 < len(values) else None
        if (row, col) in errors:
            raise FormulaError("refers to a cell holding an Excel error")
        if is_blank(v):
            return 0.0
        try:
            return parse_number(v)
        except ValueError:
            raise FormulaError("refers to a cell that is not a number") from None

    for (row, col), formula in formulas.items():
        ref = f"{column_letter(col)}{row}"
        try:
            x = evaluate_formula(formula, lookup)
        except (FormulaError, RecursionError) as exc:
            out[(row, col)] = Problem(label, row, None, formula,
                                      f"cell {ref} holds a formula whose result was not saved (the file was "
                                      f"written by a program other than Excel) and it cannot be worked out "
                                      f"here ({exc}; only numbers, + - * / and cells of this sheet are): open "
                                      "and save it in Excel, or type the value")
            continue
        done[(row, col)] = x
        grid[row][col - 1] = x
    for (row, col), text in errors.items():
        out[(row, col)] = Problem(label, row, None, text,
                                  f"cell {column_letter(col)}{row} shows the Excel error {text}; fix its "
                                  "formula or type the value")
    return out


# --------------------------------------------------------------------------------------------
# CSV

def _decode(path: Path, data: bytes) -> tuple[str, list[Problem]]:
    file = str(path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            raise _fail(file, "expected text in UTF-8 (save as 'CSV UTF-8' from Excel)") from None
    if b"\x00" in data:
        raise _fail(file, "expected a text CSV file; this looks binary (save as 'CSV UTF-8' from Excel)")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), []
    except UnicodeDecodeError:
        raise _fail(file, "expected text in UTF-8 (save as 'CSV UTF-8' from Excel)") from None


def sniff_delimiter(text: str, header: str | None) -> str:
    """The delimiter of the header line: the first line naming ``header`` (else the first
    non-blank line); the most frequent of ``,``, ``;`` and tab outside quotes (comma on a tie)."""
    lines = text.splitlines()[:HEADER_SEARCH_ROWS]
    key = (header or "").replace("_", "")
    chosen = None
    if key:
        chosen = next((ln for ln in lines if key in re.sub(r"[\s_-]", "", ln.lower())), None)
    if chosen is None:
        chosen = next((ln for ln in lines if ln.strip()), "")
    outside = re.sub(r'"[^"]*"', "", chosen)
    counts = {d: outside.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _read_csv(path: Path, header: str | None):
    file = str(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail(file, f"the file is {size / 2**20:,.0f} MB, more than the {MAX_FILE_BYTES / 2**20:,.0f} MB "
                    f"a register may use (at most {MAX_ROWS:,} rows of data)")
    text, notes = _decode(path, path.read_bytes())
    delimiter = sniff_delimiter(text, header)
    grid: dict[int, list[Any]] = {}
    problems: list[Problem] = []
    cells: dict[tuple[int, int], Problem] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    record = 0
    data_rows = 0
    line = 0
    try:
        for values in reader:
            record += 1
            first_line = line + 1
            line = reader.line_num
            if record > MAX_SCAN_ROWS:
                raise _too_many(file, f"more than {MAX_SCAN_ROWS:,} rows")
            if len(values) > MAX_COLUMNS:
                problems.append(Problem(file, record, None, None,
                                        f"this row has {len(values):,} cells; a table may use at most "
                                        f"{MAX_COLUMNS} columns"))
                values = values[:MAX_COLUMNS]
            for i, v in enumerate(values):
                if ("\n" in v or "\r" in v) and delimiter in v:
                    rest = v.replace("\r", "\n").split("\n", 1)[1]
                    if delimiter in rest:
                        cells[(record, i + 1)] = (Problem(
                            file, record, None, v[:60] + ("..." if len(v) > 60 else ""),
                            f"cell {column_letter(i + 1)}{record} (line {first_line} of the file) runs on over "
                            f"{line - first_line + 1} lines: a quote (\") opened in it is not closed, so the "
                            "rows after it were read into this one cell; close the quote or remove it"))
            if values:
                grid[record] = list(values)
                if any(not is_blank(v) for v in values):
                    data_rows += 1
                    if data_rows > MAX_ROWS + HEADER_SEARCH_ROWS:
                        raise _too_many(file, f"more than {MAX_ROWS:,} rows of data")
    except csv.Error as exc:
        raise _fail(file, f"expected a comma-separated file ({exc})") from None
    return file, grid, problems, notes, cells


# --------------------------------------------------------------------------------------------

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
        raise _fail(str(path), f"the file could not be read ({_describe(exc)}); check it is not open "
                    "elsewhere and that you may read it") from None


def _read_table(path: Path, sheet: str | None, first_sheet: bool, header: str | None, max_rows: int) -> Table:
    if not path.is_file():
        raise _fail(str(path), "file not found; check the path (a register is a .csv or .xlsx file)")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        got = _read_excel(path, sheet, optional=not first_sheet)
        if got is None:
            raise _fail(str(path), f"sheet '{sheet}' not found (a visible sheet of that name)")
        return _excel_table(got, header, max_rows)
    if path.suffix.lower() in {".csv", ".txt"}:
        file, grid, problems, notes, cells = _read_csv(path, header)
        return _to_table(file, grid, header, max_rows, problems, notes, cell_problems=cells)
    raise _fail(str(path), "expected a .csv or .xlsx file", path.suffix)


def read_sheet_if_present(path: Path, name: str, header: str | None = None) -> tuple[Table | None, list[Problem]]:
    """A workbook's visible sheet ``name`` (any case) if it has one, and warnings (a hidden
    sheet of that name is not read: a warning says so)."""
    got = _read_excel(path, name, optional=True)
    if got is None:
        return None, hidden_sheet_warnings(path, (name,))
    table = _excel_table(got, header, MAX_ROWS)
    return table, list(table.warnings)


def hidden_sheet_warnings(path: Path, names: tuple[str, ...] = TABLE_SHEETS) -> list[Problem]:
    """Warnings for hidden sheets of a workbook named like an optional table (not read)."""
    book = _book(path)
    out = []
    for want in names:
        name, notes = choose_sheet(book.file, book.sheets, want, optional=True)
        if name is None:
            out += notes
    return out


def _excel_table(got, header: str | None, max_rows: int) -> Table:
    label, grid, formulas, errors, merged, problems, notes = got
    cell_problems = _resolve_formulas(label, grid, formulas, errors)
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
        problems.append(Problem(file, max(r1, start), column_name(_column_index(m1[1])), None,
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
