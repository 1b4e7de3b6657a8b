"""The quarterly batch: one papermill report per practice, a manifest, failures kept apart.

Each practice's notebook is executed into a hidden staging folder; at the end of the run the
reports that succeeded are swapped into place, those that failed lose their earlier folder, the
review reads only this run's results, and the manifest is written last. One run per quarter at a
time (an OS lock); a failing practice does not stop the others; a full disk or a read-only folder
is reported plainly. Every HTML file written is static: no script, a Content-Security-Policy, and
checked for live markup before it is written (docs/reports.md).

Notebook execution and export are in :mod:`~riskmodel.outputs.notebooks`, the quarter's folder
(lock, stale files, manifest) in :mod:`~riskmodel.outputs.staging`; their names are re-exported here.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..inputs.register import register_hash
from ..io.atomic import usual_permissions, write_text
from ..io.locations import find_quarter_register
from .notebooks import (CELL_TIMEOUT, KERNEL, check_parameters, kernel_manager_class, notebook_path,
                        papermill_path, to_html, to_pdf)
from .staging import (RESERVED, TEMP_PREFIX, Outcome, clean_stale, earlier_report, manifest_text, move_aside,
                      quarter_lock, reason)
# Re-exported: these were defined here before the batch was split by content.
from .notebooks import (CHROMIUM_OFFLINE, CSP, PDF_HELP, LiveMarkupError, check_static_html,  # noqa: F401,E402
                        chromium_command, find_chromium, live_markup, strip_remote_scripts)
from .staging import LOCK_NAME, MANIFEST_COLUMNS, BatchLocked  # noqa: F401,E402

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


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
        papermill.execute_notebook(papermill_path(nb), papermill_path(work / "report.ipynb"), parameters=params,
                                   kernel_name=KERNEL, execution_timeout=CELL_TIMEOUT, progress_bar=False,
                                   log_output=False, cwd=str(work), kernel_manager_class=kernel_manager_class())
        to_html(work / "report.ipynb", work / "report.html")
        if chromium:
            to_pdf(work / "report.html", work / "report.pdf", chromium)
        return Outcome(name, "ok", time.perf_counter() - start, str(reg), sha, "", seed, trials), work
    except Exception as exc:  # one practice failing must not stop the batch
        why = reason(exc)
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
        return Outcome(name, "failed", time.perf_counter() - start, str(reg), sha, why, seed, trials), None


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
        papermill.execute_notebook(papermill_path(nb), papermill_path(work / f"{REVIEW}.ipynb"), parameters=params,
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
        return Outcome("(advisors' review)", "failed", time.perf_counter() - start, "", "", reason(exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
        run.error = (f"could not write the reports{where}: {reason(exc)}. "
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
            rows.append(earlier_report(out_root / d.name, d.name, find_quarter_register(d, quarter),
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
        move_aside(out_root / f, trash)
    failed_dir = out_root / "_failed"
    for name, o in this_run.items():
        for suffix in (".ipynb", ".txt"):
            move_aside(failed_dir / f"{name}{suffix}", trash)
        if o.status != "ok" and name.lower() not in RESERVED:
            move_aside(out_root / name, trash)       # never this quarter's numbers again
    if (stage / "_failed").is_dir():
        failed_dir.mkdir(exist_ok=True)
        for f in (stage / "_failed").iterdir():
            os.replace(f, failed_dir / f.name)
    for name, folder in made.items():
        move_aside(out_root / name, trash)
        os.replace(folder, out_root / name)

    status = stage / "run_status.json"
    write_text(status, json.dumps([{"practice": o.practice, "status": o.status, "error": o.error, "run": o.run}
                                   for o in rows], indent=1))
    if run.ok:
        run.review = run_review(quarter, out_root, status, chromium, stage)
    write_text(out_root / "manifest.csv", manifest_text(rows))
def run_portfolio_report(json_path: str | Path, out_dir: str | Path) -> Path:
    """Execute ``notebooks/portfolio_review.ipynb`` on a portfolio JSON with papermill and export
    static HTML; returns the HTML's path (``out_dir/portfolio_review.html``, beside the executed
    notebook). Both are written in a staging folder and moved into place only when complete.

    Raises
    ------
    PortfolioResultsError
        The JSON is not a portfolio JSON this report can read (checked before the notebook runs).
    papermill.PapermillExecutionError, LiveMarkupError
        The notebook failed, or its HTML would contain live markup (nothing is written).
    """
    import os

    import papermill

    from .portfolio_report import NOTEBOOK, REPORT, load_results

    json_path = Path(json_path).resolve()
    load_results(json_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb = notebook_path(NOTEBOOK)
    params = {"portfolio_json": str(json_path)}
    check_parameters(nb, params)
    work = Path(tempfile.mkdtemp(prefix=".riskmodel-portfolio-", dir=out)).resolve()
    try:
        papermill.execute_notebook(papermill_path(nb), papermill_path(work / f"{REPORT}.ipynb"), parameters=params,
                                   kernel_name=KERNEL, execution_timeout=CELL_TIMEOUT, progress_bar=False,
                                   log_output=False, cwd=str(work), kernel_manager_class=kernel_manager_class())
        to_html(work / f"{REPORT}.ipynb", work / f"{REPORT}.html")
        for suffix in (".ipynb", ".html"):
            usual_permissions(work / f"{REPORT}{suffix}")
            os.replace(work / f"{REPORT}{suffix}", out / f"{REPORT}{suffix}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out / f"{REPORT}.html"


