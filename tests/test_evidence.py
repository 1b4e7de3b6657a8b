"""Frequencies that learn from the incident log: exact posteriors, the engine's draws from them,
the weight of evidence, cost checks, and the 72-hour clock."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from riskmodel.analysis.engine import simulate
from riskmodel.analysis.evidence import (GAMMA_PRIOR_SHAPE, build_evidence, cost_check, gamma_posterior, ico_72h,
                                lognormal_posterior, weight_of_evidence, with_incident_log)
from riskmodel.inputs.incidents import Incident, IncidentLog
from riskmodel.inputs.register import load_register

from .conftest import ROOT, lognormal_range, risk, run_cli, write_register

T0 = dt.datetime(2026, 7, 1)


def inc(iid, when, kind="incident", risk_id="R1", reportable="no", reported=None, **kw):
    return Incident(iid, when, kind, risk_id, None, reportable, reported, **kw)


# -- posteriors against closed forms and quadrature ------------------------------------------------

@pytest.mark.parametrize("m,k,T", [(1.5, 0, 2.0), (0.3, 3, 1.25), (4.0, 12, 1.5), (0.05, 1, 0.5)])
def test_gamma_posterior_is_conjugate_and_agrees_with_quadrature(m, k, T):
    post = gamma_posterior(m, k, T)
    a0, b0 = GAMMA_PRIOR_SHAPE, GAMMA_PRIOR_SHAPE / m
    assert post.mean == pytest.approx((a0 + k) / (b0 + T), rel=1e-12)
    # unnormalised prior x likelihood by quadrature
    f = lambda lam: stats.gamma.pdf(lam, a0, scale=1 / b0) * lam ** k * math.exp(-lam * T)
    z = integrate.quad(f, 0, np.inf, limit=200)[0]
    mean = integrate.quad(lambda lam: lam * f(lam), 0, np.inf, limit=200)[0] / z
    assert post.mean == pytest.approx(mean, rel=1e-7)
    assert post.quantile(0.9) == pytest.approx(stats.gamma.ppf(0.9, a0 + k, scale=1 / (b0 + T)), rel=1e-9)
    assert post.weight_of_evidence == pytest.approx(T / (b0 + T), rel=1e-9)
    assert post.prob_at_least_one() == pytest.approx(1 - ((b0 + T) / (b0 + T + 1)) ** (a0 + k), rel=1e-12)


@pytest.mark.parametrize("low,high,k,T", [(2.0, 8.0, 3, 1.25), (0.02, 0.15, 0, 1.5), (0.02, 0.15, 2, 1.0),
                                          (1.0, 3.0, 40, 2.0), (0.2, 1.0, 0, 0.001)])
def test_lognormal_posterior_on_the_grid_agrees_with_quadrature(low, high, k, T):
    mu = (math.log(low) + math.log(high)) / 2
    sigma = (math.log(high) - math.log(low)) / (2 * 1.6448536269514722)
    post = lognormal_posterior(mu, sigma, k, T)
    f = lambda u: math.exp(-(u - mu) ** 2 / (2 * sigma ** 2) + k * u - T * math.exp(u))
    lo, hi = mu - 15 * sigma, mu + 15 * sigma
    z = integrate.quad(f, lo, hi, limit=400, points=[mu])[0]
    mean = integrate.quad(lambda u: math.exp(u) * f(u), lo, hi, limit=400, points=[mu])[0] / z
    assert post.mean == pytest.approx(mean, rel=1e-6)
    # the quantile: the CDF at it is the probability asked
    q = post.quantile(0.8)
    assert integrate.quad(f, lo, math.log(q), limit=400)[0] / z == pytest.approx(0.8, abs=1e-5)
    assert post.prior_mean == pytest.approx(math.exp(mu + sigma ** 2 / 2))
    w = post.weight_of_evidence
    assert 0.0 <= w <= 1.0
    if k / T != post.prior_mean:
        assert w == pytest.approx(min(1, max(0, (post.mean - post.prior_mean) / (k / T - post.prior_mean))))


def test_lognormal_posterior_without_evidence_is_the_prior():
    mu, sigma = math.log(0.5), 0.8
    post = lognormal_posterior(mu, sigma, 0, 0.0)
    assert post.mean == pytest.approx(math.exp(mu + sigma ** 2 / 2), rel=1e-7)
    z = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0])
    assert post.from_normal(z) == pytest.approx(np.exp(mu + sigma * z), rel=1e-6)


def test_weight_of_evidence_when_the_data_agree_with_the_prior():
    # k/T equal to the prior mean: the weight of a gamma prior with the same mean and variance
    assert weight_of_evidence(2.0, 2.0, 4, 2.0, prior_var=2.0) == pytest.approx(2.0 / (1.0 + 2.0))
    assert weight_of_evidence(2.0, 2.0, 0, 0.0, prior_var=2.0) == 0.0


# -- the engine draws each year's rate from the posterior -------------------------------------------

def _register_with_log(tmp_path, rows, incidents, name="2026Q4.csv"):
    path = write_register(tmp_path / "p", rows, name=name)
    reg = load_register(path)
    return reg, build_evidence(reg, IncidentLog(str(tmp_path / "incidents.csv"), tuple(incidents)))


def test_simulated_rates_follow_the_posterior(tmp_path):
    low, high = lognormal_range(math.log(2.0), 0.6)
    rows = [risk("R1", events_per_year=0.5), risk("R2", events_per_year="", events_low=low, events_high=high)]
    incidents = [inc(f"I{j}", dt.datetime(2026, 1, 5) + dt.timedelta(days=20 * j), risk_id="R1") for j in range(6)]
    reg, ev = _register_with_log(tmp_path, rows, incidents)
    assert ev.exposure_years == pytest.approx(1.0, abs=0.01)     # 2026Q1 to the end of 2026Q4
    from dataclasses import replace

    res = simulate(replace(reg, evidence=ev), trials=200_000, seed=3)
    counts_mean = {r.risk_id: ev.posteriors[r.risk_id].mean for r in reg.risks}
    # mean annual loss of each risk = posterior mean rate x mean loss per event
    per_event = {r.risk_id: r.components[0].mean() for r in reg.risks}
    for i, r in enumerate(reg.risks):
        expected = counts_mean[r.risk_id] * per_event[r.risk_id]
        assert res.risk_mean[i] == pytest.approx(expected, rel=0.03), r.risk_id
    assert counts_mean["R1"] == pytest.approx((2 + 6) / (4 + ev.exposure_years))


def test_a_log_leaves_other_streams_alone_and_no_log_changes_nothing(tmp_path):
    rows = [risk("R1"), risk("R2", events_per_year=0.2)]
    reg, ev = _register_with_log(tmp_path, rows, [inc("I1", dt.datetime(2026, 3, 1), risk_id="R1")])
    from dataclasses import replace

    a = simulate(reg, trials=20_000, seed=5)
    b = simulate(replace(reg, evidence=None), trials=20_000, seed=5)
    assert np.array_equal(a.gross, b.gross)
    c = simulate(replace(reg, evidence=ev), trials=20_000, seed=5)
    assert not np.array_equal(a.by_risk[0], c.by_risk[0])


#: Fingerprints of ``simulate --trials 20000 --seed 7 --json`` on every shipped register without
#: its incident log: gross statistics, each risk's and component's mean and p99, each payer's mean
#: and p99 (to 10 significant digits). They were those of the engine before incident logs existed
#: (commit 5860de8) until the engine changed how it draws (commits "Engine: a component's amount
#: drawn only when it occurs", "Engine: yearly counts by inversion, rare components by their
#: gaps", then "Engine: a shock's multiplier drawn only in years the shock can occur"); since,
#: that engine's with the new draws: ignoring the log must give the numbers of a
#: register that never had one (the copy without its log, below).
BEFORE_LOGS = {
    'meadowbank-average/2026Q3.csv': '7509bf657390adbeb0beffcf1459e846',
    'meadowbank-average/2026Q4.csv': '2c32fbcca563abedd1366f155d112d67',
    'northgate-multisite/2026Q3.xlsx': 'a236f4f3899ef9f1e69bad0b86db9b8a',
    'northgate-multisite/2026Q4.xlsx': '5e8e5706a87861ded5fd9b09cdb13353',
    'riverside-rural/2026Q3.csv': '484dcfc7f6e6951d514cd1190e85ea74',
    'riverside-rural/2026Q4.csv': '37f814656dec6298ef18ba134d0de61f',
}


def _rounded(x):
    """Floats to 10 significant digits: the installed numpy and scipy may move a figure's last
    bit (1e-16 relative), a change of the engine moves it by far more."""
    if isinstance(x, float):
        return float(f"{x:.10g}")
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def _fingerprint(a: dict) -> str:
    keep = {"gross": a["gross"], "by_risk": sorted((r["risk_id"], r["mean"], r["p99"]) for r in a["by_risk"]),
            "by_component": {k: (v["mean"], v["p99"]) for k, v in a["by_component"].items()},
            "payers": {p: (a[p]["mean"], a[p]["p99"]) for p in ("contract", "insurer", "retained") if a.get(p)}}
    return hashlib.sha256(json.dumps(_rounded(keep), sort_keys=True).encode()).hexdigest()[:32]


@pytest.mark.parametrize("register", sorted(BEFORE_LOGS))
def test_no_incidents_gives_todays_numbers_bit_for_bit(register, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    out = run_cli("simulate", f"registers/{register}", "--trials", "20000", "--seed", "7",
                  "--no-incidents", "--json", "-", "--no-progress")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["frequency_update"] is None and data["ico_72h"] is None
    assert _fingerprint(data) == BEFORE_LOGS[register]
    # the same practice copied without its log: the same numbers
    import shutil

    practice = ROOT / "registers" / register.split("/")[0]
    copy = tmp_path / practice.name
    shutil.copytree(practice, copy, ignore=shutil.ignore_patterns("incidents.csv"))
    never = run_cli("simulate", str(copy / register.split("/")[1]), "--trials", "20000", "--seed", "7",
                    "--json", "-", "--no-progress")
    assert never.exit_code == 0, never.output
    assert _fingerprint(json.loads(never.stdout)) == BEFORE_LOGS[register]


def test_simulate_uses_the_log_beside_the_register(monkeypatch):
    monkeypatch.chdir(ROOT)
    out = run_cli("simulate", "registers/meadowbank-average/2026Q4.csv", "--trials", "2000",
                  "--json", "-", "--no-progress")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    rows = {r["risk_id"]: r for r in data["frequency_update"]}
    assert set(rows) == {r["risk_id"] for r in data["by_risk"]}
    r03 = rows["R03"]
    for key in ("prior_mean", "posterior_mean", "events_observed", "exposure_years", "weight_of_evidence",
                "near_misses", "cost_check"):
        assert key in r03
    assert r03["events_observed"] == 5 and r03["exposure_years"] == pytest.approx(1.5, abs=0.01)
    clock = data["ico_72h"]
    assert (clock["reportable"], clock["reported"], clock["on_time"], clock["late"], clock["open"]) == (4, 3, 2, 1, 1)
    assert _fingerprint(data) != BEFORE_LOGS["meadowbank-average/2026Q4.csv"]


def test_as_of_moves_the_end_of_the_log(monkeypatch):
    monkeypatch.chdir(ROOT)
    out = run_cli("simulate", "registers/meadowbank-average/2026Q4.csv", "--trials", "1000",
                  "--as-of", "2026-11-12T09:15", "--json", "-", "--no-progress")
    assert out.exit_code == 0, out.output
    clock = json.loads(out.stdout)["ico_72h"]
    assert clock["as_of"] == "2026-11-12 09:15"
    assert clock["open"] == 0 and clock["pending"] == 1        # M11 is 48 hours old then
    bad = run_cli("simulate", "registers/meadowbank-average/2026Q4.csv", "--as-of", "2026-11-05",
                  "--trials", "100")
    assert bad.exit_code == 2 and "M11" not in bad.output and "after --as-of" in bad.output


def test_incidents_and_no_incidents_together_is_one_line():
    out = run_cli("simulate", str(ROOT / "registers/meadowbank-average/2026Q4.csv"),
                  "--incidents", "x.csv", "--no-incidents")
    assert out.exit_code == 2 and "cannot be used together" in out.output


# -- the 72-hour clock ------------------------------------------------------------------------------

def test_ico_72h_counts_on_a_crafted_log():
    d = dt.datetime(2026, 8, 3, 9, 0)
    h = lambda x: dt.timedelta(hours=x)
    rows = [
        inc("A", d, reportable="yes", reported=d + h(72)),              # exactly 72 hours: on time
        inc("B", d, reportable="yes", reported=d + h(72) + dt.timedelta(minutes=1)),  # late
        inc("C", d, reportable="yes", reported=d + h(10)),
        inc("D", d, reportable="yes"),                                  # never reported: open at end
        inc("E", dt.datetime(2026, 9, 29, 12, 0), reportable="yes"),    # 36 hours before end: pending
        inc("F", d, reportable="no"),
        inc("G", d, reportable="undecided"),
        inc("H", d, kind="near_miss"),
        inc("J", d, reportable="yes", reported=dt.datetime(2026, 10, 2)),  # reported after end: open
    ]
    out = ico_72h(rows, dt.datetime(2026, 10, 1))
    assert (out["reportable"], out["reported"], out["on_time"], out["late"], out["open"], out["pending"],
            out["undecided"]) == (6, 3, 2, 1, 2, 1, 1)
    assert out["median_hours_to_report"] == pytest.approx(72.0)
    status = {r["incident_id"]: r["status"] for r in out["incidents"]}
    assert status == {"A": "on_time", "B": "late", "C": "on_time", "D": "open", "E": "pending", "J": "open"}
    assert {r["incident_id"]: r["hours"] for r in out["incidents"]}["A"] == 72.0
    assert ico_72h([], dt.datetime(2026, 10, 1))["median_hours_to_report"] is None


# -- near misses and cost checks --------------------------------------------------------------------

def test_near_misses_by_quarter_and_coverage(tmp_path):
    rows = [risk("R1")]
    incidents = [inc("N1", dt.datetime(2026, 2, 1), kind="near_miss"),
                 inc("N2", dt.datetime(2026, 2, 9), kind="near_miss"),
                 inc("N3", dt.datetime(2026, 8, 1), kind="near_miss"),
                 inc("I1", dt.datetime(2026, 5, 1)),
                 inc("I9", dt.datetime(2027, 2, 1))]            # after the register's quarter: left out
    reg, ev = _register_with_log(tmp_path, rows, incidents, name="2026Q3.csv")
    row = ev.frequency_update[0]
    assert row["near_misses"] == [{"quarter": "2026Q1", "count": 2}, {"quarter": "2026Q2", "count": 0},
                                  {"quarter": "2026Q3", "count": 1}]
    assert row["events_observed"] == 1 and row["exposure_years"] == pytest.approx(273 / 365.25)


def test_cost_check_flags_improbably_many_costs_outside_the_ranges(tmp_path):
    rows = [risk("R1", incident_response_low=1000, incident_response_high=10000)]
    reg = load_register(write_register(tmp_path / "p", rows))
    r = reg.risks[0]
    inside = [inc(f"I{j}", T0, component_costs=(("incident_response", 5000.0),)) for j in range(8)]
    outside = [inc(f"O{j}", T0, component_costs=(("incident_response", 50_000.0),)) for j in range(4)]
    ok = cost_check(reg, r, inside + outside[:1])
    assert (ok["observed"], ok["outside_range"], ok["flag"]) == (9, 1, False)
    assert ok["expected_outside"] == pytest.approx(0.9)
    bad = cost_check(reg, r, inside + outside)
    assert bad["outside_range"] == 4 and bad["p_value"] == pytest.approx(stats.binom.sf(3, 12, 0.1))
    assert bad["p_value"] < 0.05 and bad["flag"] is True
    three = cost_check(reg, r, inside + outside[:3])           # 3 of 11: p = 0.09, not flagged
    assert three["flag"] is False
    # a total cost is checked against the 5th-95th percentiles of one event's total
    total = cost_check(reg, r, [inc("T", T0, cost=3000.0), inc("U", T0, cost=500.0)])
    assert (total["observed"], total["outside_range"]) == (2, 1)
    # a component the register does not give the risk is outside
    other = cost_check(reg, r, [inc("X", T0, component_costs=(("extortion", 100.0),))])
    assert other["outside_range"] == 1


def test_with_incident_log_reads_the_log_beside_the_register(tmp_path):
    path = write_register(tmp_path / "p", [risk("R1")], name="2026Q4.csv")
    reg = load_register(path)
    same, warnings = with_incident_log(reg)
    assert same is reg and warnings == ()
    (tmp_path / "p" / "incidents.csv").write_text(
        "incident_id,discovered,kind,risk_id,reportable\nI1,2026-04-02 10:00,incident,R1,no\n", encoding="utf-8")
    got, _ = with_incident_log(reg, now=dt.datetime(2027, 1, 1))
    assert got.evidence.frequency_update[0]["events_observed"] == 1
    assert got.evidence.exposure_years == pytest.approx(275 / 365.25)


def test_incidents_option_chooses_the_log_and_the_summary_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    log = tmp_path / "other.csv"
    log.write_text("incident_id,discovered,kind,risk_id,reportable,reported_to_ico\n"
                   "X1,2026-10-01 09:00,incident,R03,yes,2026-10-04 09:00\n", encoding="utf-8")
    out = run_cli("simulate", "registers/meadowbank-average/2026Q4.csv", "--trials", "1000",
                  "--incidents", str(log), "--no-progress")
    assert out.exit_code == 0, out.output
    assert "ICO 72-hour clock: 1 reportable, 1 on time, 0 late, 0 open" in out.output
    assert "R03: 1 incident(s) in 0.25 years" in out.output
    plain = run_cli("simulate", "registers/meadowbank-average/2026Q4.csv", "--trials", "1000",
                    "--no-incidents", "--no-progress")
    assert "ICO 72-hour clock" not in plain.output
