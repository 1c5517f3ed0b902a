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
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

from rasad.errors import ConfigError
from rasad.limits import DEFAULT_LIMITS, check_plain

DATABASE_ENV = "RASAD_DATABASE_URL"
ARTIFACTS_ENV = "RASAD_ARTIFACTS_URL"
CONFIG_FILE = "rasad.yaml"
STATE_DIR = ".rasad"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StorageConfig(_Section):
    database_url: str | None = None
    artifacts_url: str | None = None

    @field_serializer("database_url", "artifacts_url")
    def _hide_password(self, url: str | None) -> str | None:
        # Every dump (the project.init audit event, JSON output) shows URLs without secrets.
        return None if url is None else redact_url(url)


class DataConfig(_Section):
    id_columns: list[str] = Field(default_factory=list)
    time_columns: list[str] = Field(default_factory=list)
    protected_attributes: list[str] = Field(default_factory=list)


class EstimatorConfig(_Section):
    class_path: str = Field("sklearn.ensemble.HistGradientBoostingClassifier", alias="class")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _plain(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            check_plain(value, "params")
        except ValueError as exc:  # pydantic reports it under the key, with the value
            raise ValueError(str(exc).removeprefix("params ").removeprefix("params: ")) from None
        return value


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


_TRUSTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


class RegistryConfig(_Section):
    environments: list[str] = Field(default_factory=lambda: ["dev", "staging", "production"],
                                    min_length=1)
    # Exact names of classes or functions (module.Name) a stored model may hold beyond
    # rasad's allow-list; never prefixes. See docs/model-trust.md.
    trusted_types: list[str] = Field(default_factory=list)

    @field_validator("trusted_types")
    @classmethod
    def _exact_names(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _TRUSTED_NAME.fullmatch(entry):
                raise ValueError(
                    f"{entry!r} is not the full name of one class or function; list each "
                    "one exactly as module.Name, e.g. 'mylib.models.Ranker' (package "
                    "prefixes and wildcards are not accepted; see docs/model-trust.md)")
        return value

    @field_validator("environments")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("environment names must be unique")
        if any(not name or not name.replace("-", "").replace("_", "").isalnum()
               for name in value):
            raise ValueError("environment names use letters, digits, '-' and '_' only")
        return value


class AuditConfig(_Section):
    # Where `rasad audit checkpoint` writes and `rasad audit verify` reads signed checkpoints:
    # a folder or any fsspec URL, outside the database's trust domain.
    checkpoints: str | None = None
    # Checkpoint public keys `audit verify` trusts (base64, as `rasad audit keygen` prints).
    public_keys: list[str] = Field(default_factory=list)


class FairnessConfig(_Section):
    # Target column -> the label value that favours the person (loan approved, no default).
    # `rasad fairness` measures selection rates and equal opportunity on that outcome.
    favorable_outcomes: dict[str, bool | int | str] = Field(default_factory=dict)

    @field_validator("favorable_outcomes", mode="before")
    @classmethod
    def _scalars(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("map each target column to its favourable label value, "
                             "e.g. {default: 0}")
        for target, outcome in value.items():
            if not isinstance(target, str) or not target:
                raise ValueError(f"{target!r} is not a target column name")
            if not isinstance(outcome, bool | int | str):
                raise ValueError(f"the favourable outcome of {target!r} must be one label "
                                 f"value (an integer, true/false or text), not {outcome!r}")
        return value


class GovernanceConfig(_Section):
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)


class ProjectConfig(_Section):
    name: str = Field(min_length=1)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)  # type: ignore[arg-type]
    validation: ValidationConfig = Field(default_factory=ValidationConfig)  # type: ignore[arg-type]
    registry: RegistryConfig = Field(default_factory=RegistryConfig)  # type: ignore[arg-type]
    audit: AuditConfig = Field(default_factory=AuditConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)

    @classmethod
    def from_yaml_text(cls, text: str, source: str = CONFIG_FILE) -> ProjectConfig:
        raw = load_yaml(text, source)
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


def load_yaml(text: str, source: str, *, max_nodes: int = DEFAULT_LIMITS.yaml_nodes) -> Any:
    """Parse one YAML document safely, refusing aliases that expand past ``max_nodes`` values.

    PyYAML shares the node an alias points to, so parsing a "billion laughs" document
    is cheap; everything after it (validation, copying, JSON for the audit event) walks
    the expanded tree and exhausts memory. The expanded size is counted on the node
    graph, before any Python object is built; recursive aliases are refused too.

    Parameters
    ----------
    text : str
        The YAML text.
    source : str
        Its name, for messages (``"rasad.yaml"``, ``"--param max_iter"``).
    max_nodes : int
        Values the document may hold once expanded.

    Returns
    -------
    object
        What :func:`yaml.safe_load` would return.

    Raises
    ------
    ConfigError
        If the text is not valid YAML, is too large once expanded, or nests too deep.

    Examples
    --------
    >>> load_yaml("base: &b {lr: 0.1}\\nrun: *b\\n", "rasad.yaml")
    {'base': {'lr': 0.1}, 'run': {'lr': 0.1}}
    >>> laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
    ...     f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\\n" for p, c in zip("abcde", "bcdef"))
    >>> load_yaml(laughs, "rasad.yaml")
    Traceback (most recent call last):
    ...
    rasad.errors.ConfigError: rasad.yaml: its aliases (*name) expand to more than 10,000 \
values; write the values out or use fewer aliases.
    """
    loader: yaml.SafeLoader | None = None
    try:
        # The loader reads the stream as it is built: a character YAML does not allow (a
        # control character) raises here already, and must get the same clean error.
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, source, max_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = (getattr(exc, "problem", None) or getattr(exc, "reason", None)
                   or "syntax error")
        raise ConfigError(f"{source} is not valid YAML{where}: {problem}. Fix the syntax."
                          ) from None
    except RecursionError:
        raise ConfigError(f"{source} nests lists or mappings too deeply; flatten it.") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_expansion(root: yaml.Node, source: str, max_nodes: int) -> None:
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError(f"{source}: an alias (*name) refers to a value that contains "
                              "it; remove the recursive alias.")
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            open_nodes.add(key)
            children = (node.value if isinstance(node, yaml.SequenceNode)
                        else [part for pair in node.value for part in pair])
            for child in children:
                total += size(child)
                if total > max_nodes:
                    raise ConfigError(
                        f"{source}: its aliases (*name) expand to more than {max_nodes:,} "
                        "values; write the values out or use fewer aliases.")
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/@:\s]*):[^/\s]*@")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)[^&\s]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with the password (``user:PASSWORD@``) replaced by ``***``.

    Works on any ``scheme://user:password@host/...`` text, also one SQLAlchemy
    cannot parse, hides a ``password=`` query parameter, and leaves URLs without a
    password unchanged.

    Examples
    --------
    >>> redact_url("postgresql+psycopg://rasad:s3cr3t@db.example:5432/rasad")
    'postgresql+psycopg://rasad:***@db.example:5432/rasad'
    >>> redact_url("postgresql://rasad@db/rasad?sslmode=require&password=s3cr3t")
    'postgresql://rasad@db/rasad?sslmode=require&password=***'
    >>> redact_url("sqlite:////srv/rasad/.rasad/rasad.db")
    'sqlite:////srv/rasad/.rasad/rasad.db'
    """
    return _QUERY_PASSWORD.sub(r"\g<head>***", _PASSWORD.sub(r"\g<head>:***@", url))


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
        parts.append(f"{key} = {_shown(error.get('input'))} is not allowed: {message}")
    return f"{source}: " + "; ".join(parts) + "."


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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

audit:
  # Signed ledger checkpoints (`rasad audit checkpoint`): a folder or fsspec URL the
  # database cannot rewrite (an object store bucket with retention in production).
  checkpoints: null
  # Public keys `rasad audit verify` trusts for checkpoints (`rasad audit keygen` prints one).
  public_keys: []

governance:
  fairness:
    # Target column -> the label value that favours the person, e.g. {{default: 0}} when
    # 1 means a loan default. `rasad fairness` measures selection rates, the four-fifths
    # ratio and equal opportunity on that outcome (the positive label 1 when not listed).
    favorable_outcomes: {{}}
"""
