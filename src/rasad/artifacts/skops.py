"""Model bytes with skops: save, and load only what the trust policy allows.

rasad never unpickles a model. :func:`dump_model` writes a fitted pipeline in the
skops format, which records every object as data plus the name of its type.
skops itself builds only types it trusts out of the box (Python builtins,
NumPy arrays and ufuncs, scikit-learn's public estimators); every other type
name is *untrusted* and must be named explicitly when loading. rasad allows such
a name only when it passes two checks:

1. the trust policy (:func:`decide`): the name is on rasad's exact allow-list of
   classes, or the project lists it in ``registry.trusted_types``, and
2. the registration record: it was among the untrusted types recorded when the
   model was registered (:func:`check_model`), so bytes swapped in later cannot
   bring a new type in.

**The allow-list holds classes, never functions, and never prefixes.** It is
enumerated from the installed libraries (:func:`trusted_by_default`): every
scikit-learn estimator (``sklearn.utils.all_estimators``) plus the internal
classes fitted models hold (trees, losses, kernels, optimizers...), the model
classes and boosters of LightGBM and XGBoost, NumPy's dtypes, scalar types and
random generators, SciPy's sparse matrices and arrays, ``collections.OrderedDict``
and rasad's fairness-mitigated classifiers. Each is keyed by the class's own
``__module__`` and ``__qualname__``, and a name in a file counts only if looking
it up the way skops will (the module's own attribute) gives that very class. So
``sklearn.utils._testing.check_output``, which is ``subprocess.check_output``
imported into a scikit-learn module, is refused: it is a function, and its own
name is not the one in the file. The only functions rasad trusts are the two
converters of its default pipeline (:data:`RASAD_FUNCTIONS`), each named here as data
and checked like a class: the name must look up a function defined under that very
name, so this module stays below the training code that defines them.

Checking never imports a module outside the trusted libraries: a name from any
other package is refused without being looked up, unless the project lists it
exactly, which is the user's decision to run that code (see
``docs/model-trust.md``; registering or promoting such a model is audited).

LightGBM and XGBoost models need no special handling: skops stores a LightGBM
``Booster`` as LightGBM's text model and an XGBoost ``Booster`` as XGBoost's
own binary model format, both through the libraries' ``__getstate__``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import skops.io

from rasad.errors import InputError, IntegrityError, UntrustedArtifactError

TRUSTED_LIBRARIES: Final[tuple[str, ...]] = (
    "collections", "lightgbm", "numpy", "scipy", "sklearn", "xgboost",
)
"""Top-level packages whose classes the allow-list enumerates (and whose modules a
check may import to look a name up). rasad's own names are listed one by one below."""

RASAD_CLASSES: Final[tuple[str, ...]] = (
    "rasad.governance.fairness.mitigation.ExponentiatedGradientClassifier",
    "rasad.governance.fairness.mitigation.ThresholdOptimizedClassifier",
)
"""rasad's own model classes: fairness-mitigated classifiers, which hold only
scikit-learn models and NumPy arrays."""

RASAD_FUNCTIONS: Final[tuple[str, ...]] = (
    "rasad.training.pipeline.booleans_as_float",
    "rasad.training.pipeline.categories_as_text",
)
"""The only functions trusted without configuration: the converters of rasad's
default pipeline. Saved models refer to them by these names, so they stay functions
(turning them into classes would break every stored model); a name counts only if it
looks up a function whose own module and qualname are that name."""


def full_name(obj: Any) -> str:
    """The name skops records for a class or function: its own module and qualname.

    Examples
    --------
    >>> from collections import OrderedDict
    >>> full_name(OrderedDict)
    'collections.OrderedDict'
    """
    return f"{obj.__module__}.{obj.__qualname__}"


def _lookup(name: str, *, may_import: bool) -> Any:
    """What skops gets for ``name``: the module's own attribute after the last dot.

    Nothing is imported unless ``may_import``; the attribute is read from the
    module's namespace, so no module ``__getattr__`` runs either.
    """
    module_name, _, attribute = name.rpartition(".")
    if not module_name:
        return None
    module = sys.modules.get(module_name)
    if module is None and may_import:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # any failure to import means the name is not usable
            return None
    return None if module is None else vars(module).get(attribute)


def _classes_in(module_name: str, base: type | None = None,
                names: Iterable[str] = ()) -> list[type]:
    """Classes defined in a module: the given ``names``, or all subclasses of ``base``."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    found = [vars(module)[name] for name in names if name in vars(module)]
    if base is not None:
        found += [obj for obj in vars(module).values()
                  if isinstance(obj, type) and issubclass(obj, base)
                  and obj.__module__ == module_name]
    return found


def _sklearn_classes() -> list[type]:
    from sklearn._loss.link import BaseLink
    from sklearn._loss.loss import BaseLoss
    from sklearn.gaussian_process.kernels import Kernel
    from sklearn.metrics._dist_metrics import DistanceMetric
    from sklearn.model_selection._split import BaseCrossValidator, BaseShuffleSplit
    from sklearn.utils import all_estimators

    # The internal classes fitted estimators hold, found by saving each model family
    # with skops and collecting the type names it reports as untrusted.
    return [
        *(cls for _, cls in all_estimators()),
        *_classes_in("sklearn.tree._tree", names=["Tree"]),
        *_classes_in("sklearn.ensemble._hist_gradient_boosting.predictor",
                     names=["TreePredictor"]),
        *_classes_in("sklearn.ensemble._hist_gradient_boosting.binning", names=["_BinMapper"]),
        *_classes_in("sklearn._loss.loss", BaseLoss),
        *_classes_in("sklearn._loss.link", BaseLink, names=["Interval"]),
        *_classes_in("sklearn.calibration", names=["_CalibratedClassifier",
                                                   "_SigmoidCalibration"]),
        *_classes_in("sklearn.gaussian_process.kernels", Kernel),
        *_classes_in("sklearn.gaussian_process._gpc",
                     names=["_BinaryGaussianProcessClassifierLaplace"]),
        *_classes_in("sklearn.metrics._dist_metrics", DistanceMetric),
        *_classes_in("sklearn.metrics._scorer", names=["_PassthroughScorer"]),
        *_classes_in("sklearn.model_selection._split", BaseCrossValidator),
        *_classes_in("sklearn.model_selection._split", BaseShuffleSplit),
        *_classes_in("sklearn.multiclass", names=["_ConstantPredictor"]),
        *_classes_in("sklearn.neighbors._kd_tree", names=["KDTree"]),
        *_classes_in("sklearn.neighbors._ball_tree", names=["BallTree"]),
        *_classes_in("sklearn.neural_network._stochastic_optimizers",
                     names=["AdamOptimizer", "SGDOptimizer"]),
        *_classes_in("sklearn.utils._bunch", names=["Bunch"]),
    ]


def _numpy_classes() -> list[type]:
    import numpy as np
    import numpy.dtypes

    bit_generators = [obj for obj in vars(np.random).values()
                      if isinstance(obj, type) and issubclass(obj, np.random.BitGenerator)]
    return [
        np.dtype, np.ndarray, np.ma.MaskedArray,
        *(t for t in np.sctypeDict.values() if isinstance(t, type)),
        *(t for t in vars(numpy.dtypes).values() if isinstance(t, type)
          and issubclass(t, np.dtype)),
        np.random.Generator, np.random.RandomState, np.random.SeedSequence, *bit_generators,
    ]


def _scipy_classes() -> list[type]:
    import scipy.sparse

    bases = (scipy.sparse.spmatrix, scipy.sparse.sparray)
    return [obj for obj in vars(scipy.sparse).values()
            if isinstance(obj, type) and issubclass(obj, bases)]


def _lightgbm_classes() -> list[type]:
    try:
        import lightgbm.sklearn
    except ImportError:
        return []
    return [lightgbm.Booster, *_classes_in("lightgbm.sklearn", lightgbm.sklearn.LGBMModel)]


def _xgboost_classes() -> list[type]:
    try:
        import xgboost.sklearn
    except ImportError:
        return []
    return [xgboost.Booster, *_classes_in("xgboost.sklearn", xgboost.sklearn.XGBModel)]


def _collections_classes() -> list[type]:
    import collections

    return [collections.OrderedDict]


_LIBRARIES: Final[Mapping[str, Callable[[], list[type]]]] = {
    "collections": _collections_classes,
    "lightgbm": _lightgbm_classes,
    "numpy": _numpy_classes,
    "scipy": _scipy_classes,
    "sklearn": _sklearn_classes,
    "xgboost": _xgboost_classes,
}


@functools.cache
def library_classes(package: str) -> Mapping[str, type]:
    """The allow-listed classes of one trusted library, by :func:`full_name`.

    Built on first use and cached, so importing rasad (or checking a model that
    holds no LightGBM type) never pays for enumerating LightGBM. A class that its
    own name does not look up (skops could not load it) is left out.

    Parameters
    ----------
    package : str
        A top-level package from :data:`TRUSTED_LIBRARIES`; any other gives ``{}``.

    Returns
    -------
    mapping of str to type

    Examples
    --------
    >>> classes = library_classes("sklearn")
    >>> classes["sklearn.tree._tree.Tree"].__name__
    'Tree'
    >>> "sklearn.utils._testing.check_output" in classes
    False
    >>> library_classes("os")
    {}
    """
    build = _LIBRARIES.get(package)
    if build is None:
        return {}
    classes = {}
    for cls in build():
        name = full_name(cls)
        if name.partition(".")[0] == package and _lookup(name, may_import=True) is cls:
            classes[name] = cls
    return classes


def trusted_by_default(name: str) -> bool:
    """Return whether rasad's allow-list trusts a type name, without configuration.

    Parameters
    ----------
    name : str
        A full name as a skops archive records it (``module.Name``).

    Returns
    -------
    bool
        True only for an allow-listed class looked up under its own name, or one of
        :data:`RASAD_FUNCTIONS` looked up under its own name.

    Examples
    --------
    >>> trusted_by_default("sklearn.tree._tree.Tree")
    True
    >>> trusted_by_default("sklearn.tree._tree.TreeX"), trusted_by_default("sklearn.tree._tree")
    (False, False)
    >>> trusted_by_default("sklearn.utils._testing.check_output")  # subprocess.check_output
    False
    >>> trusted_by_default("rasad.training.pipeline.categories_as_text")
    True
    """
    if name in RASAD_FUNCTIONS:
        return _is_own_name(_lookup(name, may_import=True), name, functions=True)
    if name in RASAD_CLASSES:
        return _is_own_name(_lookup(name, may_import=True), name, functions=False)
    package = name.partition(".")[0]
    cls = library_classes(package).get(name)
    return cls is not None and _lookup(name, may_import=False) is cls


def _is_own_name(obj: Any, name: str, *, functions: bool) -> bool:
    kind_ok = isinstance(obj, type) or (functions and inspect.isroutine(obj))
    return kind_ok and getattr(obj, "__module__", None) is not None and (
        f"{obj.__module__}.{getattr(obj, '__qualname__', '')}" == name)


def trusted_by_user(name: str, user_trusted: Iterable[str]) -> bool:
    """Return whether a project's ``registry.trusted_types`` trusts a name.

    An entry is one exact name, never a prefix. It counts only if the name looks
    up (importing its module: listing it is the decision to run that code) a class
    or function whose own ``__module__`` and ``__qualname__`` are that name, so a
    re-export such as ``sklearn.utils._testing.check_output`` stays refused even
    when listed; its real name (``subprocess.check_output``) can be listed instead.

    Parameters
    ----------
    name : str
        A type name from a skops archive.
    user_trusted : iterable of str
        The project's ``registry.trusted_types``.

    Returns
    -------
    bool

    Examples
    --------
    >>> trusted_by_user("collections.Counter", ["collections.Counter"])
    True
    >>> trusted_by_user("collections.Counter", ["collections."])
    False
    >>> trusted_by_user("sklearn.utils._testing.check_output",
    ...                 ["sklearn.utils._testing.check_output"])
    False
    """
    if name not in set(user_trusted):
        return False
    return _is_own_name(_lookup(name, may_import=True), name, functions=True)


@dataclass(frozen=True)
class TrustDecision:
    """How the trust policy sorted the untrusted type names of one model.

    ``default`` names are on rasad's allow-list; ``user`` names are allowed only by
    the project's ``registry.trusted_types`` (such a decision is audited when a
    model relying on it is registered or promoted); ``refused`` names are neither.
    """

    default: tuple[str, ...]
    user: tuple[str, ...]
    refused: tuple[str, ...]

    @property
    def types(self) -> list[str]:
        """Every name that was decided, sorted."""
        return sorted((*self.default, *self.user, *self.refused))


def decide(types: Iterable[str], user_trusted: Iterable[str] = ()) -> TrustDecision:
    """Sort type names into allowed by rasad, allowed by the project, and refused.

    Parameters
    ----------
    types : iterable of str
        Type names, as :func:`dump_model` reports them.
    user_trusted : iterable of str
        The project's ``registry.trusted_types`` (exact names).

    Returns
    -------
    TrustDecision

    Examples
    --------
    >>> decide(["sklearn.tree._tree.Tree", "collections.Counter", "os.system"],
    ...        user_trusted=["collections.Counter"])  # doctest: +NORMALIZE_WHITESPACE
    TrustDecision(default=('sklearn.tree._tree.Tree',), user=('collections.Counter',),
                  refused=('os.system',))
    """
    entries = tuple(user_trusted)
    default: list[str] = []
    user: list[str] = []
    refused: list[str] = []
    for name in sorted(set(types)):
        if trusted_by_default(name):
            default.append(name)
        elif trusted_by_user(name, entries):
            user.append(name)
        else:
            refused.append(name)
    return TrustDecision(tuple(default), tuple(user), tuple(refused))


def _why(name: str) -> str:
    # Only modules already imported are consulted: explaining a refusal must not
    # import a module the file names.
    obj = _lookup(name, may_import=False)
    if obj is None or _is_own_name(obj, name, functions=True):
        return repr(name) + (" (a function)" if inspect.isroutine(obj) else "")
    kind = "class" if isinstance(obj, type) else "function" if inspect.isroutine(obj) else "object"
    real = full_name(obj) if hasattr(obj, "__qualname__") else type(obj).__name__
    return f"{name!r} (the {kind} {real} under another module's name, refused even if listed)"


def check_trusted(types: Iterable[str], user_trusted: Iterable[str] = ()) -> TrustDecision:
    """Refuse type names that the trust policy does not allow.

    Parameters
    ----------
    types : iterable of str
        Type names, as :func:`dump_model` reports them.
    user_trusted : iterable of str
        The project's ``registry.trusted_types`` (see :func:`trusted_by_user`).

    Returns
    -------
    TrustDecision
        With nothing refused.

    Raises
    ------
    UntrustedArtifactError
        Naming each type that is not allowed and how to allow it.

    Examples
    --------
    >>> check_trusted(["sklearn.tree._tree.Tree", "lightgbm.basic.Booster"]).user
    ()
    >>> check_trusted(["mylib.models.Ranker"])
    Traceback (most recent call last):
    ...
    rasad.errors.UntrustedArtifactError: The model holds types that rasad does not trust: \
'mylib.models.Ranker'. Loading a model runs code from its types, so each one is a trust \
decision: if you trust that code, add each name exactly as written here to \
registry.trusted_types in rasad.yaml (see docs/model-trust.md).
    """
    decision = decide(types, user_trusted)
    if decision.refused:
        raise UntrustedArtifactError(
            "The model holds types that rasad does not trust: "
            f"{', '.join(_why(name) for name in decision.refused)}. Loading a model runs "
            "code from its types, so each one is a trust decision: if you trust that code, "
            "add each name exactly as written here to registry.trusted_types in rasad.yaml "
            "(see docs/model-trust.md)."
        )
    return decision


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


def untrusted_types(data: bytes) -> list[str]:
    """Read the untrusted type names out of a skops archive without building anything.

    Parameters
    ----------
    data : bytes
        Stored model bytes.

    Returns
    -------
    list of str
        Sorted.

    Raises
    ------
    IntegrityError
        If ``data`` is not a skops archive (a pickle, say, or a damaged zip).

    Examples
    --------
    >>> untrusted_types(b"\\x80\\x04not a zip")
    Traceback (most recent call last):
    ...
    rasad.errors.IntegrityError: These 11 bytes are not a skops model archive (File is not \
a zip file); rasad stores models only with skops and will not read them. Register the \
model again from a training run.
    """
    try:
        return sorted(skops.io.get_untrusted_types(data=data))
    except Exception as error:  # a malformed archive fails anywhere in skops' parser
        reason = str(error) or type(error).__name__
        raise IntegrityError(
            f"These {len(data)} bytes are not a skops model archive ({reason}); rasad "
            "stores models only with skops and will not read them. Register the model "
            "again from a training run."
        ) from error


def check_model(data: bytes, recorded: Iterable[str],
                user_trusted: Iterable[str] = ()) -> TrustDecision:
    """Everything :func:`load_model` checks before it builds anything.

    Parameters
    ----------
    data : bytes
        Stored model bytes (their hash already checked by the artifact store).
    recorded : iterable of str
        The untrusted types recorded when the model was saved or registered.
    user_trusted : iterable of str
        The project's ``registry.trusted_types``.

    Returns
    -------
    TrustDecision
        Over the types found in ``data``.

    Raises
    ------
    IntegrityError
        If ``data`` is not a skops archive.
    UntrustedArtifactError
        If ``data`` holds a type that is not recorded or not allowed by the policy.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> data, untrusted = dump_model(DecisionTreeRegressor().fit([[0.0], [1.0]], [0.0, 1.0]))
    >>> check_model(data, untrusted).default
    ('sklearn.tree._tree.Tree',)
    >>> check_model(data, [])
    Traceback (most recent call last):
    ...
    rasad.errors.UntrustedArtifactError: The model bytes hold types that were not recorded \
when it was registered: 'sklearn.tree._tree.Tree'. The artifact does not match its \
registration; do not load it, and register the model again from a training run.
    """
    found = untrusted_types(data)
    known = set(recorded)
    unrecorded = [name for name in found if name not in known]
    if unrecorded:
        raise UntrustedArtifactError(
            f"The model bytes hold types that were not recorded when it was registered: "
            f"{', '.join(map(repr, unrecorded))}. The artifact does not match its registration; "
            "do not load it, and register the model again from a training run."
        )
    return check_trusted(found, user_trusted)


def load_model(data: bytes, trusted: Iterable[str], user_trusted: Iterable[str] = ()) -> Any:
    """Load a skops model after checking every type it holds.

    The untrusted types are read again from ``data`` itself; nothing is built
    until each of them is both recorded in ``trusted`` and allowed by the policy
    (:func:`check_model`).

    Parameters
    ----------
    data : bytes
        A skops archive from :func:`dump_model`.
    trusted : iterable of str
        The untrusted types recorded when the model was registered.
    user_trusted : iterable of str
        The project's ``registry.trusted_types``.

    Returns
    -------
    object
        The model.

    Raises
    ------
    UntrustedArtifactError
        If ``data`` holds a type not recorded in ``trusted`` or not allowed by
        the policy.
    IntegrityError
        If ``data`` is not a skops archive.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> data, untrusted = dump_model(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0]))
    >>> load_model(data, untrusted).predict([[2.0]])
    array([5.])
    """
    decision = check_model(data, trusted, user_trusted)
    return skops.io.loads(data, trusted=decision.types)


__all__ = [
    "RASAD_CLASSES",
    "RASAD_FUNCTIONS",
    "TRUSTED_LIBRARIES",
    "TrustDecision",
    "check_model",
    "check_trusted",
    "decide",
    "dump_model",
    "full_name",
    "library_classes",
    "load_model",
    "trusted_by_default",
    "trusted_by_user",
    "untrusted_types",
]
