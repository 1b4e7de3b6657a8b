"""Random streams of the portfolio simulation, and how shared events enter a practice's pricing.

Streams (all :func:`riskmodel.simulation.streams.stream`, SFC64 from a ``SeedSequence``):

* **A practice's own register** uses exactly the streams of ``riskmodel simulate`` with the seed
  :func:`practice_seed` ``(seed, practice name)``: so a book of one practice without shared events
  gives, year by year, what ``simulate(register, seed=practice_seed(seed, name))`` gives.
* **A shared event's own draws** (how many times it happens in each simulated year, when in the
  year, how long the outage lasts, the share of the supplier's practices it hits, whether the
  supplier's data is breached, whether the supplier's contract pays) come from
  ``stream(seed, SHARED, event name, chunk, EVENT_DRAWS)``: the same for every practice.
* **A practice's draws for a shared event** (whether this occurrence hits it, its breach cost)
  come from ``stream(practice_seed, SHARED, event name, chunk, PRACTICE_DRAWS)``.

Every stream is keyed by (practice, risk or shared event, chunk of years): the numbers never
depend on how practices are grouped into blocks, how chunks are grouped into tasks, the number
of workers or where they run.
"""
from __future__ import annotations

import hashlib

from ...inputs.components import BUSINESS_INTERRUPTION

#: Stream kind of the shared events (the engine uses 1-3 for risks, controls and years).
SHARED = 11
#: Purposes within a shared event's streams.
EVENT_DRAWS, PRACTICE_DRAWS = 0, 1

#: A shared event is an incident at an outside supplier: it falls on the contract owner
#: ``supplier`` (contracts.toml: indirect recovery through the ICB's contract, uncertain and
#: capped), as the example registers' own "clinical system supplier outage" row (R06) does.
SHARED_OWNER = "supplier"
#: Its register category (the policy's warranted controls apply to it when they list this
#: category, or list none).
SHARED_CATEGORY = "supplier_outage"
#: Outage hours are business interruption: hours times the practice's cost of an hour, against
#: the policy's waiting and indemnity periods like any downtime.
OUTAGE_COMPONENT = BUSINESS_INTERRUPTION
#: A supplier data breach adds each hit practice's notification and response cost.
BREACH_COMPONENT = "notification"


def practice_seed(seed: int, name: str) -> int:
    """The seed of a practice's own streams: the first 8 bytes of BLAKE2b over
    ``"<seed>/<practice name>"`` (UTF-8), as a big-endian unsigned integer.

    Examples
    --------
    >>> practice_seed(20261, "meadowbank-average") == practice_seed(20261, "meadowbank-average")
    True
    """
    digest = hashlib.blake2b(f"{int(seed)}/{name}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


__all__ = ["SHARED", "EVENT_DRAWS", "PRACTICE_DRAWS", "SHARED_OWNER", "SHARED_CATEGORY", "OUTAGE_COMPONENT",
           "BREACH_COMPONENT", "practice_seed"]
