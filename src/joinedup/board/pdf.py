"""The board pack as a PDF, printed by headless Chromium through Playwright.

Chromium rather than WeasyPrint: the project already installs it (from Debian) and drives it
for its browser tests, it prints exactly the HTML and print stylesheet the browser shows, and
the SVG charts come out as vectors. The page is served to Chromium from memory: its HTML and
the site's own static files, nothing else (every other request is refused), so printing
never reaches the network or another page of the site.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["PdfUnavailable", "html_to_pdf"]

_ORIGIN = "http://board-pack.invalid"
_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


class PdfUnavailable(RuntimeError):
    """Chromium is not installed or could not print; the print view still works."""


def html_to_pdf(html: str, static_dir: Path, chromium: str, *, title: str = "") -> bytes:
    """Print ``html`` (which may link /static/…) to an A4 PDF with page numbers.

    Playwright's sync API refuses to run in a thread with an event loop (a server's, or a
    test's own browser), so the printing always happens in a thread of its own."""
    if not Path(chromium).exists():
        raise PdfUnavailable(f"Chromium is not installed at {chromium} (setting JOINEDUP_CHROMIUM)")
    outcome: dict[str, bytes | BaseException] = {}

    def work() -> None:
        try:
            outcome["pdf"] = _print(html, static_dir, chromium, title)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="board-pack-pdf", daemon=True)
    thread.start()
    thread.join()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    pdf = outcome["pdf"]
    assert isinstance(pdf, bytes)
    return pdf


def _print(html: str, static_dir: Path, chromium: str, title: str) -> bytes:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    root = static_dir.resolve()

    def serve(route: Any) -> None:
        path = urlparse(route.request.url).path
        if path == "/pack":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
            return
        if path.startswith("/static/"):
            file = (root / path.removeprefix("/static/")).resolve()
            if file.is_relative_to(root) and file.is_file():
                route.fulfill(path=str(file))
                return
        route.abort()

    footer = ('<div style="font-size:8pt;width:100%;text-align:center;font-family:Arial,sans-serif">'
              f'{_escape(title)} · page <span class="pageNumber"></span> of '
              '<span class="totalPages"></span></div>')  # fmt: skip
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=_ARGS, headless=True)
            try:
                page = browser.new_page()
                page.route("**/*", serve)
                page.goto(f"{_ORIGIN}/pack", wait_until="load")
                page.emulate_media(media="print")
                return bytes(page.pdf(
                    format="A4", print_background=True, display_header_footer=True,
                    header_template="<span></span>", footer_template=footer,
                    margin={"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                ))  # fmt: skip
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PdfUnavailable(f"Chromium could not print the pack: {str(exc).splitlines()[0]}") from exc


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
