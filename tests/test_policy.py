"""Policy schedules: explicit "uninsured", unlimited limits, no ambiguous zeros, located errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from riskmodel import InputError, load_contracts, load_policy, load_register, simulate
from riskmodel.analysis.engine import policy_summary
from riskmodel.io.formatting import money
from riskmodel.inputs.policy import Policy, Section

from .conftest import REGISTERS, the_problem, write_policy

RIVERSIDE = REGISTERS / "riverside-rural"


def problems(tmp_path, text: str):
    """The problems of the policy schedule ``text``, each naming its file."""
    path = write_policy(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_policy(path, {"mfa"})
    for p in info.value.problems:
        assert p.file == str(path)
    return info.value.problems


def policy_problem(tmp_path, text: str, column: str):
    """The one problem of the policy schedule ``text`` at ``column``."""
    return the_problem(problems(tmp_path, text), column)


# -- the forms a policy file may take ------------------------------------------------------------

def test_a_positive_limit_insures(tmp_path):
    pol = load_policy(write_policy(tmp_path, "aggregate_limit = 50000\nexcess = 1000\n"))
    assert pol.aggregate_limit == 50_000 and pol.cover and pol.insured and not pol.unlimited


@pytest.mark.parametrize("text", ['aggregate_limit = "unlimited"\n', 'aggregate_limit = " Unlimited "\n'])
def test_unlimited_is_stored_as_infinity(tmp_path, text):
    pol = load_policy(write_policy(tmp_path, text))
    assert pol.aggregate_limit == math.inf and pol.unlimited and pol.insured


def test_insured_false_needs_no_money_terms(tmp_path):
    pol = load_policy(write_policy(tmp_path, 'name = "No cyber policy"\ninsured = false\n'))
    assert not pol.cover and not pol.insured and pol.aggregate_limit == 0


def test_insured_false_keeps_the_terms_but_pays_nothing(tmp_path):
    pol = load_policy(write_policy(tmp_path, "insured = false\naggregate_limit = 50000\nexcess = 1000\n"))
    assert pol.aggregate_limit == 50_000 and pol.excess == 1_000 and not pol.insured
    # a limit of 0 is not ambiguous once cover is switched off
    assert not load_policy(write_policy(tmp_path, "insured = false\naggregate_limit = 0\n")).insured


def test_insured_true_is_the_default_and_needs_a_limit(tmp_path):
    assert load_policy(write_policy(tmp_path, "insured = true\naggregate_limit = 1\n")).insured
    p = policy_problem(tmp_path, "insured = true\n", "aggregate_limit")
    assert "insured = false" in p.expected


def test_no_section_covered_is_not_insured():
    pol = Policy(aggregate_limit=10_000, sections={c: Section(covered=False) for c in Policy().sections})
    assert pol.cover and not pol.insured


# -- errors: file, key, value and the fix ---------------------------------------------------------

def test_zero_aggregate_limit_is_a_located_error_saying_how_to_fix_it(tmp_path):
    p = policy_problem(tmp_path, "aggregate_limit = 0\nexcess = 0\n", "aggregate_limit")
    assert p.value == 0 and p.row is None
    assert "insured = false" in p.expected and '"unlimited"' in p.expected and "positive" in p.expected
    assert "insured = false" in str(p) and "aggregate_limit" in str(p)


@pytest.mark.parametrize("text,value", [('aggregate_limit = "a lot"\n', "a lot"),
                                        ("aggregate_limit = -5\n", -5),
                                        ('aggregate_limit = "inf"\n', "inf"),
                                        ("aggregate_limit = nan\n", None)])
def test_bad_aggregate_limits(tmp_path, text, value):
    p = policy_problem(tmp_path, text, "aggregate_limit")
    if value is not None:
        assert p.value == value
    assert "insured = false" in p.expected


def test_missing_aggregate_limit_says_how_to_declare_no_cover(tmp_path):
    p = policy_problem(tmp_path, "excess = 100\n", "aggregate_limit")
    assert p.value is None and "missing" in p.expected and "insured = false" in p.expected


@pytest.mark.parametrize("text,column,value", [
    # the words yes/no/true/false in quotes are accepted (tests/test_hostile_inputs.py); any
    # other text or a number is an error, never a guess
    ('insured = "maybe"\n', "insured", "maybe"),
    ("insured = 0\n", "insured", 0),
    ('aggregate_limit = 1\nwar_exclusion = "perhaps"\n', "war_exclusion", "perhaps"),
    ('aggregate_limit = 1\n[sections.extortion]\ncovered = "off"\n', "sections.extortion.covered", "off"),
])
def test_text_where_a_boolean_belongs(tmp_path, text, column, value):
    p = policy_problem(tmp_path, text, column)
    assert p.value == value and "true or false" in p.expected


def test_zero_sublimit_is_a_located_error(tmp_path):
    p = policy_problem(tmp_path, "aggregate_limit = 50000\n[sections.extortion]\nsublimit = 0\n",
                    "sections.extortion.sublimit")
    assert p.value == 0
    assert "covered = false" in p.expected and "omit sublimit" in p.expected


def test_unknown_key_is_still_an_error(tmp_path):
    assert policy_problem(tmp_path, "aggregate_limit = 1\ninsurred = false\n", "insurred")


def test_every_problem_in_one_pass(tmp_path):
    cols = {p.column for p in problems(tmp_path, 'insured = "maybe"\naggregate_limit = 0\n'
                                                 "[sections.crime]\nsublimit = 0\n")}
    assert {"insured", "aggregate_limit", "sections.crime.sublimit"} <= cols


# -- the Python API -------------------------------------------------------------------------------

def test_python_api_defaults_to_no_cover_and_refuses_an_ambiguous_zero():
    assert not Policy().insured and Policy().aggregate_limit == 0.0
    assert not Policy(name="No policy").cover
    with pytest.raises(ValueError, match="ambiguous"):
        Policy(aggregate_limit=0)
    with pytest.raises(ValueError, match="cover=True"):
        Policy(cover=True)
    with pytest.raises(ValueError):
        Policy(aggregate_limit=math.nan)
    with pytest.raises(ValueError, match="sublimit"):
        Section(sublimit=0)
    assert Policy(aggregate_limit=0, cover=False).aggregate_limit == 0


def test_copies_keep_cover_and_can_switch_it():
    off = Policy(cover=False)
    assert not off.with_terms(excess=500).insured             # a copy of "no cover" stays uninsured
    on = off.with_terms(aggregate_limit=100_000, cover=True)
    assert on.insured
    with pytest.raises(ValueError, match="ambiguous|cover=True"):
        on.with_terms(aggregate_limit=0)
    assert Policy(aggregate_limit=math.inf).with_section("extortion", sublimit=10_000).unlimited


# -- JSON and display -----------------------------------------------------------------------------

def test_policy_summary_of_an_unlimited_policy_is_valid_json():
    s = policy_summary(Policy(aggregate_limit=math.inf, excess=1_000))
    text = json.dumps(s, allow_nan=False)
    back = json.loads(text)
    assert back["aggregate_limit"] == "unlimited" and back["insured"] is True
    assert money(back["aggregate_limit"]) == "unlimited" and money(math.inf) == "unlimited"


def test_policy_summary_of_no_cover():
    s = policy_summary(Policy(cover=False, aggregate_limit=50_000))
    json.dumps(s, allow_nan=False)
    assert s["insured"] is False and s["aggregate_limit"] == 0
    assert policy_summary(Policy(aggregate_limit=50_000))["aggregate_limit"] == 50_000
    assert policy_summary(None) is None


def test_unlimited_policy_pays_everything_covered():
    reg = load_register(REGISTERS / "meadowbank-average" / "2026Q4.csv")
    unlimited = Policy(aggregate_limit=math.inf, excess=0, waiting_period_hours=0,
                       war_exclusion=False, unencrypted_device_exclusion=False)
    big = unlimited.with_terms(aggregate_limit=1e12)
    a = simulate(reg, 2_000, seed=1, policy=unlimited, detail_trials=0)
    b = simulate(reg, 2_000, seed=1, policy=big, detail_trials=0)
    assert (a.payer("insurer") == b.payer("insurer")).all()
    summary = a.summary()
    json.dumps(summary, allow_nan=False)
    assert summary["policy"]["aggregate_limit"] == "unlimited" and summary["prob_aggregate_exhausted"] == 0


# -- the shipped uninsured practice ---------------------------------------------------------------

def test_riverside_ships_uninsured_and_is_priced_as_such():
    pol = load_policy(RIVERSIDE / "policy.toml")
    assert not pol.cover and not pol.insured
    reg = load_register(RIVERSIDE / "2026Q4.csv")
    result = simulate(reg, 2_000, seed=4, policy=pol, contracts=load_contracts(RIVERSIDE / "contracts.toml"))
    assert result.payer("insurer").sum() == 0
    assert (result.payer("retained") == result.gross - result.payer("contract")).all()
    s = result.summary()
    json.dumps(s, allow_nan=False)
    assert s["insurer"]["mean"] == 0 and s["prob_aggregate_exhausted"] is None
    assert s["policy"]["insured"] is False and s["policy"]["aggregate_limit"] == 0
    assert s["limit_for_1_in_100"] is None


# -- business interruption: the worked example of registers/README.md ----------------------------

@pytest.mark.parametrize("hours,mode,paid_hours", [(1_000, "beyond", 712), (1_000, "qualifying", 720),
                                                   (6, "beyond", 0), (6, "qualifying", 0)])
def test_bi_waiting_and_indemnity_worked_example(make_register, hours, mode, paid_hours):
    from riskmodel import Contracts

    rows = [{"risk_id": "R1", "title": "Long outage", "category": "ransomware", "system_owner": "practice",
             "events_per_year": 2.0, "incident_response_low": "", "incident_response_high": "",
             "downtime_hours_low": hours * 0.9999, "downtime_hours_high": hours * 1.0001}]
    reg = load_register(make_register(rows))
    rate = reg.practice.interruption_cost_per_hour
    pol = Policy(aggregate_limit=math.inf, waiting_period_hours=8, indemnity_period_hours=720,
                 waiting_period_mode=mode)
    res = simulate(reg, 2_000, seed=5, policy=pol, contracts=Contracts({}))
    events = np.round(res.gross / (rate * hours))
    assert events.sum() > 1_000
    np.testing.assert_allclose(res.payer("insurer"), events * rate * paid_hours, rtol=1e-9, atol=1e-6)
