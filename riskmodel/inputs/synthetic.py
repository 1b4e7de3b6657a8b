"""A synthetic national book of practices: ``riskmodel portfolio --synthetic N``.

ILLUSTRATIVE: no real practice is in it. Each synthetic practice is one of the three shipped
example practices (their 2026Q4 registers, policies and contracts) resized to a list size drawn
from a documented distribution, in one of 42 ICBs, with suppliers drawn from documented shares
that cluster by ICB. Every rule and figure below is documented in docs/portfolio.md with its
source, or labelled an assumption there. Same ``n`` and ``seed``, same book.

How a template is resized (``f`` = list size / the template's list size):

- the template is the example practice nearest in list size (on a log scale): Riverside (3,500)
  below about 5,900 patients, Meadowbank (10,000) up to about 15,500, Northgate (24,000) above;
- per-patient amounts scale in proportion, ``× f``: the practice's staff, income and cost of an
  hour of interruption, and the register's notification and liability ranges (both driven by the
  number of patients whose records are involved);
- fixed amounts stay as they are: the register's incident response, data restoration,
  extortion, regulatory defence, fines, cyber crime and betterment ranges (a forensic firm, a
  ransom demand or a fine does not grow with the list), downtime hours, and event frequencies
  (the nearest template's frequencies already grow with practice size, as in the examples);
- the policy is drawn from the mix (no cover, entry-level £50k, larger £1m: the three examples'
  policies), its terms unchanged: limits are products bought, not resized.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from .portfolio import PORTFOLIO_FILE, Portfolio, PortfolioPractice
from .shared_events import SharedEvent, load_shared_events

#: GP practices in England, December 2024 (NHS England Digital; docs/sources.md).
NATIONAL_PRACTICES = 6277
#: Integrated care boards in England.
ICBS = 42
DEFAULT_SEED = 20261
TEMPLATE_QUARTER = "2026Q4"
#: The example practices used as templates (folders of the shipped examples).
TEMPLATES = ("riverside-rural", "meadowbank-average", "northgate-multisite")

#: List sizes: lognormal, its spread fitted to 22% of practices under 5,000 patients and 5% over
#: 20,000 (March 2022, GPonline from NHS Digital), its mean the 10,101 patients per practice of
#: June 2024 (LMC workforce data); clipped to the smallest and largest lists seen (about 1,000
#: and 85,000).
LIST_SIZE_MEAN = 10_101
LIST_SIZE_SIGMA = 0.5735
LIST_SIZE_RANGE = (1_000, 85_000)

#: Clinical systems' national shares: EMIS about 58-60% (2024), SystmOne about a third, others
#: (Vision and smaller) the rest (9% Vision in 2016). docs/sources.md.
CLINICAL_SYSTEMS = {"EMIS Web": 0.59, "TPP SystmOne": 0.33, "Vision": 0.08}
#: Regional clustering (assumption): each ICB's shares are drawn from a Dirichlet with these
#: national means and this concentration; 4 gives ICB EMIS shares from about 15% to 95%, as
#: "strongly clustered by region" (BMJ Open 2018) describes.
CLUSTERING = 4.0
#: ICB sizes (assumption): ICBs' shares of the practices vary lognormally with this spread
#: (real ICBs hold from a few dozen to several hundred practices).
ICB_SIZE_SIGMA = 0.5

#: The other services' markets: invented supplier names (ILLUSTRATIVE) and national shares
#: (assumptions). The shared events of registers/portfolio.toml name some of them.
NATIONAL_MARKETS: dict[str, dict[str, float]] = {
    "telephony": {"Skyline Telephony": 0.35, "Parish Phones": 0.25, "CallBridge Cloud": 0.25, "Surgery Voice": 0.15},
    "website": {"Brightsite Web": 0.4, "Practice Web Co": 0.3, "GP Site Builder": 0.2, "Clinic Pages": 0.1},
    "online_consultation": {"ConsultNow": 0.5, "AskFirst Online": 0.3, "eVisit Primary": 0.2},
    "patient_app": {"NHS App": 1.0},
    "payroll": {"Ledgerline Payroll": 0.5, "PayDesk HR": 0.3, "Primary Payroll Bureau": 0.2},
}
#: IT support is commissioned by ICB (assumption): each ICB has one of these providers, used by
#: this share of its practices; the rest use a local firm of their own ICB.
IT_PROVIDERS = ("Harbour IT Services", "County IT Partnership", "Northern Health IT", "Metro Primary Care IT",
                "Vale Digital Support", "Coastal IT Partnership")
IT_PROVIDER_SHARE = 0.9
#: Pathology is regional (assumption): ICB-01 sends its tests to Synnovis (as south-east London
#: does); the other ICBs share invented pathology networks, three ICBs each.
PATHOLOGY_FIRST = "Synnovis"
ICBS_PER_PATHOLOGY_NETWORK = 3

#: Policy mix by template (assumption, anchored on 62% of small businesses holding cyber cover,
#: CSBS 2025): the share with no cover, an entry-level policy (Meadowbank's £50k) and larger
#: limits (Northgate's £1m). Larger practices buy larger limits more often. Overall about 38%
#: uninsured.
POLICY_MIX: dict[str, dict[str, float]] = {
    "riverside-rural": {"riverside-rural": 0.45, "meadowbank-average": 0.45, "northgate-multisite": 0.10},
    "meadowbank-average": {"riverside-rural": 0.36, "meadowbank-average": 0.42, "northgate-multisite": 0.22},
    "northgate-multisite": {"riverside-rural": 0.25, "meadowbank-average": 0.30, "northgate-multisite": 0.45},
}
#: Register components scaled in proportion to list size (per-patient); the others are fixed.
PER_PATIENT_COMPONENTS = ("notification", "liability")

_STREAM_KIND = "synthetic-portfolio"


def _rng(seed: int, purpose: str):
    """An independent generator per purpose, as riskmodel/streams.py builds them."""
    import zlib

    import numpy as np

    def name_key(name: str) -> int:  # riskmodel.simulation.streams.name_key (the inputs stage may not import it)
        return zlib.crc32(name.encode("utf-8"))

    ss = np.random.SeedSequence(int(seed), spawn_key=(name_key(_STREAM_KIND), name_key(purpose)))
    return np.random.Generator(np.random.SFC64(ss))


def _load_templates(examples: Path) -> dict[str, PortfolioPractice]:
    """The three example practices for the template quarter, each loaded once (without its
    incident log: the synthetic practices have none)."""
    from .contracts import load_contracts
    from ..io.locations import beside, find_policy, find_quarter_register
    from .policy import load_policy
    from .register import load_register

    out = {}
    for name in TEMPLATES:
        path = find_quarter_register(examples / name, TEMPLATE_QUARTER)
        if path is None:
            raise FileNotFoundError(f"the example practice {name} has no {TEMPLATE_QUARTER} register in {examples}: "
                                    "reinstall riskmodel")
        reg = load_register(path)
        pol_path = find_policy(path, TEMPLATE_QUARTER)
        pol = load_policy(pol_path, set(reg.controls)) if pol_path else None
        out[name] = PortfolioPractice(name, reg, pol, load_contracts(beside(path, "contracts.toml")), "",
                                      int(reg.practice.list_size))
    return out


def default_events(examples: Path | None = None) -> tuple[SharedEvent, ...]:
    """The shared events of the shipped ``registers/portfolio.toml``."""
    from ..io.shipped import shipped_dir

    path = (examples or shipped_dir("examples")) / PORTFOLIO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"riskmodel's example shared events are missing ({path}): reinstall riskmodel, "
                                "or give the events")
    return load_shared_events(path)


def list_sizes(n: int, seed: int = DEFAULT_SEED):
    """``n`` list sizes (integers) from the documented lognormal, clipped to the range seen."""
    import numpy as np

    mu = math.log(LIST_SIZE_MEAN) - LIST_SIZE_SIGMA ** 2 / 2
    x = _rng(seed, "list_size").lognormal(mu, LIST_SIZE_SIGMA, n)
    return np.clip(np.rint(x), *LIST_SIZE_RANGE).astype(np.int64)


def icb_of(n: int, seed: int = DEFAULT_SEED):
    """Each practice's ICB (0..41): ICB sizes vary (assumption), every ICB has practices when
    ``n`` allows; practices are numbered ICB by ICB."""
    import numpy as np

    rng = _rng(seed, "icb")
    weights = rng.lognormal(0.0, ICB_SIZE_SIGMA, ICBS)
    weights /= weights.sum()
    k = min(ICBS, n)
    base = np.zeros(ICBS, dtype=np.int64)
    base[:k] = 1                                      # one each first, then the rest by weight
    counts = base + rng.multinomial(n - k, weights)
    return np.repeat(np.arange(ICBS), counts)


def clinical_systems(icb, seed: int = DEFAULT_SEED):
    """Each practice's clinical system (an index into :data:`CLINICAL_SYSTEMS`), clustered by ICB.

    Each ICB's propensities are drawn from a Dirichlet (national means, concentration
    :data:`CLUSTERING`); the national counts are then exactly the national shares (rounded):
    the practices with the highest EMIS scores (logit of their ICB's EMIS propensity plus
    logistic noise) get EMIS, and of the rest those with the highest SystmOne-against-other
    scores get SystmOne. So a practice's system follows its ICB, and the book's shares are
    the sources' whatever the draws."""
    import numpy as np

    rng = _rng(seed, "clinical_system")
    n = len(icb)
    shares = np.array(list(CLINICAL_SYSTEMS.values()))
    props = rng.dirichlet(CLUSTERING * shares, ICBS).clip(1e-6, 1 - 1e-6)
    counts = np.floor(shares * n + 0.5).astype(np.int64)
    counts[-1] = n - counts[:-1].sum()
    out = np.full(n, len(shares) - 1, dtype=np.int64)
    p_emis = props[icb, 0]
    score = np.log(p_emis / (1 - p_emis)) + rng.logistic(size=n)
    emis = np.argsort(-score, kind="stable")[:counts[0]]
    out[emis] = 0
    rest = np.setdiff1d(np.arange(n), emis)
    cond = (props[icb[rest], 1] / (props[icb[rest], 1] + props[icb[rest], 2])).clip(1e-6, 1 - 1e-6)
    score = np.log(cond / (1 - cond)) + rng.logistic(size=rest.size)
    out[rest[np.argsort(-score, kind="stable")[:counts[1]]]] = 1
    return out


def _draw(rng, names: list[str], shares, n: int) -> list[str]:
    import numpy as np

    idx = rng.choice(len(names), size=n, p=np.asarray(shares, dtype=float) / np.sum(shares))
    return [names[i] for i in idx]


def suppliers_table(icb, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """Every practice's ``[suppliers]``: clinical system clustered by ICB, IT support and
    pathology by ICB, the others from national markets (module constants)."""
    import numpy as np

    n = len(icb)
    systems = list(CLINICAL_SYSTEMS)
    columns: dict[str, list[str]] = {"clinical_system": [systems[i] for i in clinical_systems(icb, seed)]}
    rng = _rng(seed, "it_support")
    provider = rng.integers(0, len(IT_PROVIDERS), ICBS)
    own = rng.random(n) < IT_PROVIDER_SHARE
    columns["it_support"] = [IT_PROVIDERS[provider[c]] if o else f"Local IT support ({icb_name(c)})"
                             for c, o in zip(icb.tolist(), own.tolist())]
    columns["pathology"] = [PATHOLOGY_FIRST if c == 0 else
                            f"Pathology network {(c - 1) // ICBS_PER_PATHOLOGY_NETWORK + 1:02d}" for c in icb.tolist()]
    for service, market in NATIONAL_MARKETS.items():
        columns[service] = _draw(_rng(seed, service), list(market), list(market.values()), n)
    from .shared_events import SERVICES

    return [{s: columns[s][i] for s in SERVICES} for i in range(n)] if n else []


def icb_name(i: int) -> str:
    return f"ICB-{i + 1:02d}"


def nearest_template(list_size: int) -> str:
    """The example practice nearest in list size, on a log scale."""
    sizes = {"riverside-rural": 3_500, "meadowbank-average": 10_000, "northgate-multisite": 24_000}
    return min(sizes, key=lambda t: (abs(math.log(list_size / sizes[t])), t))


def resized_risks(risks: tuple, f: float) -> tuple:
    """A register's risks with the per-patient loss ranges multiplied by ``f`` (the others are
    the same objects)."""
    out = []
    for r in risks:
        if not any(c.component in PER_PATIENT_COMPONENTS for c in r.components):
            out.append(r)
            continue
        comps = tuple(replace(c, low=c.low * f, high=c.high * f) if c.component in PER_PATIENT_COMPONENTS else c
                      for c in r.components)
        out.append(replace(r, components=comps))
    return tuple(out)


def synthetic_portfolio(n: int = NATIONAL_PRACTICES, seed: int = DEFAULT_SEED,
                        events: tuple[SharedEvent, ...] | None = None, *,
                        examples: str | Path | None = None) -> Portfolio:
    """An illustrative national book of ``n`` practices (module docstring; docs/portfolio.md).

    Parameters
    ----------
    n : int
        Number of practices (default: England's 6,277 in December 2024).
    seed : int
        Same seed, same book.
    events : tuple of SharedEvent, optional
        The shared supplier events; by default those of the shipped ``registers/portfolio.toml``
        (pass ``()`` for none).
    examples : path, optional
        The folder of example practices used as templates (default: the shipped examples).

    Returns
    -------
    Portfolio
        Practices ``SYN-0001``... in ICBs ``ICB-01``..``ICB-42``; source ``"synthetic:N seed S"``.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"a synthetic book needs at least 1 practice, got {n!r}")
    n = int(n)
    from ..io.shipped import shipped_dir

    root = Path(examples) if examples is not None else shipped_dir("examples")
    if events is None:
        events = default_events(root)
    templates = _load_templates(root)
    icb = icb_of(n, seed)
    sizes = list_sizes(n, seed)
    suppliers = suppliers_table(icb, seed)
    policy_rng = _rng(seed, "policy")
    u = policy_rng.random(n)
    width = max(4, len(str(n)))
    mixes = {t: (list(mix), [sum(list(mix.values())[:k + 1]) for k in range(len(mix))]) for t, mix in POLICY_MIX.items()}
    practices = []
    for i in range(n):
        size = int(sizes[i])
        t = nearest_template(size)
        tmpl = templates[t]
        f = size / tmpl.list_size
        prof = tmpl.register.practice
        name = f"SYN-{i + 1:0{width}d}"
        practice = replace(prof, name=name, ods_code="", list_size=size, staff_fte=prof.staff_fte * f,
                           annual_income=prof.annual_income * f,
                           interruption_cost_per_hour=prof.interruption_cost_per_hour * f,
                           illustrative=True, icb=icb_name(int(icb[i])),
                           notes=f"synthetic: the {t} example resized to {size:,} patients",
                           source=f"synthetic:{t}", suppliers=tuple(suppliers[i].items()), warnings=())
        register = replace(tmpl.register, practice=practice, risks=resized_risks(tmpl.register.risks, f),
                           evidence=None)
        names, cum = mixes[t]
        pick = next((k for k, c in enumerate(cum) if u[i] < c), len(names) - 1)
        policy = templates[names[pick]].policy
        practices.append(PortfolioPractice(name, register, policy, tmpl.contracts, practice.icb, size))
    return Portfolio(tuple(practices), tuple(events), f"synthetic:{n} seed {seed}")


__all__ = ["NATIONAL_PRACTICES", "ICBS", "CLINICAL_SYSTEMS", "synthetic_portfolio", "default_events", "list_sizes",
           "icb_of", "clinical_systems", "suppliers_table", "nearest_template", "resized_risks", "icb_name"]
