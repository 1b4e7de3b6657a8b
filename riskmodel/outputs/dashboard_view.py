"""The dashboard's HTML fragments: headline cards, the exceedance chart and the table of risks."""
from __future__ import annotations

import html

import numpy as np

from ..inputs.policy import Policy
from ..inputs.register import Register
from ..io.formatting import chance, money, percent
from .svgcharts import loss_exceedance_svg


def headline_html(numbers: dict, policy: Policy, trials: int) -> str:
    """The headline cards: expected annual loss, 1-in-100 year, kept by the practice, the
    chance the policy limit runs out (``numbers`` as :attr:`Dashboard.numbers`)."""
    v = numbers
    p = v["prob_limit_exhausted"]
    limit = ("no policy" if p is None else "not seen" if p == 0 else f"{percent(p)} a year")
    cards = [
        ("Expected annual loss", money(v["expected_annual_loss"]), "average over simulated years", "eal"),
        ("1-in-100 year loss", money(v["one_in_100"]), f"1-in-20: {money(v['one_in_20'])}", "p99"),
        ("Kept by the practice", money(v["retained_mean"]),
         f"a year on average; 1-in-100: {money(v['retained_one_in_100'])}", "retained"),
        ("Chance the policy limit runs out", limit,
         (f"limit {money(policy.aggregate_limit)}" + (f"; in none of {trials:,} years" if p == 0 else ""))
         if policy.insured else "uninsured", "exhausted"),
    ]
    cells = "".join(
        f"<div class='rm-card' data-metric='{key}' style='flex:1;min-width:150px;padding:8px 12px;"
        f"border:1px solid #ddd;border-radius:6px;margin:0 8px 8px 0'>"
        f"<div style='font-size:85%;color:#555'>{html.escape(t)}</div>"
        f"<div class='rm-value' style='font-size:150%;font-weight:600'>{html.escape(val)}</div>"
        f"<div style='font-size:80%;color:#777'>{html.escape(sub)}</div></div>"
        for t, val, sub, key in cards)
    return f"<div class='rm-headline' style='display:flex;flex-wrap:wrap'>{cells}</div>"

def exceedance_svg(gross, retained, policy: Policy) -> str:
    """The loss exceedance chart of gross and retained annual losses, with the policy's terms."""
    return loss_exceedance_svg(gross, retained, excess=policy.excess if policy.insured else None,
                               limit=policy.aggregate_limit if policy.insured and not policy.unlimited else None)

def risks_html(reg: Register, profiles: list[dict], retained_mean: np.ndarray, trials: int) -> str:
    """The table of risks ranked by expected annual loss, with what the practice keeps of each."""
    gross_mean = np.array([p["mean"] for p in profiles])
    total = gross_mean.sum()
    order = np.argsort(-gross_mean, kind="stable")
    td = "<td style='text-align:right'>"

    def if_happens(p, key):
        return money(p[key]) if p["prob_event"] > 0 else "—"

    rows = "".join(
        f"<tr style='border-top:1px solid #eee'><td>{i + 1}</td><td>{html.escape(reg.risks[j].risk_id)}</td>"
        f"<td>{html.escape(reg.risks[j].title)}</td>{td}{html.escape(chance(profiles[j]['prob_event'], trials))}</td>"
        f"{td}{money(gross_mean[j])}</td>{td}{_share_of(gross_mean[j], total)}</td>"
        f"{td}{if_happens(profiles[j], 'cost_if_event_p50')}</td>{td}{if_happens(profiles[j], 'cost_if_event_p90')}</td>"
        f"{td}{money(retained_mean[j])}</td></tr>"
        for i, j in enumerate(order))
    return ("<div style='font-weight:600;margin-top:8px'>Risks ranked by expected annual loss</div><table class='rm-risks' style='border-collapse:collapse;"
            "border-spacing:0'><style>.rm-risks td,.rm-risks th{padding:2px 8px;vertical-align:top}"
            ".rm-risks th{text-align:right;vertical-align:bottom}.rm-risks tr:first-child th:nth-child(-n+3)"
            "{text-align:left}.rm-risks td:nth-child(n+4){white-space:nowrap}</style>"
            "<tr><th rowspan='2'>#</th><th rowspan='2'>Risk</th><th rowspan='2'>Title</th>"
            "<th rowspan='2'>Chance in a year</th><th rowspan='2'>Expected a year</th><th rowspan='2'>Share</th>"
            "<th colspan='2' style='text-align:center'>A year it happens costs</th>"
            "<th rowspan='2'>Kept by the practice</th></tr>"
            "<tr><th title='median of the years in which it happens'>typically</th>"
            f"<th title='1 in 10 of the years in which it happens cost more'>1 in 10 over</th></tr>{rows}</table>"
            "<div style='color:#666;font-size:85%;margin-top:4px'>Chance in a year: of at least one incident "
            "that costs money (a percentage for risks seen at least one year in ten, else \"1 in N years\"). "
            "Expected a year spreads the cost over all years, including those without it; a year it happens "
            "costs typically (the median) and, one such year in ten, more than the last figure.</div>")


def _share_of(part: float, total: float) -> str:
    return percent(part / total) if total > 0 else "–"
