"""``riskmodel compare-policies``: policy schedules compared on the same simulated losses."""
from __future__ import annotations

import click

from ..analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS, ScenarioModel
from ..inputs.contracts import load_contracts
from ..inputs.policy import load_policy
from ..inputs.register import load_register
from ..io.errors import InputError
from ..io.formatting import money, percent
from .common import beside, check_json_target, fail, json_dump, warn


@click.command(name="compare-policies")
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

    check_json_target(json_out)
    try:
        reg = load_register(register, practice)
        pols = [load_policy(p, set(reg.controls)) for p in policies]
        con = load_contracts(contracts or beside(register, "contracts.toml"))
    except InputError as exc:
        fail(exc)
    warn(reg, *pols, con)
    try:
        model = ScenarioModel(reg, trials, seed)
    except InputError as exc:
        fail(exc)
    rows = compare(model, pols, con)
    if json_out:
        from ..analysis.schema import validate_results

        doc = {"trials": trials, "seed": seed, "register": register, "policies": rows}
        validate_results(doc, "compare")  # docs/results.schema.json, before anything is written
        json_dump(doc, json_out)
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
