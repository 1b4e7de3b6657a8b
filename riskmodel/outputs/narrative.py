"""The plain-words paragraphs of a quarterly report, from its results (``results.json`` keys):
our own incidents (:func:`incidents_markdown`) and what the figures mean for the partners
(:func:`meaning`). :class:`riskmodel.outputs.reporting.QuarterlyReport` shows them."""
from __future__ import annotations

from ..io.formatting import md_escape, money, percent


def incidents_markdown(s: dict) -> str:
    """Our own incidents: the ICO 72-hour clock and what the log taught the frequencies (empty
    without an incident log)."""
    clock, update = s.get("ico_72h"), s.get("frequency_update")
    if not clock:
        return ""
    lines = ["## Our own incidents", ""]
    median = clock.get("median_hours_to_report")
    lines.append(
        f"- **ICO 72-hour clock** (personal data breaches must be reported to the ICO within 72 hours "
        f"of discovery): {clock['reportable']} reportable breach(es) logged; {clock['on_time']} reported "
        f"on time, **{clock['late']} late**, **{clock['open']} not reported and past 72 hours**"
        + (f"; {clock['undecided']} still undecided" if clock.get("undecided") else "")
        + (f". Median time to report: {median:,.0f} hours." if median is not None else "."))
    for inc in clock.get("incidents", []):
        if inc["status"] in ("late", "open"):
            hours = inc.get("hours") if inc["status"] == "late" else inc.get("hours_open")
            what = "reported late" if inc["status"] == "late" else "not yet reported"
            lines.append(f"  - {md_escape(str(inc['incident_id']))} ({md_escape(str(inc.get('risk_id') or ''))}): "
                         f"{what}, {hours:,.0f} hours after discovery")
    moved = [r for r in (update or []) if r["events_observed"] or r["weight_of_evidence"] >= 0.05]
    if moved:
        lines.append("- **What our log changed.** The register's yearly frequencies are our estimates; "
                     "the incidents we logged are evidence, and the model uses both:")
        for r in sorted(moved, key=lambda r: -r["weight_of_evidence"])[:8]:
            lines.append(f"  - {md_escape(r['risk_id'])}: {r['events_observed']} incident(s) in "
                         f"{r['exposure_years']:.1f} years; {r['prior_mean']:.2g} a year in the register, "
                         f"{r['posterior_mean']:.2g} now ({percent(r['weight_of_evidence'])} from our own log)")
    flagged = [r["risk_id"] for r in (update or []) if (r.get("cost_check") or {}).get("flag")]
    if flagged:
        lines.append(f"- **Costs outside the register's ranges** more often than a 90% range allows: "
                     f"{md_escape(', '.join(flagged))}. Review those ranges.")
    return "\n".join(lines)

def _plan(self, path: Path) -> None:
    """The standards the controls serve, what to do next and the budget plan (JSON
    ``standards``, ``actions``, ``budget_plan``; :mod:`riskmodel.inputs.standards`,
    :mod:`riskmodel.analysis.actions`), all on this report's simulated years."""
    from ..analysis.actions import build_actions, build_budget_plan
    from ..inputs.standards import load_standards, standards_status

    s, reg, pol = self.summary, self.register, self.policy
    if pol is not None and s.get("policy") is not None:
        s["policy"]["warranty_denial_probability"] = pol.warranty_denial_probability
    s["standards"] = standards_status(load_standards(path, set(reg.controls)), reg.control_status)
    contracts = self.result.contracts
    s["actions"] = build_actions(s, reg, pol, self.model, contracts)
    s["budget_plan"] = build_budget_plan(reg, pol, self.model, contracts)


def meaning(s: dict) -> str:
    """"What this means for us": three or four plain sentences for the partners (Markdown)."""
    from ..analysis.actions import insured, limit_enough
    from ..inputs.standards import STANDARDS

    r = s.get("retained", s["gross"])
    lines = ["## What this means for us", ""]
    text = [f"In an average year cyber incidents would cost us about {money(s['gross']['mean'])}, of which we "
            f"would pay about {money(r['mean'])} ourselves."]
    if "retained" in s and not insured(s):
        text.append(f"We have no cyber insurance, so in a very bad year (1 in 100) we would pay "
                    f"{money(r['p99'])} or more ourselves, and the partners' liability is unlimited.")
    elif "retained" in s:
        enough = limit_enough(s)
        text.append(f"In a very bad year (1 in 100) we would pay {money(r['p99'])} or more ourselves; our policy's "
                    f"limit {'would' if enough else 'would not'} be enough for such a year.")
    acts = s.get("actions") or []
    compliance = [a for a in acts if a["kind"] == "compliance"]
    priced = [a for a in acts if a["kind"] != "compliance" and a.get("retained_saving")]
    if compliance:
        text.append("First, a legal duty: " + md_escape(compliance[0]["what"][0].lower() + compliance[0]["what"][1:]))
    if priced:
        best = priced[0]        # the actions are ranked best first
        what = md_escape(best["what"][0].lower() + best["what"][1:])
        cost = best.get("annual_cost")
        if cost and best["retained_saving"] < cost:
            text.append(f"No planned step pays for itself in what we pay ourselves; the best value is to "
                        f"{what.rstrip('.')}, which costs {money(cost)} a year and saves us about "
                        f"{money(best['retained_saving'])} (it also lowers losses others pay and helps meet the "
                        "standards below)")
        else:
            text.append(f"The best value next step saves us about {money(best['retained_saving'])} a year"
                        + (f" for {money(cost)}" if cost else "") + f": {what}")
    elif not compliance:
        text.append("No planned control or policy change would lower what we pay ourselves.")
    std = s.get("standards") or {}
    parts = [f"{sum(1 for q in std[k] if q['status'] == 'in_place')} of the {len(std[k])} "
             f"{'Cyber Essentials technical controls' if k == 'cyber_essentials' else 'National Data Guardian standards'}"
             for k in STANDARDS if std.get(k)]
    if parts:
        text.append("Our controls in place cover " + " and ".join(parts) + ".")
    return "\n".join(lines) + "\n" + " ".join(t if t.endswith(".") else t + "." for t in text[:4])


__all__ = ["incidents_markdown", "meaning"]
