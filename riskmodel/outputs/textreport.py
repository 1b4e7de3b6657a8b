"""Plain-text summaries for the terminal (text from the inputs shown with control characters
escaped: :func:`riskmodel.io.formatting.printable`)."""
from __future__ import annotations

from ..io.formatting import chance, money, money_with_margin, percent, printable


def _table(rows: list[list[str]], header: list[str], left: int = 1) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def terminal_summary(s: dict) -> str:
    """A readable summary of :meth:`SimulationResult.summary` output."""
    g = s["gross"]
    out = [f"{printable(s['practice']['name'])}  ({printable(s['register'])})",
           f"{s['trials']:,} simulated years, seed {s['seed']}"
           + ("  [illustrative example]" if s["practice"].get("illustrative") else ""), ""]
    out.append(f"Expected annual loss      {money(g['mean'])}  (Monte Carlo error ± {money(1.96 * g['mean_se'])})")
    out.append(f"Median year               {money(g['p50'])}")
    out.append(f"1-in-20 year loss         {money_with_margin(g['p95'], g.get('p95_se'))}")
    out.append(f"1-in-100 year loss        {money_with_margin(g['p99'], g.get('p99_se'))}")
    out.append(f"Average of worst 1%       {money_with_margin(g['tvar99'], g.get('tvar99_se'))}")
    if "retained" in s:
        out.append("")
        out.append("Who pays (expected per year / 1-in-100 year):")
        for p, label in (("contract", "NHS or supplier contract"), ("insurer", "Insurer"),
                         ("retained", "Practice (the gap)")):
            out.append(f"  {label:<26}{money(s[p]['mean']):>12} {money(s[p]['p99']):>12}")
        pol = s.get("policy") or {}
        if pol and pol.get("insured", True):
            out.append(f"Policy: {printable(pol['name'])}, aggregate limit {money(pol['aggregate_limit'])}, "
                       f"excess {money(pol['excess'])}")
        elif pol:
            out.append(f"Policy: {printable(pol['name'])}: uninsured (no cyber policy in force)")
            if s.get("prob_aggregate_exhausted") is not None:
                out.append(f"Chance the aggregate limit runs out in a year: {percent(s['prob_aggregate_exhausted'])}")
            if s.get("limit_for_1_in_100") is not None:
                out.append(f"Limit that would keep the 1-in-100 year insured loss inside the policy: "
                           f"{money(s['limit_for_1_in_100'])}")
    out.append("")
    out.append("Risks by expected annual loss:")
    def if_event(r, key):
        return money(r[key]) if r.get("prob_event", 0) > 0 else "—"

    rows = [[printable(r["risk_id"]), printable(r["title"])[:40], chance(r.get("prob_event"), s["trials"]), money(r["mean"]),
             if_event(r, "cost_if_event_p50"), if_event(r, "cost_if_event_p90")]
            + ([money(r["retained_mean"])] if "retained_mean" in r else []) for r in s["by_risk"]]
    header = (["risk", "title", "chance a year", "expected", "year it happens", "1 in 10 such"]
              + (["retained"] if "retained" in s else []))
    out.append(_table(rows, header, left=2))
    out.append("")
    if "gap_table" in s:
        out.append("Gap by component (expected per year):")
        rows = []
        for r in s["gap_table"]:
            if r["gross"] <= 0:
                continue
            reasons = sorted(r["reasons"].items(), key=lambda kv: -kv[1])[:2]
            rows.append([r["label"], money(r["gross"]), money(r["contract"]), money(r["insurer"]),
                         money(r["retained"]), ", ".join(k for k, v in reasons if v >= 0.5)])
        out.append(_table(rows, ["component", "gross", "contract", "insurer", "retained", "main reasons retained"], left=1))
    else:
        out.append("Loss by component (expected per year):")
        rows = [[c["label"], money(c["mean"]), money(c["p99"])] for c in s["by_component"].values() if c["mean"] > 0]
        out.append(_table(rows, ["component", "expected", "1-in-100"]))
    return "\n".join(out)
