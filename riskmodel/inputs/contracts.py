"""Contract cover: what NHS central services or a supplier bear, by system owner.

The shipped default (``riskmodel/data/contracts.toml``) follows docs/sources.md; a practice's
``contracts.toml`` beside its register replaces the owners it names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .components import COMPONENTS, OWNERS
from ..io.errors import Problem, ProblemLog
from ..io.tomlfile import check_keys, read_toml, take_number


@dataclass(frozen=True)
class OwnerCover:
    """What a third party bears for losses on one kind of system."""

    borne: dict[str, float] = field(default_factory=dict)
    recovery_probability: float = 1.0
    cap_per_event: float | None = None

    def __post_init__(self) -> None:
        for comp, share in self.borne.items():
            if comp not in COMPONENTS or not 0 <= share <= 1:
                raise ValueError(f"bad borne share {comp}={share}")


@dataclass(frozen=True)
class Contracts:
    """Contract cover for every system owner (practice, nhs, supplier)."""

    owners: dict[str, OwnerCover]
    name: str = "Contract cover"
    source: str = ""
    #: warnings found while reading the file (e.g. not UTF-8)
    warnings: tuple[Problem, ...] = field(default=(), compare=False, repr=False)

    def cover(self, owner: str) -> OwnerCover:
        return self.owners.get(owner, OwnerCover())


def default_contracts_path() -> Path:
    return Path(str(resources.files("riskmodel") / "data" / "contracts.toml"))


def _parse(path: Path, warnings: list[Problem] | None = None) -> tuple[str, dict[str, OwnerCover]]:
    log = ProblemLog(str(path))
    data = read_toml(path, "contracts", log)
    check_keys(log, data, {"name", "owners", "notes"})
    owners: dict[str, OwnerCover] = {}
    raw = data.get("owners", {})
    if not isinstance(raw, dict):
        log.error(None, "owners", raw, "expected [owners.<nhs|supplier|practice>] tables")
        raw = {}
    for owner, spec in raw.items():
        prefix = f"owners.{owner}."
        if owner not in OWNERS:
            log.error(None, f"owners.{owner}", None, f"unknown system owner; expected one of: {', '.join(OWNERS)}")
            continue
        if not isinstance(spec, dict):
            log.error(None, f"owners.{owner}", spec, "expected a table")
            continue
        check_keys(log, spec, {"borne", "recovery_probability", "cap_per_event", "notes"}, prefix)
        borne_raw = spec.get("borne", {})
        borne: dict[str, float] = {}
        if not isinstance(borne_raw, dict):
            log.error(None, f"{prefix}borne", borne_raw, "expected a table such as { data_restoration = 1.0 }")
            borne_raw = {}
        for comp in borne_raw:
            if comp not in COMPONENTS:
                log.error(None, f"{prefix}borne.{comp}", None, f"unknown component; expected one of: {', '.join(COMPONENTS)}")
                continue
            share = take_number(log, borne_raw, comp, None, prefix=f"{prefix}borne.", high=1.0)
            if share is not None:
                borne[comp] = share
        owners[owner] = OwnerCover(borne, take_number(log, spec, "recovery_probability", 1.0, prefix=prefix, high=1.0),
                                   take_number(log, spec, "cap_per_event", None, prefix=prefix))
    log.raise_if_errors()
    if warnings is not None:
        warnings += log.warnings
    return str(data.get("name", "Contract cover")), owners


def load_contracts(path: str | Path | None = None) -> Contracts:
    """The default contract cover, overridden by ``path`` for the owners it names.

    Raises
    ------
    InputError
        Located problems in either file.
    """
    name, owners = _parse(default_contracts_path())
    source = str(default_contracts_path())
    found: list[Problem] = []
    if path is not None:
        name, override = _parse(Path(path), found)
        owners = {**owners, **override}
        source = str(path)
    return Contracts(owners, name, source, tuple(found))
