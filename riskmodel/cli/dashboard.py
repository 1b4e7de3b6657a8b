"""``riskmodel dashboard``: the partners' dashboard (Voila, code hidden) served on 127.0.0.1."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..analysis.engine import DEFAULT_TRIALS
from ..outputs.server import IDLE_SHUTDOWN, MAX_KERNELS
from .common import fail_line


@click.command()
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
        fail_line(f"no practice registers found in {root}: expected folders holding quarterly registers "
                  "such as 2026Q4.xlsx (see registers/README.md); choose the folder with --registers")
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            fail_line(f"--port {port}: already in use on 127.0.0.1 (another dashboard?); choose another port")
    try:
        nb = notebook_path("dashboard.ipynb")
    except FileNotFoundError as exc:
        fail_line(str(exc))
    # read by the dashboard in each page's kernel
    os.environ["RISKMODEL_REGISTERS"] = str(root)
    os.environ["RISKMODEL_TRIALS"] = str(trials)

    def announce(url: str) -> None:
        click.echo(f"Dashboard at {url}  (Ctrl+C to stop)", err=True)
        sys.stderr.flush()

    serve(nb, port=port, open_browser=not no_browser, max_kernels=max_pages, idle_shutdown=idle_shutdown,
          announce=announce)
