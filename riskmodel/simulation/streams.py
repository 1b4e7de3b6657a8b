"""Independent, reproducible random streams keyed by name, chunk and purpose.

Every stream is a ``numpy.random.Generator`` (SFC64) built from ``SeedSequence(seed,
spawn_key=...)``. Keys use a stable hash of the risk's ``risk_id`` or the control's name, so a risk
keeps its random numbers when other rows are added, removed or edited: that is what makes
quarter-on-quarter and control comparisons use common random numbers. The global numpy random
state is never used.
"""
from __future__ import annotations

import zlib
from functools import lru_cache

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


# --- Many streams at once ---------------------------------------------------------------------
# ``stream`` builds a SeedSequence and an SFC64 for each key: about 30 microseconds, which for a
# register of a dozen risks is some 80 streams a chunk. ``streams`` gives the same generators
# (the same states, bit for bit: tested against ``stream``) with the seeding done for all the
# keys together in numpy: numpy's SeedSequence hashing (a pool of 4 words: the seed's words,
# padded with zeros, then the spawn key's) and SFC64's seeding (three words of the sequence's
# state and a counter of 1, then 12 rounds of the generator), as numpy documents and implements
# them (numpy/random/bit_generator.pyx, numpy/random/src/sfc64/sfc64.h).

_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_M32 = 0xFFFFFFFF


def _hash_consts(start: int, mult: int, count: int) -> list[np.uint32]:
    """The hash constant after each of ``count`` uses (it does not depend on the data)."""
    out, h = [], start
    for _ in range(count):
        h = (h * mult) & _M32
        out.append(np.uint32(h))
    return out


#: SeedSequence's mixing uses the constant 4 + 12 + 4 x 4 times for an entropy of 8 words.
_A = _hash_consts(_INIT_A, _MULT_A, 32)
_A_XOR = [np.uint32(_INIT_A)] + _A[:-1]        # the constant each use XORs with (before the update)
_B = _hash_consts(_INIT_B, _MULT_B, 6)
_B_XOR = [np.uint32(_INIT_B)] + _B[:-1]


@lru_cache(maxsize=1024)
def _seed_pool(seed: int) -> tuple[int, ...]:
    """SeedSequence's pool after the seed's 4 words (zero-padded) and their mixing: the part of
    the hashing that does not depend on the spawn key (in Python integers: a few microseconds)."""
    consts = [int(x) for x in _A]
    xors = [int(x) for x in _A_XOR]

    def hashmix(value: int, use: int) -> int:
        v = ((value ^ xors[use]) * consts[use]) & _M32
        return v ^ (v >> 16)

    def mix(x: int, y: int) -> int:
        r = (int(_MIX_L) * x - int(_MIX_R) * y) & _M32
        return r ^ (r >> 16)

    pool = [hashmix((seed >> (32 * i)) & _M32, i) for i in range(4)]
    use = 4
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src], use))
                use += 1
    return tuple(pool)


#: The constants of the spawn key's 16 uses: (4 key words, 4 pool words, 1), after the seed's 16.
_KEY_XOR = np.array(_A_XOR[16:32], dtype=np.uint32).reshape(4, 4, 1)
_KEY_MUL = np.array(_A[16:32], dtype=np.uint32).reshape(4, 4, 1)
_GEN_XOR = np.array(_B_XOR, dtype=np.uint32).reshape(6, 1)
_GEN_MUL = np.array(_B, dtype=np.uint32).reshape(6, 1)


def sfc64_states(seed: int | list[int], keys: np.ndarray, counts: list[int] | None = None) -> np.ndarray:
    """(k, 4) uint64: the state of ``SFC64(SeedSequence(seed, spawn_key=key))`` for each row of
    ``keys`` (k, 4) (kind, name key, chunk, purpose), each below 2**32; ``seed`` below 2**128.

    Several seeds at once (the streams of many practices): ``seed`` a list, and ``counts`` the
    number of rows of ``keys`` (consecutive) of each.
    """
    keys = np.asarray(keys, dtype=np.uint32).reshape(-1, 4)
    if counts is None:
        pool = np.array(_seed_pool(seed), dtype=np.uint32)[:, None].repeat(len(keys), axis=1)   # (4, k)
    else:
        pool = np.array([_seed_pool(x) for x in seed], dtype=np.uint32).T.repeat(counts, axis=1)
    shift = np.uint32(16)
    for src in range(4):                 # each word of the spawn key into every pool word
        h = (keys[:, src] ^ _KEY_XOR[src]) * _KEY_MUL[src]
        h ^= h >> shift
        pool = _MIX_L * pool - _MIX_R * h
        pool ^= pool >> shift
    v = (pool[[0, 1, 2, 3, 0, 1]] ^ _GEN_XOR) * _GEN_MUL     # generate_state(3, uint64)
    v ^= v >> shift
    s = np.ascontiguousarray(v.T).astype("<u4").view("<u8").astype(np.uint64)
    a, b, c = s[:, 0].copy(), s[:, 1].copy(), s[:, 2].copy()
    for w in range(1, 13):               # sfc64_set_seed: counter 1, then 12 rounds of sfc64_next
        tmp = a + b
        tmp += np.uint64(w)
        a = b ^ (b >> np.uint64(11))
        b = c + (c << np.uint64(3))
        c = (c << np.uint64(24)) | (c >> np.uint64(40))
        c += tmp
    return np.stack([a, b, c, np.full(len(keys), 13, dtype=np.uint64)], axis=1)


class _Unseeded(np.random.bit_generator.ISeedSequence):
    """A placeholder seed for a bit generator whose state is set right after (cheaper than a
    SeedSequence)."""

    def generate_state(self, n_words, dtype=np.uint32):
        return np.zeros(n_words, dtype=dtype)


_PLACEHOLDER_SEED = _Unseeded()


def key_rows(keys) -> np.ndarray:
    """(k, 4) int64: the rows (kind, name key, chunk, purpose) of ``keys``, for :func:`streams`."""
    return np.array([(kind, name_key(name), int(chunk), int(purpose)) for kind, name, chunk, purpose in keys],
                    dtype=np.int64).reshape(-1, 4)


def streams(seed: int, keys, *, rows: np.ndarray | None = None,
            reuse: list[np.random.Generator] | None = None,
            states: np.ndarray | None = None) -> list[np.random.Generator]:
    """The generators ``stream(seed, kind, name, chunk, purpose)`` for ``keys``, a list of
    (kind, name, chunk, purpose), seeded together (see above).

    ``rows``: :func:`key_rows` of ``keys``, when the caller keeps them. ``reuse``: generators no
    longer in use, given these states instead of new generators being made (the first
    ``len(keys)`` of the list, which is extended as needed; about half the cost of a stream).
    ``states``: :func:`sfc64_states` of ``seed`` and ``rows``, when the caller computed them
    (with other practices' streams, :func:`many_states`).
    """
    if not 0 <= int(seed) < 1 << 128:
        return [stream(seed, *k) for k in keys]
    if states is None:
        if rows is None:
            rows = key_rows(keys)
        if rows.size and (rows.min() < 0 or rows.max() > _M32):
            return [stream(seed, *k) for k in keys]
        states = sfc64_states(int(seed), rows)
    out = [] if reuse is None else reuse
    while len(out) < len(states):
        out.append(np.random.Generator(np.random.SFC64(_PLACEHOLDER_SEED)))
    for state, g in zip(states, out):
        g.bit_generator.state = {"bit_generator": "SFC64", "state": {"state": state}, "has_uint32": 0,
                                 "uinteger": 0}
    return out[:len(states)]


def many_states(seeds: list[int], rows: list[np.ndarray]) -> list[np.ndarray] | None:
    """:func:`sfc64_states` of each ``(seeds[i], rows[i])``, computed together (one pass of numpy
    over every row: for a block of practices, a few numpy calls instead of a few per practice).
    None when a seed or key is beyond the fast seeding (:func:`streams` then falls back)."""
    if not rows or any(not 0 <= int(x) < 1 << 128 for x in seeds):
        return None
    allrows = np.concatenate(rows)
    if allrows.size and (allrows.min() < 0 or allrows.max() > _M32):
        return None
    counts = [len(r) for r in rows]
    return np.split(sfc64_states([int(x) for x in seeds], allrows, counts), np.cumsum(counts)[:-1])
