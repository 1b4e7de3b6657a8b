"""Reading cells typed by people: numbers with pounds signs and commas, yes/no, lists."""
from __future__ import annotations

import math
from typing import Any

_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}


def is_blank(value: Any) -> bool:
    """True for an empty cell: ``None``, NaN, or whitespace only."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def parse_number(value: Any) -> float:
    """Parse a number as typed in a spreadsheet: ``12000``, ``"£12,000"``, ``"50%"``.

    Raises
    ------
    ValueError
        If the cell is not a finite number.
    """
    if isinstance(value, bool):
        raise ValueError("a true/false value is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("£", "").replace("_", "")
        percent = text.endswith("%")
        if percent:
            text = text[:-1]
        number = float(text)
        if percent:
            number /= 100.0
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def parse_bool(value: Any) -> bool:
    """Parse yes/no, true/false, 1/0 (blank is false)."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return False
    text = str(value).strip().lower()
    if isinstance(value, (int, float)):
        text = "1" if float(value) == 1 else ("0" if float(value) == 0 else text)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected yes or no")


def parse_list(value: Any) -> list[str]:
    """Split a cell on semicolons or commas into stripped, non-empty items."""
    if is_blank(value):
        return []
    text = str(value).replace(",", ";")
    return [part.strip() for part in text.split(";") if part.strip()]


def cell_text(value: Any) -> str:
    """A cell as text for display ('' when blank; ``12.0`` shown as ``12``)."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
