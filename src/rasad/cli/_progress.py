"""A rich spinner per long step, on stderr so stdout stays clean for JSON."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from rasad.cli._output import err_console


class RichSteps:
    """Implements :class:`rasad.training.Progress` with a live spinner and timings."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        console = err_console()
        started = time.monotonic()
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            bar.add_task(description, total=None)
            yield
        console.print(f"[green]✓[/] {description} ({time.monotonic() - started:.1f}s)")
