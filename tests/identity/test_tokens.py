"""Token strings: random, parseable by id, compared by hash; lifetimes."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from rasad.errors import InputError, PermissionDenied
from rasad.identity.tokens import (
    InvalidToken,
    hash_secret,
    later,
    new_token,
    parse_lifetime,
    parse_token,
    secret_matches,
)


def test_a_new_token_is_random_and_stores_only_the_hash_of_its_secret() -> None:
    tokens = [new_token() for _ in range(50)]
    assert len({t.id for t in tokens}) == len({t.text for t in tokens}) == 50
    for token in tokens:
        parsed = parse_token(token.text)
        assert parsed.id == token.id and len(parsed.secret) == 43
        assert token.secret_sha256 == hashlib.sha256(parsed.secret.encode()).hexdigest()
        assert parsed.secret not in repr(token) and parsed.secret not in repr(parsed)


def test_the_secret_is_checked_against_its_hash() -> None:
    token = new_token()
    secret = parse_token(token.text).secret
    assert secret_matches(secret, token.secret_sha256)
    assert not secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"),
                              token.secret_sha256)
    assert not secret_matches(secret, hash_secret(""))


@pytest.mark.parametrize("forged", [
    "", "rsd_", "rsd__", "Bearer rsd_0123456789abcdef_" + "a" * 43,
    "rsd_0123456789ABCDEF_" + "a" * 43,    # upper-case id
    "rsd_0123456789abcde_" + "a" * 43,     # id too short
    "rsd_0123456789abcdef_" + "a" * 42,    # secret too short
    "rsd_0123456789abcdef_" + "a" * 44,    # secret too long
    "rsd_0123456789abcdef_" + "a" * 42 + "=",
    "xyz_0123456789abcdef_" + "a" * 43,
    "rsd_0123456789abcdef_" + "a" * 42 + "\n" + "a",
    "rsd_0123456789abcdef" + "a" * 43,
])
def test_malformed_token_strings_are_refused_before_any_lookup(forged: str) -> None:
    with pytest.raises(InvalidToken, match="not a rasad API token") as refused:
        parse_token(forged)
    assert isinstance(refused.value, PermissionDenied)


def test_surrounding_whitespace_from_copying_is_forgiven() -> None:
    token = new_token()
    assert parse_token(f"  {token.text}\n").id == token.id


@pytest.mark.parametrize(("text", "lifetime"), [
    ("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)), ("90d", timedelta(days=90)),
    ("2w", timedelta(weeks=2)), (" 7D ", timedelta(days=7)), ("never", None)])
def test_lifetimes(text: str, lifetime: timedelta | None) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "0d", "-1d", "1y", "1.5d", "d", "9999999d", "forever"])
def test_bad_lifetimes_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="Token lifetime"):
        parse_lifetime(text)


def test_expiry_times_are_in_the_stores_format() -> None:
    assert later("2026-12-31T23:30:00.000001Z", timedelta(hours=1)) == \
        "2027-01-01T00:30:00.000001Z"
