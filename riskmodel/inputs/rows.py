"""One row of a register read into a :class:`~riskmodel.inputs.risks.Risk`, every problem logged
with its row and column: identity, frequency (a rate, a range or a likelihood), loss components
(ranges or an impact level with the category's template), controls and common shocks.
"""
from __future__ import annotations

import re
from typing import Any

from ..io.errors import ProblemLog
from ..io.parsing import cell_text, clean_text, invisible_characters, is_blank, number_hint, parse_bool, parse_list, parse_number
from .columns import (DEFAULT_SHOCK_MULTIPLIER, DETAIL_COLUMNS, IMPACT_WORDS, LIKELIHOOD_WORDS, MAX_EVENTS_PER_YEAR,
                      MAX_RANGE_RATIO, MAX_SHOCK_MULTIPLIER, MAXIMA, SHOCK_EFFECTS)
from .components import BUSINESS_INTERRUPTION, CATEGORIES, COLUMN_PREFIX, COMPONENTS, OWNERS
from .controls import Control, Scales
from .distributions import LogNormal, mean_above_high
from .risks import ComponentRange, Frequency, Risk

_CONTROL_ITEM = re.compile(r"^(?P<name>[a-z0-9_ .-]+?)\s*(\((?P<status>[a-z _-]+)\))?$")


def parse_row(values: dict, n: int, log: ProblemLog, controls: dict[str, Control], scales: Scales,
              status: dict[str, tuple[bool, int]]) -> Risk | None:
    before = len(log.errors)
    risk_id = clean_id(values.get("risk_id"))
    if not risk_id:
        log.error(n, "risk_id", None, "expected a risk_id (a short unique code such as R01)")
    else:
        hidden = invisible_characters(str(values.get("risk_id")).strip())
        if hidden:
            log.warn(n, "risk_id", values.get("risk_id"),
                     f"the risk_id holds invisible or look-alike characters ({', '.join(hidden)}); read as "
                     f"'{risk_id}': retype it to remove them")
    title = cell_text(values.get("title"))
    if not title:
        log.error(n, "title", None, "expected a short title describing the risk")
    category = cell_text(values.get("category")).lower().replace(" ", "_")
    if category not in CATEGORIES:
        log.error(n, "category", values.get("category"), f"expected one of: {', '.join(CATEGORIES)}")
    owner = cell_text(values.get("system_owner")).lower()
    if owner not in OWNERS:
        log.error(n, "system_owner", values.get("system_owner"), f"expected one of: {', '.join(OWNERS)}")

    frequency = _frequency(values, n, log, scales)
    components = _components(values, n, log, scales, category if category in CATEGORIES else None)

    names = _controls(values, n, log, controls, status)
    common_shock, multiplier, targets, effect = _shock(values, n, log)
    tags = tuple(t.lower() for t in parse_list(values.get("tags")))
    details = tuple((c, cell_text(values.get(c))) for c in DETAIL_COLUMNS if not is_blank(values.get(c)))
    if len(log.errors) > before or frequency is None or components is None:
        return None
    if not components:
        log.warn(n, None, None, "this risk has no loss components filled in, so it adds nothing to the losses")
    return Risk(risk_id, title, category, owner, frequency, tuple(components), tuple(names),
                common_shock, multiplier, targets, tags, details, n,
                effect if effect in SHOCK_EFFECTS else "concentrate")


def _controls(values: dict, n: int, log: ProblemLog, controls: dict[str, Control],
              status: dict[str, tuple[bool, int]]) -> list[str]:
    """The controls named on row ``n`` (cell ``controls``), recording each one's status (in place
    or planned, the same on every row) in ``status``."""
    names: list[str] = []
    for item in parse_list(values.get("controls")):
        m = _CONTROL_ITEM.match(item.strip().lower())
        if not m:
            log.error(n, "controls", item, "expected control names separated by ';', each optionally "
                      "followed by (planned), e.g. 'mfa; offline_backups (planned)'")
            continue
        name = m["name"].strip().replace(" ", "_").replace("-", "_")
        state = (m["status"] or "in place").replace("_", " ").replace("-", " ").strip()
        if name not in controls:
            log.error(n, "controls", item, f"unknown control; expected one of: {', '.join(sorted(controls))} "
                      "(or add it to a controls.csv beside the register)")
            continue
        if state not in ("planned", "in place"):
            log.error(n, "controls", item, "expected the status '(planned)' or '(in place)'")
            continue
        in_place = state == "in place"
        if name in status and status[name][0] != in_place:
            log.error(n, "controls", item, f"control '{name}' is marked "
                      f"{'in place' if status[name][0] else 'planned'} on row {status[name][1]}; "
                      "a control is either in place or planned for the whole practice")
            continue
        status.setdefault(name, (in_place, n))
        if name not in names:
            names.append(name)
    return names


def _shock(values: dict, n: int, log: ProblemLog) -> tuple[bool, float, tuple[str, ...], str]:
    """Row ``n``'s common-shock cells: whether it is one, its multiplier, targets and effect."""
    try:
        common_shock = parse_bool(values.get("common_shock"))
    except ValueError:
        log.error(n, "common_shock", values.get("common_shock"), "expected yes or no")
        common_shock = False
    multiplier = 1.0
    if common_shock:
        multiplier = DEFAULT_SHOCK_MULTIPLIER
        if not is_blank(values.get("shock_multiplier")):
            m = _number(log, n, "shock_multiplier", values.get("shock_multiplier"), "expected a number",
                        MAX_SHOCK_MULTIPLIER, "(times likelier)")
            if m is not None and m < 1:
                log.error(n, "shock_multiplier", values.get("shock_multiplier"),
                          "expected a multiplier of at least 1 (how many times likelier other risks become)")
            elif m is not None:
                multiplier = m
    elif not is_blank(values.get("shock_multiplier")):
        log.warn(n, "shock_multiplier", values.get("shock_multiplier"),
                 "ignored because common_shock is not 'yes'")
    targets = tuple(clean_id(t) for t in parse_list(values.get("shock_targets")))
    effect = cell_text(values.get("shock_effect")).strip().lower() or "concentrate"
    if effect not in SHOCK_EFFECTS:
        log.error(n, "shock_effect", values.get("shock_effect"),
                  "expected 'concentrate' (the default: other risks' rates stay their long-run averages) "
                  "or 'add' (a shock year adds events on top of them)")
    elif not common_shock and not is_blank(values.get("shock_effect")):
        log.warn(n, "shock_effect", values.get("shock_effect"), "ignored because common_shock is not 'yes'")
    return common_shock, multiplier, targets, effect


def clean_id(value: Any) -> str:
    """A risk_id as compared: NFKC-normalised (fullwidth digits, non-breaking spaces), invisible
    characters (zero-width spaces) removed, spaces trimmed; so look-alikes are one id."""
    return " ".join(cell_text(value).split())


def _number(log: ProblemLog, row: int, column: str, value: Any, expected: str = "expected a number",
            maximum: float | None = None, unit: str = "") -> float | None:
    try:
        x = parse_number(value)
    except (ValueError, TypeError) as exc:
        log.error(row, column, value, expected + number_hint(exc))
        return None
    if x < 0:
        log.error(row, column, value, "expected a number of at least 0 (no negatives)")
        return None
    if maximum is not None and x > maximum:
        log.error(row, column, value, f"expected at most {maximum:,.0f} {unit}".rstrip()
                  + "; check for a typing slip (an extra zero or a misplaced decimal point)")
        return None
    return x


def _pair(log: ProblemLog, row: int, values: dict, prefix: str, unit: str) -> tuple[float, float] | None | str:
    """Read ``<prefix>_low``/``<prefix>_high``; 'blank' when both are empty."""
    lo_c, hi_c = f"{prefix}_low", f"{prefix}_high"
    lo_v, hi_v = values.get(lo_c), values.get(hi_c)
    if is_blank(lo_v) and is_blank(hi_v):
        return "blank"
    if is_blank(lo_v) or is_blank(hi_v):
        missing = lo_c if is_blank(lo_v) else hi_c
        log.error(row, missing, None, f"expected a value here because {hi_c if missing == lo_c else lo_c} "
                  f"is filled in: give both ends of the 90% range ({unit}), or neither")
        return None
    top = MAXIMA.get(unit)
    lo = _number(log, row, lo_c, lo_v, f"expected a number ({unit})", top, unit)
    hi = _number(log, row, hi_c, hi_v, f"expected a number ({unit})", top, unit)
    if lo is None or hi is None:
        return None
    if lo > hi:
        log.error(row, lo_c, lo_v, f"expected {lo_c} at most {hi_c} ({cell_text(hi_v)}): "
                  "low is the 5th percentile, high the 95th")
        return None
    if lo == 0 and hi > 0:
        log.error(row, lo_c, lo_v, "expected a low above 0 (a lognormal range cannot start at 0); "
                  "use a small positive value such as 1")
        return None
    if lo > 0 and hi / lo > MAX_RANGE_RATIO:
        log.error(row, lo_c, lo_v, f"expected a range whose high is at most {MAX_RANGE_RATIO:,.0f} times its "
                  f"low, got {cell_text(lo_v)}-{cell_text(hi_v)}; check for a typing slip")
        return None
    if hi > 0 and mean_above_high(lo, hi):
        log.warn(row, hi_c, hi_v, f"the range {cell_text(lo_v)}-{cell_text(hi_v)} is so wide that its mean "
                 f"({LogNormal.from_range(lo, hi).mean():,.0f}) lies above its high value; check for a typing slip")
    return (lo, hi)


def _level(value: Any, words: dict[str, int]) -> float | None:
    """A 1-5 level: a number, or a word of the NHS 5x5 risk matrix (``likely``, ``major``)."""
    if isinstance(value, str):
        key = " ".join(clean_text(value).strip().lower().replace("_", " ").replace("-", " ").split())
        if key in words:
            return float(words[key])
    try:
        return parse_number(value)
    except (ValueError, TypeError):
        return None


def _frequency(values: dict, n: int, log: ProblemLog, scales: Scales) -> Frequency | None:
    given = [k for k, cols in (("events_per_year", ("events_per_year",)),
                               ("events_low/events_high", ("events_low", "events_high")),
                               ("likelihood", ("likelihood",)))
             if any(not is_blank(values.get(c)) for c in cols)]
    if not given:
        log.error(n, "events_per_year", None, "expected the expected number of events per year "
                  "(or events_low/events_high, or a likelihood from 1 to 5)")
        return None
    if len(given) > 1:
        log.error(n, "events_per_year", values.get("events_per_year"),
                  f"expected one way of giving frequency, but found {' and '.join(given)}; keep one")
        return None
    if given[0] == "events_per_year":
        rate = _number(log, n, "events_per_year", values.get("events_per_year"),
                       "expected a number of events per year, such as 0.5", MAX_EVENTS_PER_YEAR, "events per year")
        return None if rate is None else Frequency(rate)
    if given[0] == "likelihood":
        level = _scale_level(log, n, "likelihood", values.get("likelihood"), LIKELIHOOD_WORDS, scales.likelihood)
        if level is None:
            return None
        lo, hi = scales.likelihood[level]
        return Frequency.from_range(lo, hi, f"likelihood {level}")
    pair = _pair(log, n, values, "events", "events per year")
    if pair is None or pair == "blank":
        return None
    lo, hi = pair
    if hi == 0:
        return Frequency(0.0)
    return Frequency.from_range(lo, hi, "events_low/events_high")


def _scale_level(log: ProblemLog, n: int, column: str, value, words: dict, scale: dict) -> int | None:
    """A likelihood or impact cell: a level of the practice's scale, or a word of the NHS 5x5 matrix."""
    level = _level(value, words)
    if level is None or not float(level).is_integer() or int(level) not in scale:
        log.error(n, column, value, f"expected a whole number from the {column} scale: "
                  f"{', '.join(map(str, sorted(scale)))}, or a word of the NHS 5x5 matrix: "
                  + ", ".join(f"{w} ({k})" for w, k in words.items()))
        return None
    return int(level)


def _components(values: dict, n: int, log: ProblemLog, scales: Scales, category: str | None):
    out: list[ComponentRange] = []
    ok = True
    for comp in COMPONENTS:
        prefix = COLUMN_PREFIX[comp]
        unit = "hours" if comp == BUSINESS_INTERRUPTION else "pounds per event"
        pair = _pair(log, n, values, prefix, unit)
        prob_v = values.get(f"{prefix}_prob")
        prob = 1.0
        if not is_blank(prob_v):
            try:
                prob = parse_number(prob_v)
                hint = ""
            except (ValueError, TypeError) as exc:
                prob, hint = None, number_hint(exc)
            if prob is None or not 0 <= prob <= 1:
                log.error(n, f"{prefix}_prob", prob_v, "expected a probability from 0 to 1 (or a percentage)"
                          + hint)
                ok = False
                continue
        if pair is None:
            ok = False
            continue
        if pair == "blank":
            if not is_blank(prob_v):
                log.warn(n, f"{prefix}_prob", prob_v, f"ignored because {prefix}_low/{prefix}_high are empty")
            continue
        lo, hi = pair
        if hi > 0 and prob > 0:
            out.append(ComponentRange(comp, lo, hi, prob))
    impact_v = values.get("impact")
    if not is_blank(impact_v):
        level = _scale_level(log, n, "impact", impact_v, IMPACT_WORDS, scales.impact)
        if level is None:
            return None
        if out:
            log.warn(n, "impact", impact_v, "ignored because loss ranges are given for this risk")
        elif category is not None:
            mult = scales.impact[int(level)]
            if category not in scales.templates:
                log.error(n, "impact", impact_v, f"no impact template for category '{category}'; "
                          "give loss ranges or add the category to impact_templates.csv")
                return None
            out = [ComponentRange(c, lo * mult, hi * mult, p) for c, lo, hi, p in scales.templates[category]]
    return out if ok else None
