"""``python -m riskmodel``: the same as the ``riskmodel`` command."""
from .cli import main

main(prog_name="riskmodel")
