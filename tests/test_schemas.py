"""The JSON Schemas published under docs/schemas/ are the ones the code produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasad import schemas
from rasad.errors import InputError
from rasad.results import Result

PUBLISHED = Path(__file__).resolve().parents[1] / "docs" / "schemas"


@pytest.mark.parametrize("name", sorted(schemas.REPORTS))
def test_published_schema_matches_the_code(name: str) -> None:
    path = PUBLISHED / f"{name}.schema.json"
    assert path.is_file(), f"run `python -m rasad.schemas docs/schemas` to publish {name}"
    assert path.read_text(encoding="utf-8") == schemas.render(name), (
        f"{path.name} is stale: run `python -m rasad.schemas docs/schemas`")


@pytest.mark.parametrize("name", sorted(schemas.REPORTS))
def test_every_published_report_is_a_typed_result(name: str) -> None:
    import importlib

    module, _, attribute = schemas.REPORTS[name].partition(":")
    assert issubclass(getattr(importlib.import_module(module), attribute), Result)


def test_no_stray_schema_files() -> None:
    published = {p.name.removesuffix(".schema.json") for p in PUBLISHED.glob("*.schema.json")}
    assert published == set(schemas.REPORTS)


def test_an_unknown_schema_names_the_known_ones() -> None:
    with pytest.raises(InputError, match="known: .*drift-report"):
        schemas.schema("drift")
