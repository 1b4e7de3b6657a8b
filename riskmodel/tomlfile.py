"""Read TOML files (practice profiles, policy schedules, contracts) with located errors."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, ProblemLog
from .parsing import parse_number


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into an :class:`InputError` with the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), None, None, None, f"{what} file not found; check the path")])
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError([Problem(str(path), None, None, None, f"expected a UTF-8 text {what} file")]) from None
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
    """Read ``data[key]`` as a TOML boolean, logging a located problem otherwise.

    Only ``true`` and ``false`` (without quotes) are accepted: a quoted ``"no"`` or ``"false"``
    is text, and guessing what it means is how a policy ends up on or off by mistake.
    """
    name = f"{prefix}{key}"
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, bool):
        log.error(None, name, value, f"expected true or false, without quotes (e.g. {key} = false)")
        return default
    return value


def check_keys(log: ProblemLog, data: dict, allowed: set[str], prefix: str = "") -> None:
    """Flag keys that are not part of the format (usually typos)."""
    for key in data:
        if key not in allowed:
            log.error(None, f"{prefix}{key}", data[key],
                      f"unknown key; expected one of: {', '.join(sorted(allowed))}")
