"""Tests for rasad.artifacts.skops: real pipelines round-trip; untrusted types are refused."""

from __future__ import annotations

import importlib
import io
import sys

import numpy as np
import pandas as pd
import pytest
import skops.io
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from xgboost import XGBClassifier

from rasad.artifacts import skops as _skops
from rasad.artifacts.skops import (
    RASAD_CLASSES,
    RASAD_FUNCTIONS,
    check_trusted,
    dump_model,
    load_model,
    trusted_by_default,
)
from rasad.errors import InputError, IntegrityError, UntrustedArtifactError
from rasad.training.pipeline import build_pipeline


class MajorityClassifier(ClassifierMixin, BaseEstimator):
    """A model whose code lives outside the allowlist, as a user's own class would."""

    def fit(self, X, y):  # noqa: N803
        values, counts = np.unique(y, return_counts=True)
        self.classes_ = values
        self.majority_ = values[counts.argmax()]
        return self

    def predict(self, X):  # noqa: N803
        return np.full(len(X), self.majority_)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(4)
    rows = 60
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 20, rows),
            "region": pd.Series(rng.choice(["north", "south", "east"], rows), dtype="str"),
            "active": pd.array(rng.choice([True, False], rows), dtype="boolean"),
        }
    )
    frame.loc[[2, 7], "amount"] = None
    frame.loc[[3, 9], "region"] = None
    frame.loc[[4], "active"] = None
    target = (frame["amount"].fillna(100).to_numpy() > 100).astype(int)
    return frame, target


def _fit(estimator, data):
    frame, target = data
    if not hasattr(estimator, "predict_proba"):
        target = target * 2.5 + frame["amount"].fillna(0).to_numpy() / 100
    return build_pipeline(["amount"], ["region"], ["active"], estimator).fit(frame, target)


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
        RandomForestRegressor(n_estimators=5, random_state=0),
        LGBMClassifier(n_estimators=10, min_child_samples=5, n_jobs=1, verbose=-1),
        XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, verbosity=0),
    ],
    ids=["logistic", "hist_gradient_boosting", "random_forest", "lightgbm", "xgboost"],
)
def test_fitted_pipelines_round_trip_and_predict_identically(estimator, data) -> None:
    frame, _ = data
    pipeline = _fit(estimator, data)
    blob, untrusted = dump_model(pipeline)
    assert untrusted == sorted(untrusted)
    check_trusted(untrusted)
    loaded = load_model(blob, untrusted)
    assert type(loaded.named_steps["model"]) is type(estimator)
    unseen = frame.assign(region=["west"] * len(frame))
    for rows in (frame, unseen):
        np.testing.assert_array_equal(loaded.predict(rows), pipeline.predict(rows))
        if hasattr(pipeline, "predict_proba"):
            np.testing.assert_array_equal(loaded.predict_proba(rows), pipeline.predict_proba(rows))


def test_lightgbm_pipeline_reports_exactly_its_untrusted_types(data) -> None:
    pipeline = _fit(LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1), data)
    _, untrusted = dump_model(pipeline)
    assert untrusted == [
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "numpy.dtype",
        "rasad.training.pipeline.booleans_as_float",
        "rasad.training.pipeline.categories_as_text",
    ]


def test_custom_class_is_refused_at_check_and_at_load(data, monkeypatch) -> None:
    pipeline = _fit(MajorityClassifier(), data)
    blob, untrusted = dump_model(pipeline)
    custom = f"{__name__}.MajorityClassifier"
    assert custom in untrusted
    with pytest.raises(UntrustedArtifactError) as info:
        check_trusted(untrusted)
    message = str(info.value)
    assert repr(custom) in message and "registry.trusted_types" in message
    assert "rasad.training" not in message  # allowed types are not blamed

    def never(*args, **kwargs):
        raise AssertionError("skops.io.loads must not run for an untrusted artifact")

    monkeypatch.setattr(skops.io, "loads", never)
    with pytest.raises(UntrustedArtifactError, match="does not trust"):
        load_model(blob, trusted=untrusted)


def test_custom_class_loads_once_the_project_trusts_it(data) -> None:
    frame, _ = data
    pipeline = _fit(MajorityClassifier(), data)
    blob, untrusted = dump_model(pipeline)
    loaded = load_model(blob, untrusted, user_trusted=[f"{__name__}.MajorityClassifier"])
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame))


def test_types_missing_from_the_registration_record_are_refused(data, monkeypatch) -> None:
    pipeline = _fit(RandomForestRegressor(n_estimators=2, random_state=0), data)
    blob, untrusted = dump_model(pipeline)
    monkeypatch.setattr(skops.io, "loads", lambda *a, **k: pytest.fail("loads must not run"))
    recorded = [name for name in untrusted if name != "sklearn.tree._tree.Tree"]
    with pytest.raises(
        UntrustedArtifactError,
        match="not recorded when it was registered: 'sklearn.tree._tree.Tree'",
    ):
        load_model(blob, trusted=recorded)


def test_every_unrecorded_type_is_named(data, monkeypatch) -> None:
    pipeline = _fit(RandomForestRegressor(n_estimators=2, random_state=0), data)
    blob, untrusted = dump_model(pipeline)
    assert len(untrusted) >= 2
    monkeypatch.setattr(skops.io, "loads", lambda *a, **k: pytest.fail("loads must not run"))
    with pytest.raises(UntrustedArtifactError) as caught:
        load_model(blob, trusted=[])
    assert str(caught.value) == (
        "The model bytes hold types that were not recorded when it was registered: "
        f"{', '.join(map(repr, untrusted))}. The artifact does not match its registration; "
        "do not load it, and register the model again from a training run.")


def test_a_parser_failure_without_a_message_is_named_by_its_type(monkeypatch) -> None:
    def fails(**_: object) -> list[str]:
        raise EOFError

    monkeypatch.setattr(skops.io, "get_untrusted_types", fails)
    with pytest.raises(IntegrityError, match=r"not a skops model archive \(EOFError\)"):
        _skops.untrusted_types(b"PK\x03\x04")


def test_an_object_skops_cannot_save_is_an_input_error_naming_it() -> None:
    with pytest.raises(InputError) as caught:
        dump_model({"buffer": io.BytesIO(b"x")})
    assert str(caught.value) == (
        "skops cannot save this dict: cannot pickle 'BytesIO' object. Use estimators and "
        "transformers from scikit-learn, LightGBM or XGBoost, or make the object serialisable "
        "by skops.")


def test_bytes_that_are_not_skops_are_an_integrity_error() -> None:
    with pytest.raises(IntegrityError, match="not a skops model archive") as info:
        load_model(b"\x80\x04not a zip", trusted=[])
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("sklearn.tree._tree.Tree", True),
        ("numpy.dtype", True),
        ("scipy.sparse._csr.csr_matrix", True),
        ("lightgbm.basic.Booster", True),
        ("xgboost.core.Booster", True),
        ("collections.OrderedDict", True),
        ("rasad.training.pipeline.categories_as_text", True),
        ("sklearnx.Evil", False),
        ("numpyish.load", False),
        ("builtins.eval", False),
        ("collections.Counter", False),
        ("rasad.training.pipeline.build_pipeline", False),
        ("os.system", False),
        ("sklearn.", False),
        ("sklearn.tree._tree.", False),
        ("numpy.random.", False),
    ],
)
def test_allowlist_holds_exact_names(name: str, allowed: bool) -> None:
    assert trusted_by_default(name) is allowed


def test_rasad_entries_name_its_real_objects() -> None:
    # Saved models refer to these paths; renaming one breaks every stored model.
    from rasad.governance.fairness import mitigation
    from rasad.training import pipeline

    assert RASAD_FUNCTIONS == (f"{pipeline.__name__}.booleans_as_float",
                               f"{pipeline.__name__}.categories_as_text")
    assert set(RASAD_CLASSES) == set(mitigation.TRUSTED_TYPES)
    for entry in (*RASAD_FUNCTIONS, *RASAD_CLASSES):
        module_name, _, attribute = entry.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute))
        assert trusted_by_default(entry)


@pytest.mark.parametrize("entry", [RASAD_FUNCTIONS[0], RASAD_CLASSES[0]])
def test_rasad_names_are_trusted_before_their_module_is_imported(entry, monkeypatch) -> None:
    """A process that checks a model before anything imported the module (a server's
    first request) still trusts rasad's own functions and classes: it is imported."""
    module_name, _, _ = entry.rpartition(".")
    package_name, _, attribute = module_name.rpartition(".")
    module = importlib.import_module(module_name)
    monkeypatch.delitem(sys.modules, module_name)
    # Put the package's attribute back afterwards, as sys.modules is.
    monkeypatch.setattr(importlib.import_module(package_name), attribute, module)
    assert trusted_by_default(entry)
    assert sys.modules[module_name] is not module  # it was imported anew


def test_never_uses_pickle() -> None:
    source = importlib.util.find_spec(_skops.__name__).origin
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    assert "import pickle" not in text and "pickle.load" not in text
