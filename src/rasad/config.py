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
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
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


class Threshold(_Section):
    """One bound on a metric: ``min`` (higher is better) or ``max`` (lower is better).

    ``basis: estimate`` compares the value measured on the evaluation data; ``basis: bound``
    compares the worst end of its bootstrap confidence interval (the lower bound for
    ``min``, the upper bound for ``max``), so the threshold holds with that confidence.
    """

    min: float | None = None
    max: float | None = None
    basis: Literal["estimate", "bound"] = "estimate"

    @model_validator(mode="after")
    def _one_side(self) -> Threshold:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of min (at least) or max (at most)")
        return self


class ChampionConfig(_Section):
    # The metric the candidate is compared on; default roc_auc (classifiers), rmse (regressors).
    metric: str | None = None
    # "Not worse than the champion by more than margin", at the policy's confidence.
    margin: float = Field(0.0, ge=0.0)


class GateFairnessConfig(_Section):
    # true: every verdict must pass, so an inconclusive one blocks too.
    require_pass: bool = False


class PersonalDataConfig(_Section):
    # Feature column -> why the model may use it although it holds personal data or is a
    # protected attribute. Anything not listed here blocks the personal-data gate.
    allowed: dict[str, str] = Field(default_factory=dict)

    @field_validator("allowed")
    @classmethod
    def _justified(cls, value: dict[str, str]) -> dict[str, str]:
        for column, why in value.items():
            if not str(why).strip():
                raise ValueError(f"column {column!r} needs a written justification")
        return value


class SliceConfig(_Section):
    """Rows where ``column`` equals one of ``values``, or lies in ``[min, max)``."""

    column: str
    values: list[bool | int | float | str] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SliceConfig:
        if (self.values is None) == (self.min is None and self.max is None):
            raise ValueError(f"slice of {self.column!r}: give values, or min and/or max")
        return self


class ModelTestConfig(_Section):
    """One behavioural test of a model (``promotion.tests``; ``rasad test``).

    kinds:
    - ``slice_performance``: ``metric`` on the rows of ``slice`` is at least ``min`` (or
      at most ``max``).
    - ``invariance``: setting ``column`` to each of ``values`` (default: every value it
      takes in the data) changes at most ``tolerance`` (a share of rows) of the decisions.
    - ``directional``: adding ``change`` to numeric ``column`` moves the mean predicted
      probability of ``outcome`` (default the positive class) in ``direction``.
    - ``robustness``: missing values, unseen categories and extreme values in ``columns``
      (default every input column) give an answer or a clear error, never a crash.
    """

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["slice_performance", "invariance", "directional", "robustness"]
    metric: str | None = None
    min: float | None = None
    max: float | None = None
    slice: SliceConfig | None = None
    column: str | None = None
    values: list[bool | int | float | str] | None = None
    tolerance: float = Field(0.0, ge=0.0, le=1.0)
    change: float | None = None
    direction: Literal["increase", "decrease", "no_decrease", "no_increase"] | None = None
    outcome: bool | int | str | None = None
    columns: list[str] | None = None

    @model_validator(mode="after")
    def _complete(self) -> ModelTestConfig:
        needs: dict[str, list[str]] = {
            "slice_performance": ["metric", "slice"],
            "invariance": ["column"],
            "directional": ["column", "change", "direction"],
            "robustness": [],
        }
        missing = [key for key in needs[self.kind] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"test {self.name!r} ({self.kind}) needs {', '.join(missing)}")
        if self.kind == "slice_performance" and (self.min is None) == (self.max is None):
            raise ValueError(f"test {self.name!r}: give exactly one of min or max")
        return self


GATES = ("validation", "metrics", "champion", "fairness", "model_tests", "personal_data")
"""Every promotion gate, in the order they run."""


RoleName = Literal["viewer", "data_scientist", "approver", "deployer", "auditor", "predictor",
                   "admin"]
"""The roles an approval rule may name (rasad.identity.Role; a test keeps them equal)."""


class ApprovalRule(_Section):
    # How many distinct people must approve, and the roles that count (any one of them).
    approvals: int = Field(1, ge=1, le=10)
    roles: list[RoleName] = Field(default_factory=lambda: ["approver"],  # type: ignore[arg-type]
                                  min_length=1)


class EnvironmentPolicy(_Section):
    # "all", or a list of gate names (an empty list: no gates).
    gates: Literal["all"] | list[Literal["validation", "metrics", "champion", "fairness",
                                         "model_tests", "personal_data"]] = "all"
    # null: promoting needs no approval; else a request waits for the approvals it names.
    approval: ApprovalRule | None = None
    # true: a gate that could not run (nothing declared for it) blocks like a failed one.
    strict: bool = False
    # true: the card gate also runs, and blocks unless the model card is complete
    # (everything governance.models.NAME should declare is declared).
    require_card: bool = False

    @property
    def gate_names(self) -> tuple[str, ...]:
        """The gates this environment runs, in :data:`GATES` order."""
        chosen = GATES if self.gates == "all" else tuple(self.gates)
        card = ("card",) if self.require_card else ()
        return tuple(gate for gate in GATES if gate in chosen) + card


class PromotionConfig(_Section):
    # Labelled data every gate evaluates on: NAME (its latest version) or NAME@VERSION.
    evaluation_data: str | None = None
    # The label column; default: the column the model was trained to predict.
    target: str | None = None
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    bootstrap: int = Field(1000, ge=100, le=100_000)
    seed: int = 0
    # Metric name -> threshold, checked on evaluation_data by the metrics gate.
    metrics: dict[str, Threshold] = Field(default_factory=dict)
    champion: ChampionConfig = Field(default_factory=ChampionConfig)  # type: ignore[arg-type]
    fairness: GateFairnessConfig = Field(default_factory=GateFairnessConfig)
    personal_data: PersonalDataConfig = Field(default_factory=PersonalDataConfig)
    tests: list[ModelTestConfig] = Field(default_factory=list)
    # An open request expires after this many days.
    request_ttl_days: float = Field(14.0, gt=0.0, le=3650.0)
    # Per environment; an environment not listed gets the default of its position.
    environments: dict[str, EnvironmentPolicy] = Field(default_factory=dict)

    @field_validator("tests")
    @classmethod
    def _unique_tests(cls, value: list[ModelTestConfig]) -> list[ModelTestConfig]:
        names = [test.name for test in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"test names must be unique; repeated: {', '.join(repeated)}")
        return value

    def policy(self, env: str, environments: list[str]) -> EnvironmentPolicy:
        """The policy of ``env``: as declared, else the default of its position.

        The first environment (dev) has no gates and no approval; the last (production)
        runs every gate and needs one approval from an approver; those between
        (staging) run every gate and need no approval.

        >>> config = PromotionConfig()
        >>> envs = ["dev", "staging", "production"]
        >>> [(config.policy(e, envs).gate_names != (), config.policy(e, envs).approval)
        ...  for e in envs]  # doctest: +NORMALIZE_WHITESPACE
        [(False, None), (True, None),
         (True, ApprovalRule(approvals=1, roles=['approver']))]
        """
        if env in self.environments:
            return self.environments[env]
        if len(environments) > 1 and env == environments[0]:
            return EnvironmentPolicy(gates=[])
        if len(environments) > 1 and env == environments[-1]:
            return EnvironmentPolicy(approval=ApprovalRule(approvals=1))
        return EnvironmentPolicy()


class PredictionLogConfig(_Section):
    """``serving.log``: how the prediction server logs what it scored (docs/serving.md)."""

    enabled: bool = True
    # Input column -> what the log keeps of it: `mask` (a keyed hash, still joinable) or
    # `drop` (left out). Columns not listed are logged as sent.
    personal_data: dict[str, Literal["mask", "drop"]] = Field(default_factory=dict)
    # A segment is written at least this often (the most a crash can lose) ...
    flush_seconds: float = Field(1.0, gt=0.0, le=300.0)
    # ... or as soon as it holds this many rows.
    flush_rows: int = Field(10_000, ge=1, le=1_000_000)
    # Rows waiting to be written; past it a prediction is answered but not logged, and
    # counted as dropped (the request is never slowed down by the log).
    queue_rows: int = Field(200_000, ge=1, le=10_000_000)
    # Segments older than this are deleted by `rasad serve` and `rasad gc`.
    retention_days: float = Field(90.0, gt=0.0, le=36_500.0)


class CanaryConfig(_Section):
    """A canary version answers ``share`` of the requests (sticky by ``key`` when given)."""

    share: float = Field(gt=0.0, lt=1.0)
    key: str | None = None


class ServingEnvironmentConfig(_Section):
    """``serving.environments.ENV``: who may call the server and how traffic is split."""

    # Answer requests without a token (a `predictor` token is needed otherwise).
    anonymous: bool = False
    canary: CanaryConfig | None = None


class ServedModelConfig(_Section):
    """``serving.models.NAME``: how the server treats one model's requests."""

    # `refuse`: a category not seen in training is a 422 naming the column and the values;
    # `score` (default): scored as the encoder does (all zeros), with a warning header.
    unseen_categories: Literal["score", "refuse"] | None = None


class ServingConfig(_Section):
    """``serving``: the prediction server (`rasad serve`, docs/serving.md)."""

    # What a category unseen in training gets, for every model without its own setting
    # in `models`: `score` (as batch scoring does) or `refuse` (422).
    unseen_categories: Literal["score", "refuse"] = "score"
    models: dict[str, ServedModelConfig] = Field(default_factory=dict)

    # Rows one request may carry (413 past it).
    max_batch_rows: int = Field(10_000, ge=1, le=10_000_000)
    # Bytes one request body may hold (413 past it).
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, le=2 * 1024 ** 3)
    # How often the server looks for promotions and rollbacks when PostgreSQL
    # LISTEN/NOTIFY is not available.
    poll_seconds: float = Field(1.0, gt=0.0, le=300.0)
    log: PredictionLogConfig = Field(default_factory=PredictionLogConfig)  # type: ignore[arg-type]
    environments: dict[str, ServingEnvironmentConfig] = Field(default_factory=dict)


# --- automation: the agent's sources, monitors, alerts and retraining (docs/automation.md)

Cron = str
"""A five-field cron expression (minute hour day-of-month month day-of-week), in UTC."""


def _check_cron(value: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(value) or len(value.split()) != 5:
        raise ValueError(f"{value!r} is not a five-field cron expression "
                         "(minute hour day month weekday, e.g. '0 6 * * *')")
    return value


class FileSourceConfig(_Section):
    """``automation.sources.NAME`` with ``kind: files``: data files that arrive in a folder."""

    kind: Literal["files"]
    # The dataset the files become versions of.
    dataset: str = Field(min_length=1, max_length=200)
    # An fsspec glob: a folder of the project (`incoming/*.csv`) or any fsspec URL
    # (`s3://bucket/loans/*.parquet`).
    path: str = Field(min_length=1)
    # `file`: each file is a version of its own; `append`: a version is the previous
    # version with the file's rows added.
    combine: Literal["file", "append"] = "file"


class LogSourceConfig(_Section):
    """``automation.sources.NAME`` with ``kind: prediction_log``: what a model served, with
    the feedback joined to it."""

    kind: Literal["prediction_log"]
    model: str = Field(min_length=1, max_length=200)
    environment: str | None = None  # default: the last environment (production)


SourceConfig = FileSourceConfig | LogSourceConfig


class MonitorConfig(_Section):
    """``automation.monitors.NAME``: one thing the agent watches, and what it does when the
    watch finds something."""

    kind: Literal["drift", "performance", "estimated_performance", "validation"]
    source: str = Field(min_length=1)
    # The model whose serving version's training data is the reference (drift) and whose
    # predictions are judged (performance); default: the only model retraining names.
    model: str | None = None
    environment: str | None = None  # default: the last environment (production)
    # A cron expression, or `on_arrival` (run when a source file was ingested).
    schedule: str = "on_arrival"
    # The recent window judged: the last `window_rows` rows and/or `window_days` days.
    window_rows: int | None = Field(None, ge=1)
    window_days: float | None = Field(None, gt=0.0)
    # Performance monitors: metric -> bounds (estimated ones also take `basis`).
    metrics: dict[str, Threshold] = Field(default_factory=dict)
    actions: list[Literal["alert", "retrain"]] = Field(
        default_factory=lambda: ["alert"], min_length=1)  # type: ignore[arg-type]
    # A monitor that fired does not fire again within this many hours.
    cooldown_hours: float = Field(24.0, ge=0.0)
    severity: Literal["info", "warning", "critical"] = "warning"
    channels: list[str] | None = None  # default: every channel

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return value if value == "on_arrival" else _check_cron(value)


class WebhookChannel(_Section):
    """A JSON POST signed with HMAC-SHA256 (header ``X-Rasad-Signature``)."""

    kind: Literal["webhook"]
    url: str = Field(min_length=1)
    # The environment variable holding the signing secret (never the secret itself).
    secret_env: str | None = None
    timeout_seconds: float = Field(10.0, gt=0.0, le=300.0)


class SlackChannel(_Section):
    """A Slack-compatible incoming webhook (``{"text": ...}``)."""

    kind: Literal["slack"]
    url: str = Field(min_length=1)
    timeout_seconds: float = Field(10.0, gt=0.0, le=300.0)


class EmailChannel(_Section):
    """E-mail over SMTP, with STARTTLS and authentication when configured."""

    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None  # the variable holding the password
    sender: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(10.0, gt=0.0, le=300.0)


class FileChannel(_Section):
    """JSON lines appended to a local file (the default sink)."""

    kind: Literal["file"]
    path: str = ".rasad/alerts.jsonl"


ChannelConfig = WebhookChannel | SlackChannel | EmailChannel | FileChannel


class AlertsConfig(_Section):
    """``automation.alerts``: where alerts go and how failed deliveries are retried."""

    channels: dict[str, Annotated[ChannelConfig, Field(discriminator="kind")]] = Field(
        default_factory=lambda: {"file": FileChannel(kind="file")})  # type: ignore[arg-type]
    retries: int = Field(5, ge=0, le=100)
    backoff_seconds: float = Field(30.0, gt=0.0, le=86_400.0)


class RetrainingConfig(_Section):
    """``automation.retraining.MODEL``: how a trigger retrains ``MODEL``."""

    # The dataset trained on (default: training.dataset).
    dataset: str | None = None
    # `latest`: the newest version; `all`: every version of the dataset combined.
    combine: Literal["latest", "all"] = "latest"
    # Where the candidate is put up for promotion (default: the first environment with
    # gates, as the promotion policy says); production always waits for approvers.
    request_to: str | None = None


class AgentConfig(_Section):
    """``automation.agent``: how agents share work."""

    # A claimed piece of work is taken over by another agent once its lease runs out.
    lease_seconds: float = Field(300.0, ge=5.0, le=86_400.0)
    # How often a long-running agent makes a pass.
    interval_seconds: float = Field(60.0, gt=0.0, le=86_400.0)
    # When the agent writes a signed ledger checkpoint (cron; none when absent).
    checkpoints: str | None = None

    @field_validator("checkpoints")
    @classmethod
    def _checkpoints(cls, value: str | None) -> str | None:
        return None if value is None else _check_cron(value)


class AutomationConfig(_Section):
    """``automation``: what the agent (`rasad agent`) watches and does."""

    sources: dict[str, Annotated[SourceConfig, Field(discriminator="kind")]] = Field(
        default_factory=dict)
    monitors: dict[str, MonitorConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)  # type: ignore[arg-type]
    retraining: dict[str, RetrainingConfig] = Field(default_factory=dict)
    agent: AgentConfig = Field(default_factory=AgentConfig)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _references(self) -> AutomationConfig:
        from rasad.names import NAME_PATTERN

        for section, names in (("sources", self.sources), ("monitors", self.monitors),
                               ("alerts.channels", self.alerts.channels),
                               ("retraining", self.retraining)):
            for key in names:
                if not NAME_PATTERN.fullmatch(key):
                    raise ValueError(f"automation.{section} key {key!r} is not a name: use "
                                     "letters, digits, '.', '_' or '-' (up to 200)")
        for channel_name, sink in self.alerts.channels.items():
            if isinstance(sink, EmailChannel) and sink.username and (
                    not sink.password_env or not sink.starttls):
                raise ValueError(f"automation.alerts.channels.{channel_name}: a login needs "
                                 "password_env (the variable holding the password) and "
                                 "starttls: true (a password is never sent in clear)")
        for name, monitor in self.monitors.items():
            where = f"automation.monitors.{name}"
            if monitor.source not in self.sources:
                raise ValueError(f"{where}.source names {monitor.source!r}, not one of "
                                 f"sources ({', '.join(sorted(self.sources)) or 'none'})")
            for channel in monitor.channels or []:
                if channel not in self.alerts.channels:
                    raise ValueError(f"{where}.channels names {channel!r}, not one of "
                                     f"alerts.channels ({', '.join(sorted(self.alerts.channels))})")
            if "retrain" in monitor.actions:
                model = monitor.model or (next(iter(self.retraining))
                                          if len(self.retraining) == 1 else None)
                if model is None or model not in self.retraining:
                    raise ValueError(f"{where}.actions has retrain, but automation.retraining "
                                     f"has no entry for model {monitor.model or '(unnamed)'}: "
                                     "add automation.retraining.MODEL")
            source = self.sources[monitor.source]
            if monitor.kind == "validation" and not isinstance(source, FileSourceConfig):
                raise ValueError(f"{where}: a validation monitor watches a files source")
            if monitor.kind == "performance" and not isinstance(source, LogSourceConfig):
                raise ValueError(f"{where}: realized performance needs a prediction_log "
                                 "source (the labels come as feedback)")
            if isinstance(source, LogSourceConfig) and monitor.schedule == "on_arrival":
                raise ValueError(f"{where}.schedule: a prediction_log source has no arrivals; "
                                 "give a cron expression (e.g. '0 * * * *')")
            if monitor.kind == "estimated_performance" and (
                    not isinstance(source, LogSourceConfig)
                    or (monitor.window_rows is None and monitor.window_days is None)):
                raise ValueError(f"{where}: estimated performance judges a prediction_log "
                                 "source's recent window: give window_rows or window_days")
            if monitor.kind in ("performance", "estimated_performance") and not monitor.metrics:
                raise ValueError(f"{where}.metrics is empty: name at least one metric with "
                                 "its min or max")
        return self


class ModelGovernanceConfig(_Section):
    """``governance.models.NAME``: what people declare about a model, for its card and the
    model inventory. Nothing here is inferred: what is missing is shown as missing."""

    owner: str | None = None
    # The model-risk tier a model-risk function assigned (SR 26-2, SAMA): how much
    # validation and review the model needs.
    risk_tier: Literal["low", "medium", "high", "critical"] | None = None
    intended_use: str | None = None
    out_of_scope_uses: list[str] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    # Free text for the card's overview; a licence name or URL; links (papers, design notes).
    description: str | None = None
    license: str | None = None
    references: list[str] = Field(default_factory=list)
    # Ethical considerations people recorded: a risk and how it is mitigated.
    ethical_considerations: dict[str, str] = Field(default_factory=dict)


class DatasheetConfig(_Section):
    """``governance.datasets.NAME``: the answers of "Datasheets for Datasets" (Gebru et al.)
    that only people can give; a question left out is listed as open."""

    motivation: str | None = None
    composition: str | None = None
    collection: str | None = None
    preprocessing: str | None = None
    uses: str | None = None
    distribution: str | None = None
    maintenance: str | None = None
    owner: str | None = None
    # Columns that identify a data subject (a person) in this dataset: `rasad subject find`
    # and `rasad subject erase` look the subject up by these.
    subject_columns: list[str] = Field(default_factory=list)


class ErasureConfig(_Section):
    """``governance.erasure``: what follows a data subject's erasure (`rasad subject erase`)."""

    # Every model version trained on data that held the subject must be retrained within
    # this many days (the due date the inventory and the agent show).
    retrain_within_days: int = Field(30, ge=1, le=3650)
    # Superseded blobs that held the subject are kept at least this many days after the
    # erasure before `rasad gc` may remove them (0: as soon as nothing needs them).
    keep_days: int = Field(0, ge=0, le=3650)


class ExplanationConfig(_Section):
    """``governance.explanations``: global importances in the card, reason codes per row."""

    # How many reasons a scored row gets (`predict --explain`, the server's explain).
    reasons: int = Field(4, ge=1, le=50)
    # auto: SHAP's TreeExplainer for tree models when the `explain` extra is installed,
    # else the model-agnostic method; shap; substitution (model-agnostic).
    method: Literal["auto", "shap", "substitution"] = "auto"
    # Repeats of permutation importance in the card.
    permutation_repeats: int = Field(5, ge=1, le=100)


class GovernanceConfig(_Section):
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    models: dict[str, ModelGovernanceConfig] = Field(default_factory=dict)
    datasets: dict[str, DatasheetConfig] = Field(default_factory=dict)
    erasure: ErasureConfig = Field(default_factory=ErasureConfig)  # type: ignore[arg-type]
    explanations: ExplanationConfig = Field(default_factory=ExplanationConfig)  # type: ignore[arg-type]


class LineageConfig(_Section):
    """``lineage``: OpenLineage run events for dataset versions, runs, registrations and
    deployments (docs/lineage.md)."""

    # none: emit nothing; http: POST to url (Marquez: http://host:5000); file: append
    # one JSON event per line to path; console: log them.
    transport: Literal["none", "http", "file", "console"] = "none"
    url: str | None = None
    endpoint: str = "api/v1/lineage"
    # The environment variable holding an API key sent as a Bearer token (never the key).
    api_key_env: str | None = None
    path: str | None = None
    # The OpenLineage namespace of rasad's jobs and datasets (default: the project name).
    namespace: str | None = None
    timeout: float = Field(5.0, gt=0.0, le=120.0)

    @model_validator(mode="after")
    def _complete(self) -> LineageConfig:
        if self.transport == "http" and not self.url:
            raise ValueError("transport http needs url (e.g. http://marquez:5000)")
        if self.transport == "file" and not self.path:
            raise ValueError("transport file needs path (a file events are appended to)")
        return self


class ProjectConfig(_Section):
    name: str = Field(min_length=1)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)  # type: ignore[arg-type]
    validation: ValidationConfig = Field(default_factory=ValidationConfig)  # type: ignore[arg-type]
    registry: RegistryConfig = Field(default_factory=RegistryConfig)  # type: ignore[arg-type]
    audit: AuditConfig = Field(default_factory=AuditConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)  # type: ignore[arg-type]
    serving: ServingConfig = Field(default_factory=ServingConfig)  # type: ignore[arg-type]
    automation: AutomationConfig = Field(default_factory=AutomationConfig)
    lineage: LineageConfig = Field(default_factory=LineageConfig)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _policies_name_environments(self) -> ProjectConfig:
        for section, named in (("promotion", self.promotion.environments),
                               ("serving", self.serving.environments)):
            unknown = sorted(set(named) - set(self.registry.environments))
            if unknown:
                raise ValueError(
                    f"{section}.environments names {', '.join(unknown)}, not in "
                    f"registry.environments ({', '.join(self.registry.environments)})")
        return self

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
            if isinstance(node, yaml.MappingNode):
                _check_keys(node, source)
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


def _check_keys(node: yaml.MappingNode, source: str) -> None:
    """Refuse a key YAML reads as true/false (``on:``, ``yes:``), naming the word to quote."""
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:bool":
            mark = key.start_mark
            raise ConfigError(
                f"{source} line {mark.line + 1}: the key {key.value!r} reads as true/false in "
                f"YAML; quote it (\"{key.value}\":) if you meant the word.")


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
        if not error["loc"]:  # a rule across sections names its own keys
            parts.append(message)
            continue
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
  # What people declare for model cards and the inventory (docs/governance.md), e.g.
  # models: {{credit: {{owner: risk@bank.example, risk_tier: high, intended_use: ...}}}}
  models: {{}}
  # Datasheet answers and subject-id columns per dataset, e.g.
  # datasets: {{loans: {{motivation: ..., subject_columns: [customer_id]}}}}
  datasets: {{}}
  erasure:
    retrain_within_days: 30  # models trained on an erased subject's data: retrain by then
    keep_days: 0             # superseded blobs holding the subject: kept at least this long
  explanations:
    reasons: 4               # reason codes per scored row (predict --explain)
    method: auto             # auto | shap | substitution
    permutation_repeats: 5   # permutation importance in the model card

lineage:
  # OpenLineage run events for dataset versions, runs, registrations, deployments.
  transport: none          # none | http (url: http://marquez:5000) | file (path:) | console

promotion:
  # Gates run by `rasad promote` (docs/promotion.md). Labelled data every gate evaluates on:
  # NAME (its latest version) or NAME@VERSION. Without it the data-based gates are skipped.
  evaluation_data: null
  target: null           # null = the column the model was trained to predict
  confidence: 0.95       # of every interval and of the champion test
  bootstrap: 1000        # resamples for metric intervals and the champion test
  seed: 0
  metrics: {{}}            # e.g. {{roc_auc: {{min: 0.75, basis: bound}}, brier: {{max: 0.2}}}}
  champion:
    metric: null         # null = roc_auc (classifiers), rmse (regressors)
    margin: 0.0          # not worse than the serving version by more than this
  fairness:
    require_pass: false  # true: an inconclusive verdict blocks too
  personal_data:
    allowed: {{}}          # feature column -> why the model may use personal data in it
  tests: []              # behavioural tests, also run by `rasad test NAME@VERSION`
  request_ttl_days: 14
  # Per environment: gates (all, or a list) and approval (null, or approvals and roles).
  # Not listed: the first environment has no gates; the last needs one approver.
  environments: {{}}
"""
