"""Who is acting: ``RASAD_USER`` when set, else the operating-system user."""

from __future__ import annotations

import getpass
import os


def current_actor() -> str:
    """Return the actor name recorded on audit events.

    >>> import os
    >>> os.environ["RASAD_USER"] = "amal@bank.example"
    >>> current_actor()
    'amal@bank.example'
    >>> del os.environ["RASAD_USER"]
    """
    user = os.environ.get("RASAD_USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
