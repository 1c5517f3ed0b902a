"""Model bytes with skops: save, and load only what the trust policy allows.

rasad never unpickles a model. :func:`dump_model` writes a fitted pipeline in the
skops format, which records every object as data plus the name of its type.
skops itself builds only types it trusts out of the box (Python builtins,
NumPy arrays, most scikit-learn estimators); every other type name is
*untrusted* and must be named explicitly when loading. rasad allows such a
name only when it passes two checks:

1. the trust policy: it is in :data:`DEFAULT_TRUSTED_PREFIXES` or in the
   project's ``registry.trusted_types`` (:func:`check_trusted`), and
2. the registration record: it was among the untrusted types recorded when the
   model was registered (:func:`load_model`), so bytes swapped in later cannot
   bring a new type in.

LightGBM and XGBoost models need no special handling: skops stores a LightGBM
``Booster`` as LightGBM's text model and an XGBoost ``Booster`` as XGBoost's
own binary model format, both through the libraries' ``__getstate__``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from typing import Any

import skops.io

from rasad.errors import InputError, UntrustedArtifactError

DEFAULT_TRUSTED_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.dtype",
    "numpy.random.",
    "scipy.sparse.",
    "lightgbm.",
    "xgboost.",
    "collections.OrderedDict",
    "rasad.training.pipeline.booleans_as_float",
    "rasad.training.pipeline.categories_as_text",
    # Fairness-mitigated classifiers hold only scikit-learn models and NumPy arrays.
    "rasad.governance.fairness.mitigation.ThresholdOptimizedClassifier",
    "rasad.governance.fairness.mitigation.ExponentiatedGradientClassifier",
)
"""Type names a model artifact may hold without further configuration.

An entry ending in ``"."`` is a prefix and allows every name that starts with it:
the whole of scikit-learn, NumPy, SciPy, LightGBM and XGBoost, whose code is
already trusted by being installed to train and serve. Any other entry is one
exact name: ``collections.OrderedDict`` holds LightGBM's best scores, and the
two ``rasad.training.pipeline`` functions are the converters of rasad's default
pipeline. Nothing else from the standard library is allowed, and no other module.
"""


def dump_model(obj: Any) -> tuple[bytes, list[str]]:
    """Serialise a model with skops.

    Parameters
    ----------
    obj : object
        Usually a fitted :class:`~sklearn.pipeline.Pipeline`.

    Returns
    -------
    data : bytes
        The skops archive.
    untrusted : list of str
        Sorted names of the types in ``data`` that skops does not trust by
        default; record them with the model and pass them to :func:`load_model`.

    Raises
    ------
    InputError
        If skops cannot serialise an object in ``obj``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> model = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, X[:, 0] > 0)
    >>> data, untrusted = dump_model(model)
    >>> untrusted
    ['sklearn.tree._tree.Tree']
    >>> bool((load_model(data, untrusted).predict(X) == model.predict(X)).all())
    True
    """
    try:
        data = skops.io.dumps(obj)
    except (TypeError, ValueError, AttributeError) as error:
        raise InputError(
            f"skops cannot save this {type(obj).__name__}: {error}. Use estimators and "
            "transformers from scikit-learn, LightGBM or XGBoost, or make the object "
            "serialisable by skops."
        ) from error
    return data, sorted(skops.io.get_untrusted_types(data=data))


def is_trusted(type_name: str, prefixes: Iterable[str] = DEFAULT_TRUSTED_PREFIXES) -> bool:
    """Return whether the trust policy allows a type name.

    Parameters
    ----------
    type_name : str
        A full type name such as ``"lightgbm.basic.Booster"``.
    prefixes : iterable of str
        Entries ending in ``"."`` allow every name that starts with them; other
        entries allow exactly that name.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_trusted("xgboost.core.Booster")
    True
    >>> is_trusted("collections.Counter"), is_trusted("sklearnx.Evil")
    (False, False)
    """
    return any(
        type_name.startswith(entry) if entry.endswith(".") else type_name == entry
        for entry in prefixes
    )


def check_trusted(types: Iterable[str], prefixes: Iterable[str] = DEFAULT_TRUSTED_PREFIXES) -> None:
    """Refuse type names that the trust policy does not allow.

    Parameters
    ----------
    types : iterable of str
        Type names, as :func:`dump_model` reports them.
    prefixes : iterable of str
        The policy: :data:`DEFAULT_TRUSTED_PREFIXES` plus the project's
        ``registry.trusted_types`` (see :func:`is_trusted`).

    Raises
    ------
    UntrustedArtifactError
        Naming each type that is not allowed and how to allow it.

    Examples
    --------
    >>> check_trusted(["sklearn.tree._tree.Tree", "lightgbm.basic.Booster"])
    >>> check_trusted(["mylib.models.Ranker"])
    Traceback (most recent call last):
    ...
    rasad.errors.UntrustedArtifactError: The model holds types that rasad does not trust: \
'mylib.models.Ranker'. Loading a model runs code from its types, so each one is a trust \
decision: if you trust that code, add each name (or its package prefix ending in '.', such \
as 'mylib.') to registry.trusted_types in rasad.yaml.
    """
    allowed = tuple(prefixes)
    refused = sorted({name for name in types if not is_trusted(name, allowed)})
    if refused:
        package = refused[0].split(".", 1)[0]
        raise UntrustedArtifactError(
            f"The model holds types that rasad does not trust: {', '.join(map(repr, refused))}. "
            "Loading a model runs code from its types, so each one is a trust decision: if you "
            "trust that code, add each name (or its package prefix ending in '.', such as "
            f"'{package}.') to registry.trusted_types in rasad.yaml."
        )


def load_model(
    data: bytes,
    trusted: Iterable[str],
    prefixes: Iterable[str] = DEFAULT_TRUSTED_PREFIXES,
) -> Any:
    """Load a skops model after checking every type it holds.

    The untrusted types are read again from ``data`` itself; nothing is built
    until each of them is both recorded in ``trusted`` and allowed by
    ``prefixes``.

    Parameters
    ----------
    data : bytes
        A skops archive from :func:`dump_model`.
    trusted : iterable of str
        The untrusted types recorded when the model was registered.
    prefixes : iterable of str
        The trust policy (see :func:`check_trusted`).

    Returns
    -------
    object
        The model.

    Raises
    ------
    UntrustedArtifactError
        If ``data`` holds a type not recorded in ``trusted`` or not allowed by
        the policy.
    InputError
        If ``data`` is not a skops archive.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> data, untrusted = dump_model(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0]))
    >>> load_model(data, untrusted).predict([[2.0]])
    array([5.])
    """
    try:
        found = sorted(skops.io.get_untrusted_types(data=data))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InputError(
            f"These {len(data)} bytes are not a skops model archive ({error}); "
            "a model must be saved with rasad.registry's dump_model."
        ) from error
    recorded = set(trusted)
    unrecorded = [name for name in found if name not in recorded]
    if unrecorded:
        raise UntrustedArtifactError(
            f"The model bytes hold types that were not recorded when it was registered: "
            f"{', '.join(map(repr, unrecorded))}. The artifact does not match its registration; "
            "do not load it, and register the model again from a training run."
        )
    check_trusted(found, prefixes)
    return skops.io.loads(data, trusted=found)


__all__ = [
    "DEFAULT_TRUSTED_PREFIXES",
    "check_trusted",
    "dump_model",
    "is_trusted",
    "load_model",
]
