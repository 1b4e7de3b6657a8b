"""The random streams seeded together (``streams``) are those seeded one by one (``stream``,
numpy's own SeedSequence and SFC64): the oracle is numpy itself."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel import load_register
from riskmodel.simulation.draws import Plan, draw_chunk, stream_keys
from riskmodel.simulation.streams import stream, streams

from .conftest import REGISTERS

KEYS = st.lists(st.tuples(st.integers(0, 9), st.text(max_size=12), st.integers(0, 2**32 - 1),
                          st.integers(0, 2**32 - 1)), min_size=1, max_size=40)


def _state(g: np.random.Generator) -> np.ndarray:
    return g.bit_generator.state["state"]["state"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**130), keys=KEYS)
def test_streams_seeded_together_are_numpys(seed, keys):
    together = streams(seed, keys)
    assert len(together) == len(keys)
    for key, g in zip(keys, together):
        alone = stream(seed, *key)
        assert np.array_equal(_state(g), _state(alone)), (seed, key)
        assert g.bit_generator.state["has_uint32"] == alone.bit_generator.state["has_uint32"] == 0
        assert np.array_equal(g.random(3), alone.random(3))
        assert np.array_equal(g.standard_normal(3, dtype=np.float32), alone.standard_normal(3, dtype=np.float32))


def test_keys_out_of_range_fall_back_to_numpy():
    for seed, key in [(-1, (1, "a", 0, 0)), (5, (1, "a", 2**32, 0)), (2**128, (1, "a", 0, 0))]:
        try:
            alone = stream(seed, *key)
        except ValueError:           # numpy refuses a negative seed: so must we
            with np.testing.assert_raises(ValueError):
                streams(seed, [key])
            continue
        assert np.array_equal(_state(streams(seed, [key])[0]), _state(alone))


def test_draw_chunk_uses_every_stream_in_order():
    """Each generator ``draw_chunk`` takes is the one its key names (as ``stream`` would give)."""
    plan = Plan.from_register(load_register(REGISTERS / "northgate-multisite" / "2026Q4.xlsx"))
    for aux in (False, True):
        keys = stream_keys(plan, 3, aux=aux)
        assert len(set(keys)) == len(keys)
        d = draw_chunk(plan, 11, 3, 0, 500, aux=aux)
        g = stream(11, *keys[0])
        assert np.array_equal(d.control_u[0], g.random(500))
        last = stream(11, *keys[-1])
        if aux:
            assert np.array_equal(d.year_deny, last.random(500, dtype=np.float32))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**127), keys=KEYS, used=st.integers(0, 5))
def test_reused_generators_draw_as_new_ones(seed, keys, used):
    """Generators given new states (``reuse``, as ``draw_chunk`` does with its per-thread pool)
    draw exactly what fresh ones do, whatever they drew before (a buffered half of a 64-bit word
    included: float32 draws use halves)."""
    pool = streams(seed ^ 1, keys[:used] or keys)
    for g in pool:
        g.random(3, dtype=np.float32)
    again = streams(seed, keys, reuse=pool)
    assert len(again) == len(keys) and len(pool) >= len(keys)
    for key, g in zip(keys, again):
        alone = stream(seed, *key)
        assert np.array_equal(g.random(3, dtype=np.float32), alone.random(3, dtype=np.float32))
        assert np.array_equal(g.standard_normal(3), alone.standard_normal(3))


def test_draw_chunk_draws_the_same_whatever_ran_before_on_its_thread():
    plan = Plan.from_register(load_register(REGISTERS / "northgate-multisite" / "2026Q4.xlsx"))
    first = draw_chunk(plan, 11, 0, 0, 300, aux=True)
    draw_chunk(plan, 12, 5, 0, 77, aux=False)
    again = draw_chunk(plan, 11, 0, 0, 300, aux=True)
    for a, b in zip(first.risks, again.risks):
        assert np.array_equal(a.trial, b.trial) and np.array_equal(a.amounts, b.amounts)
        assert np.array_equal(a.aux, b.aux)
    assert np.array_equal(first.control_u, again.control_u)


@settings(max_examples=30, deadline=None)
@given(parts=st.lists(st.tuples(st.integers(0, 2**127), KEYS), min_size=1, max_size=5))
def test_states_of_many_seeds_at_once_are_each_seeds_own(parts):
    """``many_states`` (a block of practices' streams seeded together) gives each seed's own
    states, those numpy's SeedSequence gives."""
    from riskmodel.simulation.streams import key_rows, many_states

    states = many_states([s for s, _ in parts], [key_rows(k) for _, k in parts])
    assert states is not None and len(states) == len(parts)
    for (seed, keys), got in zip(parts, states):
        for key, row in zip(keys, got):
            assert np.array_equal(row, _state(stream(seed, *key)))
