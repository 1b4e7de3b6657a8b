"""The portfolio simulation: a book of practices and the supplier events they share, simulated on
common years (docs/portfolio-engine.md).

* :mod:`.keys` -- random streams and how shared events enter a practice's pricing;
* :mod:`.compile` -- each practice compiled once (plans and terms shared between alike practices);
* :mod:`.shared` -- the shared events' draws and their losses at one practice;
* :mod:`.blocks` -- one task: a block of practices over a group of chunks of years;
* :mod:`.execution` -- Dask, locally or on a cluster;
* :mod:`.run` -- :func:`simulate_portfolio`;
* :mod:`.summary` -- the JSON of ``riskmodel portfolio``.
"""
from .keys import practice_seed
from .run import PortfolioRun, simulate_portfolio

__all__ = ["practice_seed", "PortfolioRun", "simulate_portfolio"]
