"""A quarterly report's ``results.json``, typed and built in one place.

:class:`ReportResults` extends the simulate figures (:class:`~riskmodel.analysis.results.SimulationSummary`)
with the report's own: ``quarter``, ``controls_ranking``, ``standards``, ``actions``,
``budget_plan`` and, against a previous quarter, ``previous_quarter``, ``attribution`` and
``attribution_note``. Its ``to_json()`` is the results.json (``docs/results.schema.json``,
``$defs/report``); :func:`build_report_results` computes every figure on the report's simulated
years. :class:`riskmodel.outputs.reporting.QuarterlyReport` presents them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..analysis.engine import ScenarioModel, SimulationResult
from ..analysis.figures import FLATTEN, Figures
from ..analysis.results import SimulationSummary
from ..inputs.policy import Policy, load_policy
from ..inputs.register import Register, load_register, register_hash
from ..io.locations import find_quarter_register


@dataclass(frozen=True)
class ControlSaving(Figures):
    """One control of the register: what having it in place saves (same simulated years)."""

    control: str
    label: str
    status: str
    annual_cost: float
    reduction_in_expected_loss: float
    reduction_in_retained_loss: float
    saving_per_pound: float | None


@dataclass(frozen=True)
class Requirement(Figures):
    """One requirement of a standard and whether the register's controls serve it."""

    id: str
    name: str
    status: str
    controls: tuple[str, ...]


@dataclass(frozen=True)
class Action(Figures):
    """One "what to do next" (:func:`riskmodel.analysis.actions.build_actions`)."""

    kind: str
    control: str | None
    what: str
    annual_cost: float | None
    retained_saving: float | None
    saving_per_pound: float | None

    def to_json(self) -> dict:
        out = super().to_json()
        if self.kind == "compliance":     # its keys have always been written with "what" last
            out["what"] = out.pop("what")
        return out


@dataclass(frozen=True)
class BudgetStep(Figures):
    """The best set of planned controls within one yearly budget."""

    budget: float
    controls: tuple[str, ...]
    annual_cost: float
    retained_saving: float


@dataclass(frozen=True)
class AttributionStep(Figures):
    """One step of the quarter-on-quarter waterfall (:class:`riskmodel.analysis.attribution.Step`)."""

    kind: str
    label: str
    gross_mean: float
    retained_mean: float
    delta_gross: float
    delta_retained: float


@dataclass(frozen=True)
class QuarterChange(Figures):
    """Against the previous quarter (written in place: its keys at the top level)."""

    previous_quarter: str | None
    attribution: tuple[AttributionStep, ...]
    attribution_note: str


@dataclass(frozen=True, kw_only=True)
class ReportResults(SimulationSummary):
    """A quarterly report's results: the simulate figures and the report's own."""

    quarter: str
    controls_ranking: tuple[ControlSaving, ...]
    standards: dict[str, tuple[Requirement, ...]]
    actions: tuple[Action, ...]
    budget_plan: tuple[BudgetStep, ...]
    change: QuarterChange | None = field(default=None, metadata=FLATTEN)


def previous_inputs(results: dict, practice_dir: Path) -> tuple[Path | None, Path | None, str]:
    """The previous quarter's register and policy files, checked against its results.json.

    Returns (register, policy, note); the register is None (with the reason in ``note``) when
    it cannot be found unchanged.
    """
    quarter = results.get("quarter")
    candidates = [Path(results.get("register", ""))]
    if quarter:
        found = find_quarter_register(practice_dir, quarter)
        if found is not None:
            candidates.append(found)
    reg = None
    for c in candidates:
        if c.is_file() and register_hash(c) == results.get("register_sha256"):
            reg = c
            break
    if reg is None:
        return None, None, (f"the previous quarter's register ({results.get('register')}) was not found unchanged, "
                            "so the change is shown in total only")
    src = (results.get("policy") or {}).get("source")
    pol = Path(src) if src and Path(src).is_file() else None
    note = "" if pol is not None or not src else "the previous policy file was not found: the current policy is used for both quarters"
    return reg, pol, note


def controls_ranking(result: SimulationResult, model: ScenarioModel, register: Register, policy: Policy | None):
    """Each control named in the register: the reduction in expected retained loss from having it
    in place (same simulated years), per pound of its annual cost, best first (a DataFrame)."""
    import pandas as pd

    base = result.allocation.per_trial["retained"].mean()
    gross = result.gross.mean()
    rows = []
    for name, in_place in sorted(register.control_status.items()):
        other = model.result(policy, result.contracts, {name: not in_place})
        o_ret = other.allocation.per_trial["retained"].mean()
        with_ret, without_ret = (base, o_ret) if in_place else (o_ret, base)
        with_g, without_g = (gross, other.gross.mean()) if in_place else (other.gross.mean(), gross)
        ctrl = register.controls[name]
        saving = without_ret - with_ret
        rows.append({"control": name, "label": ctrl.label, "status": "in place" if in_place else "planned",
                     "annual_cost": ctrl.annual_cost, "reduction_in_expected_loss": without_g - with_g,
                     "reduction_in_retained_loss": saving,
                     "saving_per_pound": saving / ctrl.annual_cost if ctrl.annual_cost > 0 else None})
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values("saving_per_pound", ascending=False, na_position="last").reset_index(drop=True)
    return df


def quarter_change(previous: dict, path: Path, register: Register, policy: Policy | None, contracts,
                   trials: int, seed: int) -> QuarterChange:
    """The quarter-on-quarter waterfall against ``previous`` (see :mod:`riskmodel.analysis.attribution`)."""
    from ..analysis.attribution import attribute
    from ..analysis.evidence import with_incident_log

    prev_reg, prev_pol, note = previous_inputs(previous, path.parent)
    steps: tuple[AttributionStep, ...] = ()
    if prev_reg is not None:
        before = with_incident_log(load_register(prev_reg))[0]
        before_policy = load_policy(prev_pol, set(before.controls)) if prev_pol else policy
        steps = tuple(AttributionStep(**s.to_dict()) for s in
                      attribute(before, register, before_policy, policy, contracts, trials=trials, seed=seed))
        if (previous.get("trials"), previous.get("seed")) != (trials, seed):
            note = (f"the previous quarter was reported with {previous.get('trials'):,} trials and seed "
                    f"{previous.get('seed')}; both quarters are re-simulated here with {trials:,} and {seed}")
    return QuarterChange(previous.get("quarter"), steps, note)


def build_report_results(path: Path, quarter: str, register: Register, policy: Policy | None,
                         model: ScenarioModel, result: SimulationResult, previous: dict | None = None
                         ) -> ReportResults:
    """Every figure of a quarterly report, on the report's simulated years.

    ``path`` is the register file (the practice's standards.csv is looked up beside it);
    ``previous`` the previous quarter's results.json (already read and checked), if any.
    """
    from ..analysis.actions import build_actions, build_budget_plan
    from ..inputs.standards import load_standards, standards_status

    base = SimulationSummary.of(result)
    cov = base.coverage
    if policy is not None and cov.policy is not None:
        cov = replace(cov, policy=replace(cov.policy, warranty_denial_probability=policy.warranty_denial_probability))
    base = replace(base, coverage=cov)
    ranking = controls_ranking(result, model, register, policy).to_dict(orient="records")
    standards = standards_status(load_standards(path, set(register.controls)), register.control_status)
    # the actions read the results so far, as the review reads a results.json
    so_far = {**base.to_json(), "quarter": quarter, "controls_ranking": ranking, "standards": standards}
    contracts = result.contracts
    actions = build_actions(so_far, register, policy, model, contracts)
    budget = build_budget_plan(register, policy, model, contracts)
    change = (None if previous is None else
              quarter_change(previous, path, register, policy, contracts, result.trials, result.seed))
    return ReportResults(
        **{f.name: getattr(base, f.name) for f in fields(SimulationSummary)},
        quarter=quarter, controls_ranking=tuple(ControlSaving(**r) for r in ranking),
        standards={k: tuple(Requirement(q["id"], q["name"], q["status"], tuple(q["controls"])) for q in reqs)
                   for k, reqs in standards.items()},
        actions=tuple(Action(**a) for a in actions), budget_plan=tuple(BudgetStep(**b) for b in budget),
        change=change)


__all__ = ["ReportResults", "ControlSaving", "Requirement", "Action", "BudgetStep", "AttributionStep",
           "QuarterChange", "build_report_results", "controls_ranking", "previous_inputs", "quarter_change"]
