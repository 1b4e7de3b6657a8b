"""Charts a partner can read: titles, labelled axes, money on the axes."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .components import COMPONENT_LABELS, COMPONENTS  # noqa: E402
from .formatting import money_short  # noqa: E402
from .metrics import exceedance_points  # noqa: E402

_MONEY = FuncFormatter(lambda x, _pos: money_short(x))
PAYER_COLOURS = {"contract": "#4c78a8", "insurer": "#59a14f", "retained": "#e15759"}
PAYER_LABELS = {"contract": "NHS or supplier contract", "insurer": "Insurer", "retained": "Practice (the gap)"}


def exceedance_figure(gross: np.ndarray, retained: np.ndarray | None = None, *, excess: float | None = None,
                      limit: float | None = None, title: str = "How bad could a year be?", ax=None):
    """Loss exceedance curve: the chance in any year that losses exceed each amount."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
    else:
        fig = ax.figure
    x, p = exceedance_points(gross)
    ax.plot(x, p, color="#333333", lw=2, label="All losses (gross)")
    if retained is not None:
        xr, pr = exceedance_points(retained)
        ax.plot(xr, pr, color=PAYER_COLOURS["retained"], lw=2, label="Kept by the practice")
    for value, label, style in ((excess, "Excess", ":"), (limit, "Policy limit", "--")):
        if value:
            ax.axvline(value, color="#777777", ls=style, lw=1.2, label=f"{label} {money_short(value)}")
    ax.set_yscale("log")
    ax.set_ylim(max(1.0 / gross.size, 1e-4), 1)
    ax.set_xscale("symlog", linthresh=1000)
    ax.xaxis.set_major_formatter(_MONEY)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: f"1 in {1 / y:,.0f}" if y < 1 else "every year"))
    ax.set_xlabel("Annual loss")
    ax.set_ylabel("Chance of a worse year")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def who_pays_figure(gap_rows: list[dict], title: str = "Who pays, by kind of cost (expected per year)", ax=None):
    """Stacked bars per component: contract, insurer, practice."""
    rows = [r for r in gap_rows if r["gross"] > 0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.45 * max(4, len(rows)) + 1))
    else:
        fig = ax.figure
    labels = [r["label"] for r in rows]
    left = np.zeros(len(rows))
    for payer in ("contract", "insurer", "retained"):
        vals = np.array([r[payer] for r in rows])
        ax.barh(labels, vals, left=left, color=PAYER_COLOURS[payer], label=PAYER_LABELS[payer])
        left += vals
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_MONEY)
    ax.set_xlabel("Expected cost per year")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def top_risks_figure(by_risk: list[dict], n: int = 10, title: str = "Risks by expected annual loss", ax=None):
    rows = by_risk[:n]
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.45 * max(4, len(rows)) + 1))
    else:
        fig = ax.figure
    labels = [f"{r['risk_id']} {r['title'][:38]}" for r in rows]
    ax.barh(labels, [r["mean"] for r in rows], color="#4c78a8")
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_MONEY)
    ax.set_xlabel("Expected loss per year")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def waterfall_figure(steps: list[dict], key: str = "gross", ax=None,
                     title: str = "What changed the expected annual loss since last quarter"):
    """Waterfall of a quarter's changes (from :func:`riskmodel.attribution.attribute`):
    ``key`` is ``"gross"`` (expected annual loss) or ``"retained"`` (kept by the practice)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.42 * max(4, len(steps)) + 1.2))
    else:
        fig = ax.figure
    labels, lefts, widths, colours = [], [], [], []
    for st in steps:
        labels.append(st["label"] if len(st["label"]) <= 48 else st["label"][:45] + "...")
        if st["kind"] in ("start", "end"):
            lefts.append(0.0)
            widths.append(st[f"{key}_mean"])
            colours.append("#4c78a8")
        else:
            d = st[f"delta_{key}"]
            before = st[f"{key}_mean"] - d
            lefts.append(min(before, before + d))
            widths.append(abs(d))
            colours.append("#e15759" if d > 0 else "#59a14f")
    ax.barh(labels, widths, left=lefts, color=colours)
    for i, st in enumerate(steps):
        d = st[f"delta_{key}"]
        text = money_short(st[f"{key}_mean"]) if st["kind"] in ("start", "end") else \
            "£0" if abs(d) < 0.5 else ("+" if d > 0 else "-") + money_short(abs(d))
        ax.annotate(text, (lefts[i] + widths[i], i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_MONEY)
    ax.set_xlabel("Expected per year" + (" (gross)" if key == "gross" else ", kept by the practice"))
    ax.set_title(title + ("" if key == "gross" else ": the practice's share"))
    ax.grid(True, axis="x", alpha=0.3)
    ax.margins(x=0.15)
    fig.tight_layout()
    return fig


def limits_figure(rows: list[dict], ax=None, title: str = "Policy limit against a 1-in-100 year"):
    """Per practice: the aggregate limit beside the 1-in-100 year loss it would have to meet
    (insured loss for insured practices; what the practice keeps for uninsured ones)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.6 * max(3, len(rows)) + 1.2))
    else:
        fig = ax.figure
    y = np.arange(len(rows))
    need = [r["need"] for r in rows]
    limit = [r["limit"] or 0.0 for r in rows]
    ax.barh(y - 0.2, need, height=0.4, color="#e15759", label="1-in-100 year loss to cover")
    ax.barh(y + 0.2, limit, height=0.4, color="#59a14f", label="Aggregate limit (none = uninsured)")
    ax.set_yticks(y, [r["name"] for r in rows])
    ax.invert_yaxis()
    shown = [v for v in need + limit if v > 0]
    if shown and max(shown) > 20 * min(shown):
        ax.set_xscale("log")
        ax.set_xlim(min(shown) / 2, max(shown) * 2)
    ax.xaxis.set_major_formatter(_MONEY)
    ax.set_xlabel("Pounds" + (" (log scale)" if ax.get_xscale() == "log" else ""))
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def reasons_figure(rows: list[dict], ax=None, title: str = "Why practices keep what they keep (expected per year)"):
    """Per practice: the expected retained loss split by reason (stacked bars)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.6 * max(3, len(rows)) + 1.4))
    else:
        fig = ax.figure
    reasons = sorted({k for r in rows for k in r["reasons"]}, key=lambda k: -sum(r["reasons"].get(k, 0) for r in rows))
    colours = plt.get_cmap("tab10")
    left = np.zeros(len(rows))
    for i, reason in enumerate(reasons):
        vals = np.array([r["reasons"].get(reason, 0.0) for r in rows])
        ax.barh([r["name"] for r in rows], vals, left=left, color=colours(i % 10), label=reason)
        left += vals
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_MONEY)
    ax.set_xlabel("Expected retained loss per year")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="Reason")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


__all__ = ["exceedance_figure", "limits_figure", "reasons_figure", "who_pays_figure", "top_risks_figure", "waterfall_figure", "COMPONENTS", "COMPONENT_LABELS"]
