"""A book of practices and the supplier events they share: the inputs of ``riskmodel portfolio``.

An advisor, a broker or an ICB asks what happens to all its practices in the same bad year. Most
English practices run one of two clinical systems, so one supplier's outage hits thousands at
once (docs/portfolio.md). The inputs are:

- the practices: each practice folder's register for a quarter, with its policy and contracts
  (:func:`load_portfolio`), or a synthetic national book (:mod:`riskmodel.inputs.synthetic`);
- the shared supplier events (``portfolio.toml``, :func:`load_shared_events`): a supplier, the
  service it provides, how often, how long and how widely it fails. An event hits the practices
  whose ``[suppliers]`` table in ``practice.toml`` names that supplier for that service.

This module only reads and describes; the simulation is elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..io.errors import InputError
from .practice import supplier_key
from .shared_events import SERVICES, SharedEvent, load_shared_events

if TYPE_CHECKING:  # pragma: no cover
    from .contracts import Contracts
    from .policy import Policy
    from .register import Register


#: The shared events' file in a registers folder.
PORTFOLIO_FILE = "portfolio.toml"


@dataclass(frozen=True)
class PortfolioPractice:
    """One practice of a book: its register for the quarter (with its profile, so
    ``register.practice.suppliers``), its policy and its contract cover."""

    name: str
    register: "Register"
    policy: "Policy | None"
    contracts: "Contracts | None"
    icb: str = ""
    list_size: int = 0

    def supplier(self, service: str) -> str | None:
        """Who provides ``service`` to this practice (``None``: its profile does not say)."""
        return self.register.practice.supplier(service)

    @property
    def insured(self) -> bool:
        return self.policy is not None and self.policy.insured


@dataclass(frozen=True)
class Portfolio:
    """A book of practices and the supplier events they share.

    Raises
    ------
    ValueError
        Two practices or two events with the same name (events compared ignoring case).
    """

    practices: tuple[PortfolioPractice, ...]
    events: tuple[SharedEvent, ...]
    source: str
    #: (service, supplier key) -> indices of the practices with that supplier, built once
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "practices", tuple(self.practices))
        object.__setattr__(self, "events", tuple(self.events))
        _unique([p.name for p in self.practices], "practice")
        _unique([e.name.strip().casefold() for e in self.events], "shared event")
        index: dict[tuple[str, str], list[int]] = {}
        for i, p in enumerate(self.practices):
            for service, name in p.register.practice.suppliers:
                index.setdefault((service, supplier_key(name)), []).append(i)
        self._index.update({k: tuple(v) for k, v in index.items()})

    def practices_of(self, event: SharedEvent) -> tuple[int, ...]:
        """Indices (into ``practices``) of the practices whose supplier of ``event.service`` is
        ``event.supplier``, in book order."""
        return self._index.get((event.service, supplier_key(event.supplier)), ())

    def __len__(self) -> int:
        return len(self.practices)


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    dup = sorted({n for n in names if n in seen or seen.add(n)})
    if dup:
        raise ValueError(f"each {what} needs a unique name; repeated: {', '.join(dup[:5])}")


# ---- a registers folder as a book -------------------------------------------------------------
def load_practice_inputs(practice_dir: str | Path, quarter: str, prepare=None) -> PortfolioPractice:
    """One practice folder as the quarterly report reads it: the quarter's register (passed to
    ``prepare(register) -> (register, warnings)`` if given: the caller's
    ``riskmodel.analysis.evidence.with_incident_log`` attaches the incident log beside it, a later
    stage this one may not import), the quarter's policy (``<quarter>.policy.toml``, else
    ``policy.toml``; ``None`` without either) and the contract cover (``contracts.toml`` beside
    it over the shipped default).

    Raises
    ------
    InputError
        Problems in any of the practice's files; ``FileNotFoundError`` without a register for
        the quarter.
    """
    from .contracts import load_contracts
    from ..io.locations import beside, find_policy, find_quarter_register
    from .policy import load_policy
    from .register import load_register

    d = Path(practice_dir)
    path = find_quarter_register(d, quarter)
    if path is None:
        raise FileNotFoundError(f"no register for {quarter} in its folder (expected {quarter}.xlsx or "
                                f"{quarter}.csv)")
    reg = load_register(path)
    if prepare is not None:     # e.g. riskmodel.analysis.evidence.with_incident_log (a later stage)
        reg, _ = prepare(reg)
    pol_path = find_policy(path, quarter)
    pol = load_policy(pol_path, set(reg.controls)) if pol_path else None
    con = load_contracts(beside(path, "contracts.toml"))
    return PortfolioPractice(d.name, reg, pol, con, reg.practice.icb, int(reg.practice.list_size))


def load_portfolio(registers_dir: str | Path, quarter: str, prepare=None) -> tuple[Portfolio, list[tuple[str, str]]]:
    """Every practice folder of ``registers_dir`` for ``quarter``, and the shared events of its
    ``portfolio.toml`` (none without one).

    Practice folders are the sub-folders not starting with ``.`` or ``_`` (as ``riskmodel
    report`` reads them), each read by :func:`load_practice_inputs`. One bad practice never
    stops the book: a folder that fails to load (no register for the quarter, an invalid file)
    is left out and returned in the failures with its reason.

    Returns
    -------
    (Portfolio, list of (practice, error message))

    Raises
    ------
    FileNotFoundError
        ``registers_dir`` is not a folder.
    InputError
        Problems in ``portfolio.toml`` (it is the book's own file, not one practice's).
    """
    root = Path(registers_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder of practice folders at {root}")
    events = load_shared_events(root / PORTFOLIO_FILE) if (root / PORTFOLIO_FILE).is_file() else ()
    practices, failures = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        try:
            practices.append(load_practice_inputs(d, quarter, prepare))
        except InputError as exc:
            failures.append((d.name, str(exc)))
        except Exception as exc:  # one practice failing must not stop the book
            failures.append((d.name, _reason(exc)))
    return Portfolio(tuple(practices), events, str(root)), failures


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    text = str(exc).strip()
    return text.splitlines()[-1][:500] if text else exc.__class__.__name__


# ---- describing a book --------------------------------------------------------------------------
def portfolio_facts(portfolio: Portfolio) -> dict:
    """What a book holds, as plain JSON-ready values (for the command's output and the report).

    Keys: ``source``, ``practices``, ``patients`` (sum of list sizes), ``list_size`` (min, median,
    mean, max), ``icbs`` (how many), ``by_icb`` (practices per ICB), ``insured`` and
    ``uninsured`` counts, ``policies`` (practices per policy name; ``"no policy"`` without one),
    ``illustrative`` (practices whose profile says so), ``suppliers`` (per service, practices per
    supplier, largest first, with ``"not stated"`` for practices whose profile does not say) and
    ``events`` (per shared event, its figures and the practices and patients it can hit).
    """
    import statistics

    ps = portfolio.practices
    sizes = [int(p.list_size) for p in ps]
    by_icb: dict[str, int] = {}
    policies: dict[str, int] = {}
    for p in ps:
        by_icb[p.icb or "not stated"] = by_icb.get(p.icb or "not stated", 0) + 1
        name = "no policy" if p.policy is None else (p.policy.name if p.policy.insured else
                                                      f"{p.policy.name} (no cover)")
        policies[name] = policies.get(name, 0) + 1
    suppliers: dict[str, dict[str, int]] = {}
    for service in SERVICES:
        counts: dict[str, int] = {}
        shown: dict[str, str] = {}
        for p in ps:
            name = p.supplier(service)
            key = "not stated" if name is None else supplier_key(name)
            shown.setdefault(key, "not stated" if name is None else name)
            counts[key] = counts.get(key, 0) + 1
        suppliers[service] = {shown[k]: v for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
    events = []
    for e in portfolio.events:
        hit = portfolio.practices_of(e)
        events.append({"name": e.name, "supplier": e.supplier, "service": e.service, "frequency": e.frequency,
                       "hours_low": e.hours_low, "hours_high": e.hours_high, "share_low": e.share_low,
                       "share_high": e.share_high, "breach_probability": e.breach_probability,
                       "breach_cost_low": e.breach_cost_low, "breach_cost_high": e.breach_cost_high,
                       "practices": len(hit), "patients": sum(sizes[i] for i in hit),
                       "description": e.description, "source": e.source})
    insured = sum(1 for p in ps if p.insured)
    return {
        "source": portfolio.source,
        "practices": len(ps),
        "patients": sum(sizes),
        "list_size": ({"min": min(sizes), "median": float(statistics.median(sizes)),
                       "mean": sum(sizes) / len(sizes), "max": max(sizes)} if sizes else {}),
        "icbs": len([k for k in by_icb if k != "not stated"]),
        "by_icb": dict(sorted(by_icb.items())),
        "insured": insured,
        "uninsured": len(ps) - insured,
        "policies": dict(sorted(policies.items(), key=lambda kv: (-kv[1], kv[0]))),
        "illustrative": sum(1 for p in ps if p.register.practice.illustrative),
        "suppliers": suppliers,
        "events": events,
    }


__all__ = ["PORTFOLIO_FILE", "PortfolioPractice", "Portfolio", "load_practice_inputs", "load_portfolio",
           "portfolio_facts"]
