"""The command line: JSON contract, readable output, clear errors and no half-written files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from riskmodel.cli import main

from .conftest import risk, run_cli

GROSS_KEYS = {"mean", "mean_se", "p50", "p90", "p95", "p99", "p99_5", "tvar99",
              "p95_se", "p99_se", "p99_5_se", "tvar99_se"}
RISK_KEYS = {"risk_id", "mean", "p99", "p99_se", "prob_event", "cost_if_event_p50", "cost_if_event_p90"}


def test_simulate_json_contract(tmp_path):
    out = tmp_path / "r.json"
    res = run_cli("simulate", "registers/meadowbank-average/2026Q4.csv", "--trials", 5000, "--seed", 3, "--json", out)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["trials"] == 5000 and data["seed"] == 3
    assert GROSS_KEYS <= set(data["gross"])
    assert all(RISK_KEYS <= set(r) for r in data["by_risk"])
    assert all("mean" in v for v in data["by_component"].values())
    # with the policy beside the register: who pays
    for payer in ("contract", "insurer", "retained"):
        assert GROSS_KEYS <= set(data[payer])
    assert 0 <= data["prob_aggregate_exhausted"] <= 1
    assert set(data["prob_sublimit_exhausted"]) >= {"extortion", "data_restoration"}
    assert all("retained_mean" in r for r in data["by_risk"])
    assert {"gross", "contract", "insurer", "retained", "reasons"} <= set(data["gap_table"][0])


def test_simulate_json_to_stdout_is_json_only():
    res = run_cli("simulate", "registers/riverside-rural/2026Q4.csv", "--trials", 2000, "--json", "-", "--no-policy")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["trials"] == 2000 and data["policy"] is None  # contracts beside it still apply
    assert data["insurer"]["mean"] == 0 and data["retained"]["mean"] > 0


def test_readable_summary_in_pounds():
    res = run_cli("simulate", "registers/northgate-multisite/2026Q4.xlsx", "--trials", 3000)
    assert res.exit_code == 0, res.output
    assert "Expected annual loss" in res.output and "£" in res.output and "1-in-100" in res.output


def test_invalid_register_exits_non_zero_without_output_or_traceback(make_register, tmp_path):
    path = make_register([risk(category="meteor"), risk("R2", incident_response_low="x")])
    out = tmp_path / "out.json"
    res = run_cli("simulate", path, "--json", out)
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "row 2" in res.output and "row 3" in res.output
    assert not out.exists() and not list(tmp_path.glob(".out.json*"))
    res = run_cli("validate", path)
    assert res.exit_code == 2 and "category" in res.output


def test_validate_ok():
    res = run_cli("validate", "registers/northgate-multisite/2026Q4.xlsx")
    assert res.exit_code == 0 and "OK" in res.output


def test_compare_policies(tmp_path):
    reg = "registers/meadowbank-average/2026Q4.csv"
    big = tmp_path / "big.toml"
    big.write_text('name = "Big"\npremium = 3000\naggregate_limit = 1000000\nexcess = 1000\n')
    out = tmp_path / "cmp.json"
    res = run_cli("compare-policies", reg, "registers/meadowbank-average/policy.toml", big, "--trials", 5000,
              "--json", out)
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())["policies"]
    assert rows[1]["retained_mean"] <= rows[0]["retained_mean"]
    assert rows[1]["reduction_per_premium_pound"] is not None


def test_console_script_installed():
    res = subprocess.run([sys.executable, "-m", "riskmodel.cli", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "simulate" in res.stdout


def test_dashboard_without_registers_says_where_it_looked(tmp_path):
    res = run_cli("dashboard", "--registers", str(tmp_path), "--no-browser")
    assert res.exit_code == 2
    assert str(tmp_path) in res.output and "2026Q4.xlsx" in res.output and "--registers" in res.output


def test_compare_policies_with_an_unlimited_policy_writes_valid_json(tmp_path):
    pol = tmp_path / "unlimited.toml"
    pol.write_text('name = "Unlimited"\naggregate_limit = "unlimited"\nexcess = 1000\n', encoding="utf-8")
    res = run_cli("compare-policies", "registers/meadowbank-average/2026Q4.csv", pol,
              "registers/meadowbank-average/policy.toml", "--trials", 2000, "--json", "-")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output[res.output.index("{"):])["policies"]
    assert rows[0]["aggregate_limit"] == "unlimited" and rows[1]["aggregate_limit"] == 50000
    assert rows[0]["prob_aggregate_exhausted"] == 0.0


def test_the_command_line_starts_without_scipy_stats_or_pandas():
    """`riskmodel --help` and `validate` import neither scipy.stats nor pandas (most of the
    start-up time they used to take); the measured times are in benchmarks, not here."""
    code = ("import sys, riskmodel.cli, riskmodel.inputs.register, riskmodel.analysis.engine; "
            "print(sorted(m for m in ('pandas', 'scipy.stats', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _commands_taking_trials():
    return sorted(name for name, cmd in main.commands.items() if any(p.name == "trials" for p in cmd.params))


def test_every_command_taking_trials_refuses_zero_and_negative(tmp_path):
    assert _commands_taking_trials() == ["compare-policies", "dashboard", "portfolio", "report", "simulate"]
    reg = "registers/meadowbank-average/2026Q4.csv"
    pol = "registers/meadowbank-average/policy.toml"
    args = {"simulate": [reg], "compare-policies": [reg, pol], "report": ["--quarter", "2026Q4"],
            "dashboard": ["--no-browser", "--port", "1"], "portfolio": ["--quarter", "2026Q4"]}
    for name in _commands_taking_trials():
        for bad in ("0", "-5"):
            res = run_cli(name, *args[name], "--trials", bad)
            assert res.exit_code == 2, (name, bad, res.output)
            assert "--trials" in res.output and "Traceback" not in res.output
            assert res.exception is None or isinstance(res.exception, SystemExit)


def _one_clear_line(res, *words):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    for w in words:
        assert w in lines[0], lines[0]


def test_json_to_a_folder_is_refused_before_simulating(tmp_path):
    reg = "registers/meadowbank-average/2026Q4.csv"
    _one_clear_line(run_cli("simulate", reg, "--trials", 500, "--json", tmp_path), "--json", "folder", "results.json")
    _one_clear_line(run_cli("compare-policies", reg, "registers/meadowbank-average/policy.toml", "--json", tmp_path),
                    "--json", "folder")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_clear_line(run_cli("simulate", reg, "--trials", 500, "--json", blocker / "out.json"), "--json", "not a folder")


def test_report_misuse_gives_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _one_clear_line(run_cli("report", "--quarter", "2026Q4"), "registers", "riskmodel examples")   # no registers/ here
    regs = tmp_path / "registers"
    regs.mkdir()
    _one_clear_line(run_cli("report", "--quarter", "2026Q4"), "no practice folders")
    run_cli("examples", regs)
    _one_clear_line(run_cli("report", "--quarter", "2026Q4", "--previous", "2025Q1"), "--previous 2025Q1",
                    "no reports")
    _one_clear_line(run_cli("report", "--quarter", "2026Q3", "--previous", "2026Q4"), "not before")
    res = run_cli("report", "--quarter", "2026-4")
    assert res.exit_code == 2 and "2026Q4" in res.output and "Traceback" not in res.output


def test_a_lowercase_quarter_is_read_as_the_uppercase_one(tmp_path, monkeypatch):
    from riskmodel.outputs import batch

    seen = {}

    def fake_batch(quarter, registers, outputs, practices, **kw):
        from types import SimpleNamespace

        seen.update(quarter=quarter, previous=kw["previous"])
        return SimpleNamespace(out_root=outputs / quarter, cleaned=[], outcomes=[], review=None, ok=[], error=None)

    monkeypatch.setattr(batch, "run_batch", fake_batch)
    (tmp_path / "outputs" / "2026Q3").mkdir(parents=True)
    (tmp_path / "outputs" / "2026Q3" / "manifest.csv").write_text("practice\n")
    res = run_cli("report", "--quarter", "2026q4", "--previous", "2026q3", "--registers", "registers",
              "--outputs", tmp_path / "outputs")
    assert res.exit_code == 0, res.output
    assert seen == {"quarter": "2026Q4", "previous": "2026Q3"}


def test_missing_files_give_one_line():
    for args in (("simulate", "registers/nowhere/2026Q4.csv"), ("validate", "nowhere.xlsx"),
                 ("simulate", "registers/meadowbank-average/2026Q4.csv", "--policy", "nowhere.toml"),
                 ("compare-policies", "registers/meadowbank-average/2026Q4.csv", "nowhere.toml")):
        res = run_cli(*args)
        assert res.exit_code == 2 and "Traceback" not in res.output and "not found" in res.output, (args, res.output)


def test_examples_copies_the_practices_and_never_overwrites(tmp_path):
    target = tmp_path / "mine"
    res = run_cli("examples", target)
    assert res.exit_code == 0, res.output
    assert "copied 3 example practices" in res.output and str(target) in res.output
    copied = sorted(p.name for p in target.iterdir())
    assert copied == ["README.md", "meadowbank-average", "northgate-multisite", "portfolio.toml", "riverside-rural"]
    assert (target / "northgate-multisite" / "2026Q4.xlsx").is_file()
    assert not list(target.rglob("*.py"))
    run_ = run_cli("validate", target / "meadowbank-average" / "2026Q4.csv")
    assert run_.exit_code == 0, run_.output

    mine = target / "meadowbank-average" / "2026Q4.csv"
    mine.write_text("edited by the practice\n")
    _one_clear_line(run_cli("examples", target), "not copied", "meadowbank-average", "nothing was overwritten")
    assert mine.read_text() == "edited by the practice\n"
    (tmp_path / "afile").write_text("x")
    _one_clear_line(run_cli("examples", tmp_path / "afile"), "is a file")


def test_dashboard_without_registers_here_shows_the_shipped_examples(tmp_path, monkeypatch):
    """No registers/ in the folder it is started from: it says so and serves the shipped examples
    (the server itself is not started here: --port 1 cannot be bound without root)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RISKMODEL_REGISTERS", "")       # restored afterwards: the command sets both
    monkeypatch.setenv("RISKMODEL_TRIALS", "")
    import riskmodel.outputs.server as server

    called = {}
    monkeypatch.setattr(server, "serve", lambda nb, **kw: called.update(nb=nb, **kw))
    res = run_cli("dashboard", "--no-browser", "--port", _free_port(), "--trials", 500)
    assert res.exit_code == 0, res.output
    assert "shipped example practices" in res.output and "riskmodel examples" in res.output
    assert called["nb"].name == "dashboard.ipynb" and called["open_browser"] is False
    import os
    assert os.environ["RISKMODEL_TRIALS"] == "500"
    assert (Path(os.environ["RISKMODEL_REGISTERS"]) / "meadowbank-average").is_dir()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_more_simulated_years_than_memory_allows_is_one_clear_error(make_register, monkeypatch):
    """compare-policies keeps every simulated event: too many trials for a busy register is a
    located error with the number of years that fit, not a MemoryError."""
    from riskmodel.simulation import draws as simulation

    monkeypatch.setattr(simulation, "kept_memory_budget", lambda: simulation.MEMORY_BUDGET)   # a 2 GiB machine
    path = make_register([risk(f"R{i}", events_per_year=10) for i in range(4)])
    res = run_cli("compare-policies", path, "registers/meadowbank-average/policy.toml", "--trials", 5_000_000)
    assert res.exit_code == 2, res.output
    assert "simulated years" in res.output and "use fewer trials" in res.output
    assert "Traceback" not in res.output


def test_an_output_its_own_schema_refuses_is_a_bug_and_nothing_is_written(tmp_path, monkeypatch):
    """compare-policies checks its JSON against docs/results.schema.json before writing it."""
    from riskmodel.analysis import comparison

    real = comparison.compare

    def broken(*args, **kwargs):
        rows = real(*args, **kwargs)
        rows[0]["retained_mean"] = -1.0          # an impossible figure
        return rows

    monkeypatch.setattr(comparison, "compare", broken)
    out = tmp_path / "compare.json"
    res = run_cli("compare-policies", "registers/meadowbank-average/2026Q4.csv",
                  "registers/meadowbank-average/policy.toml", "--trials", 500, "--json", out)
    assert res.exit_code == 3
    assert "policies[0].retained_mean" in res.output and "bug in riskmodel" in res.output
    assert not out.exists()
