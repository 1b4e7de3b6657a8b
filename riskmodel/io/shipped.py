"""Where the files riskmodel ships beside its code are: the notebooks and the example practices.

In a source checkout (and an editable install of one) they are the top-level ``notebooks/`` and
``registers/`` folders; an installed wheel carries copies inside the package, as
``riskmodel/notebooks/`` and ``riskmodel/examples/`` (pyproject.toml maps the folders into the
package with ``package-dir``). Plain paths, no heavy imports.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
#: name in the installed package -> folder of a source checkout
FOLDERS = {"notebooks": "notebooks", "examples": "registers"}


def _checkout() -> Path | None:
    """The source checkout this package is imported from, if any (its pyproject.toml names it)."""
    root = PACKAGE_ROOT.parent
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "riskmodel"' in text else None


def package_version() -> str:
    """riskmodel's version, from the installed package's metadata (pyproject.toml is the one source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("riskmodel")
    except PackageNotFoundError:  # pragma: no cover - imported from a folder that was never installed
        return "0+unknown"


def is_shipped_examples(folder: str | Path) -> bool:
    """Whether ``folder`` is the shipped example practices' folder (:func:`shipped_dir`)."""
    try:
        return bool(str(folder)) and Path(folder).resolve() == shipped_dir("examples").resolve()
    except (OSError, ValueError):
        return False


def shipped_dir(kind: str) -> Path:
    """The folder of shipped ``notebooks`` or ``examples`` (example practices)."""
    inside = PACKAGE_ROOT / kind
    checkout = _checkout()
    candidates = ([checkout / FOLDERS[kind]] if checkout else []) + [inside]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(f"riskmodel's {kind} are missing from its installation (looked in "
                            f"{' and '.join(str(c) for c in candidates)}): reinstall riskmodel")


def shipped_notebook(name: str) -> Path:
    path = shipped_dir("notebooks") / name
    if not path.is_file():
        raise FileNotFoundError(f"riskmodel's notebook {name} is missing from {path.parent}: reinstall riskmodel")
    return path


__all__ = ["package_version", "shipped_dir", "shipped_notebook", "is_shipped_examples"]
