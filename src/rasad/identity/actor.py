"""Who is acting: ``RASAD_USER`` when set, else the operating-system user."""

from __future__ import annotations

import getpass
import os

from rasad.store.lengths import check_length


def current_actor() -> str:
    """Return the actor name recorded on audit events.

    The name must fit the ledger's actor column (200 characters); a longer
    ``RASAD_USER`` is refused before anything is written, on every database.

    >>> import os
    >>> os.environ["RASAD_USER"] = "amal@bank.example"
    >>> current_actor()
    'amal@bank.example'
    >>> os.environ["RASAD_USER"] = "a" * 201
    >>> current_actor()
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Actor name (RASAD_USER) 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is \
201 characters long; at most 200 fit. Use a shorter one.
    >>> del os.environ["RASAD_USER"]
    """
    user = os.environ.get("RASAD_USER", "").strip()
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    check_length(user, "audit_events.actor", "Actor name (RASAD_USER)")
    return user
