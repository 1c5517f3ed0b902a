"""The audit use-cases over the ledger: read the log, verify it, sign checkpoints.

The ledger package (:mod:`rasad.ledger`) is infrastructure: it knows hashes, keys and
tables, not projects. These services add what a project decides: the checkpoint
store and trusted public keys named in ``rasad.yaml`` (``audit.checkpoints``,
``audit.public_keys``), the project name bound into every signature, and the acting
principal recorded on a checkpoint's own audit event. Reading and verifying the log
need ``audit.read``; signing a checkpoint needs ``audit.checkpoint``.

>>> import tempfile
>>> from rasad import Project
>>> ctx = Project.init(tempfile.mkdtemp(), name="loans").context
>>> [e.action for e in log(ctx)], verify(ctx).ok
(['project.init'], True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rasad.errors import InputError
from rasad.identity import Permission
from rasad.ledger import AuditEvent, Verification, events

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.ledger.checkpoint import CheckpointResult


def log(ctx: Context, subject: str | None = None, action: str | None = None,
        limit: int | None = None) -> list[AuditEvent]:
    """The audit events, oldest first, optionally for one subject or action, at most ``limit``."""
    ctx.require(Permission.AUDIT_READ, "read the audit log")
    with ctx.read() as session:
        return events(session, subject=subject, action=action, limit=limit)


def verify(ctx: Context, *, checkpoints: str | None = None,
           public_keys: Sequence[str] | None = None, replay: bool = True) -> Verification:
    """Verify the ledger: its chain, the signed checkpoints in ``checkpoints`` (default
    ``audit.checkpoints``) under ``public_keys`` (default ``audit.public_keys``, else the
    first key the ledger recorded), and, with ``replay``, that the state tables match it.
    """
    from rasad.ledger import verification
    from rasad.ledger.checkpoint import CheckpointStore

    ctx.require(Permission.AUDIT_READ, "verify the audit log")
    url = checkpoints or ctx.config.audit.checkpoints
    if public_keys:
        trusted = verification.trusted_keys(public_keys, "--public-key")
    else:
        trusted = verification.trusted_keys(ctx.config.audit.public_keys,
                                            "rasad.yaml audit.public_keys")
    return verification.verify_database(
        ctx.db, store=CheckpointStore(url) if url else None, trusted=trusted,
        replay=replay, project_name=ctx.config.name)


def checkpoint(ctx: Context, *, to: str | None = None,
               key: str | os.PathLike[str] | None = None,
               environ: Mapping[str, str] | None = None) -> CheckpointResult:
    """Sign the ledger's head into the checkpoint store ``to`` (default
    ``audit.checkpoints``) with the key file ``key`` (default: ``RASAD_CHECKPOINT_KEY_FILE``
    or ``RASAD_CHECKPOINT_KEY`` in ``environ``, the process environment by default).

    Needs ``audit.checkpoint``. A key the ledger does not know yet is recorded first, in
    a transaction of this context, so its event names the principal and its auth.
    """
    import dataclasses

    from rasad.ledger import checkpoint as checkpoints
    from rasad.ledger import keys

    action = "sign an audit checkpoint"
    ctx.require(Permission.AUDIT_CHECKPOINT, action)
    url = to or ctx.config.audit.checkpoints
    if not url:
        raise InputError("No checkpoint store: pass --to URL (a folder or fsspec URL) or "
                         "set audit.checkpoints in rasad.yaml.")
    signing = keys.signing_key(key, os.environ if environ is None else environ)
    public = signing.public_key()
    recorded = None
    with ctx.transaction(Permission.AUDIT_CHECKPOINT, action) as tx:
        # Under the lock, so concurrent signers record the key once; checkpoints.create
        # then finds it recorded and records nothing itself.
        if not checkpoints.key_recorded(tx.session, keys.fingerprint(public)):
            recorded = tx.record(checkpoints.KEY_ACTION, checkpoints.KEY_SUBJECT, {
                "fingerprint": keys.fingerprint(public),
                "public_key": keys.public_key_text(public)}).seq
    result = checkpoints.create(ctx.db, ctx.actor, signing, checkpoints.CheckpointStore(url),
                                ctx.config.name)
    if recorded is not None:
        result = dataclasses.replace(result, key_recorded_seq=recorded)
    return result


__all__ = ["checkpoint", "log", "verify"]
