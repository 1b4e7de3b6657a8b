"""The package's layout: stages that import one way (import-linter), no import side effects."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_stages_import_one_way():
    """pyproject.toml's import-linter contracts: io -> inputs -> simulation -> coverage -> analysis ->
    outputs -> cli, and no stage imports the public facade."""
    res = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                          "lint_imports_command()"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_importing_the_package_changes_no_process_setting():
    """Importing riskmodel (and running a simulation) leaves numpy's huge-page advice alone: only
    the CLI, the dashboard or an explicit keep_freed_memory() call change process settings."""
    code = ("import numpy as np\n"
            "from numpy._core import multiarray\n"
            "before = multiarray._get_madvise_hugepage()\n"
            "import riskmodel, riskmodel.cli, riskmodel.outputs.dashboard\n"
            f"reg = riskmodel.load_register({str(ROOT / 'registers/meadowbank-average/2026Q4.csv')!r})\n"
            "riskmodel.simulate(reg, 2000)\n"
            "riskmodel.ScenarioModel(reg, 2000).allocate(None)\n"
            "from riskmodel.simulation.memory import keep_freed_memory\n"
            "assert keep_freed_memory.cache_info().currsize == 0\n"
            "assert multiarray._get_madvise_hugepage() == before\n"
            "print('ok')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
