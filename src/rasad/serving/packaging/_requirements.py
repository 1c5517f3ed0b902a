"""The pins of ``requirements.txt``: what the image installs, at the versions installed here.

Starting from rasad's own requirements with the ``serve`` extra, plus the libraries the
deployed models are made of, the walk follows every installed distribution's
``Requires-Dist`` (markers evaluated for the Linux image, the same Python) and pins each
one to the version installed in this environment, the one the models were checked with.
Nothing else of this environment leaks in: test tools, notebooks or LightGBM when no
deployed model holds a LightGBM type.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from rasad.errors import InputError

SERVE_EXTRA = "serve"
"""rasad's extra that holds the prediction server's dependencies (FastAPI, uvicorn...)."""


@dataclass(frozen=True)
class Pin:
    """One ``name==version`` line, and who needs it (for the comment beside it)."""

    name: str
    version: str
    needed_by: tuple[str, ...]

    @property
    def line(self) -> str:
        return f"{self.name}=={self.version}"


def target_environment() -> dict[str, str]:
    """Marker values of the image: Debian Linux, this Python (the base image matches it).

    >>> env = target_environment()
    >>> env["sys_platform"], env["platform_system"], env["os_name"]
    ('linux', 'Linux', 'posix')
    """
    env = {key: str(value) for key, value in default_environment().items()}
    env.update(sys_platform="linux", platform_system="Linux", os_name="posix")
    return env


def _applies(requirement: Requirement, extras: frozenset[str], env: Mapping[str, str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**env, "extra": extra})
               for extra in (extras or frozenset({""})))


def _parse(text: str, owner: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:  # an installed distribution's own metadata is broken
        raise InputError(f"The installed {owner} declares a requirement pip cannot read "
                         f"({text!r}: {exc}); reinstall {owner}.") from None


def pin_closure(roots: Iterable[tuple[str, Iterable[str], str]],
                root_requires: Mapping[str, list[str]] | None = None) -> list[Pin]:
    """Every distribution the ``roots`` need, transitively, pinned to its installed version.

    Parameters
    ----------
    roots : iterable of (distribution, extras, needed_by)
        Where the walk starts, e.g. ``("rasad", ["serve"], "rasad")`` or
        ``("lightgbm", [], "credit@3")``.
    root_requires : mapping, optional
        ``Requires-Dist`` lines to use instead of the installed metadata of a root (rasad's
        freshly built wheel). Such a root is not pinned itself.

    Returns
    -------
    list of Pin
        Sorted by name.

    Raises
    ------
    InputError
        A needed distribution is not installed here, or its installed version does not
        satisfy a requirement: its version cannot be pinned, and the image would differ
        from what was checked here.

    Examples
    --------
    >>> [(pin.name, pin.needed_by) for pin in pin_closure([("rich", [], "rasad")])]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('markdown-it-py', ('rasad',)), ('mdurl', ('rasad',)), ('Pygments', ('rasad',)),
     ('rich', ('rasad',))]
    """
    replaced = {canonicalize_name(k): v for k, v in (root_requires or {}).items()}
    env = target_environment()
    queue: list[tuple[str, frozenset[str], str]] = [
        (name, frozenset(extras), by) for name, extras, by in roots]
    # Per root, so each pin's comment names every root that needs it, however reached.
    seen_extras: dict[tuple[str, str], frozenset[str]] = {}
    needed_by: dict[str, set[str]] = {}
    found: dict[str, _Installed] = {}

    def installed(name: str, wanted_by: str) -> _Installed:
        key = canonicalize_name(name)
        if key not in found:
            found[key] = _Installed.of(name, wanted_by)
        return found[key]

    while queue:
        name, extras, by = queue.pop()
        key = canonicalize_name(name)
        needed_by.setdefault(key, set()).add(by)
        known = seen_extras.get((key, by))
        if known is not None and extras <= known:
            continue
        seen_extras[(key, by)] = (known or frozenset()) | extras
        requires = replaced[key] if key in replaced else installed(name, by).requires
        for text in requires:
            requirement = _parse(text, name)
            if not _applies(requirement, extras, env):
                continue
            dist = installed(requirement.name, name)
            if not requirement.specifier.contains(dist.version, prereleases=True):
                raise InputError(
                    f"{name} needs {requirement}, but {dist.name} {dist.version} is "
                    f"installed here: install a matching version (pip install "
                    f"'{requirement.name}{requirement.specifier}') so the image gets the "
                    "versions this environment was checked with.")
            queue.append((requirement.name, frozenset(requirement.extras), by))
    pins = [Pin(name=dist.name, version=dist.version, needed_by=tuple(sorted(needed_by[key])))
            for key, dist in found.items() if key not in replaced]
    return sorted(pins, key=lambda pin: canonicalize_name(pin.name))


@dataclass(frozen=True)
class _Installed:
    """An installed distribution's name, version and requirements, read once."""

    name: str
    version: str
    requires: list[str]

    @classmethod
    def of(cls, name: str, needed_by: str) -> _Installed:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            hint = (f"pip install 'rasad[{SERVE_EXTRA}]'" if needed_by == "rasad"
                    else f"pip install {name}")
            raise InputError(
                f"{name} (needed by {needed_by}) is not installed here, so its version "
                f"cannot be pinned; install it ({hint}) and package again.") from None
        meta = dist.metadata  # parsed once: each attribute of dist parses it again
        return cls(name=meta["Name"], version=meta["Version"],
                   requires=list(meta.get_all("Requires-Dist") or []))


@functools.cache
def _module_owners() -> Mapping[str, list[str]]:
    # Scanning every installed distribution takes a few hundred milliseconds: once.
    return metadata.packages_distributions()


def distributions_of_types(types: Iterable[str]) -> dict[str, str]:
    """The installed distribution of each top-level module that ``types`` name.

    Standard-library modules (``collections``) and rasad itself need no pin of their own.

    Returns
    -------
    dict of str to str
        Top-level module -> distribution, e.g. ``{"lightgbm": "lightgbm"}``.

    Raises
    ------
    InputError
        A module no installed distribution provides: the model could not be loaded here.

    Examples
    --------
    >>> distributions_of_types(["sklearn.tree._tree.Tree", "collections.OrderedDict",
    ...                         "rasad.training.pipeline.categories_as_text"])
    {'sklearn': 'scikit-learn'}
    """
    out: dict[str, str] = {}
    for top in sorted({name.partition(".")[0] for name in types}):
        if top == "rasad" or top in sys.stdlib_module_names or top == "builtins":
            continue
        owners = _module_owners().get(top)
        if not owners:
            raise InputError(
                f"The model holds types from the module {top!r}, which no installed "
                f"distribution provides; install the library that provides {top!r} here "
                "(its version is pinned for the image), then package again.")
        out[top] = owners[0]
    return out


__all__ = ["SERVE_EXTRA", "Pin", "distributions_of_types", "pin_closure", "target_environment"]
