"""The prediction server's request and answer bodies, for its OpenAPI schema only.

The handlers read and write raw bytes (orjson, no pydantic on the hot path); these models
describe the same bodies so the schema at ``/openapi.json`` is complete: request bodies
are attached with :func:`body`, answers with :func:`answers`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

Scalar = str | int | float | bool | None
Datatype = Literal["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
                   "INT64", "FP16", "FP32", "FP64", "BYTES"]
_REF = "#/components/schemas/{model}"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tensor(_Body):
    """An Open Inference Protocol input tensor: one model column (named as it), or every
    column at once, shape ``[rows, columns]``, in the model's column order."""

    name: str = Field(min_length=1, max_length=200)
    shape: list[int] = Field(min_length=1, max_length=2)
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[Any] = Field(description="The values, flat in row-major order (nested lists "
                                        "matching the shape are accepted too).")


class RequestedOutput(_Body):
    name: Literal["predict", "predict_proba"]
    parameters: dict[str, Any] | None = None


class InferenceRequest(_Body):
    """``POST /v2/models/{name}/infer``."""

    id: str | None = Field(None, max_length=200, description="Echoed in the answer and the "
                           "`x-request-id` header; names the prediction for feedback.")
    parameters: dict[str, Any] | None = Field(None, description=(
        '`{"explain": true}` adds each row\'s reason codes: the outputs `reasons`, '
        "`reason_features` and `reason_effects`, shape [rows, K] (docs/explanations.md)."))
    inputs: list[Tensor] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = Field(
        None, description="`predict` (default) and/or `predict_proba`.")


class OutputTensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None
    parameters: dict[str, Any] | None = None
    outputs: list[OutputTensor]


class V2Error(BaseModel):
    """An Open Inference Protocol error: what is wrong and how to fix it, and where."""

    error: str
    field: str | None = None


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class FeedbackRequest(_Body):
    """True labels for the predictions of one request: ``labels[i]`` is the label of row
    ``rows[i]`` (rows default to 0, 1, ...)."""

    request_id: str = Field(min_length=1, max_length=200)
    labels: list[str | int | float | bool] = Field(min_length=1)
    rows: list[int] | None = None


class FeedbackAccepted(BaseModel):
    request_id: str
    accepted: int


class DataframeSplit(_Body):
    columns: list[str] | None = None
    data: list[Any]
    index: list[Any] | None = None


class MlflowSplit(_Body):
    dataframe_split: DataframeSplit
    params: dict[str, Any] | None = None


class MlflowRecords(_Body):
    dataframe_records: list[dict[str, Scalar]]
    params: dict[str, Any] | None = None


class MlflowInstances(_Body):
    instances: list[Any] | dict[str, list[Any]]
    params: dict[str, Any] | None = None


class MlflowInputs(_Body):
    inputs: list[Any] | dict[str, list[Any]]
    params: dict[str, Any] | None = None


class MlflowPredictions(BaseModel):
    predictions: list[Any]
    reasons: list[list[dict[str, Any]]] | None = Field(None, description=(
        'Each row\'s reason codes, when asked (`params: {"explain": true}` or '
        "`?explain=true`): `feature`, `value`, `reference`, `effect`, `text`."))
    explained_with: str | None = Field(None, description="`shap` or `substitution`.")
    model_name: str
    model_version: int


class MlflowError(BaseModel):
    """An MLflow scoring server error."""

    error_code: str
    message: str


DOCUMENTED: tuple[type[BaseModel], ...] = (
    InferenceRequest, FeedbackRequest, MlflowSplit, MlflowRecords, MlflowInstances,
    MlflowInputs)
"""Request bodies, added to the schema's components (the answers FastAPI adds itself)."""


def components() -> dict[str, Any]:
    """The JSON schemas of :data:`DOCUMENTED` and everything they refer to."""
    _, schema = models_json_schema([(model, "validation") for model in DOCUMENTED],
                                   ref_template=_REF)
    defs: dict[str, Any] = schema.get("$defs", {})
    return defs


def body(*models: type[BaseModel], description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is one of ``models``."""
    refs = [{"$ref": _REF.format(model=model.__name__)} for model in models]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


def answers(error: type[BaseModel], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, each an ``error`` body."""
    return {status: {"model": error, "description": _STATUS[status]} for status in statuses}


_STATUS = {
    400: "Malformed request (not JSON, wrong shape); the body says what to fix.",
    401: "No token, or one that does not authenticate (`Authorization: Bearer rsd_...`).",
    403: "The token's principal lacks the predict permission (role predictor).",
    404: "No such model here, or a version that is not the one serving.",
    409: "Feedback cannot be taken: this server's prediction log is off.",
    413: "The body is larger than serving.max_body_bytes, or holds more rows than "
         "serving.max_batch_rows.",
    415: "The body is not JSON (send Content-Type: application/json).",
    422: "The input breaks the model's signature: a missing column, a wrong type, a "
         "non-finite number; `field` names it.",
    503: "The prediction log's queue is full; send the feedback again later.",
}

TOKEN_SCHEME: dict[str, Any] = {
    "type": "http", "scheme": "bearer",
    "description": "A rasad API token with the predict permission (`rasad tokens create NAME "
                   "--role predictor`). Not needed when serving.environments.ENV.anonymous "
                   "is true."}
SECURED: dict[str, Any] = {"security": [{"token": []}]}
"""``openapi_extra`` of a route that needs a token."""


__all__ = ["DOCUMENTED", "SECURED", "TOKEN_SCHEME", "FeedbackAccepted", "FeedbackRequest",
           "InferenceRequest", "InferenceResponse", "Live", "MlflowError", "MlflowPredictions",
           "ModelMetadata", "ModelReady", "Ready", "ServerMetadata", "V2Error", "answers",
           "body", "components"]
