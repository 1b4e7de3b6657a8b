"""What to do next: the practice's actions ranked by the pounds a year they save it.

Every saving is the fall in the practice's expected retained loss (what it pays itself, after NHS
or supplier contracts and the insurer) computed on the *same* simulated years as the report
(common random numbers, :class:`riskmodel.analysis.engine.ScenarioModel`): a control's saving is
``retained(without it) - retained(with it)`` exactly, with everything else as it is.

Actions (JSON ``actions``, best first):

- ``compliance``: an ICO-reportable breach still open or reported late (the incident log's
  ``ico_72h``), "report the open breach to the ICO now"; always first (a legal duty, not a
  saving);
- ``control``: each planned control with a positive saving, at its annual cost;
- ``insurance``: a cyber policy when there is none; a limit that covers the 1-in-100 year when the
  current one does not (saving: the policy re-priced with that limit; cost: a quote is needed);
  a control the policy requires (a warranty) that the practice does not have in place (saving:
  re-priced with the control in place, which also cuts the losses themselves).

Order: compliance first, then by saving per pound of yearly cost, highest first; actions whose
cost is not known (a quote is needed) follow, by saving.

The budget plan (JSON ``budget_plan``) is the set of planned controls that saves the practice most
within a yearly budget. Each set is priced on the common simulated years as a whole, never by
adding single savings: controls interact (two that stop the same events save less together than
apart). With at most :data:`EXACT_UP_TO` planned controls and :data:`MAX_EXACT_SETS` affordable sets,
every affordable set is priced (exact);
beyond, a greedy search adds, one at a time, the control whose extra saving per pound is largest
with those already chosen.

The insurance advice is written once, from a report's results alone (:func:`insurance_advice`):
the quarterly report prices it, the advisors' review shows it as talking points.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, Iterable

from ..io.formatting import money, percent

#: Yearly budgets the report plans for.
BUDGETS = (500.0, 1_000.0, 2_500.0, 5_000.0)
#: Exact search over every affordable set of planned controls up to this many planned controls...
EXACT_UP_TO = 12
#: ...and this many affordable sets (each is priced on the simulated years: about 0.1 s at
#: 100,000 years, so the exact plan stays under half a minute); greedy beyond.
MAX_EXACT_SETS = 256
#: The order of kinds: compliance first.
KIND_ORDER = {"compliance": 0, "control": 1, "insurance": 1}

#: The few insurance words that must stay, explained for partners.
GLOSSARY = (
    ("Excess", "the part of each claim the practice pays itself before the insurer pays anything."),
    ("Sublimit", "a smaller limit inside the policy for one kind of cost (for example ransom payments)."),
    ("Waiting period", "the hours the practice's systems must be down before the insurer pays for lost time."),
    ("Aggregate limit", "the most the insurer pays in one policy year, for all claims together."),
)

#: Limits commonly offered to small firms (ABI: SME limits "generally £100k-£5m"; entry-level
#: £50k policies exist; docs/sources.md).
STANDARD_LIMITS = (50_000, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000)
#: A limit runs out too often at this chance a year.
EXHAUSTION_TO_RAISE = 0.01


def round_up(x: float) -> float:
    """A limit to suggest for an amount ``x``: the smallest of :data:`STANDARD_LIMITS` that covers
    it, else ``x`` rounded up to two significant figures."""
    if x <= 0:
        return 0.0
    for limit in STANDARD_LIMITS:
        if x <= limit:
            return float(limit)
    step = 10 ** max(0, math.floor(math.log10(x)) - 1)
    return float(math.ceil(x / step) * step)


def policy_limit(pol: dict) -> float:
    """A results.json policy's aggregate limit in pounds (``math.inf`` for "unlimited")."""
    limit = pol.get("aggregate_limit", 0.0)
    return math.inf if limit == "unlimited" else float(limit or 0.0)


def insured(r: dict) -> bool:
    pol = r.get("policy")
    if not pol:
        return False
    return bool(pol["insured"]) if "insured" in pol else policy_limit(pol) > 0


def limit_enough(r: dict) -> bool:
    """Whether an insured practice's limit meets a 1-in-100 year: the insured loss of such a year
    is within it *and* the limit runs out in fewer than 1 year in 100."""
    need, limit = r.get("limit_for_1_in_100"), policy_limit(r["policy"])
    return (need is None or need <= limit) and (r.get("prob_aggregate_exhausted") or 0.0) < EXHAUSTION_TO_RAISE


def _labels(r: dict) -> dict[str, str]:
    return {c["control"]: c["label"] for c in r.get("controls_ranking", []) if c.get("control") and c.get("label")}


def warranty_words(label: str, probability: float) -> str:
    """"without MFA the insurer may refuse every claim in a year", with how often it is assumed."""
    text = f"without {label} the insurer may refuse every claim in a year"
    if probability < 1:
        text += f" (this model assumes it does in {percent(probability, 0)} of such years)"
    return text


def insurance_advice(r: dict, labels: dict[str, str] | None = None) -> list[dict]:
    """The insurance advice for a practice, from its results alone (a report's ``results.json``).

    Each item: ``topic`` (``uninsured``, ``limit``, ``warranty``), ``title`` (a few fixed words),
    ``what`` (plain text; it may hold names from the inputs, so escape it to show it), ``action``
    (what to do, in a few words, put before ``what`` in the report's list), ``limit``
    (the suggested limit, else None) and ``control`` (the warranted control, else None). Used by
    the quarterly report (which prices each item) and the advisors' review (talking points)."""
    labels = {**_labels(r), **(labels or {})}
    kept, kept99 = r["retained"]["mean"], r["retained"]["p99"]
    out = []
    if not insured(r):
        suggested = round_up(kept99)
        out.append({"topic": "uninsured", "title": "No cyber policy.", "limit": suggested, "control": None,
                    "action": "Ask for quotes for a cyber policy.",
                    "what": f"The partners keep {money(kept)} a year on average and {money(kept99)} in a 1-in-100 "
                            f"year, with unlimited liability. A quote for a limit of about {money(suggested)} "
                            "would cover a 1-in-100 year."})
        return out
    pol = r["policy"]
    need, limit = r.get("limit_for_1_in_100"), policy_limit(pol)
    if need is not None and need > limit:
        suggested = round_up(need)
        out.append({"topic": "limit", "title": "Limit too low for a bad year.", "limit": suggested, "control": None,
                    "at_limit": False, "action": "Raise the policy limit.",
                    "what": f"A 1-in-100 year insured loss is {money(need)} against a limit of {money(limit)}: "
                            f"consider about {money(suggested)}."})
    elif limit < math.inf and not limit_enough(r):
        # the 1-in-100 year insured loss reaches the limit (often capped by an equal claim limit) and
        # the limit runs out in at least 1 year in 100: the next usual limit up
        suggested = next((float(x) for x in STANDARD_LIMITS if x > limit), round_up(2 * limit))
        p = r.get("prob_aggregate_exhausted") or 0.0
        out.append({"topic": "limit", "title": "Limit not enough for a bad year.", "limit": suggested,
                    "control": None, "at_limit": True, "action": "Raise the policy limit.",
                    "what": f"The {money(limit)} limit runs out in {percent(p)} of years, so it does not cover a "
                            f"1-in-100 year: consider about {money(suggested)}."})
    statuses = r.get("controls")
    if statuses is not None:
        p = float(pol.get("warranty_denial_probability", 1.0))
        for c in pol.get("requires_controls") or []:
            if statuses.get(c) != "in place" and p > 0:
                label = labels.get(c, c)
                out.append({"topic": "warranty", "title": "A control the policy requires is not in place.",
                            "limit": None, "control": c, "action": "",
                            "what": f"Put {label} in place: the policy requires it, and "
                                    f"{warranty_words(label, p)}."})
    return out


# ---- pricing on the common simulated years ------------------------------------------------------

def retained_mean(model, policy, contracts, status: dict[str, bool] | None = None) -> float:
    """The practice's expected retained loss a year under a control scenario (same simulated years)."""
    alloc = model.allocate(policy, contracts, status or {}, detail=False, with_reasons=False)
    return float(alloc.per_trial["retained"].mean())


def control_saving(model, policy, contracts, control: str) -> float:
    """Pounds a year the practice keeps less with ``control`` in place than without it, everything
    else as in the register: retained(without) - retained(with), on the same simulated years."""
    return (retained_mean(model, policy, contracts, {control: False})
            - retained_mean(model, policy, contracts, {control: True}))


def _per_pound(saving, cost):
    if saving is None or cost is None or cost <= 0:
        return None
    return saving / cost


def order_actions(actions: list[dict]) -> list[dict]:
    """Compliance first; then by saving per pound (highest first); then actions of unknown cost by
    their saving; ties by the larger saving, then the words."""
    def key(a):
        spp = a.get("saving_per_pound")
        known = spp is not None
        return (KIND_ORDER.get(a["kind"], 1), 0 if known else 1, -(spp or 0.0) if known else 0.0,
                -(a.get("retained_saving") or 0.0), a["what"])
    return sorted(actions, key=key)


def build_actions(summary: dict, register, policy, model, contracts) -> list[dict]:
    """JSON ``actions`` for a report (see the module docstring)."""
    actions = []
    ico = summary.get("ico_72h") or {}
    open_, late = int(ico.get("open") or 0), int(ico.get("late") or 0)
    if open_ > 0 or late > 0:
        parts = []
        if open_:
            parts.append(f"{open_} reportable breach{'es' if open_ != 1 else ''} not yet reported")
        if late:
            parts.append(f"{late} reported after the 72 hours the law allows")
        actions.append({"kind": "compliance", "control": None, "annual_cost": 0.0, "retained_saving": None,
                        "saving_per_pound": None,
                        "what": "Report the open breach to the ICO now (" + "; ".join(parts) + "): the law "
                                "requires a report within 72 hours of becoming aware of it."
                                if open_ else
                                "Review how breaches are reported: " + "; ".join(parts) + ". The law requires "
                                "a report to the ICO within 72 hours."})
    labels = {name: c.label for name, c in register.controls.items()}
    advice = insurance_advice(summary, labels)
    warranted = {a["control"] for a in advice if a["topic"] == "warranty"}
    for name, in_place in sorted(register.control_status.items()):
        if in_place or name in warranted:
            continue
        ctrl = register.controls[name]
        saving = control_saving(model, policy, contracts, name)
        if saving <= 0:
            continue
        actions.append({"kind": "control", "control": name, "what": f"Put {ctrl.label} in place.",
                        "annual_cost": float(ctrl.annual_cost), "retained_saving": saving,
                        "saving_per_pound": _per_pound(saving, ctrl.annual_cost)})
    base = retained_mean(model, policy, contracts) if advice else 0.0
    for a in advice:
        cost = saving = None
        if a["topic"] == "limit" and policy is not None:
            terms = {"aggregate_limit": a["limit"]}
            if policy.limit_any_one_claim is not None and policy.limit_any_one_claim >= policy.aggregate_limit:
                terms["limit_any_one_claim"] = a["limit"]
            saving = base - retained_mean(model, policy.with_terms(**terms), contracts)
        elif a["topic"] == "warranty":
            c = a["control"]
            ctrl = register.controls.get(c)
            cost = float(ctrl.annual_cost) if ctrl is not None else None
            if c in register.control_status:
                saving = base - retained_mean(model, policy, contracts, {c: True})
        actions.append({"kind": "insurance", "control": None, "what": f"{a['action']} {a['what']}".strip(),
                        "annual_cost": cost, "retained_saving": saving, "saving_per_pound": _per_pound(saving, cost)})
    return order_actions(actions)


# ---- budget plan ---------------------------------------------------------------------------------

def best_within(budgets: Iterable[float], costs: dict[str, float],
                retained: Callable[[frozenset], float], exact_up_to: int = EXACT_UP_TO) -> list[dict]:
    """The set of controls (names in ``costs``, with their yearly cost) that saves most within each
    budget; ``retained(set)`` is the expected retained loss with that set in place (the others as
    planned), priced on the common simulated years.

    Exact over every affordable set while there are at most ``exact_up_to`` controls; greedy by
    extra saving per pound beyond. Ties: the cheaper set, then the fewer controls, then by name."""
    budgets = sorted(float(b) for b in budgets)
    names = sorted(costs)
    memo: dict[frozenset, float] = {}

    def value(s: frozenset) -> float:
        if s not in memo:
            memo[s] = retained(s)
        return memo[s]

    base = value(frozenset())

    def cost(s) -> float:
        return float(sum(costs[c] for c in s))

    def better(a: frozenset, b: frozenset | None) -> bool:
        if b is None:
            return True
        ka = (value(a), cost(a), len(a), sorted(a))
        kb = (value(b), cost(b), len(b), sorted(b))
        return ka < kb

    plan = []
    affordable: list[frozenset] = []
    if len(names) <= exact_up_to:
        top = max(budgets, default=0.0)
        affordable = [frozenset(s) for k in range(len(names) + 1) for s in itertools.combinations(names, k)
                      if cost(s) <= top]
    if len(names) <= exact_up_to and len(affordable) <= MAX_EXACT_SETS:
        for b in budgets:
            best = None
            for s in affordable:
                if cost(s) <= b and better(s, best):
                    best = s
            plan.append(best or frozenset())
    else:
        for b in budgets:
            chosen = frozenset()
            while True:
                now = value(chosen)
                pick, pick_rate = None, 0.0
                for c in names:
                    if c in chosen or cost(chosen) + costs[c] > b:
                        continue
                    gain = now - value(chosen | {c})
                    if gain <= 0:
                        continue
                    rate = gain / costs[c] if costs[c] > 0 else math.inf
                    if pick is None or rate > pick_rate:
                        pick, pick_rate = c, rate
                if pick is None:
                    break
                chosen = chosen | {pick}
            plan.append(chosen)
    return [{"budget": b, "controls": sorted(s), "annual_cost": cost(s), "retained_saving": base - value(s)}
            for b, s in zip(budgets, plan)]


def build_budget_plan(register, policy, model, contracts, budgets: Iterable[float] = BUDGETS) -> list[dict]:
    """JSON ``budget_plan``: the best set of the register's planned controls for each budget."""
    planned = {name: float(register.controls[name].annual_cost)
               for name, in_place in register.control_status.items() if not in_place}
    return best_within(budgets, planned,
                       lambda s: retained_mean(model, policy, contracts, {c: True for c in s}))


__all__ = ["BUDGETS", "EXACT_UP_TO", "GLOSSARY", "insurance_advice", "warranty_words", "retained_mean",
           "control_saving", "order_actions", "build_actions", "best_within", "build_budget_plan", "round_up",
           "limit_enough", "insured", "policy_limit"]
