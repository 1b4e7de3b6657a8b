"""The shipped practices' JSON, bit for bit: `riskmodel simulate --json` and each quarterly report's
results.json at the defaults (100,000 years, seed 20261), for every example practice and quarter.

A refactor must not move a number. Text, integers and every random draw are compared exactly;
floating-point figures to 1e-10 relative (or 1e-9 absolute, for figures near zero): the installed
numpy and scipy may differ from those the files were written with, and their own routines (the
LAPACK in numpy's wheels behind the evidence quadrature, for one) move the last one or two bits,
about 1e-16 relative. A change in the model or its random numbers moves figures by far more
(about 1e-3 relative for a Monte Carlo statistic at 100,000 years). A deliberate model change
regenerates the files with ``RISKMODEL_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py``
and says why in its commit. Absolute paths are stored as ``<ROOT>``.
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
        changed = _differences(json.loads(text), json.loads(expected), "")
        if changed:
            pytest.fail(f"{name} changed: " + "; ".join(changed[:12]))


#: How far a float may move (libraries' last bits), relative and near zero.
REL, ABS = 1e-10, 1e-9


def _differences(got, want, where: str) -> list[str]:
    """Where ``got`` and ``want`` (parsed JSON) differ: structure, text, integers and booleans
    exactly; floats beyond ``REL`` relative and ``ABS`` absolute."""
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            return [f"{where or 'top level'}: keys {sorted(set(got) ^ set(want))}"]
        return [d for k in want for d in _differences(got[k], want[k], f"{where}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items, expected {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in _differences(g, w, f"{where}[{i}]")]
    if isinstance(want, float) and isinstance(got, float):
        ok = abs(got - want) <= max(REL * abs(want), ABS)
        return [] if ok else [f"{where}: {got!r}, expected {want!r}"]
    if type(got) is not type(want) or got != want:
        return [f"{where}: {got!r}, expected {want!r}"]
    return []


def test_the_comparison_catches_what_matters():
    """Last bits pass; a moved figure, a changed count or text, a missing key do not."""
    want = {"mean": 51540.487454701884, "n": 3, "name": "R01", "rows": [1.0, 2.5]}
    assert _differences({**want, "mean": 51540.48745470188}, want, "") == []
    assert _differences({**want, "mean": 51540.49}, want, "")
    assert _differences({**want, "n": 4}, want, "")
    assert _differences({**want, "name": "R02"}, want, "")
    assert _differences({**want, "rows": [1.0, 2.5000001]}, want, "")
    assert _differences({k: v for k, v in want.items() if k != "n"}, want, "")


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
