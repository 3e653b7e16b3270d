"""A loopback OpenID metadata + JWKS endpoint, and RS256 tokens signed with its key (or not).

Stands in for https://login.botframework.com/v1/.well-known/openidconfiguration, so the bot's
token checks run against real signed JWTs without the internet.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://api.botframework.com"
KEY_ID = "loopback-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OpenIdDouble:
    def __init__(self, key: rsa.RSAPrivateKey, endorsements: list[str] | None = None) -> None:
        self.key = key
        self.endorsements = endorsements if endorsements is not None else ["msteams"]
        self.requests: list[str] = []
        self.base_url = ""

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=KEY_ID, use="sig", alg="RS256", endorsements=self.endorsements)
        return {"keys": [public]}

    def answer(self, path: str) -> dict[str, Any] | None:
        self.requests.append(path)
        if path == "/v1/.well-known/openidconfiguration":
            return {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.example/",
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        if path == "/v1/.well-known/keys":
            return self.jwks()
        return None

    @classmethod
    @contextmanager
    def serving(cls, key: rsa.RSAPrivateKey, **options: Any) -> Iterator[OpenIdDouble]:
        double = cls(key, **options)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                body = double.answer(self.path)
                payload = json.dumps(body).encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        double.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield double
        finally:
            server.shutdown()
            server.server_close()


def bot_token(
    key: rsa.RSAPrivateKey,
    *,
    audience: str,
    service_url: str,
    issuer: str = ISSUER,
    expires_in: int = 3600,
    kid: str = KEY_ID,
    algorithm: str = "RS256",
) -> str:
    """A token shaped like the ones the Bot Connector sends (claims per the auth doc)."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "serviceurl": service_url,
        "nbf": now - 60,
        "iat": now - 60,
        "exp": now + expires_in,
    }
    if algorithm == "HS256":
        return jwt.encode(claims, "a-shared-secret-of-32-bytes-long!", algorithm="HS256")
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
