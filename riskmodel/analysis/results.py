"""Results of a simulation: :class:`SimulationResult` and the typed figures its JSON is built from.

The simulate JSON (``riskmodel simulate --json``, and the first part of a report's
``results.json``) is made in one place: :class:`SimulationSummary` (made of :class:`Statistics`,
:class:`RiskFigures`, :class:`ComponentFigures`, :class:`GapRow`, :class:`PolicyFigures`, ...),
whose :meth:`~SimulationSummary.to_json` writes the keys in the order of its fields. Every key is
described in ``docs/results.schema.json`` (:mod:`riskmodel.analysis.schema` checks each output
against it). :class:`SimulationResult` and the helpers were moved here from
:mod:`riskmodel.analysis.engine`, which imports them back by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.shipped import package_version
from ..coverage.allocation import REASONS, Allocation
from ..coverage.invariants import check_summary
from ..inputs.components import COMPONENT_LABELS, COMPONENTS
from ..inputs.contracts import Contracts
from ..inputs.policy import Policy
from ..inputs.register import Register
from .figures import FLATTEN, OPTIONAL, Figures, plain  # noqa: F401  (Figures, plain: re-exported)
from .metrics import DEFAULT_THRESHOLDS, event_year_stats, exceedance_curve, prob_exceed, quantile_se, summarize


@dataclass
class SimulationResult:
    """Simulated annual losses of one register (and, with terms, who pays them).

    Attributes
    ----------
    gross : ndarray (trials,)
        Annual gross loss per simulated year.
    by_risk, by_component : ndarray (risks, d) and (components, d)
        Per-trial totals for the first ``d = min(trials, detail_trials)`` years.
    risk_mean, component_mean : ndarray
        Means over all trials.
    allocation : Allocation or None
        Contract / insurer / retained split, when a policy or contracts were given.
    """

    register: Register
    trials: int
    seed: int
    gross: np.ndarray
    by_risk: np.ndarray
    by_component: np.ndarray
    risk_mean: np.ndarray
    component_mean: np.ndarray
    allocation: Allocation | None = None
    policy: Policy | None = None
    contracts: Contracts | None = None
    control_status: dict[str, bool] = field(default_factory=dict)

    def payer(self, name: str) -> np.ndarray:
        """Per-trial annual totals for ``gross``, ``contract``, ``insurer`` or ``retained``."""
        if name == "gross":
            return self.gross
        if self.allocation is None:
            if name == "retained":
                return self.gross
            return np.zeros_like(self.gross)
        return self.allocation.per_trial[name]

    def summary(self, thresholds=DEFAULT_THRESHOLDS) -> dict:
        """Everything a report or another tool needs, as plain JSON-ready values: the JSON of
        :class:`SimulationSummary` (``docs/results.schema.json``, ``$defs/simulate``).

        Raises
        ------
        InvariantError
            If any split is impossible (see :mod:`riskmodel.coverage.invariants`): checked here, before
            any JSON, report or review is produced from it.
        ResultsSchemaError
            If the JSON does not match its schema (a key renamed in the code and not in the schema).
        """
        from .schema import validate_results

        out = SimulationSummary.of(self, thresholds).to_json()
        check_summary(out, f"results of {self.register.path}")   # (the allocation was checked where priced)
        validate_results(out, "simulate", where=f"results of {self.register.path}")
        return out


#: Who pays, after the gross loss (the keys ``<payer>_mean`` of a risk or component).
PAYERS = ("contract", "insurer", "retained")


@dataclass(frozen=True)
class Statistics(Figures):
    """Mean, spread, percentiles and worst-1% average of simulated annual losses of one payer
    (gross, contract, insurer or retained), each with its Monte Carlo standard error
    (:func:`riskmodel.analysis.metrics.summarize`)."""

    mean: float
    mean_se: float
    std: float
    p50: float
    p90: float
    p95: float
    p99: float
    p99_5: float
    tvar99: float
    p50_se: float
    p90_se: float
    p95_se: float
    p99_se: float
    p99_5_se: float
    tvar99_se: float

    @classmethod
    def of(cls, per_trial: np.ndarray) -> "Statistics":
        return cls(**summarize(per_trial))


@dataclass(frozen=True)
class ExceedancePoint(Figures):
    """The loss exceeded once in ``return_period`` years (chance ``prob_exceed`` a year)."""

    return_period: int
    prob_exceed: float
    loss: float

    @classmethod
    def curve(cls, per_trial: np.ndarray) -> tuple["ExceedancePoint", ...]:
        return tuple(cls(**p) for p in exceedance_curve(per_trial))


@dataclass(frozen=True)
class PracticeFigures(Figures):
    name: str
    ods_code: str
    list_size: int
    interruption_cost_per_hour: float
    illustrative: bool


@dataclass(frozen=True)
class RiskFigures(Figures):
    """One risk: who it is, :func:`risk_profile`'s figures, its share of the expected loss and,
    with terms, the expected annual amount each payer bears (None without terms: not written)."""

    risk_id: str
    title: str
    category: str
    system_owner: str
    mean: float
    prob_event: float
    cost_if_event_p50: float
    cost_if_event_p90: float
    p99: float
    p99_se: float
    share_of_mean: float
    contract_mean: float | None = field(default=None, metadata=OPTIONAL)
    insurer_mean: float | None = field(default=None, metadata=OPTIONAL)
    retained_mean: float | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class ComponentFigures(Figures):
    """One cost component: expected annual cost, its 1-in-100 year and, with terms, who bears it."""

    label: str
    mean: float
    p99: float
    contract_mean: float | None = field(default=None, metadata=OPTIONAL)
    insurer_mean: float | None = field(default=None, metadata=OPTIONAL)
    retained_mean: float | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class GapRow(Figures):
    """A row of :func:`gap_table`: a component's expected annual amounts by payer, and what the
    practice keeps by reason (only reasons with an amount)."""

    component: str
    label: str
    gross: float
    contract: float
    insurer: float
    retained: float
    reasons: dict[str, float]


@dataclass(frozen=True)
class SectionTerms(Figures):
    covered: bool
    sublimit: float | None
    excess: float | None


@dataclass(frozen=True)
class PolicyFigures(Figures):
    """The policy's terms as written to JSON (see :func:`policy_summary`). A report adds
    ``warranty_denial_probability``; the simulate JSON leaves it out."""

    name: str
    insurer: str
    premium: float
    insured: bool
    aggregate_limit: float | str
    excess: float
    limit_any_one_claim: float | None
    coinsurance: float
    waiting_period_hours: float
    waiting_period_mode: str
    indemnity_period_hours: float | None
    requires_controls: tuple[str, ...]
    sections: dict[str, SectionTerms]
    source: str | None
    warranty_denial_probability: float | None = field(default=None, metadata=OPTIONAL)

    @classmethod
    def of(cls, policy: Policy) -> "PolicyFigures":
        limit = ("unlimited" if policy.unlimited else policy.aggregate_limit) if policy.cover else 0.0
        return cls(name=policy.name, insurer=policy.insurer, premium=policy.premium, insured=policy.insured,
                   aggregate_limit=limit, excess=policy.excess, limit_any_one_claim=policy.limit_any_one_claim,
                   coinsurance=policy.coinsurance, waiting_period_hours=policy.waiting_period_hours,
                   waiting_period_mode=policy.waiting_period_mode,
                   indemnity_period_hours=policy.indemnity_period_hours,
                   requires_controls=tuple(policy.requires_controls),
                   sections={c: SectionTerms(s.covered, s.sublimit, s.excess) for c, s in policy.sections.items()},
                   source=policy.source)


@dataclass(frozen=True)
class ContractsFigures(Figures):
    name: str
    source: str | None


@dataclass(frozen=True)
class Coverage(Figures):
    """Who pays, when a policy or contracts were given: written in place (its keys at the top level)."""

    contract: Statistics
    insurer: Statistics
    retained: Statistics
    retained_prob_exceed: dict[str, float]
    retained_exceedance_curve: tuple[ExceedancePoint, ...]
    prob_aggregate_exhausted: float | None
    prob_sublimit_exhausted: dict[str, float]
    gap_table: tuple[GapRow, ...]
    limit_for_1_in_100: float | None
    policy: PolicyFigures | None
    contracts: ContractsFigures | None

    @classmethod
    def of(cls, result: "SimulationResult", thresholds) -> "Coverage":
        alloc, pol = result.allocation, result.policy
        insured = pol is not None and pol.insured
        retained = alloc.per_trial["retained"]
        return cls(
            contract=Statistics.of(alloc.per_trial["contract"]), insurer=Statistics.of(alloc.per_trial["insurer"]),
            retained=Statistics.of(retained),
            retained_prob_exceed={f"{t:.0f}": prob_exceed(retained, t) for t in thresholds},
            retained_exceedance_curve=ExceedancePoint.curve(retained),
            prob_aggregate_exhausted=float(alloc.aggregate_exhausted.mean()) if pol and pol.insured else None,
            prob_sublimit_exhausted={c: float(v.mean()) for c, v in alloc.sublimit_exhausted.items()},
            gap_table=tuple(GapRow(**row) for row in gap_table(alloc, result.trials)),
            limit_for_1_in_100=(float(np.quantile(alloc.per_trial["claims_before_aggregate"], 0.99))
                                if insured else None),
            policy=None if pol is None else PolicyFigures.of(pol),
            contracts=(ContractsFigures(result.contracts.name, result.contracts.source)
                       if result.contracts else None))


@dataclass(frozen=True, kw_only=True)
class SimulationSummary(Figures):
    """What ``riskmodel simulate --json`` writes (``docs/results.schema.json``, ``$defs/simulate``).

    ``frequency_update`` and ``ico_72h`` are the incident log's figures as
    :mod:`riskmodel.analysis.evidence` builds them (None without a log); ``coverage`` is None
    without terms (its keys are then not written)."""

    trials: int
    seed: int
    version: str
    register: str
    register_sha256: str
    practice: PracticeFigures
    controls: dict[str, str]
    gross: Statistics
    prob_exceed: dict[str, float]
    exceedance_curve: tuple[ExceedancePoint, ...]
    frequency_update: list | None
    ico_72h: dict | None
    by_risk: tuple[RiskFigures, ...]
    percentiles_by_risk_from_trials: int
    by_component: dict[str, ComponentFigures]
    coverage: Coverage | None = field(default=None, metadata=FLATTEN)

    @classmethod
    def of(cls, result: "SimulationResult", thresholds=DEFAULT_THRESHOLDS) -> "SimulationSummary":
        """The figures of a simulation; ``thresholds``: the losses whose chance a year is given."""
        reg, alloc, trials = result.register, result.allocation, result.trials
        d = result.by_risk.shape[1]
        p = reg.practice
        evidence = reg.evidence
        return cls(
            trials=trials, seed=result.seed, version=package_version(), register=reg.path,
            register_sha256=reg.sha256,
            practice=PracticeFigures(p.name, p.ods_code, p.list_size, p.interruption_cost_per_hour, p.illustrative),
            controls={c: ("in place" if s else "planned") for c, s in sorted(result.control_status.items())},
            gross=Statistics.of(result.gross),
            prob_exceed={f"{t:.0f}": prob_exceed(result.gross, t) for t in thresholds},
            exceedance_curve=ExceedancePoint.curve(result.gross),
            frequency_update=None if evidence is None else evidence.frequency_update,
            ico_72h=None if evidence is None else evidence.ico_72h,
            by_risk=_risk_figures(result, d), percentiles_by_risk_from_trials=d,
            by_component={c: ComponentFigures(
                COMPONENT_LABELS[c], float(result.component_mean[k]),
                float(np.quantile(result.by_component[k], 0.99)) if d else 0.0,
                **({} if alloc is None else {f"{q}_mean": float(alloc.by_component[q][k] / trials) for q in PAYERS}))
                for k, c in enumerate(COMPONENTS)},
            coverage=None if alloc is None else Coverage.of(result, thresholds))


def _risk_figures(result: "SimulationResult", d: int) -> tuple[RiskFigures, ...]:
    """Every risk's figures, largest expected annual loss first (ties in register order)."""
    alloc, trials = result.allocation, result.trials
    rows = []
    for i, r in enumerate(result.register.risks):
        mean = result.gross.mean()
        rows.append(RiskFigures(
            risk_id=r.risk_id, title=r.title, category=r.category, system_owner=r.system_owner,
            **risk_profile(result.risk_mean[i], result.by_risk[i] if d else None),
            share_of_mean=float(result.risk_mean[i] / mean) if mean > 0 else 0.0,
            **({} if alloc is None else {f"{q}_mean": float(alloc.by_risk[q][i] / trials) for q in PAYERS})))
    return tuple(sorted(rows, key=lambda row: -row.mean))


def risk_profile(mean: float, per_trial: np.ndarray | None) -> dict:
    """One risk's figures: the expected annual loss over all trials (``mean``) and, from its
    per-trial annual losses, the chance of a year with a loss from it (``prob_event``), the cost
    of such a year (``cost_if_event_p50``, ``cost_if_event_p90``) and the 1-in-100 year (``p99``
    with ``p99_se``). A risk rarer than 1 in 100 years has ``p99`` 0: the cost-if-event figures
    are the ones to show for it."""
    out = {"mean": float(mean)}
    if per_trial is None or per_trial.size == 0:
        return {**out, "prob_event": 0.0, "cost_if_event_p50": 0.0, "cost_if_event_p90": 0.0,
                "p99": 0.0, "p99_se": 0.0}
    out.update(event_year_stats(per_trial))
    out["p99"] = float(np.quantile(per_trial, 0.99))
    out["p99_se"] = quantile_se(per_trial, 0.99)
    return out


def policy_summary(policy: Policy | None) -> dict | None:
    """The policy's terms as JSON-ready values (``json.dumps(..., allow_nan=False)`` works).

    ``insured`` is :attr:`Policy.insured` (whether the policy can pay anything).
    ``aggregate_limit`` is a number, or the string ``"unlimited"`` for an unlimited limit (never
    ``Infinity``); it is 0 when cover is switched off (``insured = false``), so that code reading
    ``aggregate_limit > 0`` as "insured" stays right. ``None`` for no policy at all.
    """
    return None if policy is None else PolicyFigures.of(policy).to_json()


def gap_table(alloc: Allocation, trials: int) -> list[dict]:
    """Rows per component: mean gross, contract, insurer, retained, and retained by reason."""
    rows = []
    for k, c in enumerate(COMPONENTS):
        row = {"component": c, "label": COMPONENT_LABELS[c]}
        for p in ("gross", "contract", "insurer", "retained"):
            row[p] = float(alloc.by_component[p][k] / trials)
        row["reasons"] = ({} if alloc.reasons is None else
                          {r: float(alloc.reasons[r][k] / trials) for r in REASONS if alloc.reasons[r][k] > 0})
        rows.append(row)
    return rows


__all__ = ["SimulationResult", "SimulationSummary", "Statistics", "ExceedancePoint", "PracticeFigures", "RiskFigures",
           "ComponentFigures", "GapRow", "SectionTerms", "PolicyFigures", "ContractsFigures", "Coverage", "Figures",
           "plain", "risk_profile", "policy_summary", "gap_table"]
