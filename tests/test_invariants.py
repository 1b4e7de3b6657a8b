"""Every split adds up: contract + insurer + retained = gross to the penny, each payer between 0
and gross, every number finite, the reasons adding up to retained, for the total, every risk,
every component and every reason; on random registers, policies, contracts and control
scenarios, across chunk boundaries, and on every shipped practice at the default run."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import Policy, Section, load_register, simulate
from riskmodel.simulation import draws as simulation_module
from riskmodel.simulation import plan as plan_module
from riskmodel.inputs.components import CATEGORIES, COMPONENTS
from riskmodel.inputs.contracts import Contracts, OwnerCover, load_contracts
from riskmodel.analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS, ScenarioModel
from riskmodel.coverage.invariants import InvariantError, check_allocation, check_summary
from riskmodel.inputs.policy import load_policy
from riskmodel.outputs.reporting import find_policy

from .conftest import write_register

ROOT = Path(__file__).resolve().parents[1]
CONTROLS = ["mfa", "offline_backups", "patching", "device_encryption", "endpoint_protection",
            "business_continuity_plan", "payment_verification", "phishing_training"]
COSTS = ["incident_response", "data_restoration", "extortion", "notification", "regulatory_defence",
         "regulatory_fine", "liability", "crime", "betterment"]


# -- random registers ------------------------------------------------------------------------
@st.composite
def risk_rows(draw, i: int, planned: dict[str, bool]) -> dict:
    row = {"risk_id": f"R{i:02d}", "title": f"Risk {i}", "category": draw(st.sampled_from(sorted(CATEGORIES))),
           "system_owner": draw(st.sampled_from(["practice", "nhs", "supplier"]))}
    if draw(st.booleans()):
        row["events_per_year"] = draw(st.sampled_from([0.01, 0.2, 1.0, 4.0, 15.0]))
    else:
        lo = draw(st.sampled_from([0.01, 0.1, 0.5]))
        row["events_low"], row["events_high"] = lo, lo * draw(st.sampled_from([2, 10, 50]))
    for comp in draw(st.lists(st.sampled_from(COSTS), min_size=1, max_size=3, unique=True)):
        lo = draw(st.sampled_from([50.0, 1_000.0, 20_000.0]))
        row[f"{comp}_low"], row[f"{comp}_high"] = lo, lo * draw(st.sampled_from([1.5, 10.0, 200.0]))
        if draw(st.booleans()):
            row[f"{comp}_prob"] = draw(st.sampled_from([0.05, 0.5]))
    if draw(st.booleans()):
        row["downtime_hours_low"], row["downtime_hours_high"] = draw(st.sampled_from([(1, 10), (4, 200), (100, 3000)]))
    chosen = draw(st.lists(st.sampled_from(CONTROLS), max_size=3, unique=True))
    row["controls"] = "; ".join(c + (" (planned)" if planned[c] else "") for c in chosen)
    if draw(st.booleans()):
        row["tags"] = "state_backed"
    return row


@st.composite
def registers(draw) -> list[dict]:
    n = draw(st.integers(1, 4))
    planned = {c: draw(st.booleans()) for c in CONTROLS}     # one status per practice
    rows = [draw(risk_rows(i + 1, planned)) for i in range(n)]
    for col in ("events_per_year", "incident_response_low", "incident_response_high"):
        rows[0].setdefault(col, "")            # the minimal columns exist (empty: not used)
    if n > 1 and draw(st.booleans()):
        rows[0]["common_shock"] = "yes"
        rows[0]["shock_multiplier"] = draw(st.sampled_from([1.5, 3.0, 10.0]))
        rows[0]["category"] = "supplier_outage"
    return rows


money = st.sampled_from([0.0, 100.0, 1_000.0, 5_000.0, 25_000.0, 250_000.0])
small_money = st.one_of(st.none(), st.sampled_from([1.0, 500.0, 2_000.0, 20_000.0, 60_000.0]))
sections = st.dictionaries(st.sampled_from(COMPONENTS),
                           st.builds(Section, covered=st.booleans(), sublimit=small_money, excess=small_money),
                           max_size=len(COMPONENTS))
policies = st.one_of(st.none(), st.builds(
    Policy, aggregate_limit=st.sampled_from([1.0, 1_000.0, 3_000.0, 5_000.0, 10_000.0, 50_000.0, 1e7]), excess=money,
    limit_any_one_claim=small_money, coinsurance=st.sampled_from([0.0, 0.1, 1.0]), sections=sections,
    waiting_period_hours=st.sampled_from([0.0, 8.0, 24.0, 5_000.0]),
    waiting_period_mode=st.sampled_from(["beyond", "qualifying"]),
    indemnity_period_hours=st.one_of(st.none(), st.sampled_from([1.0, 48.0, 720.0])),
    requires_controls=st.sampled_from([(), ("mfa",), ("offline_backups", "mfa")]),
    warranty_denial_probability=st.sampled_from([1.0, 0.5, 0.0]),
    war_exclusion=st.booleans(), unencrypted_device_exclusion=st.booleans()))
# Policies whose sublimits and aggregate limit are of the size of a year's claims, with a shared
# excess: sublimits run out within the year before the aggregate limit does (the path of the
# 280-digit amount), in most examples rather than by chance.
tight = st.builds(
    Policy, aggregate_limit=st.sampled_from([2_000.0, 5_000.0, 12_000.0]), excess=st.sampled_from([100.0, 1_000.0]),
    limit_any_one_claim=st.sampled_from([None, 4_000.0]),
    sections=st.lists(st.sampled_from([None, 500.0, 1_000.0, 5_000.0]), min_size=len(COMPONENTS),
                      max_size=len(COMPONENTS)).map(
        lambda subs: {c: Section(sublimit=v) for c, v in zip(COMPONENTS, subs) if v is not None}),
    coinsurance=st.sampled_from([0.0, 0.2]))
policies = st.one_of(policies, tight)
contracts = st.sampled_from([
    None, Contracts({}),
    Contracts({"supplier": OwnerCover({"data_restoration": 1.0, "incident_response": 0.5,
                                       "business_interruption": 0.5}, 0.6, 20_000.0),
               "practice": OwnerCover({"liability": 0.3, "crime": 1.0}, 1.0, 100.0),
               "nhs": OwnerCover({c: 1.0 for c in COMPONENTS}, 0.9)})])


def _checked(result, where: str) -> dict:
    """The summary (its own guard runs inside) and an independent re-check of every split."""
    summary = result.summary()
    json.dumps(summary, allow_nan=False)
    if result.allocation is not None:
        check_allocation(result.allocation, where)
        a = result.allocation
        # the reasons by component add up to what the practice retains of that component
        total = sum(a.reasons[r] for r in a.reasons)
        np.testing.assert_allclose(total, a.by_component["retained"], rtol=1e-9,
                                   atol=0.005 * result.trials)
    return summary


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rows=registers(), policy=policies, con=contracts, flips=st.lists(st.sampled_from(CONTROLS), max_size=3),
       trials=st.integers(50, 2_500), seed=st.integers(0, 2**32 - 1))
def test_every_split_adds_up_on_random_inputs(monkeypatch, rows, policy, con, flips, trials, seed):
    monkeypatch.setattr(simulation_module, "CHUNK", 997)       # many chunk boundaries, cheaply
    monkeypatch.setattr(plan_module, "CHUNK", 997)             # (and the memory check counts them)
    with tempfile.TemporaryDirectory() as d:
        reg = load_register(write_register(Path(d), rows))
    status = {c: not reg.control_status[c] for c in flips if c in reg.control_status}
    con = con or load_contracts()
    streamed = simulate(reg, trials, seed, policy=policy, contracts=con, control_status=status, threads=2)
    _checked(streamed, "streamed run")
    model = ScenarioModel(reg, trials, seed, threads=2, show_progress=False)
    kept = model.result(policy, con, status)
    _checked(kept, "scenario model")
    check_allocation(model.allocate(policy, con, status, detail=False), "totals only")
    check_allocation(model.allocate(policy, con, status, with_reasons=False), "without reasons")
    np.testing.assert_array_equal(kept.gross, streamed.gross)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=tight, rate=st.sampled_from([1.0, 4.0, 15.0]), seed=st.integers(0, 2**32 - 1))
def test_sublimits_then_aggregate_on_single_section_events(monkeypatch, policy, rate, seed):
    """Risks whose events claim on one sublimited section only (telephony fraud: crime, and
    sometimes downtime), under a shared excess: after the sublimit runs out, such an event's claim
    is zero up to rounding, and the aggregate limit's share of it must stay within [0, 1]."""
    monkeypatch.setattr(simulation_module, "CHUNK", 997)
    monkeypatch.setattr(plan_module, "CHUNK", 997)
    rows = [{"risk_id": "R1", "title": "Telephony fraud", "category": "telephony_fraud", "system_owner": "practice",
             "events_per_year": rate, "incident_response_low": "", "incident_response_high": "",
             "crime_low": 500, "crime_high": 20_000, "downtime_hours_low": 2, "downtime_hours_high": 24,
             "downtime_hours_prob": 0.3},
            {"risk_id": "R2", "title": "Payment diversion", "category": "payment_diversion",
             "system_owner": "practice", "events_per_year": rate / 2, "incident_response_low": 500,
             "incident_response_high": 5_000, "incident_response_prob": 0.5, "crime_low": 2_000,
             "crime_high": 60_000}]
    with tempfile.TemporaryDirectory() as d:
        reg = load_register(write_register(Path(d), rows))
    _checked(simulate(reg, 3_000, seed, policy=policy, threads=2), "streamed run")


def test_split_adds_up_across_the_real_chunk_boundary():
    """One run of more than one engine chunk (50,000 trials), streamed and kept."""
    rows = [{"risk_id": "S1", "title": "Supplier outage", "category": "supplier_outage", "system_owner": "supplier",
             "events_per_year": 0.3, "downtime_hours_low": 4, "downtime_hours_high": 400,
             "incident_response_low": 500, "incident_response_high": 5000, "common_shock": "yes",
             "shock_multiplier": 3},
            {"risk_id": "R1", "title": "Telephony fraud", "category": "telephony_fraud", "system_owner": "practice",
             "events_per_year": 0.5, "crime_low": 500, "crime_high": 20000, "downtime_hours_low": 2,
             "downtime_hours_high": 24, "downtime_hours_prob": 0.3, "controls": "mfa (planned)"}]
    pol = Policy(aggregate_limit=5_000, excess=100, limit_any_one_claim=4_000,
                 sections={"crime": Section(sublimit=1_000), "business_interruption": Section(sublimit=700)},
                 requires_controls=("mfa",), warranty_denial_probability=0.5)
    trials = simulation_module.CHUNK + 1_234
    with tempfile.TemporaryDirectory() as d:
        reg = load_register(write_register(Path(d), rows))
    _checked(simulate(reg, trials, 3, policy=pol), "streamed")
    _checked(ScenarioModel(reg, trials, 3, show_progress=False).result(pol, load_contracts()), "kept")


def _shipped():
    out = []
    for practice in sorted((ROOT / "registers").iterdir()):
        for f in sorted(practice.glob("2026Q*.*")):
            if f.suffix in (".csv", ".xlsx"):
                out.append(f)
    return out


@pytest.mark.parametrize("register", _shipped(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_practice_adds_up_at_the_default_run(register):
    """The run the reports and the dashboard make: default trials and seed, the quarter's policy
    and the practice's contracts (the 280-digit amount of R08 was here)."""
    reg = load_register(register)
    pol_path = find_policy(register, register.stem)
    pol = load_policy(pol_path, set(reg.controls)) if pol_path else None
    con_path = register.parent / "contracts.toml"
    con = load_contracts(con_path if con_path.is_file() else None)
    summary = _checked(simulate(reg, DEFAULT_TRIALS, DEFAULT_SEED, policy=pol, contracts=con), str(register))
    for row in summary["by_risk"]:
        parts = row["contract_mean"] + row["insurer_mean"] + row["retained_mean"]
        assert abs(parts - row["mean"]) <= 0.005, row
        assert all(0 <= row[f"{p}_mean"] <= row["mean"] + 0.005 for p in ("contract", "insurer", "retained")), row


# -- the guard itself -------------------------------------------------------------------------
def _summary():
    with tempfile.TemporaryDirectory() as d:
        reg = load_register(write_register(Path(d), [{
            "risk_id": "R1", "title": "Risk", "category": "ransomware", "system_owner": "practice",
            "events_per_year": 2, "incident_response_low": 1000, "incident_response_high": 20000}]))
    return simulate(reg, 2_000, 1, policy=Policy(aggregate_limit=10_000, excess=500)).summary()


@pytest.mark.parametrize("corrupt, statistic", [
    (lambda s: s["by_risk"][0].update(insurer_mean=2.5e277, retained_mean=-2.5e277), "risk R1"),
    (lambda s: s["retained"].update(mean=s["retained"]["mean"] + 0.02), "expected annual loss"),
    (lambda s: s["insurer"].update(p99=s["gross"]["p99"] * 2), "insurer p99"),
    (lambda s: s["gross"].update(tvar99=math.nan), "gross.tvar99"),
    (lambda s: s["by_component"]["incident_response"].update(contract_mean=-1.0), "component incident_response"),
    (lambda s: s["gap_table"][0]["reasons"].update(excess=1e6), "retained by reason"),
])
def test_guard_names_the_impossible_statistic(corrupt, statistic):
    s = _summary()
    check_summary(s, "test")                      # a true summary passes
    corrupt(s)
    with pytest.raises(InvariantError, match="internal error") as info:
        check_summary(s, "test")
    assert statistic in str(info.value)


def test_guard_stops_the_cli_before_anything_is_written(tmp_path, monkeypatch):
    """An impossible split in the engine: exit status 3, a plain message, no JSON file."""
    from click.testing import CliRunner

    from riskmodel import cli
    from riskmodel.coverage import allocation

    real = allocation.ContractSplit._finish

    def broken(self, insurer_trial, *args):
        out = real(self, insurer_trial, *args)
        if out.by_risk is not None:
            out.by_risk["insurer"][0] += 1e300
            out.by_risk["retained"][0] -= 1e300
        return out

    monkeypatch.setattr(allocation.ContractSplit, "_finish", broken)
    target = tmp_path / "out.json"
    res = CliRunner().invoke(cli.main, ["simulate", str(ROOT / "registers/meadowbank-average/2026Q4.csv"),
                                        "--trials", "2000", "--json", str(target)])
    assert res.exit_code == 3, res.output
    assert "internal error" in res.output and "by risk" in res.output
    assert not target.exists()
