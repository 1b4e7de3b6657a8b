"""``riskmodel validate`` and ``riskmodel simulate``: check a register; simulate its annual losses
and, with a policy, who pays them (with the practice's incident log, frequencies updated by it).
"""
from __future__ import annotations

from pathlib import Path

import click

from ..analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS, simulate
from ..analysis.metrics import DEFAULT_THRESHOLDS
from ..inputs.contracts import load_contracts
from ..inputs.policy import load_policy
from ..inputs.register import load_register
from ..io.errors import InputError
from ..io.formatting import percent
from ..io.locations import find_policy
from ..outputs.textreport import terminal_summary
from .common import beside, check_json_target, fail, fail_line, json_dump, warn


def _as_of_option(ctx, param, value):
    """``--as-of``: a date (00:00) or a date and time, written 2026-12-31 or 2026-12-31T17:00."""
    if value is None:
        return None
    from ..inputs.incidents import parse_when

    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(f"got {value!r}; {exc}") from None


@click.command()
@click.argument("register", type=click.Path(dir_okay=False))
@click.option("--practice", type=click.Path(dir_okay=False), help="practice.toml (default: beside the register)")
def validate(register: str, practice: str | None) -> None:
    """Check a register (CSV or .xlsx) and report every problem at once."""
    from ..simulation.draws import check_work

    try:
        reg = load_register(register, practice)
        check_work(reg)  # would its simulation fit in memory?
    except InputError as exc:
        fail(exc)
    warn(reg)
    planned = sum(1 for s in reg.control_status.values() if not s)
    click.echo(f"{register}: OK - {len(reg.risks)} risks, {len(reg.control_status)} controls "
               f"({planned} planned), {len(reg.warnings)} warning(s); practice: {reg.practice.name}")


@click.command(name="simulate")
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
    check_json_target(json_out)
    if incidents and no_incidents:
        fail_line("simulate: --incidents and --no-incidents cannot be used together")
    if incidents and not Path(incidents).is_file():
        fail_line(f"--incidents: no file {incidents}")
    log_warnings = ()
    try:
        reg = load_register(register, practice)
        if not no_incidents:
            from ..analysis.evidence import with_incident_log

            reg, log_warnings = with_incident_log(reg, incidents, as_of=as_of)
        policy_path = None if no_policy else (policy or find_policy(Path(register), Path(register).stem))
        pol = load_policy(policy_path, set(reg.controls)) if policy_path else None
        contracts_path = contracts or beside(register, "contracts.toml")
        con = load_contracts(contracts_path) if (pol is not None or contracts_path) else None
    except InputError as exc:
        fail(exc)
    warn(reg, pol, con)
    reg = _set_controls(reg, set_control)
    for w in log_warnings:
        click.echo(str(w), err=True)
    try:
        result = simulate(reg, trials, seed, policy=pol, contracts=con, threads=threads, show_progress=progress)
    except InputError as exc:          # e.g. more work than memory allows at these trials
        fail(exc)
    summary = result.summary(tuple(threshold) or DEFAULT_THRESHOLDS)
    if json_out:
        json_dump(summary, json_out)
        if json_out == "-":
            return
    click.echo(terminal_summary(summary))
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
            fail_line(f"--set-control: got {item!r}; expected NAME=in_place or NAME=planned")
        if name not in reg.control_status:
            known = ", ".join(sorted(reg.control_status)) or "none"
            fail_line(f"--set-control: {name!r} is not a control of this register (its controls: {known})")
        changes[name] = _CONTROL_STATUS[value]
    return reg.with_control_status(**changes) if changes else reg
