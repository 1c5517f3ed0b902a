"""Progress reporting for long steps: the CLI passes a rich display; the API default is silent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Progress(Protocol):
    """Something that shows named steps while they run."""

    def step(self, description: str) -> AbstractContextManager[None]:
        """Show ``description`` until the returned context exits."""
        ...


class Silent:
    """Shows nothing."""

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        yield
