"""The JSON of ``riskmodel portfolio`` (keys: docs/portfolio-engine.md; schema:
docs/portfolio.schema.json) and its summary in plain words."""
from __future__ import annotations

import numpy as np

from ...coverage.invariants import check_summary
from ...io.formatting import money
from ...io.shipped import package_version
from ..metrics import exceedance_curve, summarize

#: Worst simulated years listed, with what drove them.
WORST_YEARS = 10


def _supplier_key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def shared_events_rows(portfolio) -> list[dict]:
    return [{"name": e.name, "supplier": e.supplier, "service": e.service, "frequency": e.frequency,
             "hours_low": e.hours_low, "hours_high": e.hours_high, "share_low": e.share_low,
             "share_high": e.share_high, "breach_probability": e.breach_probability,
             "breach_cost_low": e.breach_cost_low, "breach_cost_high": e.breach_cost_high,
             "practices": len(portfolio.practices_of(e)), "description": e.description, "source": e.source}
            for e in portfolio.events]


def by_supplier(run, tvar99: float) -> list[dict]:
    """Per supplier (its shared events together): practices exposed, mean and 1-in-100 yearly
    gross of its events across the book, and its share of the book's worst 1% of years (its
    gross in those years over the book's: the share of the TVaR99 it causes)."""
    book = run.portfolio
    groups: dict[str, list[int]] = {}
    for e, event in enumerate(book.events):
        groups.setdefault(_supplier_key(event.supplier), []).append(e)
    rows = []
    for key, idx in groups.items():
        series = run.event_gross[idx].sum(axis=0) / 100.0
        exposed = set().union(*(book.practices_of(book.events[e]) for e in idx))
        rows.append({"supplier": book.events[idx[0]].supplier, "practices": len(exposed),
                     "events": [book.events[e].name for e in idx],
                     "mean": float(series.mean()), "p99": float(np.quantile(series, 0.99)),
                     "share_of_1_in_100": float(series[run.tail].mean() / tvar99) if tvar99 > 0 else 0.0})
    return sorted(rows, key=lambda r: (-r["share_of_1_in_100"], -r["mean"], r["supplier"]))


def by_practice(run) -> list[dict]:
    """Per practice: mean and 1-in-100 yearly gross, its contribution to the book's TVaR99 (they
    add up to it), and what its insurer and the practice itself pay on average."""
    n = run.trials
    rows = []
    for i, p in enumerate(run.portfolio.practices):
        s = run.practice_sums[i]
        rows.append({"practice": p.name, "icb": p.icb, "insured": bool(p.policy is not None and p.policy.insured),
                     "mean": float(s[0] / 100.0 / n), "p99": float(run.practice_p99[i]),
                     "contribution_tvar99": float(run.contribution[i]),
                     "insurer_mean": float(s[2] / 100.0 / n), "retained_mean": float(s[3] / 100.0 / n)})
    return sorted(rows, key=lambda r: (-r["contribution_tvar99"], r["practice"]))


def worst_years(run, count: int = WORST_YEARS) -> list[dict]:
    """The book's worst simulated years by gross (year numbers from 1), with each shared event's
    part and the practices' own risks' part."""
    gross = run.money[0]
    years = np.argsort(-gross, kind="stable")[:count]
    book = run.portfolio
    rows = []
    for y in years.tolist():
        shared = [{"event": e.name, "supplier": e.supplier, "practices": int(run.event_hits[k, y]),
                   "gross": float(run.event_gross[k, y] / 100.0)}
                  for k, e in enumerate(book.events) if run.event_hits[k, y] > 0]
        shared.sort(key=lambda r: -r["gross"])
        own = int(gross[y] - run.event_gross[:, y].sum())
        rows.append({"year": y + 1, "gross": float(gross[y] / 100.0), "contract": float(run.money[1, y] / 100.0),
                     "insurer": float(run.money[2, y] / 100.0), "retained": float(run.money[3, y] / 100.0),
                     "practices_hit": int(run.hits[y]), "shared": shared, "own_risks_gross": own / 100.0})
    return rows


def portfolio_summary(run, *, quarter: str | None, failed=()) -> dict:
    """Everything ``riskmodel portfolio --json`` writes (checked: every number finite, the payers
    adding up to gross, each within [0, gross])."""
    book = run.portfolio
    out: dict = {"kind": "portfolio", "version": package_version(), "trials": run.trials, "seed": run.seed,
                 "quarter": quarter, "source": book.source, "practices": len(book.practices),
                 "failed": [{"practice": p, "error": e} for p, e in failed],
                 "shared_events": shared_events_rows(book)}
    for payer in ("gross", "contract", "insurer", "retained"):
        out[payer] = summarize(run.payer(payer))
    out["exceedance_curve"] = exceedance_curve(run.payer("gross"))
    hits = run.hits
    out["practices_hit"] = {"mean": float(hits.mean()), "p90": float(np.quantile(hits, 0.9)),
                            "p99": float(np.quantile(hits, 0.99)), "max": int(hits.max())}
    out["by_supplier"] = by_supplier(run, out["gross"]["tvar99"])
    out["by_practice"] = by_practice(run)
    out["worst_years"] = worst_years(run)
    check_summary(out, f"portfolio results of {book.source}")
    return out


def summary_words(out: dict, where: str = "") -> str:
    """A few plain lines for the terminal."""
    g, i, r = out["gross"], out["insurer"], out["retained"]
    lines = [f"{out['practices']:,} practices, {len(out['shared_events'])} shared supplier events, "
             f"{out['trials']:,} simulated years (seed {out['seed']})" + (f", on {where}" if where else "") + ".",
             f"In an average year the book loses {money(g['mean'])}: insurers pay {money(i['mean'])}, "
             f"the practices keep {money(r['mean'])}.",
             f"In a 1-in-100 year it loses {money(g['p99'])} (the worst 1% of years average {money(g['tvar99'])}); "
             f"practices keep {money(r['p99'])} in their 1-in-100 year.",
             f"Shared supplier events hit {out['practices_hit']['mean']:,.1f} practices in an average year, "
             f"{out['practices_hit']['p99']:,.0f} in a 1-in-100 year, at most {out['practices_hit']['max']:,}."]
    top = [s for s in out["by_supplier"] if s["share_of_1_in_100"] > 0][:3]
    if top:
        lines.append("Of the worst 1% of years: " + "; ".join(
            f"{s['supplier']} {100 * s['share_of_1_in_100']:.0f}%" for s in top) + ".")
    if out["failed"]:
        lines.append(f"{len(out['failed'])} practices left out (errors):")
        lines += [f"  {f['practice']}: {f['error']}" for f in out["failed"]]
    return "\n".join(lines)


__all__ = ["portfolio_summary", "summary_words", "by_supplier", "by_practice", "worst_years", "WORST_YEARS"]
