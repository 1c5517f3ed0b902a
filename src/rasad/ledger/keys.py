"""Ed25519 keys for signed ledger checkpoints, kept outside the database.

The private key signs checkpoints; it lives in a file (``--key`` or
``RASAD_CHECKPOINT_KEY_FILE``) or in ``RASAD_CHECKPOINT_KEY`` (PEM text, or the
base64 of the 32-byte raw key), never in the metadata database. The public key
is written as base64 of its 32 raw bytes; its fingerprint is the sha256 of those
bytes.

>>> key = private_key_from_text(b64encode(bytes(32)).decode())
>>> public = public_key_text(key.public_key())
>>> public
'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik='
>>> fingerprint(load_public_key(public))
'SHA256:139e3940e64b5491722088d9a0d741628fc826e09475d341a780acde3c4b8070'
"""

from __future__ import annotations

import binascii
import hashlib
import os
from base64 import b64decode, b64encode
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rasad.errors import ConfigError, ConflictError, InputError

KEY_FILE_ENV = "RASAD_CHECKPOINT_KEY_FILE"
KEY_ENV = "RASAD_CHECKPOINT_KEY"

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def generate_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Create a new signing key at ``path`` (PEM, mode 0600) and its public key at ``path.pub``.

    Refuses to overwrite either file: a lost signing key can be replaced, an
    overwritten one cannot be recovered.
    """
    target = Path(path)
    public_path = target.with_name(target.name + ".pub")
    for existing in (target, public_path):
        if existing.exists():
            raise ConflictError(f"{existing} already exists; rasad never overwrites a key. "
                                "Choose another path or remove the old key yourself.")
    if not target.parent.is_dir():
        raise InputError(f"Folder {target.parent} does not exist; create it first.")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = key.public_key()
    public_path.write_text(public_key_text(public) + "\n", encoding="utf-8")
    return public


def private_key_from_text(text: str, source: str = KEY_ENV) -> Ed25519PrivateKey:
    """A private key from PEM text or the base64 of its 32 raw bytes."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(stripped.encode(), password=None)
        else:
            raw = b64decode(stripped, validate=True)
            key = Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise ConfigError(f"{source} does not hold an Ed25519 private key (PEM, or base64 of "
                          "32 bytes). Create one with `rasad audit keygen PATH`.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{source} holds a {type(key).__name__}, not an Ed25519 key. Create "
                          "one with `rasad audit keygen PATH`.")
    return key


def signing_key(path: str | os.PathLike[str] | None,
                environ: Mapping[str, str]) -> Ed25519PrivateKey:
    """The checkpoint signing key: ``path``, else ``RASAD_CHECKPOINT_KEY_FILE``, else
    ``RASAD_CHECKPOINT_KEY``."""
    chosen = path if path is not None else environ.get(KEY_FILE_ENV) or None
    if chosen is not None:
        file = Path(chosen)
        try:
            text = file.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            raise InputError(f"Signing key file {file} does not exist. Create one with "
                             f"`rasad audit keygen {file}`.") from None
        except (UnicodeDecodeError, PermissionError) as exc:
            raise InputError(f"Signing key file {file} cannot be read ({exc.__class__.__name__})"
                             "; it must be the PEM file `rasad audit keygen` wrote.") from None
        return private_key_from_text(text, f"Signing key file {file}")
    if environ.get(KEY_ENV):
        return private_key_from_text(environ[KEY_ENV])
    raise InputError(f"No checkpoint signing key: pass --key PATH, or set {KEY_FILE_ENV} (a "
                     f"key file) or {KEY_ENV} (the key itself). Create one with "
                     "`rasad audit keygen PATH`, and keep it outside the database's host.")


def public_key_text(key: Ed25519PublicKey) -> str:
    """The base64 of the public key's 32 raw bytes."""
    return b64encode(key.public_bytes(*_RAW)).decode()


def load_public_key(value: str, source: str = "--public-key") -> Ed25519PublicKey:
    """A public key from base64 text, PEM text, or a file holding either."""
    text = value.strip()
    if not text.startswith("-----BEGIN") and len(text) != 44 and Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8").strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise InputError(f"{source} {value!r} is not an Ed25519 public key: give the base64 "
                         "text or the .pub file that `rasad audit keygen` wrote.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{source} {value!r} is a {type(key).__name__}, not an Ed25519 key.")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:`` and the hex sha256 of the raw public key."""
    return "SHA256:" + hashlib.sha256(key.public_bytes(*_RAW)).hexdigest()
