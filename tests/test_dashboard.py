"""The partners' dashboard: widget callbacks without a browser, then the app in Debian's chromium."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from riskmodel.dashboard import Dashboard, find_practices  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGISTERS = ROOT / "registers"
ARTIFACTS = ROOT / "test-artifacts"
TRIALS = 8_000


@pytest.fixture(scope="module")
def dash():
    return Dashboard(REGISTERS, "meadowbank-average", "2026Q4", trials=TRIALS, seed=7)


def test_finds_every_practice_and_quarter():
    found = find_practices(REGISTERS)
    assert set(found) == {"riverside-rural", "meadowbank-average", "northgate-multisite"}
    assert all(list(q) == ["2026Q3", "2026Q4"] for q in found.values())


def test_missing_registers_folder_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="2026Q4.xlsx"):
        Dashboard(tmp_path / "nowhere", trials=100)


def test_every_control_put_in_place_never_raises_expected_loss(dash):
    for name, box in dash.controls.items():
        box.value = False
        before = dash.numbers["expected_annual_loss"]
        box.value = True
        after = dash.numbers["expected_annual_loss"]
        assert after <= before, name


def test_controls_change_the_shown_loss(dash):
    base = dash.numbers["expected_annual_loss"]
    for box in dash.controls.values():
        box.value = False
    worst = dash.numbers["expected_annual_loss"]
    assert worst > base
    assert "£" in dash.html["headline"] and f"{worst:,.0f}" in dash.html["headline"].replace("£", "")


def test_higher_limit_never_raises_retained(dash):
    dash.excess.value = 1_000
    shown = []
    for limit in (10_000, 50_000, 100_000, 250_000, 1_000_000):
        dash.aggregate_limit.value = limit
        shown.append((dash.numbers["retained_mean"], dash.numbers["retained_one_in_100"],
                      dash.numbers["prob_limit_exhausted"]))
    for (r0, q0, p0), (r1, q1, p1) in zip(shown, shown[1:]):
        assert r1 <= r0 + 1e-9 and q1 <= q0 + 1e-9 and p1 <= p0
    assert shown[-1][0] < shown[0][0]


def test_higher_excess_and_dropped_section_never_lower_retained(dash):
    dash.aggregate_limit.value = 250_000
    dash.excess.value = 0
    r0 = dash.numbers["retained_mean"]
    dash.excess.value = 10_000
    r1 = dash.numbers["retained_mean"]
    assert r1 > r0
    ins = dash.numbers["insurer_mean"]
    dash.sections["incident_response"].value = False
    assert dash.numbers["insurer_mean"] < ins
    assert dash.numbers["retained_mean"] > r1
    dash.sections["incident_response"].value = True
    dash.waiting_period.value = 0
    r2 = dash.numbers["retained_mean"]
    dash.waiting_period.value = 48
    assert dash.numbers["retained_mean"] >= r2


def test_sublimit_caps_what_the_section_pays(dash):
    dash.aggregate_limit.value = 1_000_000
    dash.sublimits["business_interruption"].value = 0
    r0 = dash.numbers["retained_mean"]
    dash.sublimits["business_interruption"].value = 1_000
    assert dash.numbers["retained_mean"] > r0


def test_same_seed_same_numbers_and_practice_switch():
    a = Dashboard(REGISTERS, "riverside-rural", trials=3_000, seed=3)
    b = Dashboard(REGISTERS, "riverside-rural", trials=3_000, seed=3)
    assert a.numbers == b.numbers
    assert a.numbers["prob_limit_exhausted"] is None          # the uninsured example
    assert "no policy" in a.html["headline"]
    a.practice.value = "northgate-multisite"
    assert a.quarter.value == "2026Q4"
    assert a.numbers["prob_limit_exhausted"] is not None
    assert set(a.controls) == set(a.scenario().register.control_status)
    a.quarter.value = "2026Q3"
    assert a.scenario().register.path.endswith("2026Q3.xlsx")


def test_risk_table_shows_how_often_and_what_a_year_it_happens_costs(dash):
    risks = dash.html["risks"]
    assert "Chance in a year" in risks and "A year it happens costs" in risks
    assert "1-in-100" not in risks                      # a rare risk's 1-in-100 year would read £0
    profiles = dash.scenario().model.risk_profiles(dash.control_status())
    rare = min(profiles, key=lambda p: p["prob_event"])
    assert rare["prob_event"] < 0.1 and "1 in " in risks
    assert dash.html["exceedance"].count("rm-xtick") >= 3 and "£0<" not in dash.html["exceedance"]


def test_dashboard_uses_the_reports_charts_and_colours(dash):
    from riskmodel.colours import PAYER_COLOURS
    assert "rm-chart rm-lec" in dash.html["exceedance"] and "rm-chart rm-who-pays" in dash.html["who_pays"]
    assert f"fill='{PAYER_COLOURS['insurer']}'><title>Insurer" in dash.html["who_pays"]
    assert f"stroke='{PAYER_COLOURS['retained']}'" in dash.html["exceedance"]


def test_an_impossible_split_is_refused_before_anything_is_shown(dash, monkeypatch):
    import riskmodel.dashboard as mod

    shown = dash.view.value

    def refuse(alloc, where):
        raise ValueError(f"impossible split in {where}")

    monkeypatch.setattr(mod, "check_allocation", refuse)
    with pytest.raises(ValueError, match="meadowbank-average 2026Q4"):
        dash.excess.value = dash.excess.value + 100
    assert dash.view.value == shown


def test_background_warm_up_prepares_toggles_and_changes_no_number():
    cold = Dashboard(REGISTERS, "northgate-multisite", trials=4_000, seed=5, warm_up=False)
    warm = Dashboard(REGISTERS, "northgate-multisite", trials=4_000, seed=5, warm_up=True)
    warm.wait_for_warm_up(120)
    model = warm.scenario().model
    assert len(model._splits) >= min(len(warm.controls), model.max_scenarios - 2)   # neighbours ready
    assert len(cold.scenario().model._splits) == 1
    for name in ("mfa", "misdirected_email_checks"):
        cold.controls[name].value = not cold.controls[name].value
        warm.controls[name].value = not warm.controls[name].value
        assert warm.numbers == cold.numbers
    warm.wait_for_warm_up(120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
def test_app_in_a_real_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it as root")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    app = subprocess.Popen([sys.executable, "-m", "riskmodel.cli", "dashboard", "--port", str(port), "--no-browser",
                            "--trials", "20000", "--registers", str(REGISTERS)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
                           start_new_session=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert app.poll() is None, app.stdout.read()
            time.sleep(0.5)
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1300, "height": 1500})
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            eal = page.locator(".rm-card[data-metric='eal'] .rm-value")
            kept = page.locator(".rm-card[data-metric='retained'] .rm-value")
            eal.wait_for(timeout=120_000)
            text = page.inner_text("body")
            assert "import" not in text and "Dashboard(" not in text       # no code shown
            first_eal = eal.inner_text()
            assert first_eal.startswith("£")

            # put a planned control in place: the expected annual loss changes
            planned = page.locator(".widget-checkbox input[type=checkbox]:not(:checked)").first
            planned.check()
            page.wait_for_function(
                "([sel, old]) => document.querySelector(sel).innerText !== old",
                arg=[".rm-card[data-metric='eal'] .rm-value", first_eal], timeout=30_000)
            second_kept = kept.inner_text()

            # raise the policy limit: what the practice keeps changes
            limit = page.locator(".widget-text", has_text="Policy limit").locator("input")
            limit.fill("1000000")
            limit.press("Enter")
            page.wait_for_function(
                "([sel, old]) => document.querySelector(sel).innerText !== old",
                arg=[".rm-card[data-metric='retained'] .rm-value", second_kept], timeout=30_000)
            assert page.locator(".rm-card[data-metric='exhausted']").inner_text().find("£1,000,000") >= 0
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            browser.close()
    finally:
        os.killpg(app.pid, signal.SIGTERM)      # the server and the kernels it started
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)


def test_a_practice_with_bad_files_says_what_to_fix_and_the_others_still_work(tmp_path):
    import shutil

    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "riverside-rural")
    shutil.copytree(REGISTERS / "riverside-rural", regs / "aaa-broken")
    text = (regs / "aaa-broken" / "2026Q4.csv").read_text().replace(",ransomware,", ",meteor-strike,", 1)
    (regs / "aaa-broken" / "2026Q4.csv").write_text(text)
    d = Dashboard(regs, trials=2_000, warm_up=False)              # the broken one comes first
    assert "need fixing" in d.view.value and "category" in d.view.value and "meteor-strike" in d.view.value
    assert d.numbers == {} and not d.controls
    d.aggregate_limit.value = 100_000                              # no crash while nothing is shown
    d.practice.value = "riverside-rural"
    assert d.numbers["expected_annual_loss"] > 0 and "rm-headline" in d.view.value


def test_uninsured_and_unlimited_are_explicit_choices(dash):
    """No cover is the "Insured" box unticked, never a limit of 0; "No aggregate limit" is
    unlimited cover: the limit never runs out and the practice keeps no more than with any limit."""
    dash.insured.value = True
    dash.unlimited.value = False
    dash.aggregate_limit.value = 1_000_000
    dash.update()                     # (an earlier test leaves a refused change unshown)
    capped = dash.numbers["retained_mean"]
    dash.unlimited.value = True
    assert dash.aggregate_limit.disabled and dash.policy().unlimited
    assert dash.numbers["prob_limit_exhausted"] == 0.0
    assert dash.numbers["retained_mean"] <= capped + 1e-9
    assert "unlimited" in dash.html["headline"] and "inf" not in dash.html["exceedance"]
    dash.insured.value = False
    assert not dash.policy().insured and dash.numbers["insurer_mean"] == 0.0
    assert dash.numbers["prob_limit_exhausted"] is None and dash.excess.disabled
    dash.insured.value = True
    dash.unlimited.value = False
    assert not dash.aggregate_limit.disabled and dash.aggregate_limit.min >= 1
