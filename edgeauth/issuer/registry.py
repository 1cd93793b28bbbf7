"""The client registry: who may obtain tokens, with which credential, scopes, audiences and period.

Storage sits behind the `ClientStore` protocol (Redis here; a SQL table plugs in the same way) and every change
is written together with its audit event, so the trail cannot miss a change; the same change then goes to the
audit sink (an `iam` event with the client's access before and after), so a Sigma rule can see it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import redis
from pydantic import SecretStr, ValidationError

from edgeauth.audit import AuditEvent, AuditSink, AuditValue
from edgeauth.errors import KeyStoreError
from edgeauth.issuer.clientsecrets import SCHEME, ClientSecretHasher, SecretHashKeys
from edgeauth.issuer.errors import ClientExists, ClientNotFound, InvalidClientDefinition
from edgeauth.issuer.models import (
    OIDC_SCOPES,
    ROLE_SCOPES,
    AuditAction,
    ClientAuditEvent,
    ClientPublic,
    ClientRecord,
    IssuedCredential,
    Role,
)
from edgeauth.keys import VerificationKey
from edgeauth.keystore import sealer_for
from edgeauth.settings import EdgeAuthSettings


def validate_client_jwks(jwks: object) -> dict[str, Any]:
    """A client's public JWKS: every key public, with a kid and an alg bound to its type (RFC 8725 3.1)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InvalidClientDefinition('the JWKS must be an object with a non-empty "keys" list')
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict):
            raise InvalidClientDefinition("every JWKS entry must be a JSON object")
        if any(private in jwk for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise InvalidClientDefinition(f"JWK {jwk.get('kid')!r} holds private or symmetric material")
        if "alg" not in jwk:
            raise InvalidClientDefinition(f"JWK {jwk.get('kid')!r} needs an alg (RS256, ES256 or EdDSA)")
        try:
            VerificationKey.from_jwk(jwk)
        except KeyStoreError as exc:
            raise InvalidClientDefinition(str(exc)) from exc
    return cast(dict[str, Any], json.loads(json.dumps(jwks)))


class ClientStore(Protocol):
    """Where clients and their audit trail live. Implementations must write a change and its event atomically."""

    def get(self, client_id: str) -> ClientRecord | None: ...

    def insert(self, record: ClientRecord, event: ClientAuditEvent) -> None:
        """Store a new client; raise `ClientExists` if the id is taken."""

    def replace(self, record: ClientRecord, event: ClientAuditEvent) -> None:
        """Overwrite an existing client; raise `ClientNotFound` if it is absent."""

    def replace_if_unchanged(self, before: ClientRecord, after: ClientRecord, event: ClientAuditEvent) -> bool:
        """Overwrite the client only if it is still exactly `before`; False (nothing written) otherwise."""

    def list_ids(self) -> list[str]: ...

    def audit_events(self, client_id: str | None = None, limit: int = 1000) -> list[ClientAuditEvent]: ...


class RedisClientStore:
    """Clients as JSON strings under `{prefix}:client:{id}`, an id set, and an audit stream."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, client_id: str) -> str:
        return f"{self._prefix}:client:{client_id}"

    @property
    def _index(self) -> str:
        return f"{self._prefix}:clients"

    @property
    def _audit(self) -> str:
        return f"{self._prefix}:clients:audit"

    def get(self, client_id: str) -> ClientRecord | None:
        raw = cast(bytes | str | None, self._redis.get(self._key(client_id)))
        return None if raw is None else ClientRecord.model_validate_json(raw)

    def insert(self, record: ClientRecord, event: ClientAuditEvent) -> None:
        self._write(record, event, must_exist=False)

    def replace(self, record: ClientRecord, event: ClientAuditEvent) -> None:
        self._write(record, event, must_exist=True)

    def _write(self, record: ClientRecord, event: ClientAuditEvent, *, must_exist: bool) -> None:
        key = self._key(record.client_id)
        with self._redis.pipeline(transaction=True) as pipe:
            # WATCH makes the existence check and the write one atomic step against concurrent admins.
            pipe.watch(key)  # type: ignore[no-untyped-call]
            exists = bool(pipe.exists(key))
            if must_exist and not exists:
                raise ClientNotFound(record.client_id)
            if not must_exist and exists:
                raise ClientExists(record.client_id)
            pipe.multi()
            pipe.set(key, _dump(record))
            pipe.sadd(self._index, record.client_id)
            pipe.xadd(self._audit, {"event": event.model_dump_json()})
            try:
                pipe.execute()
            except redis.WatchError:
                raise (ClientExists if not must_exist else ClientNotFound)(record.client_id) from None

    def replace_if_unchanged(self, before: ClientRecord, after: ClientRecord, event: ClientAuditEvent) -> bool:
        key = self._key(before.client_id)
        with self._redis.pipeline(transaction=True) as pipe:
            # WATCH: an admin's change between our read and this write wins; ours is simply not made.
            pipe.watch(key)  # type: ignore[no-untyped-call]
            raw = cast(bytes | str | None, pipe.get(key))
            if raw is None or ClientRecord.model_validate_json(raw) != before:
                return False
            pipe.multi()
            pipe.set(key, _dump(after))
            pipe.xadd(self._audit, {"event": event.model_dump_json()})
            try:
                pipe.execute()
            except redis.WatchError:
                return False
        return True

    def list_ids(self) -> list[str]:
        members = cast(set[bytes | str], self._redis.smembers(self._index))
        return sorted(m.decode() if isinstance(m, bytes) else m for m in members)

    def audit_events(self, client_id: str | None = None, limit: int = 1000) -> list[ClientAuditEvent]:
        entries = cast(list[tuple[Any, dict[Any, Any]]], self._redis.xrevrange(self._audit, count=limit))
        events = []
        for _entry_id, fields in reversed(entries):
            raw = fields.get(b"event", fields.get("event"))
            event = ClientAuditEvent.model_validate_json(raw)
            if client_id is None or event.client_id == client_id:
                events.append(event)
        return events


def _dump(record: ClientRecord) -> str:
    data = record.model_dump(mode="json", by_alias=True)
    data["secret_hash"] = record.secret_hash.get_secret_value() if record.secret_hash else None
    return json.dumps(data, separators=(",", ":"))


def _now() -> datetime:
    return datetime.now(UTC)


class ClientRegistry:
    """Client administration: every operation validates, stores and records who did it."""

    def __init__(
        self,
        store: ClientStore,
        *,
        scopes_supported: Iterable[str],
        hasher: ClientSecretHasher,
        audit: AuditSink | None = None,
    ) -> None:
        self.store = store
        self._scopes_supported = frozenset(scopes_supported)
        self.hasher = hasher
        self._audit = audit

    @classmethod
    def from_settings(
        cls,
        settings: EdgeAuthSettings,
        client: redis.Redis,
        *,
        store: ClientStore | None = None,
        audit: AuditSink | None = None,
    ) -> ClientRegistry:
        """The registry as configured: Redis under `key_prefix` unless another `store` is given; the secrets'
        server keys always in Redis, sealed by the KEK."""
        keys = SecretHashKeys(client, settings.key_prefix, sealer_for(settings))
        return cls(
            store or RedisClientStore(client, settings.key_prefix),
            scopes_supported=settings.oauth.scopes_supported,
            hasher=ClientSecretHasher(keys),
            audit=audit,
        )

    def get(self, client_id: str) -> ClientRecord:
        record = self.store.get(client_id)
        if record is None:
            raise ClientNotFound(client_id)
        return record

    def show(self, client_id: str) -> ClientPublic:
        return ClientPublic.of(self.get(client_id))

    def list_clients(self) -> list[ClientPublic]:
        return [ClientPublic.of(r) for cid in self.store.list_ids() if (r := self.store.get(cid)) is not None]

    def create(
        self,
        client_id: str,
        *,
        actor: str,
        role: Role = "custom",
        scopes: Iterable[str] | None = None,
        audiences: Sequence[str],
        jwks: object | None = None,
        refresh_tokens: bool = False,
        engagement: tuple[datetime, datetime] | None = None,
        description: str = "",
        redirect_uris: Sequence[str] = (),
        post_logout_redirect_uris: Sequence[str] = (),
        public: bool = False,
        first_party: bool = False,
    ) -> IssuedCredential:
        """Register a client; with no `jwks` it gets a random secret, returned here once and only hashed after.

        With `redirect_uris` it is a people-facing client (authorization code + PKCE, OpenID Connect scopes);
        `public` makes it one without any credential (`token_endpoint_auth_method` none), e.g. `vigil login`.
        """
        if public and jwks is not None:
            raise InvalidClientDefinition("a public client holds no key: drop --jwks or --public")
        if public and not redirect_uris:
            raise InvalidClientDefinition("a public client signs people in: give at least one --redirect-uri")
        granted = self._supported(frozenset(scopes) if scopes is not None else ROLE_SCOPES[role])
        people_facing = bool(redirect_uris)
        secret = None if jwks is not None or public else secrets.token_urlsafe(32)
        first_grant = "authorization_code" if people_facing else "client_credentials"
        fields: dict[str, Any] = {
            "client_id": client_id,
            "auth_method": "private_key_jwt" if jwks is not None else ("none" if public else "client_secret"),
            "secret_hash": self.hasher.hash(secret) if secret else None,
            "jwks": validate_client_jwks(jwks) if jwks is not None else None,
            "scopes": granted | OIDC_SCOPES if people_facing else granted,
            "audiences": tuple(audiences),
            "grant_types": {first_grant, "refresh_token"} if refresh_tokens else {first_grant},
            "role": role,
            "engagement": {"from": engagement[0], "to": engagement[1]} if engagement else None,
            "description": description,
            "redirect_uris": tuple(redirect_uris),
            "post_logout_redirect_uris": tuple(post_logout_redirect_uris),
            "first_party": first_party,
            "created_at": _now(),
        }
        record = _validated(fields)
        event = self._event(actor, "create", record.client_id, f"role={role}")
        self.store.insert(record, event)
        self._emit(event, None, record)
        return IssuedCredential(client=ClientPublic.of(record), client_secret=SecretStr(secret) if secret else None)

    def rotate(self, client_id: str, *, actor: str, jwks: object | None = None) -> IssuedCredential:
        """Replace the credential: a new secret (returned once), or a new public JWKS for a key client."""
        record = self.get(client_id)
        if record.public:
            raise InvalidClientDefinition(f"client {client_id!r} is public: it holds no credential to rotate")
        secret = None
        changes: dict[str, Any] = {"rotated_at": _now()}
        if record.auth_method == "private_key_jwt":
            if jwks is None:
                raise InvalidClientDefinition(f"client {client_id!r} uses private_key_jwt: give its new public JWKS")
            changes["jwks"] = validate_client_jwks(jwks)
        else:
            if jwks is not None:
                raise InvalidClientDefinition(f"client {client_id!r} uses a secret: rotation issues a new secret")
            secret = secrets.token_urlsafe(32)
            changes["secret_hash"] = SecretStr(self.hasher.hash(secret))
        updated = record.model_copy(update=changes)
        self._replace(record, updated, self._event(actor, "rotate", client_id))
        return IssuedCredential(client=ClientPublic.of(updated), client_secret=SecretStr(secret) if secret else None)

    def set_disabled(self, client_id: str, disabled: bool, *, actor: str) -> ClientPublic:
        record = self.get(client_id)
        updated = record.model_copy(update={"disabled": disabled})
        self._replace(record, updated, self._event(actor, "disable" if disabled else "enable", client_id))
        return ClientPublic.of(updated)

    def set_scopes(self, client_id: str, scopes: Iterable[str], *, actor: str) -> ClientPublic:
        """Replace the scopes a client may request; tokens already issued keep theirs until they expire."""
        record = self.get(client_id)
        granted = self._supported(frozenset(scopes))
        updated = record.model_copy(update={"scopes": granted})
        self._replace(record, updated, self._event(actor, "update", client_id, f"scopes={' '.join(sorted(granted))}"))
        return ClientPublic.of(updated)

    def review(self, client_id: str, *, actor: str, note: str = "") -> ClientPublic:
        """Record that a person checked this client's access is still needed (access reviews, SOC 2 CC6.2)."""
        record = self.get(client_id)
        updated = record.model_copy(update={"reviewed_at": _now(), "reviewed_by": actor})
        self._replace(record, updated, self._event(actor, "review", client_id, note))
        return ClientPublic.of(updated)

    def authenticate(self, record: ClientRecord | None, secret: str) -> bool:
        """Whether `secret` is the client's; `None` (an unregistered id) costs the same and never authenticates.

        A valid secret stored under a legacy scrypt hash or an old server key is re-hashed under the current
        key, once: the write happens only if the record is unchanged since it was read (a concurrent admin
        change or a replica's own migration wins), and it is audited as a client change.
        """
        if record is None or record.secret_hash is None:
            self.hasher.decoy(secret)
            return False
        stored = record.secret_hash.get_secret_value()
        check = self.hasher.check(secret, stored)
        if check.valid and not check.current:
            fresh = self.hasher.hash(secret)
            updated = record.model_copy(update={"secret_hash": SecretStr(fresh)})
            detail = f"secret re-hashed: {stored.partition('$')[0]} -> {SCHEME} key {fresh.split('$')[1]}"
            event = self._event(REHASH_ACTOR, "rehash", record.client_id, detail)
            if self.store.replace_if_unchanged(record, updated, event):
                self._emit(event, record, updated)
        return check.valid

    def history(self, client_id: str | None = None) -> list[ClientAuditEvent]:
        return self.store.audit_events(client_id)

    def _supported(self, granted: frozenset[str]) -> frozenset[str]:
        unknown = granted - self._scopes_supported
        if unknown:
            raise InvalidClientDefinition(
                f"unknown scope(s) {', '.join(sorted(unknown))}; supported: {' '.join(sorted(self._scopes_supported))}"
            )
        return granted

    def _replace(self, before: ClientRecord, after: ClientRecord, event: ClientAuditEvent) -> None:
        self.store.replace(after, event)
        self._emit(event, before, after)

    def _emit(self, event: ClientAuditEvent, before: ClientRecord | None, after: ClientRecord) -> None:
        if self._audit is None:
            return
        self._audit.emit(
            [
                AuditEvent(
                    timestamp=event.timestamp,
                    provider="edgeauth",
                    action=_AUDIT_ACTIONS[event.action],
                    category="iam",
                    type="creation" if before is None else "change",
                    actor=event.actor,
                    target=f"client:{event.client_id}",
                    reason=event.detail or None,
                    before=_access(before) if before is not None else None,
                    after=_access(after),
                )
            ]
        )

    @staticmethod
    def _event(actor: str, action: AuditAction, client_id: str, detail: str = "") -> ClientAuditEvent:
        try:
            return ClientAuditEvent(timestamp=_now(), actor=actor, action=action, client_id=client_id, detail=detail)
        except ValidationError as exc:
            raise InvalidClientDefinition(f"audit actor: {exc.errors()[0]['msg']}") from None


#: Who re-hashes a secret on its first use: the issuer itself, not a person.
REHASH_ACTOR = "edgeauth-issuer"

_AUDIT_ACTIONS: dict[AuditAction, str] = {
    "create": "client-created",
    "rotate": "client-credential-rotated",
    "disable": "client-disabled",
    "enable": "client-enabled",
    "review": "client-reviewed",
    "update": "client-updated",
    "rehash": "client-secret-rehashed",
}


def _access(record: ClientRecord) -> dict[str, AuditValue]:
    """What a client may do (never its credential): the before/after of an audit event."""
    return {
        "scopes": sorted(record.scopes),
        "audiences": list(record.audiences),
        "grant_types": sorted(record.grant_types),
        "redirect_uris": list(record.redirect_uris),
        "first_party": record.first_party,
        "role": record.role,
        "disabled": record.disabled,
    }


def _validated(fields: dict[str, Any]) -> ClientRecord:
    try:
        return ClientRecord.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "client"
        raise InvalidClientDefinition(f"{where}: {first['msg']}") from None
