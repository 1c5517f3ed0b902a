"""Prediction requests in, answers out: every request shape, every refusal, and the frames
the model gets, compared with what batch scoring feeds it for the same rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
import tritonclient.http as triton
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from rasad.errors import InputError
from rasad.examples import generate_portfolio
from rasad.serving.online.inputs import (
    OUTPUT_NAMES,
    Decoded,
    RequestProblem,
    decode_mlflow,
    decode_v2,
    encode_mlflow,
    encode_v2,
    parse_json,
    v2_metadata,
)
from rasad.tables.kinds import ColumnKind
from rasad.tables.signature import Signature
from rasad.training.pipeline import build_pipeline

NUMBERS = ["x0", "x1", "x2"]
MIXED_KINDS = {"income": ColumnKind.NUMERIC, "age": ColumnKind.NUMERIC,
               "employment_type": ColumnKind.CATEGORICAL, "debt_to_income": ColumnKind.NUMERIC,
               "region": ColumnKind.CATEGORICAL, "member": ColumnKind.BOOLEAN,
               "application_date": ColumnKind.DATETIME}
MIXED = list(MIXED_KINDS)


@pytest.fixture(scope="module")
def numeric() -> Signature:
    frame = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=NUMBERS)
    return Signature.from_frame(frame, dict.fromkeys(NUMBERS, ColumnKind.NUMERIC))


@pytest.fixture(scope="module")
def portfolio() -> pd.DataFrame:
    frame = generate_portfolio(months=1, rows_per_month=300, seed=3)
    frame["member"] = frame["age"] % 2 == 0
    # As a CSV file would hold them, and as JSON carries them.
    frame["application_date"] = frame["application_date"].dt.strftime("%Y-%m-%d")
    return frame


@pytest.fixture(scope="module")
def mixed(portfolio: pd.DataFrame) -> Signature:
    return Signature.from_frame(portfolio[MIXED], MIXED_KINDS)


@pytest.fixture(scope="module")
def pipeline(portfolio: pd.DataFrame, mixed: Signature) -> Any:
    """Trained as rasad trains: on the signature's coercion, with the default pipeline."""
    model = build_pipeline(
        numeric=["income", "age", "debt_to_income"], categorical=["employment_type", "region"],
        boolean=["member"], estimator=LogisticRegression(max_iter=500))
    return model.fit(mixed.coerce(portfolio[MIXED]), portfolio["default"])


@pytest.fixture
def rows(portfolio: pd.DataFrame) -> pd.DataFrame:
    """25 rows to score, with missing values and a region the model never saw."""
    rows = portfolio[MIXED].head(25).reset_index(drop=True).astype(object)
    rows.loc[3, "income"] = None
    rows.loc[5, "region"] = None
    rows.loc[6, "member"] = None
    rows.loc[7, "region"] = "Mars"
    rows.loc[8, "application_date"] = None
    return rows


def v2(*inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"inputs": list(inputs), **extra}


def tensor(name: str, shape: list[Any], data: Any, datatype: str = "FP64") -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def decode(body: Any, signature: Signature, *, max_rows: int = 100,
           strict: bool = False) -> Decoded:
    return decode_v2(body, signature, max_rows=max_rows, strict_categories=strict)


def mlflow(body: Any, signature: Signature, *, max_rows: int = 100,
           strict: bool = False) -> Decoded:
    return decode_mlflow(body, signature, max_rows=max_rows, strict_categories=strict)


def refused(call: Any, status: int, field: str | None, *words: str) -> RequestProblem:
    with pytest.raises(RequestProblem) as caught:
        call()
    problem = caught.value
    assert (problem.status, problem.field) == (status, field), problem.reason
    for word in words:
        assert word in problem.reason, problem.reason
    assert str(problem) == problem.reason
    return problem


def json_rows(frame: pd.DataFrame) -> list[list[Any]]:
    """Rows as a JSON client sends them: missing values as null."""
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in row]
            for row in frame.astype(object).itertuples(index=False)]


def v2_by_column(frame: pd.DataFrame, signature: Signature) -> dict[str, Any]:
    kinds = {spec.name: spec.kind for spec in signature.columns}
    datatypes = {ColumnKind.NUMERIC: "FP64", ColumnKind.BOOLEAN: "BOOL"}
    return v2(*[tensor(name, [len(frame), 1], [[v] for v in values],
                       datatypes.get(kinds[name], "BYTES"))
                for name, values in zip(frame.columns, zip(*json_rows(frame), strict=True),
                                        strict=True)])


# -- Open Inference Protocol: the shapes a client may send ----------------------------------


def test_one_tensor_flat_or_nested_gives_the_same_float_frame(numeric: Signature) -> None:
    expected = pd.DataFrame([[1.0, 2.0, 3.0], [4.0, 5.5, 6.0]], columns=NUMBERS)
    flat = tensor("input-0", [2, 3], [1, 2.0, 3, 4, 5.5, 6])
    nested = tensor("predict", [2, 3], [[1, 2.0, 3], [4, 5.5, 6]], "INT64")
    for body in (v2(flat), v2(nested), v2(flat, id="r1", parameters={"a": 1})):
        decoded = decode(body, numeric)
        pd.testing.assert_frame_equal(decoded.frame, expected)
        pd.testing.assert_frame_equal(decoded.frame, numeric.coerce(expected))
        assert decoded.raw is decoded.frame and decoded.outputs == ()
    assert decode(v2(flat, id="r1", parameters={"a": 1}), numeric).request_id == "r1"
    assert decode(v2(flat, id="r1", parameters={"a": 1}), numeric).parameters == {"a": 1}
    assert decode(v2(flat), numeric).parameters == {}
    assert decode(v2(flat), numeric).request_id is None


def test_null_is_a_missing_number(numeric: Signature) -> None:
    frame = decode(v2(tensor("t", [1, 3], [1, None, 3])), numeric).frame
    assert frame["x1"].isna().all() and frame["x0"].tolist() == [1.0]


def test_one_input_per_column_in_any_order_and_shape(numeric: Signature) -> None:
    expected = pd.DataFrame({"x0": [1.0, 2.0], "x1": [3.0, 4.0], "x2": [5.0, 6.0]})
    body = v2(tensor("x2", [2], [5, 6], "INT32"), tensor("x0", [2, 1], [[1], [2]]),
              tensor("x1", [2, 1], [3.0, 4.0], "FP32"))
    pd.testing.assert_frame_equal(decode(body, numeric).frame, expected)


def test_a_real_oip_client_body_decodes(numeric: Signature) -> None:
    values = np.array([[0.5, 1.5, 2.5], [3.0, 4.0, 5.0]])
    single = triton.InferInput("input-0", [2, 3], "FP64")
    single.set_data_from_numpy(values, binary_data=False)
    wanted = triton.InferRequestedOutput("predict_proba", binary_data=False)
    body, _ = triton.InferenceServerClient.generate_request_body(
        [single], outputs=[wanted], request_id="t-1")
    decoded = decode(parse_json(body), numeric)
    np.testing.assert_array_equal(decoded.frame.to_numpy(), values)
    assert (decoded.request_id, decoded.outputs) == ("t-1", ("predict_proba",))
    # The binary extension is named as such, not as a missing "data".
    binary = triton.InferInput("input-0", [2, 3], "FP64")
    binary.set_data_from_numpy(values)
    body, json_size = triton.InferenceServerClient.generate_request_body([binary])
    assert json_size is not None
    refused(lambda: decode(parse_json(body[:json_size]), numeric), 400, "inputs[0].data",
            "binary", "binary_data=False")


def test_extra_inputs_travel_in_raw_only(numeric: Signature) -> None:
    body = v2(tensor("x0", [2], [1, 2]), tensor("x1", [2], [3, 4]), tensor("x2", [2], [5, 6]),
              tensor("customer", [2], ["c-1", "c-2"], "BYTES"))
    decoded = decode(body, numeric)
    assert list(decoded.frame.columns) == NUMBERS
    assert decoded.raw["customer"].tolist() == ["c-1", "c-2"]
    assert decoded.raw[NUMBERS].equals(decoded.frame)
    # Beside one tensor of all the columns, too.
    body = v2(tensor("customer", [2, 1], [["c-1"], ["c-2"]], "BYTES"),
              tensor("input-0", [2, 3], [1, 3, 5, 2, 4, 6]))
    decoded = decode(body, numeric)
    assert decoded.frame["x2"].tolist() == [5.0, 6.0]
    assert decoded.raw["customer"].tolist() == ["c-1", "c-2"]


def test_requested_outputs(numeric: Signature) -> None:
    one = tensor("t", [1, 3], [1, 2, 3])
    asked = v2(one, outputs=[{"name": "predict_proba"}, {"name": "predict", "parameters": {}}])
    assert decode(asked, numeric).outputs == ("predict_proba", "predict")
    assert decode(v2(one, outputs=[]), numeric).outputs == ()
    refused(lambda: decode(v2(one, outputs=[{"name": "explain"}]), numeric), 422,
            "outputs[0].name", "'explain'", "'predict' or 'predict_proba'")
    refused(lambda: decode(v2(one, outputs=[{"name": "predict"}, {"name": "predict"}]),
                           numeric), 400, "outputs[1].name", "twice")
    refused(lambda: decode(v2(one, outputs="predict"), numeric), 400, "outputs")
    refused(lambda: decode(v2(one, outputs=["predict"]), numeric), 400, "outputs[0]")
    refused(lambda: decode(v2(one, outputs=[{"name": ["predict"]}]), numeric), 422,
            "outputs[0].name")


# -- MLflow's format --------------------------------------------------------------------------


def test_every_mlflow_shape_gives_the_same_frame(numeric: Signature) -> None:
    expected = pd.DataFrame({"x0": [1.0, 2.0], "x1": [3.0, 4.0], "x2": [5.0, 6.0]})
    records = [{"x0": 1, "x1": 3, "x2": 5}, {"x2": 6.0, "x1": 4, "x0": 2}]
    bodies = [
        {"dataframe_split": {"columns": NUMBERS, "data": [[1, 3, 5], [2, 4, 6]]}},
        {"dataframe_split": {"columns": ["x2", "x0", "x1"], "data": [[5, 1, 3], [6, 2, 4]],
                             "index": [10, 11]}},
        {"dataframe_split": {"data": [[1, 3, 5], [2, 4, 6]]}},
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": records, "params": {"threshold": 0.3}},
        {"instances": [[1, 3, 5], [2, 4, 6]]},
        {"inputs": {"x1": [3, 4], "x0": [1, 2], "x2": [5, 6]}},
    ]
    for body in bodies:
        decoded = mlflow(body, numeric)
        pd.testing.assert_frame_equal(decoded.frame, expected)
        assert decoded.outputs == () and decoded.request_id is None
    assert mlflow(bodies[5], numeric).parameters == {"threshold": 0.3}


def test_mlflow_single_values_for_a_one_column_model() -> None:
    signature = Signature.from_frame(pd.DataFrame({"age": [30]}), {"age": ColumnKind.NUMERIC})
    assert mlflow({"instances": [30, 41]}, signature).frame["age"].tolist() == [30.0, 41.0]


def test_mlflow_extra_columns_travel_in_raw_only(numeric: Signature) -> None:
    body = {"dataframe_records": [{"x0": 1, "x1": 2, "x2": 3, "key": "k-1"}]}
    decoded = mlflow(body, numeric)
    assert list(decoded.frame.columns) == NUMBERS
    assert decoded.raw.loc[0, "key"] == "k-1"
    split = {"dataframe_split": {"columns": ["key", *NUMBERS], "data": [["k-2", 1, 2, 3]]}}
    assert mlflow(split, numeric).raw.loc[0, "key"] == "k-2"


# -- the model gets what batch scoring gives it -----------------------------------------------


def test_every_protocol_feeds_the_model_what_batch_scoring_does(
        rows: pd.DataFrame, mixed: Signature, pipeline: Any) -> None:
    # Batch scoring checks the rows, then scores Signature.coerce(rows).
    report = mixed.check(rows)
    assert report.ok and report.unseen_categories  # 'Mars', scored as unseen
    expected = mixed.coerce(rows)
    split = orjson.dumps({"dataframe_split": {"columns": MIXED, "data": json_rows(rows)}})
    pandas_split = b'{"dataframe_split":' + rows.to_json(orient="split", index=False).encode()
    pandas_records = (b'{"dataframe_records":' + rows.to_json(orient="records").encode() + b"}")
    one_tensor = v2(tensor("input-0", [len(rows), len(MIXED)], json_rows(rows), "BYTES"))
    bodies = [
        (decode_mlflow, parse_json(split)),
        (decode_mlflow, parse_json(pandas_split + b"}")),
        (decode_mlflow, parse_json(pandas_records)),
        (decode_v2, v2_by_column(rows, mixed)),
        (decode_v2, one_tensor),
    ]
    for decoder, body in bodies:
        decoded = decoder(body, mixed, max_rows=100, strict_categories=False)
        pd.testing.assert_frame_equal(decoded.frame, expected)
        np.testing.assert_array_equal(pipeline.predict(decoded.frame), pipeline.predict(expected))
        np.testing.assert_allclose(pipeline.predict_proba(decoded.frame),
                                   pipeline.predict_proba(expected), rtol=0, atol=0)
        assert list(decoded.raw.columns) == MIXED
        assert decoded.raw["region"].tolist()[7] == "Mars"
    # Strictly, the unseen region is refused, named by its column.
    refused(lambda: decode_v2(v2_by_column(rows, mixed), mixed, max_rows=100,
                              strict_categories=True),
            422, "region", "unseen categories 'Mars' (1 row)", "strict")


def test_clean_rows_take_the_direct_path_and_still_equal_coerce(
        rows: pd.DataFrame, mixed: Signature) -> None:
    clean = rows.drop(columns=["application_date"]).dropna().reset_index(drop=True)
    signature = Signature(tuple(s for s in mixed.columns if s.name != "application_date"))
    body = v2_by_column(clean, signature)
    decoded = decode(body, signature)
    assert decoded.raw is decoded.frame  # nothing needed converting
    pd.testing.assert_frame_equal(decoded.frame, signature.coerce(clean))
    assert decoded.frame["employment_type"].dtype == object
    assert decoded.frame["member"].dtype == bool


CELL = {
    ColumnKind.NUMERIC: st.one_of(st.none(), st.integers(-10**9, 10**9),
                                  st.floats(allow_nan=False, width=64),
                                  st.sampled_from([math.inf, -math.inf])),
    ColumnKind.CATEGORICAL: st.one_of(st.none(), st.sampled_from(["Riyadh", "Jeddah", "Mars",
                                                                  "", "3"]),
                                      st.integers(0, 4), st.floats(0, 4), st.booleans()),
    ColumnKind.BOOLEAN: st.one_of(st.none(), st.booleans(),
                                  st.sampled_from(["yes", "no", "maybe", "TRUE", 0, 1, 2])),
    ColumnKind.DATETIME: st.one_of(st.none(), st.sampled_from(["2024-01-05", "2024-02-30",
                                                               "soon", "2024-03-01T10:00:00"])),
    ColumnKind.TEXT: st.one_of(st.none(), st.text(max_size=5), st.integers(0, 3)),
}
KINDS = {"n": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL, "b": ColumnKind.BOOLEAN,
         "d": ColumnKind.DATETIME, "t": ColumnKind.TEXT}
TRAINED = pd.DataFrame({"n": [1.0, 2.0], "c": ["Riyadh", "Jeddah"], "b": [True, True],
                        "d": ["2024-01-01", "2024-01-02"], "t": ["a b", "c d"]})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({name: CELL[kind] for name, kind in KINDS.items()}),
                min_size=1, max_size=6), st.booleans())
def test_decoding_agrees_with_the_signature_on_any_values(records: list[dict[str, Any]],
                                                         strict: bool) -> None:
    signature = Signature.from_frame(TRAINED, KINDS)
    reference = pd.DataFrame(records)  # how pandas (and MLflow) read the same JSON
    errors = signature.check(reference).errors(strict)
    body = {"dataframe_records": records}  # as parsed (orjson would write infinity as null)
    if errors:
        problem = refused(lambda: mlflow(body, signature, strict=strict), 422,
                          _first_field(signature, reference, strict))
        assert problem.reason.startswith("Input does not match the model signature: ")
        return
    decoded = mlflow(body, signature, strict=strict)
    pd.testing.assert_frame_equal(decoded.frame, signature.coerce(reference))
    # The same rows as one BYTES tensor, and as one input per column.
    as_tensor = v2(tensor("input-0", [len(records), len(KINDS)],
                          [[r[name] for name in KINDS] for r in records], "BYTES"))
    pd.testing.assert_frame_equal(decode(as_tensor, signature, strict=strict).frame,
                                  decoded.frame)
    by_column = v2(*[tensor(name, [len(records)], [r[name] for r in records],
                            "FP64" if kind is ColumnKind.NUMERIC else "BYTES")
                     for name, kind in KINDS.items()])
    pd.testing.assert_frame_equal(decode(by_column, signature, strict=strict).frame,
                                  decoded.frame)


def _first_field(signature: Signature, frame: pd.DataFrame, strict: bool) -> str:
    report = signature.check(frame)
    if report.wrong_types:
        return report.wrong_types[0].column
    assert strict and report.unseen_categories
    return report.unseen_categories[0].column


# -- refusals: each with its status and field -----------------------------------------------


def test_bodies_that_are_not_requests(numeric: Signature) -> None:
    body: Any
    for body in ([], "inputs", None, 3, True):
        refused(lambda b=body: decode(b, numeric), 400, None, "JSON object", '"inputs"')
        refused(lambda b=body: mlflow(b, numeric), 400, None, "JSON object")
    refused(lambda: decode({"inputs": [], "extra": 1}, numeric), 400, "extra", "'inputs'")
    refused(lambda: decode({"input": []}, numeric), 400, "input", "not part of")
    refused(lambda: decode({}, numeric), 400, "inputs", "non-empty list")
    refused(lambda: decode({"inputs": []}, numeric), 400, "inputs")
    refused(lambda: decode({"inputs": {"name": "x"}}, numeric), 400, "inputs")
    one = tensor("t", [1, 3], [1, 2, 3])
    refused(lambda: decode(v2(one, id=7), numeric), 400, "id", "string")
    refused(lambda: decode(v2(one, parameters=[1]), numeric), 400, "parameters", "object")


@pytest.mark.parametrize(("item", "field", "words"), [
    ("x0", "inputs[0]", ["tensor object"]),
    ({"shape": [1], "datatype": "FP64", "data": [1]}, "inputs[0].name", ["non-empty string"]),
    ({"name": "", "shape": [1], "datatype": "FP64", "data": [1]}, "inputs[0].name", []),
    ({"name": "t", "shape": [1], "datatype": "FLOAT", "data": [1]}, "inputs[0].datatype",
     ["'FLOAT'", "FP64"]),
    ({"name": "t", "shape": [1], "datatype": None, "data": [1]}, "inputs[0].datatype", []),
    ({"name": "t", "shape": [1], "datatype": ["FP64"], "data": [1]}, "inputs[0].datatype", []),
    ({"name": ["t"], "shape": [1], "datatype": "FP64", "data": [1]}, "inputs[0].name", []),
    ({"name": "t", "shape": None, "datatype": "FP64", "data": [1]}, "inputs[0].shape", []),
    ({"name": "t", "shape": [-1, 3], "datatype": "FP64", "data": [1, 2, 3]}, "inputs[0].shape",
     ["[rows, columns]", "[-1, 3]"]),
    ({"name": "t", "shape": [1e12, 3], "datatype": "FP64", "data": [1, 2, 3]},
     "inputs[0].shape", ["whole numbers"]),
    ({"name": "t", "shape": [True, 3], "datatype": "FP64", "data": [1, 2, 3]},
     "inputs[0].shape", []),
    ({"name": "t", "shape": [1, 1, 3], "datatype": "FP64", "data": [1, 2, 3]},
     "inputs[0].shape", []),
    ({"name": "t", "shape": [], "datatype": "FP64", "data": []}, "inputs[0].shape", []),
    ({"name": "t", "shape": "1,3", "datatype": "FP64", "data": [1, 2, 3]}, "inputs[0].shape",
     []),
    # A huge claim with tiny data is refused as malformed, before anything is allocated.
    ({"name": "t", "shape": [10**12, 3], "datatype": "FP64", "data": [1, 2, 3]},
     "inputs[0].data", ["holds 3 values", "needs 3000000000000 values"]),
    ({"name": "t", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5]},
     "inputs[0].data", ["holds 5 values", "or 2 nested rows of 3"]),
    ({"name": "t", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4, 5]]},
     "inputs[0].data", ["data[1]", "3 values"]),
    ({"name": "t", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], 4]},
     "inputs[0].data", ["data[1]"]),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64", "data": [[[1, 2, 3]]]},
     "inputs[0].data", []),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64", "data": [1, [2], 3]},
     "inputs[0].data", ["lists or objects"]),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64", "data": [1, {"v": 2}, 3]},
     "inputs[0].data", ["lists or objects"]),
    ({"name": "t", "shape": [3], "datatype": "FP64", "data": [[1, 2, 3]]}, "inputs[0].data",
     ["holds 1 rows"]),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64", "data": {"x0": 1}}, "inputs[0].data",
     ["list of values"]),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64"}, "inputs[0].data", ["not null"]),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3], "contents": {}},
     "inputs[0].contents", ["not part of a tensor"]),
    ({"name": "t", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3], "parameters": 3},
     "inputs[0].parameters", ["object"]),
])
def test_malformed_tensors_are_400(numeric: Signature, item: Any, field: str,
                                   words: list[str]) -> None:
    refused(lambda: decode({"inputs": [item]}, numeric), 400, field, *words)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=20)
NEAR_V2 = st.fixed_dictionaries({"inputs": st.lists(st.fixed_dictionaries({
    "name": st.sampled_from([*NUMBERS, "input-0", "key"]),
    "shape": st.lists(st.integers(-1, 4), min_size=0, max_size=3),
    "datatype": st.sampled_from(["FP64", "INT64", "BOOL", "BYTES", "FP32"]),
    "data": st.lists(JSON, max_size=13) | st.lists(st.lists(JSON, max_size=4), max_size=4),
}), min_size=1, max_size=4)}, optional={"outputs": st.just([{"name": "predict"}])})
SCALAR = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats()
          | st.text(max_size=3))


@st.composite
def shaped_v2(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed V2 body (shapes agree with data) of arbitrary values."""
    rows = draw(st.integers(0, 4))
    if draw(st.booleans()):
        return v2(tensor("input-0", [rows, 3], draw(st.lists(SCALAR, min_size=3 * rows,
                                                             max_size=3 * rows))))
    return v2(*[tensor(name, [rows], draw(st.lists(SCALAR, min_size=rows, max_size=rows)))
                for name in NUMBERS])


NEAR_MLFLOW = st.one_of(
    st.fixed_dictionaries({"dataframe_split": st.fixed_dictionaries(
        {"data": st.lists(st.lists(JSON, max_size=4), max_size=3)},
        optional={"columns": st.lists(st.sampled_from([*NUMBERS, "key"]), max_size=4)})}),
    st.fixed_dictionaries({"dataframe_records": st.lists(st.dictionaries(
        st.sampled_from([*NUMBERS, "key"]), JSON), max_size=3)}),
    st.fixed_dictionaries({"instances": JSON}),
    st.fixed_dictionaries({"inputs": st.dictionaries(st.sampled_from(NUMBERS),
                                                     st.lists(JSON, max_size=3))}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, NEAR_V2, shaped_v2(), NEAR_MLFLOW), st.booleans())
def test_any_body_is_decoded_or_refused_never_crashes(body: Any, strict: bool) -> None:
    signature = Signature.from_frame(pd.DataFrame(np.zeros((1, 3)), columns=NUMBERS),
                                     dict.fromkeys(NUMBERS, ColumnKind.NUMERIC))
    for decoder in (decode, mlflow):
        try:
            decoded = decoder(body, signature, max_rows=3, strict=strict)
        except RequestProblem as problem:
            assert problem.status in (400, 413, 422) and problem.reason
            continue
        assert list(decoded.frame.columns) == NUMBERS
        assert all(dtype == np.float64 for dtype in decoded.frame.dtypes)
        assert 1 <= len(decoded.frame) <= 3 and len(decoded.raw) == len(decoded.frame)
        assert not np.isinf(decoded.frame.to_numpy()).any()


def test_deep_nesting_is_refused_without_recursion(numeric: Signature) -> None:
    deep: Any = [1.0]
    for _ in range(5000):
        deep = [deep]
    refused(lambda: decode(v2(tensor("t", [1, 3], deep)), numeric), 400, "inputs[0].data")
    text = b'{"inputs": [{"name": "t", "shape": [1], "datatype": "FP64", "data": ' + (
        b"[" * 100_000) + b"]" * 100_000 + b"}]}"
    refused(lambda: parse_json(text), 400, None, "not valid JSON")


def test_inputs_that_disagree_with_each_other(numeric: Signature) -> None:
    refused(lambda: decode(v2(tensor("x0", [1], [1]), tensor("x0", [1], [2])), numeric),
            400, "inputs[1].name", "'x0'", "once")
    refused(lambda: decode(v2(tensor("x0", [1], [1]), tensor("x1", [2], [2, 3]),
                              tensor("x2", [1], [3])), numeric),
            400, "inputs[1].shape", "2 rows", "has 1")
    refused(lambda: decode(v2(tensor("x0", [1, 2], [1, 2]), tensor("x1", [1], [2])), numeric),
            400, "inputs[0].shape", "[rows] or [rows, 1]")
    refused(lambda: decode(v2(tensor("input-0", [3], [1, 2, 3])), numeric), 400,
            "inputs[0].shape", "one dimension", "[rows, 3]")
    refused(lambda: decode(v2(tensor("a", [1, 3], [1, 2, 3]), tensor("b", [1, 3], [1, 2, 3])),
                           numeric), 422, "inputs", "'x0', 'x1', 'x2'", "[rows, 3]")
    refused(lambda: decode(v2(tensor("a", [1, 3], [1, 2, 3]), tensor("b", [1, 2], [1, 2])),
                           numeric), 422, "inputs")
    refused(lambda: decode(v2(tensor("input-0", [1, 3], [1, 2, 3]),
                              tensor("key", [1, 2], ["a", "b"], "BYTES")), numeric),
            422, "inputs")


def test_rows_count_limits(numeric: Signature) -> None:
    body = v2(tensor("t", [5, 3], list(range(15))))
    refused(lambda: decode(body, numeric, max_rows=4), 413, "inputs[0].shape",
            "5 rows", "at most 4", "several requests")
    assert len(decode(body, numeric, max_rows=5).frame) == 5
    nested = v2(tensor("t", [5, 3], [[1, 2, 3]] * 5))
    refused(lambda: decode(nested, numeric, max_rows=4), 413, "inputs[0].shape")
    refused(lambda: decode(v2(tensor("t", [0, 3], [])), numeric), 422, "inputs[0].shape",
            "no rows")
    refused(lambda: mlflow({"dataframe_records": [{"x0": 1}] * 5}, numeric, max_rows=4),
            413, "dataframe_records", "5 rows")
    refused(lambda: mlflow({"dataframe_split": {"data": [[1, 2, 3]] * 5}}, numeric,
                           max_rows=4), 413, "dataframe_split.data")
    refused(lambda: mlflow({"inputs": {"x0": [1] * 5, "x1": [1] * 5, "x2": [1] * 5}}, numeric,
                           max_rows=4), 413, "inputs")
    for body in ({"dataframe_records": []}, {"instances": []}, {"inputs": {}},
                 {"dataframe_split": {"columns": NUMBERS, "data": []}}):
        field = "dataframe_split.data" if "dataframe_split" in body else next(iter(body))
        refused(lambda b=body: mlflow(b, numeric), 422, field, "no rows")


@pytest.mark.parametrize("values", [[1, "abc", 3], [1, "40", 3], [1, True, 3], [1, False, 3]])
def test_text_or_booleans_in_numbers_are_422_naming_the_column(
        numeric: Signature, values: list[Any]) -> None:
    shown = values[1] if isinstance(values[1], str) else str(values[1]).lower()
    words = ["column 'x1' has 1 non-numeric value", f"'{shown}'", "Send numbers"]
    refused(lambda: decode(v2(tensor("t", [1, 3], values)), numeric), 422, "x1", *words)
    refused(lambda: decode(v2(*[tensor(n, [1], [v]) for n, v in zip(NUMBERS, values,
                                                                      strict=True)]),
                           numeric), 422, "x1", *words)
    refused(lambda: mlflow({"dataframe_split": {"columns": NUMBERS, "data": [values]}},
                           numeric), 422, "x1", *words)
    refused(lambda: mlflow({"instances": [dict(zip(NUMBERS, values, strict=True))]}, numeric),
            422, "x1", *words)


def test_infinity_is_refused(numeric: Signature) -> None:
    # orjson refuses a number too large for a double (1e999) instead of reading infinity ...
    refused(lambda: parse_json(b'{"dataframe_records": [{"x0": 1e400}]}'), 400, None,
            "infinity", "finite numbers")
    # ... and a body parsed by other means meets the signature's refusal, naming the column.
    body = v2(tensor("t", [2, 3], [1, 2, 3, 4, -math.inf, 6]))
    refused(lambda: decode(body, numeric), 422, "x1", "column 'x1' has 1 infinite value",
            "Replace the infinite values")
    refused(lambda: decode(v2(*[tensor(n, [1], [math.inf]) for n in NUMBERS]), numeric), 422,
            "x0", "column 'x0' has 1 infinite value", "column 'x2' has 1 infinite value")
    body = {"dataframe_records": [{"x0": math.inf, "x1": 1, "x2": 2}]}
    refused(lambda: mlflow(body, numeric), 422, "x0", "infinite")


def test_missing_columns_are_422_naming_them(numeric: Signature, mixed: Signature) -> None:
    refused(lambda: decode(v2(tensor("x0", [1], [1]), tensor("x2", [1], [3])), numeric), 422,
            "x1", "missing column 'x1'", "Send every column the model takes: 'x0', 'x1', 'x2'")
    refused(lambda: mlflow({"dataframe_records": [{"income": 1}]}, mixed), 422, "age",
            "missing column 'age'", "missing column 'member'")
    refused(lambda: decode(v2(tensor("input-0", [1, 2], [1, 2])), numeric), 422,
            "inputs[0].shape", "2 columns", "takes 3")
    refused(lambda: mlflow({"instances": [[1, 2]]}, numeric), 422, "instances", "hold 2 values",
            "'x0', 'x1', 'x2'")
    refused(lambda: mlflow({"instances": [1, 2]}, numeric), 422, "instances", "single values")


def test_datatypes_must_fit_their_values_and_columns(mixed: Signature,
                                                     numeric: Signature) -> None:
    refused(lambda: decode(v2(tensor("x0", [1], ["1"], "BYTES"), tensor("x1", [1], [1]),
                              tensor("x2", [1], [1])), numeric),
            422, "x0", "Column 'x0' is numeric", "not BYTES")
    refused(lambda: decode(v2(tensor("x0", [1], [True], "BOOL"), tensor("x1", [1], [1]),
                              tensor("x2", [1], [1])), numeric), 422, "x0")
    body = v2_by_column(pd.DataFrame({name: [None] for name in MIXED}), mixed)
    body["inputs"][5] = tensor("member", [1], ["yes"], "BOOL")
    refused(lambda: decode(body, mixed), 422, "inputs[5].data", "datatype BOOL", "'yes'")
    body["inputs"][5] = tensor("member", [1], [True], "BOOL")
    body["inputs"][2] = tensor("employment_type", [1], ["salaried"], "FP64")
    refused(lambda: decode(body, mixed), 422, "inputs[2].data", "datatype FP64",
            "'salaried'", "BYTES")
    body["inputs"][2] = tensor("employment_type", [1], [{"a": 1}], "BYTES")
    refused(lambda: decode(body, mixed), 400, "inputs[2].data", "lists or objects")


def test_mlflow_malformed_bodies_are_400(numeric: Signature) -> None:
    cases: list[tuple[Any, str | None, str]] = [
        ({}, None, "exactly one of"),
        ({"instances": [], "inputs": []}, None, '"instances" and "inputs"'),
        ({"instances": [[1, 2, 3]], "extra": 1}, "extra", "not part of an MLflow request"),
        ({"instances": [[1, 2, 3]], "params": [1]}, "params", "object"),
        ({"dataframe_split": [[1, 2, 3]]}, "dataframe_split", "object"),
        ({"dataframe_split": {"data": [[1, 2, 3]], "dtypes": {}}}, "dataframe_split.dtypes",
         "not part of"),
        ({"dataframe_split": {"columns": NUMBERS}}, "dataframe_split.data", "list of rows"),
        ({"dataframe_split": {"columns": "x0", "data": [[1]]}}, "dataframe_split.columns",
         "list of column names"),
        ({"dataframe_split": {"columns": [0, 1, 2], "data": [[1, 2, 3]]}},
         "dataframe_split.columns", "list of column names"),
        ({"dataframe_split": {"columns": ["x0", "x0", "x1"], "data": [[1, 2, 3]]}},
         "dataframe_split.columns", "'x0' more than once"),
        ({"dataframe_split": {"columns": NUMBERS, "data": [[1, 2, 3], [1, 2]]}},
         "dataframe_split.data[1]", "3 values"),
        ({"dataframe_split": {"columns": NUMBERS, "data": [1, 2, 3]}},
         "dataframe_split.data[0]", "list of 3 values"),
        ({"dataframe_records": {"x0": 1}}, "dataframe_records", "list of objects"),
        ({"dataframe_records": [{"x0": 1}, [1]]}, "dataframe_records[1]", "object"),
        ({"instances": "x"}, "instances", "list of rows or an object of columns"),
        ({"instances": [[1, 2, 3], {"x0": 1}]}, "instances[1]", "list of 3 values"),
        ({"inputs": {"x0": [1], "x1": 2, "x2": [3]}}, "inputs.x1", "list of values"),
        ({"inputs": {"x0": [1], "x1": [2, 3], "x2": [3]}}, "inputs.x1", "holds 2 values"),
        ({"dataframe_records": [{"x0": [1], "x1": 2, "x2": 3}]}, "dataframe_records",
         "lists or objects"),
    ]
    for body, field, words in cases:
        refused(lambda b=body: mlflow(b, numeric), 400, field, words)


def test_strict_categories_refuse_unseen_values_lenient_ones_score_them(
        mixed: Signature) -> None:
    known = {spec.name: spec.categories or () for spec in mixed.columns}
    row = {"income": 1.0, "age": 30, "employment_type": known["employment_type"][0],
           "debt_to_income": 0.1,
           "region": "Atlantis", "member": True, "application_date": "2025-01-01"}
    body = {"dataframe_records": [row]}
    assert mlflow(body, mixed).frame.loc[0, "region"] == "Atlantis"
    refused(lambda: mlflow(body, mixed, strict=True), 422, "region", "'Atlantis'")
    seen = {**row, "region": known["region"][0]}
    assert len(mlflow({"dataframe_records": [seen]}, mixed, strict=True).frame) == 1
    unseen_bool = Signature.from_frame(pd.DataFrame({"flag": [True, True]}),
                                       {"flag": ColumnKind.BOOLEAN})
    refused(lambda: mlflow({"instances": [False]}, unseen_bool, strict=True), 422, "flag",
            "'False'")
    assert mlflow({"instances": [False]}, unseen_bool).frame["flag"].tolist() == [False]


def test_a_request_problem_is_an_input_error() -> None:
    problem = RequestProblem(422, "Column 'x' is missing; send it.", "x")
    assert isinstance(problem, InputError) and isinstance(problem, ValueError)


# -- parsing ---------------------------------------------------------------------------------


def test_parse_json_refuses_what_is_not_json() -> None:
    assert parse_json(b'{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}
    assert parse_json('{"a": 1}') == {"a": 1}
    assert parse_json(memoryview(b"[1]")) == [1]
    refused(lambda: parse_json(b""), 400, None, "empty")
    refused(lambda: parse_json(b'{"inputs": '), 400, None, "not valid JSON", "char")
    refused(lambda: parse_json(b'{"data": [Infinity]}'), 400, None, "send null")
    refused(lambda: parse_json(b"\xff\xfe"), 400, None, "not valid JSON")
    refused(lambda: parse_json(b'{"a": 1} {"b": 2}'), 400, None, "not valid JSON")


# -- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("labels", "datatype", "data"), [
    (np.array([1, 0, 1]), "INT64", [1, 0, 1]),
    (np.array([1, 0, 1], dtype=np.uint8), "INT64", [1, 0, 1]),
    (np.array([0.5, -2.0, np.nan]), "FP64", [0.5, -2.0, None]),
    (np.array([0.5, 1.5, 2.5], dtype=np.float32), "FP64", [0.5, 1.5, 2.5]),
    (np.array([True, False, True]), "BOOL", [True, False, True]),
    (np.array(["yes", "no", "yes"]), "BYTES", ["yes", "no", "yes"]),
    (np.array(["yes", "no", "maybe"], dtype=object), "BYTES", ["yes", "no", "maybe"]),
    (np.array([np.int64(1), 2, 3], dtype=object), "INT64", [1, 2, 3]),
    (np.array([1, 2.5, 3], dtype=object), "FP64", [1, 2.5, 3]),
    (np.array([True, "a", 3], dtype=object), "BYTES", ["True", "a", "3"]),
])
def test_encode_v2_datatype_follows_the_labels(labels: np.ndarray, datatype: str,
                                               data: list[Any]) -> None:
    answer = orjson.loads(encode_v2(model="credit", version=4, request_id="r", outputs=(),
                                    predictions=labels, proba=None))
    assert answer == {"model_name": "credit", "model_version": "4", "id": "r",
                      "outputs": [{"name": "predict", "shape": [3], "datatype": datatype,
                                   "data": data}]}


def test_encode_v2_outputs_and_parameters() -> None:
    proba = np.array([[0.2, 0.8], [0.9, 0.1]], dtype=np.float32)
    answer = orjson.loads(encode_v2(model="m", version=1, request_id="r",
                                    outputs=("predict_proba", "predict"),
                                    predictions=np.array([1, 0]), proba=proba,
                                    parameters={"canary": True}))
    assert answer["parameters"] == {"canary": True}
    assert [o["name"] for o in answer["outputs"]] == ["predict_proba", "predict"]
    first = answer["outputs"][0]
    assert (first["shape"], first["datatype"]) == ([2, 2], "FP64")
    np.testing.assert_allclose(first["data"], proba.ravel(), rtol=1e-7)
    refused(lambda: encode_v2(model="m", version=1, request_id="r", outputs=OUTPUT_NAMES,
                              predictions=np.array([1.5]), proba=None),
            422, "outputs", "no class probabilities", "'predict'")
    refused(lambda: encode_v2(model="m", version=1, request_id="r", outputs=("explain",),
                              predictions=np.array([1.5]), proba=None), 422, "outputs")
    assert "parameters" not in orjson.loads(encode_v2(
        model="m", version=1, request_id="r", outputs=(), predictions=np.array([1]),
        proba=None, parameters={}))


def test_encode_mlflow() -> None:
    answer = orjson.loads(encode_mlflow(model="credit", version=3,
                                        predictions=np.array(["a", "b"], dtype=object)))
    assert answer == {"predictions": ["a", "b"], "model_name": "credit", "model_version": 3}
    answer = orjson.loads(encode_mlflow(model="m", version=1,
                                        predictions=np.array([[1.0, 2.0], [3.0, np.nan]])))
    assert answer["predictions"] == [[1.0, 2.0], [3.0, None]]
    answer = orjson.loads(encode_mlflow(model="m", version=1,
                                        predictions=np.array([["a"], ["b"]], dtype=object)))
    assert answer["predictions"] == [["a"], ["b"]]


def test_v2_metadata_names_every_column(mixed: Signature) -> None:
    metadata = v2_metadata("credit", ["1", "2"], mixed, classes=["no", "yes"])
    assert (metadata["name"], metadata["versions"], metadata["platform"]) == (
        "credit", ["1", "2"], "rasad-sklearn")
    assert [(i["name"], i["datatype"], i["shape"]) for i in metadata["inputs"]] == [
        ("income", "FP64", [-1]), ("age", "FP64", [-1]), ("employment_type", "BYTES", [-1]),
        ("debt_to_income", "FP64", [-1]), ("region", "BYTES", [-1]), ("member", "BOOL", [-1]),
        ("application_date", "BYTES", [-1])]
    assert metadata["outputs"] == [
        {"name": "predict", "datatype": "BYTES", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}]
    regressor = v2_metadata("price", ["7"], mixed)
    assert regressor["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
    orjson.dumps(metadata)  # JSON-ready as it is
