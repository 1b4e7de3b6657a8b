"""The quarterly batch: one papermill report per practice, a manifest, failures kept apart.

Each practice's notebook is executed into a temporary folder and moved into place only when it
succeeded, so a crash never leaves half a report; a failing practice does not stop the others.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .atomic import usual_permissions, write_text
from .register import register_hash
from .locations import find_quarter_register

PACKAGE_ROOT = Path(__file__).resolve().parent
KERNEL = "python3"
CELL_TIMEOUT = 1800
MANIFEST_COLUMNS = ["practice", "status", "duration_s", "register", "register_sha256", "seed", "trials",
                    "version", "error"]


def kernel_manager_class():
    """Kernels on Unix sockets in a private folder, not TCP ports on the machine (on Windows,
    jupyter_client's default). Other users of a shared machine cannot connect to them, and
    ipykernel has no cause to warn about unencrypted TCP."""
    import os

    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":  # pragma: no cover - no Unix sockets
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self._socket_dir = tempfile.mkdtemp(prefix="riskmodel-kernel-")
            self.transport = "ipc"
            self.ip = str(Path(self._socket_dir) / "kernel")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart)
            if not restart:
                shutil.rmtree(self._socket_dir, ignore_errors=True)

    return IPCKernelManager


def notebook_path(name: str) -> Path:
    """A shipped notebook: ``notebooks/`` of a source checkout, else the copy inside the
    installed package (riskmodel/shipped.py)."""
    from .shipped import shipped_notebook

    return shipped_notebook(name)


def check_parameters(notebook: Path, params: dict) -> None:
    """papermill only warns on unknown parameters: refuse them instead."""
    import papermill

    known = set(papermill.inspect_notebook(str(notebook)))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{notebook.name} has no parameters {unknown}; it takes {sorted(known)}")


def to_html(executed: Path, target: Path) -> None:
    """HTML with code hidden and images embedded (readable offline)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4))
    target.write_text(strip_remote_scripts(body), encoding="utf-8")


PDF_HELP = ("PDF needs Debian's chromium: sudo apt-get install chromium (or set RISKMODEL_CHROMIUM to a "
            "Chromium binary); the HTML reports are complete without it")


def find_chromium() -> str | None:
    """A Chromium to print PDFs with: ``$RISKMODEL_CHROMIUM``, else ``chromium`` on the PATH."""
    import os

    env = os.environ.get("RISKMODEL_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def to_pdf(html: Path, pdf: Path, chromium: str) -> None:
    """Print an HTML report to PDF with headless Chromium (no browser is downloaded)."""
    import subprocess

    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise RuntimeError(f"chromium could not print {html.name} to PDF: {done.stderr.strip()[-300:]}")


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)


def strip_remote_scripts(html: str) -> str:
    """Drop scripts that load from the network (require.js, MathJax, mermaid from a CDN): the
    report is static and must read offline."""
    return _SCRIPT.sub(lambda m: "" if re.search(r"https?://", m.group(0)) else m.group(0), html)


@dataclass
class Outcome:
    practice: str
    status: str
    duration: float
    register: str
    sha: str
    error: str = ""


def run_practice(practice_dir: Path, quarter: str, out_root: Path, *, trials: int, seed: int,
                 previous: str | None, chromium: str | None = None) -> Outcome:
    import papermill

    start = time.perf_counter()
    name = practice_dir.name
    reg = find_quarter_register(practice_dir, quarter)
    if reg is None:
        return Outcome(name, "skipped", 0.0, "", "", f"no register for {quarter} in {practice_dir}")
    sha = register_hash(reg)
    nb = notebook_path("quarterly_report.ipynb")
    prev_results = (out_root.parent / previous / name / "results.json").resolve() if previous else None
    final = out_root / name
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_root)).resolve()
    usual_permissions(work, directory=True)
    params = {"register": str(reg.resolve()), "quarter": quarter, "trials": trials, "seed": seed,
              "previous_results": str(prev_results) if prev_results and prev_results.is_file() else None,
              "results_dir": str(work)}
    try:
        check_parameters(nb, params)
        papermill.execute_notebook(str(nb), str(work / "report.ipynb"), parameters=params, kernel_name=KERNEL,
                                   execution_timeout=CELL_TIMEOUT, progress_bar=False, log_output=False,
                                   cwd=str(work), kernel_manager_class=kernel_manager_class())
        to_html(work / "report.ipynb", work / "report.html")
        if chromium:
            to_pdf(work / "report.html", work / "report.pdf", chromium)
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        return Outcome(name, "ok", time.perf_counter() - start, str(reg), sha)
    except Exception as exc:  # one practice failing must not stop the batch
        failed = out_root / "_failed"
        failed.mkdir(exist_ok=True)
        if (work / "report.ipynb").exists():
            shutil.copy(work / "report.ipynb", failed / f"{name}.ipynb")
        shutil.rmtree(work, ignore_errors=True)
        message = str(exc).strip().splitlines()
        short = next((ln for ln in reversed(message) if ln.strip()), exc.__class__.__name__)
        if not (failed / f"{name}.ipynb").exists():
            write_text(failed / f"{name}.txt", traceback.format_exc())
        return Outcome(name, "failed", time.perf_counter() - start, str(reg), sha, short[:500])


REVIEW = "insurance_gap_review"


def run_review(quarter: str, out_root: Path, chromium: str | None = None) -> Outcome:
    """The advisors' review of every practice reported in ``out_root`` (``outputs/<quarter>``):
    ``insurance_gap_review.ipynb`` and ``.html``, moved into place only when complete."""
    import os

    import papermill

    start = time.perf_counter()
    nb = notebook_path(f"{REVIEW}.ipynb")
    work = Path(tempfile.mkdtemp(prefix=f".{REVIEW}.", dir=out_root)).resolve()
    params = {"quarter": quarter, "quarter_dir": str(out_root.resolve())}
    try:
        check_parameters(nb, params)
        papermill.execute_notebook(str(nb), str(work / f"{REVIEW}.ipynb"), parameters=params, kernel_name=KERNEL,
                                   execution_timeout=CELL_TIMEOUT, progress_bar=False, log_output=False,
                                   cwd=str(work), kernel_manager_class=kernel_manager_class())
        to_html(work / f"{REVIEW}.ipynb", work / f"{REVIEW}.html")
        if chromium:
            to_pdf(work / f"{REVIEW}.html", work / f"{REVIEW}.pdf", chromium)
        for suffix in (".ipynb", ".html") + ((".pdf",) if chromium else ()):
            os.replace(work / f"{REVIEW}{suffix}", out_root / f"{REVIEW}{suffix}")
        return Outcome("(advisors' review)", "ok", time.perf_counter() - start, "", "")
    except Exception as exc:
        failed = out_root / "_failed"
        failed.mkdir(exist_ok=True)
        if (work / f"{REVIEW}.ipynb").exists():
            shutil.copy(work / f"{REVIEW}.ipynb", failed / f"{REVIEW}.ipynb")
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        return Outcome("(advisors' review)", "failed", time.perf_counter() - start, "", "",
                       (lines[-1] if lines else exc.__class__.__name__)[:500])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_batch(quarter: str, registers: Path, outputs: Path, practices: list[str] | None = None, *,
              trials: int, seed: int, previous: str | None = None, show_progress: bool | None = None,
              chromium: str | None = None) -> list[Outcome]:
    dirs = sorted(d for d in registers.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    if practices:
        missing = sorted(set(practices) - {d.name for d in dirs})
        if missing:
            raise FileNotFoundError(f"no practice folder {', '.join(missing)} in {registers}")
        dirs = [d for d in dirs if d.name in practices]
    out_root = outputs / quarter
    out_root.mkdir(parents=True, exist_ok=True)
    from .simulation import progress

    outcomes = []
    for d in progress(dirs, len(dirs), "practices", show_progress if show_progress is not None else None):
        outcomes.append(run_practice(d, quarter, out_root, trials=trials, seed=seed, previous=previous,
                                     chromium=chromium))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(MANIFEST_COLUMNS)
    for o in outcomes:
        w.writerow([o.practice, o.status, f"{o.duration:.1f}", o.register, o.sha, seed, trials, __version__, o.error])
    write_text(out_root / "manifest.csv", buf.getvalue())
    return outcomes
