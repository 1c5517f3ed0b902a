"""The allow-list's contents, built afresh, and the look-up rules, case by case.

Written against the mutants mutation testing left alive (docs/testing.md). The allow-list
is cached per process, so each test here starts from an empty cache: a change to how a
library's classes are enumerated must show in these tests, not only in whichever test
happened to build the list first.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest

from rasad.artifacts import skops as _skops
from rasad.artifacts.skops import library_classes, trusted_by_default, trusted_by_user
from rasad.errors import UntrustedArtifactError


@pytest.fixture(autouse=True)
def _fresh_allow_list() -> Iterator[None]:
    library_classes.cache_clear()
    yield
    library_classes.cache_clear()


# Every class _sklearn_classes names, and one member of each family it enumerates by base.
SKLEARN_INTERNALS = [
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.gaussian_process.kernels.RBF",
    "sklearn.gaussian_process.kernels.Sum",
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn.metrics._dist_metrics.DistanceMetric",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._scorer._PassthroughScorer",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedShuffleSplit",
    "sklearn.multiclass._ConstantPredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.utils._bunch.Bunch",
    "sklearn.ensemble._forest.RandomForestClassifier",
]

OTHER_LIBRARIES = [
    "numpy.dtype", "numpy.ndarray", "numpy.ma.MaskedArray", "numpy.float64", "numpy.int8",
    "numpy.dtypes.Float64DType", "numpy.random._generator.Generator",
    "numpy.random.mtrand.RandomState", "numpy.random.bit_generator.SeedSequence",
    "numpy.random._pcg64.PCG64", "numpy.random._mt19937.MT19937",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csr.csr_array", "scipy.sparse._coo.coo_matrix",
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRanker",
    "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRanker",
    "collections.OrderedDict",
]


@pytest.mark.parametrize("name", SKLEARN_INTERNALS + OTHER_LIBRARIES)
def test_each_family_of_the_allow_list_is_trusted_from_a_cold_cache(name: str) -> None:
    assert trusted_by_default(name)
    assert name in library_classes(name.partition(".")[0])


@pytest.mark.parametrize("name", [
    # Bases and helpers that are not models, in modules the allow-list enumerates.
    "sklearn.base.BaseEstimator", "sklearn.gaussian_process.kernels.Hyperparameter",
    "sklearn.tree._tree.TreeBuilder", "sklearn.utils._testing.TempMemmap",
    "numpy.random.BitGenerator", "numpy.memmap", "numpy.vectorize", "numpy.lib.npyio.NpzFile",
    "scipy.sparse.spmatrix", "scipy.sparse._sputils.matrix", "collections.Counter",
    "collections.defaultdict", "lightgbm.basic.Dataset", "xgboost.core.DMatrix",
    "lightgbm.sklearn.LGBMModel.fit", "xgboost.sklearn.XGBModel.fit",
])
def test_what_is_not_a_model_class_stays_untrusted(name: str) -> None:
    assert not trusted_by_default(name)


def test_an_enumerated_family_keeps_only_classes_defined_in_its_module() -> None:
    from sklearn.model_selection import _split

    found = _skops._classes_in("sklearn.model_selection._split", _split.BaseCrossValidator)
    assert _split.KFold in found and _split.LeaveOneOut in found
    assert all(cls.__module__ == "sklearn.model_selection._split" for cls in found)
    assert _skops._classes_in("sklearn.multiclass", names=["_ConstantPredictor", "Nope"]) == [
        sys.modules["sklearn.multiclass"]._ConstantPredictor]
    assert _skops._classes_in("rasad_no_such_module", names=["X"]) == []


def test_look_up_reads_the_module_attribute_and_imports_only_when_allowed() -> None:
    assert _skops._lookup("collections.OrderedDict", may_import=False) is __import__(
        "collections").OrderedDict
    assert _skops._lookup("OrderedDict", may_import=True) is None  # no module part
    assert _skops._lookup("collections.NoSuch", may_import=True) is None
    assert _skops._lookup("rasad_no_such_module.X", may_import=True) is None
    sys.modules.pop("this", None)
    assert _skops._lookup("this.s", may_import=False) is None  # not imported: not looked up
    assert "this" not in sys.modules


def test_a_library_whose_build_gives_a_mislabelled_class_leaves_it_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = type("Impostor", (), {"__module__": "numpy"})  # numpy.Impostor does not exist
    foreign = type("Foreign", (), {"__module__": "collections"})
    foreign.__module__ = "os"  # a class of another package offered by this library's builder
    monkeypatch.setitem(_skops._LIBRARIES, "numpy", lambda: [np.ndarray, impostor, foreign])
    assert library_classes("numpy") == {"numpy.ndarray": np.ndarray}


@pytest.mark.parametrize(("entries", "name", "trusted"), [
    (["collections.Counter"], "collections.Counter", True),
    (("collections.Counter",), "collections.Counter", True),
    (["collections.Counter"], "collections.CounterX", False),
    (["collections.Counter"], "collections.Count", False),
    (["collections.C"], "collections.Counter", False),
    (["collections.Counter", "json.dumps"], "json.dumps", True),
    (["collections.*"], "collections.Counter", False),
    ([""], "collections.Counter", False),
])
def test_user_entries_are_exact_names(entries: object, name: str, trusted: bool) -> None:
    assert trusted_by_user(name, entries) is trusted  # type: ignore[arg-type]
    assert (_skops.decide([name], entries).user == (name,)) is trusted  # type: ignore[arg-type]


def test_rasad_functions_are_its_own_two_converters() -> None:
    from rasad.training import pipeline

    assert _skops.RASAD_FUNCTIONS == (
        f"{pipeline.__name__}.{pipeline.booleans_as_float.__qualname__}",
        f"{pipeline.__name__}.{pipeline.categories_as_text.__qualname__}")
    for name in _skops.RASAD_FUNCTIONS + _skops.RASAD_CLASSES:
        assert trusted_by_default(name), name
    assert not trusted_by_default("rasad.training.pipeline.make_pipeline")
    assert not trusted_by_default("rasad.governance.fairness.mitigation.np")


def test_a_refused_name_that_is_neither_class_nor_function_is_described() -> None:
    import math  # noqa: F401  (the explanation only looks at modules already imported)

    with pytest.raises(UntrustedArtifactError) as caught:
        _skops.check_trusted(["sklearn.utils._testing.os", "math.pi"])
    assert str(caught.value).startswith(
        "The model holds types that rasad does not trust: 'math.pi' (the object float under "
        "another module's name, refused even if listed), 'sklearn.utils._testing.os' (the "
        "object module under another module's name, refused even if listed). ")


@pytest.mark.parametrize("name", [
    "threading._counter",  # a method-wrapper: a routine without __module__
    "numpy._globals._signature_descriptor",  # a routine without __qualname__
])
def test_routines_without_their_own_names_are_refused_not_errors(name: str) -> None:
    import threading  # noqa: F401

    import numpy._globals  # noqa: F401

    assert not trusted_by_user(name, [name])
    assert _skops.decide([name], [name]).refused == (name,)
