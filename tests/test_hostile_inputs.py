"""Issue 11: safe with whatever a practice (or a stranger) feeds it.

Each hostile input below was once read as "OK" with wrong numbers, or crashed. Each now gives a
located problem (file, row as Excel shows it, column, value, the fix) or is read correctly. The
workbooks are generated here with openpyxl (or by hand, as zip files) rather than committed.
"""
from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path

import pytest

from riskmodel import InputError, load_register
from riskmodel.inputs.policy import load_policy
from riskmodel.inputs.register import MAX_RISKS
from riskmodel.io.sheets import MAX_ROWS, evaluate_formula, FormulaError

from .conftest import register_problems, risk, run_cli, the_problem, write_policy, write_register

openpyxl = pytest.importorskip("openpyxl")

HEADER = list(risk())


def workbook(path: Path, rows: list[list], title: str = "register", *, book=None, state="visible"):
    """Write rows (the first is usually the header) to a sheet; returns the workbook."""
    if book is None:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = title
    else:
        sheet = book.create_sheet(title)
    sheet.sheet_state = state
    for r in rows:
        sheet.append(r)
    book.save(path)
    return book


def csv_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------------------------------------
# Registers read as people keep them

def test_formula_without_saved_result_is_worked_out(tmp_path):
    """openpyxl (like every tool but Excel) writes formulas without a saved result: a cost of
    '=8000*10' used to vanish (read as blank). Plain arithmetic and same-sheet cells are worked out."""
    path = tmp_path / "reg.xlsx"
    row = list(risk("R1").values())
    row[HEADER.index("incident_response_high")] = "=8000*10"
    row2 = list(risk("R2").values())
    row2[HEADER.index("incident_response_low")] = "=(F2+1000)/2"     # F2 is R1's low, 1000
    row2[HEADER.index("incident_response_high")] = "=$G$2-1000*2"
    workbook(path, [HEADER, row, row2])
    reg = load_register(path)
    assert reg.risks[0].component("incident_response").high == 80_000
    ir = reg.risks[1].component("incident_response")
    assert (ir.low, ir.high) == (1000, 78_000)


def test_formula_that_cannot_be_worked_out_is_a_located_error(tmp_path):
    path = tmp_path / "reg.xlsx"
    row = list(risk("R1").values())
    row[HEADER.index("incident_response_high")] = "=VLOOKUP(A2,Costs!A:B,2,FALSE)"
    workbook(path, [HEADER, row])
    p = the_problem(register_problems(path, "error"), "incident_response_high")
    assert p.row == 2 and p.value.startswith("=VLOOKUP")
    assert "cell G2" in p.expected and "open and save it in Excel, or type the value" in p.expected


@pytest.mark.parametrize("formula", ["=1/0", "=A1", "=2^3", "=SUM(A1:A3)", "=__import__('os')", "=9**9**9",
                                     "=" + "(" * 200 + "1" + ")" * 200])
def test_formula_evaluation_is_safe(formula):
    """Only numbers, + - * /, brackets and cells; never eval. Here A1 holds text."""
    def lookup(row, col, depth):
        raise FormulaError("refers to a cell that is not a number")

    with pytest.raises(FormulaError):
        evaluate_formula(formula, lookup)


def test_excel_error_values_are_located(tmp_path):
    path = tmp_path / "reg.xlsx"
    row = list(risk("R1").values())
    row[HEADER.index("incident_response_high")] = "#DIV/0!"
    workbook(path, [HEADER, row])
    p = the_problem(register_problems(path, "error"), "incident_response_high")
    assert p.row == 2 and "Excel error #DIV/0!" in p.expected


def test_merged_cells_are_a_located_error(tmp_path):
    """A merged category over three rows used to give the value to the first row only."""
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [HEADER] + [list(risk(f"R{i}").values()) for i in range(1, 5)])
    sheet = book["register"]
    sheet.merge_cells("C3:C5")
    book.save(path)
    p = the_problem(register_problems(path, "error"), "category")
    assert p.row == 3 and "cells C3:C5 are merged" in p.expected and "unmerge them" in p.expected
    assert "fill each row" in p.expected


def test_merged_title_above_the_header_is_fine(tmp_path):
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [["Meadowbank risk register, Q4"], [], HEADER, list(risk().values())])
    book["register"].merge_cells("A1:F1")
    book.save(path)
    assert load_register(path).risks[0].row == 4


def test_hidden_sheet_named_register_is_never_read(tmp_path):
    """A hidden old 'Register' used to be read instead of the visible current sheet."""
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [HEADER, list(risk("NEW").values())], "Q4 2026")
    workbook(path, [HEADER, list(risk("OLD").values())], "Register", book=book, state="hidden")
    reg = load_register(path)
    assert reg.risk_ids == ["NEW"]
    w = the_problem([p for p in reg.warnings if "hidden" in p.expected])
    assert w.value == "Register" and "was not read" in w.expected and "Unhide" in w.expected


def test_visible_register_sheet_wins_over_others(tmp_path):
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [["notes"]], "About")
    workbook(path, [HEADER, list(risk("A").values())], "REGISTER ", book=book)
    assert load_register(path).risk_ids == ["A"]


def test_several_visible_sheets_and_none_named_register_is_an_error(tmp_path):
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [HEADER, list(risk("A").values())], "Q3")
    workbook(path, [HEADER, list(risk("B").values())], "Q4", book=book)
    workbook(path, [HEADER, list(risk("C").values())], "old", book=book, state="hidden")
    p = the_problem(register_problems(path, "error"))
    assert "'Q3', 'Q4', 'old' (hidden)" in p.expected and "Rename the sheet to read to 'register'" in p.expected


def test_hidden_controls_sheet_is_not_read(tmp_path):
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [HEADER + ["controls"], list(risk().values()) + ["mfa"]])
    workbook(path, [["control", "target", "reduction_low", "reduction_high"], ["mfa", "frequency", 0.99, 1.0]],
             "Controls", book=book, state="hidden")
    reg = load_register(path)
    assert reg.controls["mfa"].effect_on("frequency").high < 0.99          # the shipped library
    assert any(w.value == "Controls" and "was not read" in w.expected for w in reg.warnings)


def test_visible_controls_sheet_is_read_any_case(tmp_path):
    path = tmp_path / "reg.xlsx"
    book = workbook(path, [HEADER + ["controls"], list(risk().values()) + ["shredder"]])
    workbook(path, [["Practice controls"], ["control", "target", "reduction_low", "reduction_high"],
                    ["shredder", "frequency", 0.1, 0.2]], "Controls", book=book)
    assert "shredder" in load_register(path).controls


def test_decimal_comma_is_a_located_error(make_register):
    """'1,5' used to be read as 15: a loss ten times too large."""
    p = the_problem(register_problems(make_register([risk(events_per_year="1,5")]), "error"), "events_per_year")
    assert p.row == 2 and p.value == "1,5"
    assert "decimal comma" in p.expected and "write a decimal point (1.5)" in p.expected


def test_thousands_separators_stay_valid(make_register):
    reg = load_register(make_register([risk(incident_response_low="12,000", incident_response_high="1,234,567")]))
    ir = reg.risks[0].component("incident_response")
    assert (ir.low, ir.high) == (12_000, 1_234_567)


def test_unclosed_quote_in_csv_is_a_located_error(tmp_path):
    """An unterminated quote used to swallow the next risk into one cell."""
    lines = [",".join(HEADER),
             'R1,"Ransomware on practice PCs,ransomware,practice,1,1000,10000',
             "R2,Phishing,phishing_bec,practice,2,100,1000",
             "R3,Lost laptop,lost_stolen_device,practice,0.5,100,1000"]
    path = csv_text(tmp_path / "p" / "reg.csv", "\n".join(lines) + "\n")
    p = the_problem(register_problems(path, "error"), "title")
    assert p.row == 2 and "quote" in p.expected and "not closed" in p.expected
    assert "cell B2 (line 2 of the file)" in p.expected


def test_quoted_multiline_note_is_fine(tmp_path):
    row = dict(risk(), notes="first line\nsecond line")
    path = write_register(tmp_path / "p", [row])
    assert load_register(path).risks[0].details == (("notes", "first line\nsecond line"),)


def test_column_resembling_a_known_one_is_an_error(make_register):
    """'Controls in place' used to be only warned about while every control was dropped."""
    row = risk()
    row["Controls in place"] = "mfa"
    p = the_problem(register_problems(make_register([row]), "error"), "Controls in place")
    assert p.row == 1 and "looks like 'controls'" in p.expected and "rename the column header to 'controls'" \
        in p.expected


def test_unknown_column_unlike_any_known_one_is_a_warning(make_register):
    row = dict(risk(), **{"Reviewer initials": "AB", "owner_email": "x@nhs.net"})
    reg = load_register(make_register([row]))
    ws = {w.column: w.expected for w in reg.warnings}
    assert "not recognised" in ws["Reviewer initials"]
    assert "did you mean 'owner'" in ws["owner_email"]          # a detail column: numbers unaffected


@pytest.mark.parametrize("twin", ["R01\u200b", "R01\u00a0", "\uff32\uff10\uff11", "\ufeffR01"])
def test_look_alike_ids_are_one_id(make_register, twin):
    """'R01' and 'R01' + a zero-width space (or NBSP, fullwidth letters) used to be two risks."""
    found = register_problems(make_register([risk("R01"), risk(twin)]), "error")
    p = the_problem(found, "risk_id")
    assert p.row == 3 and "unique risk_id" in p.expected and "row 2" in p.expected


def test_invisible_characters_in_an_id_are_warned(make_register):
    reg = load_register(make_register([risk("R01\u200b"), risk("R02", common_shock="yes",
                                                                shock_targets="R01")]))
    assert reg.risk_ids == ["R01", "R02"]
    w = the_problem([w for w in reg.warnings if w.column == "risk_id"])
    assert w.row == 2 and "ZERO WIDTH SPACE" in w.expected and "retype it" in w.expected


def test_title_and_blank_rows_above_the_header(tmp_path):
    path = tmp_path / "reg.xlsx"
    bad = list(risk("R2", events_per_year="often").values())
    workbook(path, [["Meadowbank Medical Centre: cyber risk register"], ["Reviewed Nov 2026"], [],
                    HEADER, list(risk("R1").values()), [], bad])
    p = the_problem(register_problems(path, "error"), "events_per_year")
    assert p.row == 7 and "[sheet register]" in p.file
    csvp = csv_text(tmp_path / "c" / "reg.csv", "Cyber risk register,,\n\n" + ",".join(HEADER) + "\n"
                    + ",".join(map(str, risk("R1", events_per_year="often").values())) + "\n")
    assert the_problem(register_problems(csvp, "error"), "events_per_year").row == 4


@pytest.mark.parametrize("low,high,expected", [("8k", "£80K", (8_000, 80_000)), ("£1.5k", "1.5m", (1_500, 1_500_000)),
                                               ("£ 2,500", "£1m", (2_500, 1_000_000))])
def test_thousands_and_millions_suffixes(make_register, low, high, expected):
    reg = load_register(make_register([risk(incident_response_low=low, incident_response_high=high)]))
    ir = reg.risks[0].component("incident_response")
    assert (ir.low, ir.high) == expected


@pytest.mark.parametrize("empty", ["n/a", "N/A", "-", "\u2014", "\u2013", " NA "])
def test_not_applicable_is_empty(make_register, empty):
    row = risk(extortion_low=empty, extortion_high=empty, extortion_prob=empty, shock_multiplier=empty,
               controls=empty)
    reg = load_register(make_register([row]))
    r = reg.risks[0]
    assert r.component("extortion") is None and r.controls == () and not reg.warnings


def test_semicolon_delimited_csv(tmp_path):
    """Excel in many locales saves CSV with semicolons."""
    rows = [";".join(HEADER + ["controls"]),
            ";".join(map(str, risk("R1", incident_response_low="1.000,5").values())) + ";mfa, patching",
            ";".join(map(str, risk("R2", incident_response_low="2000", incident_response_high="£12,000").values()))
            + ";"]
    path = csv_text(tmp_path / "p" / "reg.csv", "\r\n".join(rows) + "\r\n")
    p = the_problem(register_problems(path, "error"), "incident_response_low")        # a European decimal comma is still refused
    assert p.row == 2 and "decimal comma" in p.expected
    rows[1] = ";".join(map(str, risk("R1").values())) + ";mfa, patching"
    path = csv_text(tmp_path / "p" / "reg.csv", "\r\n".join(rows) + "\r\n")
    reg = load_register(path)
    assert reg.risk_ids == ["R1", "R2"] and reg.risks[0].controls == ("mfa", "patching")
    assert reg.risks[1].component("incident_response").high == 12_000


@pytest.mark.parametrize("word,level", [("Rare", 1), ("unlikely", 2), ("Possible", 3), ("likely", 4),
                                        ("Almost certain", 5), ("almost_certain", 5)])
def test_nhs_likelihood_words(make_register, word, level):
    from riskmodel.inputs.controls import load_scales

    reg = load_register(make_register([risk(events_per_year="", likelihood=word)]))
    assert (reg.risks[0].frequency.low, reg.risks[0].frequency.high) == load_scales().likelihood[level]


@pytest.mark.parametrize("word,level", [("negligible", 1), ("Minor", 2), ("moderate", 3), ("MAJOR", 4),
                                        ("catastrophic", 5)])
def test_nhs_impact_words(make_register, word, level):
    from riskmodel.inputs.controls import load_scales

    row = risk(impact=word, incident_response_low="", incident_response_high="")
    ir = load_register(make_register([row])).risks[0].component("incident_response")
    scales = load_scales()
    base = next(t for t in scales.templates["ransomware"] if t[0] == "incident_response")
    assert (ir.low, ir.high) == (base[1] * scales.impact[level], base[2] * scales.impact[level])


def test_unknown_likelihood_word_lists_the_words(make_register):
    p = the_problem(register_problems(make_register([risk(events_per_year="", likelihood="quite likely")]), "error"),
                    "likelihood")
    assert p.row == 2 and "almost certain (5)" in p.expected


def test_date_where_a_number_belongs(tmp_path):
    import datetime

    path = tmp_path / "reg.xlsx"
    row = list(risk().values())
    row[HEADER.index("events_per_year")] = datetime.datetime(2026, 5, 1)
    workbook(path, [HEADER, row])
    p = the_problem(register_problems(path, "error"), "events_per_year")
    assert p.row == 2 and "formatted as a date" in p.expected


# ---------------------------------------------------------------------------------------------
# TOML files

@pytest.mark.parametrize("word,value", [('"yes"', True), ('"No"', False), ('"TRUE"', True), ('"false"', False),
                                        ("true", True)])
def test_yes_and_no_in_quotes_are_booleans(tmp_path, word, value):
    pol = load_policy(write_policy(tmp_path, f"aggregate_limit = 50000\n[sections.extortion]\ncovered = {word}\n"))
    assert pol.section("extortion").covered is value


def test_other_text_where_a_boolean_belongs_is_a_located_error(tmp_path):
    with pytest.raises(InputError) as info:
        load_policy(write_policy(tmp_path, 'aggregate_limit = 50000\n[sections.extortion]\ncovered = "partly"\n'))
    p = the_problem(info.value.problems, "sections.extortion.covered")
    assert p.value == "partly" and 'true or false (or "yes" or "no")' in p.expected


def test_cp1252_practice_file_is_read_with_a_warning(make_register):
    path = make_register([risk()])
    (path.parent / "practice.toml").write_bytes('name = "St Anne\u2019s Surgery \u00a3"\n'.encode("cp1252"))
    reg = load_register(path)
    assert reg.practice.name == "St Anne\u2019s Surgery \u00a3"
    w = the_problem([w for w in reg.warnings if w.file.endswith("practice.toml")])
    assert w.row == 1 and "Windows-1252" in w.expected and "save it as UTF-8" in w.expected


@pytest.mark.parametrize("text", ['period_start = "1st October"', 'period_start = "2026-13-01"',
                                  "period_start = 20261001"])
def test_period_start_must_be_an_iso_date(tmp_path, text):
    with pytest.raises(InputError) as info:
        load_policy(write_policy(tmp_path, f"aggregate_limit = 50000\n{text}\n"))
    p = the_problem(info.value.problems, "period_start")
    assert "year-month-day, e.g. period_start = 2026-10-01" in p.expected


@pytest.mark.parametrize("text", ['period_start = "2026-10-01"', "period_start = 2026-10-01"])
def test_period_start_iso_dates(tmp_path, text):
    assert load_policy(write_policy(tmp_path, f"aggregate_limit = 50000\n{text}\n")).period_start == "2026-10-01"


def test_waiting_period_longer_than_indemnity_is_warned(tmp_path):
    pol = load_policy(write_policy(tmp_path, "aggregate_limit = 50000\n[sections.business_interruption]\n"
                                       "waiting_period_hours = 48\nindemnity_period_hours = 24\n"))
    w = the_problem(list(pol.warnings), "sections.business_interruption.waiting_period_hours")
    assert w.severity == "warning" and "longer than the indemnity period" in w.expected


# ---------------------------------------------------------------------------------------------
# Bounded work whatever the file

def test_five_common_shocks_at_the_largest_multiplier_are_refused(make_register):
    rows = [risk(f"S{i}", common_shock="yes", shock_multiplier=10) for i in range(5)] + [risk("T")]
    p = the_problem(register_problems(make_register(rows), "error"), "shock_multiplier")
    assert p.row == 7 and "at most 20" in p.expected and "narrow their shock_targets" in p.expected


def test_eighty_small_shocks_on_one_risk_simulate(make_register):
    """Eighty common shocks of x1.01 (their product, 2.2, within the cap) all hitting one risk:
    the engine groups the years by the product of the multipliers that can hit it (no bit per
    shock: 80 would overflow), and the risk keeps its register rate on average."""
    import math

    from riskmodel import simulate

    rows = [risk(f"S{i}", category="supplier_outage", system_owner="supplier", events_per_year=0.05,
                 common_shock="yes", shock_multiplier=1.01, incident_response_low=1, incident_response_high=1)
            for i in range(80)]
    rows.append(risk("T", events_per_year=2.0, incident_response_low=1000, incident_response_high=1000))
    reg = load_register(make_register(rows))
    counts = simulate(reg, 40_000, seed=3).by_risk[-1] / 1000
    se = math.sqrt(counts.var() / counts.size)
    assert abs(counts.mean() - 2.0) < 4 * se


def test_too_many_rows_is_refused_quickly(tmp_path):
    """100,000 rows used to end in a MemoryError traceback."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for i in range(100_000):
        w.writerow(risk(f"R{i}").values())
    path = csv_text(tmp_path / "p" / "reg.csv", buf.getvalue())
    t = time.perf_counter()
    p = the_problem(register_problems(path, "error"))
    assert time.perf_counter() - t < 5
    assert f"at most {MAX_ROWS:,} rows of data" in p.expected and "delete the unused rows" in p.expected


def test_row_cap_counts_risks(make_register):
    assert MAX_RISKS == 2_000
    p = the_problem(register_problems(make_register([risk(f"R{i}", events_per_year=1e-4)
                                                 for i in range(MAX_RISKS + 1)]), "error"))
    assert p.row == MAX_RISKS + 2 and "at most 2,000 rows of data" in p.expected


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_shared_strings_bomb_is_refused_before_reading(tmp_path):
    """A 1 MB workbook holding millions of shared strings used to run for minutes."""
    base = tmp_path / "base.xlsx"
    workbook(base, [HEADER, list(risk().values())])
    with zipfile.ZipFile(base) as z:
        members = {n: z.read(n) for n in z.namelist()}
    strings = b"<si><t>a</t></si>" * 2_000_000
    members["xl/sharedStrings.xml"] = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                                       b'spreadsheetml/2006/main">' + strings + b"</sst>")
    path = _zip(tmp_path / "bomb.xlsx", members)
    assert path.stat().st_size < 1_000_000
    t = time.perf_counter()
    p = the_problem(register_problems(path, "error"))
    assert time.perf_counter() - t < 2
    assert "'xl/sharedStrings.xml') unpacks to 32 MB, more than the 10 MB" in p.expected
    assert "export it as CSV" in p.expected


def test_compression_bomb_is_refused_before_reading(tmp_path):
    base = tmp_path / "base.xlsx"
    workbook(base, [HEADER, list(risk().values())])
    with zipfile.ZipFile(base) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["xl/media/padding.bin"] = b"\0" * (20 * 2**20)
    p = the_problem(register_problems(_zip(tmp_path / "bomb.xlsx", members), "error"))
    assert "part 'xl/media/padding.bin' of the workbook unpacks to 20 MB" in p.expected
    assert "more than 100 times smaller" in p.expected


def test_workbook_unpacking_to_too_much_is_refused(tmp_path):
    import os

    members = {f"xl/media/image{i}.bin": os.urandom(6 * 2**20) for i in range(9)}
    p = the_problem(register_problems(_zip(tmp_path / "big.xlsx", members), "error"))
    assert "more than the 50 MB" in p.expected


@pytest.mark.parametrize("damage", ["corrupt zip", "broken xml", "no workbook part"])
def test_damaged_workbook_is_a_located_error(tmp_path, damage):
    base = tmp_path / "base.xlsx"
    workbook(base, [HEADER, list(risk().values())])
    data = base.read_bytes()
    path = tmp_path / "damaged.xlsx"
    if damage == "corrupt zip":
        path.write_bytes(data[: len(data) // 2] + b"\x00" * 100 + data[len(data) // 2 + 100:])
    else:
        with zipfile.ZipFile(base) as z:
            members = {n: z.read(n) for n in z.namelist()}
        if damage == "broken xml":
            members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"][:-40]
        else:
            del members["xl/workbook.xml"]
        _zip(path, members)
    p = the_problem(register_problems(path, "error"))
    assert p.file.startswith(str(path)) and "not a readable Excel workbook" in p.expected
    assert "save it again from Excel" in p.expected and "export the sheet as CSV" in p.expected


def test_huge_declared_dimension_is_harmless(tmp_path):
    """A sheet declaring A1:XFD1048576 used to make openpyxl pad every row and every missing row."""
    base = tmp_path / "base.xlsx"
    workbook(base, [HEADER, list(risk().values())])
    with zipfile.ZipFile(base) as z:
        members = {n: z.read(n) for n in z.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    import re

    members["xl/worksheets/sheet1.xml"] = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"',
                                                 sheet).encode()
    path = _zip(tmp_path / "dim.xlsx", members)
    t = time.perf_counter()
    assert load_register(path).risk_ids == ["R1"]
    assert time.perf_counter() - t < 2


def work_problems(path):
    """The simulation stage's memory check of a register that loads (``riskmodel validate`` runs it)."""
    from riskmodel.simulation.draws import check_work

    reg = load_register(path)
    with pytest.raises(InputError) as info:
        check_work(reg)
    return [p for p in info.value.problems if p.severity == "error"]


def test_register_too_heavy_to_simulate_is_refused_by_validation(make_register):
    """Validation refuses what simulate could not do in memory, naming the risks that drive it."""
    rows = [risk("SMALL", events_per_year=0.1), risk("BIG", events_per_year=400), risk("MID", events_per_year=300)]
    p = the_problem(work_problems(make_register(rows)), "events_per_year")
    res = run_cli("validate", make_register(rows))
    assert res.exit_code == 2 and "GiB of memory" in res.output and "BIG (row 3" in res.output
    assert p.row == 3 and "GiB of memory" in p.expected
    assert p.expected.index("BIG (row 3") < p.expected.index("MID (row 4")
    assert "SMALL" not in p.expected or p.expected.index("SMALL") > p.expected.index("MID")
    assert "Lower their events_per_year" in p.expected


def test_common_shocks_count_in_the_work_estimate(make_register):
    rows = [risk(f"T{i}", events_per_year=30) for i in range(4)]
    assert len(load_register(make_register(rows)).risks) == 4          # 120 events a year: fine
    rows.append(risk("S", common_shock="yes", shock_multiplier=10))
    p = the_problem(work_problems(make_register(rows)), "events_per_year")   # drawn 10x, thinned back
    assert p.row == 2 and "common-shock multipliers" in p.expected and "T0 (row 2: 44.85)" in p.expected


def test_expected_events_per_chunk(make_register):
    from riskmodel.simulation.draws import CHUNK, Plan, expected_events_per_chunk

    reg = load_register(make_register([risk("A", events_per_year=2), risk("B", events_per_year="",
                                                                       events_low=1, events_high=4)]))
    n = expected_events_per_chunk(Plan.from_register(reg))
    assert n == pytest.approx((2 + 4) * CHUNK)


def test_registers_built_in_code_are_guarded_too(make_register):
    """Registers not loaded from a file (built in code, or composed from two quarters for the
    waterfall) are checked by the engine against the same limits before anything is drawn."""
    from dataclasses import replace

    from riskmodel import simulate
    from riskmodel.inputs.register import Frequency

    reg = load_register(make_register([risk("S", common_shock="yes", shock_multiplier=10), risk("T")]))
    two_shocks = replace(reg, risks=reg.risks + (replace(reg.risks[0], risk_id="S2", row=4),))
    with pytest.raises(InputError) as info:
        simulate(two_shocks, 1000)
    p = info.value.problems[0]
    assert p.row == 3 and p.value == "100" and "at most 20" in p.expected
    heavy = replace(reg, risks=(replace(reg.risks[1], frequency=Frequency(900.0)),))
    with pytest.raises(InputError) as info:
        simulate(heavy, 1000)
    assert "GiB of memory" in info.value.problems[0].expected
