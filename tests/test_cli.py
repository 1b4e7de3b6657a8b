"""The command line: JSON contract, readable output, clear errors and no half-written files."""
from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from riskmodel.cli import main

from .conftest import risk

GROSS_KEYS = {"mean", "mean_se", "p50", "p90", "p95", "p99", "p99_5", "tvar99",
              "p95_se", "p99_se", "p99_5_se", "tvar99_se"}
RISK_KEYS = {"risk_id", "mean", "p99", "p99_se", "prob_event", "cost_if_event_p50", "cost_if_event_p90"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_simulate_json_contract(tmp_path):
    out = tmp_path / "r.json"
    res = run("simulate", "registers/meadowbank-average/2026Q4.csv", "--trials", 5000, "--seed", 3, "--json", out)
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
    res = run("simulate", "registers/riverside-rural/2026Q4.csv", "--trials", 2000, "--json", "-", "--no-policy")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["trials"] == 2000 and data["policy"] is None  # contracts beside it still apply
    assert data["insurer"]["mean"] == 0 and data["retained"]["mean"] > 0


def test_readable_summary_in_pounds():
    res = run("simulate", "registers/northgate-multisite/2026Q4.xlsx", "--trials", 3000)
    assert res.exit_code == 0, res.output
    assert "Expected annual loss" in res.output and "£" in res.output and "1-in-100" in res.output


def test_invalid_register_exits_non_zero_without_output_or_traceback(make_register, tmp_path):
    path = make_register([risk(category="meteor"), risk("R2", incident_response_low="x")])
    out = tmp_path / "out.json"
    res = run("simulate", path, "--json", out)
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "row 2" in res.output and "row 3" in res.output
    assert not out.exists() and not list(tmp_path.glob(".out.json*"))
    res = run("validate", path)
    assert res.exit_code == 2 and "category" in res.output


def test_validate_ok():
    res = run("validate", "registers/northgate-multisite/2026Q4.xlsx")
    assert res.exit_code == 0 and "OK" in res.output


def test_compare_policies(tmp_path):
    reg = "registers/meadowbank-average/2026Q4.csv"
    big = tmp_path / "big.toml"
    big.write_text('name = "Big"\npremium = 3000\naggregate_limit = 1000000\nexcess = 1000\n')
    out = tmp_path / "cmp.json"
    res = run("compare-policies", reg, "registers/meadowbank-average/policy.toml", big, "--trials", 5000,
              "--json", out)
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())["policies"]
    assert rows[1]["retained_mean"] <= rows[0]["retained_mean"]
    assert rows[1]["reduction_per_premium_pound"] is not None


def test_console_script_installed():
    res = subprocess.run([sys.executable, "-m", "riskmodel.cli", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "simulate" in res.stdout


def test_dashboard_without_registers_says_where_it_looked(tmp_path):
    from click.testing import CliRunner

    from riskmodel.cli import main

    res = CliRunner().invoke(main, ["dashboard", "--registers", str(tmp_path), "--no-browser"])
    assert res.exit_code == 2
    assert str(tmp_path) in res.output and "2026Q4.xlsx" in res.output and "--registers" in res.output


def test_compare_policies_with_an_unlimited_policy_writes_valid_json(tmp_path):
    pol = tmp_path / "unlimited.toml"
    pol.write_text('name = "Unlimited"\naggregate_limit = "unlimited"\nexcess = 1000\n', encoding="utf-8")
    res = run("compare-policies", "registers/meadowbank-average/2026Q4.csv", pol,
              "registers/meadowbank-average/policy.toml", "--trials", 2000, "--json", "-")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output[res.output.index("{"):])["policies"]
    assert rows[0]["aggregate_limit"] == "unlimited" and rows[1]["aggregate_limit"] == 50000
    assert rows[0]["prob_aggregate_exhausted"] == 0.0


def test_the_command_line_starts_without_scipy_stats_or_pandas():
    """`riskmodel --help` and `validate` import neither scipy.stats nor pandas (most of the
    start-up time they used to take); the measured times are in benchmarks, not here."""
    code = ("import sys, riskmodel.cli, riskmodel.register, riskmodel.engine; "
            "print(sorted(m for m in ('pandas', 'scipy.stats', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
