"""``riskmodel report``: every practice's quarterly report, the advisors' review and a manifest
(:mod:`riskmodel.outputs.batch`), with the folders and quarters checked before anything runs.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from ..analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS
from .common import EXIT_INVALID, fail_line


_QUARTER = re.compile(r"(\d{4})[Qq]([1-4])")


def _quarter_option(ctx, param, value):
    """A quarter written 2026Q4 (or 2026q4, normalised to 2026Q4, the files' spelling)."""
    if value is None:
        return None
    m = _QUARTER.fullmatch(value.strip())
    if not m:
        raise click.BadParameter(f"got {value!r}; expected a year and quarter such as 2026Q4")
    return f"{m.group(1)}Q{m.group(2)}"


def _check_report_options(quarter: str, previous: str | None, registers: Path, outputs: Path) -> None:
    """The report's folders and quarters, checked before anything runs: one line each."""
    if not registers.is_dir():
        where = "" if registers.is_absolute() else f" in {Path.cwd()}"
        fail_line(f"--registers: no folder {registers}{where}; copy the example practices there with "
                  f"'riskmodel examples {registers}', or choose the folder with --registers")
    if not any(d.is_dir() and not d.name.startswith((".", "_")) for d in registers.iterdir()):
        fail_line(f"--registers: {registers} holds no practice folders (one folder per practice, holding "
                  f"its quarterly registers such as 2026Q4.xlsx; see 'riskmodel examples')")
    if previous is not None:
        if previous >= quarter:
            fail_line(f"--previous {previous} is not before --quarter {quarter}")
        if not (outputs / previous / "manifest.csv").is_file():
            fail_line(f"--previous {previous}: no reports for {previous} in {outputs / previous} "
                      f"(run 'riskmodel report --quarter {previous}' first, or leave out --previous)")


@click.command()
@click.option("--quarter", required=True, callback=_quarter_option,
              help="quarter to report, e.g. 2026Q4 (2026q4 is read as 2026Q4)")
@click.option("--registers", "registers_dir", type=click.Path(file_okay=False), default="registers", show_default=True,
              help="folder of practice folders")
@click.option("--outputs", "outputs_dir", type=click.Path(file_okay=False), default="outputs", show_default=True)
@click.option("--practice", "practices", multiple=True, help="only these practice folders (repeatable)")
@click.option("--previous", callback=_quarter_option,
              help="previous quarter already reported, for the comparison (e.g. 2026Q3)")
@click.option("--trials", type=click.IntRange(min=100), default=DEFAULT_TRIALS, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--pdf", is_flag=True, help="also print each report to PDF with Debian's chromium, when installed")
def report(quarter, registers_dir, outputs_dir, practices, previous, trials, seed, pdf) -> None:
    """Run the quarterly report notebook for every practice (papermill), the advisors' review,
    then write a manifest.

    Exit status 0 when every practice run and the review were written; 1 when any failed or has no
    register for the quarter, another run holds the quarter's folder, or the outputs could not be
    written (a full disk, a read-only folder); 2 for a bad option. Practices left out with
    --practice are listed (ok from an earlier run, or missing) but do not change the status."""
    import re

    from ..outputs.batch import PDF_HELP, BatchLocked, find_chromium, run_batch
    from ..io.formatting import printable

    _check_report_options(quarter, previous, Path(registers_dir), Path(outputs_dir))
    for option, value in (("--quarter", quarter), ("--previous", previous)):
        if value is not None and not re.fullmatch(r"\d{4}Q[1-4]", value):
            click.echo(f"{option}: got {printable(repr(value))}; expected a year and quarter such as 2026Q4", err=True)
            sys.exit(EXIT_INVALID)
    chromium = find_chromium() if pdf else None
    if pdf and chromium is None:
        click.echo(f"--pdf: no chromium found, so no PDFs this time. {PDF_HELP}.", err=True)
    try:
        run = run_batch(quarter, Path(registers_dir), Path(outputs_dir), list(practices), trials=trials,
                        seed=seed, previous=previous, chromium=chromium)
    except FileNotFoundError as exc:
        click.echo(printable(str(exc)), err=True)
        sys.exit(EXIT_INVALID)
    except BatchLocked as exc:
        click.echo(printable(str(exc)), err=True)
        sys.exit(1)
    out_root = run.out_root
    if run.cleaned:
        click.echo(f"removed {len(run.cleaned)} temporary file(s) left by an interrupted run in {out_root}", err=True)
    for o in run.outcomes:
        where = out_root / o.practice / "report.html" if o.status == "ok" else o.error
        note = f"  ({o.run})" if o.run != "this run" else ""
        click.echo(printable(f"{o.status:>7}  {o.practice:<28} {o.duration:6.1f}s  {where}{note}"))
    review = run.review
    if review is not None:
        where = out_root / "insurance_gap_review.html" if review.status == "ok" else review.error
        click.echo(printable(f"{review.status:>7}  {review.practice:<28} {review.duration:6.1f}s  {where}"))
    ok, bad = run.ok, [o for o in run.outcomes if o.status != "ok" and o.run == "this run"]
    manifest = out_root / "manifest.csv"
    click.echo(printable(f"{len(ok)} of {len(run.outcomes)} practice reports in {out_root}"
                         + (f"; manifest: {manifest}" if not run.error else "")))
    if run.error:
        click.echo(printable(run.error), err=True)
    if bad or (review is not None and review.status != "ok") or run.error:
        names = [o.practice for o in bad] + ([review.practice] if review is not None and review.status != "ok" else [])
        if names:
            click.echo(printable(f"{len(names)} not reported: {', '.join(names)} (see {manifest}; error notebooks "
                                 f"in {out_root / '_failed'})"), err=True)
        sys.exit(1)
