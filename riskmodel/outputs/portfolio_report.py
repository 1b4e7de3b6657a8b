"""The advisors' portfolio report: a book of practices in the same bad year, in words and charts.

For the partners of a scheme or an ICB board. It reads the JSON that ``riskmodel portfolio``
writes (no new simulation) and says: what the book loses in an average year and in a 1-in-100
year, and who pays; how many practices one bad year hits; how much of the 1-in-100 year each
supplier causes; which practices contribute most to the worst years; what drove the worst
simulated years; and what the model leaves out. ``notebooks/portfolio_review.ipynb`` presents
what this module computes; :func:`riskmodel.outputs.batch.run_portfolio_report` runs it with papermill and exports static
HTML with the batch's own exporter (no script, a Content-Security-Policy, live markup refused).

Every text from the inputs (practice, supplier and event names, error messages) is escaped
(:func:`riskmodel.io.formatting.md_escape` in Markdown, HTML-escaped in tables and charts).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..io.formatting import chance, md_escape, money, money_with_margin, percent
from ..io.shipped import is_shipped_examples

NOTEBOOK = "portfolio_review.ipynb"
REPORT = "portfolio_review"
#: Practices listed by name in the table of the largest contributors to the worst years.
TOP_PRACTICES = 15
#: Worst simulated years shown.
WORST_YEARS = 10
STATS = ("mean", "p50", "p90", "p95", "p99", "p99_5", "tvar99")
PAYER_KEYS = ("gross", "insurer", "retained")

#: The services of ``[suppliers]`` in words.
SERVICE_LABELS = {"clinical_system": "clinical system", "telephony": "telephones", "it_support": "IT support",
                  "website": "website", "online_consultation": "online consultations", "patient_app": "patient app",
                  "pathology": "pathology (blood tests)", "payroll": "payroll and HR"}


class PortfolioResultsError(ValueError):
    """The portfolio JSON is not one this report can read (wrong kind, missing or impossible figures)."""


def _finite(x, where: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise PortfolioResultsError(f"{where}: expected a number, got {x!r}") from None
    if not math.isfinite(v):
        raise PortfolioResultsError(f"{where}: expected a finite number, got {x!r}")
    return v


def load_results(path: str | Path) -> dict:
    """Read and check a portfolio JSON (``"kind": "portfolio"``).

    Raises
    ------
    PortfolioResultsError
        Not a portfolio JSON, a missing figure, a non-finite number, or a payer's expected loss
        outside [0, the book's expected loss].
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PortfolioResultsError(f"{path}: could not read the portfolio results ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != "portfolio":
        raise PortfolioResultsError(f"{path}: not a portfolio results file (expected \"kind\": \"portfolio\"); "
                                    "run riskmodel portfolio --json first")
    for payer in PAYER_KEYS:
        block = data.get(payer)
        if not isinstance(block, dict):
            raise PortfolioResultsError(f"{path}: missing the '{payer}' figures")
        for s in ("mean", "p99"):
            if s not in block:
                raise PortfolioResultsError(f"{path}: missing {payer}.{s}")
        for k, v in block.items():
            if v is not None:
                _finite(v, f"{path}: {payer}.{k}")
    g = data["gross"]["mean"]
    for payer in ("insurer", "retained"):
        v = data[payer]["mean"]
        if v < -1e-6 * max(1.0, g) or v > g * (1 + 1e-9) + 1e-6:
            raise PortfolioResultsError(f"{path}: {payer}.mean {v!r} is outside [0, gross.mean {g!r}]")
    for key in ("exceedance_curve", "by_supplier", "by_practice", "worst_years", "shared_events", "failed"):
        if not isinstance(data.get(key, []), list):
            raise PortfolioResultsError(f"{path}: expected a list for '{key}'")
    return data


def _margin(block: dict, stat: str) -> str:
    se = block.get(f"{stat}_se")
    return money_with_margin(block.get(stat), None if se is None else float(se))


def _n(x) -> str:
    """A count with thousands separators."""
    return "—" if x is None else f"{int(round(float(x))):,}"


def contract_mean(r: dict) -> float:
    """What NHS and supplier contracts bear in an average year: gross less insurers and practices."""
    return max(0.0, r["gross"]["mean"] - r["insurer"]["mean"] - r["retained"]["mean"])


def _how_often(p: float) -> str:
    """'18% a year' or '1 in 11 years' (never '1 in 11 years a year')."""
    text = chance(p)
    return text if text.startswith(("1 in", "not seen")) else f"{text} a year"


def _practices(n) -> str:
    return f"{_n(n)} practice" + ("" if n == 1 else "s")


def is_synthetic(r: dict) -> bool:
    return str(r.get("source", "")).startswith("synthetic")


def title(r: dict) -> str:
    source = str(r.get("source", ""))
    what = ("an illustrative national book" if is_synthetic(r) else "the example practices"
            if is_shipped_examples(source) else f"the practices of {md_escape(Path(source).name or source)}")
    quarter = f", {md_escape(r['quarter'])}" if r.get("quarter") else ""
    return f"# Portfolio review: {what}{quarter}"


def headline_text(r: dict) -> str:
    """The opening lines (Markdown): the book, its average and 1-in-100 year, and who pays."""
    g, ins, ret = r["gross"], r["insurer"], r["retained"]
    n = int(r.get("practices") or 0)
    lines = [title(r), ""]
    failed = r.get("failed") or []
    lines.append(f"- **{_n(n)} practice{'' if n == 1 else 's'}** in the book, simulated over {_n(r.get('trials'))} "
                 "years" + (f"; **{len(failed):,} could not be included** (listed at the end)." if failed else "."))
    lines.append(f"- **In an average year** the book's cyber losses come to **{money(g['mean'])}**"
                 + (f", about {money(g['mean'] / n)} a practice." if n else "."))
    lines.append(f"- **In a bad year, one in a hundred**, they reach **{_margin(g, 'p99')}**; averaged over the worst "
                 f"1% of years, **{_margin(g, 'tvar99')}**.")
    gm = g["mean"] or 0.0
    share = (lambda v: f" ({percent(v / gm, 0)})") if gm > 0 else (lambda v: "")
    lines.append(f"- **Who pays, in an average year:** insurers {money(ins['mean'])}{share(ins['mean'])}, the practices "
                 f"themselves {money(ret['mean'])}{share(ret['mean'])}, NHS and supplier contracts "
                 f"{money(contract_mean(r))}{share(contract_mean(r))}.")
    lines.append(f"- **Who pays in a 1-in-100 year:** the practices keep {_margin(ret, 'p99')} between them in their "
                 f"1-in-100 year; insurers pay {_margin(ins, 'p99')} in theirs. (Each figure is the 1-in-100 year of "
                 "what that payer pays, so they need not add up to the book's.)")
    hit = r.get("practices_hit") or {}
    if hit and n:
        lines.append(f"- **One bad year hits many practices at once:** shared supplier events hit {_n(hit.get('p99'))} "
                     f"practices ({percent(float(hit.get('p99') or 0) / n, 0)} of the book) in a 1-in-100 year.")
    if is_synthetic(r):
        lines += ["", "*An illustrative national book: the practices are synthetic, made from three fictional example "
                      "practices; no real practice is in it.*"]
    return "\n".join(lines)


def payers_table(r: dict):
    """The book's loss at a few return periods, by payer, for display."""
    import pandas as pd

    rows = []
    for label, stat in (("Average year", "mean"), ("1 year in 10", "p90"), ("1 year in 20", "p95"),
                        ("1 year in 100", "p99"), ("1 year in 200", "p99_5"), ("Average of the worst 1% of years", "tvar99")):
        if stat not in r["gross"]:
            continue
        rows.append({"": label, "All losses": _margin(r["gross"], stat), "Paid by insurers": _margin(r["insurer"], stat),
                     "Kept by the practices": _margin(r["retained"], stat)})
    return pd.DataFrame(rows)


def margins_note(r: dict) -> str:
    table = payers_table(r)
    if not any("±" in str(v) for c in table.columns for v in table[c]):
        return ""
    return (f"*Figures marked ± are uncertain because they come from {_n(r.get('trials'))} simulated years: 95% of "
            "reruns with other random numbers would land within the margin. Four times as many years would halve it.*")


def exceedance_rows(r: dict) -> list[dict]:
    """Rows of :func:`riskmodel.outputs.svgcharts.bars_svg`: the book's loss at each return period."""
    from .colours import PAYER_COLOURS

    rows = []
    for pt in sorted(r.get("exceedance_curve") or [], key=lambda p: float(p["return_period"])):
        rp, loss = float(pt["return_period"]), _finite(pt["loss"], "exceedance_curve.loss")
        label = f"1 year in {rp:,.0f}"
        rows.append({"label": label, "key": f"{rp:g}",
                     "bars": [{"segments": [(0.0, loss, PAYER_COLOURS["gross"], f"{label}: {money(loss)}")],
                               "text": money(loss)}]})
    return rows


def exceedance_chart(r: dict) -> str:
    from .svgcharts import bars_svg

    rows = exceedance_rows(r)
    if not rows:
        return ""
    return bars_svg(rows, title="How bad a year can be for the whole book", css_class="rm-portfolio-exceedance",
                    xlabel="The book's losses in a year at least this bad (all payers)")


def practices_hit_text(r: dict) -> str:
    hit = r.get("practices_hit") or {}
    n = int(r.get("practices") or 0)
    if not hit:
        return ""

    def part(x, average: bool = False) -> str:
        count = f"{float(x):,.1f}" if average and x is not None and float(x) < 10 else _n(x)
        return count + (f" ({percent(float(x) / n, 0)})" if n and x is not None else "")

    return ("## How many practices one bad year hits\n\n"
            f"Shared supplier events (a clinical system down across the country, a telephony or laboratory "
            f"supplier attacked) hit many practices in the same year. Of the book's {_n(n)} practices they hit "
            f"**{part(hit.get('mean'), average=True)} in an average year**, {part(hit.get('p90'))} in 1 year in 10, "
            f"**{part(hit.get('p99'))} in 1 year in 100**, and at most {part(hit.get('max'))} in any of the "
            f"{_n(r.get('trials'))} years simulated.")


def events_table(r: dict):
    """The shared supplier events the book was simulated with, in words."""
    import pandas as pd

    rows = []
    for e in r.get("shared_events") or []:
        freq = float(e.get("frequency") or 0)
        hours = (f"{float(e['hours_low']):,.0f}–{float(e['hours_high']):,.0f} hours"
                 if float(e.get("hours_high") or 0) > 0 else "no interruption")
        lo, hi = float(e.get("share_low", 1)), float(e.get("share_high", 1))
        share = "all" if lo == hi == 1 else (percent(lo, 0) if lo == hi else f"{percent(lo, 0)}–{percent(hi, 0)}")
        rows.append({"Event": e.get("name", ""), "Supplier": e.get("supplier", ""),
                     "Service": SERVICE_LABELS.get(e.get("service"), e.get("service", "")),
                     "How often": _how_often(1 - math.exp(-freq)) if freq > 0 else "never",
                     "Interruption": hours, "Share of its practices hit": share,
                     "Chance of a data breach": percent(float(e.get("breach_probability") or 0), 0),
                     "Practices using the supplier": _n(e.get("practices"))})
    return pd.DataFrame(rows)


def supplier_rows(r: dict) -> list[dict]:
    """Per supplier, its part of the book's worst 1% of years (``share_of_1_in_100``: its share of
    their average, the book's TVaR99), largest first."""
    worst = float(r["gross"]["tvar99"])
    rows = []
    for s in r.get("by_supplier") or []:
        share = _finite(s.get("share_of_1_in_100") or 0.0, "by_supplier.share_of_1_in_100")
        rows.append({"supplier": str(s.get("supplier", "")), "practices": s.get("practices"),
                     "mean": _finite(s.get("mean") or 0.0, "by_supplier.mean"),
                     "p99": _finite(s.get("p99") or 0.0, "by_supplier.p99"), "share": share, "amount": share * worst})
    return sorted(rows, key=lambda x: -x["share"])


def supplier_chart(r: dict) -> str:
    from .colours import PAYER_COLOURS
    from .svgcharts import bars_svg

    rows = supplier_rows(r)
    if not rows:
        return ""
    bars = [{"label": s["supplier"], "key": s["supplier"],
             "bars": [{"segments": [(0.0, s["amount"], PAYER_COLOURS["gross"], f"{s['supplier']}: {money(s['amount'])}")],
                       "text": f"{money(s['amount'])} ({percent(s['share'], 0)})"}]} for s in rows]
    return bars_svg(bars, title="Each supplier's part of the book's worst 1% of years",
                    css_class="rm-portfolio-suppliers",
                    xlabel=f"Part of the {money(r['gross']['tvar99'])} those years cost on average")


def supplier_table(r: dict):
    import pandas as pd

    rows = supplier_rows(r)
    out = [{"Supplier": s["supplier"], "Practices using it": _n(s["practices"]),
            "Expected a year": money(s["mean"]), "Its own 1-in-100 year": money(s["p99"]),
            "Part of the book's worst 1% of years": f"{money(s['amount'])} ({percent(s['share'], 0)})"} for s in rows]
    return pd.DataFrame(out)


def supplier_text(r: dict) -> str:
    rows = supplier_rows(r)
    if not rows:
        return "## Suppliers\n\nNo shared supplier events were simulated for this book."
    top = rows[0]
    rest = max(0.0, 1.0 - sum(s["share"] for s in rows))
    text = (f"## Which suppliers make a bad year bad\n\nIn the book's worst 1% of years (1 in 100 and worse; they "
            f"cost {money(r['gross']['tvar99'])} on average), "
            f"**{md_escape(top['supplier'])}** accounts for **{money(top['amount'])} ({percent(top['share'], 0)})**: "
            f"when it fails, {_n(top['practices'])} practices are hit together.")
    if rest > 0.005:
        text += (f" The practices' own risks (their registers: ransomware, phishing, lost laptops, misdirected letters) "
                 f"make up the other {percent(rest, 0)} or so.")
    return text


def practice_rows(r: dict) -> list[dict]:
    rows = []
    for p in r.get("by_practice") or []:
        rows.append({"practice": str(p.get("practice", "")), "mean": _finite(p.get("mean") or 0.0, "by_practice.mean"),
                     "p99": _finite(p.get("p99") or 0.0, "by_practice.p99"),
                     "contribution": _finite(p.get("contribution_tvar99") or 0.0, "by_practice.contribution_tvar99")})
    return sorted(rows, key=lambda x: (-x["contribution"], x["practice"]))


def practices_table(r: dict, n: int = TOP_PRACTICES):
    import pandas as pd

    tvar = float(r["gross"].get("tvar99") or 0.0)
    out = [{"Practice": p["practice"], "Expected a year": money(p["mean"]), "Its own 1-in-100 year": money(p["p99"]),
            "Its part of the worst 1% of years": money(p["contribution"])
            + (f" ({percent(p['contribution'] / tvar, 1)})" if tvar > 0 else "")}
           for p in practice_rows(r)[:n]]
    return pd.DataFrame(out)


def practices_text(r: dict, n: int = TOP_PRACTICES) -> str:
    rows = practice_rows(r)
    if not rows:
        return ""
    tvar = float(r["gross"].get("tvar99") or 0.0)
    shown, rest = rows[:n], rows[n:]
    text = (f"## Practices contributing most to the worst years\n\nIn the worst 1% of simulated years the book loses "
            f"{money(tvar)} on average. The {len(shown)} practice{'' if len(shown) == 1 else 's'} below contribute most to "
            "those years: usually the largest practices, and those using the suppliers that fail together.")
    if rest:
        rest_sum = sum(p["contribution"] for p in rest)
        text += (f" The other {len(rest):,} practices together contribute {money(rest_sum)}"
                 + (f" ({percent(rest_sum / tvar, 0)})" if tvar > 0 else "") + ", none of them more than "
                 f"{money(rest[0]['contribution'])}.")
    return text


def worst_years_table(r: dict, n: int = WORST_YEARS):
    """The worst simulated years and what drove them, in words."""
    import pandas as pd

    years = sorted(r.get("worst_years") or [], key=lambda y: -float(y.get("gross") or 0))[:n]
    out = []
    for rank, y in enumerate(years, 1):
        shared = sorted(y.get("shared") or [], key=lambda s: -float(s.get("gross") or 0))
        drivers = [f"{s.get('supplier') or s.get('event')} ({_practices(s.get('practices'))}, {money(s.get('gross'))})"
                   for s in shared]
        own = y.get("own_risks_gross")
        if own is not None:
            drivers.append(f"practices' own risks {money(own)}")
        out.append({"Rank": f"{rank:,}", "Book's loss": money(y.get("gross")), "Insurers paid": money(y.get("insurer")),
                    "Practices kept": money(y.get("retained")), "Practices hit": _n(y.get("practices_hit")),
                    "What drove it": "; ".join(drivers) or "practices' own risks"})
    return pd.DataFrame(out)


def worst_years_text(r: dict) -> str:
    years = r.get("worst_years") or []
    if not years:
        return ""
    return (f"## The worst simulated years\n\nThe {min(WORST_YEARS, len(years))} worst of the {_n(r.get('trials'))} "
            "years simulated, and what drove each: shared supplier events (the supplier, how many practices it hit, "
            "what it cost them) and the practices' own risks.")


def failed_text(r: dict) -> str:
    failed = r.get("failed") or []
    if not failed:
        return ""
    items = "\n".join(f"- **{md_escape(f.get('practice', ''))}**: {md_escape(f.get('error') or 'no reason given')}"
                      for f in failed)
    return (f"## Practices not in this review ({len(failed):,})\n\nTheir files could not be read, so nothing above is "
            f"about them; fix their files and run again.\n\n{items}")


def caveats_text(r: dict) -> str:
    lines = ["## How to read this, and what it leaves out", ""]
    if is_synthetic(r):
        lines.append("- **Illustrative.** The practices are synthetic: list sizes, clinical systems and policies are "
                     "drawn from published national shares (docs/portfolio.md), and each practice's risks are one of "
                     "three fictional example practices' resized. Use it to see the shape of the problem, not to "
                     "price a real book.")
    else:
        lines.append("- **Built from the practices' own registers**, policies and contracts, and the shared supplier "
                     "events of the book's portfolio.toml. The example files are illustrative.")
    lines += [
        "- **How often a supplier fails is a judgement.** Public events (the July 2024 EMIS outage, Adastra 2022, "
        "Synnovis 2024, WannaCry 2017) show how many practices one event can hit and for how long; there are too "
        "few of them to say how often it happens. The frequencies are assumptions: change them in portfolio.toml.",
        "- **Simulated years, not a forecast.** *1 year in 100* means a year this bad or worse comes about once a "
        "century on average; it can come next year. The *worst 1% of years* figure is the average of those years.",
        "- **Who pays** follows each practice's policy (its limits, excess and waiting period) and the NHS and "
        "supplier contracts; *kept by the practices* is what no one else pays. Partners in a partnership carry it "
        "personally.",
        "- **Not included:** the NHS's own costs, patient harm, losses of suppliers themselves, and any help an "
        "ICB gives practices after an event. A practice's own supplier-outage risk in its register may overlap "
        "with the shared events.",
        "- Bar charts use a linear scale from £0, with the exact amount written beside each bar.",
    ]
    return "\n".join(lines)


# ---- running the notebook ----------------------------------------------------------------------
__all__ = ["load_results", "headline_text", "payers_table", "margins_note", "exceedance_chart", "practices_hit_text",
           "events_table", "supplier_chart", "supplier_table", "supplier_text", "practices_table", "practices_text",
           "worst_years_table", "worst_years_text", "failed_text", "caveats_text",
           "PortfolioResultsError"]
