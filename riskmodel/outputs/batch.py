"""The quarterly batch: one papermill report per practice, a manifest, failures kept apart.

Each practice's notebook is executed into a hidden staging folder; at the end of the run the
reports that succeeded are swapped into place, those that failed lose their earlier folder, the
review reads only this run's results, and the manifest is written last. One run per quarter at a
time (an OS lock); a failing practice does not stop the others; a full disk or a read-only folder
is reported plainly. Every HTML file written is static: no script, a Content-Security-Policy, and
checked for live markup before it is written (docs/reports.md).
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..io.shipped import package_version
from ..io.atomic import usual_permissions, write_text
from ..io.formatting import csv_cell
from ..inputs.register import register_hash
from ..io.locations import find_quarter_register

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
KERNEL = "python3"
CELL_TIMEOUT = 1800


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
    from ..io.shipped import shipped_notebook

    return shipped_notebook(name)


def check_parameters(notebook: Path, params: dict) -> None:
    """papermill only warns on unknown parameters: refuse them instead."""
    import papermill

    known = set(papermill.inspect_notebook(str(notebook)))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{notebook.name} has no parameters {unknown}; it takes {sorted(known)}")


def _papermill_path(path: Path) -> str:
    """papermill formats its paths with the parameters (``str.format``): a ``{`` or ``}`` in a
    folder name must reach it doubled, or it fails (or reads a parameter into the path)."""
    return str(path).replace("{", "{{").replace("}", "}}")


#: Content-Security-Policy of every static report: no script of any kind, nothing fetched from
#: anywhere (images are embedded as data: URLs, styles are inline).
CSP = ("default-src 'none'; script-src 'none'; object-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:; base-uri 'none'; form-action 'none'")

#: nbconvert's lab template without any script: no require.js, MathJax, mermaid or widget
#: manager (a report is static; MathJax would also typeset a ``$x$`` typed in a title).
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.riskmodel_csp }}">
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def to_html(executed: Path, target: Path) -> None:
    """Static HTML: code hidden, images embedded, no script, a Content-Security-Policy that forbids
    scripts and network access; refused (an exception, nothing written) if any live markup that
    could run or fetch anything is found in it (:func:`check_static_html`)."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file="riskmodel_static.html.j2",
                            extra_loaders=[jinja2.DictLoader({"riskmodel_static.html.j2": _TEMPLATE})])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4),
                                          resources={"riskmodel_csp": CSP})
    body = strip_remote_scripts(body)
    check_static_html(body, executed.name)
    write_text(target, body)


PDF_HELP = ("PDF needs Debian's chromium: sudo apt-get install chromium (or set RISKMODEL_CHROMIUM to a "
            "Chromium binary); the HTML reports are complete without it")


def find_chromium() -> str | None:
    """A Chromium to print PDFs with: ``$RISKMODEL_CHROMIUM``, else ``chromium`` on the PATH."""
    import os

    env = os.environ.get("RISKMODEL_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: Chromium switches for printing a report: nothing from the network (no name resolves, a dead
#: proxy, no background services). Scripts are kept off by the report's own CSP and by the report
#: having none: ``--blink-settings=scriptEnabled=false`` makes Chromium 156's headless printing
#: write no PDF at all.
CHROMIUM_OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check"]


def chromium_command(chromium: str, html: Path, pdf: Path, profile: str, *, sandbox: bool) -> list[str]:
    return ([chromium, "--headless", "--disable-gpu", "--no-pdf-header-footer", *CHROMIUM_OFFLINE]
            + ([] if sandbox else ["--no-sandbox"])
            + [f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.resolve().as_uri()])


def to_pdf(html: Path, pdf: Path, chromium: str) -> None:
    """Print an HTML report to PDF with headless Chromium (no browser is downloaded), offline.

    Chromium's sandbox is kept on unless running as root (where Chromium refuses it), or where
    the sandboxed browser cannot start at all (a container without user namespaces)."""
    import os
    import subprocess

    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    for sandbox in ((False,) if as_root else (True, False)):
        with tempfile.TemporaryDirectory() as profile:
            done = subprocess.run(chromium_command(chromium, html, pdf, profile, sandbox=sandbox),
                                  capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        if done.returncode == 0 and pdf.is_file() and pdf.stat().st_size > 0:
            return
        if not (sandbox and "sandbox" in done.stderr.lower()):
            break
    raise RuntimeError(f"chromium could not print {html.name} to PDF: {done.stderr.strip()[-300:]}")


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)


def strip_remote_scripts(html: str) -> str:
    """Drop every script element (the template emits none; this is a second guard): a report is
    static, reads offline, and runs nothing."""
    return _SCRIPT.sub("", html)


#: Elements that run, embed or fetch something; a static report has none of them.
_LIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "base", "form", "link", "meta-refresh",
              "audio", "video", "source", "track", "portal", "foreignobject", "animate", "set", "use"}


_REMOTE_CSS = re.compile(r"@import|url\s*\((?!\s*['\"]?data:)[^)]*\)|expression\s*\(", re.I)


class LiveMarkupError(ValueError):
    """Markup that could run or fetch something was found in a report about to be written."""


def live_markup(html: str) -> list[str]:
    """Everything in ``html`` that could run a script or reach the network: script-like elements,
    ``on*`` event attributes, ``javascript:`` URLs, images or styles not embedded (``data:``, in a
    ``style`` attribute or element), a
    ``<meta>`` other than charset, viewport and the CSP. Empty for a safe static report."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Scan(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tag = tag.lower()
            a = {k.lower(): (v or "") for k, v in attrs}
            if tag == "style":
                self.in_style = True
            if tag in _LIVE_TAGS:
                found.append(f"<{tag}>")
            if tag == "meta" and not ({"charset", "name"} & set(a) and "http-equiv" not in a) and not (
                    a.get("http-equiv", "").lower() == "content-security-policy" and a.get("content") == CSP):
                found.append(f"<meta {' '.join(a)}>")
            if tag == "img" and not a.get("src", "").startswith("data:"):
                found.append(f"<img src={a.get('src', '')[:40]!r}>")
            for k, v in a.items():
                if k.startswith("on"):
                    found.append(f"<{tag} {k}=...>")
                if k in ("href", "src", "xlink:href", "action", "formaction", "srcset", "style") and re.search(
                        r"javascript:|vbscript:|url\s*\((?!\s*['\"]?data:)|^\s*(https?:)?//", v, re.I):
                    found.append(f"<{tag} {k}={v[:40]!r}>")

        in_style = False

        def handle_endtag(self, tag):
            if tag.lower() == "style":
                self.in_style = False

        def handle_data(self, data):
            if self.in_style and _REMOTE_CSS.search(data):
                found.append(f"<style> {_REMOTE_CSS.search(data).group(0)[:40]!r}")

    scan = Scan(convert_charrefs=True)
    scan.feed(html)
    scan.close()
    return found


def check_static_html(html: str, what: str) -> None:
    found = live_markup(html)
    if found:
        raise LiveMarkupError(f"{what}: the report would contain live markup ({', '.join(sorted(set(found))[:5])}); "
                              "nothing was written")


@dataclass
class Outcome:
    practice: str
    status: str               # ok, failed or missing
    duration: float
    register: str
    sha: str
    error: str = ""
    seed: int | None = None
    trials: int | None = None
    version: str = field(default_factory=package_version)
    run: str = "this run"     # "earlier run": a report kept from before; "not run" (a --practice run)


def _reason(exc: BaseException) -> str:
    """One line saying why: the last non-blank line of the message (papermill puts the cell's
    exception last), or the exception's name."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where} [errno {exc.errno}]"[:500]
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else exc.__class__.__name__)[:500]


#: Names in ``outputs/<quarter>/`` that belong to the batch itself, never to a practice.
RESERVED = {"manifest.csv", "insurance_gap_review.ipynb", "insurance_gap_review.html", "insurance_gap_review.pdf"}
TEMP_PREFIX = ".riskmodel-"
LOCK_NAME = ".riskmodel-report.lock"


def run_practice(practice_dir: Path, quarter: str, stage: Path, out_root: Path, *, trials: int, seed: int,
                 previous: str | None, chromium: str | None = None) -> tuple[Outcome, Path | None]:
    """Run one practice's report into a new folder inside ``stage``; returns its outcome and that
    folder (``None`` unless it succeeded). A failed notebook is left in ``stage/_failed``."""
    import papermill

    start = time.perf_counter()
    name = practice_dir.name
    if name.lower() in RESERVED:        # (also on case-insensitive file systems)
        return Outcome(name, "failed", 0.0, "", "", f"the folder name {name!r} is reserved for the quarter's own "
                       "files; rename the practice folder", seed, trials), None
    reg = find_quarter_register(practice_dir, quarter)
    if reg is None:
        return Outcome(name, "missing", 0.0, "", "", f"no register for {quarter} in its folder "
                       f"(expected {quarter}.xlsx or {quarter}.csv)", seed, trials), None
    sha = ""
    work = None
    try:
        sha = register_hash(reg)
        nb = notebook_path("quarterly_report.ipynb")
        prev_results = (out_root.parent / previous / name / "results.json").resolve() if previous else None
        work = Path(tempfile.mkdtemp(prefix="practice-", dir=stage)).resolve()
        usual_permissions(work, directory=True)
        params = {"register": str(reg.resolve()), "quarter": quarter, "trials": trials, "seed": seed,
                  "previous_results": str(prev_results) if prev_results and prev_results.is_file() else None,
                  "results_dir": str(work)}
        check_parameters(nb, params)
        papermill.execute_notebook(_papermill_path(nb), _papermill_path(work / "report.ipynb"), parameters=params,
                                   kernel_name=KERNEL, execution_timeout=CELL_TIMEOUT, progress_bar=False,
                                   log_output=False, cwd=str(work), kernel_manager_class=kernel_manager_class())
        to_html(work / "report.ipynb", work / "report.html")
        if chromium:
            to_pdf(work / "report.html", work / "report.pdf", chromium)
        return Outcome(name, "ok", time.perf_counter() - start, str(reg), sha, "", seed, trials), work
    except Exception as exc:  # one practice failing must not stop the batch
        reason = _reason(exc)
        try:  # keep what there is to read, but a full disk must not turn this into a traceback
            failed = stage / "_failed"
            failed.mkdir(exist_ok=True)
            if work is not None and (work / "report.ipynb").exists():
                shutil.copy(work / "report.ipynb", failed / f"{name}.ipynb")
            else:
                write_text(failed / f"{name}.txt", traceback.format_exc())
        except OSError:
            pass
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        return Outcome(name, "failed", time.perf_counter() - start, str(reg), sha, reason, seed, trials), None


REVIEW = "insurance_gap_review"
REVIEW_FILES = tuple(f"{REVIEW}{s}" for s in (".ipynb", ".html", ".pdf"))


def run_review(quarter: str, out_root: Path, run_status: Path | None = None, chromium: str | None = None,
               stage: Path | None = None) -> Outcome:
    """The advisors' review of the practices reported in ``out_root`` (``outputs/<quarter>``):
    ``insurance_gap_review.ipynb`` and ``.html``, moved into place only when complete.

    ``run_status``: the JSON list of this run's manifest rows; the review covers the practices
    whose status is ok there and names every other one with its reason."""
    import os

    import papermill

    start = time.perf_counter()
    nb = notebook_path(f"{REVIEW}.ipynb")
    work = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}review-", dir=stage or out_root)).resolve()
    params = {"quarter": quarter, "quarter_dir": str(out_root.resolve())}
    if run_status is not None:
        params["run_status"] = str(run_status.resolve())
    try:
        check_parameters(nb, params)
        papermill.execute_notebook(_papermill_path(nb), _papermill_path(work / f"{REVIEW}.ipynb"), parameters=params,
                                   kernel_name=KERNEL, execution_timeout=CELL_TIMEOUT, progress_bar=False,
                                   log_output=False, cwd=str(work), kernel_manager_class=kernel_manager_class())
        to_html(work / f"{REVIEW}.ipynb", work / f"{REVIEW}.html")
        if chromium:
            to_pdf(work / f"{REVIEW}.html", work / f"{REVIEW}.pdf", chromium)
        for f in REVIEW_FILES:
            if (work / f).exists():
                usual_permissions(work / f)
                os.replace(work / f, out_root / f)
        return Outcome("(advisors' review)", "ok", time.perf_counter() - start, "", "")
    except Exception as exc:
        try:
            failed = out_root / "_failed"
            failed.mkdir(exist_ok=True)
            if (work / f"{REVIEW}.ipynb").exists():
                shutil.copy(work / f"{REVIEW}.ipynb", failed / f"{REVIEW}.ipynb")
        except OSError:
            pass
        return Outcome("(advisors' review)", "failed", time.perf_counter() - start, "", "", _reason(exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- the quarter's folder: one run at a time, nothing stale, the manifest last ------------------
class BatchLocked(RuntimeError):
    """Another ``riskmodel report`` run is writing the same quarter's outputs."""


@contextmanager
def quarter_lock(out_root: Path):
    """Hold ``outputs/<quarter>/.riskmodel-report.lock`` for the run.

    The lock is the OS's lock on that file (``flock``; ``msvcrt.locking`` on Windows), released by
    the OS when the process ends however it ends: a run killed with ``kill -9`` leaves a file
    behind but no lock, and the next run takes it. The file holds the running process's id, for
    the message a second run gives (:class:`BatchLocked`), and is removed at the end of the run."""
    import os

    path = out_root / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            _lock_fd(fd)
        except OSError:
            try:
                holder = os.read(fd, 64).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
            pid = f" (process {holder})" if holder.isdigit() else ""
            raise BatchLocked(f"another riskmodel report run{pid} is writing {out_root}; wait for it to finish "
                              "and run again") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)        # the previous holder removed the file as we opened it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _lock_fd(fd: int) -> None:
    import os

    if os.name == "nt":  # pragma: no cover
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


_OLD_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}$")   # tempfile folders of earlier versions: .<practice>.ab12cd_9


def clean_stale(out_root: Path) -> list[str]:
    """Remove what an interrupted run left in ``out_root``: hidden work folders and half-written
    ``.*.tmp`` files. Only called with the quarter's lock held."""
    removed = []
    for p in out_root.iterdir():
        if p.name == LOCK_NAME or not p.name.startswith("."):
            continue
        if p.is_dir() and not p.is_symlink() and (p.name.startswith(TEMP_PREFIX) or _OLD_TEMP.match(p.name)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        elif p.is_file() and p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def _earlier(folder: Path, name: str, register: Path | None, reason: str) -> Outcome:
    """A practice not run this time (``--practice``): its earlier report, if still valid."""
    try:
        r = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Outcome(name, "missing", 0.0, str(register or ""), "", f"{reason} and it has no earlier report",
                       run="not run")
    try:
        sha = register_hash(register) if register is not None else None
    except OSError:
        sha = None
    if sha is None or sha != r.get("register_sha256"):
        return Outcome(name, "missing", 0.0, str(register or ""), "",
                       f"{reason}; its earlier report is of a register that has changed or gone since, so it is "
                       "not included", run="not run")
    return Outcome(name, "ok", 0.0, str(r.get("register", "")), str(r.get("register_sha256", "")), "",
                   r.get("seed"), r.get("trials"), str(r.get("version", "")), run="earlier run")


MANIFEST_COLUMNS = ["practice", "status", "duration_s", "register", "register_sha256", "seed", "trials",
                    "version", "run", "error"]


def manifest_text(rows: list[Outcome]) -> str:
    """The manifest as CSV; every text cell neutralised against spreadsheet formulas
    (:func:`riskmodel.io.formatting.csv_cell`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    for o in rows:
        w.writerow([csv_cell(v) for v in (o.practice, o.status, f"{o.duration:.1f}", o.register, o.sha,
                                           "" if o.seed is None else o.seed, "" if o.trials is None else o.trials,
                                           o.version, o.run, o.error)])
    return buf.getvalue()


@dataclass
class BatchRun:
    """What a ``report`` run did: a row per practice (the manifest), the review, and, when the
    outputs could not be written (a full disk, a read-only folder), why."""

    out_root: Path
    outcomes: list[Outcome] = field(default_factory=list)
    review: Outcome | None = None
    error: str = ""
    cleaned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "ok"]


def _move_aside(path: Path, trash: Path) -> None:
    """Move ``path`` into ``trash`` (deleted with the run's staging folder)."""
    import os

    if path.exists() or path.is_symlink():
        os.replace(path, trash / f"{len(list(trash.iterdir()))}-{path.name}")


def run_batch(quarter: str, registers: Path, outputs: Path, practices: list[str] | None = None, *,
              trials: int, seed: int, previous: str | None = None, show_progress: bool | None = None,
              chromium: str | None = None) -> BatchRun:
    """Every practice's report, then the review, then the manifest, in ``outputs/<quarter>``.

    One run at a time per quarter (:func:`quarter_lock`; :class:`BatchLocked` otherwise). Reports
    are made in a hidden staging folder and swapped into place together at the end; a practice
    that failed or has no register loses its earlier report (its old numbers are never shown
    again as this quarter's); the old manifest is removed at the start, the old review before the
    swap, and the manifest — a row per practice folder, ok, failed or missing with the reason — is
    written last, atomically. ``OSError`` (a full disk, a read-only folder) is reported in ``BatchRun.error``.
    """
    if not registers.is_dir():
        raise FileNotFoundError(f"no folder of practice folders at {registers}")
    all_dirs = sorted(d for d in registers.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    dirs = all_dirs
    if practices:
        missing = sorted(set(practices) - {d.name for d in all_dirs})
        if missing:
            raise FileNotFoundError(f"no practice folder {', '.join(missing)} in {registers}")
        dirs = [d for d in all_dirs if d.name in practices]
    out_root = outputs / quarter
    run = BatchRun(out_root)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        with quarter_lock(out_root):
            run.cleaned = clean_stale(out_root)
            # from now until this run's manifest is written last, none claims a complete run
            (out_root / "manifest.csv").unlink(missing_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}run-", dir=out_root))
            try:
                _run_in(run, stage, quarter, all_dirs, dirs, trials=trials, seed=seed, previous=previous,
                        show_progress=show_progress, chromium=chromium)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
    except OSError as exc:
        where = "" if exc.filename else f" in {out_root}"
        run.error = (f"could not write the reports{where}: {_reason(exc)}. "
                     + ("No manifest was written: the folder holds no complete run."
                        if not (out_root / "manifest.csv").exists() else "The manifest there is not this run's."))
    return run


def _run_in(run: BatchRun, stage: Path, quarter: str, all_dirs: list[Path], dirs: list[Path], *, trials: int,
            seed: int, previous: str | None, show_progress: bool | None, chromium: str | None) -> None:
    import os

    from ..simulation.draws import progress

    out_root = run.out_root
    made: dict[str, Path] = {}
    this_run: dict[str, Outcome] = {}
    for d in progress(dirs, len(dirs), "practices", show_progress):
        o, folder = run_practice(d, quarter, stage, out_root, trials=trials, seed=seed, previous=previous,
                                 chromium=chromium)
        this_run[d.name] = o
        if folder is not None:
            made[d.name] = folder
        run.outcomes = list(this_run.values())     # for the summary, should the folder fail us later
    # a row per practice folder: this run's, else (a --practice run) its earlier report if still valid
    rows = []
    for d in all_dirs:
        if d.name in this_run:
            rows.append(this_run[d.name])
        else:
            rows.append(_earlier(out_root / d.name, d.name, find_quarter_register(d, quarter),
                                 "not run this time (--practice)"))
    known = {d.name for d in all_dirs}
    for p in sorted(out_root.iterdir()):
        if p.is_dir() and not p.name.startswith((".", "_")) and p.name not in known:
            rows.append(Outcome(p.name, "missing", 0.0, "", "", "no practice folder of this name in the registers "
                                "any more; its earlier report there is not included", run="not run"))
    run.outcomes = rows

    # swap into place: first remove the review of the earlier results
    trash = stage / "trash"
    trash.mkdir()
    for f in REVIEW_FILES:
        _move_aside(out_root / f, trash)
    failed_dir = out_root / "_failed"
    for name, o in this_run.items():
        for suffix in (".ipynb", ".txt"):
            _move_aside(failed_dir / f"{name}{suffix}", trash)
        if o.status != "ok" and name.lower() not in RESERVED:
            _move_aside(out_root / name, trash)       # never this quarter's numbers again
    if (stage / "_failed").is_dir():
        failed_dir.mkdir(exist_ok=True)
        for f in (stage / "_failed").iterdir():
            os.replace(f, failed_dir / f.name)
    for name, folder in made.items():
        _move_aside(out_root / name, trash)
        os.replace(folder, out_root / name)

    status = stage / "run_status.json"
    write_text(status, json.dumps([{"practice": o.practice, "status": o.status, "error": o.error, "run": o.run}
                                   for o in rows], indent=1))
    if run.ok:
        run.review = run_review(quarter, out_root, status, chromium, stage)
    write_text(out_root / "manifest.csv", manifest_text(rows))
