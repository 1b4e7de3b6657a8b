"""The quarter's output folder (``outputs/<quarter>/``): one run at a time (an OS lock), nothing
stale left by an interrupted run, and the manifest, a row per practice, written last.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..inputs.register import register_hash
from ..io.formatting import csv_cell
from ..io.shipped import package_version


@dataclass
class Outcome:
    practice: str
    status: str               # ok, failed or missing
    duration: float
    register: str
    sha: str
    error: str = ""
    seed: int | None = None
    trials: int | None = None
    version: str = field(default_factory=package_version)
    run: str = "this run"     # "earlier run": a report kept from before; "not run" (a --practice run)


def reason(exc: BaseException) -> str:
    """One line saying why: the last non-blank line of the message (papermill puts the cell's
    exception last), or the exception's name."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where} [errno {exc.errno}]"[:500]
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else exc.__class__.__name__)[:500]


#: Names in ``outputs/<quarter>/`` that belong to the batch itself, never to a practice.
RESERVED = {"manifest.csv", "insurance_gap_review.ipynb", "insurance_gap_review.html", "insurance_gap_review.pdf"}
TEMP_PREFIX = ".riskmodel-"
LOCK_NAME = ".riskmodel-report.lock"


class BatchLocked(RuntimeError):
    """Another ``riskmodel report`` run is writing the same quarter's outputs."""


@contextmanager
def quarter_lock(out_root: Path):
    """Hold ``outputs/<quarter>/.riskmodel-report.lock`` for the run.

    The lock is the OS's lock on that file (``flock``; ``msvcrt.locking`` on Windows), released by
    the OS when the process ends however it ends: a run killed with ``kill -9`` leaves a file
    behind but no lock, and the next run takes it. The file holds the running process's id, for
    the message a second run gives (:class:`BatchLocked`), and is removed at the end of the run."""
    import os

    path = out_root / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            _lock_fd(fd)
        except OSError:
            try:
                holder = os.read(fd, 64).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
            pid = f" (process {holder})" if holder.isdigit() else ""
            raise BatchLocked(f"another riskmodel report run{pid} is writing {out_root}; wait for it to finish "
                              "and run again") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)        # the previous holder removed the file as we opened it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _lock_fd(fd: int) -> None:
    import os

    if os.name == "nt":  # pragma: no cover
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


_OLD_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}$")   # tempfile folders of earlier versions: .<practice>.ab12cd_9


def clean_stale(out_root: Path) -> list[str]:
    """Remove what an interrupted run left in ``out_root``: hidden work folders and half-written
    ``.*.tmp`` files. Only called with the quarter's lock held."""
    removed = []
    for p in out_root.iterdir():
        if p.name == LOCK_NAME or not p.name.startswith("."):
            continue
        if p.is_dir() and not p.is_symlink() and (p.name.startswith(TEMP_PREFIX) or _OLD_TEMP.match(p.name)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        elif p.is_file() and p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def earlier_report(folder: Path, name: str, register: Path | None, reason: str) -> Outcome:
    """A practice not run this time (``--practice``): its earlier report, if still valid."""
    try:
        r = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Outcome(name, "missing", 0.0, str(register or ""), "", f"{reason} and it has no earlier report",
                       run="not run")
    try:
        sha = register_hash(register) if register is not None else None
    except OSError:
        sha = None
    if sha is None or sha != r.get("register_sha256"):
        return Outcome(name, "missing", 0.0, str(register or ""), "",
                       f"{reason}; its earlier report is of a register that has changed or gone since, so it is "
                       "not included", run="not run")
    return Outcome(name, "ok", 0.0, str(r.get("register", "")), str(r.get("register_sha256", "")), "",
                   r.get("seed"), r.get("trials"), str(r.get("version", "")), run="earlier run")


def move_aside(path: Path, trash: Path) -> None:
    """Move ``path`` into ``trash`` (deleted with the run's staging folder)."""
    import os

    if path.exists() or path.is_symlink():
        os.replace(path, trash / f"{len(list(trash.iterdir()))}-{path.name}")


MANIFEST_COLUMNS = ["practice", "status", "duration_s", "register", "register_sha256", "seed", "trials",
                    "version", "run", "error"]


def manifest_text(rows: list[Outcome]) -> str:
    """The manifest as CSV; every text cell neutralised against spreadsheet formulas
    (:func:`riskmodel.io.formatting.csv_cell`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    for o in rows:
        w.writerow([csv_cell(v) for v in (o.practice, o.status, f"{o.duration:.1f}", o.register, o.sha,
                                           "" if o.seed is None else o.seed, "" if o.trials is None else o.trials,
                                           o.version, o.run, o.error)])
    return buf.getvalue()
