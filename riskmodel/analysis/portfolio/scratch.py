"""Each practice's yearly gross kept on disk between the two passes of a book's simulation.

The practices' contributions to the book's worst 1% of years need each practice's gross in
those years, and which years they are is known only once every practice has been simulated. A
task writes its block's yearly gross (whole pence, one row per simulated year, one column per
practice) to a scratch file; once the worst years are known, their rows are read back and
added. Without a scratch folder (a cluster whose workers share no disk with this machine) the
worst years are simulated again instead (:func:`.blocks.tail_block`): the same numbers, to the
penny, at about the cost of the first pass again.

Nothing in these files is kept after the run: the folder is a temporary one (removed at the
end, also on an error) unless the caller gives its own, and then only the run's files are
removed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

#: Bytes a practice-year can take on disk (int64 pence; int32 when a block's figures fit).
BYTES_PER_PRACTICE_YEAR = 8
#: Room left free on the scratch disk beyond the run's own files.
HEADROOM = 1 << 30


def write_gross(path: str, gross: np.ndarray) -> None:
    """Save ``gross`` (int64 pence, years x practices) to ``path``, as int32 when every value
    fits; written to a temporary name and renamed, so a file that exists is whole."""
    if gross.size and int(gross.max()) < np.iinfo(np.int32).max:
        gross = gross.astype(np.int32)
    part = f"{path}.part"
    try:
        with open(part, "wb") as fh:
            np.save(fh, np.ascontiguousarray(gross), allow_pickle=False)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"the scratch folder {os.path.dirname(path)} is not there where this task runs: "
                                "on a cluster, give a folder every worker and this machine share") from exc
    os.replace(part, path)


def tail_sums(path: str, rows: np.ndarray) -> np.ndarray:
    """Each practice's (column's) gross summed over ``rows`` (years within the file), int64."""
    kept = np.load(path, mmap_mode="r", allow_pickle=False)
    return np.asarray(kept[rows], dtype=np.int64).sum(axis=0)


class Scratch:
    """Where a run's tasks write their blocks' yearly gross: :meth:`path` names the file of one
    task (block ``b`` of practices, group ``g`` of chunks)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, block: int, group: int) -> str:
        return str(self.folder / f"gross-{block}-{group}.npy")


def room_for(folder: Path, practices: int, trials: int) -> bool:
    """Whether ``folder``'s disk has room for a book's yearly gross (and a margin)."""
    need = practices * trials * BYTES_PER_PRACTICE_YEAR
    return shutil.disk_usage(folder).free >= need + HEADROOM


@contextmanager
def open_scratch(folder, practices: int, trials: int, *, default: bool):
    """A :class:`Scratch` for the run, or ``None`` to simulate the worst years again.

    ``folder``: a folder (``str`` or ``Path``) to write in, ``False`` for none, ``None`` for a
    temporary folder when ``default`` (a run on this machine), none otherwise. A folder without
    room for the book's figures gives ``None`` too.
    """
    if folder is False or (folder is None and not default):
        yield None
        return
    base = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    if not room_for(base, practices, trials):
        yield None
        return
    own = Path(tempfile.mkdtemp(prefix="riskmodel-portfolio-", dir=base))
    try:
        yield Scratch(own)
    finally:
        shutil.rmtree(own, ignore_errors=True)


__all__ = ["Scratch", "open_scratch", "write_gross", "tail_sums", "room_for", "BYTES_PER_PRACTICE_YEAR"]
