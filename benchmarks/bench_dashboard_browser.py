"""Dashboard speed as a partner sees it: from a click in Chromium to the display updated.

Run by hand: ``python benchmarks/bench_dashboard_browser.py`` (needs Debian's chromium and
Playwright; no browser is downloaded). Starts ``riskmodel dashboard`` on 127.0.0.1 with 100,000
trials, lets the background warm-up finish, then for each control and for a few policy values
times the click (or the typed value) until the dashboard's update counter changes on the page:
as the driver sees it (with Playwright's own round trips) and as the page itself measures it, from
the input's change event to the first frame painted with the new numbers.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNTER = ".rm-status"

# Installed once in the page: the time of the partner's change (a checkbox or text input changed,
# or Enter typed) and of the first frame painted after the dashboard's update counter moved.
PAGE_TIMER = """
() => {
  window.__rm = {start: null, painted: null};
  const mark = () => { if (window.__rm.start === null) window.__rm.start = performance.now(); };
  document.addEventListener('change', mark, true);
  document.addEventListener('keydown', (e) => { if (e.key === 'Enter') mark(); }, true);
  let seen = document.querySelector('.rm-status').dataset.update;
  new MutationObserver(() => {
    const el = document.querySelector('.rm-status');
    if (!el || el.dataset.update === seen) return;
    seen = el.dataset.update;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (window.__rm.painted === null) window.__rm.painted = performance.now();
    }));
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--settle", type=float, default=6.0, help="seconds to let the warm-up run between clicks")
    ap.add_argument("--practice", default="northgate-multisite",
                    help="practice to choose in the page first (default: the largest example)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    import re
    import tempfile

    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log")       # the address, with its token, is printed there
    app = subprocess.Popen([sys.executable, "-m", "riskmodel.cli", "dashboard", "--port", str(port), "--no-browser",
                            "--trials", str(args.trials), "--registers", str(ROOT / "registers")],
                           stdout=log, stderr=log, start_new_session=True, cwd=ROOT)
    try:
        for _ in range(180):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1300, "height": 1500})
            t = time.perf_counter()
            url = re.search(r"Dashboard at (http://\S+)", open(log.name).read()).group(1)
            page.goto(url, timeout=180_000)
            page.locator(COUNTER).wait_for(timeout=180_000)
            print(f"page shown with numbers after {time.perf_counter() - t:.1f} s")

            # in the page itself: from the input's change event (or Enter) to the next frame
            # painted after the new numbers are in the DOM (no driver round trips)
            page.evaluate(PAGE_TIMER)

            def timed(action) -> float:
                before = page.locator(COUNTER).get_attribute("data-update")
                page.evaluate("window.__rm = {start: null, painted: null}")
                t0 = time.perf_counter()
                action()
                page.wait_for_function(f"(old) => document.querySelector('{COUNTER}').dataset.update !== old",
                                       arg=before, timeout=30_000)
                took = time.perf_counter() - t0
                page.wait_for_function("window.__rm.painted !== null", timeout=30_000)
                in_page.append(page.evaluate("(window.__rm.painted - window.__rm.start) / 1000"))
                inside.append(float(page.locator(COUNTER).inner_text().split("updated in ")[1].split(" s")[0]))
                return took

            inside: list[float] = []
            in_page: list[float] = []
            choose = page.locator(".widget-dropdown", has_text="Practice").locator("select")
            if choose.input_value() != args.practice:
                before = page.locator(COUNTER).get_attribute("data-update")
                choose.select_option(args.practice)
                page.wait_for_function(f"(old) => document.querySelector('{COUNTER}').dataset.update !== old",
                                       arg=before, timeout=180_000)
            print(f"practice: {args.practice}")
            boxes = page.locator(".widget-checkbox input[type=checkbox]")
            controls = []
            for i in range(12):
                time.sleep(args.settle)
                controls.append(timed(lambda: boxes.nth(i).click()))
            limit = page.locator(".widget-text", has_text="Policy limit").locator("input")
            terms = []
            for value in ("250000", "500000", "1000000", "100000"):
                def enter(v=value):
                    limit.fill(v)
                    limit.press("Enter")
                terms.append(timed(enter))
            browser.close()
        print("of which in the kernel (the dashboard's own measure):",
              ", ".join(f"{1000 * x:.0f}" for x in inside), "ms")
        n = len(controls)
        for label, xs, page_xs in (("control click", controls, in_page[:n]), ("policy limit typed", terms, in_page[n:])):
            print(f"{label:20s} n={len(xs):2d}  driver to update seen: median {1000 * statistics.median(xs):5.0f} ms"
                  f"  max {1000 * max(xs):5.0f} ms;  in the page, change to repaint: median "
                  f"{1000 * statistics.median(page_xs):5.0f} ms  max {1000 * max(page_xs):5.0f} ms")
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=20)


if __name__ == "__main__":
    main()
