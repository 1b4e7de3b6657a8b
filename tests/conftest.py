"""Shared test helpers: small registers, policies and incident logs written to a temporary folder,
the problems a register raises, and the command line run in this process."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from riskmodel.inputs.distributions import Z95

ROOT = Path(__file__).resolve().parents[1]
REGISTERS = ROOT / "registers"

#: Tests in files this conftest's owner does not edit that take more than 3 s (measured with
#: ``--durations``): marked slow here so the quick selection (plain ``pytest``) leaves them out.
#: Their owners may move the mark into the test files (``@pytest.mark.slow``) and drop them here.
SLOW_ELSEWHERE = {
    "tests/test_dashboard.py::test_the_app_refuses_strangers_caps_its_kernels_and_shuts_down_those_of_pages_gone",
    "tests/test_invariants.py::test_every_split_adds_up_on_random_inputs",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.split("[")[0] in SLOW_ELSEWHERE:
            item.add_marker(pytest.mark.slow)


def lognormal_range(mu: float, sigma: float) -> tuple[float, float]:
    """The 90% range whose fitted lognormal has parameters (mu, sigma)."""
    return float(np.exp(mu - sigma * Z95)), float(np.exp(mu + sigma * Z95))


def write_register(folder: Path, rows: list[dict], name: str = "register.csv", practice: str | None = None) -> Path:
    """Write a CSV register with the union of the rows' columns."""
    folder.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for r in rows:
        for c in r:
            if c not in columns:
                columns.append(c)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, columns)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    if practice is not None:
        (folder / "practice.toml").write_text(practice, encoding="utf-8")
    return path


def risk(risk_id: str = "R1", **kw) -> dict:
    """A register row of one risk (ransomware, once a year, £1,000-£10,000), with ``kw`` changed."""
    row = {"risk_id": risk_id, "title": f"Risk {risk_id}", "category": "ransomware",
           "system_owner": "practice", "events_per_year": 1.0,
           "incident_response_low": 1000, "incident_response_high": 10000}
    row.update(kw)
    return row


@pytest.fixture
def make_register(tmp_path):
    """``make(rows, **kw)``: a CSV register of ``rows`` in a fresh practice folder (:func:`write_register`)."""
    def make(rows, **kw):
        return write_register(tmp_path / "practice", rows, **kw)
    return make


def write_policy(folder: Path, text: str, name: str = "policy.toml") -> Path:
    """Write a policy schedule (TOML text) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


#: The incident log's columns, as a CSV header line.
INCIDENT_HEADER = ("incident_id,discovered,kind,risk_id,category,reportable,reported_to_ico,patients_informed,"
                   "cost,notes\n")


def write_incidents(folder: Path, body: str, header: str = INCIDENT_HEADER, name: str = "incidents.csv") -> Path:
    """Write an incident log (CSV: ``header`` then ``body``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(header + body, encoding="utf-8")
    return path


def register_problems(path, severity: str | None = None) -> list:
    """The problems loading the register at ``path`` raises (those of ``severity``, or all);
    fails the test if it loads."""
    from riskmodel.inputs.register import load_register
    from riskmodel.io.errors import InputError

    with pytest.raises(InputError) as info:
        load_register(path)
    return [p for p in info.value.problems if severity is None or p.severity == severity]


def the_problem(found: list, column: str | None = None, row: int | None = None):
    """The one problem of ``found`` at ``column`` and ``row`` (None: any); fails unless exactly one."""
    hits = [p for p in found if (column is None or p.column == column) and (row is None or p.row == row)]
    assert len(hits) == 1, f"expected one problem at row {row}, column {column}: {found}"
    return hits[0]


def run_cli(*args, **kw):
    """``riskmodel ARGS`` run in this process by click's runner (arguments may be paths or numbers)."""
    from click.testing import CliRunner

    from riskmodel.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], **kw)
