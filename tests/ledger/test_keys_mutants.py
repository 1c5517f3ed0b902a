"""Public and private checkpoint keys in each accepted form, and each refusal's message.

Written against the mutants mutation testing left alive (docs/testing.md).
"""

from __future__ import annotations

from base64 import b64encode
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rasad.errors import ConfigError, ConflictError, InputError
from rasad.ledger.keys import (
    KEY_ENV,
    fingerprint,
    generate_key,
    load_public_key,
    private_key_from_text,
    public_key_text,
    signing_key,
)

KEY = private_key_from_text(b64encode(bytes(32)).decode())
OTHER = private_key_from_text(b64encode(bytes(range(32))).decode())
PUBLIC_TEXT = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="


def _pem(key: object) -> str:
    return key.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_a_public_key_loads_from_pem_text_and_from_a_pem_file(tmp_path: Path) -> None:
    pem = _pem(KEY.public_key())
    assert fingerprint(load_public_key(pem)) == fingerprint(KEY.public_key())
    assert fingerprint(load_public_key("  \n" + pem + "\n")) == fingerprint(KEY.public_key())
    (tmp_path / "key.pem").write_text(pem, encoding="utf-8")
    assert fingerprint(load_public_key(str(tmp_path / "key.pem"))) == fingerprint(
        KEY.public_key())


def test_key_text_is_taken_as_a_key_even_if_a_file_has_that_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert public_key_text(KEY.public_key()) == PUBLIC_TEXT and len(PUBLIC_TEXT) == 44
    monkeypatch.chdir(tmp_path)
    Path(PUBLIC_TEXT).write_text(public_key_text(OTHER.public_key()), encoding="utf-8")
    assert fingerprint(load_public_key(PUBLIC_TEXT)) == fingerprint(KEY.public_key())


def test_a_public_key_that_is_not_one_names_its_source() -> None:
    with pytest.raises(InputError) as caught:
        load_public_key("AAAA")
    assert str(caught.value) == (
        "--public-key 'AAAA' is not an Ed25519 public key: give the base64 text or the .pub "
        "file that `rasad audit keygen` wrote.")
    with pytest.raises(InputError, match="^rasad.yaml audit.public_keys 'AAAA' is not"):
        load_public_key("AAAA", "rasad.yaml audit.public_keys")


def test_a_key_of_another_algorithm_is_named_as_such() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    pem = _pem(other.public_key())
    with pytest.raises(InputError) as caught:
        load_public_key(pem, "the key")
    assert str(caught.value) == f"the key {pem!r} is a ECPublicKey, not an Ed25519 key."
    private_pem = other.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    with pytest.raises(ConfigError) as refused:
        private_key_from_text(private_pem, "the file")
    assert str(refused.value) == ("the file holds a ECPrivateKey, not an Ed25519 key. Create "
                                  "one with `rasad audit keygen PATH`.")


def test_a_private_key_loads_from_pem_or_raw_base64() -> None:
    pem = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    for text in (pem, "\n" + pem, b64encode(bytes(32)).decode() + "\n"):
        loaded = private_key_from_text(text)
        assert isinstance(loaded, Ed25519PrivateKey)
        assert fingerprint(loaded.public_key()) == fingerprint(KEY.public_key())
    with pytest.raises(ConfigError) as caught:
        private_key_from_text("not a key")
    assert str(caught.value) == (
        f"{KEY_ENV} does not hold an Ed25519 private key (PEM, or base64 of 32 bytes). Create "
        "one with `rasad audit keygen PATH`.")


def test_signing_key_messages_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        signing_key(tmp_path / "missing", {})
    assert str(caught.value) == (f"Signing key file {tmp_path / 'missing'} does not exist. "
                                 f"Create one with `rasad audit keygen {tmp_path / 'missing'}`.")
    with pytest.raises(InputError, match="does not exist"):
        signing_key(tmp_path, {})  # a folder
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError) as caught:
        signing_key(tmp_path / "binary", {})
    assert str(caught.value) == (
        f"Signing key file {tmp_path / 'binary'} cannot be read (UnicodeDecodeError); it must "
        "be the PEM file `rasad audit keygen` wrote.")
    (tmp_path / "bad").write_text("nonsense", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^Signing key file {tmp_path / 'bad'} does not hold"):
        signing_key(tmp_path / "bad", {})
    with pytest.raises(InputError) as caught:
        signing_key(None, {KEY_ENV: ""})
    assert str(caught.value) == (
        "No checkpoint signing key: pass --key PATH, or set RASAD_CHECKPOINT_KEY_FILE (a key "
        "file) or RASAD_CHECKPOINT_KEY (the key itself). Create one with `rasad audit keygen "
        "PATH`, and keep it outside the database's host.")
    assert signing_key(None, {"RASAD_CHECKPOINT_KEY_FILE": "", KEY_ENV: b64encode(
        bytes(32)).decode()}).public_key().public_bytes_raw() == KEY.public_key(
    ).public_bytes_raw()


def test_key_text_with_stray_characters_is_refused() -> None:
    with pytest.raises(InputError, match="is not an Ed25519 public key"):
        load_public_key(PUBLIC_TEXT[:20] + "!" + PUBLIC_TEXT[20:])
    raw = b64encode(bytes(32)).decode()
    with pytest.raises(ConfigError, match="does not hold an Ed25519 private key"):
        private_key_from_text(raw[:20] + "*" + raw[20:])


def test_generating_a_key_names_what_is_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("old", encoding="utf-8")
    with pytest.raises(ConflictError) as caught:
        generate_key(tmp_path / "k")
    assert str(caught.value) == (f"{tmp_path / 'k'} already exists; rasad never overwrites a "
                                 "key. Choose another path or remove the old key yourself.")
    with pytest.raises(InputError) as refused:
        generate_key(tmp_path / "missing" / "k")
    assert str(refused.value) == (f"Folder {tmp_path / 'missing'} does not exist; create it "
                                  "first.")
    public = generate_key(tmp_path / "new")
    assert (tmp_path / "new.pub").read_text(encoding="utf-8") == public_key_text(public) + "\n"
