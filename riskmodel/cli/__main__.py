"""``python -m riskmodel.cli``: the same as the ``riskmodel`` command."""
from . import main

main(prog_name="riskmodel")
