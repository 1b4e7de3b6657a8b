"""The ``riskmodel`` command line: :func:`main` and its commands, one module per command group.

``riskmodel.cli:main`` is the ``riskmodel`` entry point (``python -m riskmodel.cli`` runs it too).
Shared helpers and exit statuses are in :mod:`riskmodel.cli.common`.
"""
from __future__ import annotations

import click

from .common import Guarded
# Re-exported: the exit statuses and helpers were defined here before the commands had modules.
from .common import (EXIT_INTERNAL, EXIT_INVALID, _beside, _check_json_target, _fail,  # noqa: F401
                     _fail_line, _json_dump, _warn)


@click.group(cls=Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="riskmodel", prog_name="riskmodel")
def main() -> None:
    """Cyber risk register and insurance exposure model for UK GP practices."""
    from ..simulation.memory import keep_freed_memory

    keep_freed_memory()  # the process is ours: reuse freed memory (riskmodel/simulation/memory.py)


# The commands, registered one line each. A new command group is a module beside these (its
# commands made with @click.command), imported on the line below and registered with one more line.
from . import dashboard, examples, policies, portfolio, report, simulate  # noqa: E402

main.add_command(simulate.validate)
main.add_command(simulate.simulate_cmd)
main.add_command(policies.compare_policies)
main.add_command(report.report)
main.add_command(dashboard.dashboard)
main.add_command(examples.examples)
main.add_command(portfolio.portfolio)
