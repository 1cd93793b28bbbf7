"""Signing keys in Redis with rotation states: next -> active -> retired -> removed.

A next key is published in the JWKS before it signs anything (rotation refuses to promote a next key younger
than `key_publish_lead`, unless forced for an emergency); a retired key stays published until every token it
signed has expired (`access_token_ttl + leeway` after retirement), then it is removed and its private half
deleted. Private keys are stored sealed (`edgeauth.sealing`, under the key-encryption key). Every state change is
appended to a rotation log stream that compliance collects through `history()`, and announced on the revocation
stream so every verifier refetches its JWKS at once: a withdrawn key (`withdraw`, after a compromise) is refused
everywhere within a stream round trip, not at the next scheduled refresh. Every change also goes to the audit sink
as an `iam` event (`key-rotated` once per rotation, with whether the schedule did it; `key-withdrawn` for a key
removed before its tokens expired).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import redis

from edgeauth.audit import AuditEvent, AuditSink, AuditTrigger
from edgeauth.errors import KeyStoreError
from edgeauth.keys import SigningKey
from edgeauth.models import KeyInfo, KeyState, RotationRecord
from edgeauth.revocation import RevocationPublisher, redis_text
from edgeauth.sealing import Sealer
from edgeauth.settings import EdgeAuthSettings

PUBLISHED_STATES: frozenset[KeyState] = frozenset({"next", "active", "retired"})
#: The audit action of each state a key enters; `removed` before expiry is a withdrawal (see `_prune`).
_ENTERED: dict[KeyState, str] = {
    "next": "key-published",
    "active": "key-activated",
    "retired": "key-retired",
    "removed": "key-withdrawn",
}


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class KeyStore:
    def __init__(
        self,
        redis_client: redis.Redis,
        settings: EdgeAuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        audit: AuditSink | None = None,
    ) -> None:
        self._redis = redis_client
        self._audit = audit
        self._settings = settings
        self._clock = clock
        self._keys_key = f"{settings.key_prefix}:keys"
        self._log_key = f"{settings.key_prefix}:keys:log"
        self._lock_key = f"{settings.key_prefix}:keys:lock"
        self._announcer = RevocationPublisher(redis_client, settings, clock=clock)
        self._decrypted: dict[str, SigningKey] = {}
        self._sealer = sealer_for(settings)

    # -- reading ----------------------------------------------------------------------------------------------

    def _records(self) -> dict[str, dict[str, Any]]:
        raw = cast(dict[bytes | str, bytes | str], self._redis.hgetall(self._keys_key))
        return {redis_text(k): json.loads(redis_text(v)) for k, v in raw.items()}

    def inventory(self) -> list[KeyInfo]:
        """Every key ever made, oldest first, without private material."""
        records = sorted(self._records().values(), key=lambda r: r["created_at"])
        return [
            KeyInfo(
                kid=r["kid"],
                alg=r["alg"],
                state=r["state"],
                created_at=datetime.fromtimestamp(r["created_at"], UTC),
                activated_at=_ts(r.get("activated_at")),
                retired_at=_ts(r.get("retired_at")),
                removable_after=_ts(r.get("removable_after")),
            )
            for r in records
        ]

    def publishable_jwks(self) -> dict[str, Any]:
        """The JWKS to publish: next, active and retired keys (never a removed one)."""
        records = sorted(self._records().values(), key=lambda r: r["created_at"])
        return {"keys": [r["public_jwk"] for r in records if r["state"] in PUBLISHED_STATES]}

    def jwks_source(self) -> Callable[[], dict[str, Any]]:
        """A `JwksCache` source reading this store; Redis failures become `KeyStoreError` (keys are kept)."""

        def fetch() -> dict[str, Any]:
            try:
                return self.publishable_jwks()
            except redis.RedisError as exc:
                raise KeyStoreError(f"cannot read the key store: {exc}") from exc

        return fetch

    def active_signing_key(self) -> SigningKey:
        """The one key that signs now (made on first use, with its successor already published)."""
        active = [r for r in self._records().values() if r["state"] == "active"]
        if not active:
            self.ensure()
            active = [r for r in self._records().values() if r["state"] == "active"]
        if len(active) != 1:
            raise KeyStoreError(f"expected one active signing key, found {len(active)}")
        record = active[0]
        cached = self._decrypted.get(record["kid"])
        if cached is not None:
            return cached
        key = SigningKey.from_der(
            record["alg"], record["kid"], self._sealer.open_text(record["private"], record["kid"])
        )
        self._decrypted = {record["kid"]: key}
        return key

    def history(self, limit: int = 1000) -> list[RotationRecord]:
        """The rotation log, oldest first."""
        entries = cast(list[tuple[Any, dict[Any, Any]]], self._redis.xrange(self._log_key, count=limit))
        out: list[RotationRecord] = []
        for _entry_id, fields in entries:
            data = {redis_text(k): redis_text(v) for k, v in fields.items()}
            out.append(RotationRecord.model_validate_json(data["record"]))
        return out

    # -- changing ---------------------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Make the store usable: one active key and one published next key."""
        with self._lock():
            records = self._records()
            states = {r["state"] for r in records.values()}
            if "active" not in states:
                nexts = [r for r in records.values() if r["state"] == "next"]
                if nexts:
                    self._transition(nexts[0], "active", "initial activation")
                else:
                    self._create("active", "initial key")
            if "next" not in {r["state"] for r in self._records().values()}:
                self._create("next", "successor published ahead of use")

    def rotate(
        self, reason: str = "manual", *, force: bool = False, scheduled: bool = False, actor: str | None = None
    ) -> KeyInfo:
        """Promote the next key, retire the active one, publish a fresh next key, remove expired retirees.

        `force` skips the publish-lead check (emergency rotation after a compromise). Verifiers learn of the
        new keys through the push on the revocation stream within milliseconds; one cut off from Redis refuses
        the new key's tokens until its next JWKS refresh. Only the rotation task passes `scheduled`:
        a rotation off the schedule is what an auditor (and a Sigma rule) asks about.
        """
        self.ensure()
        now = self._clock()
        with self._lock():
            records = self._records()
            nxt = next(r for r in records.values() if r["state"] == "next")
            if not force and now - nxt["created_at"] < self._settings.key_publish_lead:
                raise KeyStoreError(
                    f"next key {nxt['kid']} has been published for {now - nxt['created_at']:.0f}s, "
                    f"less than key_publish_lead ({self._settings.key_publish_lead:.0f}s); retry later or force"
                )
            retired = []
            for record in records.values():
                if record["state"] == "active":
                    record["retired_at"] = now
                    record["removable_after"] = now + self._settings.access_token_ttl + self._settings.leeway
                    self._transition(record, "retired", reason)
                    retired.append(record["kid"])
            nxt["activated_at"] = now
            self._transition(nxt, "active", reason)
            self._create("next", "successor published ahead of use")
            self._prune(now)
        self._decrypted = {}
        self._emit(
            "key-rotated",
            nxt["kid"],
            reason,
            trigger="schedule" if scheduled else "operator",
            actor=actor,
            before={"active": retired},
            after={"active": [nxt["kid"]], "forced": force},
        )
        return next(k for k in self.inventory() if k.kid == nxt["kid"])

    def withdraw(self, kid: str, reason: str, *, actor: str | None = None) -> KeyInfo:
        """Take a key out of the JWKS now, private half deleted (compromise); verifiers refuse its tokens at once.

        Withdrawing the signing key first rotates (forced) so tokens can still be issued; withdrawing the
        published successor publishes a new one.
        """
        record = self._records().get(kid)
        if record is None or record["state"] == "removed":
            raise KeyStoreError(f"no published key {kid!r}; `vigil keys list` shows them")
        if record["state"] == "active":
            self.rotate(reason, force=True, actor=actor)
        with self._lock():
            record = self._records()[kid]
            withdrawn_state = record["state"]
            record.pop("private", None)
            record["withdrawn_at"] = self._clock()
            self._transition(record, "removed", f"withdrawn: {reason}", actor=actor)
        self._decrypted = {}
        if withdrawn_state == "next":
            self.ensure()
        return next(k for k in self.inventory() if k.kid == kid)

    def reseal(self) -> int:
        """Rewrite every private key under the current key-encryption key (KEK rotation); returns how many."""
        changed = 0
        with self._lock():
            for kid, record in self._records().items():
                if "private" not in record:
                    continue
                fresh = self._sealer.reseal_text(record["private"], kid)
                if fresh is not None:
                    record["private"] = fresh
                    self._redis.hset(self._keys_key, kid, json.dumps(record))
                    changed += 1
        return changed

    def prune(self) -> list[str]:
        """Remove retired keys whose every token has expired; returns their kids."""
        with self._lock():
            return self._prune(self._clock())

    def _prune(self, now: float) -> list[str]:
        removed = []
        for record in self._records().values():
            if record["state"] == "retired" and record.get("removable_after", now + 1) <= now:
                record.pop("private", None)
                self._transition(record, "removed", "every token it signed has expired", action="key-expired")
                removed.append(record["kid"])
        return removed

    def _create(self, state: KeyState, reason: str) -> dict[str, Any]:
        if not self._sealer.ready:
            raise KeyStoreError("storing private keys needs VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY")
        key = SigningKey.generate(self._settings.signing_algorithm)
        now = self._clock()
        record: dict[str, Any] = {
            "kid": key.kid,
            "alg": key.alg,
            "state": None,
            "created_at": now,
            "activated_at": now if state == "active" else None,
            "public_jwk": key.public_jwk(),
            "private": self._sealer.seal_text(key.private_der(), key.kid),
        }
        self._transition(record, state, reason)
        return record

    def _transition(
        self,
        record: dict[str, Any],
        state: KeyState,
        reason: str,
        *,
        action: str | None = None,
        actor: str | None = None,
    ) -> None:
        previous = record["state"]
        record["state"] = state
        if state == "active" and not record.get("activated_at"):
            record["activated_at"] = self._clock()
        entry = RotationRecord(
            timestamp=datetime.fromtimestamp(self._clock(), UTC),
            kid=record["kid"],
            alg=record["alg"],
            from_state=previous,
            to_state=state,
            reason=reason,
        )
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._keys_key, record["kid"], json.dumps(record))
        pipe.xadd(self._log_key, {"record": entry.model_dump_json()})
        pipe.execute()
        # After the write, so a verifier that refetches on this news finds the new state.
        self._announcer.keys_changed(record["kid"], state)
        self._emit(
            action or _ENTERED.get(state, f"key-{state}"),
            record["kid"],
            reason,
            trigger="policy" if action == "key-expired" else "operator",
            actor=actor,
            before={"state": previous},
            after={"state": state},
        )

    def _emit(
        self,
        action: str,
        kid: str,
        reason: str,
        *,
        trigger: AuditTrigger,
        actor: str | None = None,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        if self._audit is not None:
            self._audit.emit(
                [
                    AuditEvent(
                        timestamp=datetime.fromtimestamp(self._clock(), UTC),
                        provider="edgeauth",
                        action=action,
                        category="iam",
                        type="change",
                        actor=actor,
                        target=f"key:{kid}",
                        reason=reason,
                        trigger=trigger,
                        before=before,
                        after=after,
                    )
                ]
            )

    def _lock(self) -> Any:
        return self._redis.lock(self._lock_key, timeout=30, blocking_timeout=10)


def sealer_for(settings: EdgeAuthSettings) -> Sealer:
    """The sealer of every private key Vigil keeps: the KEK of edgeauth's settings, with its predecessors."""
    return Sealer(settings.key_encryption_key, settings.previous_key_encryption_keys)
