"""riskmodel: a cyber risk register and insurance exposure model for UK GP practices.

Load a register, simulate annual losses by Monte Carlo, apply contract and insurance terms to
every simulated event, and report who pays: NHS/supplier contract, insurer or the practice.
"""
__version__ = "0.1.0"

from .allocation import Allocation, ContractSplit, EventTable, Terms, allocate  # noqa: E402
from .attribution import Step, attribute  # noqa: E402
from .comparison import compare  # noqa: E402
from .components import CATEGORIES, COMPONENTS, OWNERS  # noqa: E402
from .contracts import Contracts, OwnerCover, load_contracts  # noqa: E402
from .distributions import LogNormal  # noqa: E402
from .engine import (DEFAULT_SEED, DEFAULT_TRIALS, ScenarioModel, SimulationResult,  # noqa: E402
                     simulate)
from .errors import InputError, Problem  # noqa: E402
from .metrics import exceedance_curve, summarize, tvar  # noqa: E402
from .policy import Policy, Section, load_policy  # noqa: E402
from .practice import Practice, load_practice  # noqa: E402
from .register import ComponentRange, Frequency, Register, Risk, load_register  # noqa: E402

__all__ = [
    "__version__", "Allocation", "EventTable", "Terms", "allocate", "CATEGORIES", "COMPONENTS",
    "OWNERS", "Contracts", "OwnerCover", "load_contracts", "LogNormal", "DEFAULT_SEED",
    "DEFAULT_TRIALS", "ScenarioModel", "SimulationResult", "simulate", "InputError", "Problem",
    "exceedance_curve", "summarize", "tvar", "Policy", "Section", "load_policy", "Practice",
    "load_practice", "ComponentRange", "Frequency", "Register", "Risk", "load_register",
    "ContractSplit", "Step", "attribute", "compare", "Dashboard", "QuarterlyReport",
]

_LAZY = {"Dashboard": "dashboard", "QuarterlyReport": "reporting"}


def __getattr__(name: str):
    """The dashboard and the report (widgets, pandas) load on first use only."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'riskmodel' has no attribute {name!r}")
