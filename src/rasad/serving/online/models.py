"""The models a prediction server answers with: loaded from the registry, followed live.

:class:`ServedModels` holds, by model name, a :class:`ModelEntry`: the versions deployed to
the served environment, loaded and ready to score. The **primary** answers; a **canary**
answers ``serving.environments.ENV.canary.share`` of the requests (:meth:`ModelEntry.route`);
a **shadow** scores the requests after they are answered, only for the prediction log.

Loading is what batch scoring does (:func:`rasad.registry.models.load`): the bytes are
checked against their hash and only trusted types are built. A default rasad pipeline is
also compiled to array operations (:mod:`rasad.serving.online._compiled`) after proving
it gives the same answers.

Following the registry. :meth:`ServedModels.refresh` reads the ledger head (one row: the
sequence number of the last audit event); when it moved since the last look, it reads
what serves the environment (:func:`rasad.registry.models.serving_versions`: primary,
canary and shadow), loads every version that changed, and only then swaps in a new
mapping of entries, in one assignment. A version already loaded in another slot is
reused, not loaded again (a canary promoted to primary switches at once). A request
takes its entry once, when it starts, and scores with those model objects to the end: an
in-flight request finishes on the versions it began with, and no request ever sees a
half-loaded model. A version that fails to load (a corrupt blob, a type the trust
policy refuses) leaves the one before it in its slot (a new canary or shadow that fails
leaves the slot as it was, empty or not); the failure is reported as a :class:`Change`
with its error, and tried again at the next change of the ledger. A retired canary or
shadow leaves its slot empty at the next refresh.

Routing (:meth:`ModelEntry.route`). With a canary, a request goes to it when its bucket,
a number in [0, 1), is below the canary's share. The bucket is a hash (BLAKE2b) of the
model's name and the canonical text of the request's first value of the canary's ``key``
column (:func:`key_text`), so one customer always lands on the same version, and raising
the share only moves customers from the primary to the canary; without a key, or when a
request has no value for it, the bucket is a hash of the request id the client sent, and
random when it sent none.

>>> round(bucket("credit", "customer-42"), 6)
0.722693
>>> key_text(1042.0), key_text(1042), key_text("1042"), key_text(float("nan"))
('1042', '1042', '1042', None)

:class:`Follower` runs the refresh in a worker thread (never on the event loop) every
``serving.poll_seconds``, and at once when PostgreSQL notifies a deployment
(``LISTEN`` on :data:`rasad.registry.promotion.DEPLOYMENTS_CHANNEL`, sent in the
deployment's transaction, so on commit only).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
import numpy as np

from rasad.config import CONFIG_FILE, ProjectConfig
from rasad.errors import ConfigError, InputError, NotFoundError, RasadError
from rasad.ledger.chain import read_head
from rasad.registry import Slot, models
from rasad.registry.promotion import DEPLOYMENTS_CHANNEL
from rasad.serving import batch
from rasad.serving.online._compiled import compile_pipeline
from rasad.serving.online.metrics import event

if TYPE_CHECKING:
    import pandas as pd

    from rasad.config import CanaryConfig
    from rasad.core import Context
    from rasad.evaluation.reasons import Explainer
    from rasad.registry import ModelVersion, ServingSet
    from rasad.serving.records import Role

_SCALE: Final = float(2 ** 64)


@dataclass(frozen=True, slots=True)
class Loaded:
    """One model version in memory, ready to score."""

    version: ModelVersion
    pipeline: Any
    """The fitted pipeline as the registry stored it."""
    scorer: Any
    """What predicts: the compiled pipeline when it proved equal, else the pipeline."""
    classifier: bool
    """A classifier with ``predict_proba``."""
    loaded_at: float
    explainer: Explainer | None = None
    """Reason codes for an explain request, its typical values read once at load
    (:func:`rasad.serving.batch.explainer`); None when the version has none."""
    unexplainable: str | None = None
    """Why ``explainer`` is None (the error's words), for the refusal of an explain
    request."""

    @property
    def name(self) -> str:
        return self.version.name

    @property
    def number(self) -> int:
        return self.version.version

    @property
    def compiled(self) -> bool:
        return self.scorer is not self.pipeline

    @property
    def classes(self) -> list[Any] | None:
        """The class labels in the order of the probability columns (classifiers)."""
        if not self.classifier:
            return None
        return [c.item() if isinstance(c, np.generic) else c for c in self.pipeline.classes_]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.scorer.predict(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities, or None for a model without them."""
        if not self.classifier:
            return None
        return np.asarray(self.scorer.predict_proba(frame), dtype=np.float64)

    def positive(self, proba: np.ndarray | None) -> np.ndarray | None:
        """The positive-class column of a binary classifier's probabilities, else None."""
        if proba is None or proba.ndim != 2 or proba.shape[1] != 2:
            return None
        return proba[:, 1]


def load(ctx: Context, version: ModelVersion) -> Loaded:
    """Load ``version`` as batch scoring does (hash and trust policy checked) and prepare
    its fastest exact scorer. Blocking: call it from a worker thread on a server.

    Raises
    ------
    IntegrityError
        The blob is missing or does not match its hash.
    UntrustedArtifactError
        It holds a type the trust policy refuses.
    """
    pipeline = models.load(ctx, version)
    compiled = compile_pipeline(pipeline, version.signature)
    classifier = version.task == "classification" and hasattr(pipeline, "predict_proba")
    scorer = compiled if compiled is not None else pipeline
    explainer, unexplainable = None, None
    try:
        explainer = batch.explainer(ctx, version, pipeline, scorer=scorer)
    except RasadError as error:  # the model still serves; explain requests are refused
        unexplainable = str(error)
    return Loaded(version=version, pipeline=pipeline, scorer=scorer, classifier=classifier,
                  loaded_at=time.time(), explainer=explainer, unexplainable=unexplainable)


def key_text(value: object) -> str | None:
    """The canonical text of a canary key's value, None when it is missing.

    Whole numbers read the same whatever their type (``42``, ``42.0``, ``"42"``),
    booleans as ``true``/``false``, text as itself, so a customer sent as a number by one
    client and as text by another lands on the same version.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int | str):
        return str(value)
    try:  # pandas' own missing markers (pd.NA, NaT)
        import pandas as pd

        if pd.isna(value):  # type: ignore[call-overload]
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def bucket(model: str, text: str) -> float:
    """Where ``text`` falls in [0, 1) for ``model``: a 64-bit BLAKE2b hash, scaled.

    Stable across processes, machines and Python versions (unlike ``hash``); the model's
    name salts it, so one key is not in the canary of every model at once.
    """
    digest = hashlib.blake2b(f"{model}\x1f{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """What answers for one model name: its primary, and its canary and shadow if any.

    A request reads the entry once. ``share`` and ``key`` are the environment's canary
    policy (``serving.environments.ENV.canary``); without one a deployed canary gets no
    routed traffic (only requests naming its version).
    """

    name: str
    primary: Loaded
    canary: Loaded | None = None
    shadow: Loaded | None = None
    share: float = 0.0
    key: str | None = None
    canary_same_inputs: bool = field(default=True, compare=False)
    """The canary's signature is the primary's: a frame decoded for one fits the other."""
    warned: set[str] = field(default_factory=set, compare=False, repr=False)
    """What this entry has logged once already (requests without the canary key)."""

    def slot(self, slot: Slot) -> Loaded | None:
        return {Slot.PRIMARY: self.primary, Slot.CANARY: self.canary,
                Slot.SHADOW: self.shadow}[slot]

    def role(self, loaded: Loaded) -> Role:
        """``canary`` for the canary's model object, ``primary`` otherwise."""
        return "canary" if loaded is self.canary else "primary"

    def answering(self, version: str) -> Loaded | None:
        """The primary or canary whose version number reads ``version``; None otherwise
        (a shadow never answers)."""
        if version == str(self.primary.number):
            return self.primary
        if self.canary is not None and version == str(self.canary.number):
            return self.canary
        return None

    def route(self, raw: pd.DataFrame, request_id: str | None) -> Loaded:
        """The version that answers a request: the canary for ``share`` of the requests.

        ``raw`` holds the request's rows as received (any extra column, such as the key,
        included); ``request_id`` is the id the client sent, None when it sent none.
        """
        canary = self.canary
        if canary is None or self.share <= 0.0:
            return self.primary
        text = None
        if self.key is not None and self.key in raw.columns and len(raw):
            text = key_text(raw[self.key].iat[0])
        if text is None:
            if self.key is not None and self.key not in self.warned:
                self.warned.add(self.key)  # once per entry: a flood of requests, one line
                event("canary.key_missing", level=logging.WARNING, model=self.name,
                      key=self.key)
            text = request_id
        point = random.random() if text is None else bucket(self.name, text)  # noqa: S311
        return canary if point < self.share else self.primary


@dataclass(frozen=True, slots=True)
class Change:
    """A version a refresh loaded (``error`` None) or could not load (the old one kept),
    in one slot (``role``); ``new`` None when the slot was emptied (a retired canary or
    shadow)."""

    model: str
    old: int | None
    new: int | None
    error: Exception | None = None
    role: Role = "primary"

    @property
    def ok(self) -> bool:
        return self.error is None


class ServedModels:
    """The loaded versions of each model deployed to ``env`` (or of ``names`` only).

    Parameters
    ----------
    ctx : Context
        The server's context: it reads the registry and the artifact store.
    env : str
        The environment served.
    names : sequence of str
        Serve only these models (all deployed to ``env`` when empty).
    loader : callable
        ``(ctx, version) -> Loaded``; :func:`load` by default.
    """

    def __init__(self, ctx: Context, env: str, names: Sequence[str] = (), *,
                 loader: Callable[[Context, ModelVersion], Loaded] = load) -> None:
        self.ctx = ctx
        self.env = env
        self.names = tuple(dict.fromkeys(names))
        self.loader = loader
        self.head: int | None = None
        policy = ctx.config.serving.environments.get(env)
        self.canary_policy: CanaryConfig | None = policy.canary if policy else None
        self._config_stamp = _stamp(ctx.root / CONFIG_FILE)
        self._entries: Mapping[str, ModelEntry] = MappingProxyType({})
        self._lock = threading.Lock()

    @property
    def entries(self) -> Mapping[str, ModelEntry]:
        """The models served now, by name (a read-only snapshot)."""
        return self._entries

    def get(self, name: str) -> ModelEntry | None:
        return self._entries.get(name)

    def ledger_head(self) -> int:
        """The sequence number of the last audit event (one row read)."""
        with self.ctx.read() as session:
            return int(read_head(session).seq)

    def check(self) -> list[str]:
        """What :meth:`start` would serve, ``NAME@VERSION`` each (the primaries), without
        loading anything.

        Raises
        ------
        NotFoundError
            ``env`` is unknown, or a model named in ``names`` has nothing deployed there.
        InputError
            Nothing is deployed to ``env``.
        """
        serving = models.serving_versions(self.ctx, self.env)
        self._check_found(set(serving))
        return [f"{name}@{found.primary.version}" for name, found in sorted(serving.items())
                if not self.names or name in self.names]

    def start(self) -> list[Change]:
        """Load every model to serve; blocking.

        A primary that fails to load stops the start; a canary or shadow that fails is
        reported in the changes and left out (the primary answers all the traffic) until
        the next change of the ledger.

        Raises
        ------
        NotFoundError
            ``env`` is unknown, or a model named in ``names`` has nothing deployed there.
        InputError
            Nothing is deployed to ``env``.
        RasadError
            A primary version failed to load (the message names it): the server does not
            start with a model missing.
        """
        self.check()
        changes = self.refresh(force=True)
        for change in changes:
            if change.error is not None and change.role == "primary" and change.new is not None:
                raise _failed_start(change.model, change.new, self.env, change.error)
        return changes

    def _check_found(self, deployed: set[str]) -> None:
        if not deployed:
            raise InputError(f"Nothing is deployed to {self.env!r}, so there is nothing to "
                             f"serve. Promote a version first: `rasad promote NAME VERSION "
                             f"--to {self.env}`.")
        missing = [name for name in self.names if name not in deployed]
        if missing:
            raise NotFoundError(
                f"Model {missing[0]!r} has no version in {self.env!r}; promote one with "
                f"`rasad promote {missing[0]} VERSION --to {self.env}`. Deployed there: "
                + ", ".join(sorted(deployed)) + ".")

    def refresh(self, *, force: bool = False) -> list[Change]:
        """Load what changed in the registry since the last look, then swap it in.

        Cheap when nothing changed: one read of the ledger head. Blocking; one refresh
        runs at a time.
        """
        with self._lock:
            policy_changed = self._reread_canary_policy()
            head = self.ledger_head()
            if head == self.head and not force:
                if policy_changed:
                    self._entries = MappingProxyType({
                        name: self._with_policy(entry) for name, entry in self._entries.items()})
                return []
            serving = models.serving_versions(self.ctx, self.env)
            entries = dict(self._entries)
            changes: list[Change] = []
            for name, found in serving.items():
                if self.names and name not in self.names:
                    continue
                entry = self._updated(name, entries.get(name), found, changes)
                if entry is not None:
                    entries[name] = entry
            if policy_changed:
                entries = {name: self._with_policy(entry) for name, entry in entries.items()}
            if policy_changed or any(change.ok for change in changes):
                self._entries = MappingProxyType(entries)  # the swap: one assignment
            self.head = head
            return changes

    def _reread_canary_policy(self) -> bool:
        """Read ``serving.environments.ENV.canary`` again when rasad.yaml changed on disk;
        True when the policy is not the one in force. A file that no longer validates
        leaves the policy in force (and says so once)."""
        path = self.ctx.root / CONFIG_FILE
        stamp = _stamp(path)
        if stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        try:
            config = ProjectConfig.load(path)
        except (ConfigError, OSError) as error:
            event("config.invalid", level=logging.WARNING, error=str(error),
                  kept="the canary policy in force")
            return False
        policy = config.serving.environments.get(self.env)
        canary = policy.canary if policy is not None else None
        if canary == self.canary_policy:
            return False
        event("canary.policy", environment=self.env,
              share=canary.share if canary is not None else 0.0,
              key=canary.key if canary is not None else None)
        self.canary_policy = canary
        return True

    def _with_policy(self, entry: ModelEntry) -> ModelEntry:
        policy = self.canary_policy
        return dataclasses.replace(entry, share=policy.share if policy is not None else 0.0,
                                   key=policy.key if policy is not None else None)

    def _updated(self, name: str, entry: ModelEntry | None, found: ServingSet,
                 changes: list[Change]) -> ModelEntry | None:
        """``entry`` with each slot at the version ``found`` names (loading what is new),
        or None when its primary cannot be loaded and there is no old one to keep."""
        loaded_now = {} if entry is None else {
            (slot.version.version, slot.version.blob): slot
            for slot in (entry.primary, entry.canary, entry.shadow) if slot is not None}
        slots: dict[Slot, Loaded | None] = {}
        for slot in Slot:
            old = entry.slot(slot) if entry is not None else None
            wanted: ModelVersion | None = found.of(slot)
            role: Role = slot.value  # type: ignore[assignment]
            if wanted is None:
                slots[slot] = None
                if old is not None:
                    changes.append(Change(name, old.number, None, role=role))
                continue
            if old is not None and (old.number, old.version.blob) == (wanted.version,
                                                                      wanted.blob):
                slots[slot] = old
                continue
            reused = loaded_now.get((wanted.version, wanted.blob))
            try:
                slots[slot] = reused if reused is not None else self.loader(self.ctx, wanted)
            except Exception as error:  # noqa: BLE001 - any failure keeps the old one
                slots[slot] = old
                changes.append(Change(name, old.number if old else None, wanted.version,
                                      error, role=role))
                if slot is Slot.PRIMARY and old is None:
                    return None  # a model without its primary is not served at all
                continue
            changes.append(Change(name, old.number if old else None, wanted.version,
                                  role=role))
        primary = slots[Slot.PRIMARY]
        if primary is None:
            return None
        canary = slots[Slot.CANARY]
        policy = self.canary_policy
        return ModelEntry(name=name, primary=primary, canary=canary, shadow=slots[Slot.SHADOW],
                          share=policy.share if policy is not None else 0.0,
                          key=policy.key if policy is not None else None,
                          canary_same_inputs=canary is None or canary.version.signature
                          == primary.version.signature)


def _stamp(path: Path) -> tuple[int, int] | None:
    """When and how big ``path`` is, to notice an edit without reading it."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _failed_start(model: str, version: int, env: str, error: Exception) -> Exception:
    """The load failure of a starting server, naming the model (same class: same exit)."""
    message = f"Cannot serve {model}@{version}, deployed to {env!r}: {error}"
    kind = type(error) if isinstance(error, RasadError) else RasadError
    try:
        return kind(message)
    except TypeError:  # a subclass that takes other arguments
        return RasadError(message)


class Follower:
    """Keeps :class:`ServedModels` following the registry while a server runs.

    Parameters
    ----------
    served : ServedModels
        What to refresh.
    poll_seconds : float
        How often to look at the ledger head.
    on_changes : callable
        Told of every refresh that changed something (loaded or failed versions); on the
        event loop.
    listen : bool
        Also ``LISTEN`` for deployments (PostgreSQL only) for sub-second pickup.
    """

    def __init__(self, served: ServedModels, *, poll_seconds: float,
                 on_changes: Callable[[list[Change]], None],
                 on_tick: Callable[[], None] | None = None, listen: bool = True) -> None:
        self.served = served
        self.poll_seconds = poll_seconds
        self.on_changes = on_changes
        self.on_tick = on_tick
        self.listen = listen and served.ctx.db.backend == "postgresql"
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None
        self.listening = threading.Event()
        """Set while the PostgreSQL listener is connected (tests wait for it)."""

    def wake(self) -> None:
        """Look at the registry now (thread-safe)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Refresh every ``poll_seconds`` or when woken, until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.listen:
            self._listener = threading.Thread(target=self._listen, name="rasad-serve-listen",
                                              daemon=True)
            self._listener.start()
        unreachable = False
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()
                if self.on_tick is not None:
                    self.on_tick()
                try:
                    changes = await anyio.to_thread.run_sync(self.served.refresh)
                except Exception as error:  # noqa: BLE001 - a database blip: keep serving
                    if not unreachable:  # once per outage, not once per poll
                        event("registry.unreachable", level=logging.WARNING,
                              error_type=type(error).__name__, error=str(error))
                    unreachable = True
                    continue
                if unreachable:
                    event("registry.reachable")
                    unreachable = False
                if changes:
                    self.on_changes(changes)
        finally:
            self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(timeout=5)

    def _listen(self) -> None:
        """``LISTEN`` on a connection of its own; each notification wakes the loop."""
        import psycopg

        engine = self.served.ctx.db.read_engine
        args, params = engine.dialect.create_connect_args(engine.url)
        while not self._stopping.is_set():
            try:
                with psycopg.connect(*args, **params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {DEPLOYMENTS_CHANNEL}")
                    self.listening.set()
                    self.wake()  # anything committed while not listening
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.wake()
            except psycopg.Error as error:
                self.listening.clear()
                event("registry.listen_failed", level=logging.WARNING,
                      error_type=type(error).__name__,
                      error=str(error).splitlines()[0] if str(error) else "")
                self._stopping.wait(self.poll_seconds)
        self.listening.clear()


__all__ = ["Change", "Follower", "Loaded", "ModelEntry", "ServedModels", "bucket", "key_text",
           "load"]
