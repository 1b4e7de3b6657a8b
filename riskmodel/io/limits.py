"""Bounds on the work reading one table may do, and the errors that say a file is beyond them
or cannot be read (shared by the CSV and the Excel readers; documented in ``registers/README.md``).
"""
from __future__ import annotations

from typing import Any

from .errors import InputError, Problem

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

#: How to get a workbook the readers can use, appended to the errors about one.
SAVE_AGAIN = "save it again from Excel as .xlsx (File > Save As > Excel Workbook), or export the sheet as CSV"


def fail(file: str, expected: str, value: Any = None) -> InputError:
    """An :class:`InputError` about a whole file (no row or column)."""
    return InputError([Problem(file, None, None, value, expected)])


def describe(exc: BaseException) -> str:
    """An exception in one short line: its type and the start of its message."""
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def too_many(label: str, what: str) -> InputError:
    """The error for a table with more rows than :data:`MAX_ROWS` of data or :data:`MAX_SCAN_ROWS` in all."""
    return fail(label, f"the sheet has {what}; a table may hold at most {MAX_ROWS:,} rows of data "
                f"within its first {MAX_SCAN_ROWS:,} rows: delete the unused rows below it")
