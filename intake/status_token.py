"""Status links: a signed, expiring, revocable token naming one request. Pure: no I/O.

The token is the only key to a client's status page, so it carries everything the page needs
to check it without a login:

    base64url( version | expires | len(request id) | request id | nonce | mac )

``version`` one byte (1); ``expires`` four bytes, Unix seconds, big-endian (enough until 2106);
the request id and the request's current nonce in UTF-8; ``mac`` the first 16 bytes of
HMAC-SHA256 over a domain label and every byte before it. RFC 2104 section 5 allows truncating
the MAC to half the hash's length; 128 bits keeps a link near 60 characters, short enough for
an email line. The nonce is what revocation changes (``Store.set_status_nonce``): a token whose
nonce is no longer the request's is refused by the page, which compares it in constant time.

Keys rotate: links are signed with the current key; a token signed with the previous key is
accepted until the end of its grace period, so the links already sent keep working meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = 1
MAC_BYTES = 16
_DOMAIN = b"intake-status-link\x00"  # a key used elsewhere can never sign a status link
_HEAD = struct.Struct(">BIB")  # version, expires, length of the request id
MAX_REQUEST_ID = 64
MAX_NONCE = 64
MAX_TOKEN_CHARS = 4 * (_HEAD.size + MAX_REQUEST_ID + MAX_NONCE + MAC_BYTES) // 3 + 4


class InvalidToken(ValueError):
    """The token is malformed or its signature does not match an accepted key."""


@dataclass(frozen=True)
class StatusKeys:
    """The keys of status links: ``current`` signs and verifies; ``previous`` only verifies,
    and only before ``previous_until`` (the grace period after a rotation)."""

    current: bytes
    previous: bytes = b""
    previous_until: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.current) < 32:
            raise ValueError("a status key needs at least 32 bytes")

    def __repr__(self) -> str:  # never a key in a log or a traceback
        return f"StatusKeys(previous={'yes' if self.previous else 'no'})"

    @classmethod
    def ephemeral(cls) -> StatusKeys:
        """A random key: links it signs die with the process (services built by hand)."""
        return cls(secrets.token_bytes(32))

    def accepted(self, now: datetime) -> tuple[bytes, ...]:
        """The keys a token may be signed with at ``now``."""
        if self.previous and self.previous_until is not None and now < self.previous_until:
            return (self.current, self.previous)
        return (self.current,)


@dataclass(frozen=True)
class StatusClaim:
    """What a genuine token says: which request, with which nonce, valid until when."""

    request_id: str
    nonce: str
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def issue(keys: StatusKeys, request_id: str, nonce: str, *, now: datetime, ttl: timedelta) -> str:
    """A token for ``request_id`` with its current ``nonce``, valid for ``ttl`` from ``now``."""
    rid, nonce_bytes = request_id.encode(), nonce.encode()
    if not 0 < len(rid) <= MAX_REQUEST_ID or len(nonce_bytes) > MAX_NONCE:
        raise ValueError("request id or nonce too long for a status link")
    expires = int((now + ttl).timestamp())
    body = _HEAD.pack(VERSION, expires, len(rid)) + rid + nonce_bytes
    return _encode(body + _mac(keys.current, body))


def read(keys: StatusKeys, token: str, *, now: datetime) -> StatusClaim:
    """The claim of a genuine token (expired or not: the caller tells the two apart).

    Raises ``InvalidToken`` when the token is not one we signed with a key accepted at ``now``.
    """
    data = _decode(token)
    if len(data) < _HEAD.size + 1 + MAC_BYTES:
        raise InvalidToken("too short")
    body, mac = data[:-MAC_BYTES], data[-MAC_BYTES:]
    # Every accepted key is tried, whichever matches: the time taken does not tell which.
    matches = [hmac.compare_digest(_mac(key, body), mac) for key in keys.accepted(now)]
    if not any(matches):
        raise InvalidToken("signature does not match")
    version, expires, rid_length = _HEAD.unpack_from(body)
    if version != VERSION or not 0 < rid_length <= len(body) - _HEAD.size:
        raise InvalidToken("unknown layout")
    rid = body[_HEAD.size : _HEAD.size + rid_length]
    nonce = body[_HEAD.size + rid_length :]
    try:
        return StatusClaim(
            request_id=rid.decode(),
            nonce=nonce.decode(),
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
    except UnicodeDecodeError:
        raise InvalidToken("not UTF-8") from None


def nonce_matches(claim: StatusClaim, current_nonce: str) -> bool:
    """True when the token was issued with the request's current nonce (not revoked since)."""
    return hmac.compare_digest(claim.nonce.encode(), current_nonce.encode())


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + body, hashlib.sha256).digest()[:MAC_BYTES]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(token: str) -> bytes:
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidToken("not a token")
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None
    # Base64 leaves spare bits in the last character: only the one spelling we produce is
    # accepted, so no two different strings are the same token.
    if _encode(data) != token:
        raise InvalidToken("not canonical")
    return data
