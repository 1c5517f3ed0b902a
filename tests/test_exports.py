"""Every package's ``__all__`` is exactly its public surface (httpx's exported-members test)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import rasad

PACKAGES = sorted(
    name for _, name, is_package in pkgutil.walk_packages(rasad.__path__, "rasad.")
    if is_package and ".migrations" not in name
)


@pytest.mark.parametrize("name", ["rasad", *PACKAGES])
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    public = {
        n for n, value in vars(module).items()
        if not n.startswith("_") and not isinstance(value, types.ModuleType)
        and n not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert public <= set(exported) | {"__version__"}, (
        f"{name} exposes names missing from __all__: {sorted(public - set(exported))}")
