"""Checkpoint signing keys: created once, read from a file or the environment, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasad.errors import ConfigError, ConflictError, InputError
from rasad.ledger.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    fingerprint,
    generate_key,
    load_public_key,
    public_key_text,
    signing_key,
)


def test_generate_refuses_to_overwrite_and_keeps_the_key_private(tmp_path: Path) -> None:
    path = tmp_path / "k"
    public = generate_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    with pytest.raises(ConflictError, match="never overwrites"):
        generate_key(path)
    assert path.read_bytes() == before
    (tmp_path / "k2.pub").write_text("x")
    with pytest.raises(ConflictError):
        generate_key(tmp_path / "k2")
    assert not (tmp_path / "k2").exists()
    assert public_key_text(signing_key(path, {}).public_key()) == public_key_text(public)


def test_key_sources_in_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ka, kb = generate_key(a), generate_key(b)
    env = {KEY_FILE_ENV: str(b), KEY_ENV: a.read_text()}
    assert fingerprint(signing_key(a, env).public_key()) == fingerprint(ka)
    assert fingerprint(signing_key(None, env).public_key()) == fingerprint(kb)
    assert fingerprint(signing_key(None, {KEY_ENV: a.read_text()}).public_key()) == \
        fingerprint(ka)
    with pytest.raises(InputError, match="does not exist"):
        signing_key(tmp_path / "missing", {})
    with pytest.raises(ConfigError, match="not hold an Ed25519 private key") as caught:
        signing_key(None, {KEY_ENV: "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw=="})
    assert "c2VjcmV0" not in str(caught.value)  # the secret is never echoed


def test_public_key_from_text_pem_or_file(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    text = public_key_text(key)
    assert fingerprint(load_public_key(text)) == fingerprint(key)
    assert fingerprint(load_public_key(str(tmp_path / "k.pub"))) == fingerprint(key)
    with pytest.raises(InputError, match="not an Ed25519 public key"):
        load_public_key("AAAA")
