"""Portfolio inputs: practices' [suppliers], shared supplier events, a registers folder as a book,
and the synthetic national book."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from riskmodel.io.errors import InputError
from riskmodel.inputs.portfolio import Portfolio, load_portfolio, portfolio_facts
from riskmodel.inputs.shared_events import SERVICES, SharedEvent, load_shared_events
from riskmodel.inputs.synthetic import (CLINICAL_SYSTEMS, ICBS, NATIONAL_PRACTICES, nearest_template,
                                        synthetic_portfolio)
from riskmodel.inputs.practice import Practice, load_practice

from .conftest import REGISTERS

EVENT = """
[events.emis-outage]
supplier = "EMIS Web"
service = "clinical_system"
frequency = 0.2
hours_low = 8
hours_high = 72
"""


def _practice(tmp_path, text: str):
    p = tmp_path / "practice.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _events(tmp_path, text: str):
    p = tmp_path / "portfolio.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _problems(exc) -> str:
    return "\n".join(str(p) for p in exc.value.problems)


# ---- [suppliers] in practice.toml ------------------------------------------------------------------
def test_suppliers_are_read_sorted_trimmed_and_compared_ignoring_case(tmp_path):
    p = load_practice(_practice(tmp_path, 'name = "A"\n[suppliers]\ntelephony = " Skyline   Telephony "\n'
                                          'clinical_system = "EMIS Web"\n'))
    assert p.suppliers == (("clinical_system", "EMIS Web"), ("telephony", "Skyline Telephony"))
    assert p.supplier("clinical_system") == "EMIS Web" and p.supplier("payroll") is None
    assert p.uses("clinical_system", "  emis WEB") and not p.uses("telephony", "EMIS Web")
    hash(p)                                                     # still a frozen, hashable profile
    with pytest.raises(KeyError, match="expected one of"):
        p.supplier("telephone")


def test_unknown_service_is_located_with_a_did_you_mean(tmp_path):
    with pytest.raises(InputError) as exc:
        load_practice(_practice(tmp_path, '[suppliers]\nclinical_sytem = "EMIS Web"\nwebsite = ""\npayroll = 3\n'))
    text = _problems(exc)
    assert "practice.toml" in text and "suppliers.clinical_sytem" in text and "did you mean 'clinical_system'" in text
    assert "suppliers.website" in text and "suppliers.payroll" in text
    for service in SERVICES:
        assert service in text


def test_a_key_below_the_suppliers_line_is_explained(tmp_path):
    with pytest.raises(InputError) as exc:
        load_practice(_practice(tmp_path, '[suppliers]\nclinical_system = "EMIS Web"\nlist_size = 5000\n'))
    assert "move [suppliers] to the end" in _problems(exc)


def test_suppliers_must_be_a_table(tmp_path):
    with pytest.raises(InputError, match="expected a \\[suppliers\\] table"):
        load_practice(_practice(tmp_path, 'suppliers = "EMIS"\n'))


def test_practice_refuses_unknown_services_directly():
    with pytest.raises(ValueError, match="unknown supplier service"):
        Practice(suppliers=(("email", "NHSmail"),))


def test_example_practices_name_their_suppliers():
    for folder, system in (("meadowbank-average", "EMIS Web"), ("riverside-rural", "TPP SystmOne"),
                           ("northgate-multisite", "EMIS Web")):
        p = load_practice(REGISTERS / folder / "practice.toml")
        assert p.supplier("clinical_system") == system
        assert {s for s, _ in p.suppliers} == set(SERVICES)


# ---- portfolio.toml ----------------------------------------------------------------------------
def test_shipped_events_load_and_cite_their_sources():
    events = load_shared_events(REGISTERS / "portfolio.toml")
    names = [e.name for e in events]
    assert "emis-outage" in names and len(set(names)) == len(names)
    for e in events:
        assert e.service in SERVICES and e.source and e.description
    emis = events[names.index("emis-outage")]
    assert (emis.supplier, emis.hours_low, emis.hours_high, emis.breach_probability) == ("EMIS Web", 8, 72, 0)


def test_event_defaults(tmp_path):
    (e,) = load_shared_events(_events(tmp_path, EVENT))
    assert e == SharedEvent("emis-outage", "EMIS Web", "clinical_system", 0.2, 8.0, 72.0)
    assert (e.share_low, e.share_high, e.breach_probability) == (1.0, 1.0, 0.0)


def test_every_bad_event_value_is_located_at_once(tmp_path):
    text = """
[events.a]
supplier = ""
service = "telephone"
frequency = -1
hours_low = 10
share_low = 0.8
share_high = 0.2
[events.b]
supplier = "X"
service = "pathology"
frequency = 0.1
hours_low = 0
hours_high = 5
breach_probability = 0.5
colour = "red"
[events.c]
supplier = "Y"
service = "website"
frequency = 0.1
breach_probability = 2
"""
    with pytest.raises(InputError) as exc:
        load_shared_events(_events(tmp_path, text))
    text = _problems(exc)
    for where in ("events.a.supplier", "events.a.service", "did you mean 'telephony'", "events.a.frequency",
                  "events.a.hours_high", "events.a.share_low", "events.b.hours_low", "events.b.breach_cost_low",
                  "events.b.colour", "events.c.breach_probability"):
        assert where in text, where
    assert "portfolio.toml" in text


def test_event_names_are_unique_ignoring_case(tmp_path):
    with pytest.raises(InputError, match="unique event name"):
        load_shared_events(_events(tmp_path, EVENT + EVENT.replace("emis-outage", "EMIS-Outage")))


def test_unknown_top_level_key_and_syntax_errors_are_located(tmp_path):
    with pytest.raises(InputError, match="did you mean 'events'"):
        load_shared_events(_events(tmp_path, "[event.x]\nsupplier = 'A'\n"))
    with pytest.raises(InputError, match="line"):
        load_shared_events(_events(tmp_path, "[events.x\n"))


def test_breach_cost_without_probability_is_a_warning_not_an_error(tmp_path):
    (e,) = load_shared_events(_events(tmp_path, EVENT + "breach_cost_low = 100\nbreach_cost_high = 1000\n"))
    assert e.breach_cost_high == 0


# ---- a registers folder as a book --------------------------------------------------------------------
def test_load_portfolio_reads_every_practice_and_the_shared_events():
    from riskmodel.analysis.evidence import with_incident_log

    book, failures = load_portfolio(REGISTERS, "2026Q4", with_incident_log)
    assert failures == []
    assert [p.name for p in book.practices] == ["meadowbank-average", "northgate-multisite", "riverside-rural"]
    assert book.source == str(REGISTERS)
    names = {e.name: e for e in book.events}
    assert book.practices_of(names["emis-outage"]) == (0, 1)
    assert book.practices_of(names["systmone-outage"]) == (2,)
    assert book.practices_of(names["pathology-ransomware"]) == (0,)
    riverside = book.practices[2]
    assert riverside.policy is not None and not riverside.insured and riverside.list_size == 3500
    assert book.practices[1].register.evidence is not None          # its incident log, as the report reads it
    facts = portfolio_facts(book)
    assert facts["practices"] == 3 and facts["insured"] == 2 and facts["patients"] == 37_500
    assert facts["suppliers"]["clinical_system"] == {"EMIS Web": 2, "TPP SystmOne": 1}
    assert {e["name"]: e["practices"] for e in facts["events"]}["emis-outage"] == 2


def test_a_bad_practice_never_stops_the_book(tmp_path):
    root = tmp_path / "registers"
    shutil.copytree(REGISTERS, root)
    (root / "riverside-rural" / "practice.toml").write_text('[suppliers]\nclinical_sytem = "TPP"\n')
    (root / "empty-practice").mkdir()
    (root / "_archive").mkdir()
    book, failures = load_portfolio(root, "2026Q4")
    assert [p.name for p in book.practices] == ["meadowbank-average", "northgate-multisite"]
    reasons = dict(failures)
    assert set(reasons) == {"empty-practice", "riverside-rural"}
    assert "no register for 2026Q4" in reasons["empty-practice"]
    assert "clinical_sytem" in reasons["riverside-rural"] and "did you mean" in reasons["riverside-rural"]


def test_without_portfolio_toml_there_are_no_shared_events(tmp_path):
    root = tmp_path / "registers"
    shutil.copytree(REGISTERS / "meadowbank-average", root / "meadowbank-average")
    book, failures = load_portfolio(root, "2026Q4")
    assert book.events == () and len(book) == 1 and failures == []


def test_a_bad_portfolio_toml_is_an_input_error(tmp_path):
    root = tmp_path / "registers"
    shutil.copytree(REGISTERS / "meadowbank-average", root / "meadowbank-average")
    _events(root, "[events.x]\nsupplier = 'A'\nservice = 'email'\nfrequency = 1\n")
    with pytest.raises(InputError, match="events.x.service"):
        load_portfolio(root, "2026Q4")


def test_portfolio_refuses_repeated_names():
    book, _ = load_portfolio(REGISTERS, "2026Q4")
    with pytest.raises(ValueError, match="unique name"):
        Portfolio(book.practices + book.practices[:1], (), "x")


# ---- the synthetic national book ------------------------------------------------------------------
@pytest.fixture(scope="module")
def national():
    start = time.perf_counter()
    book = synthetic_portfolio()
    return book, time.perf_counter() - start


def test_synthetic_book_is_fast_named_and_reproducible(national):
    book, seconds = national
    assert len(book) == NATIONAL_PRACTICES == 6277
    assert seconds < 10, f"{seconds:.1f} s for the national book"
    assert book.practices[0].name == "SYN-0001" and book.practices[-1].name == "SYN-6277"
    assert book.source == "synthetic:6277 seed 20261"
    assert {p.icb for p in book.practices} == {f"ICB-{i:02d}" for i in range(1, ICBS + 1)}
    again = synthetic_portfolio(seed=20261)
    assert again == book
    assert [p.register.practice for p in again.practices] == [p.register.practice for p in book.practices]
    other = synthetic_portfolio(seed=7)
    assert [p.list_size for p in other.practices] != [p.list_size for p in book.practices]


def test_synthetic_clinical_system_shares_match_the_sources(national):
    book, _ = national
    n = len(book)
    counts = portfolio_facts(book)["suppliers"]["clinical_system"]
    for system, share in CLINICAL_SYSTEMS.items():
        se = (share * (1 - share) / n) ** 0.5
        assert abs(counts[system] / n - share) < 3 * se, (system, counts[system] / n)


def test_synthetic_clinical_systems_cluster_by_icb(national):
    book, _ = national
    icb = np.array([int(p.icb[4:]) for p in book.practices])
    emis = np.array([p.supplier("clinical_system") == "EMIS Web" for p in book.practices])
    shares = np.array([emis[icb == k].mean() for k in range(1, ICBS + 1)])
    sizes = np.array([(icb == k).sum() for k in range(1, ICBS + 1)])
    p = emis.mean()
    binomial_var = np.mean(p * (1 - p) / sizes)
    assert np.var(shares) > 10 * binomial_var, (np.var(shares), binomial_var)
    assert shares.min() < 0.35 and shares.max() > 0.85           # some ICBs mostly SystmOne, some mostly EMIS


def test_synthetic_list_sizes_policies_and_scaling(national):
    book, _ = national
    sizes = np.array([p.list_size for p in book.practices])
    assert 9_500 < sizes.mean() < 10_700                         # 10,101 patients per practice (June 2024)
    assert 1_000 <= sizes.min() and sizes.max() <= 85_000
    assert 0.12 < (sizes < 5_000).mean() < 0.3
    facts = portfolio_facts(book)
    assert 0.3 < facts["uninsured"] / len(book) < 0.45           # about 38% uninsured (62% insured, CSBS 2025)
    assert len(facts["policies"]) == 3
    # a practice twice the template's size: per-patient costs doubled, fixed costs the same
    p = next(q for q in book.practices if nearest_template(q.list_size) == "meadowbank-average"
             and q.list_size > 12_000)
    f = p.list_size / 10_000
    assert p.register.practice.interruption_cost_per_hour == pytest.approx(250 * f)
    template = load_portfolio(REGISTERS, "2026Q4")[0].practices[0].register
    for mine, theirs in zip(p.register.risks, template.risks):
        assert mine.frequency == theirs.frequency
        for a, b in zip(mine.components, theirs.components):
            scale = f if a.component in ("notification", "liability") else 1.0
            assert a.low == pytest.approx(b.low * scale) and a.high == pytest.approx(b.high * scale)
    assert p.register.evidence is None


def test_synthetic_events_hit_practices(national):
    book, _ = national
    for e in book.events:
        assert book.practices_of(e), e.name
    emis = next(e for e in book.events if e.name == "emis-outage")
    assert 3_600 <= len(book.practices_of(emis)) <= 3_800        # about 3,700 in July 2024
    assert synthetic_portfolio(50, events=()).events == ()
