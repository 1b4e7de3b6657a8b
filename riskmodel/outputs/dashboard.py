"""The partners' dashboard: move controls and policy terms and see the effect at once.

:class:`Dashboard` holds the widgets and the logic; ``notebooks/dashboard.ipynb`` only shows it
(in JupyterLab, or as an app with ``riskmodel dashboard``, served by Voilà). Every change is
priced on the same simulated years:

* a policy change re-applies the terms to the events already simulated (no new simulation);
* a control toggle re-realises the same potential events with the control in place or not
  (common random numbers), so the change shown is the control's effect, not noise.

The callbacks only read widget values and write widget values, so tests drive the dashboard by
setting ``widget.value`` and reading :attr:`Dashboard.numbers`, with no browser.
"""
from __future__ import annotations

import html
import math
import os
import re
import gc
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..inputs.components import COMPONENT_LABELS, COMPONENTS
from ..inputs.contracts import Contracts, load_contracts
from ..analysis.cache import Cache
from ..analysis.engine import DEFAULT_SEED, DEFAULT_TRIALS, ScenarioModel, gap_table
from ..io.errors import InputError
from ..io.formatting import money
from ..coverage.invariants import check_allocation
from ..simulation.memory import keep_freed_memory
from ..inputs.policy import Policy, Section, load_policy
from ..inputs.register import Register, load_register
from ..io.locations import REGISTER_SUFFIXES, beside, find_policy
from .dashboard_view import exceedance_svg, headline_html, risks_html
from .svgcharts import who_pays_svg

QUARTER = re.compile(r"^\d{4}Q[1-4]$")
#: Trials the app simulates unless told otherwise (env ``RISKMODEL_TRIALS``).
APP_TRIALS = DEFAULT_TRIALS
#: Background warm-up of control toggles only up to this many trials (memory per scenario).
WARM_UP_MAX_TRIALS = 200_000
#: Seconds of quiet after an update before the warm-up starts (quick clicks go first).
WARM_UP_DELAY = 0.3


def find_practices(registers: str | Path) -> dict[str, dict[str, Path]]:
    """Practice folder name -> {quarter: register path}, for folders holding ``<YYYYQn>`` registers."""
    root = Path(registers)
    out: dict[str, dict[str, Path]] = {}
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        quarters = {}
        for f in sorted(d.iterdir()):
            if f.suffix.lower() in REGISTER_SUFFIXES and QUARTER.match(f.stem) and f.stem not in quarters:
                quarters[f.stem] = f
        if quarters:
            out[d.name] = dict(sorted(quarters.items()))
    return out


def default_registers() -> Path:
    """``$RISKMODEL_REGISTERS``, else ``registers/`` here or one folder up (a notebook's folder),
    else the example practices shipped with riskmodel."""
    env = os.environ.get("RISKMODEL_REGISTERS")
    if env:
        return Path(env)
    for candidate in (Path("registers"), Path("..") / "registers"):
        if candidate.is_dir():
            return candidate
    from ..io.shipped import shipped_dir

    try:
        return shipped_dir("examples")
    except FileNotFoundError:
        return Path("registers")


@dataclass
class Scenario:
    """What a practice and quarter bring to the dashboard: the simulated years and base terms."""

    register: Register
    policy: Policy
    contracts: Contracts
    model: ScenarioModel


#: The limit offered in the box when the practice's file has none (uninsured or unlimited): the
#: entry-level limit of the shipped examples (docs/sources.md: entry products offer £25k-£50k).
DEFAULT_LIMIT = 50_000.0


class Dashboard:
    """Widgets for one practice and quarter, re-priced on every change.

    Parameters
    ----------
    registers : path, optional
        Folder of practice folders (default: :func:`default_registers`).
    practice, quarter : str, optional
        Initial choice (default: the first practice, its latest quarter).
    trials, seed : int
        Simulated years (default 100,000) and seed; the same seed gives the same numbers.

    warm_up : bool, optional
        Prepare, in the background while the partner reads the screen, the scenario of each
        control toggled from the current state, so the next toggle only re-prices (default: on
        up to 200,000 trials; each prepared scenario holds its simulated events in memory).

    Attributes
    ----------
    numbers : dict
        The headline numbers as shown (floats, pounds or probabilities).
    elapsed : float
        Seconds the last update took, from the widget change to its output ready to write.
    """

    def __init__(self, registers: str | Path | None = None, practice: str | None = None,
                 quarter: str | None = None, *, trials: int | None = None, seed: int = DEFAULT_SEED,
                 warm_up: bool | None = None):
        import ipywidgets as w

        self._w = w
        keep_freed_memory()
        self.registers = Path(registers) if registers is not None else default_registers()
        self.catalogue = find_practices(self.registers)
        if not self.catalogue:
            raise FileNotFoundError(
                f"no practice registers found in {self.registers.resolve()}: expected folders holding "
                "quarterly registers named like 2026Q4.xlsx or 2026Q4.csv (see registers/README.md)")
        self.trials = int(trials or os.environ.get("RISKMODEL_TRIALS") or APP_TRIALS)
        self.seed = seed
        self.numbers: dict[str, float | None] = {}
        self.elapsed = 0.0
        self.updates = 0
        self.warm_up = self.trials <= WARM_UP_MAX_TRIALS if warm_up is None else warm_up
        self._generation = 0
        self._warmer: threading.Thread | None = None
        self._scenarios = Cache(1)        # (practice, quarter) -> Scenario: the one shown
        self._quiet = False
        self._loaded = False

        first = practice or next(iter(self.catalogue))
        if first not in self.catalogue:
            raise ValueError(f"no practice {first!r} in {self.registers}; choose from {sorted(self.catalogue)}")
        layout = w.Layout(width="auto")
        self.practice = w.Dropdown(options=list(self.catalogue), value=first, description="Practice",
                                   layout=layout)
        quarters = list(self.catalogue[first])
        self.quarter = w.Dropdown(options=quarters, value=quarter or quarters[-1], description="Quarter")
        style = {"description_width": "150px"}
        #: "uninsured" and "no aggregate limit" are explicit choices, never a limit of 0
        self.insured = w.Checkbox(value=True, indent=False, description="Insured: a cyber policy in force",
                                  layout=w.Layout(width="auto"))
        self.aggregate_limit = w.BoundedFloatText(value=DEFAULT_LIMIT, min=1, max=1e9, step=25_000,
                                                  description="Policy limit (£)", style=style)
        self.unlimited = w.Checkbox(value=False, indent=False, description="No aggregate limit (unlimited)",
                                    layout=w.Layout(width="auto"))
        self.excess = w.BoundedFloatText(min=0, max=1e7, step=500, description="Excess (£)", style=style)
        self.waiting_period = w.BoundedFloatText(min=0, max=24 * 30, step=1,
                                                 description="BI waiting period (h)", style=style)
        self.controls: dict[str, object] = {}
        self.sections: dict[str, object] = {}
        self.sublimits: dict[str, object] = {}
        #: the right-hand panel: headline, status line, charts and risks, written in one message
        #: per change (one widget update renders faster in the browser than five)
        self.view = w.HTML()
        self.html: dict[str, str] = {}
        self._controls_box = w.VBox()
        self._sections_box = w.VBox()

        self.practice.observe(self._on_practice, names="value")
        self.quarter.observe(self._on_quarter, names="value")
        for widget in (self.insured, self.unlimited, self.aggregate_limit, self.excess, self.waiting_period):
            widget.observe(self._on_change, names="value")

        terms = w.VBox([w.HTML("<b>Policy terms</b>"), self.insured, self.aggregate_limit, self.unlimited,
                        self.excess, self.waiting_period,
                        w.HTML("<b>Sections</b>: covered, and annual sublimit in £ (0 = no sublimit)"), self._sections_box])
        side = w.VBox([self.practice, self.quarter, w.HTML("<b>Controls in place</b>"), self._controls_box,
                       terms], layout=w.Layout(width="470px", flex="0 0 470px"))
        main = w.VBox([self.view], layout=w.Layout(flex="1 1 auto"))
        self.widget = w.HBox([side, main])
        self._load()
        gc.freeze()  # the app's long-lived objects out of full collections (a 40 ms pause mid-click)

    # -- loading a practice and quarter ------------------------------------------------------
    def scenario(self) -> Scenario:
        """The chosen practice and quarter's files and simulated years (the last one opened is kept)."""
        key = (self.practice.value, self.quarter.value)
        return self._scenarios.get(key, lambda: self._open(*key))

    def _open(self, practice: str, quarter: str) -> Scenario:
        path = self.catalogue[practice][quarter]
        from ..analysis.evidence import with_incident_log

        reg = with_incident_log(load_register(path))[0]      # as the reports read it
        pol_path = find_policy(path, quarter)
        pol = load_policy(pol_path, set(reg.controls)) if pol_path else Policy(name="No policy")
        con = load_contracts(beside(path, "contracts.toml"))
        return Scenario(reg, pol, con, ScenarioModel(reg, self.trials, self.seed, show_progress=False))

    def _load(self) -> None:
        """Show the chosen practice and quarter. Files that cannot be read show what to fix, and
        nothing of the practice shown before stays on screen (numbers, controls, terms)."""
        self._loaded = False
        try:
            sc = self.scenario()
        except InputError as exc:
            # a practice whose files are invalid: say what to fix, keep the others usable
            self._show_problem("need fixing", str(exc))
            return
        try:
            self._fill(sc)
            self._loaded = True
            self.update()
        except Exception as exc:
            self._loaded = False
            self._show_problem("could not be shown", f"{exc.__class__.__name__}: {exc}")

    def _show_problem(self, what: str, detail: str) -> None:
        self._generation += 1                      # stops the warm-up of the practice shown before
        self.numbers = {}
        self.html = {}
        self._quiet = True
        try:
            self._controls_box.children = ()
            self._sections_box.children = ()
            self.controls, self.sections, self.sublimits = {}, {}, {}
            for widget in (self.insured, self.aggregate_limit, self.unlimited, self.excess, self.waiting_period):
                widget.disabled = True             # no terms to try until the files are fixed
        finally:
            self._quiet = False
        self.view.value = (f"<div class='rm-error' style='color:#a00'><b>The files of "
                           f"{html.escape(self.practice.value)} ({html.escape(self.quarter.value)}) "
                           f"{what}:</b><pre style='white-space:pre-wrap'>{html.escape(detail)}</pre>"
                           "</div>")

    def _fill(self, sc: Scenario) -> None:
        """The controls and terms of a loaded scenario, written without re-pricing on each."""
        w = self._w
        reg, pol = sc.register, sc.policy
        self._quiet = True
        try:
            self.controls = {}
            for name in sorted(reg.control_status):
                ctrl = reg.controls[name]
                box = w.Checkbox(value=reg.control_status[name], indent=False, tooltip=ctrl.label,
                                 description=f"{ctrl.label} ({money(ctrl.annual_cost)} a year)",
                                 layout=w.Layout(width="auto"))
                box.observe(self._on_change, names="value")
                self.controls[name] = box
            self._controls_box.children = tuple(self.controls.values())
            self.insured.disabled = False
            self.insured.value = pol.insured
            self.unlimited.value = pol.unlimited
            # an uninsured or unlimited policy keeps a limit in the box to try (ticking "Insured")
            finite = 0 < pol.aggregate_limit < math.inf
            self.aggregate_limit.value = pol.aggregate_limit if finite else DEFAULT_LIMIT
            self._enable_terms()
            self.excess.value = pol.excess
            self.waiting_period.value = pol.waiting_period_hours
            self.sections, self.sublimits, rows = {}, {}, []
            for c in COMPONENTS:
                s = pol.section(c)
                cov = w.Checkbox(value=s.covered, indent=False, description=COMPONENT_LABELS[c],
                                 layout=w.Layout(width="210px"))
                sub = w.BoundedFloatText(value=s.sublimit or 0, min=0, max=1e9, step=5_000,
                                         tooltip="Annual sublimit (£); 0 = no sublimit. Untick the "
                                                 "section for no cover.",
                                         layout=w.Layout(width="120px"))
                cov.observe(self._on_change, names="value")
                sub.observe(self._on_change, names="value")
                self.sections[c], self.sublimits[c] = cov, sub
                rows.append(w.HBox([cov, sub]))
            self._sections_box.children = tuple(rows)
        finally:
            self._quiet = False

    def _on_practice(self, change) -> None:
        quarters = list(self.catalogue[change["new"]])
        self._quiet = True
        try:
            self.quarter.options = quarters
            self.quarter.value = quarters[-1]
        finally:
            self._quiet = False
        self._load()

    def _on_quarter(self, change) -> None:
        if not self._quiet:
            self._load()

    def _on_change(self, change) -> None:
        if change.get("owner") in (self.insured, self.unlimited):
            self._enable_terms()
        if not self._quiet and self._loaded:
            self.update()

    # -- reading the widgets -----------------------------------------------------------------
    def control_status(self) -> dict[str, bool]:
        return {name: bool(box.value) for name, box in self.controls.items()}

    def policy(self) -> Policy:
        """The practice's policy with the terms set in the widgets.

        "Insured" unticked is no cover (``cover=False``, as for an uninsured practice); ticked, the
        limit box (at least £1) or "No aggregate limit" gives the limit. A sublimit of 0 means no
        sublimit (``None``); a section without cover is unticked.
        """
        base = self.scenario().policy
        sections = {}
        for c in COMPONENTS:
            old = base.section(c)
            sub = float(self.sublimits[c].value)
            sections[c] = Section(covered=bool(self.sections[c].value), sublimit=sub if sub > 0 else None,
                                  excess=old.excess)
        terms = dict(excess=float(self.excess.value), waiting_period_hours=float(self.waiting_period.value),
                     sections=sections)
        if not self.insured.value:
            return base.with_terms(aggregate_limit=0.0, cover=False, **terms)
        limit = math.inf if self.unlimited.value else float(self.aggregate_limit.value)
        return base.with_terms(aggregate_limit=limit, cover=True, **terms)

    def _enable_terms(self) -> None:
        """Grey out the terms that do not apply (the limit when uninsured or unlimited)."""
        insured = bool(self.insured.value)
        self.aggregate_limit.disabled = not insured or bool(self.unlimited.value)
        for widget in (self.unlimited, self.excess, self.waiting_period):
            widget.disabled = not insured

    # -- pricing and display -----------------------------------------------------------------
    def update(self) -> None:
        """Re-price on the simulated years and write every output widget."""
        t0 = time.perf_counter()
        self._generation += 1              # the warm-up stops after the scenario it is preparing
        sc = self.scenario()
        policy, status = self.policy(), self.control_status()
        model = sc.model
        alloc = model.allocate(policy, sc.contracts, status, with_reasons=False)   # reasons: not shown
        check_allocation(alloc, f"the dashboard's pricing of {self.practice.value} {self.quarter.value}")
        gross = alloc.per_trial["gross"]
        retained = alloc.per_trial["retained"]
        n = model.trials
        insured = policy.insured
        q = np.quantile(np.stack([gross, retained]), [0.95, 0.99], axis=1)
        self.numbers = {
            "expected_annual_loss": float(gross.mean()),
            "one_in_20": float(q[0, 0]), "one_in_100": float(q[1, 0]),
            "retained_mean": float(retained.mean()), "retained_one_in_100": float(q[1, 1]),
            "insurer_mean": float(alloc.per_trial["insurer"].mean()),
            "contract_mean": float(alloc.per_trial["contract"].mean()),
            "prob_limit_exhausted": float(alloc.aggregate_exhausted.mean()) if insured else None,
            "controls_cost": float(sum(sc.register.controls[c].annual_cost for c, on in status.items() if on)),
        }
        html_parts = {"headline": headline_html(self.numbers, policy, self.trials),
                      "exceedance": exceedance_svg(gross, retained, policy),
                      "who_pays": who_pays_svg(gap_table(alloc, n)),
                      "risks": risks_html(sc.register, model.risk_profiles(status), alloc.by_risk["retained"] / n,
                                          self.trials)}
        self.elapsed = time.perf_counter() - t0
        self.updates += 1
        html_parts["status"] = (f"<div class='rm-status' data-update='{self.updates}' "
                                f"style='color:#666;font-size:85%;margin-bottom:8px'>{n:,} simulated years, "
                                f"seed {model.seed}; updated in {self.elapsed:.2f} s</div>")
        self.html = html_parts
        self.view.value = "".join(html_parts[k] for k in ("headline", "status", "exceedance", "who_pays", "risks"))
        self._start_warm_up(sc, status)

    # -- background warm-up of control toggles ----------------------------------------------
    def _start_warm_up(self, sc: Scenario, status: dict[str, bool]) -> None:
        self._generation += 1
        if not self.warm_up or not status:
            return
        gen = self._generation
        order = sorted(status, key=lambda c: -sc.model.events_affected(c))   # the slowest first
        self._warmer = threading.Thread(target=self._warm, args=(gen, sc, status, order), daemon=True,
                                        name="riskmodel-warm-up")
        self._warmer.start()

    def _warm(self, gen: int, sc: Scenario, status: dict[str, bool], order: list[str]) -> None:
        time.sleep(WARM_UP_DELAY)
        for name in order[: max(1, sc.model.max_scenarios - 2)]:
            if gen != self._generation:        # the partner changed something: stop
                return
            sc.model.prepare(sc.contracts, {**status, name: not status[name]}, threads=1)

    def wait_for_warm_up(self, timeout: float | None = None) -> None:
        """Block until the background warm-up has finished (benchmarks and tests)."""
        if self._warmer is not None:
            self._warmer.join(timeout)

__all__ = ["Dashboard", "find_practices", "default_registers"]
