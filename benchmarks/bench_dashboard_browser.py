"""Dashboard speed as a partner sees it: from a click in Chromium to the display updated.

Run by hand: ``python benchmarks/bench_dashboard_browser.py`` (needs Debian's chromium and
Playwright; no browser is downloaded). Starts ``riskmodel dashboard`` on 127.0.0.1 with 100,000
trials, lets the background warm-up finish, then for each control and for a few policy values
times the click (or the typed value) until the dashboard's update counter changes on the page.
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--settle", type=float, default=6.0, help="seconds to let the warm-up run between clicks")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    app = subprocess.Popen([sys.executable, "-m", "riskmodel.cli", "dashboard", "--port", str(port), "--no-browser",
                            "--trials", str(args.trials), "--registers", str(ROOT / "registers")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
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
            page.goto(f"http://127.0.0.1:{port}/", timeout=180_000)
            page.locator(COUNTER).wait_for(timeout=180_000)
            print(f"page shown with numbers after {time.perf_counter() - t:.1f} s")

            def timed(action) -> float:
                before = page.locator(COUNTER).get_attribute("data-update")
                t0 = time.perf_counter()
                action()
                page.wait_for_function(f"(old) => document.querySelector('{COUNTER}').dataset.update !== old",
                                       arg=before, timeout=30_000)
                took = time.perf_counter() - t0
                inside.append(float(page.locator(COUNTER).inner_text().split("updated in ")[1].split(" s")[0]))
                return took

            inside: list[float] = []
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
        for label, xs in (("control click", controls), ("policy limit typed", terms)):
            print(f"{label:20s} n={len(xs):2d} median {1000 * statistics.median(xs):5.0f} ms  max {1000 * max(xs):5.0f} ms")
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=20)


if __name__ == "__main__":
    main()
