"""Opening a report in Chromium with the network shut off."""

from __future__ import annotations

from pathlib import Path


def open_offline(browser: object, path: Path) -> tuple[object, list[str]]:
    """Open ``path`` with every network request blocked; returns the page and console errors."""
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    page.goto(path.as_uri())
    return page, errors
