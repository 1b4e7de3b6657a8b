"""What a quarterly report shows, computed in the package (the notebook only presents it).

The figures are :class:`~riskmodel.outputs.report_results.ReportResults` (built in
:mod:`riskmodel.outputs.report_results`); :attr:`QuarterlyReport.summary` is their results.json.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.shipped import package_version
from ..io.atomic import atomic_path, write_text
from ..inputs.contracts import load_contracts
from ..analysis.engine import ScenarioModel, SimulationResult
from ..analysis.schema import read_results, validate_results
from ..coverage.invariants import check_summary
from ..io.locations import REGISTER_SUFFIXES, beside, find_policy, find_quarter_register  # noqa: F401
from . import narrative
from .report_results import ReportResults, build_report_results, controls_ranking, previous_inputs  # noqa: F401
from ..io.formatting import (MARGIN_SHOWN_ABOVE, chance, md_escape, money, money_with_margin, one_in, percent,
                         signed_money, trials_to_halve)
from ..inputs.policy import Policy, load_policy
from ..inputs.register import Register, load_register



_FIGURE = re.compile(r"^\s*([+\-−]?£[\d,.]+( ± £[\d,.]+)?|[<>]?[\d,.]+%|[\d,.]+|1 in [\d,]+( years)?|—|–|-|)\s*$")


def table(df: pd.DataFrame):
    """A table for a report: no index, every cell HTML-escaped (names from the inputs are shown as
    typed, never as markup); columns of words left-aligned, columns of figures right-aligned."""
    style = df.style.hide(axis="index").format(escape="html")
    words = [c for c in df.columns if not all(_FIGURE.match(str(v)) for v in df[c])]
    figures = [c for c in df.columns if c not in words]
    if figures:
        style = style.set_properties(subset=figures, **{"white-space": "nowrap"})   # "£88,895 ± £3,800"
    if words:
        style = style.set_properties(subset=words, **{"text-align": "left"})
        style = style.set_table_styles([{"selector": f"th.col{df.columns.get_loc(c)}",
                                         "props": [("text-align", "left")]} for c in words], overwrite=False)
    return style


@dataclass
class QuarterlyReport:
    """One practice's quarter: simulated losses, who pays, and what would change them."""

    quarter: str
    register: Register
    policy: Policy | None
    model: ScenarioModel
    result: SimulationResult
    results: ReportResults
    previous: dict | None = None

    @classmethod
    def build(cls, register: str, quarter: str, policy: str | None = None, contracts: str | None = None,
              trials: int = 100_000, seed: int = 20261, previous_results: str | None = None) -> "QuarterlyReport":
        """Simulate a practice's quarter and compute every figure of its report.

        ``previous_results``: the previous quarter's results.json (read and checked against the
        results schema: a file that does not match fails here, naming the file and the key)."""
        from ..analysis.evidence import with_incident_log

        path = Path(register)
        # the practice's incident log beside the register (if any) updates its frequencies and
        # starts the 72-hour clock, read at the end of the register's quarter
        reg, log_warnings = with_incident_log(load_register(path))
        pol_path = Path(policy) if policy else find_policy(path, quarter)
        pol = load_policy(pol_path, set(reg.controls)) if pol_path else None
        con = load_contracts(Path(contracts) if contracts else beside(path, "contracts.toml"))
        model = ScenarioModel(reg, trials, seed, show_progress=False)
        result = model.result(pol, con)
        prev = None
        if previous_results and Path(previous_results).is_file():
            prev = read_results(previous_results, "report")
        results = build_report_results(path, quarter, reg, pol, model, result, prev)
        return cls(quarter, reg, pol, model, result, results, prev)

    @cached_property
    def summary(self) -> dict:
        """The results.json (:meth:`ReportResults.to_json`), checked: every split adds up and every
        key matches docs/results.schema.json (``report``)."""
        out = self.results.to_json()
        where = f"results of {self.register.path}"
        check_summary(out, where)
        validate_results(out, "report", where=where)
        return out

    def incidents_markdown(self) -> str:
        """Our own incidents: the ICO 72-hour clock and what the log taught the frequencies (empty
        without an incident log)."""
        return narrative.incidents_markdown(self.summary)

    # ---- numbers -------------------------------------------------------------------------
    def controls_ranking(self) -> pd.DataFrame:
        """Each control named in the register: the reduction in expected retained loss from
        having it in place (same simulated years), per pound of its annual cost."""
        return controls_ranking(self.result, self.model, self.register, self.policy)

    # ---- presentation helpers --------------------------------------------------------------
    def headline(self) -> str:
        """Plain-English headline (Markdown)."""
        s = self.summary
        g, r = s["gross"], s["retained"]
        name = md_escape(s["practice"]["name"])
        lines = [f"## {name}: cyber risk, {md_escape(self.quarter)}", ""]
        if s["practice"].get("illustrative"):
            lines += ["*Illustrative example practice: the numbers are not about a real practice.*", ""]
        lines += [
            f"- **Expected annual loss: {money(g['mean'])}** from cyber incidents, of which the practice "
            f"itself would bear about **{money(r['mean'])}** a year on average.",
            f"- **A bad year** (1 in 20): losses of **{self.figure('gross', 'p95')}** or more; a **very bad "
            f"year** (1 in 100): **{self.figure('gross', 'p99')}** or more, of which the practice would keep "
            f"**{self.figure('retained', 'p99')}**.",
        ]
        pol = self.policy
        if pol is None or not pol.insured:
            lines.append("- **The practice has no cyber insurance**: everything not borne by NHS or supplier "
                         "contracts falls on the partners, who carry unlimited liability.")
        else:
            p = s["prob_aggregate_exhausted"] or 0.0
            lines.append(f"- **Policy**: {md_escape(pol.name)}, limit {money(pol.aggregate_limit)}, excess "
                         f"{money(pol.excess)}. The chance the limit runs out in a year is **{percent(p)}** "
                         f"({one_in(p) if p > 0 else 'not seen in the simulated years'}).")
            need = s.get("limit_for_1_in_100")
            if need is not None:
                if need > pol.aggregate_limit:
                    verdict = "**beyond** the current limit"
                elif p >= 0.01:
                    verdict = (f"**at** the current limit: the limit runs out in {percent(p)} of years, so it "
                               "does not cover a 1-in-100 year")
                else:
                    verdict = "**inside** the current limit"
                lines.append(f"- A 1-in-100 year insured loss of {money(need)} is {verdict}.")
        if self.previous:
            d = g["mean"] - self.previous["gross"]["mean"]
            dr = r["mean"] - self.previous.get("retained", self.previous["gross"])["mean"]
            lines.append(f"- **Since {md_escape(self.previous.get('quarter', 'last quarter'))}**: expected annual loss "
                         f"{'up' if d > 0 else 'down'} {money(abs(d))}; the practice's expected share "
                         f"{'up' if dr > 0 else 'down'} {money(abs(dr))}.")
        return "\n".join(lines)

    # ---- what this means and what to do next ------------------------------------------------
    def meaning(self) -> str:
        """"What this means for us": three or four plain sentences for the partners (Markdown)."""
        return narrative.meaning(self.summary)

    def actions_table(self) -> pd.DataFrame:
        """The ranked "What to do next": each action, its yearly cost and what it saves the practice."""
        rows = []
        for i, a in enumerate(self.summary.get("actions") or [], 1):
            cost = a.get("annual_cost")
            rows.append({"": str(i), "What to do": a["what"],
                         "Yearly cost": ("none" if a["kind"] == "compliance" else
                                         "ask for a quote" if cost is None else money(cost)),
                         "Saves the practice a year": ("—" if a.get("retained_saving") is None
                                                       else money(a["retained_saving"])),
                         "Per £1 spent": ("—" if a.get("saving_per_pound") is None
                                          else f"£{a['saving_per_pound']:,.2f}")})
        return pd.DataFrame(rows)

    def budget_table(self) -> pd.DataFrame:
        """The best set of planned controls for each yearly budget."""
        labels = {n: c.label for n, c in self.register.controls.items()}
        rows = [{"Yearly budget": money(b["budget"]),
                 "Put in place": "; ".join(labels.get(c, c) for c in b["controls"]) or "nothing worth it",
                 "Yearly cost": money(b["annual_cost"]), "Saves the practice a year": money(b["retained_saving"])}
                for b in self.summary.get("budget_plan") or []]
        return pd.DataFrame(rows)

    BUDGET_NOTE = ("*Each set of controls is priced on the same simulated years as a whole, not by adding single "
                   "savings: controls that stop the same incidents save less together than apart. Savings are what "
                   "the practice pays itself, after contracts and insurance.*")

    def standards_text(self) -> str:
        """Which Cyber Essentials controls and National Data Guardian standards are covered (Markdown)."""
        from ..inputs.standards import standards_text

        return standards_text(self.summary.get("standards") or {},
                              {n: c.label for n, c in self.register.controls.items()})

    def standards_table(self) -> pd.DataFrame:
        """One row per requirement: covered, only planned or not covered, and by which controls."""
        from ..inputs.standards import STANDARDS, STATUS_WORDS

        labels = {n: c.label for n, c in self.register.controls.items()}
        return pd.DataFrame([{"Standard": STANDARDS[k], "Requirement": q["name"], "Status": STATUS_WORDS[q["status"]],
                              "Served by": "; ".join(labels.get(c, c) for c in q["controls"]) or "—"}
                             for k, reqs in (self.summary.get("standards") or {}).items() for q in reqs])

    @staticmethod
    def glossary() -> str:
        """The few insurance words the report keeps, explained (Markdown)."""
        from ..analysis.actions import GLOSSARY

        return "\n".join(["### Words used", ""] + [f"- **{w}**: {d}" for w, d in GLOSSARY])

    #: The headline figures: (key in results, what a partner reads).
    HEADLINE_FIGURES = (("mean", "Expected per year"), ("p95", "1-in-20 year"), ("p99", "1-in-100 year"),
                        ("tvar99", "Average of the worst 1% of years"))
    HEADLINE_PAYERS = (("gross", "All losses"), ("insurer", "Paid by the insurer"),
                       ("retained", "Kept by the practice"))

    def figure(self, payer: str, key: str) -> str:
        """A headline amount with its Monte Carlo margin when that is more than 2% of it."""
        stats = self.summary[payer]
        return money_with_margin(stats[key], stats.get(f"{key}_se"))

    def headline_table(self) -> pd.DataFrame:
        """Expected, 1-in-20, 1-in-100 and worst-1% average for all losses, the insurer and the
        practice, each with its margin when it matters."""
        payers = [(p, label) for p, label in self.HEADLINE_PAYERS
                  if p in self.summary and (p != "insurer" or (self.policy is not None and self.policy.insured))]
        return pd.DataFrame([{"": label, **{name: self.figure(p, k) for k, name in self.HEADLINE_FIGURES}}
                             for p, label in payers])

    def margins_note(self) -> str:
        """One plain sentence on the simulation's margins (Markdown), or an empty string when no
        headline figure needs one."""
        shown = [(p, k) for p, _ in self.HEADLINE_PAYERS for k, _ in self.HEADLINE_FIGURES
                 if p in self.summary and (self.summary[p].get(f"{k}_se") or 0)
                 > MARGIN_SHOWN_ABOVE * abs(self.summary[p][k])]
        trials = self.summary["trials"]
        if not shown:
            return (f"*Figures come from {trials:,} simulated years; their simulation margins are under 2% "
                    "and not shown.*")
        return (f"*Figures marked ± are uncertain because they come from {trials:,} simulated years. "
                f"{trials_to_halve(trials)}*")

    RISKS_NOTE = ("*Chance in a year*: of at least one incident that costs money; shown as a percentage for "
                  "risks that happen at least one year in ten, as \"1 in N years\" for rarer ones. *Typical cost "
                  "in a year it happens*: half of the years in which the risk happens cost less, half more. "
                  "*Expected per year* spreads the cost over all years, including the many without it.")

    def top_risks_table(self, n: int = 10) -> pd.DataFrame:
        """The largest risks: how often each happens, what it costs a year on average, and what a
        year in which it happens costs (typical and bad). No 1-in-100 year per risk: for a risk
        rarer than that it would read £0, as if it cost nothing."""
        trials = self.summary["trials"]
        rows = []
        for r in self.summary["by_risk"][:n]:
            row = {"Risk": r["risk_id"], "Title": r["title"]}
            if "prob_event" in r:
                happens = r["prob_event"] > 0
                row["Chance in a year"] = chance(r["prob_event"], trials)
                row["Expected per year"] = money(r["mean"])
                row["Typical cost in a year it happens"] = money(r["cost_if_event_p50"]) if happens else "—"
                row["1 in 10 such years cost more than"] = money(r["cost_if_event_p90"]) if happens else "—"
            else:
                row["Expected per year"] = money(r["mean"])
            if "retained_mean" in r:
                row["Kept by practice (expected)"] = money(r["retained_mean"])
            rows.append(row)
        return pd.DataFrame(rows)

    def who_pays_table(self) -> pd.DataFrame:
        rows = []
        for r in self.summary["gap_table"]:
            if r["gross"] <= 0:
                continue
            reasons = sorted(r["reasons"].items(), key=lambda kv: -kv[1])
            rows.append({"Cost": r["label"], "Gross": money(r["gross"]), "Contract": money(r["contract"]),
                         "Insurer": money(r["insurer"]), "Practice": money(r["retained"]),
                         "Why the practice keeps it": "; ".join(f"{k} {money(v)}" for k, v in reasons[:3] if v >= 1)})
        return pd.DataFrame(rows)

    def controls_table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.summary["controls_ranking"])
        if df.empty:
            return df
        return pd.DataFrame({
            "Control": df["label"], "Status": df["status"], "Annual cost": df["annual_cost"].map(money),
            "Reduces practice's expected loss by": df["reduction_in_retained_loss"].map(money),
            "Per £1 spent": df["saving_per_pound"].map(lambda v: "—" if v is None or pd.isna(v) else f"£{v:,.2f}"),
        })

    def comparison_table(self) -> pd.DataFrame | None:
        """Quarter on quarter: each change and its effect on the expected annual loss and on the
        practice's expected share (a waterfall on common random numbers), or, when the previous
        register cannot be found, the list of changes and the total."""
        if not self.previous:
            return None
        steps = self.summary.get("attribution") or []
        if steps:
            rows = [{"Change": st["label"],
                     "Expected annual loss": money(st["gross_mean"]) if st["kind"] in ("start", "end")
                     else signed_money(st["delta_gross"]),
                     "Kept by the practice": money(st["retained_mean"]) if st["kind"] in ("start", "end")
                     else signed_money(st["delta_retained"])} for st in steps]
            return pd.DataFrame(rows)
        prev, cur = self.previous, self.summary
        rows = []
        before = {r["risk_id"]: r for r in prev["by_risk"]}
        now = {r["risk_id"]: r for r in cur["by_risk"]}
        for rid in sorted(set(now) - set(before)):
            rows.append({"Change": f"Risk added: {rid} {now[rid]['title']}", "Expected annual loss": ""})
        for rid in sorted(set(before) - set(now)):
            rows.append({"Change": f"Risk removed: {rid} {before[rid]['title']}", "Expected annual loss": ""})
        for c, status in cur.get("controls", {}).items():
            was = prev.get("controls", {}).get(c)
            if was is not None and was != status:
                rows.append({"Change": f"Control {c}: {was} -> {status}", "Expected annual loss": ""})
        if (prev.get("policy") or {}).get("name") != (cur.get("policy") or {}).get("name"):
            rows.append({"Change": "Policy changed", "Expected annual loss": ""})
        rows.append({"Change": "Total change in expected annual loss",
                     "Expected annual loss": signed_money(cur["gross"]["mean"] - prev["gross"]["mean"])})
        return pd.DataFrame(rows)

    def changes_heading(self) -> str:
        """The heading of the quarter-on-quarter section (Markdown)."""
        return f"## Changes since {md_escape(self.summary.get('previous_quarter') or 'the previous quarter')}"

    def attribution_note(self) -> str:
        """Why the waterfall is shown as it is (Markdown; it can name a file), or ``""``."""
        note = self.summary.get("attribution_note")
        return f"*Note: {md_escape(note)}.*" if note else ""

    def appendix(self) -> str:
        s = self.summary
        return "\n".join([
            "## Method and assumptions", "",
            f"- {s['trials']:,} simulated years, seed {s['seed']}, riskmodel {package_version()}.",
            f"- Register: {md_escape(s['register'])} (SHA-256 {s['register_sha256'][:16]}…).",
            "- Yearly event counts are Poisson (or Poisson with an uncertain, lognormal rate); each event's "
            "costs are lognormal fitted to the register's 90% ranges; controls and common shocks thin events "
            "and shrink costs on the same simulated years (see docs/model.md).",
            "- Each event is split in order: NHS or supplier contract cover, then the policy (exclusions, excess "
            "or waiting period, claim limit, sublimits and the aggregate limit in the order events fall, "
            "coinsurance), then the practice.",
            "- Sources for defaults: docs/sources.md (NHS GP IT operating model, LMC guidance, NHS Resolution, "
            "ICO, CSBS, ABI); numbers without a source are labelled assumptions in the data files.",
        ])

    # ---- files -------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """``results.json`` and per-trial totals (``trials.npz``), written atomically."""
        folder = Path(folder)
        write_text(folder / "results.json", json.dumps(self.summary, indent=2, allow_nan=False) + "\n")
        with atomic_path(folder / "trials.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **{p: self.result.payer(p).astype(np.float32)
                                           for p in ("gross", "contract", "insurer", "retained")},
                                    by_risk=self.result.by_risk.astype(np.float32),
                                    risk_ids=np.array(self.register.risk_ids))
