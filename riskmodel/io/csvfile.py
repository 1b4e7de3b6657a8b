"""CSV files: decoded (UTF-8 with or without BOM, UTF-16 with a BOM, else Windows-1252), the
delimiter (comma, semicolon or tab) taken from the header line, rows read within the bounds of
:mod:`riskmodel.io.limits`. A cell running over several lines with a delimiter in the continuation
is an unclosed quote that swallowed the rows after it: an error.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from .errors import Problem
from .formulas import column_letter
from .limits import HEADER_SEARCH_ROWS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, MAX_SCAN_ROWS, fail, too_many
from .parsing import is_blank


def _decode(path: Path, data: bytes) -> tuple[str, list[Problem]]:
    file = str(path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            raise fail(file, "expected text in UTF-8 (save as 'CSV UTF-8' from Excel)") from None
    if b"\x00" in data:
        raise fail(file, "expected a text CSV file; this looks binary (save as 'CSV UTF-8' from Excel)")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), []
    except UnicodeDecodeError:
        raise fail(file, "expected text in UTF-8 (save as 'CSV UTF-8' from Excel)") from None


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


def read_csv_grid(path: Path, header: str | None):
    file = str(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise fail(file, f"the file is {size / 2**20:,.0f} MB, more than the {MAX_FILE_BYTES / 2**20:,.0f} MB "
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
                raise too_many(file, f"more than {MAX_SCAN_ROWS:,} rows")
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
                        raise too_many(file, f"more than {MAX_ROWS:,} rows of data")
    except csv.Error as exc:
        raise fail(file, f"expected a comma-separated file ({exc})") from None
    return file, grid, problems, notes, cells
