"""The incident and near-miss log: reading, and every problem located."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from riskmodel.io.errors import InputError
from riskmodel.inputs.incidents import find_incidents, load_incidents, parse_when

from .conftest import REGISTERS, write_incidents

NOW = dt.datetime(2027, 6, 1)


def problems(path, **kw):
    with pytest.raises(InputError) as exc:
        load_incidents(path, ["R01", "R02"], now=NOW, **kw)
    return [(p.row, p.column) for p in exc.value.problems if p.severity == "error"], exc.value


def test_dates_and_times():
    assert parse_when("2026-07-14 09:30") == dt.datetime(2026, 7, 14, 9, 30)
    assert parse_when("2026-07-14T09:30") == dt.datetime(2026, 7, 14, 9, 30)
    assert parse_when("2026-07-14") == dt.datetime(2026, 7, 14)
    assert parse_when(dt.date(2026, 7, 14)) == dt.datetime(2026, 7, 14)
    for bad in ("14/07/2026", "2026-02-30", "2026-07-14 25:00", "yesterday"):
        with pytest.raises(ValueError):
            parse_when(bad)


def test_a_valid_log(tmp_path):
    p = write_incidents(tmp_path, "I1,2026-07-14 09:30,incident,R01,,yes,2026-07-15T10:00,2026-07-16,£1,200,\n"
                        "I2,2026-08-01,near_miss,R02,,,,,,caught by MFA\n"
                        "I3,2026-08-02,Incident,,other,no,,,,no risk fits\n"
              .replace("£1,200", '"£1,200"'))
    log = load_incidents(p, ["R01", "R02"], now=NOW)
    a, b, c = log.incidents
    assert (a.incident_id, a.kind, a.risk_id, a.reportable, a.cost) == ("I1", "incident", "R01", "yes", 1200.0)
    assert a.reported_to_ico == dt.datetime(2026, 7, 15, 10) and a.row == 2
    assert (b.kind, b.reportable) == ("near_miss", "no")
    assert (c.kind, c.risk_id, c.category) == ("incident", None, "other")


def test_every_problem_is_located_in_one_pass(tmp_path):
    body = ("I1,2026-07-14 09:30,incident,R99,,yes,,,,\n"          # unknown risk
            "I2,2026-07-14 09:30,incident,R01,,yes,2026-07-13 09:00,,,\n"   # reported before discovered
            "I1,2026-07-15,incident,R01,,no,,,,\n"                  # duplicate id
            "I4,2026-07-15,accident,R01,,no,,,,\n"                  # bad kind
            "I5,2028-01-01,incident,R01,,no,,,,\n"                  # in the future
            "I6,14/07/2026,incident,R01,,no,,,,\n"                  # not ISO
            "I7,2026-07-15,incident,R01,,maybe,,,,\n"               # bad reportable
            "I8,2026-07-15,incident,,,no,,,,\n"                     # neither risk nor category
            "I9,2026-07-15,near_miss,R01,,yes,,,,\n"                # a near miss is not a breach
            "I10,2026-07-15,incident,R01,,no,,,lots,\n"             # cost not a number
            "I11,2026-07-15,incident,R01,,no,,2026-07-01,,\n")      # patients informed before
    errors, exc = problems(write_incidents(tmp_path, body))
    assert errors == [(2, "risk_id"), (3, "reported_to_ico"), (4, "incident_id"), (5, "kind"), (6, "discovered"),
                      (7, "discovered"), (8, "reportable"), (9, "risk_id"), (10, "reportable"), (11, "cost"),
                      (12, "patients_informed")]
    text = str(exc)
    assert "incidents.csv, row 2, column 'risk_id': got 'R99'" in text
    assert "duplicate incident_id (also row 2)" in text


def test_as_of_limits_dates(tmp_path):
    p = write_incidents(tmp_path, "I1,2026-07-14 09:30,incident,R01,,yes,2026-07-20,,,\n")
    errors, exc = problems(p, as_of=dt.datetime(2026, 7, 16))
    assert errors == [(2, "reported_to_ico")] and "after --as-of" in str(exc)
    assert load_incidents(p, ["R01"], now=NOW, as_of=dt.datetime(2026, 7, 21)).incidents


def test_rows_after_the_registers_quarter_may_name_later_risks(tmp_path):
    p = write_incidents(tmp_path, "I1,2026-10-14,incident,R12,,no,,,,\n")
    assert load_incidents(p, ["R01"], now=NOW, until=dt.datetime(2026, 10, 1)).incidents
    with pytest.raises(InputError):
        load_incidents(p, ["R01"], now=NOW, until=dt.datetime(2027, 1, 1))


def test_missing_columns_and_unknown_columns(tmp_path):
    errors, _ = problems(write_incidents(tmp_path, "I1,R01\n", header="incident_id,risk_id\n"))
    assert errors == [(None, "discovered"), (None, "kind")]
    log = load_incidents(write_incidents(tmp_path, "I1,2026-07-01,incident,R01,no,x\n",
                               header="incident_id,discovered,kind,risk_id,reportable,severity\n"), ["R01"], now=NOW)
    assert [w.column for w in log.warnings] == ["severity"]


def test_component_costs(tmp_path):
    p = write_incidents(tmp_path, "I1,2026-07-01,incident,R01,no,300,8k\n",
              header="incident_id,discovered,kind,risk_id,reportable,incident_response_cost,business_interruption_cost\n")
    (i,) = load_incidents(p, ["R01"], now=NOW).incidents
    assert dict(i.component_costs) == {"incident_response": 300.0, "business_interruption": 8000.0}


def test_a_workbook_sheet_named_incidents(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "register"
    ws.append(["risk_id", "title", "category", "system_owner", "events_per_year",
               "incident_response_low", "incident_response_high"])
    ws.append(["R01", "x", "ransomware", "practice", 1, 100, 1000])
    log = wb.create_sheet("Incidents")
    log.append(["Incident log (illustrative)"])
    log.append(["incident_id", "discovered", "kind", "risk_id", "reportable"])
    log.append(["I1", dt.datetime(2026, 7, 14, 9, 30), "incident", "R01", "no"])
    log.append(["I2", "2026-07-15", "near_miss", "R01", None])
    path = tmp_path / "2026Q4.xlsx"
    wb.save(path)
    assert find_incidents(path) == path
    got = load_incidents(path, ["R01"], now=NOW)
    assert [(i.incident_id, i.row) for i in got.incidents] == [("I1", 3), ("I2", 4)]
    assert got.incidents[0].discovered == dt.datetime(2026, 7, 14, 9, 30)


@pytest.mark.parametrize("practice", ["meadowbank-average", "northgate-multisite", "riverside-rural"])
def test_the_shipped_logs_are_valid(practice):
    from riskmodel.inputs.register import load_register

    folder = REGISTERS / practice
    for register in sorted(folder.glob("2026Q*.*")):
        if register.suffix not in (".csv", ".xlsx"):
            continue
        reg = load_register(register)
        path = find_incidents(register)
        assert path == folder / "incidents.csv"
        log = load_incidents(path, reg.risk_ids, now=NOW, until=dt.datetime(2027, 1, 1))
        assert log.warnings == ()
        kinds = {i.kind for i in log.incidents}
        assert kinds == {"incident", "near_miss"}
