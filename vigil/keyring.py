"""Every secret Vigil keeps, in one place: the sealer (key-encryption key) and the stores that hold sealed keys.

edgeauth's signing keys, the server keys of its client-secret hashes, evidence's bundle signing keys, the
console's CSRF and session keys, its OIDC client secret and people's TOTP secrets all live in Redis, sealed by one
`Sealer`, so any replica of any process signs with the same active key, checks the same client secrets and codes,
accepts the same forms and opens the same console sessions.
`reseal_all` is the second half of a key-encryption-key rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from pydantic import SecretStr

from edgeauth import AuditSink, KeyStore, Sealer, SharedSecret, sealer_for
from edgeauth.issuer import SecretHashKeys
from edgeauth.people import PeopleDirectory
from evidence import EvidenceArchive
from vigil.clients import elasticsearch_client, redis_client
from vigil.settings import VigilSettings


def sealer(settings: VigilSettings) -> Sealer:
    return sealer_for(settings.edgeauth)


def evidence_archive(settings: VigilSettings, audit: AuditSink | None = None) -> EvidenceArchive:
    """The evidence archive with its signing keys opened by the one sealer; downloads and refusals go to `audit`."""
    return EvidenceArchive(
        elasticsearch_client(settings), redis_client(settings), settings.evidence, sealer(settings), audit=audit
    )


def csrf_secret(settings: VigilSettings) -> SharedSecret:
    """The console's CSRF key, one for every replica."""
    return SharedSecret(redis_client(settings), f"{settings.namespace}:console:csrf-key", sealer(settings))


def console_session_key(settings: VigilSettings) -> SharedSecret:
    """The key that encrypts console session records in Redis, one for every replica."""
    return SharedSecret(redis_client(settings), f"{settings.namespace}:console:session-key", sealer(settings))


class SealedSecret:
    """A secret handed to us (not made here), kept sealed in Redis under `key`: the console's OIDC client secret."""

    def __init__(self, settings: VigilSettings, key: str) -> None:
        self._redis = redis_client(settings)
        self._sealer = sealer(settings)
        self.key = key

    def get(self) -> SecretStr | None:
        stored = cast(bytes | None, self._redis.get(self.key))
        return None if stored is None else SecretStr(self._sealer.open_text(stored.decode("ascii"), self.key).decode())

    def put(self, secret: SecretStr) -> None:
        self._redis.set(self.key, self._sealer.seal_text(secret.get_secret_value().encode(), self.key))

    def reseal(self) -> bool:
        stored = cast(bytes | None, self._redis.get(self.key))
        fresh = None if stored is None else self._sealer.reseal_text(stored.decode("ascii"), self.key)
        if fresh is not None:
            self._redis.set(self.key, fresh)
        return fresh is not None


def console_client_secret(settings: VigilSettings) -> SealedSecret:
    """The console's client secret at the OpenID provider, stored by `vigil console register`."""
    return SealedSecret(settings, f"{settings.namespace}:console:client-secret")


@dataclass(frozen=True)
class Resealed:
    edgeauth_keys: int
    secret_hash_keys: int
    evidence_keys: int
    csrf_key: bool
    totp_secrets: int
    console_keys: int = 0


def secret_hash_keys(settings: VigilSettings, audit: AuditSink | None = None) -> SecretHashKeys:
    """The server keys under which every replica hashes and checks machine-client secrets; rotations to `audit`."""
    return SecretHashKeys(redis_client(settings), settings.edgeauth.key_prefix, sealer(settings), audit=audit)


def reseal_all(settings: VigilSettings) -> Resealed:
    """Rewrite every sealed secret under the current key-encryption key; the previous ones may then be dropped."""
    redis = redis_client(settings)
    return Resealed(
        edgeauth_keys=KeyStore(redis, settings.edgeauth).reseal(),
        secret_hash_keys=secret_hash_keys(settings).reseal(),
        evidence_keys=evidence_archive(settings).keys.reseal(),
        csrf_key=csrf_secret(settings).reseal(),
        totp_secrets=PeopleDirectory.from_settings(settings.edgeauth, redis).reseal(),
        console_keys=int(console_session_key(settings).reseal()) + int(console_client_secret(settings).reseal()),
    )
