"""Status links: tampering, expiry, revocation, rotation and the wrong request are refused."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest

from intake.status_token import (
    InvalidToken,
    StatusKeys,
    issue,
    nonce_matches,
    read,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
KEY = b"k" * 32
OTHER = b"o" * 32
TTL = timedelta(days=180)
URL_SAFE = set(string.ascii_letters + string.digits + "-_")


def token(keys: StatusKeys = StatusKeys(KEY), request_id: str = "3f2a9c0d1e4b5a6f") -> str:
    return issue(keys, request_id, "n0nce-AbC", now=NOW, ttl=TTL)


def test_a_token_reads_back_its_request_nonce_and_expiry() -> None:
    claim = read(StatusKeys(KEY), token(), now=NOW)

    assert claim.request_id == "3f2a9c0d1e4b5a6f"
    assert claim.nonce == "n0nce-AbC"
    assert claim.expires_at == NOW + TTL
    assert not claim.is_expired(NOW)


def test_a_token_is_url_safe_and_short_enough_for_an_email_line() -> None:
    text = token()
    assert set(text) <= URL_SAFE
    assert len(text) <= 64


@pytest.mark.parametrize("position", range(len(token())))
def test_changing_any_character_of_a_token_makes_it_invalid(position: int) -> None:
    original = token()
    for replacement in "AQg_-9":
        if original[position] == replacement:
            continue
        tampered = original[:position] + replacement + original[position + 1 :]
        with pytest.raises(InvalidToken):
            read(StatusKeys(KEY), tampered, now=NOW)


def test_flipping_any_bit_of_the_decoded_bytes_makes_it_invalid() -> None:
    import base64

    original = token()
    data = bytearray(base64.urlsafe_b64decode(original + "=" * (-len(original) % 4)))
    for index in range(len(data)):
        for bit in range(8):
            changed = bytearray(data)
            changed[index] ^= 1 << bit
            text = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
            with pytest.raises(InvalidToken):
                read(StatusKeys(KEY), text, now=NOW)


@pytest.mark.parametrize(
    "text", ["", "a", "%%%%", "é" * 20, "A" * 500, token() + "A", token()[:-1], token() + "=="]
)
def test_malformed_tokens_are_invalid(text: str) -> None:
    with pytest.raises(InvalidToken):
        read(StatusKeys(KEY), text, now=NOW)


def test_a_token_signed_with_another_key_is_invalid() -> None:
    with pytest.raises(InvalidToken):
        read(StatusKeys(OTHER), token(), now=NOW)


def test_a_token_is_expired_from_its_expiry_on_and_not_before() -> None:
    claim = read(StatusKeys(KEY), token(), now=NOW + TTL)  # still genuine: the page says 410
    assert not claim.is_expired(NOW + TTL - timedelta(seconds=1))
    assert claim.is_expired(NOW + TTL)


def test_a_revoked_token_no_longer_matches_the_requests_nonce() -> None:
    claim = read(StatusKeys(KEY), token(), now=NOW)
    assert nonce_matches(claim, "n0nce-AbC")
    assert not nonce_matches(claim, "a-new-nonce")
    assert not nonce_matches(claim, "")


def test_the_previous_key_is_accepted_only_during_its_grace_period() -> None:
    old = token(StatusKeys(OTHER))
    rotated = StatusKeys(KEY, previous=OTHER, previous_until=NOW + timedelta(days=7))

    assert read(rotated, old, now=NOW).request_id == "3f2a9c0d1e4b5a6f"
    with pytest.raises(InvalidToken):
        read(rotated, old, now=NOW + timedelta(days=7))
    with pytest.raises(InvalidToken):  # no end date: the previous key is not accepted at all
        read(StatusKeys(KEY, previous=OTHER), old, now=NOW)


def test_after_a_rotation_new_tokens_are_signed_with_the_current_key() -> None:
    rotated = StatusKeys(KEY, previous=OTHER, previous_until=NOW + timedelta(days=7))
    fresh = token(rotated)
    assert read(StatusKeys(KEY), fresh, now=NOW).request_id == "3f2a9c0d1e4b5a6f"
    with pytest.raises(InvalidToken):
        read(StatusKeys(OTHER), fresh, now=NOW)


def test_a_token_names_only_its_own_request() -> None:
    mine, theirs = token(request_id="aaaaaaaaaaaaaaaa"), token(request_id="bbbbbbbbbbbbbbbb")
    assert read(StatusKeys(KEY), mine, now=NOW).request_id == "aaaaaaaaaaaaaaaa"
    assert read(StatusKeys(KEY), theirs, now=NOW).request_id == "bbbbbbbbbbbbbbbb"
    # Splicing one token's signature onto the other's body does not give a valid token.
    with pytest.raises(InvalidToken):
        read(StatusKeys(KEY), theirs[:30] + mine[30:], now=NOW)


def test_short_keys_are_refused_and_keys_never_show_in_repr() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        StatusKeys(b"short")
    assert "k" * 32 not in repr(StatusKeys(KEY, previous=OTHER))
