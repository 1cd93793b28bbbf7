"""Real peers over a real socket: authlib's own OAuth 2.0 client obtains tokens from the issuer served by
uvicorn on loopback, and joserfc verifies them with nothing but the published JWKS."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
import redis
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from fastapi import FastAPI
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet

from edgeauth import KeyStore, RevocationPublisher
from edgeauth.issuer import Issuer, create_issuer_router, install_error_handler
from tests.edgeauth.issuer.conftest import make_settings
from tests.fixtures.loopback import served_on

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(redis_conn: redis.Redis, redis_namespace: str) -> Iterator[tuple[str, Issuer]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(redis_namespace).model_copy(update={"issuer": base})
    issuer = Issuer(settings, redis_conn, KeyStore(redis_conn, settings), RevocationPublisher(redis_conn, settings))
    app = FastAPI()
    app.include_router(create_issuer_router(issuer))
    install_error_handler(app)
    with served_on(app, port):
        yield base, issuer


def test_authlib_client_credentials_and_joserfc_verification(served: tuple[str, Issuer]) -> None:
    base, issuer = served
    secret = issuer.registry.create("reporter", actor="test", role="analyst", audiences=["vigil"]).client_secret
    assert secret is not None
    metadata = httpx.get(base + "/.well-known/oauth-authorization-server").json()
    with OAuth2Client(
        "reporter", secret.get_secret_value(), scope="alerts:read", token_endpoint_auth_method="client_secret_basic"
    ) as client:
        token = client.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "alerts:read"

    jwks = KeySet.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    verified = jose_jwt.decode(token["access_token"], jwks, algorithms=["RS256"])
    assert verified.header["typ"] == "at+jwt"
    registry = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": base},
        aud={"essential": True, "value": "vigil"},
        sub={"essential": True, "value": "reporter"},
        exp={"essential": True},
        jti={"essential": True},
    )
    registry.validate(verified.claims)
    assert verified.claims["client_id"] == "reporter"
    assert verified.claims["scope"] == "alerts:read"


def test_authlib_client_with_private_key_jwt(served: tuple[str, Issuer]) -> None:
    base, issuer = served
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"}, private=True)
    issuer.registry.create(
        "signer", actor="test", role="ingest", audiences=["vigil"], jwks={"keys": [key.as_dict(private=False)]}
    )
    token_url = base + "/oauth/token"
    auth = PrivateKeyJWT(token_url, alg="ES256", headers={"kid": "k1"})
    with OAuth2Client("signer", key, token_endpoint_auth_method=auth) as client:
        token = client.fetch_token(token_url, grant_type="client_credentials")
    jwks = KeySet.import_key_set(httpx.get(base + "/.well-known/jwks.json").json())
    assert jose_jwt.decode(token["access_token"], jwks).claims["client_id"] == "signer"
