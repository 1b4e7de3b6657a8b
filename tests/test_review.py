"""The advisors' talking points, on results shaped like a report's results.json."""
from __future__ import annotations

import copy

import pytest

from riskmodel.outputs.colours import REASON_COLOURS
from riskmodel.outputs.review import (chart_rows, formatted, margins_note, overview, round_up, review_text,
                              talking_points)
from riskmodel.outputs.svgcharts import limits_svg, reasons_svg


def results(**over) -> dict:
    r = {
        "folder": "p", "practice": {"name": "Test Surgery", "list_size": 8000, "illustrative": True},
        "gross": {"mean": 20_000.0, "p99": 150_000.0},
        "retained": {"mean": 6_000.0, "p99": 60_000.0},
        "policy": {"name": "Cyber", "aggregate_limit": 100_000.0, "excess": 1_000.0, "premium": 900.0,
                   "waiting_period_hours": 8.0, "requires_controls": ["mfa"],
                   "sections": {"extortion": {"covered": True, "sublimit": 10_000.0, "excess": None}}},
        "limit_for_1_in_100": 80_000.0, "prob_aggregate_exhausted": 0.001,
        "prob_sublimit_exhausted": {"extortion": 0.01},
        "gap_table": [{"component": "incident_response", "retained": 3_000.0,
                       "reasons": {"excess": 1_000.0, "exclusion": 500.0}},
                      {"component": "regulatory_fine", "retained": 0.0, "reasons": {}}],
        "controls_ranking": [{"label": "Offline backups", "status": "planned", "annual_cost": 1_000.0,
                              "reduction_in_retained_loss": 500.0, "saving_per_pound": 0.5}],
    }
    for k, v in over.items():
        r[k] = v
    return r


def test_quiet_when_nothing_to_raise():
    assert talking_points(results()) == [
        "Nothing to raise: the policy covers a 1-in-100 year and no term leaves much with the practice."]


def test_uninsured_practice_gets_a_limit_to_quote():
    r = results(policy=None, limit_for_1_in_100=None, prob_aggregate_exhausted=None)
    points = talking_points(r)
    assert "No cyber policy" in points[0] and "£100,000" in points[0]      # 60k rounds up to a standard limit


def test_each_reason_to_raise():
    r = results(limit_for_1_in_100=130_000.0, prob_aggregate_exhausted=0.02,
                prob_sublimit_exhausted={"extortion": 0.2})
    r["gap_table"][0]["reasons"] = {"excess": 3_000.0, "exclusion": 2_000.0}
    r["gap_table"][1]["retained"] = 400.0
    r["controls_ranking"][0]["saving_per_pound"] = 3.0
    text = "\n".join(talking_points(r))
    assert "Limit too low" in text and "£250,000" in text
    assert "runs out in 2.0% of years" in text
    assert "extortion sublimit (£10,000) runs out in 20.0%" in text
    assert "£3,000 of the £6,000" in text and "excess per claim" in text
    assert "warranted controls: mfa" in text
    assert "not insurable" in text
    assert "Put **Offline backups** in place" in text


@pytest.mark.parametrize("x, limit", [(1, 50_000), (50_000, 50_000), (50_001, 100_000), (4_000_000, 5_000_000),
                                      (6_123_000, 6_200_000)])
def test_round_up_to_standard_limits(x, limit):
    assert round_up(x) == limit


def test_overview_flags_short_limits():
    a = results(limit_for_1_in_100=130_000.0)
    b = copy.deepcopy(results())
    b["practice"]["name"] = "Other"
    df = overview([a, b])
    assert list(df["Limit enough?"]) == [False, True]
    shown = formatted(df)
    assert list(shown["Limit enough?"]) == ["NO", "yes"] and shown["Limit"].iloc[0] == "£100,000"


def test_charts_keep_one_scale_and_one_colour_per_reason_across_quarters():
    small = results()
    big = copy.deepcopy(results())
    big["practice"]["name"] = "Big"
    big["policy"]["aggregate_limit"] = 5_000_000.0
    big["gap_table"][0]["reasons"] = {"exclusion": 900.0, "excess": 50_000.0}
    for quarter in ([small], [small, big]):       # 1x and 100x apart: the same linear axis rule
        rows = chart_rows(quarter)
        for svg in (limits_svg(rows), reasons_svg(rows)):
            assert "log" not in svg
        assert "limit: £100,000" in limits_svg(rows)
        svg = reasons_svg(rows)
        assert f"fill='{REASON_COLOURS['exclusion']}'><title>exclusion: £500" in svg
        assert f"fill='{REASON_COLOURS['excess']}'><title>excess: £1,000" in svg


def test_names_from_the_inputs_are_escaped():
    r = results()
    r["practice"]["name"] = "$x$ <b>Surgery</b>"
    r["controls_ranking"][0].update(label="<i>MFA</i>", saving_per_pound=3.0)
    text = review_text([results(policy=None), r], "2026Q4") + "\n".join(talking_points(r))
    assert "<b>" not in text and "<i>" not in text and "&lt;i&gt;MFA" in text
    svg = reasons_svg(chart_rows([r]))
    assert "<b>" not in svg and "&lt;b&gt;Surgery" in svg


def test_tail_figures_carry_their_margin_and_the_note_says_how_to_halve_it():
    a = results(trials=100_000)
    a["gross"] = {**a["gross"], "p99_se": 4_000.0}            # 2.7% of £150,000: shown
    a["retained"] = {**a["retained"], "p99_se": 600.0}        # 1%: not shown
    shown = formatted(overview([a]))
    assert shown["1-in-100 year loss"].iloc[0] == "£150,000 ± £7,900"
    assert shown["Kept in a 1-in-100 year"].iloc[0] == "£60,000"
    assert not [c for c in shown.columns if c.startswith("_se")] and shown["List size"].iloc[0] == "8,000"
    assert "Running 400,000 simulated years instead of 100,000 would halve" in margins_note([a])
    assert margins_note([results(trials=100_000)]) == ""


def test_a_limit_exactly_at_the_1_in_100_year_that_runs_out_in_1pc_of_years_is_not_enough():
    at = results(limit_for_1_in_100=100_000.0, prob_aggregate_exhausted=0.011)
    assert list(overview([at, results()])["Limit enough?"]) == [False, True]
    assert "not enough for a 1-in-100 year:** Test Surgery" in review_text([at], "2026Q4")


def test_unlimited_and_uninsured_policies_read_plainly():
    """results.json writes an unlimited limit as "unlimited" and no cover as insured = false."""
    unlimited = results(policy={**results()["policy"], "aggregate_limit": "unlimited", "insured": True},
                        prob_aggregate_exhausted=0.0, limit_for_1_in_100=400_000.0)
    none = results(policy={"name": "No cyber policy", "aggregate_limit": 0.0, "insured": False, "excess": 0.0})
    table = formatted(overview([unlimited, none]))
    assert table["Limit"].iloc[0] == "unlimited" and table["Limit enough?"].iloc[0] == "yes"
    assert table["Policy"].iloc[1] == "none"
    assert not any("Limit too low" in p for p in talking_points(unlimited))
    assert any("No cyber policy" in p for p in talking_points(none))
    rows = chart_rows([unlimited, none])
    assert rows[0]["limit"] is None and rows[1]["limit"] is None
    limits_svg(rows)                                  # draws without an infinite axis


def test_review_and_report_share_the_insurance_advice():
    """The review's insurance points are the report's advice (riskmodel.analysis.actions.insurance_advice)."""
    from riskmodel.analysis.actions import insurance_advice
    from riskmodel.io.formatting import md_escape

    for r in (results(policy=None), results(limit_for_1_in_100=130_000.0),
              results(limit_for_1_in_100=100_000.0, prob_aggregate_exhausted=0.02),
              results(controls={"mfa": "planned"})):
        advice = insurance_advice(r)
        assert advice
        points = talking_points(r)
        for a in advice:
            assert f"**{a['title']}** {md_escape(a['what'])}" in points
    at = "\n".join(talking_points(results(limit_for_1_in_100=100_000.0, prob_aggregate_exhausted=0.02)))
    assert "Limit not enough" in at and "£250,000" in at and at.count("runs out in 2.0%") == 1


def test_a_warranted_control_not_in_place_is_raised_in_words():
    r = results(controls={"mfa": "planned"})
    r["controls_ranking"].append({"control": "mfa", "label": "<b>MFA</b>", "status": "planned",
                                  "annual_cost": 500.0, "reduction_in_retained_loss": 10.0, "saving_per_pound": 0.02})
    text = "\n".join(talking_points(r))
    assert "without &lt;b&gt;MFA&lt;/b&gt; the insurer may refuse every claim in a year" in text
    assert not any("insurer may refuse" in p for p in talking_points(results(controls={"mfa": "in place"})))


def test_an_open_breach_is_raised_first():
    r = results(ico_72h={"open": 2, "late": 0})
    assert talking_points(r)[0].startswith("**Breach reporting.**")
    r["actions"] = [{"kind": "compliance", "what": "Report the open breach to the ICO now (2 …).", "control": None,
                     "annual_cost": 0.0, "retained_saving": None, "saving_per_pound": None}]
    assert "ICO now" in talking_points(r)[0]


def test_standards_across_practices_compactly():
    from riskmodel.outputs.review import standards_overview

    a = results(standards={"cyber_essentials": [{"id": "firewalls", "name": "Firewalls", "status": "missing", "controls": []},
                                                {"id": "p", "name": "Patching", "status": "in_place", "controls": ["patching"]},
                                                {"id": "m", "name": "Malware <b>", "status": "planned",
                                                 "controls": ["endpoint_protection"]}],
                            "ndg": [{"id": "ndg1", "name": "Data", "status": "in_place", "controls": ["x"]}]})
    df = standards_overview([a, results()])
    assert list(df["Cyber Essentials covered"]) == ["1 of 3", "—"]
    assert df["Cyber Essentials not covered"].iloc[0] == "Firewalls; Malware <b> (planned)"
    assert df["NDG standards not covered"].iloc[0] == "none"
    from riskmodel.outputs.reporting import table
    assert "<b>" not in table(df).to_html()


# ---- reading results.json: one reader, checked against docs/results.schema.json ------------------

@pytest.fixture(scope="module")
def quarter_dir(tmp_path_factory):
    """Two practices' report results.json (few trials), as a report run leaves them."""
    from riskmodel.outputs.reporting import QuarterlyReport

    from .conftest import REGISTERS

    root = tmp_path_factory.mktemp("2026Q4")
    for practice, register in (("meadowbank-average", "2026Q4.csv"), ("riverside-rural", "2026Q4.csv")):
        report = QuarterlyReport.build(register=str(REGISTERS / practice / register), quarter="2026Q4",
                                       trials=1_000, seed=2)
        (root / practice).mkdir()
        report.save(root / practice)
    return root


def _rename_key(f, rename):
    import json

    data = json.loads(f.read_text(encoding="utf-8"))
    rename(data)
    f.write_text(json.dumps(data), encoding="utf-8")


def test_the_review_reads_every_results_json_it_is_given(quarter_dir):
    from riskmodel.outputs.review import load_quarter

    results = load_quarter(quarter_dir)
    assert [r["folder"] for r in results] == ["meadowbank-average", "riverside-rural"]
    assert "Riverside" in review_text(results, "2026Q4") and talking_points(results[1])


def test_a_renamed_key_fails_at_read_time_naming_the_file_and_the_key(quarter_dir, tmp_path):
    import json
    import shutil

    from riskmodel.analysis.schema import ResultsSchemaError
    from riskmodel.outputs.review import load_quarter, load_run

    root = tmp_path / "2026Q4"
    shutil.copytree(quarter_dir, root)
    bad = root / "riverside-rural" / "results.json"
    _rename_key(bad, lambda d: d["retained"].__setitem__("p_99", d["retained"].pop("p99")))
    with pytest.raises(ResultsSchemaError) as info:
        load_quarter(root)
    msg = str(info.value)
    assert str(bad) in msg and "retained.p99: missing" in msg and "retained.p_99: not a key of the schema" in msg
    # in a report run, that practice is not reviewed and the reason names the key; the other one is
    status = tmp_path / "status.json"
    status.write_text(json.dumps([{"practice": "meadowbank-average", "status": "ok"},
                                  {"practice": "riverside-rural", "status": "ok"}]), encoding="utf-8")
    results, others = load_run(root, status)
    assert [r["folder"] for r in results] == ["meadowbank-average"]
    assert others[0]["practice"] == "riverside-rural" and "retained.p99: missing" in others[0]["error"]


def test_a_missing_report_key_and_a_negative_amount_fail_at_read_time(quarter_dir, tmp_path):
    import shutil

    from riskmodel.analysis.schema import ResultsSchemaError
    from riskmodel.outputs.review import load_quarter

    root = tmp_path / "2026Q4"
    shutil.copytree(quarter_dir, root)
    f = root / "meadowbank-average" / "results.json"
    _rename_key(f, lambda d: d.pop("controls_ranking"))
    with pytest.raises(ResultsSchemaError, match=r"meadowbank-average/results\.json.*controls_ranking: missing"):
        load_quarter(root)
    shutil.copy(quarter_dir / "meadowbank-average" / "results.json", f)
    _rename_key(f, lambda d: d["gap_table"][0].__setitem__("insurer", -1.0))
    with pytest.raises(ResultsSchemaError, match=r"gap_table\[0\]\.insurer: expected at least 0, got -1\.0"):
        load_quarter(root)
