"""``riskmodel portfolio``: a book of practices and the supplier events they share, on Dask."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from .common import EXIT_INVALID, check_json_target as _check_json_target, json_dump as _json_dump
from ..analysis.engine import DEFAULT_SEED
from ..io.errors import InputError

#: Simulated years by default: a book is thousands of practices (``--trials`` for more).
DEFAULT_PORTFOLIO_TRIALS = 10_000
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")


def _stop(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(EXIT_INVALID)


def _load_book(registers_dir: str | None, quarter: str | None, synthetic: int | None):
    """(portfolio, failures, quarter) from a registers folder or the synthetic generator."""
    from ..analysis.evidence import with_incident_log
    from ..inputs.portfolio import load_portfolio
    from ..inputs.synthetic import TEMPLATE_QUARTER, synthetic_portfolio
    from ..io.shipped import shipped_dir

    if synthetic is not None:
        if registers_dir:
            _stop("riskmodel portfolio: give a registers folder or --synthetic, not both")
        if synthetic < 1:
            _stop(f"riskmodel portfolio: --synthetic needs at least 1 practice, got {synthetic}")
        return synthetic_portfolio(synthetic), [], quarter or TEMPLATE_QUARTER
    if not quarter:
        _stop("riskmodel portfolio: --quarter is required with a registers folder (e.g. --quarter 2026Q4)")
    folder = Path(registers_dir) if registers_dir else shipped_dir("examples")
    book, failures = load_portfolio(folder, quarter, with_incident_log)
    return book, failures, quarter


@click.command(name="portfolio")
@click.argument("registers_dir", required=False, type=click.Path(file_okay=False))
@click.option("--quarter", help="the quarter of the practices' registers, e.g. 2026Q4")
@click.option("--trials", type=click.IntRange(min=1), default=DEFAULT_PORTFOLIO_TRIALS, show_default=True,
              help="simulated years")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--json", "json_out", metavar="PATH|-", help="write results as JSON to PATH, or '-' for stdout")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster (default: this machine)")
@click.option("--synthetic", type=int, is_flag=False, flag_value=6277, default=None, metavar="[N]",
              help="an illustrative national book of N practices instead of a registers folder (alone: 6,277)")
@click.option("--report", "report_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="also write DIR/portfolio.json and the advisors' portfolio review DIR/portfolio_review.html")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="workers on this machine (default: up to 2); ignored with --scheduler")
@click.option("--scratch", metavar="DIR", type=click.Path(file_okay=False),
              help="folder for the practices' yearly figures during the run (default: a temporary folder here; "
                   "with --scheduler, a folder the workers and this machine share; none: the worst years are "
                   "simulated again)")
def portfolio(registers_dir, quarter, trials, seed, json_out, scheduler, synthetic, workers, report_dir,
              scratch) -> None:
    """Simulate a book of practices (every practice folder of REGISTERS_DIR, by default the shipped
    examples) and the supplier events they share, on common simulated years."""
    from ..analysis.portfolio import simulate_portfolio
    from ..analysis.portfolio.summary import portfolio_summary, summary_words

    if quarter and not _QUARTER.match(quarter):
        _stop(f"riskmodel portfolio: --quarter {quarter!r}: expected a year and quarter such as 2026Q4")
    if scheduler and not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
        _stop(f"riskmodel portfolio: --scheduler {scheduler!r}: expected an address such as tcp://10.0.0.5:8786")
    _check_json_target(json_out)
    if scratch:
        _check_scratch(scratch)
    try:
        book, failures, quarter = _load_book(registers_dir, quarter, synthetic)
    except (InputError, FileNotFoundError, ValueError) as exc:
        _stop(str(exc))
    for name, error in failures:
        click.echo(f"{name}: left out: {error}", err=True)
    if not book.practices:
        _stop("riskmodel portfolio: no practice could be read; nothing to simulate")
    try:
        run = simulate_portfolio(book, trials, seed, scheduler=scheduler, workers=workers, scratch=scratch)
    except OSError as exc:       # the cluster cannot be reached
        _stop(f"riskmodel portfolio: --scheduler {scheduler}: {exc}")
    out = portfolio_summary(run, quarter=quarter, failed=failures)
    if json_out:
        _json_dump(out, json_out)
    click.echo(summary_words(out, run.where), err=json_out == "-")
    if report_dir:
        _write_review(out, Path(report_dir))


def _check_scratch(folder: str) -> None:
    """Stop with a clear message unless ``folder`` can be made and written in."""
    import tempfile

    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        _stop(f"riskmodel portfolio: --scratch {folder}: cannot write there ({exc.strerror or exc}); "
              "give a folder you can write in, or leave --scratch out")


def _write_review(out: dict, folder: Path) -> None:
    """``folder/portfolio.json`` and the advisors' portfolio review beside it (papermill)."""
    from ..outputs.batch import run_portfolio_report

    folder.mkdir(parents=True, exist_ok=True)
    _json_dump(out, str(folder / "portfolio.json"))
    html = run_portfolio_report(folder / "portfolio.json", folder)
    click.echo(f"wrote {html}", err=True)


__all__ = ["portfolio", "DEFAULT_PORTFOLIO_TRIALS"]
