"""Running a shipped notebook and exporting what it made: papermill with kernels on private
sockets, static HTML (no script, a Content-Security-Policy, refused if any live markup is left) and
PDF printed by Debian's chromium, offline (docs/reports.md).
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from ..io.atomic import write_text

KERNEL = "python3"
CELL_TIMEOUT = 1800


def kernel_manager_class():
    """Kernels on Unix sockets in a private folder, not TCP ports on the machine (on Windows,
    jupyter_client's default). Other users of a shared machine cannot connect to them, and
    ipykernel has no cause to warn about unencrypted TCP."""
    import os

    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":  # pragma: no cover - no Unix sockets
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self._socket_dir = tempfile.mkdtemp(prefix="riskmodel-kernel-")
            self.transport = "ipc"
            self.ip = str(Path(self._socket_dir) / "kernel")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart)
            if not restart:
                shutil.rmtree(self._socket_dir, ignore_errors=True)

    return IPCKernelManager


def notebook_path(name: str) -> Path:
    """A shipped notebook: ``notebooks/`` of a source checkout, else the copy inside the
    installed package (riskmodel/shipped.py)."""
    from ..io.shipped import shipped_notebook

    return shipped_notebook(name)


def check_parameters(notebook: Path, params: dict) -> None:
    """papermill only warns on unknown parameters: refuse them instead."""
    import papermill

    known = set(papermill.inspect_notebook(str(notebook)))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{notebook.name} has no parameters {unknown}; it takes {sorted(known)}")


def papermill_path(path: Path) -> str:
    """papermill formats its paths with the parameters (``str.format``): a ``{`` or ``}`` in a
    folder name must reach it doubled, or it fails (or reads a parameter into the path)."""
    return str(path).replace("{", "{{").replace("}", "}}")


#: Content-Security-Policy of every static report: no script of any kind, nothing fetched from
#: anywhere (images are embedded as data: URLs, styles are inline).
CSP = ("default-src 'none'; script-src 'none'; object-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:; base-uri 'none'; form-action 'none'")


#: nbconvert's lab template without any script: no require.js, MathJax, mermaid or widget
#: manager (a report is static; MathJax would also typeset a ``$x$`` typed in a title).
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.riskmodel_csp }}">
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def to_html(executed: Path, target: Path) -> None:
    """Static HTML: code hidden, images embedded, no script, a Content-Security-Policy that forbids
    scripts and network access; refused (an exception, nothing written) if any live markup that
    could run or fetch anything is found in it (:func:`check_static_html`)."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file="riskmodel_static.html.j2",
                            extra_loaders=[jinja2.DictLoader({"riskmodel_static.html.j2": _TEMPLATE})])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4),
                                          resources={"riskmodel_csp": CSP})
    body = strip_remote_scripts(body)
    check_static_html(body, executed.name)
    write_text(target, body)


PDF_HELP = ("PDF needs Debian's chromium: sudo apt-get install chromium (or set RISKMODEL_CHROMIUM to a "
            "Chromium binary); the HTML reports are complete without it")


def find_chromium() -> str | None:
    """A Chromium to print PDFs with: ``$RISKMODEL_CHROMIUM``, else ``chromium`` on the PATH."""
    import os

    env = os.environ.get("RISKMODEL_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: Chromium switches for printing a report: nothing from the network (no name resolves, a dead
#: proxy, no background services). Scripts are kept off by the report's own CSP and by the report
#: having none: ``--blink-settings=scriptEnabled=false`` makes Chromium 156's headless printing
#: write no PDF at all.
CHROMIUM_OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check"]


def chromium_command(chromium: str, html: Path, pdf: Path, profile: str, *, sandbox: bool) -> list[str]:
    return ([chromium, "--headless", "--disable-gpu", "--no-pdf-header-footer", *CHROMIUM_OFFLINE]
            + ([] if sandbox else ["--no-sandbox"])
            + [f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.resolve().as_uri()])


def to_pdf(html: Path, pdf: Path, chromium: str) -> None:
    """Print an HTML report to PDF with headless Chromium (no browser is downloaded), offline.

    Chromium's sandbox is kept on unless running as root (where Chromium refuses it), or where
    the sandboxed browser cannot start at all (a container without user namespaces)."""
    import os
    import subprocess

    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    for sandbox in ((False,) if as_root else (True, False)):
        with tempfile.TemporaryDirectory() as profile:
            done = subprocess.run(chromium_command(chromium, html, pdf, profile, sandbox=sandbox),
                                  capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        if done.returncode == 0 and pdf.is_file() and pdf.stat().st_size > 0:
            return
        if not (sandbox and "sandbox" in done.stderr.lower()):
            break
    raise RuntimeError(f"chromium could not print {html.name} to PDF: {done.stderr.strip()[-300:]}")


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)


def strip_remote_scripts(html: str) -> str:
    """Drop every script element (the template emits none; this is a second guard): a report is
    static, reads offline, and runs nothing."""
    return _SCRIPT.sub("", html)


#: Elements that run, embed or fetch something; a static report has none of them.
_LIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "base", "form", "link", "meta-refresh",
              "audio", "video", "source", "track", "portal", "foreignobject", "animate", "set", "use"}
_REMOTE_CSS = re.compile(r"@import|url\s*\((?!\s*['\"]?data:)[^)]*\)|expression\s*\(", re.I)


class LiveMarkupError(ValueError):
    """Markup that could run or fetch something was found in a report about to be written."""


def live_markup(html: str) -> list[str]:
    """Everything in ``html`` that could run a script or reach the network: script-like elements,
    ``on*`` event attributes, ``javascript:`` URLs, images or styles not embedded (``data:``, in a
    ``style`` attribute or element), a
    ``<meta>`` other than charset, viewport and the CSP. Empty for a safe static report."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Scan(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tag = tag.lower()
            a = {k.lower(): (v or "") for k, v in attrs}
            if tag == "style":
                self.in_style = True
            if tag in _LIVE_TAGS:
                found.append(f"<{tag}>")
            if tag == "meta" and not ({"charset", "name"} & set(a) and "http-equiv" not in a) and not (
                    a.get("http-equiv", "").lower() == "content-security-policy" and a.get("content") == CSP):
                found.append(f"<meta {' '.join(a)}>")
            if tag == "img" and not a.get("src", "").startswith("data:"):
                found.append(f"<img src={a.get('src', '')[:40]!r}>")
            for k, v in a.items():
                if k.startswith("on"):
                    found.append(f"<{tag} {k}=...>")
                if k in ("href", "src", "xlink:href", "action", "formaction", "srcset", "style") and re.search(
                        r"javascript:|vbscript:|url\s*\((?!\s*['\"]?data:)|^\s*(https?:)?//", v, re.I):
                    found.append(f"<{tag} {k}={v[:40]!r}>")

        in_style = False

        def handle_endtag(self, tag):
            if tag.lower() == "style":
                self.in_style = False

        def handle_data(self, data):
            if self.in_style and _REMOTE_CSS.search(data):
                found.append(f"<style> {_REMOTE_CSS.search(data).group(0)[:40]!r}")

    scan = Scan(convert_charrefs=True)
    scan.feed(html)
    scan.close()
    return found


def check_static_html(html: str, what: str) -> None:
    found = live_markup(html)
    if found:
        raise LiveMarkupError(f"{what}: the report would contain live markup ({', '.join(sorted(set(found))[:5])}); "
                              "nothing was written")
