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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from rasad.artifacts import ArtifactStore
from rasad.config import ProjectConfig, resolve_artifacts_url, resolve_database_url
from rasad.identity import Permission, Principal, current_actor, require
from rasad.ledger import Tx, utc_now
from rasad.store import Database
from rasad.store.lengths import check_length


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
        """
        acting = self.principal if by is None else by
        if permission is not None:
            require(acting, permission, action)
        with self.db.write() as session:
            session.connection()  # the lock itself: SQLite's BEGIN IMMEDIATE runs on connecting
            tx = Tx(session, acting.name, acting.auth)
            if permission is not None:
                from rasad.identity.service import authorize

                authorize(tx, acting, permission, action, now=self.clock())
            self.artifacts.settle()
            yield tx

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with self.db.read() as session:
            yield session

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()
