"""Every validation problem is reported, located, in one pass."""
from __future__ import annotations

import pytest

from riskmodel import load_register
from riskmodel.inputs.register import REQUIRED_COLUMNS

from .conftest import REGISTERS, register_problems, risk


def only(problems_, column):
    found = [p for p in problems_ if p.column == column and p.severity == "error"]
    assert found, f"no error for column {column}: {problems_}"
    return found[0]


def test_minimal_register_is_valid(make_register):
    reg = load_register(make_register([risk()]))
    assert reg.risks[0].frequency.mean == 1.0
    assert reg.practice.interruption_cost_per_hour == 250


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_required_column(make_register, column):
    row = risk()
    del row[column]
    p = only(register_problems(make_register([row])), column)
    assert "missing column" in p.expected


def test_low_above_high_names_row_and_column(make_register):
    path = make_register([risk("A"), risk("B", incident_response_low=20000, incident_response_high=100)])
    p = only(register_problems(path), "incident_response_low")
    assert p.row == 3 and p.value == "20000" and "at most" in p.expected
    assert str(path) in str(p)


def test_all_problems_reported_in_one_pass(make_register):
    rows = [risk("A", category="meteor"), risk("A", events_per_year="-1"),
            risk("C", incident_response_low="lots"), risk("D", controls="mfa; unicorn_shield")]
    ps = register_problems(make_register(rows))
    cols = {(p.row, p.column) for p in ps if p.severity == "error"}
    assert {(2, "category"), (3, "events_per_year"), (4, "incident_response_low"), (5, "controls")} <= cols


def test_duplicate_ids(make_register):
    p = only(register_problems(make_register([risk("A"), risk("A")])), "risk_id")
    assert p.row == 3 and "row 2" in p.expected


@pytest.mark.parametrize("column,value,words", [
    ("category", "meteor", "expected one of"),
    ("system_owner", "council", "expected one of"),
    ("events_per_year", "often", "expected a number"),
    ("events_per_year", "-2", "no negatives"),
    ("incident_response_prob", "1.5", "probability"),
    ("likelihood", "9", "likelihood scale"),
    ("controls", "unicorn_shield", "unknown control"),
    ("common_shock", "perhaps", "yes or no"),
    # values beyond any GP practice's risks: typing slips that would overflow or exhaust memory
    ("events_per_year", "5000", "at most 1,000 events per year"),
    ("incident_response_high", "2e10", "at most 10,000,000,000 pounds per event"),
    ("downtime_hours_high", "100000", "at most 87,600 hours"),
])
def test_bad_values(make_register, column, value, words):
    row = risk(**{column: value})
    if column == "likelihood":
        row["events_per_year"] = ""
    if column == "downtime_hours_high":
        row["downtime_hours_low"] = 1
    p = only(register_problems(make_register([row])), column)
    assert words in p.expected and p.row == 2


def test_half_a_range_is_an_error(make_register):
    p = only(register_problems(make_register([risk(data_restoration_low=100)])), "data_restoration_high")
    assert "both ends" in p.expected


def test_zero_low_is_an_error(make_register):
    p = only(register_problems(make_register([risk(incident_response_low=0)])), "incident_response_low")
    assert "above 0" in p.expected


def test_two_frequencies_is_an_error(make_register):
    p = only(register_problems(make_register([risk(likelihood=3)])), "events_per_year")
    assert "one way" in p.expected


def test_inconsistent_control_status(make_register):
    p = only(register_problems(make_register([risk("A", controls="mfa"), risk("B", controls="mfa (planned)")])),
             "controls")
    assert p.row == 3 and "row 2" in p.expected


def test_unknown_shock_target(make_register):
    p = only(register_problems(make_register([risk(common_shock="yes", shock_targets="R99")])), "shock_targets")
    assert p.value == "R99"


def test_wide_range_is_a_warning_not_an_error(make_register):
    reg = load_register(make_register([risk(incident_response_low=1, incident_response_high=1e6)]))
    assert any(w.column == "incident_response_high" and "mean" in w.expected for w in reg.warnings)


def test_missing_file_and_empty_file(tmp_path):
    assert "not found" in register_problems(tmp_path / "nope.csv")[0].expected
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in register_problems(empty)[0].expected
    header = tmp_path / "header.csv"
    header.write_text(",".join(REQUIRED_COLUMNS) + "\n")
    assert "no risks" in register_problems(header)[0].expected


def test_wrong_file_type(tmp_path):
    bad = tmp_path / "register.xlsx"
    bad.write_bytes(b"not a zip")
    assert "Excel" in register_problems(bad)[0].expected
    other = tmp_path / "register.json"
    other.write_text("{}")
    assert ".csv or .xlsx" in register_problems(other)[0].expected


def test_excel_register_rows_and_sheet(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "register"
    row = risk()
    sheet.append(list(row))
    sheet.append(list(row.values()))
    bad = dict(row, risk_id="R2", events_per_year="sometimes")
    sheet.append(list(bad.values()))
    path = tmp_path / "reg.xlsx"
    book.save(path)
    p = only(register_problems(path), "events_per_year")
    assert p.row == 3 and "[sheet register]" in p.file


def test_practice_file_errors_are_located(make_register):
    path = make_register([risk()], practice='name = "X"\ninterruption_cost_per_hour = "lots"\nlist_sise = 3\n')
    ps = register_problems(path)
    assert {p.column for p in ps} >= {"interruption_cost_per_hour", "list_sise"}
    assert all(p.file.endswith("practice.toml") for p in ps)


def test_practice_cost_per_hour_is_bounded(make_register):
    path = make_register([risk()], practice='interruption_cost_per_hour = 5e9\n')
    p = only(register_problems(path), "interruption_cost_per_hour")
    assert "from 0 to 10,000,000" in p.expected and p.file.endswith("practice.toml")


def test_practice_toml_syntax_error_has_line(make_register):
    path = make_register([risk()], practice='name = "X"\nlist_size = = 3\n')
    p = register_problems(path)[0]
    assert p.row == 2 and "valid TOML" in p.expected


def test_shipped_examples_are_valid_and_illustrative():
    paths = sorted(p for p in REGISTERS.glob("*/2026Q*.*") if p.suffix in (".csv", ".xlsx"))
    assert len(paths) >= 6 and any(p.suffix == ".xlsx" for p in paths)
    for path in paths:
        reg = load_register(path)
        assert reg.practice.illustrative and "illustrative" in reg.practice.name.lower()
        assert not [w for w in reg.warnings]


def test_likelihood_and_impact_scales(make_register):
    row = risk(events_per_year="", likelihood=4, impact=5, incident_response_low="", incident_response_high="")
    reg = load_register(make_register([row]))
    r = reg.risks[0]
    assert (r.frequency.low, r.frequency.high) == (1, 3)
    ir = r.component("incident_response")
    assert (ir.low, ir.high) == (50000, 600000)  # ransomware template x10


def test_practice_controls_override(make_register, tmp_path):
    path = make_register([risk(controls="shredder")])
    (path.parent / "controls.csv").write_text(
        "control,label,annual_cost,target,reduction_low,reduction_high\n"
        "shredder,Cross-cut shredder,50,frequency,0.1,0.2\n")
    reg = load_register(path)
    assert reg.controls["shredder"].annual_cost == 50 and "mfa" in reg.controls


def test_range_of_more_than_nine_orders_of_magnitude_is_an_error(make_register):
    p = only(register_problems(make_register([risk(incident_response_low=1, incident_response_high=1e10)])),
             "incident_response_low")
    assert "1,000,000,000 times its low" in p.expected and p.row == 2


def test_shock_multiplier_is_bounded(make_register):
    p = only(register_problems(make_register([risk(common_shock="yes", shock_multiplier=50)])), "shock_multiplier")
    assert "at most 10" in p.expected


def test_widest_allowed_ranges_simulate_without_overflow(make_register):
    """The largest values validation accepts (flagged as too wide) still give finite numbers and no
    numpy warnings: drawn rates are capped, losses stay within float range."""
    import warnings

    import numpy as np

    from riskmodel import simulate

    row = risk(events_per_year="", events_low=1e-7, events_high=100, incident_response_low=10,
               incident_response_high=1e10)
    reg = load_register(make_register([row]))
    assert {w.column for w in reg.warnings} >= {"events_high", "incident_response_high"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = simulate(reg, 20_000, seed=1)
    assert np.isfinite(res.gross).all()
