"""The practice profile: ``practice.toml`` beside the register, or given with ``--practice``."""
from __future__ import annotations

import difflib
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
         "icb",         # the integrated care board the practice belongs to (portfolio views)
         "log_start",   # where the incident log starts (riskmodel/evidence.py)
         "suppliers"}   # the [suppliers] table: who provides each service (SUPPLIER_SERVICES)

#: What a practice depends on, as the keys of its ``[suppliers]`` table; each value names the
#: supplier of that service. Shared supplier events (``registers/portfolio.toml``) hit every
#: practice whose supplier of the event's service is the event's supplier. Not used by the
#: simulation of one practice: a practice's own supplier risks stay rows of its register.
SUPPLIER_SERVICES: dict[str, str] = {
    "clinical_system": "the GP clinical system (e.g. EMIS Web, TPP SystmOne)",
    "telephony": "the phone system (cloud telephony, call queueing)",
    "it_support": "IT support and desktop management (often commissioned by the ICB)",
    "website": "the practice website and its contact forms",
    "online_consultation": "online consultation and patient messaging",
    "patient_app": "the patient app (appointments, repeat prescriptions)",
    "pathology": "the pathology (blood test) laboratory and its results service",
    "payroll": "payroll and HR software",
}
#: Longest supplier name accepted (a typing slip or pasted paragraph otherwise).
MAX_SUPPLIER_NAME = 200


def supplier_key(name: str) -> str:
    """How supplier names are compared: spaces trimmed and collapsed, case ignored
    (``" emis  web"`` and ``"EMIS Web"`` are one supplier)."""
    return " ".join(str(name).split()).casefold()


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
    #: the integrated care board (ICB) the practice belongs to, for portfolio views; "" unknown
    icb: str = ""
    source: str = "defaults"
    #: who provides each service the practice depends on, ``(service, supplier)`` pairs sorted by
    #: service (``[suppliers]`` in practice.toml); hashable, so the practice stays frozen
    suppliers: tuple[tuple[str, str], ...] = ()
    #: warnings found while reading the file (e.g. not UTF-8)
    warnings: tuple[Problem, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.interruption_cost_per_hour < 0:
            raise ValueError("interruption_cost_per_hour must be at least 0")
        pairs = tuple(sorted((str(k), str(v)) for k, v in dict(self.suppliers).items()))
        for service, name in pairs:
            if service not in SUPPLIER_SERVICES:
                raise ValueError(f"unknown supplier service {service!r}; expected one of: "
                                 f"{', '.join(SUPPLIER_SERVICES)}")
            if not name.strip():
                raise ValueError(f"the supplier of {service} must be a name, not blank")
        object.__setattr__(self, "suppliers", pairs)

    def supplier(self, service: str) -> str | None:
        """The supplier of ``service`` (a key of :data:`SUPPLIER_SERVICES`), or ``None`` when the
        profile does not say."""
        if service not in SUPPLIER_SERVICES:
            raise KeyError(f"unknown supplier service {service!r}; expected one of: {', '.join(SUPPLIER_SERVICES)}")
        return dict(self.suppliers).get(service)

    def uses(self, service: str, supplier: str) -> bool:
        """True when the practice's supplier of ``service`` is ``supplier`` (compared by
        :func:`supplier_key`)."""
        mine = self.supplier(service)
        return mine is not None and supplier_key(mine) == supplier_key(supplier)


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
    for key in ("name", "ods_code", "notes", "icb"):
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
        icb=" ".join(str(data.get("icb", "")).split()),
        suppliers=_take_suppliers(log, data),
        source=str(path),
        warnings=tuple(log.warnings),
    )
    log.raise_if_errors()
    return Practice(**practice)


def _take_suppliers(log: ProblemLog, data: dict) -> tuple[tuple[str, str], ...]:
    """The ``[suppliers]`` table: known services only (a typo is an error with the nearest known
    service), each naming its supplier in non-empty text."""
    raw = data.get("suppliers", {})
    if not isinstance(raw, dict):
        log.error(None, "suppliers", raw, 'expected a [suppliers] table at the end of the file, e.g. '
                  '[suppliers] then clinical_system = "EMIS Web" on the next line')
        return ()
    out = []
    for service, value in raw.items():
        key = f"suppliers.{service}"
        if service not in SUPPLIER_SERVICES:
            close = difflib.get_close_matches(str(service), list(SUPPLIER_SERVICES), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            if service in _KEYS:
                hint = (f"'{service}' belongs above the [suppliers] line (every key after it is read as a "
                        "service): move [suppliers] to the end of the file; ")
            log.error(None, key, value, f"unknown service; {hint}expected one of: {', '.join(SUPPLIER_SERVICES)}")
            continue
        if not isinstance(value, str) or not value.strip():
            log.error(None, key, value, f'expected the supplier\'s name in quotes, e.g. {service} = "Name of supplier"')
            continue
        name = " ".join(value.split())
        if len(name) > MAX_SUPPLIER_NAME:
            log.error(None, key, name[:40] + "...", f"expected a supplier name of at most {MAX_SUPPLIER_NAME} characters")
            continue
        out.append((service, name))
    return tuple(sorted(out))
