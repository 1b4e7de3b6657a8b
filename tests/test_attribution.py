"""Quarter-on-quarter attribution: each change's effect on common random numbers."""
from __future__ import annotations

import pytest

from riskmodel import Policy, load_contracts, load_policy, load_register, simulate
from riskmodel.analysis.attribution import attribute

from .conftest import REGISTERS, risk, write_register

TRIALS, SEED = 20_000, 11


def means(reg, pol, con):
    res = simulate(reg, TRIALS, SEED, policy=pol, contracts=con, show_progress=False)
    return res.gross.mean(), res.payer("retained").mean(), res


def test_steps_add_up_and_match_both_quarters():
    d = REGISTERS / "northgate-multisite"
    before, after = load_register(d / "2026Q3.xlsx"), load_register(d / "2026Q4.xlsx")
    p_before = load_policy(d / "2026Q3.policy.toml", set(before.controls))
    p_after = load_policy(d / "policy.toml", set(after.controls))
    con = load_contracts(d / "contracts.toml")
    steps = attribute(before, after, p_before, p_after, con, trials=TRIALS, seed=SEED)
    kinds = [s.kind for s in steps]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert {"risk added", "control", "policy"} <= set(kinds) and "other" not in kinds
    g0, r0, _ = means(before, p_before, con)
    g1, r1, _ = means(after, p_after, con)
    assert steps[0].gross_mean == g0 and steps[0].retained_mean == r0
    assert steps[-1].gross_mean == g1 and steps[-1].retained_mean == r1
    middle = steps[1:-1]
    assert sum(s.delta_gross for s in middle) == pytest.approx(g1 - g0, rel=1e-9, abs=1e-6)
    assert sum(s.delta_retained for s in middle) == pytest.approx(r1 - r0, rel=1e-9, abs=1e-6)
    # putting a control in place can only remove events or shrink them, year by year
    assert all(s.delta_gross <= 0 for s in steps if s.kind == "control" and "put in place" in s.label)
    # a policy change moves only who pays, never the gross loss
    pol = next(s for s in steps if s.kind == "policy")
    assert pol.delta_gross == 0 and pol.delta_retained < 0      # higher limit, lower excess


def test_each_change_is_exactly_its_own_effect(tmp_path):
    prev_rows = [risk("A", events_per_year=2), risk("B", events_per_year=1, category="phishing_bec"),
                 risk("C", events_per_year=0.5, controls="mfa (planned)")]
    cur_rows = [risk("A", events_per_year=2, title="Renamed only"),
                risk("C", events_per_year=0.5, controls="mfa"),
                risk("D", events_per_year=0.3, incident_response_low=5000, incident_response_high=90000),
                ]
    cur_rows[0]["incident_response_high"] = 10000  # unchanged range: no step
    before = load_register(write_register(tmp_path / "q3", prev_rows))
    after = load_register(write_register(tmp_path / "q4", cur_rows))
    con = load_contracts()
    steps = attribute(before, after, None, None, con, trials=TRIALS, seed=SEED)
    labels = [s.label for s in steps]
    assert [s.kind for s in steps] == ["start", "risk removed", "risk added", "control", "end"], labels
    _, _, prev = means(before, None, con)
    _, _, cur = means(after, None, con)
    # removing B takes away exactly B's simulated years; adding D adds exactly D's (same streams)
    assert steps[1].delta_gross == pytest.approx(-prev.risk_mean[1], rel=1e-9)
    assert steps[2].delta_gross == pytest.approx(cur.risk_mean[2], rel=1e-9)
    # the control step is C with and without MFA on the same years
    with_mfa = cur.risk_mean[1]
    without = simulate(after, TRIALS, SEED, control_status={"mfa": False}).risk_mean[1]
    assert steps[3].delta_gross == pytest.approx(with_mfa - without, rel=1e-9)
    assert steps[3].delta_gross < 0
    # same inputs, same numbers
    again = attribute(before, after, None, None, con, trials=TRIALS, seed=SEED)
    assert [s.to_dict() for s in again] == [s.to_dict() for s in steps]


def test_changed_range_is_one_step(tmp_path):
    before = load_register(write_register(tmp_path / "q3", [risk("A"), risk("B")]))
    after = load_register(write_register(tmp_path / "q4", [risk("A"), risk("B", incident_response_high=40000)]))
    steps = attribute(before, after, Policy(aggregate_limit=50_000), Policy(aggregate_limit=50_000),
                      load_contracts(), trials=TRIALS, seed=SEED)
    assert [s.kind for s in steps] == ["start", "risk changed", "end"]
    assert "cost ranges" in steps[1].label and steps[1].delta_gross > 0
