"""Settings of the issuer (token endpoint, client registry, limits); nested as `EdgeAuthSettings.oauth`."""

from __future__ import annotations

from pydantic import BaseModel, Field

DEFAULT_SCOPES = (
    "ingest:write",
    "alerts:read",
    "alerts:triage",
    "rules:admin",
    "evidence:read",
    "compliance:read",
    "admin",
)


class IssuerSettings(BaseModel):
    scopes_supported: tuple[str, ...] = Field(
        default=DEFAULT_SCOPES, min_length=1, description="Every scope a client may be granted."
    )
    refresh_token_ttl: int = Field(
        default=86400, ge=60, le=90 * 86400, description="Lifetime of one refresh token, seconds."
    )
    refresh_family_ttl: int = Field(
        default=30 * 86400,
        ge=60,
        le=365 * 86400,
        description="Absolute lifetime of a refresh-token family (rotation never extends it), seconds.",
    )
    assertion_max_lifetime: int = Field(
        default=300, ge=30, le=3600, description="Longest `exp - now` accepted on a private_key_jwt assertion."
    )
    rate_limit_window: int = Field(default=60, ge=1, le=3600, description="Rate-limit window, seconds.")
    rate_limit_per_client: int = Field(
        default=120, ge=1, description="Token-endpoint requests per client id per window."
    )
    rate_limit_per_ip: int = Field(default=600, ge=1, description="Token-endpoint requests per source IP per window.")
    key_rotation_interval: int = Field(
        default=30 * 86400, ge=60, description="Age of the active signing key after which the scheduler rotates."
    )
    secret_scrypt_n: int = Field(
        default=2**14, ge=2**10, le=2**20, description="scrypt cost of new client-secret hashes (power of two)."
    )
    max_form_bytes: int = Field(default=16384, ge=1024, le=1048576, description="Largest accepted request body.")
