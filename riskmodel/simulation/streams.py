"""Independent, reproducible random streams keyed by name, chunk and purpose.

Every stream is a ``numpy.random.Generator`` (SFC64) built from ``SeedSequence(seed,
spawn_key=...)``. Keys use a stable hash of the risk's ``risk_id`` or the control's name, so a risk
keeps its random numbers when other rows are added, removed or edited: that is what makes
quarter-on-quarter and control comparisons use common random numbers. The global numpy random
state is never used.
"""
from __future__ import annotations

import zlib

import numpy as np

RISK, CONTROL, YEAR = 1, 2, 3
#: year-level draws (kind YEAR): the policy year's warranty decision
WARRANTY = "warranty"
#: purposes within a risk's stream family
EVENTS, AUX = 0, 1
COMPONENT_BASE = 100


def name_key(name: str) -> int:
    """Stable 32-bit key of a name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, kind: int, name: str, chunk: int, purpose: int = 0) -> np.random.Generator:
    """The generator for one (kind, name, chunk, purpose)."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(kind, name_key(name), int(chunk), int(purpose)))
    return np.random.Generator(np.random.SFC64(ss))
