"""``rasad.yaml``: the project configuration, validated with pydantic.

An invalid file raises :class:`ConfigError` naming the key, the bad value and
what is allowed:

>>> try:
...     ProjectConfig.from_yaml_text("name: demo\\nregistry:\\n  environments: []\\n")
... except ConfigError as err:
...     print(err)
rasad.yaml: registry.environments = [] is not allowed: List should have at least 1 item \
after validation, not 0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rasad.errors import ConfigError

DATABASE_ENV = "RASAD_DATABASE_URL"
ARTIFACTS_ENV = "RASAD_ARTIFACTS_URL"
CONFIG_FILE = "rasad.yaml"
STATE_DIR = ".rasad"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StorageConfig(_Section):
    database_url: str | None = None
    artifacts_url: str | None = None


class DataConfig(_Section):
    id_columns: list[str] = Field(default_factory=list)
    time_columns: list[str] = Field(default_factory=list)
    protected_attributes: list[str] = Field(default_factory=list)


class EstimatorConfig(_Section):
    class_path: str = Field("sklearn.ensemble.HistGradientBoostingClassifier", alias="class")
    params: dict[str, Any] = Field(default_factory=dict)


class SplitConfig(_Section):
    # auto: stratified for classifiers, random for regressors.
    method: Literal["auto", "random", "stratified", "time"] = "auto"
    validation: float = Field(0.2, ge=0.0, lt=1.0)
    test: float = Field(0.2, ge=0.0, lt=1.0)
    time_column: str | None = None


class TrainingConfig(_Section):
    dataset: str | None = None
    version: int | None = Field(None, ge=1)
    target: str | None = None
    features: list[str] | None = None
    estimator: EstimatorConfig = Field(default_factory=EstimatorConfig)  # type: ignore[arg-type]
    split: SplitConfig = Field(default_factory=SplitConfig)  # type: ignore[arg-type]
    seed: int = 42
    metrics: list[str] | None = None
    register_as: str | None = None


class ValidationConfig(_Section):
    # Declared schemas: dataset name -> YAML file (relative to the project folder).
    schemas: dict[str, str] = Field(default_factory=dict)
    # What `rasad train` does when its dataset fails validation: fail (refuse) or warn.
    on_error: Literal["fail", "warn"] = "fail"


class RegistryConfig(_Section):
    environments: list[str] = Field(default_factory=lambda: ["dev", "staging", "production"],
                                    min_length=1)
    trusted_types: list[str] = Field(default_factory=list)

    @field_validator("environments")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("environment names must be unique")
        if any(not name or not name.replace("-", "").replace("_", "").isalnum()
               for name in value):
            raise ValueError("environment names use letters, digits, '-' and '_' only")
        return value


class ProjectConfig(_Section):
    name: str = Field(min_length=1)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)  # type: ignore[arg-type]
    validation: ValidationConfig = Field(default_factory=ValidationConfig)  # type: ignore[arg-type]
    registry: RegistryConfig = Field(default_factory=RegistryConfig)  # type: ignore[arg-type]

    @classmethod
    def from_yaml_text(cls, text: str, source: str = CONFIG_FILE) -> ProjectConfig:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise ConfigError(f"{source} is not valid YAML{where}: {problem}. Fix the syntax."
                              ) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{source} must be a mapping of keys (name:, training:, ...), "
                              f"not {type(raw).__name__}.")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, source)) from None

    @classmethod
    def load(cls, path: Path) -> ProjectConfig:
        return cls.from_yaml_text(path.read_text(encoding="utf-8"), str(path.name))


def _describe(exc: ValidationError, source: str) -> str:
    parts = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            parts.append(f"{key} is not a known key; check the spelling against the "
                         "commented rasad.yaml that `rasad init` writes")
            continue
        if error["type"] == "missing":
            parts.append(f"{key} is required")
            continue
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{key} = {error.get('input')!r} is not allowed: {message}")
    return f"{source}: " + "; ".join(parts) + "."


def resolve_database_url(config: ProjectConfig, root: Path) -> str:
    """``RASAD_DATABASE_URL``, else ``storage.database_url``, else the embedded SQLite file."""
    url = os.environ.get(DATABASE_ENV) or config.storage.database_url
    return url or f"sqlite:///{root / STATE_DIR / 'rasad.db'}"


def resolve_artifacts_url(config: ProjectConfig, root: Path) -> str:
    """``RASAD_ARTIFACTS_URL``, else ``storage.artifacts_url``, else ``.rasad/artifacts``."""
    url = os.environ.get(ARTIFACTS_ENV) or config.storage.artifacts_url
    return url or str(root / STATE_DIR / "artifacts")


TEMPLATE = """\
# rasad project configuration. Every key is optional except `name`.
# Environment variables override storage: RASAD_DATABASE_URL, RASAD_ARTIFACTS_URL.
name: {name}

storage:
  # Metadata database. Default: SQLite at .rasad/rasad.db.
  # Teams: postgresql+psycopg://user@host:5432/rasad
  database_url: null
  # Artifact store: a folder or any fsspec URL (s3://bucket/rasad). Default: .rasad/artifacts
  artifacts_url: null

data:
  # Columns that identify a row or carry its time: never used as features by default.
  id_columns: []
  time_columns: []
  # Protected attributes (for fairness and PII reports): sex, age band, nationality, ...
  protected_attributes: []

training:
  # What `rasad train` does without arguments.
  dataset: null          # a dataset name added with `rasad data add`
  version: null          # null = latest version
  target: null           # the column to predict
  features: null         # null = every column except target, id and time columns
  estimator:
    class: sklearn.ensemble.HistGradientBoostingClassifier   # any scikit-learn compatible estimator
    params: {{}}
  split:
    # auto: stratified for classifiers, random for regressors.
    method: auto         # auto | random | stratified | time
    validation: 0.2
    test: 0.2
    time_column: null    # required when method is time
  seed: 42
  metrics: null          # null = all metrics for the task
  register_as: null      # a model name: register every successful run as a new version

validation:
  # Declared schemas override inferred ones: dataset name -> YAML file (`rasad schema infer`
  # writes one to start from).
  schemas: {{}}
  # When the training dataset fails validation: fail (refuse to train) or warn.
  on_error: fail

registry:
  # Environments in promotion order.
  environments: [dev, staging, production]
  # Extra types (beyond scikit-learn, NumPy, SciPy, LightGBM, XGBoost) that model
  # artifacts may contain. Each one is a trust decision: list it only if you wrote it.
  trusted_types: []
"""
