"""Which random streams a register's draws use (:func:`stream_keys`), laid out once per plan,
and their states for many practices at once (:func:`stream_states`)."""
from __future__ import annotations

import numpy as np

from .plan import Plan
from .streams import AUX, COMPONENT_BASE, CONTROL, EVENTS, RISK, WARRANTY, YEAR, key_rows, many_states

#: Purpose of a risk's stream of uniforms for its yearly rate drawn from a gamma posterior (a
#: point ``events_per_year`` updated by the incident log): a new stream, so every other draw of
#: the register keeps its numbers.
POSTERIOR = 2


def stream_keys(plan: Plan, chunk: int, *, aux: bool) -> list[tuple]:
    """The keys of every stream :func:`~riskmodel.simulation.draws.draw_chunk` uses, in the order
    it uses them."""
    keys = [(CONTROL, name, chunk, 0) for name in plan.controls]
    for p in plan.risks:
        keys.append((RISK, p.risk_id, chunk, EVENTS))
        if p.posterior is not None and p.rate_sigma is None:
            keys.append((RISK, p.risk_id, chunk, POSTERIOR))
        keys.extend((RISK, p.risk_id, chunk, COMPONENT_BASE + k) for k, *_ in p.comps)
        if aux:
            keys.append((RISK, p.risk_id, chunk, AUX))
    if aux:
        keys.append((YEAR, WARRANTY, chunk, 0))
    return keys


def _stream_layout(plan: Plan, aux: bool, chunk: int) -> tuple[list[tuple], np.ndarray]:
    """The keys of :func:`stream_keys` without their chunk, and their rows for
    :func:`~riskmodel.simulation.streams.streams` (a copy, with ``chunk``), laid out once and kept
    on the plan: they depend only on its risks' and controls' names and components."""
    cache = plan.__dict__.setdefault("_stream_layouts", {})
    if aux not in cache:
        keys = stream_keys(plan, 0, aux=aux)
        cache[aux] = ([(kind, name, purpose) for kind, name, _, purpose in keys], key_rows(keys))
    keys, rows = cache[aux]
    rows = rows.copy()
    rows[:, 2] = chunk
    return keys, rows


def stream_states(plans: list[Plan], seeds: list[int], chunk: int, aux: list[bool]) -> list | None:
    """The states of the streams :func:`~riskmodel.simulation.draws.draw_chunk` uses, for several
    (plan, seed, aux) at once (a block of practices), or None
    (:func:`~riskmodel.simulation.streams.many_states`)."""
    return many_states(seeds, [_stream_layout(plan, a, chunk)[1] for plan, a in zip(plans, aux)])


__all__ = ["POSTERIOR", "stream_keys", "stream_states"]
