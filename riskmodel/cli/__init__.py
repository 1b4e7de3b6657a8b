"""The ``riskmodel`` command line."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from ..io.atomic import write_text
from ..inputs.contracts import load_contracts
from ..analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS, ScenarioModel, simulate
from ..io.errors import InputError
from ..io.formatting import money, percent
from ..coverage.invariants import InvariantError
from ..analysis.metrics import DEFAULT_THRESHOLDS
from ..inputs.policy import load_policy
from ..inputs.register import load_register
from ..io.locations import find_policy
from ..outputs.server import IDLE_SHUTDOWN, MAX_KERNELS
from ..outputs.textreport import summary_text

EXIT_INVALID = 2
#: An impossible figure was caught before anything was written (a bug in riskmodel).
EXIT_INTERNAL = 3


class _Guarded(click.Group):
    """Every command: a misused option or argument is one line with exit status 2 (click's usage
    text is a ``--help`` away); an :class:`InvariantError` (an impossible figure caught by the
    package's guards) is reported plainly with exit status 3; nothing has been written."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            click.echo(f"{where}: {exc.format_message()} (see {where} --help)", err=True)
            sys.exit(EXIT_INVALID)
        except InvariantError as exc:
            click.echo(str(exc), err=True)
            sys.exit(EXIT_INTERNAL)


def _fail(exc: InputError) -> None:
    click.echo(str(exc), err=True)
    sys.exit(EXIT_INVALID)


def _warn(*inputs) -> None:
    """Print the warnings of a register, policy or contracts (each may be None)."""
    for item in inputs:
        for w in getattr(item, "warnings", ()) or ():
            click.echo(str(w), err=True)


def _beside(register_path: str, name: str) -> Path | None:
    p = Path(register_path).parent / name
    return p if p.is_file() else None


def _check_json_target(target: str | None) -> None:
    """Refuse, before any simulation, a ``--json`` path that cannot be written as a file."""
    if not target or target == "-":
        return
    p = Path(target)
    if p.is_dir():
        _fail_line(f"--json: {target} is a folder; give a file name such as {p / 'results.json'}")
    parent = next((a for a in p.absolute().parents if a.exists()), None)
    if parent is not None and not parent.is_dir():
        _fail_line(f"--json: {target} cannot be written: {parent} is a file, not a folder")


def _json_dump(data, target: str) -> None:
    text = json.dumps(data, indent=2, allow_nan=False)
    if target == "-":
        click.echo(text)
    else:
        try:
            write_text(target, text + "\n")
        except OSError as exc:
            _fail_line(f"--json: could not write {target}: {exc.strerror or exc}")
        click.echo(f"wrote {target}", err=True)


def _fail_line(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(EXIT_INVALID)


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
        _fail_line(f"--registers: no folder {registers}{where}; copy the example practices there with "
                   f"'riskmodel examples {registers}', or choose the folder with --registers")
    if not any(d.is_dir() and not d.name.startswith((".", "_")) for d in registers.iterdir()):
        _fail_line(f"--registers: {registers} holds no practice folders (one folder per practice, holding "
                   f"its quarterly registers such as 2026Q4.xlsx; see 'riskmodel examples')")
    if previous is not None:
        if previous >= quarter:
            _fail_line(f"--previous {previous} is not before --quarter {quarter}")
        if not (outputs / previous / "manifest.csv").is_file():
            _fail_line(f"--previous {previous}: no reports for {previous} in {outputs / previous} "
                       f"(run 'riskmodel report --quarter {previous}' first, or leave out --previous)")


def _as_of_option(ctx, param, value):
    """``--as-of``: a date (00:00) or a date and time, written 2026-12-31 or 2026-12-31T17:00."""
    if value is None:
        return None
    from ..inputs.incidents import parse_when

    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(f"got {value!r}; {exc}") from None


@click.group(cls=_Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="riskmodel", prog_name="riskmodel")
def main() -> None:
    """Cyber risk register and insurance exposure model for UK GP practices."""
    from ..simulation.memory import keep_freed_memory

    keep_freed_memory()  # the process is ours: reuse freed memory (riskmodel/simulation/memory.py)


@main.command()
@click.argument("register", type=click.Path(dir_okay=False))
@click.option("--practice", type=click.Path(dir_okay=False), help="practice.toml (default: beside the register)")
def validate(register: str, practice: str | None) -> None:
    """Check a register (CSV or .xlsx) and report every problem at once."""
    from ..simulation.draws import check_work

    try:
        reg = load_register(register, practice)
        check_work(reg)  # would its simulation fit in memory?
    except InputError as exc:
        _fail(exc)
    _warn(reg)
    planned = sum(1 for s in reg.control_status.values() if not s)
    click.echo(f"{register}: OK - {len(reg.risks)} risks, {len(reg.control_status)} controls "
               f"({planned} planned), {len(reg.warnings)} warning(s); practice: {reg.practice.name}")


@main.command(name="simulate")
@click.argument("register", type=click.Path(dir_okay=False))
@click.option("--practice", type=click.Path(dir_okay=False), help="practice.toml (default: beside the register)")
@click.option("--trials", type=click.IntRange(min=1), default=DEFAULT_TRIALS, show_default=True,
              help="simulated years")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--json", "json_out", metavar="PATH|-", help="write results as JSON to PATH, or '-' for stdout")
@click.option("--policy", type=click.Path(dir_okay=False),
              help="policy schedule TOML (default: <quarter>.policy.toml, else policy.toml, beside the register)")
@click.option("--contracts", type=click.Path(dir_okay=False),
              help="contract cover TOML (default: contracts.toml beside the register, else the shipped default)")
@click.option("--no-policy", is_flag=True, help="ignore any policy.toml beside the register")
@click.option("--threshold", type=float, multiple=True, help="report P(annual loss > X); repeatable")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="worker threads (default 2)")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a terminal)")
@click.option("--set-control", "set_control", multiple=True, metavar="NAME=in_place|planned",
              help="simulate as if a control of the register were in place or planned; repeatable")
@click.option("--incidents", "incidents", type=click.Path(dir_okay=False),
              help="the practice's incident and near-miss log (default: incidents.csv beside the register, "
                   "or the workbook's sheet 'incidents')")
@click.option("--no-incidents", is_flag=True, help="ignore any incident log: the register's frequencies as written")
@click.option("--as-of", "as_of", callback=_as_of_option, metavar="DATE",
              help="the log's end and the 72-hour clock's reading, e.g. 2026-12-31 or 2026-12-31T17:00 "
                   "(default: the end of the register's quarter)")
def simulate_cmd(register, practice, trials, seed, json_out, policy, contracts, no_policy, threshold,
                 threads, progress, set_control=(), incidents=None, no_incidents=False, as_of=None) -> None:
    """Simulate a register's annual losses; with a policy, who pays them."""
    _check_json_target(json_out)
    if incidents and no_incidents:
        _fail_line("simulate: --incidents and --no-incidents cannot be used together")
    if incidents and not Path(incidents).is_file():
        _fail_line(f"--incidents: no file {incidents}")
    log_warnings = ()
    try:
        reg = load_register(register, practice)
        if not no_incidents:
            from ..analysis.evidence import with_incident_log

            reg, log_warnings = with_incident_log(reg, incidents, as_of=as_of)
        policy_path = None if no_policy else (policy or find_policy(Path(register), Path(register).stem))
        pol = load_policy(policy_path, set(reg.controls)) if policy_path else None
        contracts_path = contracts or _beside(register, "contracts.toml")
        con = load_contracts(contracts_path) if (pol is not None or contracts_path) else None
    except InputError as exc:
        _fail(exc)
    _warn(reg, pol, con)
    reg = _set_controls(reg, set_control)
    for w in log_warnings:
        click.echo(str(w), err=True)
    try:
        result = simulate(reg, trials, seed, policy=pol, contracts=con, threads=threads, show_progress=progress)
    except InputError as exc:          # e.g. more work than memory allows at these trials
        _fail(exc)
    summary = result.summary(tuple(threshold) or DEFAULT_THRESHOLDS)
    if json_out:
        _json_dump(summary, json_out)
        if json_out == "-":
            return
    click.echo(summary_text(summary))
    if summary.get("ico_72h"):
        click.echo(_log_text(summary))


def _log_text(summary: dict) -> str:
    """Two lines on the incident log: what moved the frequencies, and the 72-hour clock."""
    clock = summary["ico_72h"]
    moved = [r for r in summary["frequency_update"] if r["events_observed"]]
    lines = [f"\nIncident log {clock['log']} ({clock['coverage_start'][:10]} to {clock['as_of'][:16]}):"]
    for r in moved:
        lines.append(f"  {r['risk_id']}: {r['events_observed']} incident(s) in {r['exposure_years']:.2f} years; "
                     f"{r['prior_mean']:.3g} a year in the register -> {r['posterior_mean']:.3g} "
                     f"({percent(r['weight_of_evidence'])} from the log)")
    flagged = [r["risk_id"] for r in summary["frequency_update"] if r["cost_check"]["flag"]]
    if flagged:
        lines.append(f"  costs outside the register's ranges more often than chance: {', '.join(flagged)}")
    lines.append(f"  ICO 72-hour clock: {clock['reportable']} reportable, {clock['on_time']} on time, "
                 f"{clock['late']} late, {clock['open']} open (not reported after 72 hours)"
                 + (f", {clock['undecided']} undecided" if clock["undecided"] else ""))
    return "\n".join(lines)


_CONTROL_STATUS = {"in_place": True, "planned": False}


def _set_controls(reg, settings):
    """The register with ``--set-control NAME=in_place|planned`` applied; one line on a bad one."""
    changes = {}
    for item in settings:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip().lower().replace(" ", "_").replace("-", "_")
        if not sep or value not in _CONTROL_STATUS:
            _fail_line(f"--set-control: got {item!r}; expected NAME=in_place or NAME=planned")
        if name not in reg.control_status:
            known = ", ".join(sorted(reg.control_status)) or "none"
            _fail_line(f"--set-control: {name!r} is not a control of this register (its controls: {known})")
        changes[name] = _CONTROL_STATUS[value]
    return reg.with_control_status(**changes) if changes else reg


@main.command(name="compare-policies")
@click.argument("register", type=click.Path(dir_okay=False))
@click.argument("policies", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--practice", type=click.Path(dir_okay=False))
@click.option("--contracts", type=click.Path(dir_okay=False))
@click.option("--trials", type=click.IntRange(min=1), default=DEFAULT_TRIALS, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--json", "json_out", metavar="PATH|-")
def compare_policies(register, policies, practice, contracts, trials, seed, json_out) -> None:
    """Compare policy schedules on the same simulated losses (common random numbers)."""
    from ..analysis.comparison import compare

    _check_json_target(json_out)
    try:
        reg = load_register(register, practice)
        pols = [load_policy(p, set(reg.controls)) for p in policies]
        con = load_contracts(contracts or _beside(register, "contracts.toml"))
    except InputError as exc:
        _fail(exc)
    _warn(reg, *pols, con)
    try:
        model = ScenarioModel(reg, trials, seed)
    except InputError as exc:
        _fail(exc)
    rows = compare(model, pols, con)
    if json_out:
        _json_dump({"trials": trials, "seed": seed, "register": register, "policies": rows}, json_out)
        if json_out == "-":
            return
    click.echo(f"{reg.practice.name}: {trials:,} simulated years, seed {seed}\n")
    header = f"{'policy':<34}{'premium':>10}{'retained mean':>15}{'1-in-100 kept':>15}{'limit runs out':>16}{'saving per £1':>15}"
    click.echo(header)
    click.echo("-" * len(header))
    for r in rows:
        per = "—" if r["reduction_per_premium_pound"] is None else f"£{r['reduction_per_premium_pound']:.2f}"
        click.echo(f"{r['name'][:33]:<34}{money(r['premium']):>10}{money(r['retained_mean']):>15}"
                   f"{money(r['retained_p99']):>15}{percent(r['prob_aggregate_exhausted']):>16}{per:>15}")
    click.echo("\nsaving per £1: reduction in expected retained loss (against no policy) per pound of premium.")


@main.command()
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


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8866, show_default=True, help="port on 127.0.0.1")
@click.option("--no-browser", is_flag=True, help="do not open a browser (the address printed carries the token)")
@click.option("--registers", "registers_dir", type=click.Path(file_okay=False), default=None,
              help="folder of practice folders  [default: registers/ here, else the shipped examples]")
@click.option("--trials", type=click.IntRange(min=1), default=DEFAULT_TRIALS, show_default=True)
@click.option("--max-pages", type=click.IntRange(1, 20), default=MAX_KERNELS, show_default=True,
              help="dashboard pages served at once (each holds its own simulated years in memory)")
@click.option("--idle-shutdown", type=click.IntRange(2, 90), default=IDLE_SHUTDOWN, show_default=True,
              help="seconds after its page has gone (and it is idle) that a page's kernel is shut down")
def dashboard(port: int, no_browser: bool, registers_dir: str | None, trials: int, max_pages: int,
              idle_shutdown: int) -> None:
    """Serve the partners' dashboard (Voila, code hidden) on 127.0.0.1, with a token."""
    import os
    import socket

    from ..outputs.batch import notebook_path
    from ..outputs.dashboard import find_practices
    from ..outputs.server import serve
    from ..io.shipped import shipped_dir

    if registers_dir is None:
        if Path("registers").is_dir():
            registers_dir = "registers"
        else:
            registers_dir = str(shipped_dir("examples"))
            click.echo(f"no registers/ folder in {Path.cwd()}: showing the shipped example practices "
                       "('riskmodel examples registers' copies them to edit; --registers chooses a folder)",
                       err=True)
    root = Path(registers_dir).resolve()
    if not find_practices(root):
        _fail_line(f"no practice registers found in {root}: expected folders holding quarterly registers "
                   "such as 2026Q4.xlsx (see registers/README.md); choose the folder with --registers")
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            _fail_line(f"--port {port}: already in use on 127.0.0.1 (another dashboard?); choose another port")
    try:
        nb = notebook_path("dashboard.ipynb")
    except FileNotFoundError as exc:
        _fail_line(str(exc))
    # read by the dashboard in each page's kernel
    os.environ["RISKMODEL_REGISTERS"] = str(root)
    os.environ["RISKMODEL_TRIALS"] = str(trials)

    def announce(url: str) -> None:
        click.echo(f"Dashboard at {url}  (Ctrl+C to stop)", err=True)
        sys.stderr.flush()

    serve(nb, port=port, open_browser=not no_browser, max_kernels=max_pages, idle_shutdown=idle_shutdown,
          announce=announce)


@main.command()
@click.argument("folder", type=click.Path())
def examples(folder: str) -> None:
    """Copy the example practices into FOLDER (a registers folder; made if missing). Nothing
    already there is overwritten."""
    import shutil

    from ..io.shipped import shipped_dir

    source = shipped_dir("examples")
    practices = sorted(d for d in source.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    target = Path(folder)
    if target.exists() and not target.is_dir():
        _fail_line(f"{folder} is a file; give a folder to copy the example practices into")
    clashes = [target / d.name for d in practices if (target / d.name).exists()]
    if clashes:
        _fail_line(f"not copied: {', '.join(str(c) for c in clashes)} already there; nothing was "
                   "overwritten (move them away or choose another folder)")
    target.mkdir(parents=True, exist_ok=True)
    for d in practices:
        shutil.copytree(d, target / d.name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    readme = ""
    if not (target / "README.md").exists():
        shutil.copy(source / "README.md", target / "README.md")
        readme = " and README.md (the file formats)"
    click.echo(f"copied {len(practices)} example practices ({', '.join(d.name for d in practices)}){readme} "
               f"to {target}; try: riskmodel report --quarter 2026Q4 --registers {target} --trials 2000")


from .portfolio import portfolio  # noqa: E402
main.add_command(portfolio)
