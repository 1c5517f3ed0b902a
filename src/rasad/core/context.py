"""The context every service receives: where the project is, its configuration, the
metadata database, the artifact store, the clock, and who is acting.

Services take a :class:`Context` as their first argument and nothing else global:
the facade (:class:`rasad.Project`), the CLI, the HTTP API and tests all build one
and pass it down, so a service never reaches back up for the object that called it.

>>> import tempfile
>>> from pathlib import Path
>>> from rasad.config import ProjectConfig
>>> root = Path(tempfile.mkdtemp())
>>> ctx = Context.build(root, ProjectConfig(name="loans"), actor="amal@bank.example")
>>> ctx.actor, ctx.config.name, ctx.db.url.startswith("sqlite")
('amal@bank.example', 'loans', True)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from rasad.artifacts import ArtifactStore
from rasad.config import ProjectConfig, resolve_artifacts_url, resolve_database_url
from rasad.identity import Permission, Principal, current_actor, require
from rasad.ledger import AuditEvent, Tx, utc_now
from rasad.store import Database
from rasad.store.lengths import check_length

if TYPE_CHECKING:
    from rasad.lineage import Emitter


@dataclass(frozen=True)
class Context:
    """What a service needs to do its work and record it.

    Parameters
    ----------
    root : Path
        The project folder (``rasad.yaml`` and ``.rasad/``).
    config : ProjectConfig
        The validated ``rasad.yaml``.
    db : Database
        The metadata database (SQLite by default, PostgreSQL for teams).
    artifacts : ArtifactStore
        The content-addressed blob store.
    actor : str
        Who acts: recorded on every audit event written through this context.
    clock : callable
        Returns the current UTC time as stored (ISO 8601 text); services stamp rows with it.
    authenticated : Principal or None
        The principal a door authenticated (the HTTP API, from a token). None on a local
        project: :attr:`principal` is then the local user with the roles granted to it.
    """

    root: Path
    config: ProjectConfig
    db: Database
    artifacts: ArtifactStore
    actor: str
    clock: Callable[[], str] = field(default=utc_now, repr=False)
    authenticated: Principal | None = field(default=None, repr=False)
    # The OpenLineage emitter, built on first use and shared by the contexts
    # dataclasses.replace derives from this one (a server's per-request contexts), so they
    # share its connection and its pause after a failure.
    _lineage: _LineageSlot = field(default_factory=lambda: _LineageSlot(), repr=False,
                                   compare=False)

    @functools.cached_property
    def principal(self) -> Principal:
        """Who acts, with the roles in force and how it authenticated (looked up once)."""
        if self.authenticated is not None:
            return self.authenticated
        from rasad.identity.service import local_principal

        return local_principal(self)

    @classmethod
    def build(cls, root: Path, config: ProjectConfig, *, actor: str | None = None,
              principal: Principal | None = None) -> Context:
        """Wire the database and artifact store ``config`` names; no I/O beyond that.

        ``principal`` is one a door authenticated (its name is the actor). Otherwise
        ``actor`` defaults to :func:`rasad.identity.current_actor` (``RASAD_USER``, else the
        operating-system user), read once here and never inside a transaction.
        """
        if principal is not None:
            actor = principal.name
        elif actor is None:
            actor = current_actor()
        else:  # the same bound as RASAD_USER: the name must fit the ledger's actor column
            check_length(actor, "audit_events.actor", "Actor name")
        return cls(root=root, config=config,
                   db=Database(resolve_database_url(config, root)),
                   artifacts=ArtifactStore(resolve_artifacts_url(config, root)),
                   actor=actor, authenticated=principal)

    def require(self, permission: Permission, action: str) -> None:
        """Refuse ``action`` unless :attr:`principal` holds ``permission``.

        Services call it first, before any work (reading files, storing blobs), so a
        refusal costs nothing and leaves nothing behind; :meth:`transaction` checks again
        under the write lock.

        Raises
        ------
        PermissionDenied
            Naming the principal, the permission and the roles that grant it.
        """
        require(self.principal, permission, action)

    @contextmanager
    def transaction(self, permission: Permission | None = None, action: str = "", *,
                    by: Principal | None = None) -> Iterator[Tx]:
        """A serialised write transaction; every change in it records its audit event,
        naming who acts and how they authenticated.

        Parameters
        ----------
        permission : Permission, optional
            What the change needs. It is checked before waiting for the lock and again
            once the lock is held, against the roles the principal holds then
            (:func:`rasad.identity.service.authorize`): a role revoked, a principal
            disabled or a token revoked a moment earlier cannot act. A refusal raises
            :class:`rasad.errors.PermissionDenied` and the transaction writes nothing.
        action : str
            The change in words, for the refusal: ``"promote credit@3 to production"``.
        by : Principal, optional
            Who acts; :attr:`principal` by default.

        Once the lock is held, the blobs this thread stored since its last transaction
        are checked (and stored again if a concurrent gc removed them), so a row written
        here never points at a missing blob (see ``rasad.artifacts.store``).

        With ``lineage.transport`` set, the events the transaction recorded are sent as
        OpenLineage events once it has committed, outside the lock (:attr:`lineage`): best
        effort, a failure is a logged warning and the change stands. With ``none`` (the
        default) nothing more is done: no query, no import.
        """
        acting = self.principal if by is None else by
        if permission is not None:
            require(acting, permission, action)
        emitter = self.lineage  # a missing OpenLineage client is refused before any change
        with self.db.write() as session:
            session.connection()  # the lock itself: SQLite's BEGIN IMMEDIATE runs on connecting
            tx = (Tx(session, acting.name, acting.auth) if emitter is None
                  else _RecordingTx(session, acting.name, acting.auth))
            if permission is not None:
                from rasad.identity.service import authorize

                authorize(tx, acting, permission, action, now=self.clock())
            self.artifacts.settle()
            yield tx
        if isinstance(tx, _RecordingTx) and emitter is not None and tx.recorded:
            emitter.committed(self.db, tx.recorded)

    @property
    def lineage(self) -> Emitter | None:
        """The OpenLineage emitter ``rasad.yaml``'s ``lineage`` section configures, with
        its client loaded; None with ``transport: none``.

        Raises
        ------
        ConfigError
            The OpenLineage client is not installed (``pip install 'rasad[lineage]'``), or
            ``lineage.api_key_env`` names a variable that is not set.
        """
        if self.config.lineage.transport == "none":
            return None
        slot = self._lineage
        if slot.emitter is None or slot.config is not self.config:
            from rasad.lineage import Emitter

            emitter = Emitter.of(self.config, self.root)
            assert emitter is not None  # the transport is not none
            emitter.check()
            slot.config, slot.emitter = self.config, emitter
        return slot.emitter

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with self.db.read() as session:
            yield session

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()


@dataclass
class _LineageSlot:
    """Where a context keeps its OpenLineage emitter (see :attr:`Context.lineage`)."""

    config: ProjectConfig | None = None
    emitter: Emitter | None = None


@dataclass
class _RecordingTx(Tx):
    """A :class:`~rasad.ledger.Tx` that keeps the events it recorded, for what runs once
    the transaction has committed (the OpenLineage emission); used only when lineage is on,
    so a project without it pays nothing."""

    recorded: list[AuditEvent] = field(default_factory=list)

    def record(self, action: str, subject: str,
               details: Mapping[str, Any] | None = None) -> AuditEvent:
        event = super().record(action, subject, details)
        self.recorded.append(event)
        return event
