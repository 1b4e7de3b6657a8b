"""Quarterly reports through papermill, with few trials."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
from click.testing import CliRunner

from riskmodel.cli import main

from .conftest import REGISTERS

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    regs = root / "registers"
    for name in ("riverside-rural", "meadowbank-average"):
        shutil.copytree(REGISTERS / name, regs / name)
    broken = regs / "broken-practice"
    shutil.copytree(REGISTERS / "riverside-rural", broken)
    text = (broken / "2026Q4.csv").read_text().replace(",ransomware,", ",meteor-strike,", 1)
    (broken / "2026Q4.csv").write_text(text)
    out = root / "outputs"
    res = CliRunner().invoke(main, ["report", "--quarter", "2026Q4", "--registers", str(regs), "--outputs",
                                    str(out), "--trials", "2000", "--seed", "5"])
    return res, out / "2026Q4"


def test_a_broken_register_does_not_stop_the_others(batch):
    res, out = batch
    assert res.exit_code == 1
    rows = {r["practice"]: r for r in csv.DictReader((out / "manifest.csv").open())}
    assert rows["broken-practice"]["status"] == "failed" and "category" in rows["broken-practice"]["error"]
    assert rows["meadowbank-average"]["status"] == "ok" and rows["riverside-rural"]["status"] == "ok"
    assert (out / "_failed" / "broken-practice.ipynb").exists()
    assert not (out / "broken-practice").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-written folders
    for name in ("meadowbank-average", "riverside-rural"):
        for f in ("report.ipynb", "report.html", "results.json", "trials.npz"):
            assert (out / name / f).is_file()
    assert {"seed", "trials", "register_sha256", "version", "duration_s"} <= set(rows["riverside-rural"])


def test_advisors_review_covers_the_practices_that_reported(batch):
    _, out = batch
    html = (out / "insurance_gap_review.html").read_text()
    assert "Meadowbank Medical Centre" in html and "Riverside Rural Surgery" in html
    assert "broken-practice" not in html
    assert "No cyber policy" in html                   # riverside is the uninsured example
    assert "review.load_quarter" not in html and "Traceback" not in html and "cdnjs" not in html
    assert (out / "insurance_gap_review.ipynb").is_file()


def test_html_has_no_code_no_traceback_no_cdn(batch):
    _, out = batch
    html = (out / "meadowbank-average" / "report.html").read_text()
    assert "QuarterlyReport.build" not in html and "import " not in html
    assert "Traceback" not in html and "InputError" not in html
    assert "cdnjs" not in html and "data:image/png;base64" in html
    assert "Expected annual loss: £" in html


def test_same_seed_same_report_numbers(batch, tmp_path):
    _, out = batch
    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "meadowbank-average", regs / "meadowbank-average")
    res = CliRunner().invoke(main, ["report", "--quarter", "2026Q4", "--registers", str(regs), "--outputs",
                                    str(tmp_path / "out"), "--trials", "2000", "--seed", "5"])
    assert res.exit_code == 0, res.output
    a = json.loads((out / "meadowbank-average" / "results.json").read_text())
    b = json.loads((tmp_path / "out" / "2026Q4" / "meadowbank-average" / "results.json").read_text())
    for key in ("gross", "contract", "insurer", "retained", "by_risk", "gap_table", "controls_ranking"):
        assert a[key] == b[key]


def test_bad_quarter_is_refused():
    res = CliRunner().invoke(main, ["report", "--quarter", "Q4-2026"])
    assert res.exit_code == 2 and "2026Q4" in res.output


def test_previous_quarter_comparison(tmp_path):
    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    base = ["report", "--registers", str(regs), "--outputs", str(tmp_path / "out"), "--trials", "1000"]
    assert CliRunner().invoke(main, base + ["--quarter", "2026Q3"]).exit_code == 0
    assert CliRunner().invoke(main, base + ["--quarter", "2026Q4", "--previous", "2026Q3"]).exit_code == 0
    html = (tmp_path / "out" / "2026Q4" / "riverside-rural" / "report.html").read_text()
    assert "Since 2026Q3" in html and "Risk added: R12" in html
    assert "Control put in place: Multi-factor authentication" in html
    res = json.loads((tmp_path / "out" / "2026Q4" / "riverside-rural" / "results.json").read_text())
    prev = json.loads((tmp_path / "out" / "2026Q3" / "riverside-rural" / "results.json").read_text())
    steps = res["attribution"]
    # the waterfall starts at last quarter's reported mean, ends at this quarter's, and adds up
    assert steps[0]["gross_mean"] == pytest.approx(prev["gross"]["mean"], rel=1e-12)
    assert steps[-1]["gross_mean"] == pytest.approx(res["gross"]["mean"], rel=1e-12)
    assert sum(s["delta_gross"] for s in steps[1:-1]) == pytest.approx(
        res["gross"]["mean"] - prev["gross"]["mean"], rel=1e-9, abs=1e-6)

    # without the previous register the change is given in total, and the report says why
    (regs / "riverside-rural" / "2026Q3.csv").unlink()
    assert CliRunner().invoke(main, base + ["--quarter", "2026Q4", "--previous", "2026Q3"]).exit_code == 0
    html = (tmp_path / "out" / "2026Q4" / "riverside-rural" / "report.html").read_text()
    assert "Total change in expected annual loss" in html and "was not found unchanged" in html


def test_pdf_with_chromium_or_a_clear_message(tmp_path, monkeypatch):
    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    base = ["report", "--quarter", "2026Q4", "--registers", str(regs), "--trials", "500", "--pdf"]
    monkeypatch.setenv("RISKMODEL_CHROMIUM", str(tmp_path / "no-such-chromium"))
    res = CliRunner().invoke(main, base + ["--outputs", str(tmp_path / "a")])
    assert res.exit_code == 0 and "apt-get install chromium" in res.output
    assert not list((tmp_path / "a").rglob("*.pdf"))
    import os
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a/2026Q4/riverside-rural/results.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "a/2026Q4/riverside-rural").stat().st_mode & 0o777 == 0o777 & ~umask

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed: the PDF itself is not checked")
    monkeypatch.setenv("RISKMODEL_CHROMIUM", chromium)
    res = CliRunner().invoke(main, base + ["--outputs", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    for pdf in (tmp_path / "b/2026Q4/riverside-rural/report.pdf", tmp_path / "b/2026Q4/insurance_gap_review.pdf"):
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


@pytest.mark.parametrize("name", ["quarterly_report.ipynb", "insurance_gap_review.ipynb", "dashboard.ipynb"])
def test_notebooks_are_committed_clean_with_the_python3_kernel(name):
    nb = json.loads((REGISTERS.parent / "notebooks" / name).read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])
