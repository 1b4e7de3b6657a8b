"""Reading cells typed by people: numbers with pounds signs and commas, yes/no, lists.

What is accepted is documented for users in ``registers/README.md``: ``12000``, ``£12,000``,
``12,000``, ``8k``, ``£80K``, ``1.5m``, ``30%``; ``n/a``, ``-`` or a dash for an empty cell.
A decimal comma (``1,5``) is refused: it is ambiguous, and reading it as 15 multiplies a loss
by ten.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from typing import Any

_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}
#: Cells that mean "nothing here" (as typed in registers kept by hand).
BLANK_WORDS = {"n/a", "na", "-", "--", "\u2013", "\u2014", "none"}
#: Multipliers for ``8k``, ``1.5m``, ``2bn``.
_SUFFIXES = {"k": 1e3, "m": 1e6, "bn": 1e9}
_NUMBER = re.compile(r"^(?P<sign>[-+]?)(?P<body>\d[\d,]*(?:\.\d*)?|\.\d+)(?:e(?P<exp>[-+]?\d+))?"
                     r"(?P<suffix>k|m|bn)?(?P<pct>%)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


class NumberError(ValueError):
    """A cell that is not a number; ``hint`` (may be empty) says how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def clean_text(text: str) -> str:
    """NFKC-normalise ``text`` (fullwidth digits, non-breaking spaces) and drop invisible format
    characters (zero-width spaces, joiners, byte-order marks, direction marks)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def invisible_characters(text: str) -> list[str]:
    """Names of the invisible or look-alike characters in ``text`` (for messages)."""
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cf" or (ch != " " and unicodedata.normalize("NFKC", ch) != ch):
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            label = f"U+{ord(ch):04X} {name}"
            if label not in out:
                out.append(label)
    return out


def is_blank(value: Any) -> bool:
    """True for an empty cell: ``None``, NaN, whitespace only, or ``n/a``, ``-``, a dash."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if not isinstance(value, str):
        return False
    text = clean_text(value).strip()
    return text == "" or text.lower() in BLANK_WORDS


def parse_number(value: Any) -> float:
    """Parse a number as typed in a spreadsheet: ``12000``, ``"£12,000"``, ``"50%"``, ``"8k"``,
    ``"£1.5m"``.

    Raises
    ------
    NumberError (a ValueError)
        If the cell is not a finite number; ``hint`` says why when it is a likely slip (a
        decimal comma, a date).
    """
    if isinstance(value, bool):
        raise NumberError("a true/false value is not a number")
    if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        raise NumberError("a date is not a number",
                          "the cell is formatted as a date or time in Excel: format it as Number "
                          "and type the value again")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        raw = clean_text(str(value)).strip()
        text = raw.lower().replace("£", "").replace("_", "").replace(" ", "")
        if re.search(r"\d,\d", text) and not _THOUSANDS.match(text.lstrip("+-").split("e")[0].rstrip("km%bn")):
            raise NumberError(f"ambiguous comma in {raw!r}", _comma_hint(raw))
        m = _NUMBER.match(text)
        if not m:
            raise NumberError(f"not a number: {raw!r}")
        body = m["body"]
        if "," in body:
            if not _THOUSANDS.match(body):
                raise NumberError(f"ambiguous comma in {raw!r}", _comma_hint(raw))
            body = body.replace(",", "")
        number = float(body + (f"e{m['exp']}" if m["exp"] else ""))
        if m["sign"] == "-":
            number = -number
        if m["suffix"]:
            number *= _SUFFIXES[m["suffix"]]
        if m["pct"]:
            number /= 100.0
    if not math.isfinite(number):
        raise NumberError("not a finite number")
    return number


def _comma_hint(raw: str) -> str:
    return (f"'{raw}' has a comma that is not a thousands separator (groups of three digits, as in "
            "12,000): write a decimal point (1.5), not a decimal comma (1,5)")


def number_hint(exc: Exception) -> str:
    """The fix a :class:`NumberError` suggests, as ``"; <hint>"`` (or '')."""
    hint = getattr(exc, "hint", "")
    return f"; {hint}" if hint else ""


def parse_bool(value: Any) -> bool:
    """Parse yes/no, true/false, 1/0 (blank is false)."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return False
    text = clean_text(str(value)).strip().lower()
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
    text = clean_text(str(value)).replace(",", ";")
    return [part.strip() for part in text.split(";") if part.strip() and not is_blank(part)]


def cell_text(value: Any) -> str:
    """A cell as text for display ('' when blank; ``12.0`` shown as ``12``); normalised with
    :func:`clean_text`."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value)).strip()
