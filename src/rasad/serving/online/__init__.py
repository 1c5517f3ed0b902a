"""The online prediction server (docs/serving.md).

:func:`create_app` serves the models deployed to an environment over the Open Inference
Protocol V2 and MLflow's scoring format (``rasad serve`` runs it on uvicorn).
:class:`ServedModels` loads them from the registry and follows promotions and rollbacks;
:mod:`~rasad.serving.online.inputs` decodes requests against a model's signature and
encodes the answers; :class:`TokenCache` keeps token authentications for a few seconds;
:class:`Metrics` are the Prometheus metrics.
"""

from rasad.serving.online.app import Problem, Server, app_from_environment, create_app
from rasad.serving.online.auth import CACHE_SECONDS, TokenCache
from rasad.serving.online.inputs import (
    Decoded,
    RequestProblem,
    decode_mlflow,
    decode_v2,
    encode_mlflow,
    encode_v2,
    parse_json,
    v2_metadata,
)
from rasad.serving.online.metrics import Metrics
from rasad.serving.online.models import Change, Follower, Loaded, ModelEntry, ServedModels

__all__ = [
    "CACHE_SECONDS",
    "Change",
    "Decoded",
    "Follower",
    "Loaded",
    "Metrics",
    "ModelEntry",
    "Problem",
    "RequestProblem",
    "ServedModels",
    "Server",
    "TokenCache",
    "app_from_environment",
    "create_app",
    "decode_mlflow",
    "decode_v2",
    "encode_mlflow",
    "encode_v2",
    "parse_json",
    "v2_metadata",
]
