"""riskmodel: a cyber risk register and insurance exposure model for UK GP practices.

Load a register, simulate annual losses by Monte Carlo, apply contract and insurance terms to
every simulated event, and report who pays: NHS/supplier contract, insurer or the practice.

The package is laid out by the stages data flows through, one way (``pyproject.toml``'s
import-linter contract enforces it): ``io`` (files) -> ``inputs`` (register, policy, contracts,
practice) -> ``simulation`` (annual losses) -> ``coverage`` (who pays) -> ``analysis`` (statistics
and decisions) -> ``outputs`` (reports, review, dashboard) -> ``cli``. This module re-exports the
public API; importing it changes no process setting.
"""
from .analysis.attribution import Step, attribute
from .analysis.comparison import compare
from .analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS, ScenarioModel, SimulationResult, simulate
from .analysis.metrics import exceedance_curve, summarize, tvar
from .coverage.allocation import Allocation, ContractSplit, EventTable, Terms, allocate
from .inputs.components import CATEGORIES, COMPONENTS, OWNERS
from .inputs.contracts import Contracts, OwnerCover, load_contracts
from .inputs.distributions import LogNormal
from .inputs.policy import Policy, Section, load_policy
from .inputs.practice import Practice, load_practice
from .inputs.register import ComponentRange, Frequency, Register, Risk, load_register
from .io.errors import InputError, Problem

__all__ = [
    "__version__", "Allocation", "EventTable", "Terms", "allocate", "CATEGORIES", "COMPONENTS",
    "OWNERS", "Contracts", "OwnerCover", "load_contracts", "LogNormal", "DEFAULT_SEED",
    "DEFAULT_TRIALS", "ScenarioModel", "SimulationResult", "simulate", "InputError", "Problem",
    "exceedance_curve", "summarize", "tvar", "Policy", "Section", "load_policy", "Practice",
    "load_practice", "ComponentRange", "Frequency", "Register", "Risk", "load_register",
    "ContractSplit", "Step", "attribute", "compare", "Dashboard", "QuarterlyReport",
]

#: loaded on first use: the dashboard and the report need widgets and pandas
_LAZY = {"Dashboard": "outputs.dashboard", "QuarterlyReport": "outputs.reporting"}


def __getattr__(name: str):
    """``__version__`` (from the package metadata) and the heavy classes, on first use."""
    if name == "__version__":
        from .io.shipped import package_version

        return package_version()
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'riskmodel' has no attribute {name!r}")
