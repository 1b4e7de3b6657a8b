"""Quarterly reports through papermill, with few trials."""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd

import pytest
from click.testing import CliRunner

from riskmodel.coverage.allocation import REASONS
from riskmodel.cli import main
from riskmodel.outputs.colours import PAYER_COLOURS, REASON_COLOURS
from riskmodel.io.formatting import chance, md_escape, money_short, money_with_margin, trials_to_halve
from riskmodel.outputs.reporting import QuarterlyReport, table
from riskmodel.outputs.svgcharts import loss_exceedance_svg, reasons_svg, top_risks_svg, waterfall_svg, who_pays_svg

from .conftest import REGISTERS

pytestmark = pytest.mark.notebook

TRICKY = "Ransomware $x$ <b>bold</b> & co"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    regs = root / "registers"
    for name in ("riverside-rural", "meadowbank-average"):
        shutil.copytree(REGISTERS / name, regs / name)
    # a risk title with markup and a formula: shown as typed, never as HTML or maths
    meadow = regs / "meadowbank-average" / "2026Q4.csv"
    meadow.write_text(meadow.read_text().replace("Ransomware on practice-managed PCs and server", TRICKY, 1))
    broken = regs / "broken-practice"
    shutil.copytree(REGISTERS / "riverside-rural", broken)
    text = (broken / "2026Q4.csv").read_text().replace(",ransomware,", ",meteor-strike,", 1)
    (broken / "2026Q4.csv").write_text(text)
    out = root / "outputs"
    res = CliRunner().invoke(main, ["report", "--quarter", "2026Q4", "--registers", str(regs), "--outputs",
                                    str(out), "--trials", "2000", "--seed", "5"])
    return res, out / "2026Q4"


def test_a_broken_register_does_not_stop_the_others(batch):
    res, out = batch
    assert res.exit_code == 1
    rows = {r["practice"]: r for r in csv.DictReader((out / "manifest.csv").open())}
    assert rows["broken-practice"]["status"] == "failed" and "category" in rows["broken-practice"]["error"]
    assert rows["meadowbank-average"]["status"] == "ok" and rows["riverside-rural"]["status"] == "ok"
    assert (out / "_failed" / "broken-practice.ipynb").exists()
    assert not (out / "broken-practice").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-written folders
    for name in ("meadowbank-average", "riverside-rural"):
        for f in ("report.ipynb", "report.html", "results.json", "trials.npz"):
            assert (out / name / f).is_file()
    assert {"seed", "trials", "register_sha256", "version", "duration_s"} <= set(rows["riverside-rural"])


def test_advisors_review_covers_the_practices_that_reported(batch):
    _, out = batch
    html = (out / "insurance_gap_review.html").read_text()
    assert "Meadowbank Medical Centre" in html and "Riverside Rural Surgery" in html
    # the failed practice is named, with its reason, and has no numbers in the review
    assert "Not in this review (1):</strong> broken-practice (failed:" in html and "meteor-strike" in html
    assert "broken-practice" not in html.split("Side by side")[1]
    assert "No cyber policy" in html                   # riverside is the uninsured example
    assert "review.load_quarter" not in html and "Traceback" not in html and "cdnjs" not in html
    assert (out / "insurance_gap_review.ipynb").is_file()


def test_html_has_no_code_no_traceback_no_cdn(batch):
    _, out = batch
    html = (out / "meadowbank-average" / "report.html").read_text()
    assert "QuarterlyReport.build" not in html and "import " not in html
    assert "Traceback" not in html and "InputError" not in html
    assert "cdnjs" not in html and "rm-chart rm-lec" in html and "rm-who-pays" in html
    assert "Expected annual loss: £" in html


def test_report_shows_margins_and_per_risk_chances(batch):
    _, out = batch
    html = (out / "meadowbank-average" / "report.html").read_text()
    assert "Chance in a year" in html and "Typical cost in a year it happens" in html
    assert "1-in-100 year</th>" not in html.split("Top risks")[-1].split("Controls ranked")[0]
    assert " ± £" in html and "Running 8,000 simulated years instead of 2,000 would halve these margins" in html


def test_input_text_is_escaped_in_the_report(batch):
    _, out = batch
    html = (out / "meadowbank-average" / "report.html").read_text()
    assert "$x$ &lt;b&gt;bold&lt;/b&gt; &amp; co" in html       # the top-risks table
    assert "<b>bold</b>" not in html


def test_same_seed_same_report_numbers(batch, tmp_path):
    _, out = batch
    regs = tmp_path / "registers"
    # the batch's copy (its R01 title was changed to test escaping)
    shutil.copytree(out.parent.parent / "registers" / "meadowbank-average", regs / "meadowbank-average")
    res = CliRunner().invoke(main, ["report", "--quarter", "2026Q4", "--registers", str(regs), "--outputs",
                                    str(tmp_path / "out"), "--trials", "2000", "--seed", "5"])
    assert res.exit_code == 0, res.output
    a = json.loads((out / "meadowbank-average" / "results.json").read_text())
    b = json.loads((tmp_path / "out" / "2026Q4" / "meadowbank-average" / "results.json").read_text())
    for key in ("gross", "contract", "insurer", "retained", "by_risk", "gap_table", "controls_ranking"):
        assert a[key] == b[key]


def test_bad_quarter_is_refused():
    res = CliRunner().invoke(main, ["report", "--quarter", "Q4-2026"])
    assert res.exit_code == 2 and "2026Q4" in res.output


def test_previous_quarter_comparison(tmp_path):
    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    base = ["report", "--registers", str(regs), "--outputs", str(tmp_path / "out"), "--trials", "1000"]
    assert CliRunner().invoke(main, base + ["--quarter", "2026Q3"]).exit_code == 0
    assert CliRunner().invoke(main, base + ["--quarter", "2026Q4", "--previous", "2026Q3"]).exit_code == 0
    html = (tmp_path / "out" / "2026Q4" / "riverside-rural" / "report.html").read_text()
    assert "Since 2026Q3" in html and "Risk added: R12" in html
    assert "Control put in place: Multi-factor authentication" in html
    res = json.loads((tmp_path / "out" / "2026Q4" / "riverside-rural" / "results.json").read_text())
    prev = json.loads((tmp_path / "out" / "2026Q3" / "riverside-rural" / "results.json").read_text())
    steps = res["attribution"]
    # the waterfall starts at last quarter's reported mean, ends at this quarter's, and adds up
    assert steps[0]["gross_mean"] == pytest.approx(prev["gross"]["mean"], rel=1e-12)
    assert steps[-1]["gross_mean"] == pytest.approx(res["gross"]["mean"], rel=1e-12)
    assert sum(s["delta_gross"] for s in steps[1:-1]) == pytest.approx(
        res["gross"]["mean"] - prev["gross"]["mean"], rel=1e-9, abs=1e-6)

    # without the previous register the change is given in total, and the report says why
    (regs / "riverside-rural" / "2026Q3.csv").unlink()
    assert CliRunner().invoke(main, base + ["--quarter", "2026Q4", "--previous", "2026Q3"]).exit_code == 0
    html = (tmp_path / "out" / "2026Q4" / "riverside-rural" / "report.html").read_text()
    assert "Total change in expected annual loss" in html and "was not found unchanged" in html


def test_pdf_with_chromium_or_a_clear_message(tmp_path, monkeypatch):
    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    base = ["report", "--quarter", "2026Q4", "--registers", str(regs), "--trials", "500", "--pdf"]
    monkeypatch.setenv("RISKMODEL_CHROMIUM", str(tmp_path / "no-such-chromium"))
    res = CliRunner().invoke(main, base + ["--outputs", str(tmp_path / "a")])
    assert res.exit_code == 0 and "apt-get install chromium" in res.output
    assert not list((tmp_path / "a").rglob("*.pdf"))
    import os
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a/2026Q4/riverside-rural/results.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "a/2026Q4/riverside-rural").stat().st_mode & 0o777 == 0o777 & ~umask

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed: the PDF itself is not checked")
    monkeypatch.setenv("RISKMODEL_CHROMIUM", chromium)
    res = CliRunner().invoke(main, base + ["--outputs", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    for pdf in (tmp_path / "b/2026Q4/riverside-rural/report.pdf", tmp_path / "b/2026Q4/insurance_gap_review.pdf"):
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


@pytest.mark.parametrize("name", ["quarterly_report.ipynb", "insurance_gap_review.ipynb", "dashboard.ipynb"])
def test_notebooks_are_committed_clean_with_the_python3_kernel(name):
    nb = json.loads((REGISTERS.parent / "notebooks" / name).read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])


# ---- charts -------------------------------------------------------------------------------------
def _xticks(svg: str) -> list[str]:
    return re.findall(r"class='rm-xtick'[^>]*>([^<]*)<", svg)


def _fills(svg: str) -> dict[str, str]:
    """Tooltip name (before the colon) -> fill of the bar segment carrying it."""
    return {m.group(2): m.group(1) for m in re.finditer(r"fill='(#[0-9a-f]{6})'><title>([^:<]+):", svg)}


@pytest.mark.parametrize("gross", [
    np.zeros(1000),                                              # no loss at all
    np.r_[np.zeros(900), np.linspace(1, 50, 100)],                # mostly nothing, tiny losses
    np.random.default_rng(1).lognormal(9, 1.5, 20_000),
])
def test_exceedance_axis_has_no_negative_or_zero_ticks(gross):
    svg = loss_exceedance_svg(gross, gross * 0.3, excess=2_500, limit=1_000_000)
    ticks = _xticks(svg)
    assert ticks and all(t.startswith("£") and t not in ("£0", "£-0") for t in ticks), ticks
    assert not any("-" in t for t in ticks)


def test_legends_and_reference_lines_show_exact_amounts():
    x = np.random.default_rng(2).lognormal(9, 1.5, 5_000)
    svg = loss_exceedance_svg(x, x / 2, excess=2_500, limit=1_250_000)
    assert "Excess £2,500" in svg and "Policy limit £1,250,000" in svg
    assert "£2.5k" not in svg.split("rm-legend")[-1]
    bars = who_pays_svg([{"component": "extortion", "label": "Extortion", "gross": 12_345.4, "contract": 0.0,
                          "insurer": 10_000.0, "retained": 2_345.4}])
    assert "£12,345; practice £2,345" in bars


def test_short_axis_money():
    assert [money_short(v) for v in (0, 2_500, 7_500, 45_000, 100_000, 1e6, 1.25e6, 999_999)] == \
        ["£0", "£2.5k", "£7.5k", "£45k", "£100k", "£1m", "£1.25m", "£1m"]


def test_each_payer_keeps_its_colour():
    row = {"component": "extortion", "label": "Extortion", "gross": 6.0, "contract": 1.0, "insurer": 2.0,
           "retained": 3.0}
    fills = _fills(who_pays_svg([row]))
    assert fills == {"NHS or supplier contract": PAYER_COLOURS["contract"], "Insurer": PAYER_COLOURS["insurer"],
                     "Practice (the gap)": PAYER_COLOURS["retained"]}
    # the same colours whatever is present
    only = _fills(who_pays_svg([{**row, "contract": 0.0, "insurer": 0.0, "gross": 3.0}]))
    assert only == {"Practice (the gap)": PAYER_COLOURS["retained"]}


def test_each_reason_keeps_its_colour_whatever_the_order_or_subset():
    rng = np.random.default_rng(3)
    seen: dict[str, set] = {}
    for _ in range(20):
        subset = list(rng.choice(REASONS, size=rng.integers(1, len(REASONS) + 1), replace=False))
        rows = [{"name": f"P{i}", "reasons": {k: float(rng.uniform(1, 100)) for k in rng.permutation(subset)}}
                for i in range(3)]
        for k, c in _fills(reasons_svg(rows)).items():
            seen.setdefault(k, set()).add(c)
    assert all(len(c) == 1 for c in seen.values())
    assert {k: c.pop() for k, c in seen.items()} == {k: REASON_COLOURS[k] for k in seen}
    assert len(set(REASON_COLOURS.values())) == len(REASONS)
    assert not set(REASON_COLOURS.values()) & set(PAYER_COLOURS.values())


def test_bar_charts_are_always_linear_from_zero():
    for scale in (1.0, 1000.0):        # small and very unequal amounts: never a log scale
        rows = [{"name": "A", "reasons": {"excess": 10.0 * scale}}, {"name": "B", "reasons": {"excess": 1e6}}]
        svg = reasons_svg(rows)
        assert "log" not in svg and _xticks(svg)[0] == "£0"


def test_input_text_is_escaped_in_charts_tables_and_markdown():
    by_risk = [{"risk_id": "R<1>", "title": TRICKY, "mean": 100.0, "retained_mean": 40.0}]
    svg = top_risks_svg(by_risk)
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "R&lt;1&gt;" in svg
    steps = [{"kind": "start", "label": "Previous", "gross_mean": 10.0, "delta_gross": 0.0},
             {"kind": "risk", "label": f"Risk added: {TRICKY}", "gross_mean": 15.0, "delta_gross": 5.0},
             {"kind": "end", "label": "Now", "gross_mean": 15.0, "delta_gross": 0.0}]
    assert "<b>" not in waterfall_svg(steps)
    html = table(pd.DataFrame({"Title": [TRICKY]})).to_html()
    assert "$x$ &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    md = md_escape(TRICKY)
    assert "<b>" not in md and "\\$x\\$" in md
    # a line break in a name cannot start a heading or a bullet of its own
    assert md_escape("Surgery\n\n# Fake\r\n- point") == "Surgery \\# Fake - point"


# ---- per-risk figures and Monte Carlo margins ----------------------------------------------------
def test_money_with_margin_only_when_the_error_matters():
    assert money_with_margin(100_000, 1_000) == "£100,000"                 # 1%: not shown
    assert money_with_margin(100_000, 2_000) == "£100,000"                 # exactly 2%: not shown
    assert money_with_margin(100_000, 2_500) == "£100,000 ± £4,900"        # 1.96 x 2,500, two figures, up
    assert money_with_margin(95_391.4, 4_321) == "£95,391 ± £8,500"
    assert money_with_margin(50_000, None) == "£50,000" and money_with_margin(0.0, 0.0) == "£0"
    assert trials_to_halve(100_000).startswith(
        "Running 400,000 simulated years instead of 100,000 would halve these margins")


def test_chance_reads_as_a_percentage_or_one_in_n_years():
    assert [chance(p, 100_000) for p in (0.999, 0.78, 0.1, 0.04, 0.0037, 0.0)] == \
        ["over 99%", "78%", "10%", "1 in 25 years", "1 in 270 years", "not seen in 100,000 years"]


def _report(summary: dict, insured: bool = True) -> QuarterlyReport:
    rep = object.__new__(QuarterlyReport)
    rep.summary, rep.quarter, rep.previous = summary, "2026Q4", None
    rep.policy = type("P", (), {"insured": insured})()
    return rep


def _stats(v: float, se: float) -> dict:
    return {k: v for k in ("mean", "p95", "p99", "tvar99")} | {f"{k}_se": se for k in ("mean", "p95", "p99", "tvar99")}


def test_rare_risk_is_not_shown_as_costing_nothing():
    rare = {"risk_id": "R9", "title": "Rare", "mean": 30.0, "p99": 0.0, "p99_se": 0.0, "prob_event": 0.002,
            "cost_if_event_p50": 12_000.0, "cost_if_event_p90": 40_000.0, "retained_mean": 10.0}
    never = {**rare, "risk_id": "R10", "mean": 0.0, "prob_event": 0.0, "cost_if_event_p50": 0.0,
             "cost_if_event_p90": 0.0, "retained_mean": 0.0}
    df = _report({"trials": 20_000, "by_risk": [rare, never]}).top_risks_table()
    assert "1-in-100 year" not in df.columns
    assert list(df.iloc[0]) == ["R9", "Rare", "1 in 500 years", "£30", "£12,000", "£40,000", "£10"]
    assert list(df.iloc[1])[2:6] == ["not seen in 20,000 years", "£0", "—", "—"]


def test_headline_figures_carry_their_margin_and_say_how_to_halve_it():
    rep = _report({"trials": 100_000, "gross": _stats(100_000, 5_000), "insurer": _stats(50_000, 100),
                   "retained": _stats(20_000, 100), "contract": _stats(1, 0)})
    df = rep.headline_table()
    assert list(df[""]) == ["All losses", "Paid by the insurer", "Kept by the practice"]
    assert df.iloc[0]["1-in-100 year"] == "£100,000 ± £9,800" and df.iloc[1]["1-in-100 year"] == "£50,000"
    assert "Running 400,000 simulated years instead of 100,000 would halve these margins" in rep.margins_note()
    quiet = _report({"trials": 100_000, "gross": _stats(100_000, 5), "insurer": _stats(5, 0),
                     "retained": _stats(5, 0)}, insured=False)
    assert "halve" not in quiet.margins_note() and list(quiet.headline_table()[""]) == ["All losses",
                                                                                        "Kept by the practice"]


def test_report_opens_with_what_it_means_and_what_to_do_next(batch):
    _, out = batch
    for name in ("meadowbank-average", "riverside-rural"):
        html = (out / name / "report.html").read_text()
        assert "What this means for us" in html and "What to do next" in html
        assert html.index("What to do next") < html.index("How bad could a year be")
        assert html.index("Expected annual loss: £") < html.index("What this means for us")
        assert "The best use of a yearly budget" in html and "Standards we answer to" in html
        assert "Words used" in html and "Aggregate limit" in html
        data = json.loads((out / name / "results.json").read_text())
        assert data["actions"] and {"kind", "what", "control", "annual_cost", "retained_saving",
                                    "saving_per_pound"} == set(data["actions"][0])
        assert [b["budget"] for b in data["budget_plan"]] == [500.0, 1000.0, 2500.0, 5000.0]
        assert len(data["standards"]["cyber_essentials"]) == 5 and len(data["standards"]["ndg"]) == 10
    review = (out / "insurance_gap_review.html").read_text()
    assert "Standards across practices" in review and "Cyber Essentials covered" in review


def test_the_report_reads_the_incident_log_and_shows_the_72_hour_clock(tmp_path):
    """The quarterly report (and so the review and the dashboard) uses the practice's incident
    log as `simulate` does: the same frequencies, the 72-hour clock in words, and a waterfall step
    for what the log changed."""
    from riskmodel.outputs.review import review_text

    reg = REGISTERS / "meadowbank-average" / "2026Q4.csv"
    prev = QuarterlyReport.build(str(REGISTERS / "meadowbank-average" / "2026Q3.csv"), "2026Q3", trials=3_000)
    prev_json = tmp_path / "prev.json"
    prev_json.write_text(json.dumps(prev.summary), encoding="utf-8")
    rep = QuarterlyReport.build(str(reg), "2026Q4", trials=3_000, previous_results=str(prev_json))
    clock = rep.summary["ico_72h"]
    assert clock and clock["late"] >= 1 and clock["open"] >= 1
    md = rep.incidents_markdown()
    assert "72-hour" in md and f"**{clock['late']} late**" in md
    assert any(s["kind"] == "incidents" for s in rep.summary["attribution"])
    assert rep.summary["attribution"][-1]["gross_mean"] == pytest.approx(rep.summary["gross"]["mean"], rel=1e-12)
    cli = json.loads(subprocess.run([sys.executable, "-m", "riskmodel.cli", "simulate", str(reg), "--trials", "3000",
                                     "--json", "-"], capture_output=True, text=True, check=True).stdout)
    assert cli["gross"]["mean"] == rep.summary["gross"]["mean"]           # same log, same numbers
    text = review_text([{**rep.summary, "folder": "m"}], "2026Q4")
    assert "ICO 72-hour clock" in text and f"{clock['open']} not reported after 72 hours" in text


def test_report_results_are_typed_and_their_json_is_checked_before_writing(tmp_path):
    """results.json is ReportResults.to_json(), checked against docs/results.schema.json; a
    previous quarter's results.json that does not match fails, naming the file and the key."""
    from riskmodel.analysis.schema import ResultsSchemaError, read_results
    from riskmodel.outputs.report_results import Action, ReportResults

    register = REGISTERS / "northgate-multisite" / "2026Q4.xlsx"
    rep = QuarterlyReport.build(register=str(register), quarter="2026Q4", trials=1_000, seed=3)
    assert isinstance(rep.results, ReportResults)
    assert rep.summary == rep.results.to_json()
    assert rep.results.gross.mean == rep.summary["gross"]["mean"] == pytest.approx(rep.result.gross.mean(), rel=1e-12)
    assert rep.results.change is None and "attribution" not in rep.summary
    rep.save(tmp_path)
    assert read_results(tmp_path / "results.json") == json.loads(json.dumps(rep.summary))
    # the compliance action keeps its key order ("what" last), every other kind "what" third
    assert list(Action("compliance", None, "x", 0.0, None, None).to_json())[-1] == "what"
    assert list(Action("control", "mfa", "x", 1.0, 2.0, 2.0).to_json())[2] == "what"

    prev = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    prev["by_risk"][0]["title"] = 7
    bad = tmp_path / "previous.json"
    bad.write_text(json.dumps(prev), encoding="utf-8")
    with pytest.raises(ResultsSchemaError, match=r"previous\.json.*by_risk\[0\]\.title: expected a string, got 7"):
        QuarterlyReport.build(register=str(register), quarter="2026Q4", trials=1_000, seed=3,
                              previous_results=str(bad))
