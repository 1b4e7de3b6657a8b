"""The advisors' portfolio report: words and charts from a portfolio JSON, escaped, rendered static."""
from __future__ import annotations

import json
import re

import pytest

from riskmodel.outputs import portfolio_report as pr
from riskmodel.outputs.batch import run_portfolio_report
from riskmodel.outputs.batch import live_markup

HOSTILE = ("<script>alert(1)</script> Surgery", "$x$ Practice", "{{ Practice }}", "Pipe | *star* _under_")


def _stats(mean: float, scale: float = 1.0) -> dict:
    s = {"mean": mean, "std": 3 * mean, "p50": 0.6 * mean, "p90": 1.8 * mean, "p95": 2.4 * mean, "p99": 5.0 * mean,
         "p99_5": 6.5 * mean, "tvar99": 7.0 * mean}
    s.update({f"{k}_se": v * 0.001 * scale for k, v in list(s.items()) if k != "std"})
    return s


def portfolio_json(practices: int = 6277, hostile: bool = True, **over) -> dict:
    """A portfolio JSON of the shape ``riskmodel portfolio --json`` writes."""
    names = [f"SYN-{i:04d}" for i in range(1, 41)]
    if hostile:
        names[:len(HOSTILE)] = HOSTILE
    gross, insurer, retained = _stats(41_234_567.8), _stats(9_876_543.21), _stats(25_123_456.7)
    gross["p99_se"] = gross["p99"] * 0.03                       # a margin worth showing
    data = {
        "kind": "portfolio", "version": "0.1.0", "trials": 10000, "seed": 20261, "quarter": "2026Q4",
        "source": f"synthetic:{practices} seed 20261", "practices": practices,
        "failed": [{"practice": "<b>bad</b> $y$", "error": "register: row 3 {{oops}} <img src=x onerror=alert(1)>"}],
        "shared_events": [
            {"name": "emis-outage", "supplier": "EMIS Web", "service": "clinical_system", "frequency": 0.2,
             "hours_low": 8, "hours_high": 72, "share_low": 0.5, "share_high": 1.0, "breach_probability": 0.0,
             "practices": 3703, "description": "CrowdStrike-like outage", "source": "Computer Weekly (2024)"},
            {"name": "evil", "supplier": "<script>x</script>{{s}}", "service": "telephony", "frequency": 0.03,
             "hours_low": 18, "hours_high": 340, "share_low": 0.5, "share_high": 1.0, "breach_probability": 0.5,
             "practices": 2192, "description": "$z$", "source": "assumption"}],
        "gross": gross, "insurer": insurer, "retained": retained,
        "exceedance_curve": [{"return_period": rp, "prob_exceed": 1 / rp, "loss": 41_234_567.8 * (1 + rp ** 0.4)}
                             for rp in (2, 5, 10, 20, 50, 100, 200, 500)],
        "practices_hit": {"mean": 812.4, "p90": 2345.0, "p99": 3701.0, "max": 5102.0},
        "by_supplier": [{"supplier": "EMIS Web", "practices": 3703, "mean": 4_567_890.1, "p99": 60_123_456.7,
                         "share_of_1_in_100": 0.41234},
                        {"supplier": "<script>x</script>{{s}}", "practices": 2192, "mean": 1_234_567.8,
                         "p99": 20_000_000.4, "share_of_1_in_100": 0.1523}],
        "by_practice": [{"practice": n, "mean": 20_000.5 - 100 * i, "p99": 150_000.25 - 1000 * i,
                         "contribution_tvar99": 90_000.75 - 1500 * i} for i, n in enumerate(names)],
        "worst_years": [{"year": 7000 + k, "gross": 400_000_000.5 - 1e7 * k, "insurer": 80_000_000.25,
                         "retained": 250_000_000.75, "practices_hit": 5102 - k,
                         "shared": [{"event": "emis-outage", "supplier": "EMIS Web", "practices": 3650,
                                     "gross": 200_000_000.5},
                                    {"event": "evil", "supplier": "<script>x</script>{{s}}", "practices": 1500,
                                     "gross": 50_000_000.5}],
                         "own_risks_gross": 150_000_000.5} for k in range(12)],
    }
    data.update(over)
    return data


@pytest.fixture
def fixture_json(tmp_path):
    path = tmp_path / "portfolio {x}.json"                         # a brace in the path reaches papermill
    path.write_text(json.dumps(portfolio_json()), encoding="utf-8")
    return path


def test_headline_says_average_year_bad_year_and_who_pays(fixture_json):
    r = pr.load_results(fixture_json)
    text = pr.headline_text(r)
    assert "6,277 practices" in text and "10,000 years" in text
    assert "£41,234,568" in text and "£206,172,839 ± £13,000,000" in text
    assert "insurers £9,876,543 (24%)" in text and "practices themselves £25,123,457 (61%)" in text
    assert "3,701" in text and "illustrative" in text.lower()
    assert "**1 could not be included**" in text


def test_no_raw_floats_anywhere(fixture_json):
    r = pr.load_results(fixture_json)
    texts = [pr.headline_text(r), pr.practices_hit_text(r), pr.supplier_text(r), pr.practices_text(r),
             pr.worst_years_text(r), pr.caveats_text(r), pr.failed_text(r)]
    tables = [pr.payers_table(r), pr.supplier_table(r), pr.practices_table(r), pr.worst_years_table(r),
              pr.events_table(r)]
    for t in tables:
        texts += [str(v) for c in t.columns for v in t[c]]
    raw = re.compile(r"\d+\.\d{2,}")                                 # 41234567.8 or 0.41234 shown as is
    for t in texts:
        assert not raw.search(t.replace("£", "")), t


def test_top_practices_and_a_sentence_for_the_rest(fixture_json):
    r = pr.load_results(fixture_json)
    table = pr.practices_table(r)
    assert len(table) == pr.TOP_PRACTICES and table["Practice"].iloc[0] == HOSTILE[0]
    text = pr.practices_text(r)
    assert "The other 25 practices together contribute" in text


def test_supplier_share_of_the_1_in_100_year(fixture_json):
    """share_of_1_in_100 is a share of the worst 1% of years (their average: gross.tvar99), as the
    portfolio simulation defines it, and the report says so."""
    r = pr.load_results(fixture_json)
    rows = pr.supplier_rows(r)
    assert rows[0]["supplier"] == "EMIS Web" and rows[0]["amount"] == pytest.approx(0.41234 * r["gross"]["tvar99"])
    assert "worst 1% of years" in pr.supplier_text(r)
    assert "EMIS Web" in pr.supplier_text(r) and "41%" in pr.supplier_text(r)
    svg = pr.supplier_chart(r)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_worst_years_say_what_drove_them(fixture_json):
    table = pr.worst_years_table(pr.load_results(fixture_json))
    assert len(table) == pr.WORST_YEARS
    first = table.iloc[0]
    assert first["Book's loss"] == "£400,000,000" and "EMIS Web (3,650 practices, £200,000,000)" in first["What drove it"]
    assert "own risks £150,000,000" in first["What drove it"]


def test_markdown_from_the_inputs_is_escaped(fixture_json):
    r = pr.load_results(fixture_json)
    failed = pr.failed_text(r)
    assert "<b>" not in failed and "&lt;b&gt;" in failed and "\\$y\\$" in failed and "\\{\\{oops\\}\\}" in failed
    assert "<img" not in failed
    text = pr.supplier_text(pr.load_results(fixture_json) | {"by_supplier": [
        {"supplier": "<script>x</script>$", "practices": 1, "mean": 1, "p99": 1, "share_of_1_in_100": 0.9}]})
    assert "<script>" not in text and "\\$" in text


@pytest.mark.parametrize("broken, match", [
    ({"kind": "simulation"}, "not a portfolio results file"),
    ({"gross": {"mean": 1.0}}, "gross.p99"),
    ({"insurer": {"mean": 1e12, "p99": 1.0}}, "outside"),
    ({"retained": {"mean": "NaN", "p99": 1.0}}, "finite"),
])
def test_impossible_results_are_refused_in_words(tmp_path, broken, match):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(portfolio_json() | broken))
    with pytest.raises(pr.PortfolioResultsError, match=match):
        pr.load_results(path)


def test_a_book_without_shared_events_or_failures_reads_plainly(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(portfolio_json(practices=3, hostile=False, source="our-practices", failed=[],
                                              shared_events=[], by_supplier=[], worst_years=[])))
    r = pr.load_results(path)
    assert "No shared supplier events" in pr.supplier_text(r)
    assert pr.failed_text(r) == "" and pr.worst_years_text(r) == ""
    assert "the practices of our-practices" in pr.headline_text(r) and "synthetic" not in pr.headline_text(r)


def test_the_shipped_examples_are_called_so(tmp_path):
    from riskmodel.io.shipped import shipped_dir

    path = tmp_path / "p.json"
    path.write_text(json.dumps(portfolio_json(practices=3, hostile=False, source=str(shipped_dir("examples")))))
    assert pr.title(pr.load_results(path)) == "# Portfolio review: the example practices, 2026Q4"


@pytest.mark.notebook
def test_notebook_renders_static_escaped_html(fixture_json, tmp_path):
    out = tmp_path / "report {{ out }}"
    html_path = run_portfolio_report(fixture_json, out)
    assert html_path == out / "portfolio_review.html" and (out / "portfolio_review.ipynb").is_file()
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and not live_markup(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Surgery" in html
    assert "$x$ Practice" in html and "{{ Practice }}" in html
    assert "£41,234,568" in html and "Which suppliers make a bad year bad" in html
    assert "Practices not in this review (1)" in html
    assert "Traceback" not in html and "Error" not in html.split("</style>")[-1]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]     # no staging left behind


def test_a_wrong_json_fails_before_any_notebook_runs(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"kind": "simulation"}))
    with pytest.raises(pr.PortfolioResultsError):
        run_portfolio_report(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
