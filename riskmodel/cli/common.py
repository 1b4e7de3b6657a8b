"""What every command shares: exit statuses, the group class that turns misuse and impossible
figures into one plain line, and the helpers that report input problems and write JSON.

Exit statuses: 0 done; 1 a report run with a practice failed (``report``); :data:`EXIT_INVALID` (2)
a bad option or input; :data:`EXIT_INTERNAL` (3) an impossible figure caught before anything was
written.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..analysis.schema import ResultsSchemaError
from ..coverage.invariants import InvariantError
from ..io.atomic import write_text
from ..io.errors import InputError

EXIT_INVALID = 2
#: An impossible figure was caught before anything was written (a bug in riskmodel).
EXIT_INTERNAL = 3


class Guarded(click.Group):
    """Every command: a misused option or argument is one line with exit status 2 (click's usage
    text is a ``--help`` away); an :class:`InvariantError` (an impossible figure caught by the
    package's guards, or an output its schema refuses) is reported plainly with exit status 3;
    nothing has been written."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            click.echo(f"{where}: {exc.format_message()} (see {where} --help)", err=True)
            sys.exit(EXIT_INVALID)
        except InvariantError as exc:
            click.echo(str(exc), err=True)
            sys.exit(EXIT_INTERNAL)
        except ResultsSchemaError as exc:  # riskmodel built an output its own schema refuses
            click.echo(f"{exc}\nThis is a bug in riskmodel: nothing was written. Please report it.", err=True)
            sys.exit(EXIT_INTERNAL)


def fail(exc: InputError) -> None:
    """Print an input's problems (file, row, column, value, what is expected) and exit with status 2."""
    click.echo(str(exc), err=True)
    sys.exit(EXIT_INVALID)


def fail_line(message: str) -> None:
    """Print one line and exit with status 2 (a bad option)."""
    click.echo(message, err=True)
    sys.exit(EXIT_INVALID)


def warn(*inputs) -> None:
    """Print the warnings of a register, policy or contracts (each may be None)."""
    for item in inputs:
        for w in getattr(item, "warnings", ()) or ():
            click.echo(str(w), err=True)


def beside(register_path: str, name: str) -> Path | None:
    """The file ``name`` in the folder of the register, if there is one."""
    p = Path(register_path).parent / name
    return p if p.is_file() else None


def check_json_target(target: str | None) -> None:
    """Refuse, before any simulation, a ``--json`` path that cannot be written as a file."""
    if not target or target == "-":
        return
    p = Path(target)
    if p.is_dir():
        fail_line(f"--json: {target} is a folder; give a file name such as {p / 'results.json'}")
    parent = next((a for a in p.absolute().parents if a.exists()), None)
    if parent is not None and not parent.is_dir():
        fail_line(f"--json: {target} cannot be written: {parent} is a file, not a folder")


def json_dump(data, target: str) -> None:
    """Write ``data`` as JSON to the file ``target``, or to stdout for ``-``."""
    text = json.dumps(data, indent=2, allow_nan=False)
    if target == "-":
        click.echo(text)
    else:
        try:
            write_text(target, text + "\n")
        except OSError as exc:
            fail_line(f"--json: could not write {target}: {exc.strerror or exc}")
        click.echo(f"wrote {target}", err=True)


# The names these helpers had in cli/__init__.py, for command modules written against it.
_fail, _fail_line, _warn, _beside, _check_json_target, _json_dump = (
    fail, fail_line, warn, beside, check_json_target, json_dump)
