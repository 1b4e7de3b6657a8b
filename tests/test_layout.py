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


#: Most lines a module of the package may have, and a function or method (docstring and
#: decorators included): beyond them a module holds more than one thing, a function does too much.
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def oversized(root: Path) -> list[str]:
    """Modules over :data:`MAX_MODULE_LINES` and functions over :data:`MAX_FUNCTION_LINES` under
    ``root``, each as ``file: name (lines)``."""
    import ast

    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(root.parent).as_posix()
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{name}: the module ({lines} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                length = node.end_lineno - start + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{name}:{node.lineno}: {node.name} ({length} lines)")
    return found


def test_the_size_guard_finds_a_long_module_and_a_long_function(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "small.py").write_text("def f():\n    return 1\n")
    (pkg / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    body = "".join(f"    y{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (pkg / "fn.py").write_text("class A:\n    @staticmethod\n    def g():\n" + body.replace("    ", "        "))
    assert oversized(pkg) == ["pkg/fn.py:3: g (82 lines)", f"pkg/long.py: the module ({MAX_MODULE_LINES + 1} lines)"]


def test_no_module_or_function_is_too_long():
    """Every module of riskmodel/ at most 400 lines, every function or method at most 80."""
    found = oversized(ROOT / "riskmodel")
    assert not found, "too long (split by what they hold):\n" + "\n".join(found)
