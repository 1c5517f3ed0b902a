"""The ``rasad`` command line: thin adapters that parse, call the Python API, and render."""

from rasad.cli.app import app, main, run

__all__ = ["app", "main", "run"]
