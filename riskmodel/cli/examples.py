"""``riskmodel examples``: copy the shipped example practices into a folder to edit."""
from __future__ import annotations

from pathlib import Path

import click

from .common import fail_line


@click.command()
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
        fail_line(f"{folder} is a file; give a folder to copy the example practices into")
    clashes = [target / d.name for d in practices if (target / d.name).exists()]
    if clashes:
        fail_line(f"not copied: {', '.join(str(c) for c in clashes)} already there; nothing was "
                  "overwritten (move them away or choose another folder)")
    target.mkdir(parents=True, exist_ok=True)
    for d in practices:
        shutil.copytree(d, target / d.name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    readme = ""
    if not (target / "README.md").exists():
        shutil.copy(source / "README.md", target / "README.md")
        readme = " and README.md (the file formats)"
    if (source / "portfolio.toml").is_file() and not (target / "portfolio.toml").exists():
        shutil.copy(source / "portfolio.toml", target / "portfolio.toml")
        readme += ", portfolio.toml (shared supplier events, for riskmodel portfolio)"
    click.echo(f"copied {len(practices)} example practices ({', '.join(d.name for d in practices)}){readme} "
               f"to {target}; try: riskmodel report --quarter 2026Q4 --registers {target} --trials 2000")
