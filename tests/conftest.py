"""Shared fixtures: small registers written to a temporary folder."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from riskmodel.inputs.distributions import Z95

ROOT = Path(__file__).resolve().parents[1]
REGISTERS = ROOT / "registers"


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
    row = {"risk_id": risk_id, "title": f"Risk {risk_id}", "category": "ransomware",
           "system_owner": "practice", "events_per_year": 1.0,
           "incident_response_low": 1000, "incident_response_high": 10000}
    row.update(kw)
    return row


@pytest.fixture
def make_register(tmp_path):
    def make(rows, **kw):
        return write_register(tmp_path / "practice", rows, **kw)
    return make
