"""The shipped practices' JSON, bit for bit: `riskmodel simulate --json` and each quarterly report's
results.json at the defaults (100,000 years, seed 20261), for every example practice and quarter.

A refactor must not move a single number. A deliberate model change regenerates the files with
``RISKMODEL_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py`` and says why in its commit.
Absolute paths are stored as ``<ROOT>``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("RISKMODEL_REGENERATE_GOLDEN") == "1"
REGISTERS = sorted([*ROOT.glob("registers/*/2026Q*.csv"), *ROOT.glob("registers/*/2026Q*.xlsx")])


def _check(name: str, text: str) -> None:
    text = text.replace(str(ROOT), "<ROOT>")
    path = GOLDEN / name
    if REGENERATE:
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        got, want = json.loads(text), json.loads(expected)
        changed = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        pytest.fail(f"{name} changed in keys {changed}")


@pytest.mark.parametrize("register", REGISTERS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_simulate_json_is_unchanged(register, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from riskmodel.cli import main

    monkeypatch.chdir(ROOT)
    out = tmp_path / "out.json"
    res = CliRunner().invoke(main, ["simulate", str(register.relative_to(ROOT)), "--json", str(out)])
    assert res.exit_code == 0, res.output
    _check(f"simulate-{register.parent.name}-{register.stem}.json", out.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("practice", sorted({p.parent.name for p in REGISTERS}))
def test_report_results_json_is_unchanged(practice, tmp_path):
    """What `riskmodel report` writes as results.json (the previous quarter, then the current one
    with the waterfall against it), built as the batch builds it."""
    from riskmodel.outputs.reporting import QuarterlyReport

    previous = None
    for quarter in ("2026Q3", "2026Q4"):
        register = next(p for p in REGISTERS if p.parent.name == practice and p.stem == quarter)
        report = QuarterlyReport.build(register=str(register), quarter=quarter, previous_results=previous)
        text = json.dumps(report.summary, indent=2, allow_nan=False) + "\n"
        previous = tmp_path / f"{quarter}.json"
        previous.write_text(text, encoding="utf-8")
        _check(f"report-{practice}-{quarter}.json", text)
