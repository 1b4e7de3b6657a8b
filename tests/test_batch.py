"""The quarterly batch with hostile inputs and a hostile machine (issue 11).

No markup from any input is ever live in any file the batch writes; a run never leaves a report,
a review or a manifest that says something untrue about this run.
"""
from __future__ import annotations

import csv
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from riskmodel.outputs import batch
from riskmodel.io.atomic import atomic_path
from riskmodel.outputs.batch import CSP, LiveMarkupError, chromium_command, live_markup, manifest_text, quarter_lock, to_html
from riskmodel.io.formatting import csv_cell, printable
from riskmodel.outputs.textreport import terminal_summary

from .conftest import REGISTERS, run_cli

pytestmark = pytest.mark.notebook

#: Every text field of the hostile practice carries this.
EVIL = "<script>alert(1)</script> <img src=x onerror=alert(1)> $x$ \\ {{ \"q\" 'a' &amp;"
#: A folder name cannot hold "/": the same, with an unclosed script tag, starting as a formula.
EVIL_FOLDER = "=HYPERLINK(1) <img src=x onerror=alert(1)> $x$ \\ {{ \"q\" <script>alert(1)"
#: More folder names a spreadsheet would read as formulas.
FORMULA_FOLDERS = ("@SUM(1+1)", "\t-1+1")   # "=" and "+" start the two above; "-" in the unit test
BROKEN_FOLDER = "+<img src=x onerror=alert(2)> $y$ broken"


def _rewrite_csv(path: Path, fn) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for r in rows:
        fn(r)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _toml_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hostile_practice(regs: Path, folder: str = EVIL_FOLDER) -> Path:
    """Meadowbank (insured, two quarters) with every text field hostile: risk ids and titles,
    asset, owner and notes, control labels (a practice controls.csv), the practice and policy
    names, and the folder name."""
    d = regs / folder
    shutil.copytree(REGISTERS / "meadowbank-average", d)
    for quarter in ("2026Q3", "2026Q4"):
        ids = {r["risk_id"]: f"{r['risk_id']} {EVIL}" for r in csv.DictReader((d / f"{quarter}.csv").open())}

        def evil(r):
            r["risk_id"] = ids[r["risk_id"]]
            r["title"] = f"{r['title']} {EVIL}"
            for k in ("asset", "owner", "notes"):
                r[k] = EVIL
            if r.get("shock_targets"):
                r["shock_targets"] = ";".join(ids[t.strip()] for t in r["shock_targets"].split(";"))
        _rewrite_csv(d / f"{quarter}.csv", evil)
    if (d / "incidents.csv").exists():          # the incident log: hostile ids and notes too

        def evil_incident(r):
            if r.get("risk_id"):
                r["risk_id"] = ids.get(r["risk_id"], r["risk_id"])
            r["incident_id"] = f"{r['incident_id']} {EVIL}"
            r["notes"] = EVIL
        _rewrite_csv(d / "incidents.csv", evil_incident)
    shutil.copy(Path(batch.PACKAGE_ROOT) / "data" / "controls.csv", d / "controls.csv")
    _rewrite_csv(d / "controls.csv", lambda r: r.update(label=f"{r['label']} {EVIL}" if r["label"] else ""))
    for name in ("practice.toml", "policy.toml"):
        p = d / name
        p.write_text("\n".join(f"name = {_toml_string(EVIL)}" if ln.startswith("name =") else ln
                               for ln in p.read_text().splitlines()) + "\n")
    return d


class _Live(HTMLParser):
    """Every element or attribute that could run or fetch something."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "object", "embed", "base", "form", "link", "frame", "audio", "video"):
            if not (tag == "img" and (a.get("src") or "").startswith("data:")):
                self.live.append(tag)
        for k, v in attrs:
            if k.startswith("on") or "javascript:" in (v or "").lower():
                self.live.append(f"{tag} {k}")
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(a.get("content") or "")


def _scan(html: str) -> _Live:
    p = _Live()
    p.feed(html)
    p.close()
    return p


def _notebook_outputs_html(path: Path) -> list[str]:
    """What Jupyter would render from a notebook's outputs: HTML as is, Markdown through
    nbconvert's renderer (which passes raw HTML through)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    out = []
    for cell in nbformat.read(str(path), as_version=4).cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "text/html" in data:
                out.append(data["text/html"])
            if "text/markdown" in data:
                out.append(markdown2html_mistune(data["text/markdown"]))
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    regs = root / "registers"
    hostile_practice(regs)
    for name in FORMULA_FOLDERS:
        shutil.copytree(REGISTERS / "riverside-rural", regs / name)
    shutil.copytree(REGISTERS / "riverside-rural", regs / "manifest.csv")   # a name the batch keeps for itself
    # a practice that fails, with hostile text in its folder name and in the value its error quotes
    broken = regs / BROKEN_FOLDER
    shutil.copytree(REGISTERS / "riverside-rural", broken)
    _rewrite_csv(broken / "2026Q3.csv", lambda r: r.update(category=EVIL) if r["risk_id"] == "R01" else None)
    shutil.copy(broken / "2026Q3.csv", broken / "2026Q4.csv")
    out = root / "outputs"
    base = ["report", "--registers", str(regs), "--outputs", str(out), "--trials", "400", "--seed", "3"]
    first = run_cli(*base, "--quarter", "2026Q3", "--practice", EVIL_FOLDER)
    second = run_cli(*base, "--quarter", "2026Q4", "--previous", "2026Q3")
    return first, second, out


def test_hostile_inputs_are_never_live_in_any_written_file(hostile):
    first, second, out = hostile
    assert first.exit_code == 0, first.output                  # the others were left out with --practice
    assert second.exit_code == 1                               # a failed practice and a reserved name: plainly
    assert "Traceback" not in first.output + second.output
    files = [f for f in out.rglob("*") if f.is_file()]
    htmls = [f for f in files if f.suffix == ".html"]
    assert len(htmls) == 2 + (2 + len(FORMULA_FOLDERS))       # 2026Q3: one practice; 2026Q4: every one; reviews
    for f in htmls:
        html = f.read_text(encoding="utf-8")
        scan = _scan(html)
        assert scan.live == [], f"{f}: {scan.live}"
        assert scan.csp == [CSP], f                        # one CSP, forbidding scripts and the network
        assert "script-src 'none'" in CSP and "default-src 'none'" in CSP
        assert "mathjax" not in html.lower() and "require.js" not in html.lower()
        assert "javascript:" not in html.lower() and "<script" not in html.lower()
    for f in (f for f in files if f.suffix == ".ipynb"):
        for html in _notebook_outputs_html(f):
            assert _scan(html).live == [], f
    # the hostile text is shown as typed: in the report's tables, charts, headline and appendix
    report = (out / "2026Q4" / EVIL_FOLDER / "report.html").read_text(encoding="utf-8")
    typed = "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; $x$ \\ {{"
    assert report.count(typed) > 30
    for section in ("rm-top-risks", "rm-waterfall", "Controls ranked", "Changes since 2026Q3", "Method and assumptions"):
        assert section in report
    review = (out / "2026Q4" / "insurance_gap_review.html").read_text(encoding="utf-8")
    assert review.count(typed) >= 4 and "rm-limits" in review and "What to raise with each practice" in review
    # the failed practices are named in the review with their reasons, as typed
    assert "Not in this review (2):" in review and "&lt;img src=x onerror=alert(2)&gt; $y$ broken (failed:" in review
    assert "got &#x27;&lt;script&gt;alert(1)&lt;/script&gt;" in review or "got '&lt;script&gt;alert(1)" in review


def test_folder_names_are_never_spreadsheet_formulas(hostile):
    _, _, out = hostile
    for f in out.rglob("*.csv"):
        for row in csv.reader(f.open(encoding="utf-8", newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (f, cell)
    rows = {r["practice"]: r for r in csv.DictReader((out / "2026Q4" / "manifest.csv").open(encoding="utf-8"))}
    assert rows["'" + EVIL_FOLDER]["status"] == "ok"
    for name in FORMULA_FOLDERS:
        assert rows["'" + name]["status"] == "ok" and (out / "2026Q4" / name / "report.html").is_file()
    assert rows["manifest.csv"]["status"] == "failed" and "reserved" in rows["manifest.csv"]["error"]
    assert rows["'" + BROKEN_FOLDER]["status"] == "failed" and rows["'" + BROKEN_FOLDER]["error"].startswith("'- error")
    assert (out / "2026Q4" / "manifest.csv").is_file()


def test_csv_cell_neutralises_formulas_but_not_numbers():
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@x") == "'@x" and csv_cell("\rx") == "'\rx"
    assert csv_cell("-x") == "'-x" and csv_cell("+x") == "'+x" and csv_cell("\uff1dx") == "'\uff1dx"
    assert csv_cell("meadowbank") == "meadowbank" and csv_cell(-5) == -5 and csv_cell(1.5) == 1.5
    text = manifest_text([batch.Outcome("=cmd", "failed", 1.0, "-r", "", "@err", -3, 100)])
    assert "'=cmd" in text and "'-r" in text and "'@err" in text and ",-3," in text


def test_terminal_text_shows_control_characters_escaped(tmp_path):
    from riskmodel.analysis.engine import simulate
    from riskmodel.inputs.register import load_register

    assert printable("a\x1b]0;owned\x07b\rc") == "a\\x1b]0;owned\\x07b\\rc"
    assert printable("Café – £5") == "Café – £5"
    shutil.copytree(REGISTERS / "riverside-rural", tmp_path / "p")
    reg = tmp_path / "p" / "2026Q4.csv"
    reg.write_text(reg.read_text().replace("Ransomware", "\x1b[2JRansomware", 1))
    text = terminal_summary(simulate(load_register(reg), 200, 1).summary())
    assert "\x1b" not in text and "\\x1b[2JRansomware" in text


def test_live_markup_is_refused_before_anything_is_written(tmp_path):
    for bad in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:alert(1)'>x</a>",
                "<svg><foreignObject></foreignObject></svg>", "<img src='https://example.org/x.png'>",
                "<div style=\"background:url(https://example.org/x)\">x</div>", "<iframe src=x></iframe>",
                "<meta http-equiv='refresh' content='0;url=https://example.org'>",
                "<style>@import 'https://example.org/x.css';</style>", "<style>p{background:url(//example.org/x)}</style>"):
        assert live_markup(bad), bad
    assert live_markup("<img src='data:image/png;base64,AAAA'><svg><text>x</text></svg><p style='color:red'>x</p>"
                       "<style>p{background:url(data:image/png;base64,AAAA)}</style>") == []
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", {"text/html": "<img src=x onerror=alert(1)>"})]
    nb.cells = [cell]
    nbformat.write(nb, str(tmp_path / "nb.ipynb"))
    with pytest.raises(LiveMarkupError, match="live markup"):
        to_html(tmp_path / "nb.ipynb", tmp_path / "nb.html")
    assert not (tmp_path / "nb.html").exists()


def test_pdf_printing_is_offline_and_sandboxed_unless_root(tmp_path):
    cmd = chromium_command("chromium", tmp_path / "r.html", tmp_path / "r.pdf", "/tmp/p", sandbox=True)
    assert "--no-sandbox" not in cmd and "--host-resolver-rules=MAP * ~NOTFOUND" in cmd
    assert "--proxy-server=127.0.0.1:9" in cmd and "--disable-background-networking" in cmd
    assert "--no-sandbox" in chromium_command("chromium", tmp_path / "r.html", tmp_path / "r.pdf", "/tmp/p",
                                              sandbox=False)


def test_pdf_keeps_the_sandbox_when_not_root_and_drops_it_only_if_it_cannot_start(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        if "--no-sandbox" not in cmd:
            return subprocess.CompletedProcess(cmd, 1, "", "FATAL: No usable sandbox!")
        Path(next(c for c in cmd if c.startswith("--print-to-pdf=")).split("=", 1)[1]).write_bytes(b"%PDF-1.4")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    batch.to_pdf(tmp_path / "r.html", tmp_path / "r.pdf", "chromium")
    assert ["--no-sandbox" in c for c in calls] == [False, True]
    calls.clear()
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    batch.to_pdf(tmp_path / "r.html", tmp_path / "r2.pdf", "chromium")
    assert ["--no-sandbox" in c for c in calls] == [True]


def test_a_page_printed_to_pdf_runs_no_script_and_fetches_nothing(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed")
    # the same CSP as the reports: Chromium runs no script and loads nothing
    page = tmp_path / "p.html"
    page.write_text(f'<html><head><meta http-equiv="Content-Security-Policy" content="{CSP}"></head><body>'
                    '<p id="a">static</p><script>document.getElementById("a").textContent="RAN"</script></body></html>')
    cmd = [c for c in chromium_command(chromium, page, tmp_path / "x.pdf", str(tmp_path / "prof"),
                                       sandbox=os.geteuid() != 0) if not c.startswith("--print-to-pdf")]
    dom = subprocess.run(cmd[:-1] + ["--dump-dom", cmd[-1]], capture_output=True, text=True, timeout=120).stdout
    assert 'id="a">static<' in dom
    batch.to_pdf(page, tmp_path / "p.pdf", chromium)
    assert (tmp_path / "p.pdf").read_bytes()[:5] == b"%PDF-"


# ---- the batch never lies --------------------------------------------------------------------------
def _run(regs: Path, out: Path, *extra: str, quarter: str = "2026Q4"):
    return run_cli("report", "--quarter", quarter, "--registers", str(regs), "--outputs", str(out),
                   "--trials", "300", "--seed", "9", *extra)


def _manifest(out: Path) -> dict[str, dict]:
    return {r["practice"]: r for r in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}


def test_a_practice_failing_on_a_rerun_loses_its_old_numbers_and_is_named(tmp_path):
    regs, out = tmp_path / "registers", tmp_path / "out"
    for name in ("riverside-rural", "meadowbank-average"):
        shutil.copytree(REGISTERS / name, regs / name)
    assert _run(regs, out).exit_code == 0
    q = out / "2026Q4"
    assert "Meadowbank Medical Centre" in (q / "insurance_gap_review.html").read_text()

    reg = regs / "meadowbank-average" / "2026Q4.csv"
    reg.write_text(reg.read_text().replace(",ransomware,", ",meteor-strike,", 1))
    res = _run(regs, out)
    assert res.exit_code == 1 and "Traceback" not in res.output
    rows = _manifest(q)
    assert rows["meadowbank-average"]["status"] == "failed" and "meteor-strike" in rows["meadowbank-average"]["error"]
    assert rows["riverside-rural"]["status"] == "ok"
    assert not (q / "meadowbank-average").exists()           # no results.json of an earlier run left to read
    assert (q / "_failed" / "meadowbank-average.ipynb").is_file()
    review = (q / "insurance_gap_review.html").read_text()
    assert "Meadowbank Medical Centre" not in review          # not a figure of it from the earlier run
    assert "Not in this review (1):</strong> meadowbank-average (failed:" in review and "meteor-strike" in review

    # a --practice run keeps the others' reports only while they are of the current register
    res = _run(regs, out, "--practice", "riverside-rural")
    rows = _manifest(q)
    assert rows["meadowbank-average"]["status"] == "missing" and "no earlier report" in rows["meadowbank-average"]["error"]
    assert rows["meadowbank-average"]["run"] == "not run"
    assert (q / "_failed" / "meadowbank-average.ipynb").is_file()   # not run again: its failure stays

    reg.write_text((REGISTERS / "meadowbank-average" / "2026Q4.csv").read_text())
    assert _run(regs, out).exit_code == 0
    assert not (q / "_failed" / "meadowbank-average.ipynb").exists()    # fixed: no stale failure left
    assert _run(regs, out, "--practice", "meadowbank-average").exit_code == 0
    rows = _manifest(q)
    assert rows["riverside-rural"]["status"] == "ok" and rows["riverside-rural"]["run"] == "earlier run"
    assert "Riverside Rural Surgery" in (q / "insurance_gap_review.html").read_text()
    (regs / "riverside-rural" / "2026Q4.csv").write_text((regs / "riverside-rural" / "2026Q3.csv").read_text())
    assert _run(regs, out, "--practice", "meadowbank-average").exit_code == 0   # what was asked for worked
    rows = _manifest(q)
    assert rows["riverside-rural"]["status"] == "missing" and "changed" in rows["riverside-rural"]["error"]
    assert "Riverside Rural Surgery" not in (q / "insurance_gap_review.html").read_text()


def test_a_second_run_on_the_same_quarter_is_refused_in_one_line(tmp_path):
    regs, out = tmp_path / "registers", tmp_path / "out"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    (out / "2026Q4").mkdir(parents=True)
    with quarter_lock(out / "2026Q4"):
        res = _run(regs, out)
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        f"another riskmodel report run (process {os.getpid()}) is writing {out / '2026Q4'}; wait for it to finish "
        "and run again"]
    assert sorted(p.name for p in (out / "2026Q4").iterdir()) == []      # nothing written, lock gone
    # a lock file left by a killed run (its process is gone, so it holds no lock) does not block
    (out / "2026Q4" / batch.LOCK_NAME).write_text("999999999\n")
    assert _run(regs, out).exit_code == 0
    assert not (out / "2026Q4" / batch.LOCK_NAME).exists()


def test_after_kill_9_the_next_run_cleans_up_and_the_manifest_is_this_runs(tmp_path):
    regs, out = tmp_path / "registers", tmp_path / "out"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    q = out / "2026Q4"
    assert _run(regs, out).exit_code == 0 and (q / "manifest.csv").is_file()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "riskmodel.cli", "report", "--quarter", "2026Q4", "--registers", str(regs),
           "--outputs", str(out), "--trials", "300", "--seed", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (q.is_dir() and list(q.glob(".riskmodel-run-*/practice-*"))):
            time.sleep(0.05)
        assert list(q.glob(".riskmodel-run-*/practice-*")), "the run did not start a practice"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)        # kill -9; its kernel notices its parent is gone and exits
        proc.wait()
        time.sleep(2)
    # killed before the swap: the earlier run's reports are untouched, but no manifest claims a run
    assert not (q / "manifest.csv").exists() and (q / "riverside-rural" / "report.html").is_file()
    # and the leftovers of an earlier version's interrupted run
    (q / ".riverside-rural.ab12cd_9").mkdir()
    (q / ".manifest.csv.x1y2z3.tmp").write_text("practice,status\nriverside-rural,ok\n")
    res = _run(regs, out)
    assert res.exit_code == 0, res.output
    assert "removed 3 temporary file(s) left by an interrupted run" in res.output
    assert sorted(p.name for p in q.iterdir()) == ["insurance_gap_review.html", "insurance_gap_review.ipynb",
                                                   "manifest.csv", "riverside-rural"]
    assert _manifest(q)["riverside-rural"]["seed"] == "9"


def test_a_full_disk_gives_a_clear_message_and_a_summary(tmp_path, monkeypatch):
    regs, out = tmp_path / "registers", tmp_path / "out"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    assert _run(regs, out).exit_code == 0
    real = batch.write_text

    def full(path, text):
        if Path(path).name == "manifest.csv":
            with atomic_path(path) as tmp:
                tmp.write_text(text[:10])
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(batch, "write_text", full)
    res = _run(regs, out)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "could not write the reports: No space left on device" in res.output
    assert "No manifest was written" in res.output and "1 of 1 practice reports" in res.output
    q = out / "2026Q4"
    assert not (q / "manifest.csv").exists()                       # no truncated manifest, no stale one
    assert not [p for p in q.iterdir() if p.name.startswith(".")]

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(batch, "write_text", real)
    monkeypatch.setattr(batch, "to_html", no_space)
    res = _run(regs, out)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "No space left on device [errno 28]" in res.output
    assert _manifest(q)["riverside-rural"]["status"] == "failed"
    assert not (q / "riverside-rural").exists() and not (q / "insurance_gap_review.html").exists()


def test_a_read_only_outputs_folder_gives_a_clear_message(tmp_path, monkeypatch):
    regs, out = tmp_path / "registers", tmp_path / "out"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    (out / "2026Q4").mkdir(parents=True)
    if os.geteuid() != 0:
        os.chmod(out / "2026Q4", 0o555)
    else:  # root writes anywhere: make the folder read-only for this process instead
        real_open = os.open

        def read_only(path, flags, *a, **k):
            if str(path).startswith(str(out)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_open(path, flags, *a, **k)
        monkeypatch.setattr(os, "open", read_only)
    try:
        res = _run(regs, out)
    finally:
        os.chmod(out / "2026Q4", 0o755)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "could not write the reports" in res.output
    assert ("Permission denied" in res.output) or ("Read-only file system" in res.output)
    assert "0 of 0 practice reports" in res.output and "No manifest was written" in res.output


def test_previous_must_be_a_quarter():
    res = run_cli("report", "--quarter", "2026Q4", "--previous", "../../etc")
    assert res.exit_code == 2 and "--previous" in res.output
