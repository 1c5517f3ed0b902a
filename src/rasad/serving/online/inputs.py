"""Prediction requests in, answers out: Open Inference Protocol V2 and MLflow's format.

The prediction server takes two request formats:

- the Open Inference Protocol V2 REST (KServe v2; MLServer and Triton speak it):
  ``{"inputs": [...]}`` holding either one tensor per model column, named as the column,
  of shape ``[rows]`` or ``[rows, 1]``, or one tensor of shape ``[rows, columns]`` (any
  name) holding the columns in the signature's order, as MLServer clients send;
- MLflow's scoring format (``/invocations``): ``dataframe_split``, ``dataframe_records``,
  ``instances`` or ``inputs``, with optional ``params``.

:func:`decode_v2` and :func:`decode_mlflow` check a parsed body against the model's
:class:`~rasad.tables.signature.Signature` and return a :class:`Decoded`: the frame the
fitted pipeline takes, equal to what :meth:`Signature.coerce` gives for the same rows
(what batch scoring feeds the pipeline), and the rows as received, for the prediction
log. A request that cannot be scored raises :class:`RequestProblem`: the HTTP status
(400 malformed, 413 too many rows, 422 against the signature), a reason naming the
problem and the fix, and the field at fault.

Numbers, text labels and booleans are placed straight into the frame; anything else
(numbers in a categorical column, dates, missing booleans) and every signature error
goes through :meth:`Signature.check` and :meth:`Signature.coerce`, which own the rules.

>>> import pandas as pd
>>> from rasad.tables.kinds import ColumnKind
>>> signature = Signature.from_frame(pd.DataFrame({"income": [4200.0], "age": [31]}),
...                                  {"income": ColumnKind.NUMERIC, "age": ColumnKind.NUMERIC})
>>> body = parse_json(b'{"id": "r1", "inputs": [{"name": "input-0", "shape": [2, 2], '
...                   b'"datatype": "FP64", "data": [5100.0, 40, 3900.5, 28]}]}')
>>> decoded = decode_v2(body, signature, max_rows=100, strict_categories=False)
>>> decoded.frame
   income   age
0  5100.0  40.0
1  3900.5  28.0
>>> answer = encode_v2(model="credit", version=3, request_id="r1", outputs=decoded.outputs,
...                    predictions=np.array([1, 0]), proba=None)
>>> orjson.loads(answer)  # doctest: +NORMALIZE_WHITESPACE
{'model_name': 'credit', 'model_version': '3', 'id': 'r1',
 'outputs': [{'name': 'predict', 'shape': [2], 'datatype': 'INT64', 'data': [1, 0]}]}
>>> decode_mlflow({"dataframe_records": [{"income": 5100.0}]}, signature, max_rows=100,
...               strict_categories=False)  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
rasad.serving.online.inputs.RequestProblem: Input does not match the model signature:
missing column 'age'. Send every column the model takes: 'income', 'age'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import orjson
import pandas as pd

from rasad.errors import InputError
from rasad.tables.column_kind import ColumnKind
from rasad.tables.signature import Signature, SignatureReport, WrongType

if TYPE_CHECKING:
    from rasad.evaluation.reasons import Explanation

PLATFORM: Final[str] = "rasad-sklearn"
"""The ``platform`` the model metadata names."""
OUTPUT_NAMES: Final[tuple[str, ...]] = ("predict", "predict_proba")
"""The outputs a V2 request may ask for: the labels (or values), and class probabilities."""
REASON_OUTPUTS: Final[tuple[str, ...]] = ("reasons", "reason_features", "reason_effects")
"""The outputs a V2 answer adds when the request asks ``parameters: {"explain": true}``."""

_NUMERIC_DATATYPES: Final[frozenset[str]] = frozenset({
    "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64"})
_DATATYPES: Final[frozenset[str]] = _NUMERIC_DATATYPES | {"BOOL", "BYTES"}
_DATATYPE_LIST: Final[str] = ("BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, "
                              "FP16, FP32, FP64, BYTES")
_COLUMN_DATATYPES: Final[dict[ColumnKind, str]] = {
    ColumnKind.NUMERIC: "FP64", ColumnKind.BOOLEAN: "BOOL"}  # every other kind: BYTES
_LABEL_DATATYPES: Final[dict[str, tuple[str, type[np.generic]]]] = {
    "b": ("BOOL", np.bool_), "i": ("INT64", np.int64), "u": ("INT64", np.int64),
    "f": ("FP64", np.float64)}
"""Answer datatypes by NumPy dtype kind; text and objects are looked at value by value."""
_LABEL_KINDS: Final[frozenset[ColumnKind]] = frozenset({
    ColumnKind.CATEGORICAL, ColumnKind.TEXT, ColumnKind.IDENTIFIER})

_NONE: Final[type] = type(None)
_NUMBER_OR_NULL: Final[frozenset[type]] = frozenset({int, float, _NONE})
_BOOL_OR_NULL: Final[frozenset[type]] = frozenset({bool, _NONE})
_TEXT_OR_NULL: Final[frozenset[type]] = frozenset({str, _NONE})
_SCALARS: Final[frozenset[type]] = frozenset({str, int, float, bool, _NONE})

_V2_KEYS: Final[frozenset[str]] = frozenset({"id", "parameters", "inputs", "outputs"})
_V2_INPUT_KEYS: Final[frozenset[str]] = frozenset(
    {"name", "shape", "datatype", "parameters", "data"})
_MLFLOW_FORMATS: Final[tuple[str, ...]] = (
    "dataframe_split", "dataframe_records", "instances", "inputs")
_SPLIT_KEYS: Final[frozenset[str]] = frozenset({"columns", "data", "index"})
_SHOWN_NAMES: Final[int] = 10


class RequestProblem(InputError):
    """A prediction request that cannot be scored, with the HTTP status to answer.

    Parameters
    ----------
    status : int
        400 for malformed JSON or shapes, 413 for more rows than the server takes, 422
        for input that breaks the model's signature.
    reason : str
        The problem and the fix, for the ``{"error": ...}`` answer.
    field : str or None
        Where the problem is: a request path such as ``"inputs[0].data"`` or
        ``"dataframe_split.columns"``, or a model column such as ``"income"``.

    Examples
    --------
    >>> problem = RequestProblem(413, "Too many rows.", "inputs[0].shape")
    >>> problem.status, problem.field, str(problem)
    (413, 'inputs[0].shape', 'Too many rows.')
    """

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class Decoded:
    """A request's rows, ready to score.

    ``raw`` is ``frame`` itself when the request held exactly the model's columns in
    the values the model takes (numbers, text labels, booleans); do not modify either.
    """

    frame: pd.DataFrame
    """The signature's columns, in order, as :meth:`Signature.coerce` gives them."""
    raw: pd.DataFrame
    """The rows as received: the signature's columns and any other column sent (such as
    a canary key), for the prediction log."""
    request_id: str | None
    """The V2 request ``id``, if sent."""
    parameters: dict[str, Any]
    """The V2 request ``parameters``, or MLflow's ``params``."""
    outputs: tuple[str, ...]
    """The V2 outputs asked for, among :data:`OUTPUT_NAMES`; empty for the default."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """What decoding needs to know of a signature, computed once per signature."""

    names: tuple[str, ...]
    columns: pd.Index
    kinds: tuple[ColumnKind, ...]
    categories: tuple[frozenset[str] | None, ...]
    positions: Mapping[str, int]
    all_numeric: bool

    def listing(self) -> str:
        return _listing(self.names)


@dataclass(frozen=True, slots=True)
class _Column:
    """One received column: its values, the V2 datatype they came with, where they were."""

    name: str
    values: list[Any] | np.ndarray
    """JSON values, or a float64 array already checked to hold numbers."""
    datatype: str | None
    """The V2 datatype, or None (MLflow: plain JSON values)."""
    field: str


@dataclass(frozen=True, slots=True)
class _Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    datatype: str
    data: list[Any]
    """Flat, row-major."""

    @property
    def field(self) -> str:
        return f"inputs[{self.index}]"


def parse_json(body: bytes | bytearray | memoryview | str) -> Any:
    """Parse a request body.

    Raises
    ------
    RequestProblem
        400, naming the position of the first error.

    Examples
    --------
    >>> parse_json(b'{"inputs": []}')
    {'inputs': []}
    >>> parse_json(b'{"inputs": [NaN]}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rasad.serving.online.inputs.RequestProblem: Request body is not valid JSON (unexpected \
character...: line 1 column 13 (char 12)); NaN and Infinity are not JSON: send null for a \
missing value.
    """
    if not body:
        raise RequestProblem(400, "Request body is empty; send a JSON object.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        text = bytes(body, "utf-8") if isinstance(body, str) else bytes(body)
        if "infinity" in str(error):
            hint = "a model scores finite numbers only: send those, or null for a missing value"
        elif b"NaN" in text or b"Infinity" in text:
            hint = "NaN and Infinity are not JSON: send null for a missing value"
        else:
            hint = "send a JSON object (Content-Type: application/json)"
        raise RequestProblem(400, f"Request body is not valid JSON ({error}); {hint}.") from None


def decode_v2(body: Any, signature: Signature, *, max_rows: int,
              strict_categories: bool) -> Decoded:
    """Decode an Open Inference Protocol V2 inference request.

    Parameters
    ----------
    body : object
        The parsed JSON body (:func:`parse_json`).
    signature : Signature
        The model's input columns.
    max_rows : int
        Most rows one request may hold (413 past it).
    strict_categories : bool
        Refuse categories unseen in training (422) instead of scoring them.

    Raises
    ------
    RequestProblem
        400 for a malformed request, 413 for too many rows, 422 for input the model
        cannot score (a missing column, a value of the wrong type, infinity, an unseen
        category when strict, no rows, an unknown output).
    """
    request = _mapping(body, None, 'The request body must be a JSON object with "inputs"')
    _no_unknown_keys(request, _V2_KEYS, None, "an inference request")
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestProblem(400, f'"id" must be a string, not {_json_type(request_id)}.', "id")
    parameters = _parameters(request.get("parameters"), "parameters")
    outputs = _requested_outputs(request.get("outputs"))
    items = request.get("inputs")
    if not isinstance(items, list) or not items:
        raise RequestProblem(400, '"inputs" must be a non-empty list of tensors '
                             '({"name", "shape", "datatype", "data"}).', "inputs")
    tensors = [_tensor(index, item, max_rows) for index, item in enumerate(items)]
    seen: dict[str, int] = {}
    for tensor in tensors:
        if tensor.name in seen:
            raise RequestProblem(400, f"Input name '{tensor.name}' is used by inputs"
                                 f"[{seen[tensor.name]}] and {tensor.field}; name each input "
                                 "once.", f"{tensor.field}.name")
        seen[tensor.name] = tensor.index
    rows = tensors[0].shape[0]
    for tensor in tensors[1:]:
        if tensor.shape[0] != rows:
            raise RequestProblem(400, f"{tensor.field} has {tensor.shape[0]} rows but inputs[0] "
                                 f"has {rows}; every input holds the same rows.",
                                 f"{tensor.field}.shape")
    _some_rows(rows, "inputs[0].shape")
    plan = _plan(signature)
    if any(tensor.name in plan.positions for tensor in tensors):
        frame, raw = _v2_by_column(plan, signature, tensors, rows, strict_categories)
    else:
        frame, raw = _v2_one_tensor(plan, signature, tensors, rows, strict_categories)
    return Decoded(frame, raw, request_id, parameters, outputs)


def decode_mlflow(body: Any, signature: Signature, *, max_rows: int,
                  strict_categories: bool) -> Decoded:
    """Decode an MLflow scoring request (``POST /invocations``).

    Takes one of ``dataframe_split`` (``{"columns", "data"}``; without ``columns`` the
    values are the model's columns in order), ``dataframe_records`` (a list of
    objects), or ``instances`` / ``inputs`` (a list of objects, a list of rows in the
    model's column order, or an object of columns), and optional ``params``.
    Parameters and errors are those of :func:`decode_v2`.

    Examples
    --------
    >>> import pandas as pd
    >>> from rasad.tables.kinds import ColumnKind
    >>> signature = Signature.from_frame(
    ...     pd.DataFrame({"age": [31], "region": ["north"]}),
    ...     {"age": ColumnKind.NUMERIC, "region": ColumnKind.CATEGORICAL})
    >>> body = {"dataframe_split": {"columns": ["region", "age"], "data": [["south", 40]]}}
    >>> decode_mlflow(body, signature, max_rows=10, strict_categories=False).frame
        age region
    0  40.0  south
    """
    request = _mapping(body, None, "The request body must be a JSON object with one of "
                       + ", ".join(f'"{name}"' for name in _MLFLOW_FORMATS))
    formats = [name for name in _MLFLOW_FORMATS if name in request]
    if len(formats) != 1:
        found = " and ".join(f'"{name}"' for name in formats) if formats else "none"
        raise RequestProblem(400, "An MLflow request holds exactly one of "
                             + ", ".join(f'"{name}"' for name in _MLFLOW_FORMATS)
                             + f"; this one holds {found}.")
    key = formats[0]
    _no_unknown_keys(request, frozenset({key, "params"}), None, "an MLflow request")
    parameters = _parameters(request.get("params"), "params")
    plan = _plan(signature)
    payload = request[key]
    if key == "dataframe_split":
        split = _mapping(payload, key, f'"{key}" must be an object with "columns" and "data"')
        _no_unknown_keys(split, _SPLIT_KEYS, key, f'"{key}"')
        data = split.get("data")
        if not isinstance(data, list):
            raise RequestProblem(400, f'"{key}.data" must be a list of rows.', f"{key}.data")
        names = _split_columns(split.get("columns"), f"{key}.columns")
        frame, raw = _rows(plan, signature, names, data, f"{key}.data", max_rows,
                           strict_categories)
    elif key == "dataframe_records":
        frame, raw = _records(plan, signature, payload, key, max_rows, strict_categories)
    elif isinstance(payload, dict):
        frame, raw = _columnar(plan, signature, payload, key, max_rows, strict_categories)
    elif isinstance(payload, list) and payload and isinstance(payload[0], dict):
        frame, raw = _records(plan, signature, payload, key, max_rows, strict_categories)
    elif isinstance(payload, list) and payload and not isinstance(payload[0], list):
        if len(plan.names) != 1:
            raise RequestProblem(422, f'"{key}" holds single values, but the model takes '
                                 f"{len(plan.names)} columns ({plan.listing()}); send each row "
                                 "as an object of columns or a list in that order.", key)
        frame, raw = _columnar(plan, signature, {plan.names[0]: payload}, key, max_rows,
                               strict_categories)
    elif isinstance(payload, list):
        frame, raw = _rows(plan, signature, None, payload, key, max_rows, strict_categories)
    else:
        raise RequestProblem(400, f'"{key}" must be a list of rows or an object of columns, '
                             f"not {_json_type(payload)}.", key)
    return Decoded(frame, raw, None, parameters, ())


def v2_metadata(name: str, versions: list[str], signature: Signature, *,
                classes: Sequence[Any] | None = None) -> dict[str, Any]:
    """The Open Inference Protocol model metadata (``GET /v2/models/{name}``).

    One input per signature column (shape ``[-1]``: any number of rows); the outputs
    ``predict``, and ``predict_proba`` for a classifier (``classes`` given, in the order
    of the probability columns). Without ``classes`` the model is taken to be a
    regressor: ``predict`` holds FP64 values.

    Examples
    --------
    >>> import pandas as pd
    >>> from rasad.tables.kinds import ColumnKind
    >>> signature = Signature.from_frame(
    ...     pd.DataFrame({"age": [31], "region": ["north"]}),
    ...     {"age": ColumnKind.NUMERIC, "region": ColumnKind.CATEGORICAL})
    >>> metadata = v2_metadata("credit", ["1", "2"], signature, classes=[0, 1])
    >>> metadata["inputs"]
    [{'name': 'age', 'datatype': 'FP64', 'shape': [-1]}, \
{'name': 'region', 'datatype': 'BYTES', 'shape': [-1]}]
    >>> metadata["outputs"]
    [{'name': 'predict', 'datatype': 'INT64', 'shape': [-1]}, \
{'name': 'predict_proba', 'datatype': 'FP64', 'shape': [-1, 2]}]
    """
    inputs = [{"name": spec.name, "datatype": _COLUMN_DATATYPES.get(spec.kind, "BYTES"),
               "shape": [-1]} for spec in signature.columns]
    if classes is None:
        outputs = [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
    else:
        datatype, _ = _label_tensor(np.asarray(list(classes)))
        outputs = [{"name": "predict", "datatype": datatype, "shape": [-1]},
                   {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes)]}]
    return {"name": name, "versions": list(versions), "platform": PLATFORM,
            "inputs": inputs, "outputs": outputs}


def encode_v2(*, model: str, version: int, request_id: str, outputs: tuple[str, ...],
              predictions: np.ndarray, proba: np.ndarray | None,
              parameters: dict[str, Any] | None = None,
              explanation: Explanation | None = None) -> bytes:
    """The Open Inference Protocol answer to an inference request.

    ``outputs`` are those the request asked for (``()``: ``predict`` only).
    ``predict`` holds one label or value per row, its datatype from the labels
    (INT64, FP64, BOOL or BYTES); ``predict_proba`` the class probabilities, shape
    ``[rows, classes]``, flat in row-major order, FP64.

    With an ``explanation`` the answer adds :data:`REASON_OUTPUTS`, each of shape
    ``[rows, K]`` in row-major order: ``reasons`` (BYTES, the reasons in words),
    ``reason_features`` (BYTES, the features) and ``reason_effects`` (FP64, the change of
    the explained score each caused), padded with ``""`` and null past a row's last
    reason; and the answer's ``parameters`` name the method and the typical values'
    source (``explained_with``, ``reasons_reference``).

    Raises
    ------
    RequestProblem
        422 when ``predict_proba`` is asked of a model without probabilities, or an
        output name is unknown.

    Examples
    --------
    >>> answer = encode_v2(model="credit", version=2, request_id="r9",
    ...                    outputs=("predict", "predict_proba"), predictions=np.array(["no"]),
    ...                    proba=np.array([[0.75, 0.25]]))
    >>> orjson.loads(answer)["outputs"]  # doctest: +NORMALIZE_WHITESPACE
    [{'name': 'predict', 'shape': [1], 'datatype': 'BYTES', 'data': ['no']},
     {'name': 'predict_proba', 'shape': [1, 2], 'datatype': 'FP64', 'data': [0.75, 0.25]}]
    """
    tensors = []
    for name in outputs or ("predict",):
        if name == "predict":
            datatype, data = _label_tensor(predictions)
            shape = list(predictions.shape)
        elif name == "predict_proba":
            if proba is None:
                raise RequestProblem(422, f"Model '{model}' gives no class probabilities (it is "
                                     "not a classifier); ask for the output 'predict'.",
                                     "outputs")
            probabilities = np.ascontiguousarray(proba, dtype=np.float64)
            datatype, data = "FP64", probabilities.ravel()
            shape = list(probabilities.shape)
        else:
            raise _unknown_output(name, "outputs")
        tensors.append({"name": name, "shape": shape, "datatype": datatype, "data": data})
    if explanation is not None:
        grid = explanation.grid()
        shape = [len(explanation), explanation.reasons]
        tensors += [
            {"name": "reasons", "shape": shape, "datatype": "BYTES",
             "data": list(chain.from_iterable(grid.texts))},
            {"name": "reason_features", "shape": shape, "datatype": "BYTES",
             "data": list(chain.from_iterable(grid.features))},
            {"name": "reason_effects", "shape": shape, "datatype": "FP64",
             "data": grid.effects.ravel()}]
        parameters = {**(parameters or {}), "explained_with": str(explanation.method),
                      "reasons_reference": explanation.references.source}
    answer: dict[str, Any] = {"model_name": model, "model_version": str(version),
                              "id": request_id}
    if parameters:
        answer["parameters"] = parameters
    answer["outputs"] = tensors
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_mlflow(*, model: str, version: int, predictions: np.ndarray,
                  explanation: Explanation | None = None) -> bytes:
    """MLflow's answer, ``{"predictions": [...]}``, naming the model and version that scored.

    With an ``explanation``: ``reasons``, one list per row of its reasons (objects with
    ``feature``, ``value``, ``reference``, ``effect``, ``text``), and ``explained_with``.

    Examples
    --------
    >>> encode_mlflow(model="credit", version=2, predictions=np.array([0.5, 1.25]))
    b'{"predictions":[0.5,1.25],"model_name":"credit","model_version":2}'
    """
    _, data = _label_tensor(predictions, flat=False)
    answer: dict[str, Any] = {"predictions": data}
    if explanation is not None:
        answer["reasons"] = [row.to_dict()["reasons"] for row in explanation.rows()]
        answer["explained_with"] = str(explanation.method)
    answer.update(model_name=model, model_version=version)
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


# -- the signature, once ---------------------------------------------------------------------


_PLANS: dict[int, tuple[Signature, _Plan]] = {}
"""Plans by signature identity. A server scores with a handful of signatures: building the
column index and the category sets once each keeps a one-row request in tens of
microseconds. The entry holds the signature, so its id is not reused while cached; hashing
the signature instead would cost more than the rest of a one-row decode."""
_MAX_PLANS: Final[int] = 64


def _plan(signature: Signature) -> _Plan:
    cached = _PLANS.get(id(signature))
    if cached is not None and cached[0] is signature:
        return cached[1]
    plan = _new_plan(signature)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(signature)] = (signature, plan)
    return plan


def _new_plan(signature: Signature) -> _Plan:
    names = signature.names
    kinds = tuple(spec.kind for spec in signature.columns)
    return _Plan(
        names=names,
        columns=pd.Index(list(names)),
        kinds=kinds,
        categories=tuple(frozenset(spec.categories) if spec.categories is not None else None
                         for spec in signature.columns),
        positions={name: position for position, name in enumerate(names)},
        all_numeric=all(kind is ColumnKind.NUMERIC for kind in kinds),
    )


# -- Open Inference Protocol ----------------------------------------------------------------


def _tensor(index: int, item: Any, max_rows: int) -> _Tensor:
    field = f"inputs[{index}]"
    tensor = _mapping(item, field, f"{field} must be a tensor object "
                      '({"name", "shape", "datatype", "data"})')
    _no_unknown_keys(tensor, _V2_INPUT_KEYS, field, "a tensor")
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise RequestProblem(400, f'{field}.name must be a non-empty string, e.g. a column name.',
                             f"{field}.name")
    datatype = tensor.get("datatype")
    if not isinstance(datatype, str) or datatype not in _DATATYPES:
        raise RequestProblem(400, f"{field}.datatype {_shown(datatype)} is not an Open Inference "
                             f"Protocol datatype; use one of {_DATATYPE_LIST}.",
                             f"{field}.datatype")
    parameters = _parameters(tensor.get("parameters"), f"{field}.parameters")
    shape = _shape(tensor.get("shape"), f"{field}.shape")
    data = tensor.get("data")
    if "binary_data_size" in parameters:
        raise RequestProblem(400, f"{field} uses the binary tensor extension, which this server "
                             'does not take; send the values as JSON in "data" (with tritonclient: '
                             "binary_data=False).", f"{field}.data")
    if not isinstance(data, list):
        raise RequestProblem(400, f"{field}.data must be a list of values, not "
                             f"{_json_type(data)}.", f"{field}.data")
    total = math.prod(shape)
    nested = bool(data) and isinstance(data[0], list)
    if nested and (len(shape) != 2 or len(data) != shape[0]) or not nested and len(data) != total:
        need = (f"{total} values, flat in row-major order"
                + (f", or {shape[0]} nested rows of {shape[1]}" if len(shape) == 2 else ""))
        raise RequestProblem(400, f"{field}.data holds {len(data)} "
                             f"{'rows' if nested else 'values'}, but shape {list(shape)} needs "
                             f"{need}.", f"{field}.data")
    _not_too_many(shape[0], max_rows, f"{field}.shape")
    if nested:
        width = shape[1]
        for row, values in enumerate(data):
            if not isinstance(values, list) or len(values) != width:
                raise RequestProblem(400, f"{field}.data[{row}] must be a list of {width} values "
                                     f"(shape {list(shape)}); send every row with {width} values.",
                                     f"{field}.data")
        data = list(chain.from_iterable(data))
    return _Tensor(index, name, shape, datatype, data)


def _shape(shape: Any, field: str) -> tuple[int, ...]:
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 2
            or not all(type(size) is int and size >= 0 for size in shape)):
        raise RequestProblem(400, f"{field} must be [rows] or [rows, columns], sizes being "
                             f"whole numbers of 0 or more; got {_shown(shape)}.", field)
    return tuple(shape)


def _requested_outputs(outputs: Any) -> tuple[str, ...]:
    if outputs is None:
        return ()
    if not isinstance(outputs, list):
        raise RequestProblem(400, '"outputs" must be a list of {"name": ...} objects, not '
                             f"{_json_type(outputs)}.", "outputs")
    names: list[str] = []
    for index, item in enumerate(outputs):
        field = f"outputs[{index}]"
        output = _mapping(item, field, f'{field} must be an object with a "name"')
        _no_unknown_keys(output, frozenset({"name", "parameters"}), field, "a requested output")
        _parameters(output.get("parameters"), f"{field}.parameters")
        name = output.get("name")
        if name not in OUTPUT_NAMES:
            raise _unknown_output(name, f"{field}.name")
        if name in names:
            raise RequestProblem(400, f"Output '{name}' is asked for twice; ask once.",
                                 f"{field}.name")
        names.append(name)
    return tuple(names)


def _v2_by_column(plan: _Plan, signature: Signature, tensors: list[_Tensor], rows: int,
                  strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns: dict[str, _Column] = {}
    for tensor in tensors:
        if len(tensor.shape) == 2 and tensor.shape[1] != 1:
            raise RequestProblem(400, f"Input '{tensor.name}' has shape {list(tensor.shape)}; "
                                 "when inputs are named after the model's columns, each holds "
                                 "one column: shape [rows] or [rows, 1].", f"{tensor.field}.shape")
        position = plan.positions.get(tensor.name)
        if (position is not None and plan.kinds[position] is ColumnKind.NUMERIC
                and tensor.datatype not in _NUMERIC_DATATYPES):
            raise RequestProblem(422, f"Column '{tensor.name}' is numeric; send input "
                                 f"'{tensor.name}' with a numeric datatype (FP64, FP32, INT64...),"
                                 f" not {tensor.datatype}.", tensor.name)
        columns[tensor.name] = _Column(tensor.name, tensor.data, tensor.datatype,
                                       f"{tensor.field}.data")
    return _from_columns(plan, signature, columns, rows, strict)


def _v2_one_tensor(plan: _Plan, signature: Signature, tensors: list[_Tensor], rows: int,
                   strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    width = len(plan.names)
    if len(tensors) == 1:
        tensor = tensors[0]
    else:
        wide = [t for t in tensors if len(t.shape) == 2 and t.shape[1] != 1]
        if len(wide) != 1:
            raise RequestProblem(422, "No input is named after a model column, and no single "
                                 f"tensor holds them all; send one input per column, named "
                                 f"{plan.listing()}, or one tensor of shape [rows, {width}] with "
                                 "the columns in that order.", "inputs")
        tensor = wide[0]
    if len(tensor.shape) != 2:
        raise RequestProblem(400, f"Input '{tensor.name}' has shape {list(tensor.shape)}, one "
                             f"dimension; a tensor of all the model's columns has shape "
                             f"[rows, {width}].", f"{tensor.field}.shape")
    if tensor.shape[1] != width:
        raise RequestProblem(422, f"Input '{tensor.name}' has {tensor.shape[1]} columns, but the "
                             f"model takes {width}: {plan.listing()}; send shape "
                             f"[rows, {width}] with the columns in that order, or name one "
                             "input per column.", f"{tensor.field}.shape")
    extras: dict[str, _Column] = {}
    for other in tensors:
        if other is tensor:
            continue
        if len(other.shape) == 2 and other.shape[1] != 1:
            raise RequestProblem(400, f"Input '{other.name}' has shape {list(other.shape)}; an "
                                 "input beside the tensor of model columns holds one column: "
                                 "shape [rows] or [rows, 1].", f"{other.field}.shape")
        extras[other.name] = _Column(other.name, other.data, other.datatype, f"{other.field}.data")
    data = tensor.data
    field = f"{tensor.field}.data"
    if (plan.all_numeric and tensor.datatype in _NUMERIC_DATATYPES
            and set(map(type, data)) <= _NUMBER_OR_NULL):
        block = np.asarray(data, dtype=np.float64).reshape(rows, width)
        return _from_block(plan, signature, block, extras, field, strict)
    columns = {name: _Column(name, data[position::width], tensor.datatype, field)
               for position, name in enumerate(plan.names)}
    return _from_columns(plan, signature, columns | extras, rows, strict)


# -- MLflow ---------------------------------------------------------------------------------


def _split_columns(columns: Any, field: str) -> list[str] | None:
    if columns is None:
        return None
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        raise RequestProblem(400, f'"{field}" must be a list of column names.', field)
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise RequestProblem(400, f'"{field}" names {_listing(repeated)} more than once; name '
                             "each column once.", field)
    return columns


def _rows(plan: _Plan, signature: Signature, names: list[str] | None, data: list[Any],
          field: str, max_rows: int, strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows as lists: of ``names``, or of the model's columns in order."""
    _not_too_many(len(data), max_rows, field)
    _some_rows(len(data), field)
    if names is None:
        if isinstance(data[0], list) and len(data[0]) != len(plan.names):
            raise RequestProblem(422, f"Rows of {field} hold {len(data[0])} values without "
                                 f"column names; the model takes {len(plan.names)} columns "
                                 f"({plan.listing()}): send that many values per row, in that "
                                 "order, or name the columns.", field)
        names = list(plan.names)
    width = len(names)
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise RequestProblem(400, f"{field}[{index}] must be a list of {width} values, one per "
                                 "column.", f"{field}[{index}]")
    if (plan.all_numeric and width == len(plan.names) and set(names) == set(plan.names)
            and set(map(type, chain.from_iterable(data))) <= _NUMBER_OR_NULL):
        block = np.asarray(data, dtype=np.float64).reshape(len(data), width)
        if names != list(plan.names):
            block = block[:, [names.index(name) for name in plan.names]]
        return _from_block(plan, signature, block, {}, field, strict)
    columns = {name: _Column(name, list(values), None, field)
               for name, values in zip(names, zip(*data, strict=True), strict=True)}
    return _from_columns(plan, signature, columns, len(data), strict)


def _records(plan: _Plan, signature: Signature, records: Any, field: str, max_rows: int,
             strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not isinstance(records, list):
        raise RequestProblem(400, f'"{field}" must be a list of objects, one per row, not '
                             f"{_json_type(records)}.", field)
    _not_too_many(len(records), max_rows, field)
    _some_rows(len(records), field)
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise RequestProblem(400, f"{field}[{index}] must be an object of column values, not "
                                 f"{_json_type(record)}.", f"{field}[{index}]")
    names = dict.fromkeys(chain.from_iterable(records))
    columns = {name: _Column(name, [record.get(name) for record in records], None, field)
               for name in names}
    return _from_columns(plan, signature, columns, len(records), strict)


def _columnar(plan: _Plan, signature: Signature, payload: dict[str, Any], field: str,
              max_rows: int, strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows: int | None = None
    for name, values in payload.items():
        if not isinstance(values, list):
            raise RequestProblem(400, f'"{field}.{name}" must be a list of values, one per row, '
                                 f"not {_json_type(values)}.", f"{field}.{name}")
        if rows is None:
            rows = len(values)
            _not_too_many(rows, max_rows, field)
        elif len(values) != rows:
            raise RequestProblem(400, f'"{field}.{name}" holds {len(values)} values but the '
                                 f"first column holds {rows}; every column holds one value per "
                                 "row.", f"{field}.{name}")
    _some_rows(rows or 0, field)
    columns = {name: _Column(name, values, None, f"{field}.{name}")
               for name, values in payload.items()}
    return _from_columns(plan, signature, columns, rows or 0, strict)


# -- columns to frames ----------------------------------------------------------------------


def _from_block(plan: _Plan, signature: Signature, block: np.ndarray,
                extras: dict[str, _Column], field: str,
                strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All the model's columns as one float64 block, in order (the fast path)."""
    if np.isinf(block).any():  # NaN is a missing value (null); infinity is refused
        columns = {name: _Column(name, block[:, position], None, field)
                   for position, name in enumerate(plan.names)}
        return _from_columns(plan, signature, columns | extras, len(block), strict)
    for column in extras.values():
        _check_values(column, None)
    # The default index is the RangeIndex of the rows (faster left implicit).
    frame = pd.DataFrame(block, columns=plan.columns, copy=False)
    return frame, _with_extras(frame, extras)


def _from_columns(plan: _Plan, signature: Signature, columns: dict[str, _Column], rows: int,
                  strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    for name, column in columns.items():
        position = plan.positions.get(name)
        _check_values(column, None if position is None else plan.kinds[position])
    frame = (_numeric_frame(plan, columns) if plan.all_numeric
             else _direct_frame(plan, columns, rows, strict))
    if frame is None:
        return _checked(signature, plan, columns, rows, strict)
    extras = {name: column for name, column in columns.items() if name not in plan.positions}
    return frame, _with_extras(frame, extras)


def _numeric_frame(plan: _Plan, columns: dict[str, _Column]) -> pd.DataFrame | None:
    """All-numeric columns (checked: numbers and null) in one conversion, else None."""
    if not all(name in columns for name in plan.names):
        return None
    block = np.asarray([columns[name].values for name in plan.names], dtype=np.float64).T
    if np.isinf(block).any():
        return None
    return pd.DataFrame(block, columns=plan.columns, copy=False)


def _check_values(column: _Column, kind: ColumnKind | None) -> None:
    """The protocol's rules on values: single values, and numbers where numbers are due."""
    values = column.values
    if isinstance(values, np.ndarray):
        return
    types = set(map(type, values))
    if not types <= _SCALARS:
        raise RequestProblem(400, f"{column.field} holds lists or objects in column "
                             f"'{column.name}'; each value must be a string, number, boolean or "
                             "null (nested data must match the shape).", column.field)
    if kind is ColumnKind.NUMERIC and not types <= _NUMBER_OR_NULL:
        bad = [value for value in values if type(value) not in _NUMBER_OR_NULL]
        problem = WrongType(column.name, kind, len(bad), _examples(bad)).describe()
        raise RequestProblem(422, f"Input does not match the model signature: {problem}. Send "
                             "numbers in numeric columns, null for a missing value.", column.name)
    if column.datatype in _NUMERIC_DATATYPES and not types <= _NUMBER_OR_NULL:
        bad = [value for value in values if type(value) not in _NUMBER_OR_NULL]
        raise RequestProblem(422, f"Column '{column.name}' has datatype {column.datatype} but "
                             f"holds {len(bad)} value(s) that are not numbers (e.g. "
                             f"{', '.join(map(repr, _examples(bad)))}); send numbers, or declare "
                             "datatype BYTES.", column.field)
    if column.datatype == "BOOL" and not types <= _BOOL_OR_NULL:
        bad = [value for value in values if type(value) not in _BOOL_OR_NULL]
        raise RequestProblem(422, f"Column '{column.name}' has datatype BOOL but holds "
                             f"{len(bad)} value(s) that are not true or false (e.g. "
                             f"{', '.join(map(repr, _examples(bad)))}); send true or false, or "
                             "declare the values' own datatype.", column.field)


def _direct_frame(plan: _Plan, columns: dict[str, _Column], rows: int,
                  strict: bool) -> pd.DataFrame | None:
    """The coerced frame built straight from values that need no conversion, else None.

    Numbers are float64, text labels are themselves (missing: NaN), and booleans without
    missing values are ``bool``, exactly as :meth:`Signature.coerce` makes them; anything
    else, and any value the signature refuses, goes to :func:`_checked`.
    """
    arrays: dict[str, np.ndarray] = {}
    for name, kind, known in zip(plan.names, plan.kinds, plan.categories, strict=True):
        column = columns.get(name)
        if column is None:
            return None
        values = column.values
        if kind is ColumnKind.NUMERIC:
            array = np.asarray(values, dtype=np.float64)  # checked: numbers and null
            if np.isinf(array).any():
                return None
        elif kind in _LABEL_KINDS:
            if isinstance(values, np.ndarray):
                return None
            types = set(map(type, values))
            if not types <= _TEXT_OR_NULL:
                return None
            if strict and known is not None and not set(values) - {None} <= known:
                return None
            array = np.array(values, dtype=object)
            if _NONE in types:
                array[[value is None for value in values]] = np.nan
        elif kind is ColumnKind.BOOLEAN:
            if isinstance(values, np.ndarray) or set(map(type, values)) != {bool}:
                return None
            if strict and known is not None and not {str(v) for v in set(values)} <= known:
                return None
            array = np.array(values, dtype=bool)
        else:
            return None
        arrays[name] = array
    index = pd.RangeIndex(rows)
    # A Series keeps text as object (pandas would otherwise infer its string dtype),
    # as Signature.coerce does.
    return pd.DataFrame({name: pd.Series(array, index=index, dtype=object, copy=False)
                         if array.dtype == object else array
                         for name, array in arrays.items()}, index=index, copy=False)


def _checked(signature: Signature, plan: _Plan, columns: dict[str, _Column], rows: int,
             strict: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows through :meth:`Signature.check` and :meth:`Signature.coerce`."""
    raw = pd.DataFrame({name: _raw_values(column, name in plan.positions and plan.kinds[
        plan.positions[name]] is ColumnKind.NUMERIC) for name, column in columns.items()},
        index=pd.RangeIndex(rows))
    report = signature.check(raw)
    if report.errors(strict):
        raise _signature_problem(report, strict, plan)
    return signature.coerce(raw), raw


def _raw_values(column: _Column, numeric: bool) -> Any:
    if numeric or isinstance(column.values, np.ndarray):
        return np.asarray(column.values, dtype=np.float64)  # checked: numbers and null
    return column.values


def _with_extras(frame: pd.DataFrame, extras: dict[str, _Column]) -> pd.DataFrame:
    if not extras:
        return frame
    added = pd.DataFrame({name: column.values for name, column in extras.items()},
                         index=frame.index)
    return pd.concat([frame, added], axis=1)


def _signature_problem(report: SignatureReport, strict: bool, plan: _Plan) -> RequestProblem:
    try:
        report.raise_for_errors(strict_categories=strict)
    except InputError as error:
        reason = str(error)
    fixes = []
    if report.missing_columns:
        fixes.append(f"Send every column the model takes: {plan.listing()}.")
    if any(not problem.infinite for problem in report.wrong_types):
        fixes.append("Send each column's values as its kind needs (numbers, true or false, "
                     "ISO 8601 dates); null marks a missing value.")
    if strict and report.unseen_categories and not report.missing_columns:
        fixes.append("This server refuses categories unseen in training (strict categories); "
                     "send a known category, or null for a missing value.")
    field = (report.missing_columns[0] if report.missing_columns
             else report.wrong_types[0].column if report.wrong_types
             else report.unseen_categories[0].column)
    return RequestProblem(422, " ".join([reason, *fixes]), field)


# -- answers --------------------------------------------------------------------------------


def _label_tensor(values: np.ndarray, *, flat: bool = True) -> tuple[str, Any]:
    """A V2 datatype for ``values``, and the values as orjson writes them fastest."""
    kind = values.dtype.kind
    numeric = _LABEL_DATATYPES.get(kind)
    if numeric is not None:
        array: np.ndarray = np.ascontiguousarray(values, dtype=numeric[1])
        return numeric[0], array.ravel() if flat else array
    # Text, or objects (labels of mixed Python types).
    items = [value.item() if isinstance(value, np.generic) else value
             for value in values.ravel().tolist()]
    types = set(map(type, items))
    if types and types <= {bool}:
        datatype = "BOOL"
    elif types and types <= {int}:
        datatype = "INT64"
    elif types and types <= {int, float}:
        datatype = "FP64"
    else:
        datatype = "BYTES"
        items = [value.decode() if isinstance(value, bytes) else str(value) for value in items]
    if flat or values.ndim == 1:
        return datatype, items
    return datatype, np.array(items, dtype=object).reshape(values.shape).tolist()


def _unknown_output(name: Any, field: str) -> RequestProblem:
    return RequestProblem(422, f"Output {_shown(name)} is not one this server gives; ask for "
                          f"{' or '.join(repr(n) for n in OUTPUT_NAMES)}.", field)


# -- small checks ---------------------------------------------------------------------------


def _mapping(value: Any, field: str | None, must: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestProblem(400, f"{must}, not {_json_type(value)}.", field)
    return value


def _no_unknown_keys(value: dict[str, Any], allowed: frozenset[str], field: str | None,
                     what: str) -> None:
    if allowed.issuperset(value):
        return
    unknown = [key for key in value if key not in allowed]
    if unknown:
        where = f"{field}." if field else ""
        raise RequestProblem(400, f"Key {unknown[0]!r} is not part of {what}; its keys are "
                             f"{', '.join(repr(k) for k in sorted(allowed))}.",
                             f"{where}{unknown[0]}")


def _parameters(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    return _mapping(value, field, f'"{field}" must be an object')


def _not_too_many(rows: int, max_rows: int, field: str) -> None:
    if rows > max_rows:
        raise RequestProblem(413, f"The request holds {rows:,} rows; this server scores at most "
                             f"{max_rows:,} per request (serving.max_batch_rows). Send the rows "
                             "in several requests.", field)


def _some_rows(rows: int, field: str) -> None:
    if rows == 0:
        raise RequestProblem(422, "The request holds no rows; send at least one row to score.",
                             field)


def _examples(values: list[Any]) -> tuple[str, ...]:
    shown = dict.fromkeys(value if isinstance(value, str) else orjson.dumps(value).decode()
                          for value in values)
    return tuple(shown)[:3]


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_SHOWN_NAMES])
    more = len(names) - _SHOWN_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["OUTPUT_NAMES", "PLATFORM", "REASON_OUTPUTS", "Decoded", "RequestProblem",
           "decode_mlflow", "decode_v2", "encode_mlflow", "encode_v2", "parse_json",
           "v2_metadata"]
