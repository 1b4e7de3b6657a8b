"""The fast policy pricing path agrees with the dense reference allocation on many policies."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import Policy, Section, load_register
from riskmodel.coverage.allocation import REASONS, ContractSplit, Terms
from riskmodel.inputs.components import COMPONENTS
from riskmodel.inputs.contracts import Contracts, OwnerCover, load_contracts
from riskmodel.analysis.engine import ScenarioModel

from .reference_allocation import reference_allocate

ROOT = Path(__file__).resolve().parents[1]
PRACTICES = ["riverside-rural/2026Q4.csv", "meadowbank-average/2026Q4.csv", "northgate-multisite/2026Q4.xlsx"]


@pytest.fixture(scope="module")
def models():
    return [ScenarioModel(load_register(ROOT / "registers" / p), 4_000, seed=5, show_progress=False)
            for p in PRACTICES]


def same_flags(fast, ref, totals, limit):
    """Exhaustion flags agree, except where a year's claims sit at the limit to rounding."""
    differ = fast != ref
    assert np.allclose(totals[differ], limit, rtol=1e-9), totals[differ]


def assert_same(fast, ref, policy):
    scale = max(1.0, float(ref.per_trial["gross"].max()))
    tol = dict(rtol=1e-9, atol=1e-7 * scale)
    for p in ("contract", "insurer", "retained", "claims_before_aggregate"):
        np.testing.assert_allclose(fast.per_trial[p], ref.per_trial[p], **tol, err_msg=p)
    for p in ("gross", "contract", "insurer", "retained"):
        np.testing.assert_allclose(fast.by_component[p], ref.by_component[p], **tol, err_msg=p)
        np.testing.assert_allclose(fast.by_risk[p], ref.by_risk[p], **tol, err_msg=p)
    for r in REASONS:
        np.testing.assert_allclose(fast.reasons[r], ref.reasons[r], rtol=1e-9, atol=1e-6 * scale, err_msg=r)
    if policy.insured:
        same_flags(fast.aggregate_exhausted, ref.aggregate_exhausted,
                   ref.per_trial["claims_before_aggregate"], policy.aggregate_limit)
    assert fast.sublimit_exhausted.keys() == ref.sublimit_exhausted.keys()
    for k in ref.sublimit_exhausted:
        # exact ties with the sublimit (claims capped at the any-one-claim limit) may round apart
        differ = fast.sublimit_exhausted[k] != ref.sublimit_exhausted[k]
        assert not differ.any() or policy.limit_any_one_claim is not None, k


money = st.sampled_from([0.0, 1_000.0, 5_000.0, 25_000.0, 100_000.0, 1_000_000.0])
maybe_money = st.one_of(st.none(), st.sampled_from([2_000.0, 20_000.0, 60_000.0]))
sections = st.dictionaries(st.sampled_from(COMPONENTS),
                           st.builds(Section, covered=st.booleans(), sublimit=maybe_money, excess=maybe_money),
                           max_size=4)
policies = st.builds(
    Policy, aggregate_limit=st.sampled_from([10_000.0, 50_000.0, 250_000.0, 1e7]), excess=money,
    limit_any_one_claim=maybe_money, coinsurance=st.sampled_from([0.0, 0.1]), sections=sections,
    waiting_period_hours=st.sampled_from([0.0, 8.0, 24.0]),
    waiting_period_mode=st.sampled_from(["beyond", "qualifying"]),
    indemnity_period_hours=st.one_of(st.none(), st.just(48.0)),
    requires_controls=st.sampled_from([(), ("mfa",), ("offline_backups", "mfa")]),
    warranty_denial_probability=st.sampled_from([1.0, 0.5]))
contracts = st.sampled_from([
    None, Contracts({}),
    Contracts({"supplier": OwnerCover({"data_restoration": 1.0, "incident_response": 0.5}, 0.6, 20_000.0),
               "practice": OwnerCover({"liability": 0.3})})])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, len(PRACTICES) - 1), policy=policies, con=contracts,
       flip=st.booleans())
def test_fast_path_matches_dense_reference(models, which, policy, con, flip):
    model = models[which]
    con = con or load_contracts()
    status = {c: not s for c, s in model.register.control_status.items()} if flip else {}
    fast = model.allocate(policy, con, status)
    table, _, _ = model.losses(status)
    terms = Terms.compile(model.register, con, policy, {**model.register.control_status, **status})
    ref = reference_allocate(table, terms, len(model.plan.risks))
    assert_same(fast, ref, policy)


def test_totals_only_path_gives_the_same_totals(models):
    model = models[1]
    pol = Policy(aggregate_limit=50_000, excess=1_000, sections={"extortion": Section(sublimit=10_000)})
    full, quick = model.allocate(pol), model.allocate(pol, detail=False)
    for p in ("insurer", "retained", "claims_before_aggregate"):
        np.testing.assert_array_equal(full.per_trial[p], quick.per_trial[p])
    assert quick.by_component is None and quick.reasons is None
    np.testing.assert_array_equal(full.aggregate_exhausted, quick.aggregate_exhausted)


def test_split_without_reasons_gives_the_same_split(models):
    model = models[2]
    pol = Policy(aggregate_limit=100_000, excess=2_500, limit_any_one_claim=60_000,
                 sections={"extortion": Section(sublimit=20_000)})
    full, fast = model.allocate(pol), model.allocate(pol, with_reasons=False)
    assert fast.reasons is None
    for p in ("insurer", "retained"):
        np.testing.assert_allclose(fast.by_component[p], full.by_component[p], rtol=1e-12)
        np.testing.assert_allclose(fast.by_risk[p], full.by_risk[p], rtol=1e-12)
        np.testing.assert_array_equal(fast.per_trial[p], full.per_trial[p])


def test_uninsured_split_keeps_everything_left(models):
    model = models[0]
    split: ContractSplit = model.split()
    a = split.apply(None)
    np.testing.assert_allclose(a.reasons["no policy"], split.by_component["left"])
    assert not a.per_trial["insurer"].any()


def excluded_warranty(reg, pol, status):
    terms = Terms.compile(reg, load_contracts(), pol, {**reg.control_status, **status})
    return terms.excluded, terms.warranty


def test_within_year_erosion_is_exact_and_independent_of_other_years():
    from riskmodel.coverage.erosion import within_year_paid as _within_year_paid

    rng = np.random.default_rng(3)
    trial = np.sort(rng.integers(0, 300, 2_000))
    x = rng.lognormal(8, 1.5, trial.size)
    paid = _within_year_paid(x, trial, 20_000.0)
    for t in np.unique(trial)[:60]:
        used, expected = 0.0, []
        for v in x[trial == t]:                      # one year, event by event
            expected.append(min(used + v, 20_000.0) - min(used, 20_000.0))
            used += v
        np.testing.assert_array_equal(paid[trial == t], expected)
    keep = trial >= 150                              # the same years without the others
    np.testing.assert_array_equal(_within_year_paid(x[keep], trial[keep], 20_000.0), paid[keep])


def _same_allocation(a, b) -> None:
    for p in a.per_trial:
        np.testing.assert_array_equal(a.per_trial[p], b.per_trial[p], err_msg=p)
    for p in a.by_component:
        np.testing.assert_array_equal(a.by_component[p], b.by_component[p], err_msg=p)
        np.testing.assert_array_equal(a.by_risk[p], b.by_risk[p], err_msg=p)
    np.testing.assert_array_equal(a.aggregate_exhausted, b.aggregate_exhausted)


def test_reused_blocks_change_no_number():
    """Scenarios of one model reuse the work on risks a toggle leaves alone (contract cover and
    claim sums by block): pricing in any order, from several threads at once, gives exactly what
    a model that priced the scenario first gives."""
    from concurrent.futures import ThreadPoolExecutor

    reg = load_register(ROOT / "registers" / PRACTICES[2])
    pol = Policy(aggregate_limit=150_000, excess=2_500, limit_any_one_claim=80_000,
                 sections={"extortion": Section(sublimit=20_000), "crime": Section(excess=5_000)})
    names = sorted(reg.control_status)[:4]
    statuses = [{n: not reg.control_status[n]} for n in names] + [{}]
    model = ScenarioModel(reg, 60_000, seed=9, show_progress=False)    # two chunks
    first = [model.allocate(pol, control_status=s) for s in statuses]
    assert model.allocate(pol, control_status=statuses[0]) is first[0]      # kept: priced once
    with ThreadPoolExecutor(3) as pool:                # price again, on the blocks' reused work
        again = list(pool.map(lambda s: model.split(control_status=s).apply(
            pol, *excluded_warranty(reg, pol, s)), statuses[::-1] * 2))
    for a, b in zip(first[::-1] * 2, again):
        _same_allocation(a, b)
    for s, a in zip(statuses, first):                  # a fresh model for each scenario alone
        _same_allocation(ScenarioModel(reg, 60_000, seed=9, show_progress=False).allocate(pol, control_status=s), a)


@pytest.mark.parametrize("practice", PRACTICES)
def test_split_without_totals_prices_the_same_years(practice):
    """``allocate(..., detail=False)`` prepares the split without its sums by component and risk
    (the portfolio's path): the same yearly contract, insurer and retained amounts, bit for bit;
    such a split refuses to be priced with detail."""
    from riskmodel.coverage.allocation import EventTable, allocate
    from riskmodel.simulation.draws import Plan, draw_chunk, realise, status_vector

    reg = load_register(ROOT / "registers" / practice)
    plan = Plan.from_register(reg)
    d = draw_chunk(plan, 9, 0, 0, 3_000, aux=True)
    losses = realise(plan, d, status_vector(plan, reg), reg.practice.interruption_cost_per_hour)
    terms = Terms.compile(reg, load_contracts(), Policy(aggregate_limit=40_000, excess=500,
                                                          sections={"extortion": Section(sublimit=5_000)}),
                          reg.control_status)
    table = EventTable.from_losses(losses, 3_000, d.year_deny)
    full = allocate(table, terms, len(plan.risks))
    quick = allocate(table, terms, len(plan.risks), detail=False)
    assert quick.by_component is None and quick.by_risk is None
    for p in ("gross", "contract", "insurer", "retained", "claims_before_aggregate"):
        np.testing.assert_array_equal(quick.per_trial[p], full.per_trial[p], err_msg=p)
    assert full.per_trial["contract"].any()
    split = ContractSplit.prepare(table, terms, len(plan.risks), totals=False)
    with pytest.raises(ValueError, match="detail=False"):
        split.apply(terms.policy)
