"""The package exports exactly what __all__ lists."""

from __future__ import annotations

import rasad.drift


def test_all_matches_the_public_names() -> None:
    public = {name for name in vars(rasad.drift) if not name.startswith("_")}
    modules = {name for name, value in vars(rasad.drift).items()
               if type(value).__name__ == "module"}
    assert set(rasad.drift.__all__) == public - modules
    assert len(rasad.drift.__all__) == len(set(rasad.drift.__all__))
