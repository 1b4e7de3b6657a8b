"""The partners' dashboard: widget callbacks without a browser, then the app in Debian's chromium."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from riskmodel.outputs.dashboard import Dashboard, find_practices  # noqa: E402

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
    from riskmodel.outputs.colours import PAYER_COLOURS
    assert "rm-chart rm-lec" in dash.html["exceedance"] and "rm-chart rm-who-pays" in dash.html["who_pays"]
    assert f"fill='{PAYER_COLOURS['insurer']}'><title>Insurer" in dash.html["who_pays"]
    assert f"stroke='{PAYER_COLOURS['retained']}'" in dash.html["exceedance"]


def test_an_impossible_split_is_refused_before_anything_is_shown(dash, monkeypatch):
    import riskmodel.outputs.dashboard as mod

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
    status = warm.control_status()
    ready = [model.prepared(warm.scenario().contracts, {**status, c: not on}) for c, on in status.items()]
    assert sum(ready) >= min(len(warm.controls), model.max_scenarios - 2)       # neighbours ready
    cold_model, cold_status = cold.scenario().model, cold.control_status()
    assert cold_model.prepared(cold.scenario().contracts, cold_status)
    assert not any(cold_model.prepared(cold.scenario().contracts, {**cold_status, c: not on})
                   for c, on in cold_status.items())
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


def start_app(*args: str, cwd: Path = ROOT, registers: Path | None = REGISTERS, command=None):
    """``riskmodel dashboard --no-browser`` on a free port, in its own process group; returns the
    process, the address it printed (with its token) and the port, once it accepts connections."""
    port = _free_port()
    cmd = list(command or [sys.executable, "-m", "riskmodel.cli"]) + ["dashboard", "--port", str(port),
                                                                      "--no-browser", *args]
    if registers is not None:
        cmd += ["--registers", str(registers)]
    log = tempfile.NamedTemporaryFile("w+", prefix="dashboard-", suffix=".log", delete=False)
    app = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    app.log_path = Path(log.name)
    deadline = time.time() + 90
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert app.poll() is None, app_log(app)
        time.sleep(0.3)
    url = re.search(r"Dashboard at (http://\S+)", app_log(app)).group(1)
    return app, url, port


def app_log(app) -> str:
    return app.log_path.read_text(encoding="utf-8", errors="replace")


def stop_app(app) -> None:
    os.killpg(app.pid, signal.SIGTERM)      # the server and the kernels it started
    try:
        app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(app.pid, signal.SIGKILL)
        app.wait()


def get(port: int, path: str, host: str | None = None, cookie: str | None = None, timeout: float = 180):
    """(status, headers, body) of a GET to the app, with the Host header given (no redirects)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", path, headers=headers)
    res = conn.getresponse()
    body = res.read().decode("utf-8", "replace")
    conn.close()
    return res.status, res.headers, body


def get_when_free(port: int, path: str, within: float = 15):
    """GET, again while the app answers 503 (a kernel being shut down still counts a moment)."""
    deadline = time.time() + within
    while True:
        res = get(port, path)
        if res[0] != 503 or time.time() > deadline:
            return res
        time.sleep(0.5)


def test_the_app_refuses_strangers_caps_its_kernels_and_shuts_down_those_of_pages_gone():
    """The server end to end: a foreign Host is refused (DNS rebinding), no token is refused,
    the token gets the page; a page beyond --max-pages gets a clear 503 and starts no kernel; the
    kernel of a page that is gone is shut down after --idle-shutdown; kernels talk over Unix
    sockets (no TCP warning) and the notebook is trusted (no warning)."""
    app, url, port = start_app("--trials", "1000", "--max-pages", "1", "--idle-shutdown", "3")
    try:
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
        path = url[len(f"http://127.0.0.1:{port}"):]
        token = path.split("token=", 1)[1]
        assert len(token) >= 24

        status, _, _ = get(port, path, host=f"evil.example:{port}")            # DNS rebinding
        assert status == 403
        status, _, _ = get(port, path, host="192.168.1.20:8866")                # not a loopback address
        assert status == 403
        status, headers, _ = get(port, "/")                                     # no token
        assert status in (302, 403) and "/login" in headers.get("Location", "/login")
        status, _, _ = get(port, "/?token=wrong" + token[:5])
        assert status in (302, 403)
        assert "Kernel started" not in app_log(app)                              # none of those ran anything

        status, headers, body = get(port, path)
        assert status == 200 and "jupyter-widgets" in body
        cookies = "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie"))
        assert "_xsrf=" in cookies                              # the page's own kernel shutdown can work
        status, _, body = get(port, "/", cookie=cookies)                        # the login cookie
        assert status == 503                                    # the cap (1 page): a clear page, no kernel
        assert "too many windows" in body and "Close a dashboard tab" in body
        assert app_log(app).count("Kernel started") == 1

        def wait_for(text: str, count: int, within: float = 30) -> None:
            deadline = time.time() + within
            while time.time() < deadline and app_log(app).count(text) < count:
                time.sleep(0.25)
            assert app_log(app).count(text) == count, app_log(app)[-1500:]

        wait_for("Kernel shutdown", 1)                          # nobody connected: shut down after ~3 s
        log = app_log(app)
        assert "Culling 'idle' kernel" in log
        status, _, _ = get_when_free(port, path)                # its place is free again
        assert status == 200
        log = app_log(app)
        assert "without encryption" not in log and "eavesdropping" not in log
        assert "not trusted" not in log and "Traceback" not in log
        folder = re.search(r"Storing connection files in (\S+?)\.?$", log, re.M).group(1)
        assert any("-ipc-" in p.name for p in Path(folder).iterdir())           # Unix sockets, not TCP
        wait_for("Kernel shutdown", 2)

        # an abandoned request: the client goes while its page is being made; its kernel goes too
        time.sleep(3)                                           # (the kernel shut down has exited)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            wait_for("Kernel started", 3)
        wait_for("Kernel shutdown", 3)
        assert get_when_free(port, path)[0] == 200
    finally:
        stop_app(app)


def test_dashboard_refuses_a_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "riskmodel.cli", "dashboard", "--no-browser", "--port",
                              str(port), "--registers", str(REGISTERS)], capture_output=True, text=True,
                             timeout=60)
    assert res.returncode == 2 and "already in use" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.browser
def test_app_in_a_real_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it as root")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    app, url, _ = start_app("--trials", "20000", "--idle-shutdown", "90")
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1300, "height": 1500})
            page.goto(url, timeout=120_000)
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

            # closing the tab shuts its kernel down at once (not only after --idle-shutdown)
            assert "Kernel shutdown" not in app_log(app)
            page.goto("about:blank")                 # the partner leaves the page
            deadline = time.time() + 20
            while time.time() < deadline and "Kernel shutdown" not in app_log(app):
                time.sleep(0.25)
            log = app_log(app)
            assert "Kernel shutdown" in log and "Culling 'idle'" not in log, log[-2000:]
            assert "Traceback" not in log and "ping_timeout" not in log
            browser.close()
    finally:
        stop_app(app)


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


def _break(folder: Path, quarter: str = "2026Q4") -> None:
    path = folder / f"{quarter}.csv"
    path.write_text(path.read_text().replace(",ransomware,", ",meteor-strike,", 1))


def _shows_problem_only(d: Dashboard, practice: str) -> None:
    """The problem, and nothing of the practice shown before: no numbers, controls or terms."""
    assert "need fixing" in d.view.value and "meteor-strike" in d.view.value and practice in d.view.value
    assert "rm-headline" not in d.view.value and "£" not in d.view.value
    assert d.numbers == {} and d.html == {} and not d.controls and not d.sections
    assert d.aggregate_limit.disabled and d.excess.disabled and d.insured.disabled


def test_switching_into_a_broken_practice_and_quarter_and_back(tmp_path):
    """Good practice -> broken one: what to fix, never the good one's numbers; a change of terms
    meanwhile prices nothing; back to the good one: its numbers again. The same within a practice
    whose latest quarter is broken and whose previous one is fine."""
    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "a-good")
    shutil.copytree(REGISTERS / "meadowbank-average", regs / "b-broken")
    _break(regs / "b-broken")
    d = Dashboard(regs, "a-good", trials=2_000, warm_up=False)
    good = dict(d.numbers)
    assert good["expected_annual_loss"] > 0

    d.practice.value = "b-broken"
    assert d.quarter.value == "2026Q4"
    _shows_problem_only(d, "b-broken")
    shown = d.view.value
    d.excess.value = 2_500                                         # nothing priced, nothing raised
    d.aggregate_limit.value = 75_000
    assert d.numbers == {} and d.view.value == shown

    d.quarter.value = "2026Q3"                                     # the practice's good quarter
    assert d.numbers["expected_annual_loss"] > 0 and d.numbers != good
    assert not d.insured.disabled and set(d.controls) == set(d.scenario().register.control_status)
    d.quarter.value = "2026Q4"                                     # and back into the broken one
    _shows_problem_only(d, "b-broken")

    d.practice.value = "a-good"                                    # back: the good practice's own numbers
    assert d.numbers == good and "rm-headline" in d.view.value and not d.insured.disabled
    d.excess.value = d.excess.value + 1_000                        # and it re-prices again
    assert d.numbers["retained_mean"] >= good["retained_mean"]


def test_an_unexpected_failure_while_loading_shows_a_problem_not_the_previous_numbers(tmp_path, monkeypatch):
    import riskmodel.outputs.dashboard as mod

    regs = tmp_path / "registers"
    shutil.copytree(REGISTERS / "riverside-rural", regs / "a-good")
    shutil.copytree(REGISTERS / "riverside-rural", regs / "b-other")
    d = Dashboard(regs, "a-good", trials=1_000, warm_up=False)

    def refuse(alloc, where):
        raise ValueError(f"impossible split in {where}")

    monkeypatch.setattr(mod, "check_allocation", refuse)
    d.practice.value = "b-other"
    assert "could not be shown" in d.view.value and "impossible split" in d.view.value
    assert d.numbers == {} and "rm-headline" not in d.view.value
