"""Finding Debian's Chromium, and opening a report in it with the network shut off."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MISSING = ("Chromium is not installed: run `sudo apt-get update && sudo apt-get install -y "
           "chromium`, or set CHROMIUM=/path/to/chromium (`make test` installs it when run "
           "as root).")


def find_chromium() -> str | None:
    """``$CHROMIUM`` if set, else ``chromium`` or ``chromium-browser`` on PATH (as the Makefile)."""
    return (os.environ.get("CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


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
