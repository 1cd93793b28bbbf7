"""An issuer on the real Redis (key store, revocation stream, client registry) under a per-test prefix."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from edgeauth import (
    CollectingSink,
    DecisionBuffer,
    EdgeAuthSettings,
    JwksCache,
    KeyStore,
    RevocationPublisher,
    RevocationReplica,
    Verifier,
)
from edgeauth.issuer import Issuer, create_issuer_router, install_error_handler
from edgeauth.settings import IssuerSettings

ISSUER_URL = "http://127.0.0.1:8000"
TOKEN_URL = ISSUER_URL + "/oauth/token"


@dataclass
class IssuerHarness:
    settings: EdgeAuthSettings
    issuer: Issuer
    keystore: KeyStore
    publisher: RevocationPublisher
    replica: RevocationReplica
    verifier: Verifier
    sink: CollectingSink
    decisions: DecisionBuffer
    http: TestClient

    def client(self, client_id: str, **kwargs: Any) -> str:
        """Register a client; returns its secret (empty for a private_key_jwt client)."""
        kwargs.setdefault("role", "analyst")
        kwargs.setdefault("audiences", ["vigil"])
        issued = self.issuer.registry.create(client_id, actor="test", **kwargs)
        return issued.client_secret.get_secret_value() if issued.client_secret else ""

    def token(self, client_id: str, secret: str, **form: str) -> Any:
        return self.http.post(
            "/oauth/token", data={"grant_type": "client_credentials", **form}, headers=basic(client_id, secret)
        )

    def events(self) -> list[Any]:
        self.decisions.flush()
        return list(self.sink.events)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def make_settings(namespace: str, **oauth: Any) -> EdgeAuthSettings:
    return EdgeAuthSettings(
        issuer=ISSUER_URL,
        audiences=("vigil",),
        namespace=namespace,
        key_encryption_key=SecretStr("kek-for-tests"),
        oauth=IssuerSettings(**oauth),
    )


def build(
    redis_conn: redis.Redis, settings: EdgeAuthSettings, *, decisions: DecisionBuffer | None = None
) -> IssuerHarness:
    """The issuer over real Redis; its decisions go to `decisions` (else to an in-memory `sink`)."""
    keystore = KeyStore(redis_conn, settings)
    publisher = RevocationPublisher(redis_conn, settings)
    replica = RevocationReplica(redis_conn, settings)
    sink = CollectingSink()
    decisions = DecisionBuffer(sink) if decisions is None else decisions  # an empty buffer is falsy
    issuer = Issuer(settings, redis_conn, keystore, publisher, decisions=decisions)
    app = FastAPI()
    app.include_router(create_issuer_router(issuer))
    install_error_handler(app)
    verifier = Verifier(settings, JwksCache(settings, source=issuer.jwks), revocations=replica)
    return IssuerHarness(
        settings, issuer, keystore, publisher, replica, verifier, sink, decisions, TestClient(app, base_url=ISSUER_URL)
    )


@pytest.fixture
def harness(redis_conn: redis.Redis, redis_namespace: str) -> Iterator[IssuerHarness]:
    built = build(redis_conn, make_settings(redis_namespace))
    with built.http:
        yield built
