"""riskmodel installed from its wheel (not editable) into a fresh virtual environment, used from a
folder that is not the source checkout: the notebooks and example practices travel in the wheel.

Slow (a minute or two: the wheel's dependencies are installed from pip's cache or the index), so
marked ``package``; ``make test`` (the README's and CI's test command) runs it.
RISKMODEL_SKIP_PACKAGE_TEST=1 skips it on a machine without access to the package index.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

from .test_dashboard import app_log, get, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.package


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if os.environ.get("RISKMODEL_SKIP_PACKAGE_TEST"):
        pytest.skip("RISKMODEL_SKIP_PACKAGE_TEST is set")
    work = tmp_path_factory.mktemp("package")
    dist = work / "dist"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist),
                    str(ROOT)], check=True, cwd=work, timeout=600)
    wheel = next(dist.glob("riskmodel-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(wheel)], check=True, cwd=work, timeout=1200)
    print(f"wheel built and installed with its dependencies in {time.perf_counter() - t0:.0f} s")
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return {"wheel": wheel, "bin": bin_dir, "cwd": elsewhere}


def test_the_wheel_carries_the_notebooks_and_the_example_practices(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for nb in ("dashboard", "quarterly_report", "insurance_gap_review"):
        assert f"riskmodel/notebooks/{nb}.ipynb" in names
    for practice in ("meadowbank-average", "northgate-multisite", "riverside-rural"):
        assert f"riskmodel/examples/{practice}/policy.toml" in names
    assert "riskmodel/examples/northgate-multisite/2026Q4.xlsx" in names
    assert "riskmodel/data/controls.csv" in names


def _riskmodel(installed, *args, timeout=900):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(installed["bin"] / "riskmodel"), *args], capture_output=True, text=True,
                          cwd=installed["cwd"], env=env, timeout=timeout)


def test_installed_riskmodel_copies_the_examples_and_reports_on_them(installed):
    code = "import riskmodel, riskmodel.io.shipped as s; print(riskmodel.__file__); print(s.shipped_dir('notebooks'))"
    where = subprocess.run([str(installed["bin"] / "python"), "-c", code], capture_output=True, text=True,
                           cwd=installed["cwd"], check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where          # the installed copy, not the checkout

    res = _riskmodel(installed, "report", "--quarter", "2026Q4")           # no registers/ here yet
    assert res.returncode == 2 and "riskmodel examples" in res.stderr and "Traceback" not in res.stderr
    res = _riskmodel(installed, "examples", "registers")
    assert res.returncode == 0 and "copied 3 example practices" in res.stdout, res.stderr
    res = _riskmodel(installed, "report", "--quarter", "2026Q4", "--practice", "meadowbank-average",
                     "--trials", "300")
    assert res.returncode == 0, res.stdout + res.stderr
    out = installed["cwd"] / "outputs" / "2026Q4"
    assert (out / "meadowbank-average" / "report.html").stat().st_size > 10_000
    assert (out / "insurance_gap_review.html").is_file()
    assert "Traceback" not in res.stderr


def test_installed_dashboard_starts_from_another_folder(installed):
    """No registers/ where it starts: the shipped examples, with the token."""
    app, url, port = start_app("--trials", "500", cwd=installed["cwd"].parent, registers=None,
                               command=[str(installed["bin"] / "riskmodel")])
    try:
        assert "shipped example practices" in app_log(app)
        status, _, body = get(port, url[len(f"http://127.0.0.1:{port}"):])
        assert status == 200 and "application/vnd.jupyter.widget-view+json" in body
        assert "error when executing" not in body.lower()
        deadline = time.time() + 60
        while time.time() < deadline and "Kernel started" not in app_log(app):
            time.sleep(0.2)
        log = app_log(app)
        assert "Kernel started" in log and "Traceback" not in log and "Error" not in log
    finally:
        stop_app(app)
