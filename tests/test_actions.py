"""What to do next: savings on common random numbers, the budget plan, insurance and compliance
actions, and ``simulate --set-control``."""
from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner

from riskmodel.analysis.actions import (best_within, build_actions, build_budget_plan, control_saving, insurance_advice,
                               order_actions, retained_mean)
from riskmodel.cli import main
from riskmodel.analysis.engine import ScenarioModel
from riskmodel.inputs.policy import Policy, load_policy
from riskmodel.inputs.register import load_register
from riskmodel.outputs.reporting import QuarterlyReport, table

from .conftest import REGISTERS, risk

PLANNED = "mfa (planned); patching (planned); endpoint_protection (planned); phishing_training (planned)"


@pytest.fixture
def small(make_register):
    """A register with four planned controls that overlap on the same risks (they interact)."""
    reg = load_register(make_register([
        risk("A", events_per_year=3, controls=PLANNED, incident_response_low=2000, incident_response_high=40000),
        risk("B", category="phishing_bec", events_per_year=2, controls="mfa (planned); phishing_training (planned)",
             incident_response_low=500, incident_response_high=8000),
    ]))
    pol = Policy(name="Test", aggregate_limit=60_000.0, excess=1_000.0)
    return reg, pol, ScenarioModel(reg, 3_000, seed=7, show_progress=False)


def test_a_controls_saving_is_retained_without_minus_with_on_the_same_years(small):
    reg, pol, model = small
    summary = model.result(pol).summary()
    actions = build_actions(summary, reg, pol, model, None)
    controls = [a for a in actions if a["kind"] == "control"]
    assert controls
    for a in controls:
        c = a["control"]
        without = retained_mean(model, pol, None, {c: False})
        with_ = retained_mean(model, pol, None, {c: True})
        assert a["retained_saving"] == without - with_           # exactly: the same simulated years
        assert a["retained_saving"] == control_saving(model, pol, None, c)
        assert a["retained_saving"] > 0
        assert a["annual_cost"] == reg.controls[c].annual_cost
        assert a["saving_per_pound"] == pytest.approx(a["retained_saving"] / a["annual_cost"])
    # best first: by saving per pound
    rates = [a["saving_per_pound"] for a in controls]
    assert rates == sorted(rates, reverse=True)
    for a in actions:
        assert set(a) == {"kind", "what", "control", "annual_cost", "retained_saving", "saving_per_pound"}


def test_budget_plan_is_the_best_subset_by_brute_force(small):
    reg, pol, model = small
    budgets = (300.0, 800.0, 1_500.0, 2_500.0, 10_000.0)
    plan = build_budget_plan(reg, pol, model, None, budgets)
    planned = sorted(c for c, s in reg.control_status.items() if not s)
    assert len(planned) == 4
    base = retained_mean(model, pol, None)
    for row in plan:
        best = None
        for k in range(len(planned) + 1):
            for s in itertools.combinations(planned, k):
                cost = sum(reg.controls[c].annual_cost for c in s)
                if cost > row["budget"]:
                    continue
                saving = base - retained_mean(model, pol, None, {c: True for c in s})
                if best is None or saving > best[0] + 1e-9:
                    best = (saving, cost, sorted(s))
        assert row["retained_saving"] == pytest.approx(best[0], abs=1e-9)
        assert row["annual_cost"] <= row["budget"]
        assert row["annual_cost"] == sum(reg.controls[c].annual_cost for c in row["controls"])
        # priced as a set, not by adding single savings
        assert row["retained_saving"] == pytest.approx(
            base - retained_mean(model, pol, None, {c: True for c in row["controls"]}), abs=1e-9)
    assert plan[-1]["controls"] == planned          # a large budget buys everything that helps


def test_savings_of_a_set_are_not_the_sum_of_single_savings(small):
    reg, pol, model = small
    singles = sum(control_saving(model, pol, None, c) for c in ("mfa", "phishing_training"))
    together = retained_mean(model, pol, None) - retained_mean(model, pol, None, {"mfa": True, "phishing_training": True})
    assert together < singles                        # both thin the same phishing events


def test_greedy_beyond_the_exact_limit_and_exact_on_a_synthetic_interaction():
    costs = {"a": 100.0, "b": 100.0, "c": 150.0, "d": 60.0}
    savings = {"a": 50.0, "b": 50.0, "c": 90.0, "d": 10.0}

    def retained(s):                                 # a and b overlap: together they save only 60
        total = sum(savings[c] for c in s) - (40.0 if {"a", "b"} <= s else 0.0)
        return 1_000.0 - total

    exact = best_within((200.0, 260.0), costs, retained)
    assert exact[0]["controls"] == ["a", "d"] or exact[0]["retained_saving"] >= 60.0
    brute = max((s for k in range(5) for s in itertools.combinations(costs, k) if sum(costs[c] for c in s) <= 260),
                key=lambda s: 1_000.0 - retained(frozenset(s)))
    assert exact[1]["retained_saving"] == pytest.approx(1_000.0 - retained(frozenset(brute)))
    greedy = best_within((200.0, 260.0), costs, retained, exact_up_to=0)
    for row in greedy:
        assert row["annual_cost"] <= row["budget"] and row["retained_saving"] > 0
    assert greedy[1]["controls"][0] in costs


def test_a_warranted_control_not_in_place_is_an_insurance_action_repriced_with_it(make_register):
    reg = load_register(make_register([risk("A", events_per_year=2, controls="mfa (planned); patching")]))
    pol = Policy(name="Test", aggregate_limit=1e6, excess=500.0, requires_controls=("mfa",),
                 warranty_denial_probability=1.0)
    model = ScenarioModel(reg, 2_000, seed=3, show_progress=False)
    summary = model.result(pol).summary()
    summary["policy"]["warranty_denial_probability"] = 1.0
    actions = build_actions(summary, reg, pol, model, None)
    ins = [a for a in actions if a["kind"] == "insurance"]
    assert len(ins) == 1 and "the insurer may refuse every claim in a year" in ins[0]["what"]
    assert ins[0]["annual_cost"] == reg.controls["mfa"].annual_cost
    assert ins[0]["retained_saving"] == retained_mean(model, pol, None) - retained_mean(model, pol, None, {"mfa": True})
    assert not [a for a in actions if a["control"] == "mfa"]      # listed once, as the insurance action
    half = insurance_advice({**summary, "policy": {**summary["policy"], "warranty_denial_probability": 0.5}})
    assert "50% of such years" in half[0]["what"]


def test_a_limit_that_runs_out_gets_a_higher_limit_priced(make_register, tmp_path):
    reg = load_register(make_register([risk("A", events_per_year=4, incident_response_low=20_000,
                                            incident_response_high=200_000)]))
    pol = Policy(name="Small", aggregate_limit=50_000.0, excess=0.0)
    model = ScenarioModel(reg, 2_000, seed=3, show_progress=False)
    summary = model.result(pol).summary()
    actions = build_actions(summary, reg, pol, model, None)
    ins = [a for a in actions if a["kind"] == "insurance"]
    assert ins and ins[0]["what"].startswith("Raise the policy limit")
    assert ins[0]["annual_cost"] is None and ins[0]["retained_saving"] > 0


def test_an_open_breach_comes_first(small):
    reg, pol, model = small
    summary = model.result(pol).summary()
    summary["ico_72h"] = {"open": 1, "late": 0}
    actions = build_actions(summary, reg, pol, model, None)
    assert actions[0]["kind"] == "compliance" and "Report the open breach to the ICO now" in actions[0]["what"]
    summary["ico_72h"] = {"open": 0, "late": 2}
    assert build_actions(summary, reg, pol, model, None)[0]["kind"] == "compliance"
    summary.pop("ico_72h")
    assert all(a["kind"] != "compliance" for a in build_actions(summary, reg, pol, model, None))


def test_order_is_compliance_then_saving_per_pound_then_unknown_cost():
    acts = [{"kind": "insurance", "what": "q", "saving_per_pound": None, "retained_saving": 900.0},
            {"kind": "control", "what": "b", "saving_per_pound": 0.5, "retained_saving": 50.0},
            {"kind": "control", "what": "a", "saving_per_pound": 2.0, "retained_saving": 20.0},
            {"kind": "compliance", "what": "ico", "saving_per_pound": None, "retained_saving": None}]
    assert [a["what"] for a in order_actions(acts)] == ["ico", "a", "b", "q"]


@pytest.mark.parametrize("practice", ["meadowbank-average", "northgate-multisite", "riverside-rural"])
def test_every_shipped_practice_gets_what_to_do_next(practice):
    reg = next(p for p in (REGISTERS / practice).iterdir() if p.stem == "2026Q4")
    report = QuarterlyReport.build(str(reg), "2026Q4", trials=1_000, seed=3)
    s = report.summary
    assert {"actions", "budget_plan", "standards"} <= set(s)
    json.dumps(s, allow_nan=False)
    assert s["actions"] and [b["budget"] for b in s["budget_plan"]] == [500.0, 1_000.0, 2_500.0, 5_000.0]
    assert "## What this means for us" in report.meaning()
    assert 3 <= report.meaning().split("\n", 2)[2].count(". ") + 1 <= 5
    assert not report.actions_table().empty and not report.budget_table().empty
    assert "Aggregate limit" in report.glossary()


def test_action_text_from_the_inputs_is_escaped(make_register):
    path = make_register([risk("A", events_per_year=2, controls="evil (planned)")])
    (path.parent / "controls.csv").write_text(
        "control,label,annual_cost,categories,target,reduction_low,reduction_high,source\n"
        'evil,"<script>alert(1)</script> $x$ *b*",100,ransomware,frequency,0.5,0.9,test\n')
    report = QuarterlyReport.build(str(path), "2026Q4", trials=1_000, seed=3)
    assert any("<script>" in a["what"] for a in report.summary["actions"])
    html = table(report.actions_table()).to_html() + table(report.budget_table()).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = report.meaning()
    assert "<script>" not in md and "\\$x\\$" in md


def test_set_control_on_the_command_line(tmp_path):
    reg = str(REGISTERS / "meadowbank-average" / "2026Q4.csv")
    run = CliRunner()
    out = run.invoke(main, ["simulate", reg, "--trials", "500", "--set-control", "mfa=planned",
                            "--set-control", "endpoint_protection=in_place", "--json", "-"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["controls"]["mfa"] == "planned" and data["controls"]["endpoint_protection"] == "in place"
    for bad, words in (("nope=in_place", "not a control of this register"), ("mfa=maybe", "expected NAME=in_place"),
                       ("mfa", "expected NAME=in_place")):
        res = run.invoke(main, ["simulate", reg, "--trials", "500", "--set-control", bad])
        assert res.exit_code == 2
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in res.output
