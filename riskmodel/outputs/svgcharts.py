"""Every chart of the reports, the advisors' review and the dashboard, as inline SVG.

One implementation per chart, shown the same way everywhere: the quarterly report and the review
display the SVG in their notebooks (``display(HTML(svg))``, kept as is in the exported HTML and
printed sharp in the PDF), the dashboard writes it into its HTML widget (milliseconds per change,
where a matplotlib PNG took most of a second).

Rules every chart follows (docs/reports.md):

* colours come from :mod:`riskmodel.outputs.colours`, by payer or reason name, never by position;
* the loss exceedance curve is on log-log axes starting at £100 (never zero or negative pounds);
  every bar chart is on a linear axis starting at £0, whatever the data, with the exact amount
  written beside each bar;
* legends and reference lines give exact amounts (``Excess £2,500``); only axis ticks are short;
* all text from the inputs (practice, policy and risk names, ids) is HTML-escaped.
"""
from __future__ import annotations

import html
import math

import numpy as np

from .colours import PAYER_COLOURS, PAYER_LABELS, REFERENCE_COLOUR, reason_colour, reason_order
from ..io.formatting import money, money_short, signed_money
from ..analysis.metrics import exceedance_points

W, H = 720, 330
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 34, 52
FONT = "display:block;font-family:sans-serif;font-size:11px"
PAYERS = ("contract", "insurer", "retained")


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


def _clip(s: str, n: int) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _text_width(s: str, size: float = 11.0) -> float:
    """A generous estimate of a sans-serif string's width in pixels (for layout only)."""
    return 0.58 * size * len(s)


# ---- loss exceedance curve -------------------------------------------------------------------
def exceedance_svg(curves: list[tuple[str, str, np.ndarray]], *, excess: float | None = None,
                   limit: float | None = None, title: str = "How bad could a year be?") -> str:
    """Loss exceedance curves, (label, colour, annual losses) each, on log-log axes.

    The y axis is the chance in a year of a worse loss (from 1 in the number of years simulated
    to every year); the x axis is money in decades from £100 (or the smallest loss shown) to the
    largest. Years without loss cannot be drawn on a log axis: the curve starts at the chance of a
    loss above £100. Vertical lines mark the excess and the policy limit, with exact amounts.
    """
    pts = []
    for label, colour, x in curves:
        lx, p = exceedance_points(x, 160)
        keep = lx > 0
        pts.append((label, colour, lx[keep], p[keep]))
    n = max(1, max(np.asarray(c[2]).size for c in curves))
    lo_p = 1.0 / n
    xmax = max([float(q[2].max()) for q in pts if q[2].size] + [limit or 0, excess or 0, 1000.0])
    x0 = 10 ** math.floor(math.log10(max(100.0, min([float(q[2].min()) for q in pts if q[2].size] or [100.0]))))
    x1 = max(xmax * 1.3, x0 * 100)
    y0 = 10 ** math.floor(math.log10(lo_p))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(v):
        return LEFT + pw * (math.log10(max(v, x0)) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))

    def sy(p):
        return TOP + ph * (0 - math.log10(max(p, y0))) / (0 - math.log10(y0))

    out = [f"<svg class='rm-chart rm-lec' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' "
           f"width='100%' style='max-width:{W}px;{FONT}'>",
           f"<text x='{W / 2}' y='18' text-anchor='middle' font-size='14' font-weight='600'>{_esc(title)}</text>"]
    decade = x0
    while decade <= x1 * 1.0001:
        x = sx(decade)
        out.append(f"<line x1='{x:.1f}' y1='{TOP}' x2='{x:.1f}' y2='{TOP + ph}' stroke='#e5e5e5'/>"
                   f"<text class='rm-xtick' x='{x:.1f}' y='{TOP + ph + 15}' text-anchor='middle'>"
                   f"{_esc(money_short(decade))}</text>")
        decade *= 10
    p = 1.0
    while p >= y0 * 0.999:
        y = sy(p)
        label = "every year" if p == 1.0 else f"1 in {round(1 / p):,}"
        out.append(f"<line x1='{LEFT}' y1='{y:.1f}' x2='{LEFT + pw}' y2='{y:.1f}' stroke='#e5e5e5'/>"
                   f"<text x='{LEFT - 6}' y='{y + 4:.1f}' text-anchor='end'>{_esc(label)}</text>")
        p /= 10
    out.append(f"<rect x='{LEFT}' y='{TOP}' width='{pw}' height='{ph}' fill='none' stroke='#999'/>")
    out.append(f"<text x='{LEFT + pw / 2}' y='{H - 12}' text-anchor='middle'>Annual loss (log scale)</text>")
    out.append(f"<text transform='translate(14,{TOP + ph / 2}) rotate(-90)' text-anchor='middle'>"
               "Chance of a worse year</text>")
    legend = []
    for value, label, dash in ((excess, "Excess", "2,3"), (limit, "Policy limit", "6,4")):
        if value:
            x = sx(value)
            out.append(f"<line x1='{x:.1f}' y1='{TOP}' x2='{x:.1f}' y2='{TOP + ph}' stroke='{REFERENCE_COLOUR}' "
                       f"stroke-width='1.5' stroke-dasharray='{dash}'/>")
            legend.append((f"{label} {money(value)}", REFERENCE_COLOUR, dash))
    curve_legend = []
    for label, colour, lx, p in pts:
        if lx.size:
            path = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(lx, p))
            out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{path}'/>")
        curve_legend.append((label if lx.size else f"{label}: none in the years simulated", colour, None))
    legend = curve_legend + legend
    box_w = max(_text_width(label) for label, _, _ in legend) + 46
    box_h = 15 * len(legend) + 8
    out.append(f"<rect x='{LEFT + 4}' y='{TOP + ph - box_h - 4}' width='{box_w:.0f}' height='{box_h}' "
               "fill='white' fill-opacity='0.85' stroke='#ddd'/>")
    for i, (label, colour, dash) in enumerate(legend):
        y = TOP + ph - 12 - 15 * (len(legend) - 1 - i)
        d = f" stroke-dasharray='{dash}'" if dash else ""
        out.append(f"<line x1='{LEFT + 10}' y1='{y}' x2='{LEFT + 30}' y2='{y}' stroke='{colour}' stroke-width='2'{d}/>"
                   f"<text class='rm-legend' x='{LEFT + 36}' y='{y + 4}'>{_esc(label)}</text>")
    out.append("</svg>")
    return "".join(out)


def loss_exceedance_svg(gross: np.ndarray, retained: np.ndarray | None = None, *, excess: float | None = None,
                        limit: float | None = None, title: str = "How bad could a year be?") -> str:
    """The report's and the dashboard's curve: all losses and what the practice keeps."""
    curves = [(PAYER_LABELS["gross"], PAYER_COLOURS["gross"], gross)]
    if retained is not None:
        curves.append(("Kept by the practice", PAYER_COLOURS["retained"], retained))
    return exceedance_svg(curves, excess=excess, limit=limit, title=title)


# ---- horizontal bars on a linear axis ------------------------------------------------------------
def _ticks(vmax: float) -> list[float]:
    """Round linear ticks from 0 to at least ``vmax`` (1, 2 or 5 times a power of ten apart)."""
    if vmax <= 0:
        return [0.0, 1.0]
    raw = vmax / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    n = math.ceil(vmax / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _legend(legend, plot_l: float, width: int) -> tuple[list[str], int]:
    """A bar chart's legend: (label, colour, hollow) swatches in rows from ``plot_l``, and its height."""
    out_legend, lx, ly = [], 0.0, 0
    for label, colour, hollow in legend:
        wdt = _text_width(label) + 30
        if lx and lx + wdt > width - plot_l:
            lx, ly = 0.0, ly + 16
        fill = "white" if hollow else colour
        out_legend.append(f"<rect x='{plot_l + lx:.0f}' y='{ly}' width='11' height='11' fill='{fill}' "
                          f"stroke='{colour}' stroke-width='{2 if hollow else 0}'/>"
                          f"<text class='rm-legend' x='{plot_l + lx + 15:.0f}' y='{ly + 10}'>{_esc(label)}</text>")
        lx += wdt
    return out_legend, (ly + 22) if legend else 0


def bars_svg(rows: list[dict], *, title: str, xlabel: str, legend: list[tuple[str, str, bool]] = (),
             css_class: str = "rm-bars", width: int = 760) -> str:
    """Horizontal bars on a linear axis from £0, one or more bars per row.

    ``rows``: dicts with ``label``, optional ``key`` (a ``data-key`` attribute) and ``bars``, a list
    of bars, each a dict with ``segments`` — ``(start, end, colour, tooltip)`` in pounds, drawn
    hollow (outlined) when the colour is given as ``("outline", colour)`` — and ``text`` written
    just after the bar's end. ``legend``: (label, colour, hollow) shown under the title.
    """
    labels = [_clip(r["label"], 42) for r in rows]
    label_w = min(280, max(70, max([_text_width(s, 12) for s in labels] + [0]) + 12))
    plot_l = label_w

    def bar_end(b):
        return max([s[1] for s in b["segments"]] + [0.0])

    vmax = max([bar_end(b) for r in rows for b in r["bars"]] + [0.0])
    ticks = _ticks(vmax)
    top_v = ticks[-1]
    # each bar's amount is written just after its end: the scale leaves room for the longest
    pw = width - plot_l - 16
    for r in rows:
        for b in r["bars"]:
            room = width - 10 - _text_width(b["text"]) - plot_l
            if bar_end(b) > 0:
                pw = min(pw, room / (bar_end(b) / top_v))
    pw = max(150.0, pw)

    def sx(v):
        return plot_l + pw * max(0.0, v) / top_v

    out_legend, legend_h = _legend(legend, plot_l, width)
    top = 28 + legend_h
    body, y = [], top
    for r, label in zip(rows, labels):
        bar_h = 16 if len(r["bars"]) == 1 else 12
        h = 8 + bar_h * len(r["bars"]) + 2 * (len(r["bars"]) - 1)
        key = f" data-key='{_esc(r['key'])}'" if r.get("key") is not None else ""
        tip = f"<title>{_esc(r['label'])}</title>" if label != r["label"] else ""
        body.append(f"<g class='rm-bar'{key}><text x='{plot_l - 8}' y='{y + h / 2 + 4:.1f}' text-anchor='end' "
                    f"font-size='12'>{tip}{_esc(label)}</text>")
        by = y + 4
        for b in r["bars"]:
            for start, end, colour, tooltip in b["segments"]:
                if end - start <= 0:
                    continue
                hollow = isinstance(colour, tuple)
                c = colour[1] if hollow else colour
                x0, x1 = sx(start), sx(end)
                wdt = max(x1 - x0, 0.8)
                style = (f"fill='white' stroke='{c}' stroke-width='1.5'" if hollow else f"fill='{c}'")
                body.append(f"<rect x='{x0:.1f}' y='{by}' width='{wdt:.1f}' height='{bar_h}' {style}>"
                            f"<title>{_esc(tooltip)}</title></rect>")
            body.append(f"<text x='{sx(bar_end(b)) + 5:.1f}' y='{by + bar_h / 2 + 4:.1f}'>{_esc(b['text'])}</text>")
            by += bar_h + 2
        body.append("</g>")
        y += h
    axis_y = y + 4
    grid = []
    for t in ticks:
        x = sx(t)
        grid.append(f"<line x1='{x:.1f}' y1='{top - 2}' x2='{x:.1f}' y2='{axis_y}' stroke='#e5e5e5'/>"
                    f"<text class='rm-xtick' x='{x:.1f}' y='{axis_y + 14}' text-anchor='middle'>{_esc(money_short(t))}</text>")
    height = axis_y + 36
    return (f"<svg class='rm-chart {css_class}' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height:.0f}' "
            f"width='100%' style='max-width:{width}px;{FONT}'>"
            f"<text x='{width / 2}' y='18' text-anchor='middle' font-size='14' font-weight='600'>{_esc(title)}</text>"
            f"<g transform='translate(0,{28})'>{''.join(out_legend)}</g>"
            + "".join(grid) +
            f"<line x1='{plot_l}' y1='{top - 2}' x2='{plot_l}' y2='{axis_y}' stroke='#999'/>"
            + "".join(body) +
            f"<text x='{plot_l + pw / 2:.0f}' y='{axis_y + 30}' text-anchor='middle'>{_esc(xlabel)}</text></svg>")


def _stack(values: list[tuple[float, str, str]], start: float = 0.0) -> list[tuple]:
    """(value, colour, tooltip) -> touching segments from ``start``."""
    out, left = [], start
    for v, colour, tip in values:
        v = max(0.0, float(v))
        out.append((left, left + v, colour, tip))
        left += v
    return out


def who_pays_svg(rows: list[dict], title: str = "Who pays, by kind of cost (expected per year)") -> str:
    """Stacked bars per loss component: NHS or supplier contract, insurer, practice."""
    shown = [r for r in rows if r["gross"] > 0]
    bars = [{"label": r["label"], "key": r["component"],
             "bars": [{"segments": _stack([(r[p], PAYER_COLOURS[p], f"{PAYER_LABELS[p]}: {money(r[p])}")
                                           for p in PAYERS]),
                       "text": f"{money(r['gross'])}; practice {money(r['retained'])}"}]} for r in shown]
    return bars_svg(bars, title=title, xlabel="Expected cost per year", css_class="rm-who-pays",
                    legend=[(PAYER_LABELS[p], PAYER_COLOURS[p], False) for p in PAYERS])


def top_risks_svg(by_risk: list[dict], n: int = 10, title: str = "Risks by expected annual loss") -> str:
    """The largest risks' expected annual loss, split into what the practice keeps and the rest."""
    rows = []
    split = all("retained_mean" in r for r in by_risk[:n])
    for r in by_risk[:n]:
        label = f"{r['risk_id']} {r['title']}"
        if split:
            kept = min(r["retained_mean"], r["mean"])
            segs = _stack([(kept, PAYER_COLOURS["retained"], f"Kept by the practice: {money(kept)}"),
                           (r["mean"] - kept, PAYER_COLOURS["gross"], f"Paid by others: {money(r['mean'] - kept)}")])
            text = f"{money(r['mean'])}; practice {money(kept)}"
        else:
            segs = _stack([(r["mean"], PAYER_COLOURS["gross"], money(r["mean"]))])
            text = money(r["mean"])
        rows.append({"label": label, "key": r["risk_id"], "bars": [{"segments": segs, "text": text}]})
    legend = ([("Kept by the practice", PAYER_COLOURS["retained"], False),
               ("Paid by contract or insurer", PAYER_COLOURS["gross"], False)] if split else [])
    return bars_svg(rows, title=title, xlabel="Expected loss per year", legend=legend, css_class="rm-top-risks")


def waterfall_svg(steps: list[dict], key: str = "gross",
                  title: str = "What changed the expected annual loss since last quarter") -> str:
    """Quarter-on-quarter waterfall (:func:`riskmodel.analysis.attribution.attribute`): ``key`` is ``"gross"``
    or ``"retained"``. Start and end are solid; a change that adds is solid, one that saves is
    outlined, in the same colour (the colour says *whose* loss, the fill says which way)."""
    colour = PAYER_COLOURS[key]
    rows = []
    for st in steps:
        if st["kind"] in ("start", "end"):
            v = st[f"{key}_mean"]
            segs, text = [(0.0, v, colour, money(v))], money(v)
        else:
            d = st[f"delta_{key}"]
            before = st[f"{key}_mean"] - d
            lo, hi = min(before, before + d), max(before, before + d)
            segs = [(lo, hi, colour if d > 0 else ("outline", colour), signed_money(d))]
            text = signed_money(d)
        rows.append({"label": st["label"], "bars": [{"segments": segs, "text": text}]})
    name = "Expected per year" + (" (gross)" if key == "gross" else ", kept by the practice")
    return bars_svg(rows, title=title + ("" if key == "gross" else ": the practice's share"), xlabel=name,
                    css_class="rm-waterfall",
                    legend=[("Totals and increases", colour, False), ("Decreases", colour, True)])


def limits_svg(rows: list[dict], title: str = "Policy limit against a 1-in-100 year") -> str:
    """Per practice: the 1-in-100 year loss the policy would have to meet (insured loss; for an
    uninsured practice what it keeps) beside its aggregate limit, on a linear axis."""
    out = []
    for r in rows:
        need, limit = r["need"], r["limit"]
        bars = [{"segments": [(0.0, need, PAYER_COLOURS["gross"], money(need))],
                 "text": f"1-in-100: {money(need)}"},
                {"segments": [(0.0, limit or 0.0, PAYER_COLOURS["insurer"], money(limit))],
                 "text": f"limit: {money(limit)}" if limit else "uninsured"}]
        out.append({"label": r["name"], "bars": bars})
    return bars_svg(out, title=title, xlabel="Pounds", css_class="rm-limits",
                    legend=[("1-in-100 year loss to cover", PAYER_COLOURS["gross"], False),
                            ("Aggregate limit", PAYER_COLOURS["insurer"], False)])


def reasons_svg(rows: list[dict], title: str = "Why practices keep what they keep (expected per year)") -> str:
    """Per practice: the expected retained loss split by reason, each reason in its fixed colour."""
    reasons = reason_order({k for r in rows for k, v in r["reasons"].items() if v > 0})
    out = [{"label": r["name"],
            "bars": [{"segments": _stack([(r["reasons"].get(k, 0.0), reason_colour(k),
                                           f"{k}: {money(r['reasons'].get(k, 0.0))}") for k in reasons]),
                      "text": money(sum(r["reasons"].values()))}]} for r in rows]
    return bars_svg(out, title=title, xlabel="Expected retained loss per year", css_class="rm-reasons",
                    legend=[(k, reason_colour(k), False) for k in reasons])


def gap_reasons_svg(gap_rows: list[dict], title: str = "Why the practice keeps what it keeps (expected per year)") -> str:
    """One practice: the expected retained loss per kind of cost, split by reason."""
    shown = [r for r in gap_rows if r["retained"] > 0 and r["reasons"]]
    return reasons_svg([{"name": r["label"], "reasons": r["reasons"]} for r in shown], title=title)


__all__ = ["exceedance_svg", "loss_exceedance_svg", "bars_svg", "who_pays_svg", "top_risks_svg", "waterfall_svg",
           "limits_svg", "reasons_svg", "gap_reasons_svg"]
