"""The trust policy of rasad.artifacts.skops, name by name: exact classes, no prefixes.

Each test pins one condition of the policy, so that weakening any of them (an exact
entry acting as a prefix, a function passing for a class, a look-up that imports what
it should not) fails a test here.
"""

from __future__ import annotations

import importlib
import inspect
import io
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from lightgbm import LGBMRanker
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import _tree
from sklearn.utils import all_estimators
from xgboost import XGBRanker

from rasad.artifacts.skops import (
    TRUSTED_LIBRARIES,
    TrustDecision,
    check_model,
    check_trusted,
    decide,
    dump_model,
    full_name,
    library_classes,
    load_model,
    trusted_by_default,
    trusted_by_user,
    untrusted_types,
)
from rasad.errors import IntegrityError, UntrustedArtifactError

TREE = "sklearn.tree._tree.Tree"

# -- exact names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    TREE + "X", TREE + ".", TREE + ".__init__", TREE[:-1], "sklearn.tree._tree", "sklearn.tree",
    "sklearn", "Tree", "", ".", "x" + TREE, "sklearn.tree._tree.Tree.Tree",
])
def test_an_exact_entry_is_not_a_prefix_nor_a_suffix(name: str) -> None:
    assert trusted_by_default(TREE)
    assert not trusted_by_default(name)
    assert not trusted_by_user(name, [TREE])


def test_every_scikit_learn_estimator_is_trusted_under_its_own_name() -> None:
    for _, cls in all_estimators():
        assert trusted_by_default(full_name(cls)), full_name(cls)


def test_no_function_in_any_trusted_library_is_trusted_except_rasads_two() -> None:
    trusted_functions = []
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.partition(".")[0] not in TRUSTED_LIBRARIES:
            continue
        for attribute, value in list(vars(module).items()):
            if inspect.isroutine(value) and not isinstance(value, np.ufunc):
                name = f"{module_name}.{attribute}"
                if trusted_by_default(name):
                    trusted_functions.append(name)
    assert trusted_functions == []
    assert trusted_by_default("rasad.training.pipeline.booleans_as_float")


@pytest.mark.parametrize("name", [
    "sklearn.utils._testing.check_output", "sklearn.datasets._california_housing.remove",
    "sklearn.utils.discovery.import_module", "sklearn.datasets._lfw.Memory",
    "sklearn.utils._testing.os", "sklearn.utils.discovery.importlib", "numpy.memmap",
    "numpy.load", "numpy.random.PCG64",  # PCG64's own module is numpy.random._pcg64
])
def test_objects_imported_into_trusted_libraries_are_refused(name: str) -> None:
    importlib.import_module(name.rpartition(".")[0])
    assert not trusted_by_default(name)


def test_library_classes_are_keyed_by_their_own_names() -> None:
    for package in TRUSTED_LIBRARIES:
        classes = library_classes(package)
        assert classes, package
        for name, cls in classes.items():
            assert isinstance(cls, type) and full_name(cls) == name
            assert name.startswith(package + ".")
    assert library_classes("os") == {} and library_classes("rasad") == {}
    assert "numpy.random._pcg64.PCG64" in library_classes("numpy")
    assert "scipy.sparse._csr.csr_array" in library_classes("scipy")


def test_a_class_is_trusted_only_while_its_name_looks_it_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert trusted_by_default(TREE)
    monkeypatch.setattr(_tree, "Tree", type("Tree", (), {"__module__": "sklearn.tree._tree"}))
    assert not trusted_by_default(TREE)  # the name now gives another class


def test_rasad_functions_are_trusted_only_under_their_own_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from rasad.training import pipeline

    name = "rasad.training.pipeline.categories_as_text"
    assert trusted_by_default(name)
    # A re-export under the trusted name (what a tampered install would show) is refused:
    # the object found must be defined under that very name.
    monkeypatch.setattr(pipeline, "categories_as_text", os.remove)
    assert not trusted_by_default(name)
    monkeypatch.setattr(pipeline, "categories_as_text", pipeline.booleans_as_float)
    assert not trusted_by_default(name)


def test_rasad_classes_must_be_classes_of_their_own_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rasad.governance.fairness import mitigation

    name = f"{mitigation.__name__}.ThresholdOptimizedClassifier"
    assert trusted_by_default(name)

    def function() -> None:
        return None

    function.__module__, function.__qualname__ = mitigation.__name__, "ThresholdOptimizedClassifier"
    monkeypatch.setattr(mitigation, "ThresholdOptimizedClassifier", function)
    assert not trusted_by_default(name)  # a function under a trusted class name
    other = type("ThresholdOptimizedClassifier", (), {"__module__": "elsewhere"})
    monkeypatch.setattr(mitigation, "ThresholdOptimizedClassifier", other)
    assert not trusted_by_default(name)  # a class whose own name differs


# -- the project's own entries ---------------------------------------------------------------


def test_a_user_entry_trusts_exactly_its_own_class_or_function() -> None:
    assert trusted_by_user("collections.Counter", ["collections.Counter"])
    assert trusted_by_user("json.dumps", ["json.dumps"])  # a function, listed on purpose
    assert not trusted_by_user("collections.Counter", [])
    assert not trusted_by_user("collections.Counter", ["collections.Counte"])
    assert not trusted_by_user("collections.Counter", ["collections."])
    assert not trusted_by_user("collections.Counter", ["collections"])
    assert not trusted_by_user("collections.Counter", ["collections.Counter.x"])
    assert not trusted_by_user("collections.abc", ["collections.abc"])  # a module
    assert not trusted_by_user("math.pi", ["math.pi"])  # neither class nor function
    assert not trusted_by_user("os.remove", ["os.remove"])  # it is posix.remove
    assert trusted_by_user(full_name(__import__("os").remove),
                           [full_name(__import__("os").remove)])
    assert not trusted_by_user("nosuchmodule.Thing", ["nosuchmodule.Thing"])
    assert not trusted_by_user("collections.NoSuch", ["collections.NoSuch"])


@pytest.fixture
def canary_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A package whose import creates a file: proof of what a check imported."""
    canary = tmp_path / "imported"
    package = tmp_path / "canarypkg"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(canary)!r}).touch()

        class Model:
            pass
    """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "canarypkg", raising=False)
    return "canarypkg.Model", canary


def test_checking_never_imports_a_module_nobody_trusted(canary_package: tuple[str, Path]
                                                        ) -> None:
    name, canary = canary_package
    assert not trusted_by_default(name)
    assert decide([name, "canarypkg.sub.Model"], ["other.Thing"]).refused == (
        "canarypkg.Model", "canarypkg.sub.Model")
    with pytest.raises(UntrustedArtifactError, match="'canarypkg.Model'"):
        check_trusted([name])
    assert not canary.exists()
    assert "canarypkg" not in sys.modules


def test_a_listed_name_is_imported_because_the_user_chose_to(
        canary_package: tuple[str, Path]) -> None:
    name, canary = canary_package
    assert decide([name], [name]) == TrustDecision((), (name,), ())
    assert canary.exists()


# -- decisions and messages -------------------------------------------------------------------


def test_decide_sorts_names_into_three_sorted_groups() -> None:
    decision = decide(["os.system", TREE, "collections.Counter", TREE, "numpy.dtype"],
                      ["collections.Counter", "os.system"])
    assert decision == TrustDecision(default=("numpy.dtype", TREE),
                                     user=("collections.Counter",), refused=("os.system",))
    assert decision.types == ["collections.Counter", "numpy.dtype", "os.system", TREE]
    assert decide([]) == TrustDecision((), (), ())


def test_a_default_name_is_not_counted_as_the_users_decision() -> None:
    assert decide([TREE], [TREE]) == TrustDecision((TREE,), (), ())


def test_check_trusted_returns_the_decision_and_names_only_refused_types() -> None:
    assert check_trusted([TREE, "collections.Counter"], ["collections.Counter"]).user == (
        "collections.Counter",)
    with pytest.raises(UntrustedArtifactError) as info:
        check_trusted([TREE, "collections.Counter", "sklearn.utils._testing.check_output"])
    message = str(info.value)
    assert "'collections.Counter'" in message and TREE not in message
    assert ("'sklearn.utils._testing.check_output' (the function subprocess.check_output "
            "under another module's name, refused even if listed)") in message
    assert "registry.trusted_types" in message and "docs/model-trust.md" in message
    assert info.value.exit_code == 1


def test_a_refused_function_and_class_are_described() -> None:
    with pytest.raises(UntrustedArtifactError) as info:
        check_trusted(["sklearn.datasets._lfw.Memory", "json.dumps"])
    message = str(info.value)
    assert "'json.dumps' (a function)" in message
    assert "the class joblib.memory.Memory under another module's name" in message


# -- archives ---------------------------------------------------------------------------------


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("data", [
    b"", b"\x80\x04K\x01.", b"PK\x03\x04broken", _zip({"other.json": b"{}"}),
    _zip({"schema.json": b"not json"}), _zip({"schema.json": b"[1, 2]"}),
    _zip({"schema.json": b'{"__class__": "X"}'}),
], ids=["empty", "pickle", "broken-zip", "no-schema", "bad-json", "list", "no-loader"])
def test_anything_but_a_skops_archive_is_an_integrity_error(data: bytes) -> None:
    with pytest.raises(IntegrityError, match=f"These {len(data)} bytes are not a skops model"):
        untrusted_types(data)
    with pytest.raises(IntegrityError):
        check_model(data, [])


def test_check_model_needs_every_found_type_recorded_and_allowed() -> None:
    model = RandomForestClassifier(n_estimators=2, random_state=0).fit([[0], [1]], [0, 1])
    data, untrusted = dump_model(model)
    assert untrusted == [TREE]
    assert check_model(data, [TREE]) == TrustDecision((TREE,), (), ())
    assert check_model(data, [TREE, "extra.Recorded"]).types == [TREE]  # extras are harmless
    with pytest.raises(UntrustedArtifactError, match=f"not recorded.*'{TREE}'"):
        check_model(data, [])
    with pytest.raises(UntrustedArtifactError, match=f"not recorded.*'{TREE}'"):
        check_model(data, [TREE + "X"])


# -- what real models hold --------------------------------------------------------------------


def _models() -> dict[str, object]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))  # noqa: N806
    y = (X[:, 0] > 0).astype(int)
    frame_columns = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), [0, 1]),
        ("onehot", OneHotEncoder(handle_unknown="ignore"), [2]),
        ("ordinal", OrdinalEncoder(), [2]),
    ])
    binned = np.column_stack([X[:, :2], rng.integers(0, 3, 80)])
    return {
        "hgb_classifier": HistGradientBoostingClassifier(max_iter=3).fit(X, y),
        "hgb_regressor": HistGradientBoostingRegressor(max_iter=3, loss="poisson")
        .fit(X, np.abs(X[:, 1])),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=2)
        .fit(X, rng.integers(0, 3, 80)),
        "column_transformer": Pipeline([("p", frame_columns), ("m", LogisticRegression())])
        .fit(binned, y),
        "knn": KNeighborsClassifier(algorithm="kd_tree").fit(X, y),
        "gaussian_process": GaussianProcessRegressor(RBF() + WhiteKernel()).fit(X, X[:, 1]),
        "calibrated": CalibratedClassifierCV(LogisticRegression(), cv=2).fit(X, y),
        "mlp": MLPClassifier(max_iter=3).fit(X, y),
        "lgbm_ranker": LGBMRanker(n_estimators=2, verbose=-1, min_child_samples=2)
        .fit(X, rng.integers(0, 3, 80), group=[40, 40]),
        "xgb_ranker": XGBRanker(n_estimators=2).fit(X, rng.integers(0, 3, 80),
                                                     qid=np.repeat([0, 1], 40)),
        "sparse": scipy.sparse.csr_array(np.eye(3)),
        "generator": np.random.default_rng(1),
    }


@pytest.mark.filterwarnings("ignore")
def test_model_families_hold_only_trusted_types_and_load() -> None:
    for label, model in _models().items():
        data, untrusted = dump_model(model)
        assert check_trusted(untrusted).refused == (), label
        loaded = load_model(data, untrusted)
        assert type(loaded) is type(model), label


def test_importing_the_module_builds_nothing_and_a_check_builds_only_its_library() -> None:
    code = textwrap.dedent("""
        import sys
        from rasad.artifacts import skops as _skops
        assert _skops.library_classes.cache_info().currsize == 0
        assert "xgboost" not in sys.modules and "lightgbm" not in sys.modules
        assert _skops.trusted_by_default("sklearn.tree._tree.Tree")
        assert "xgboost" not in sys.modules and "lightgbm" not in sys.modules
        assert _skops.library_classes.cache_info().currsize == 1
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
