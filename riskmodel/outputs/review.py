"""The advisors' insurance gap review: every practice of a quarter side by side.

It reads the ``results.json`` each practice's quarterly report wrote (no new simulation, so the
review shows exactly the reported numbers) and says, per practice, what to raise: a limit below
the 1-in-100 year insured loss, a limit or sublimit likely to run out, an excess or waiting period
that leaves much with the practice, claims lost to exclusions or warranties, no policy at all,
and the planned control that would cut the practice's own loss most per pound.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..inputs.components import COMPONENT_LABELS
from ..io.formatting import md_escape, money, money_with_margin, percent, trials_to_halve
from ..analysis.schema import read_results
from ..coverage.invariants import check_summary

#: Thresholds for raising a point (documented in docs/reports.md).
EXHAUSTION_TO_RAISE = 0.01      # chance a year that the aggregate limit runs out
SUBLIMIT_TO_RAISE = 0.05        # chance a year that a section's sublimit runs out
REASON_SHARE_TO_RAISE = 0.25    # share of the practice's retained loss due to one policy term
SAVING_PER_POUND_TO_RAISE = 1.0  # a planned control returning more than £1 per £1 of cost


def _read_results(f: Path, folder: str) -> dict:
    """One practice's ``results.json``, checked: every key as docs/results.schema.json declares it
    (a renamed or missing key fails here, naming the file and the key) and every split adds up
    (never show an impossible figure from any file).

    Raises
    ------
    ResultsSchemaError
        If the file does not match the report results schema.
    """
    data = read_results(f, "report")
    check_summary(data, str(f))
    data["folder"] = folder
    return data


def load_quarter(quarter_dir: str | Path) -> list[dict]:
    """Every practice's results in ``outputs/<quarter>/``, by practice folder name."""
    root = Path(quarter_dir)
    return [_read_results(f, f.parent.name) for f in sorted(root.glob("*/results.json"))
            if not f.parent.name.startswith((".", "_"))]


def load_run(quarter_dir: str | Path, run_status: str | Path | None = None) -> tuple[list[dict], list[dict]]:
    """The practices a ``report`` run reviews, and those it cannot.

    ``run_status`` is the run's JSON list of manifest rows (practice, status, error): only the
    results of practices with status ok are read — a practice that failed this time is never shown
    with an earlier run's numbers — and every other practice comes back in the second list with its
    status and reason, for the review to name. Without ``run_status`` (the notebook run by hand)
    every ``results.json`` in ``quarter_dir`` is read."""
    if run_status is None:
        return load_quarter(quarter_dir), []
    root = Path(quarter_dir)
    results, others = [], []
    for row in json.loads(Path(run_status).read_text(encoding="utf-8")):
        if row.get("status") != "ok":
            others.append(row)
            continue
        f = root / row["practice"] / "results.json"
        try:
            data = _read_results(f, row["practice"])
        except (OSError, ValueError) as exc:
            others.append({**row, "status": "failed", "error": f"its results.json could not be read ({exc})"})
            continue
        results.append(data)
    return results, others


def not_reviewed_text(others: list[dict]) -> str:
    """One Markdown line naming every practice not in the review, with its status and reason."""
    if not others:
        return ""
    items = "; ".join(f"{md_escape(o['practice'])} ({md_escape(o.get('status', 'failed'))}: "
                      f"{md_escape(o.get('error') or 'no reason given')})" for o in others)
    return (f"- **Not in this review ({len(others)}):** {items}. Their reports were not produced this "
            "quarter: nothing in this review is about them.")


# The limit helpers live with the insurance advice (one place for report and review).
from ..analysis.actions import (STANDARD_LIMITS, insurance_advice, insured as _insured, limit_enough,  # noqa: E402,F401
                      policy_limit as _limit, round_up)


def overview(results: list[dict]) -> pd.DataFrame:
    """One row per practice: losses, what it keeps, its policy and whether the limit is enough."""
    rows = []
    for r in results:
        pol = r.get("policy") or {}
        need = r.get("limit_for_1_in_100")
        limit = _limit(pol) if _insured(r) else None
        rows.append({
            "Practice": r["practice"]["name"], "Folder": r["folder"], "List size": r["practice"].get("list_size"),
            "Expected annual loss": r["gross"]["mean"], "1-in-100 year loss": r["gross"]["p99"],
            "Kept by practice (expected)": r["retained"]["mean"], "Kept in a 1-in-100 year": r["retained"]["p99"],
            "Policy": pol.get("name") if _insured(r) else "none",
            "Limit": limit, "Excess": pol.get("excess") if _insured(r) else None,
            "1-in-100 insured loss": need,
            "Limit enough?": None if limit is None or need is None else limit_enough(r),
            "Chance limit runs out": r.get("prob_aggregate_exhausted"),
            "Premium": pol.get("premium") if _insured(r) else None,
            # Monte Carlo standard errors of the tail figures (shown as ± when over 2%)
            "_se 1-in-100 year loss": r["gross"].get("p99_se"),
            "_se Kept in a 1-in-100 year": r["retained"].get("p99_se"),
        })
    return pd.DataFrame(rows)


def formatted(df: pd.DataFrame) -> pd.DataFrame:
    """The overview with money as £12,300 and probabilities as percentages, for display."""
    out = df.copy()
    for c in ("1-in-100 year loss", "Kept in a 1-in-100 year"):
        se = out.get(f"_se {c}", pd.Series([None] * len(out), index=out.index))
        out[c] = [money_with_margin(v, None if e is None or pd.isna(e) else float(e)) for v, e in zip(out[c], se)]
    for c in ("Expected annual loss", "Kept by practice (expected)", "Limit", "Excess", "1-in-100 insured loss",
              "Premium"):
        out[c] = out[c].map(lambda v: "—" if v is None or pd.isna(v) else money(v))
    out["List size"] = out["List size"].map(lambda v: "—" if v is None or pd.isna(v) else f"{int(v):,}")
    out["Chance limit runs out"] = out["Chance limit runs out"].map(
        lambda v: "—" if v is None or pd.isna(v) else percent(v))
    out["Limit enough?"] = out["Limit enough?"].map(lambda v: "—" if v is None or pd.isna(v) else ("yes" if v else "NO"))
    return out.drop(columns=["Folder"] + [c for c in out.columns if c.startswith("_se ")])


def margins_note(results: list[dict]) -> str:
    """One plain sentence on the ± margins of the side-by-side table (Markdown), or ``""``."""
    df = overview(results)
    shown = any("±" in str(v) for c in ("1-in-100 year loss", "Kept in a 1-in-100 year") for v in formatted(df)[c])
    if not shown:
        return ""
    trials = sorted({int(r["trials"]) for r in results if r.get("trials")})
    if len(trials) != 1:
        return ("*Figures marked ± are uncertain because they come from a limited number of simulated years; "
                "four times as many years would halve the margins.*")
    return f"*Figures marked ± are uncertain because they come from {trials[0]:,} simulated years. {trials_to_halve(trials[0])}*"


def retained_by_reason(r: dict) -> dict[str, float]:
    """Expected retained pounds a year by reason, summed over components."""
    out: dict[str, float] = {}
    for row in r.get("gap_table", []):
        for reason, v in row["reasons"].items():
            out[reason] = out.get(reason, 0.0) + v
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def talking_points(r: dict) -> list[str]:
    """What an advisor should raise with the practice, most important first."""
    points = []
    kept = r["retained"]["mean"]
    pol = r.get("policy") or {}
    # the insurance advice is the report's own (riskmodel.analysis.actions.insurance_advice), written once
    advice = insurance_advice(r)
    points += [f"**{a['title']}** {md_escape(a['what'])}" for a in advice if a["topic"] in ("uninsured", "limit")]
    if _insured(r):
        limit = _limit(pol)
        p = r.get("prob_aggregate_exhausted") or 0.0
        if p >= EXHAUSTION_TO_RAISE and not any(a.get("at_limit") for a in advice):
            points.append(f"The {money(limit)} limit runs out in {percent(p)} of years.")
        for comp, q in sorted((r.get("prob_sublimit_exhausted") or {}).items(), key=lambda kv: -kv[1]):
            if q >= SUBLIMIT_TO_RAISE:
                sub = (pol.get("sections", {}).get(comp) or {}).get("sublimit")
                points.append(f"The {COMPONENT_LABELS[comp].lower()} sublimit ({money(sub)}) runs out in "
                              f"{percent(q)} of years.")
        reasons = retained_by_reason(r)
        for reason, v in reasons.items():
            if kept > 0 and v / kept >= REASON_SHARE_TO_RAISE and reason not in ("not covered", "no policy"):
                hint = {"excess": f"the {money(pol.get('excess'))} excess per claim",
                        "waiting period": f"the {pol.get('waiting_period_hours'):g}-hour business-interruption waiting period",
                        "exclusion": "exclusions and warranties"
                                     + (f" (warranted controls: {md_escape(', '.join(pol.get('requires_controls') or []))})"
                                        if pol.get("requires_controls") else ""),
                        "sublimit": "section sublimits", "aggregate limit": "the aggregate limit",
                        "claim limit": "the any-one-claim limit", "indemnity period": "the indemnity period",
                        "coinsurance": "the practice's coinsurance share"}.get(reason, md_escape(reason))
                points.append(f"{money(v)} of the {money(kept)} the practice keeps a year is due to {hint}.")
    points += [f"**{a['title']}** {md_escape(a['what'])}" for a in advice if a["topic"] == "warranty"]
    ico = r.get("ico_72h") or {}
    compliance = [a for a in r.get("actions") or [] if a.get("kind") == "compliance"]
    if compliance:
        points.insert(0, f"**Breach reporting.** {md_escape(compliance[0]['what'])}")
    elif (ico.get("open") or 0) > 0 or (ico.get("late") or 0) > 0:
        points.insert(0, f"**Breach reporting.** {int(ico.get('open') or 0)} open and {int(ico.get('late') or 0)} "
                         "late reports to the ICO: the law requires a report within 72 hours.")
    fines = next((row for row in r.get("gap_table", []) if row["component"] == "regulatory_fine"), None)
    if fines and fines["retained"] >= 1:
        points.append(f"Regulatory fines ({money(fines['retained'])} a year expected) are generally not insurable "
                      "in England: they stay with the practice whatever the policy.")
    best = [c for c in r.get("controls_ranking", []) if c["status"] == "planned"
            and (c.get("saving_per_pound") or 0) >= SAVING_PER_POUND_TO_RAISE]
    if best:
        c = best[0]
        points.append(f"Put **{md_escape(c['label'])}** in place: it would cut the practice's own expected loss by "
                      f"{money(c['reduction_in_retained_loss'])} a year for {money(c['annual_cost'])} "
                      f"(£{c['saving_per_pound']:,.2f} per £1).")
    if not points:
        points.append("Nothing to raise: the policy covers a 1-in-100 year and no term leaves much with the practice.")
    return points


def standards_overview(results: list[dict]) -> pd.DataFrame:
    """The standards across practices, compactly: per practice, how many Cyber Essentials controls
    and National Data Guardian standards its controls in place cover, and which are not covered."""
    from ..inputs.standards import STANDARDS

    rows = []
    for r in results:
        std = r.get("standards") or {}
        row = {"Practice": r["practice"]["name"]}
        for key, title in STANDARDS.items():
            reqs = std.get(key) or []
            short = "Cyber Essentials" if key == "cyber_essentials" else "NDG standards"
            row[f"{short} covered"] = (f"{sum(q['status'] == 'in_place' for q in reqs)} of {len(reqs)}"
                                       if reqs else "—")
            row[f"{short} not covered"] = "; ".join(
                q["name"] + (" (planned)" if q["status"] == "planned" else "")
                for q in reqs if q["status"] != "in_place") or ("none" if reqs else "—")
        rows.append(row)
    return pd.DataFrame(rows)


def chart_rows(results: list[dict]) -> list[dict]:
    """Inputs of :func:`riskmodel.outputs.svgcharts.limits_svg` and :func:`~riskmodel.outputs.svgcharts.reasons_svg`."""
    rows = []
    for r in results:
        insured = _insured(r)
        rows.append({"name": r["practice"]["name"].replace(" (illustrative)", ""),
                     "need": (r.get("limit_for_1_in_100") or 0.0) if insured else r["retained"]["p99"],
                     "limit": _limit(r["policy"]) if insured and _limit(r["policy"]) < math.inf else None,
                     "reasons": retained_by_reason(r)})
    return rows


def review_text(results: list[dict], quarter: str, not_reviewed: list[dict] = ()) -> str:
    """The review's opening lines (Markdown), naming first every practice the run could not
    review (``not_reviewed``, from :func:`load_run`) with its reason."""
    n = len(results)
    uninsured = [r for r in results if not _insured(r)]
    short = [r for r in results if _insured(r) and not limit_enough(r)]
    kept = sum(r["retained"]["mean"] for r in results)
    lines = [f"# Insurance gap review, {md_escape(quarter)}", ""]
    if not_reviewed:
        lines.append(not_reviewed_text(list(not_reviewed)))
    lines += [f"- **{n} practice{'' if n == 1 else 's'}** reviewed; together they keep an expected **{money(kept)} a year** of their "
             "cyber losses themselves (after NHS and supplier contracts and their policies).",
             f"- **Uninsured:** {', '.join(md_escape(r['practice']['name']) for r in uninsured) or 'none'}.",
             f"- **Limit not enough for a 1-in-100 year:** "
             f"{', '.join(md_escape(r['practice']['name']) for r in short) or 'none'}."]
    clocks = [(r, r["ico_72h"]) for r in results if r.get("ico_72h")]
    if clocks:
        late = [f"{md_escape(r['practice']['name'])} ({c['late']})" for r, c in clocks if c.get("late")]
        open_ = [f"{md_escape(r['practice']['name'])} ({c['open']})" for r, c in clocks if c.get("open")]
        lines.append(f"- **ICO 72-hour clock** ({len(clocks)} practice(s) keep an incident log): "
                     f"{sum(c.get('late', 0) for _, c in clocks)} breach report(s) late"
                     + (f" ({', '.join(late)})" if late else "")
                     + f"; **{sum(c.get('open', 0) for _, c in clocks)} not reported after 72 hours**"
                     + (f" ({', '.join(open_)})" if open_ else "") + ".")
    if any(r["practice"].get("illustrative") for r in results):
        lines += ["", "*Includes illustrative example practices: their numbers are not about real practices.*"]
    return "\n".join(lines)


__all__ = ["standards_overview", "limit_enough", "load_run", "not_reviewed_text", "margins_note", "chart_rows", "review_text", "load_quarter", "overview", "formatted", "talking_points", "retained_by_reason", "round_up"]
