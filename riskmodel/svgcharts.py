"""Light charts for the dashboard, as inline SVG and HTML (milliseconds, unlike a PNG render).

The quarterly reports use matplotlib (:mod:`riskmodel.plots`); the dashboard redraws on every
widget change, so its charts are written directly: a loss exceedance curve on log axes and
stacked bars of who pays. Both carry a title, labelled axes and a legend.
"""
from __future__ import annotations

import html
import math

import numpy as np

from .formatting import money, money_short
from .metrics import exceedance_points
from .plots import PAYER_COLOURS, PAYER_LABELS

W, H = 720, 330
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 34, 52


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def exceedance_svg(curves: list[tuple[str, str, np.ndarray]], *, excess: float | None = None,
                   limit: float | None = None, title: str = "How bad could a year be?") -> str:
    """Loss exceedance curves, (label, colour, annual losses) each, on log-log axes.

    The y axis is the chance in a year of a worse loss (from 1 in the number of years simulated
    to every year); the x axis is money from £100 (or the smallest loss shown) to the largest.
    Vertical lines mark the excess and the policy limit.
    """
    pts = []
    for label, colour, x in curves:
        lx, p = exceedance_points(x, 160)
        keep = lx > 0
        pts.append((label, colour, lx[keep], p[keep]))
    n = max(1, max(c[2].size for c in curves))
    lo_p = 1.0 / n
    xmax = max([float(q[2].max()) for q in pts if q[2].size] + [limit or 0, excess or 0, 1000.0])
    x0 = 10 ** math.floor(math.log10(max(100.0, min([float(q[2].min()) for q in pts if q[2].size] or [100.0]))))
    x1 = 10 ** math.ceil(math.log10(xmax * 1.05))
    y0 = 10 ** math.floor(math.log10(lo_p))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(v):
        return LEFT + pw * (math.log10(max(v, x0)) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))

    def sy(p):
        return TOP + ph * (0 - math.log10(max(p, y0))) / (0 - math.log10(y0))

    out = [f"<svg class='rm-chart rm-lec' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' "
           f"width='100%' style='max-width:{W}px;font-family:sans-serif;font-size:11px'>",
           f"<text x='{W / 2}' y='18' text-anchor='middle' font-size='14' font-weight='600'>{_esc(title)}</text>"]
    decade = x0
    while decade <= x1 * 1.0001:
        x = sx(decade)
        out.append(f"<line x1='{x:.1f}' y1='{TOP}' x2='{x:.1f}' y2='{TOP + ph}' stroke='#e5e5e5'/>"
                   f"<text x='{x:.1f}' y='{TOP + ph + 15}' text-anchor='middle'>{_esc(money_short(decade))}</text>")
        decade *= 10
    p = 1.0
    while p >= y0 * 0.999:
        y = sy(p)
        label = "every year" if p == 1.0 else f"1 in {round(1 / p):,}"
        out.append(f"<line x1='{LEFT}' y1='{y:.1f}' x2='{LEFT + pw}' y2='{y:.1f}' stroke='#e5e5e5'/>"
                   f"<text x='{LEFT - 6}' y='{y + 4:.1f}' text-anchor='end'>{_esc(label)}</text>")
        p /= 10
    out.append(f"<rect x='{LEFT}' y='{TOP}' width='{pw}' height='{ph}' fill='none' stroke='#999'/>")
    out.append(f"<text x='{LEFT + pw / 2}' y='{H - 12}' text-anchor='middle'>Annual loss</text>")
    out.append(f"<text transform='translate(14,{TOP + ph / 2}) rotate(-90)' text-anchor='middle'>"
               "Chance of a worse year</text>")
    legend = []
    for value, label, dash in ((excess, "Excess", "2,3"), (limit, "Policy limit", "6,4")):
        if value:
            x = sx(value)
            out.append(f"<line x1='{x:.1f}' y1='{TOP}' x2='{x:.1f}' y2='{TOP + ph}' stroke='#777' "
                       f"stroke-dasharray='{dash}'/>")
            legend.append((f"{label} {money(value)}", "#777", dash))
    curve_legend = []
    for label, colour, lx, p in pts:
        if lx.size:
            path = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(lx, p))
            out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{path}'/>")
        curve_legend.append((label, colour, None))
    legend = curve_legend + legend
    for i, (label, colour, dash) in enumerate(legend):
        y = TOP + ph - 12 - 15 * (len(legend) - 1 - i)
        d = f" stroke-dasharray='{dash}'" if dash else ""
        out.append(f"<line x1='{LEFT + 10}' y1='{y}' x2='{LEFT + 30}' y2='{y}' stroke='{colour}' stroke-width='2'{d}/>"
                   f"<text x='{LEFT + 36}' y='{y + 4}'>{_esc(label)}</text>")
    out.append("</svg>")
    return "".join(out)


def who_pays_html(rows: list[dict], title: str = "Who pays, by kind of cost (expected per year)") -> str:
    """Stacked horizontal bars per component (contract, insurer, practice), with amounts."""
    shown = [r for r in rows if r["gross"] > 0]
    top = max([r["gross"] for r in shown] + [1.0])
    legend = "".join(f"<span style='margin-right:14px'><span style='display:inline-block;width:11px;height:11px;"
                     f"background:{PAYER_COLOURS[p]};margin-right:4px'></span>{_esc(PAYER_LABELS[p])}</span>"
                     for p in ("contract", "insurer", "retained"))
    lines = []
    for r in shown:
        bars = "".join(
            f"<div title='{_esc(PAYER_LABELS[p])}: {money(r[p])}' style='width:{100 * r[p] / top:.2f}%;"
            f"background:{PAYER_COLOURS[p]};height:16px'></div>"
            for p in ("contract", "insurer", "retained") if r[p] > 0)
        lines.append(
            f"<div class='rm-bar' data-component='{_esc(r['component'])}' style='display:flex;align-items:center;"
            f"margin:3px 0'><div style='width:190px;flex:none'>{_esc(r['label'])}</div>"
            f"<div style='flex:1;display:flex'>{bars}</div>"
            f"<div style='width:220px;flex:none;text-align:right;font-size:85%'>{money(r['gross'])}: "
            f"{money(r['insurer'])} insurer, {money(r['retained'])} kept</div></div>")
    return (f"<div class='rm-chart rm-who-pays' style='max-width:760px;font-family:sans-serif;font-size:12px'>"
            f"<div style='font-size:14px;font-weight:600;text-align:center'>{_esc(title)}</div>"
            f"<div style='margin:4px 0 6px 190px'>{legend}</div>{''.join(lines)}"
            f"<div style='margin-left:190px;color:#555'>Expected cost per year, bar length against the largest "
            f"({money(top)})</div></div>")
