"""The practice profile: ``practice.toml`` beside the register, or given with ``--practice``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..io.errors import Problem, ProblemLog
from ..io.tomlfile import check_keys, read_toml, take_bool, take_number

#: Defaults for a bare register, for an average English practice (docs/sources.md: 10,101
#: patients per practice in June 2024; about 2.37 FTE staff per 1,000 patients; £163.65 per
#: patient in 2021/22). The interruption cost per hour is an assumption: extra cost of working
#: (locums, overtime, catch-up clinics) rather than lost capitation income.
DEFAULT_LIST_SIZE = 10_000
DEFAULT_STAFF_FTE = 23.0
DEFAULT_INCOME = 1_640_000.0
DEFAULT_INTERRUPTION_COST_PER_HOUR = 250.0

_KEYS = {"name", "ods_code", "list_size", "staff", "staff_fte", "annual_income",
         "interruption_cost_per_hour", "illustrative", "notes", "sites",
         "log_start"}  # log_start: where the incident log starts (riskmodel/evidence.py)


@dataclass(frozen=True)
class Practice:
    """A GP practice's profile. Only ``interruption_cost_per_hour`` enters the simulation."""

    name: str = "Unnamed practice"
    ods_code: str = ""
    list_size: int = DEFAULT_LIST_SIZE
    staff_fte: float = DEFAULT_STAFF_FTE
    annual_income: float = DEFAULT_INCOME
    interruption_cost_per_hour: float = DEFAULT_INTERRUPTION_COST_PER_HOUR
    sites: int = 1
    illustrative: bool = False
    notes: str = ""
    source: str = "defaults"
    #: warnings found while reading the file (e.g. not UTF-8)
    warnings: tuple[Problem, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.interruption_cost_per_hour < 0:
            raise ValueError("interruption_cost_per_hour must be at least 0")


def load_practice(path: str | Path | None, default_name: str = "Unnamed practice") -> Practice:
    """Read a practice profile; ``None`` gives the documented defaults.

    Raises
    ------
    InputError
        Unknown keys, or values that are not numbers where numbers belong.
    """
    if path is None:
        return Practice(name=default_name)
    log = ProblemLog(str(path))
    data = read_toml(path, "practice profile", log)
    check_keys(log, data, _KEYS)
    staff = take_number(log, data, "staff_fte", None)
    if staff is None:
        staff = take_number(log, data, "staff", DEFAULT_STAFF_FTE)
    for key in ("name", "ods_code", "notes"):
        if key in data and not isinstance(data[key], str):
            log.error(None, key, data[key], f'expected text in quotes, e.g. {key} = "..."')
    practice = dict(
        name=str(data.get("name", default_name)),
        ods_code=str(data.get("ods_code", "")),
        list_size=int(take_number(log, data, "list_size", DEFAULT_LIST_SIZE) or 0),
        staff_fte=float(staff),
        annual_income=float(take_number(log, data, "annual_income", DEFAULT_INCOME)),
        interruption_cost_per_hour=float(take_number(log, data, "interruption_cost_per_hour",
                                                     DEFAULT_INTERRUPTION_COST_PER_HOUR, high=1e7)),
        sites=int(take_number(log, data, "sites", 1, low=1) or 1),
        illustrative=take_bool(log, data, "illustrative", False),
        notes=str(data.get("notes", "")),
        source=str(path),
        warnings=tuple(log.warnings),
    )
    log.raise_if_errors()
    return Practice(**practice)
