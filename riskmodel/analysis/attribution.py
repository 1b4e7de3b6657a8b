"""Quarter on quarter: what changed in the register and the policy, and what each change did.

The change from the previous quarter's expected annual loss (and the practice's retained share)
to this quarter's is split into steps, one change at a time, in this order: risks removed, risks
added, risks whose definition changed (ranges, frequency, controls named, owner...), the practice
profile, each control put in place or dropped, then the policy. Every step is simulated with the
same seed and trials; the engine's random streams are keyed by risk and control names, so an
unchanged risk draws the same events in every step (common random numbers) and each step's
difference is the effect of that change, not noise. As with any sequential attribution the split
depends on the order; the total does not.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..inputs.contracts import Contracts
from .engine import simulate
from ..io.formatting import money
from ..inputs.policy import Policy
from ..inputs.register import Register, Risk

#: Fields of a risk that the simulation uses (title, notes, row numbers are not compared).
SIMULATED_FIELDS = ("category", "system_owner", "frequency", "components", "controls", "common_shock",
                    "shock_multiplier", "shock_targets", "tags")


@dataclass(frozen=True)
class Step:
    """One change and its effect (pounds a year, expected) on gross and on retained loss."""

    kind: str            # start, risk removed, risk added, risk changed, practice, control, policy, end
    label: str
    gross_mean: float
    retained_mean: float
    delta_gross: float = 0.0
    delta_retained: float = 0.0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "gross_mean": self.gross_mean,
                "retained_mean": self.retained_mean, "delta_gross": self.delta_gross,
                "delta_retained": self.delta_retained}


def simulated_part(risk: Risk) -> tuple:
    return tuple(getattr(risk, f) for f in SIMULATED_FIELDS)


def _compose(base: Register, risks: list[Risk], status: dict[str, bool], practice, library) -> Register:
    """A register of ``risks`` with the controls they name (status from ``status``, else planned)."""
    ids = {r.risk_id for r in risks}
    fixed = tuple(replace(r, shock_targets=tuple(t for t in r.shock_targets if t in ids)) for r in risks)
    named = {c for r in fixed for c in r.controls}
    return replace(base, path=f"{base.path} (attribution step)", practice=practice, risks=fixed,
                   controls={c: library[c] for c in named},
                   control_status={c: status.get(c, False) for c in sorted(named)}, sha256="")


def attribute(previous: Register, current: Register, previous_policy: Policy | None,
              current_policy: Policy | None, contracts: Contracts, *, trials: int, seed: int) -> list[Step]:
    """The waterfall from ``previous`` to ``current``: a start, one step per change, an end.

    The start and end are simulated on the two registers themselves, so they equal the two
    quarters' reported means when the same seed and trials were used.
    """
    def run(reg: Register, pol: Policy | None) -> tuple[float, float]:
        res = simulate(reg, trials, seed, policy=pol, contracts=contracts, show_progress=False)
        return float(res.gross.mean()), float(res.payer("retained").mean())

    library = {**previous.controls, **current.controls}
    prev_by_id = {r.risk_id: r for r in previous.risks}
    cur_by_id = {r.risk_id: r for r in current.risks}
    steps: list[Step] = []
    g, r = run(previous, previous_policy)
    steps.append(Step("start", "Previous quarter", g, r))

    def step(kind: str, label: str, reg: Register, pol: Policy | None) -> None:
        g1, r1 = run(reg, pol)
        last = steps[-1]
        steps.append(Step(kind, label, g1, r1, g1 - last.gross_mean, r1 - last.retained_mean))

    risks = list(previous.risks)
    status = dict(previous.control_status)
    practice = previous.practice
    for rid in [x for x in prev_by_id if x not in cur_by_id]:
        risks = [x for x in risks if x.risk_id != rid]
        step("risk removed", f"Risk removed: {rid} {prev_by_id[rid].title}",
             _compose(previous, risks, status, practice, library), previous_policy)
    order = {x.risk_id: i for i, x in enumerate(current.risks)}
    for rid in [x for x in cur_by_id if x not in prev_by_id]:
        risks = sorted(risks + [cur_by_id[rid]], key=lambda x: order[x.risk_id])
        step("risk added", f"Risk added: {rid} {cur_by_id[rid].title}",
             _compose(previous, risks, status, practice, library), previous_policy)
    for rid in [x for x in cur_by_id if x in prev_by_id]:
        if simulated_part(prev_by_id[rid]) != simulated_part(cur_by_id[rid]):
            risks = [cur_by_id[rid] if x.risk_id == rid else x for x in risks]
            step("risk changed", f"Risk changed: {rid} {cur_by_id[rid].title} ({describe(prev_by_id[rid], cur_by_id[rid])})",
                 _compose(previous, risks, status, practice, library), previous_policy)
    risks = sorted(risks, key=lambda x: order[x.risk_id])
    if previous.practice.interruption_cost_per_hour != current.practice.interruption_cost_per_hour:
        practice = current.practice
        step("practice", "Practice profile: interruption cost per hour "
             f"£{previous.practice.interruption_cost_per_hour:,.0f} -> £{current.practice.interruption_cost_per_hour:,.0f}",
             _compose(previous, risks, status, practice, library), previous_policy)
    practice = current.practice
    for c in sorted(current.control_status):
        was = status.get(c, False)
        now = current.control_status[c]
        if was != now:
            status[c] = now
            label = library[c].label if c in library else c
            step("control", f"Control {'put in place' if now else 'no longer in place'}: {label}",
                 _compose(previous, risks, status, practice, library), previous_policy)
    if previous.evidence is not None or current.evidence is not None:
        # what the practice's incident log says, read at each quarter's end
        step("incidents", "Frequencies updated from the practice's incident log",
             replace(_compose(previous, risks, status, practice, library), evidence=current.evidence),
             previous_policy)
    if _policy_key(previous_policy) != _policy_key(current_policy):
        step("policy", f"Policy changed: {_policy_name(previous_policy)} -> {_policy_name(current_policy)}",
             current, current_policy)
    g, r = run(current, current_policy)
    last = steps[-1]
    if abs(g - last.gross_mean) > 1e-6 * max(1.0, abs(g)) or abs(r - last.retained_mean) > 1e-6 * max(1.0, abs(r)):
        # anything not listed above (e.g. the order of risks in the file) is shown, not hidden
        steps.append(Step("other", "Other differences", g, r, g - last.gross_mean, r - last.retained_mean))
    steps.append(Step("end", "This quarter", g, r, g - steps[0].gross_mean, r - steps[0].retained_mean))
    return steps


def describe(before: Risk, after: Risk) -> str:
    """Which simulated fields of a risk changed, in words."""
    names = {"frequency": "frequency", "components": "cost ranges", "controls": "controls named",
             "system_owner": "system owner", "category": "category", "common_shock": "common shock",
             "shock_multiplier": "shock multiplier", "shock_targets": "shock targets", "tags": "tags"}
    return ", ".join(names[f] for f in SIMULATED_FIELDS if getattr(before, f) != getattr(after, f))


def _policy_key(p: Policy | None):
    return None if p is None else replace(p, source="")


def _policy_name(p: Policy | None) -> str:
    if p is None or not p.insured:
        return "no policy"
    return f"{p.name} (limit {money(p.aggregate_limit)}, excess {money(p.excess)})"
