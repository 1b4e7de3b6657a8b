"""Serving the partners' dashboard with Voilà, safe to leave running on a partner's machine.

``riskmodel dashboard`` calls :func:`serve`. Voilà runs on jupyter_server; this module sets it up
as Jupyter protects its own server:

* it listens on 127.0.0.1 only, and refuses any request whose ``Host`` header is not local
  (``allow_remote_access=False``, ``local_hostnames=["localhost"]``), so a web page elsewhere
  cannot reach it by pointing its own name at 127.0.0.1 (DNS rebinding);
* every start draws a random token, printed in the address (and opened in the browser through
  a private file, as Jupyter does, so it is not on a command line); without it a request is sent
  to the login page and starts nothing. The browser keeps a login cookie after the first page;
* each page's kernel talks to the server over Unix sockets in Voilà's private folder, not TCP;
* the kernel of a page that is gone (tab closed, request abandoned) is shut down once it has
  had no connection and no activity for ``idle_shutdown`` seconds (checked every half of that,
  so within 1.5x; 60 s by default: within 90 s). Closing the tab also shuts it down at once
  (the page gets the XSRF cookie its shutdown request needs);
* at most ``max_kernels`` pages run at once; one more gets a page saying so (HTTP 503) and
  starts no kernel.

Nothing here imports the model: the server process stays small; each page's kernel imports
:mod:`riskmodel.outputs.dashboard`.
"""
from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

#: Default cap on pages (kernels) served at once: each holds its practice's simulated years
#: (0.2-1.3 GB at 100,000 trials).
MAX_KERNELS = 3
#: Default seconds a kernel may sit without a page and without activity before it is shut down.
IDLE_SHUTDOWN = 60

FULL_MESSAGE = ("The dashboard is already open in as many windows as this computer serves at once ({n}). "
                "Close a dashboard tab you no longer use (its place frees within seconds, or within two minutes "
                "if the browser did not say goodbye), then reload this page.")
FULL_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Dashboard busy</title></head>"
             "<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
             "<h1>The dashboard is open in too many windows</h1><p class='rm-full'>{message}</p></body></html>")


def _kernel_manager_class():
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado.web import HTTPError
    from traitlets import Integer

    class DashboardKernels(AsyncMappingKernelManager):
        """At most ``max_kernels`` kernels (running or starting); one more is refused with 503."""

        max_kernels = Integer(MAX_KERNELS, config=True, help="most kernels at once")

        def __init__(self, **kw):
            super().__init__(**kw)
            self._starting = 0

        async def start_kernel(self, *args, **kwargs):
            if kwargs.get("kernel_id") is None:
                running = len(self.list_kernel_ids()) + self._starting
                if running >= self.max_kernels:
                    self.log.warning("Refusing a new page: %d kernels running (the most allowed)", running)
                    raise HTTPError(503, FULL_MESSAGE.format(n=self.max_kernels).replace("%", "%%"),
                                    reason="Dashboard already open in too many windows")
            self._starting += 1
            try:
                return await super().start_kernel(*args, **kwargs)
            finally:
                self._starting -= 1

    return DashboardKernels


def _trust(notebook: Path, secret: bytes):
    """Sign the served notebook in a store kept in memory (no file in the user's Jupyter folder):
    Voilà's contents manager then finds it trusted, instead of warning on every page."""
    import nbformat
    from nbformat.sign import MemorySignatureStore, NotebookNotary

    store = MemorySignatureStore()
    NotebookNotary(secret=secret, store_factory=lambda: store).sign(nbformat.read(str(notebook), as_version=4))
    return lambda: store


def _voila_class(url: str):
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler

    class PageHandler(TornadoVoilaHandler):
        async def prepare(self, *a, **kw):
            result = super().prepare(*a, **kw)
            if result is not None:
                await result
            if self.current_user:
                self.xsrf_token  # sets the _xsrf cookie the page's "shut down my kernel" request sends

        def write_error(self, status_code, **kw):
            import html

            exc = kw.get("exc_info", (None, None, None))[1]
            if status_code == 503 and getattr(exc, "log_message", None):
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.finish(FULL_PAGE.format(message=html.escape(exc.log_message)))
                return
            super().write_error(status_code, **kw)

    class DashboardVoila(Voila):
        def init_handlers(self):
            return [(h[0], PageHandler, *h[2:]) if len(h) > 1 and h[1] is TornadoVoilaHandler else h
                    for h in super().init_handlers()]

        def launch_browser(self):
            """Open the address with its token through a private file (as Jupyter does), not
            on a command line other users can read."""
            import html
            import threading
            import webbrowser

            fd, page = tempfile.mkstemp(suffix=".html", prefix="riskmodel-dashboard-")
            self._opener = page
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"<!DOCTYPE html><meta http-equiv='refresh' content='0;url={html.escape(url)}'>"
                         f"<p><a href='{html.escape(url)}'>Open the dashboard</a></p>")
            threading.Thread(target=webbrowser.open, args=(Path(page).as_uri(),), daemon=True).start()

        def stop(self):
            try:
                super().stop()
            finally:
                if getattr(self, "_opener", None):
                    Path(self._opener).unlink(missing_ok=True)

    return DashboardVoila


def voila_config(notebook: Path, *, port: int, token: str, open_browser: bool, max_kernels: int = MAX_KERNELS,
                 idle_shutdown: int = IDLE_SHUTDOWN):
    """The traitlets configuration of the dashboard's Voilà server (tested on its own)."""
    from traitlets.config import Config

    c = Config()
    c.Voila.ip = "127.0.0.1"
    c.Voila.port = port
    c.Voila.port_retries = 0
    c.Voila.open_browser = open_browser
    c.Voila.token = token
    c.Voila.log_level = "INFO"
    # jupyter_server's Host check (Voilà itself leaves it off); a page whose connection died
    # unannounced is noticed by the websocket pings within a minute (the kernel is then culled)
    c.Voila.tornado_settings = {"allow_remote_access": False, "local_hostnames": ["localhost"],
                                "ws_ping_interval": 30_000, "ws_ping_timeout": 30_000}
    c.VoilaConfiguration.strip_sources = True
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.file_allowlist = []     # the page needs no file from the notebook's folder
    c.VoilaConfiguration.multi_kernel_manager_class = _kernel_manager_class()
    c.DashboardKernels.max_kernels = max_kernels
    # kernels of pages that are gone: no connection and idle for idle_shutdown seconds
    c.MappingKernelManager.cull_idle_timeout = idle_shutdown
    c.MappingKernelManager.cull_interval = max(1, idle_shutdown // 2)
    c.MappingKernelManager.cull_connected = False
    c.MappingKernelManager.cull_busy = False
    # kernels on Unix sockets in Voilà's private connection folder, not TCP ports
    if os.name != "nt":
        c.KernelManager.transport = "ipc"
    secret = secrets.token_bytes(32)
    c.NotebookNotary.secret = secret
    c.NotebookNotary.store_factory = _trust(notebook, secret)
    return c


def serve(notebook: Path, *, port: int, open_browser: bool, max_kernels: int = MAX_KERNELS,
          idle_shutdown: int = IDLE_SHUTDOWN, announce=print) -> None:
    """Serve ``notebook`` until interrupted; ``announce`` gets the address with its token."""
    token = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}/?token={token}"
    config = voila_config(notebook, port=port, token=token, open_browser=open_browser, max_kernels=max_kernels,
                          idle_shutdown=idle_shutdown)
    app = _voila_class(url)(config=config)
    announce(url)
    app.initialize([str(notebook)])
    app.start()


__all__ = ["IDLE_SHUTDOWN", "MAX_KERNELS", "serve", "voila_config"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: riskmodel dashboard")
