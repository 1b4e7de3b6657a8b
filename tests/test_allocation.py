"""Who pays: exact checks against an FFT method, closed forms, conservation, exclusions."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskmodel import InputError, Policy, Section, load_contracts, load_policy, load_register, simulate
from riskmodel.inputs.contracts import Contracts, OwnerCover
from riskmodel.analysis.engine import ScenarioModel

from .conftest import lognormal_range, risk

MU, SIGMA, LAM = 10.0, 1.5, 2.0
NO_CONTRACT = Contracts({})


def within(estimate, exact, se, k=4.0):
    assert abs(estimate - exact) <= k * se, f"{estimate} vs {exact} (se {se})"


def single_risk(make_register, **kw):
    lo, hi = lognormal_range(MU, SIGMA)
    return load_register(make_register([risk(events_per_year=LAM, incident_response_low=lo,
                                             incident_response_high=hi, **kw)]))


def test_excess_claim_limit_and_aggregate_against_exact(make_register):
    aggregate = pytest.importorskip("aggregate")
    reg = single_risk(make_register)
    pol = Policy(aggregate_limit=500_000, excess=5_000, limit_any_one_claim=250_000)
    res = simulate(reg, 400_000, seed=21, policy=pol, contracts=NO_CONTRACT)
    ins = res.allocation.per_trial["insurer"]
    # 'occurrence ceded to L xs A' keeps the claim count (`aggregate` documentation)
    exact = aggregate.build(f"agg Ceded {LAM} claims sev {math.exp(MU)} * lognorm {SIGMA} "
                            "occurrence ceded to 250000 xs 5000 poisson aggregate ceded to 500000 xs 0",
                            log2=18, bs=200, normalize=False)
    within(ins.mean(), exact.est_m, ins.std() / math.sqrt(ins.size))
    for p in (0.5, 0.9, 0.95):
        q = np.quantile(ins, p)
        within(float(exact.cdf(q)), p, math.sqrt(p * (1 - p) / ins.size), k=4.5)
    assert ins.max() <= 500_000 + 1e-6
    retained = res.allocation.per_trial["retained"]
    within(retained.mean(), LAM * math.exp(MU + SIGMA**2 / 2) - exact.est_m,
           retained.std() / math.sqrt(ins.size) + ins.std() / math.sqrt(ins.size))


def test_excess_closed_form_with_gemact(make_register):
    gemact = pytest.importorskip("gemact")
    reg = single_risk(make_register)
    pol = Policy(aggregate_limit=1e12, excess=5_000, limit_any_one_claim=250_000)
    ins = simulate(reg, 300_000, seed=22, policy=pol, contracts=NO_CONTRACT).allocation.per_trial["insurer"]
    sev = gemact.Severity(dist="lognormal", par={"scale": math.exp(MU), "shape": SIGMA})
    # layer 250k xs 5k: limited expected values, no share (gemact 1.3.0 applies share twice in mean())
    per_claim = float(np.squeeze(sev.model.lev(255_000) - sev.model.lev(5_000)))
    within(ins.mean(), LAM * per_claim, ins.std() / math.sqrt(ins.size))


def lognormal_partial(mu, sigma, w):
    """E[(H - w)+] and E[H 1{H > w}] for a lognormal H."""
    d2 = (mu - math.log(w)) / sigma
    d1 = d2 + sigma
    m = math.exp(mu + sigma**2 / 2)
    return m * stats.norm.cdf(d1) - w * stats.norm.cdf(d2), m * stats.norm.cdf(d1)


@pytest.mark.parametrize("mode", ["beyond", "qualifying"])
def test_business_interruption_waiting_period_closed_form(make_register, mode):
    rows = [risk(events_per_year=1.0, incident_response_low="", incident_response_high="",
                 downtime_hours_low=2, downtime_hours_high=100)]
    reg = load_register(make_register(rows))
    rate = reg.practice.interruption_cost_per_hour
    d = reg.risks[0].component("business_interruption").dist
    pol = Policy(aggregate_limit=1e12, waiting_period_hours=12, waiting_period_mode=mode)
    ins = simulate(reg, 300_000, seed=23, policy=pol, contracts=NO_CONTRACT).allocation.per_trial["insurer"]
    beyond, qualifying = lognormal_partial(d.mu, d.sigma, 12)
    exact = rate * (beyond if mode == "beyond" else qualifying)
    within(ins.mean(), exact, ins.std() / math.sqrt(ins.size))


def test_contract_plus_insurer_plus_retained_is_gross_every_trial():
    for practice in ("riverside-rural", "meadowbank-average", "northgate-multisite"):
        path = next(p for p in __import__("pathlib").Path("registers", practice).glob("2026Q4.*"))
        reg = load_register(path)
        pol = load_policy(path.parent / "policy.toml", set(reg.controls))
        con = load_contracts(path.parent / "contracts.toml")
        a = simulate(reg, 30_000, seed=1, policy=pol, contracts=con).allocation
        pt = a.per_trial
        total = pt["contract"] + pt["insurer"] + pt["retained"]
        assert np.array_equal(pt["retained"], pt["gross"] - pt["contract"] - pt["insurer"])
        assert np.allclose(total, pt["gross"], rtol=1e-12, atol=1e-6)
        assert (pt["contract"] >= -1e-9).all() and (pt["insurer"] >= -1e-9).all()
        # reasons explain everything retained, component by component
        reasons = sum(a.reasons.values())
        assert np.allclose(reasons, a.by_component["retained"], rtol=1e-9, atol=1e-3)


def test_regulatory_fines_not_covered_by_default(make_register):
    reg = load_register(make_register([risk(regulatory_fine_low=1000, regulatory_fine_high=5000)]))
    a = simulate(reg, 20_000, seed=2, policy=Policy(aggregate_limit=1e9), contracts=NO_CONTRACT).allocation
    k = list(a.by_component["gross"]).index
    from riskmodel.inputs.components import COMPONENTS
    fine = COMPONENTS.index("regulatory_fine")
    assert a.by_component["insurer"][fine] == 0 and a.by_component["gross"][fine] > 0
    assert a.reasons["not covered"][fine] == pytest.approx(a.by_component["gross"][fine])
    del k


def test_war_exclusion(make_register):
    reg = load_register(make_register([risk("W", tags="state_backed"), risk("P")]))
    a = simulate(reg, 20_000, seed=3, policy=Policy(aggregate_limit=1e9), contracts=NO_CONTRACT).allocation
    assert a.by_risk["insurer"][0] == 0 and a.by_risk["insurer"][1] > 0
    off = Policy(aggregate_limit=1e9, war_exclusion=False)
    assert simulate(reg, 20_000, seed=3, policy=off, contracts=NO_CONTRACT).allocation.by_risk["insurer"][0] > 0


def test_unencrypted_device_exclusion(make_register):
    rows = [risk(category="lost_stolen_device", controls="device_encryption (planned)")]
    reg = load_register(make_register(rows))
    pol = Policy(aggregate_limit=1e9)
    planned = simulate(reg, 20_000, seed=4, policy=pol, contracts=NO_CONTRACT).allocation
    assert planned.by_risk["insurer"][0] == 0 and planned.reasons["exclusion"].sum() > 0
    encrypted = simulate(reg, 20_000, seed=4, policy=pol, contracts=NO_CONTRACT,
                         control_status={"device_encryption": True}).allocation
    assert encrypted.by_risk["insurer"][0] > 0


def test_warranty_denial_wholly_and_with_probability(make_register):
    reg = load_register(make_register([risk(controls="mfa (planned)")]))
    base = dict(aggregate_limit=1e12, requires_controls=("mfa",))
    whole = simulate(reg, 50_000, seed=5, policy=Policy(**base), contracts=NO_CONTRACT).allocation
    assert whole.by_risk["insurer"][0] == 0
    half = simulate(reg, 50_000, seed=5, policy=Policy(**base, warranty_denial_probability=0.5),
                    contracts=NO_CONTRACT).allocation
    share = half.by_risk["insurer"][0] / half.by_risk["gross"][0]
    assert 0.4 < share < 0.6  # about half of the claims denied (loss-weighted, so wider than binomial)
    with_mfa = simulate(reg, 50_000, seed=5, policy=Policy(**base), contracts=NO_CONTRACT,
                        control_status={"mfa": True}).allocation
    assert with_mfa.by_risk["insurer"][0] == pytest.approx(with_mfa.by_risk["gross"][0])


def test_sublimits_and_aggregate_erode_within_the_year(make_register):
    reg = load_register(make_register([risk(events_per_year=3, extortion_low=10_000, extortion_high=100_000)]))
    pol = Policy(aggregate_limit=120_000).with_section("extortion", sublimit=40_000)
    model = ScenarioModel(reg, 50_000, seed=6)
    a = model.allocate(pol, NO_CONTRACT)
    table, _, _ = model.losses()
    from riskmodel.inputs.components import COMPONENTS
    assert (a.per_trial["insurer"] <= 120_000 + 1e-6).all()
    assert 0 < a.aggregate_exhausted.mean() < 1
    assert 0 < a.sublimit_exhausted["extortion"].mean() <= 1
    # the exhausted share is the share of years whose claims reached the sublimit
    ext = np.bincount(table.trial, weights=table.values[:, COMPONENTS.index("extortion")], minlength=50_000)
    assert a.sublimit_exhausted["extortion"].mean() == pytest.approx((ext >= 40_000).mean())


def test_nhs_contract_bears_its_components(make_register):
    rows = [risk(system_owner="nhs", data_restoration_low=100, data_restoration_high=1000,
                 notification_low=100, notification_high=1000)]
    reg = load_register(make_register(rows))
    a = simulate(reg, 20_000, seed=7, contracts=load_contracts()).allocation
    from riskmodel.inputs.components import COMPONENTS
    for comp in ("incident_response", "data_restoration"):
        k = COMPONENTS.index(comp)
        assert a.by_component["contract"][k] == pytest.approx(a.by_component["gross"][k])
    k = COMPONENTS.index("notification")
    assert a.by_component["contract"][k] == 0  # the practice is the data controller


def test_supplier_recovery_probability_and_cap(make_register):
    reg = load_register(make_register([risk(system_owner="supplier", data_restoration_low=1000,
                                            data_restoration_high=100_000, incident_response_low="",
                                            incident_response_high="")]))
    con = Contracts({"supplier": OwnerCover({"data_restoration": 1.0}, 0.25, 20_000)})
    model = ScenarioModel(reg, 100_000, seed=8)
    table, _, _ = model.losses()
    a = model.allocate(None, con)
    assert a.per_trial["contract"].max() <= 20_000 * np.bincount(table.trial, minlength=100_000).max() + 1e-6
    paid_events = np.count_nonzero(table.u_recover < 0.25)
    within(paid_events / table.size, 0.25, math.sqrt(0.25 * 0.75 / table.size))


def test_higher_limit_never_raises_retained_in_any_year():
    reg = load_register("registers/meadowbank-average/2026Q4.csv")
    pol = load_policy("registers/meadowbank-average/policy.toml", set(reg.controls))
    model = ScenarioModel(reg, 30_000, seed=9)
    low = model.allocate(pol).per_trial["retained"]
    high = model.allocate(pol.with_terms(aggregate_limit=1_000_000, limit_any_one_claim=None)).per_trial["retained"]
    assert (high <= low + 1e-6).all() and high.mean() < low.mean()


@pytest.mark.parametrize("text,column", [
    ('aggregate_limit = "a lot"\n', "aggregate_limit"),
    ("aggregate_limit = -5\n", "aggregate_limit"),
    ("excess = 100\n", "aggregate_limit"),
    ("aggregate_limit = 1\ncoinsurance = 2\n", "coinsurance"),
    ("aggregate_limit = 1\n[sections.ransom]\ncovered = true\n", "sections.ransom"),
    ("aggregate_limit = 1\n[sections.extortion]\ncovered = 'maybe'\n", "sections.extortion.covered"),
    ("aggregate_limit = 1\n[sections.business_interruption]\nwaiting_period_mode = 'soon'\n",
     "sections.business_interruption.waiting_period_mode"),
    ('aggregate_limit = 1\nrequires_controls = ["moat"]\n', "requires_controls"),
    ("aggregate_limit = 1\nexcesss = 5\n", "excesss"),
])
def test_bad_policy_files_are_located(tmp_path, text, column):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_policy(path, {"mfa"})
    assert any(p.column == column and p.file == str(path) for p in info.value.problems), info.value.problems


def test_bad_contract_file_is_located(tmp_path):
    path = tmp_path / "contracts.toml"
    path.write_text("[owners.nhs]\nborne = { data_restoration = 1.5, ransom = 1 }\n[owners.council]\n")
    with pytest.raises(InputError) as info:
        load_contracts(path)
    cols = {p.column for p in info.value.problems}
    assert {"owners.nhs.borne.data_restoration", "owners.nhs.borne.ransom", "owners.council"} <= cols


def test_section_is_frozen_config():
    with pytest.raises(Exception):
        Section().covered = False  # type: ignore[misc]
