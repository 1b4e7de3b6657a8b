"""Read TOML files (practice profiles, policy schedules, contracts) with located errors."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, ProblemLog
from .parsing import parse_number


#: Largest TOML file read (a practice, policy or contracts file is a few kilobytes).
MAX_TOML_BYTES = 1024 * 1024
_TRUE_WORDS = {"true", "yes"}
_FALSE_WORDS = {"false", "no"}


def read_toml(path: str | Path, what: str, log: ProblemLog | None = None) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into an :class:`InputError` with the line.

    UTF-8 (with or without a byte-order mark) is expected; a file that is not UTF-8 is read as
    Windows-1252 (what Notepad and Excel save on a UK Windows PC) with a warning in ``log``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), None, None, None, f"{what} file not found; check the path")])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(str(path), None, None, None, f"the {what} file could not be read "
                                  f"({exc.__class__.__name__}); check that you may read it")]) from None
    if len(data) > MAX_TOML_BYTES:
        raise InputError([Problem(str(path), None, None, None,
                                  f"expected a {what} file of at most {MAX_TOML_BYTES // 1024:,} KB; "
                                  f"this one is {len(data) // 1024:,} KB")])
    if b"\x00" in data:
        raise InputError([Problem(str(path), None, None, None, f"expected a UTF-8 text {what} file; "
                                  "this looks binary (or UTF-16): save it as UTF-8")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise InputError([Problem(str(path), line, None, None,
                                      f"expected a UTF-8 text {what} file")]) from None
        if log is not None:
            log.warn(line, None, None, "the file is not UTF-8, so it was read as Windows-1252 (a £ sign "
                     "saved by Notepad or Excel); check the text it shows, and save it as UTF-8 to silence this")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(m.group(1)) if m else None)
        raise InputError([Problem(str(path), line, None, None,
                                  f"expected valid TOML ({exc}); see registers/README.md for an example")]) from None


def take_number(log: ProblemLog, data: dict, key: str, default: float | None = None, *,
                prefix: str = "", low: float | None = 0.0, high: float | None = None,
                required: bool = False) -> float | None:
    """Read ``data[key]`` as a number within bounds, logging a located problem otherwise."""
    name = f"{prefix}{key}"
    if key not in data:
        if required:
            log.error(None, name, None, f"missing key '{name}'; add it as a number")
        return default
    value = data[key]
    try:
        x = parse_number(value)
    except (ValueError, TypeError):
        log.error(None, name, value, "expected a number")
        return default
    if (low is not None and x < low) or (high is not None and x > high):
        def show(v: float) -> str:
            return f"{v:,.0f}" if float(v).is_integer() else f"{v:,}"

        if low is None:
            bounds = f"of at most {show(high)}"
        else:
            bounds = f"from {show(low)} to {show(high)}" if high is not None else f"of at least {show(low)}"
        log.error(None, name, value, f"expected a number {bounds}")
        return default
    return x


def take_bool(log: ProblemLog, data: dict, key: str, default: bool, *, prefix: str = "") -> bool:
    """Read ``data[key]`` as a boolean, logging a located problem otherwise.

    ``true``/``false`` are accepted, and so are the words ``"yes"``, ``"no"``, ``"true"`` and
    ``"false"`` in quotes (any case); any other value (another word, a number) is an error, never
    a guess: guessing is how a policy ends up on or off by mistake.
    """
    name = f"{prefix}{key}"
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    log.error(None, name, value, f"expected true or false (or \"yes\" or \"no\"), e.g. {key} = false")
    return default


def check_keys(log: ProblemLog, data: dict, allowed: set[str], prefix: str = "") -> None:
    """Flag keys that are not part of the format (usually typos)."""
    for key in data:
        if key not in allowed:
            log.error(None, f"{prefix}{key}", data[key],
                      f"unknown key; expected one of: {', '.join(sorted(allowed))}")
