"""Settings of edgeauth: a plain pydantic model; `vigil` nests it as `VIGIL_EDGEAUTH__*`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator

Algorithm = Literal["RS256", "ES256", "EdDSA"]
FailPolicy = Literal["closed", "open"]
HttpMethod = Annotated[str, Field(pattern=r"^(\*|GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$")]


class ScopeRule(BaseModel):
    """`GET /verify` requires `scopes` for requests whose method and path match (first match wins)."""

    method: HttpMethod = "*"
    path_prefix: str = Field(default="/", pattern=r"^/")
    scopes: tuple[str, ...] = ()
    case_sensitive: bool = Field(
        default=False,
        description="Match the path prefix by exact case; the default folds case, so `/ADMIN` meets an `/admin` "
        "rule (set true only when the upstream itself routes by exact case).",
    )

    def matches(self, method: str, path: str, folded: str) -> bool:
        if self.method not in ("*", method):
            return False
        return path.startswith(self.path_prefix) if self.case_sensitive else folded.startswith(self._folded_prefix)

    @property
    def _folded_prefix(self) -> str:
        return self.path_prefix.casefold()


class RoutePolicy(BaseModel):
    """What to do with requests under `path_prefix` once keys or revocations are staler than allowed."""

    path_prefix: str = Field(pattern=r"^/")
    fail: FailPolicy


DEFAULT_SCOPES = (
    "ingest:write",
    "ingest:auth",
    "ingest:audit",
    "ingest:canary",
    "alerts:read",
    "alerts:triage",
    "rules:admin",
    "hunt:run",
    "evidence:read",
    "compliance:read",
    "admin",
)


class IssuerSettings(BaseModel):
    """The issuer (token endpoint, client registry, limits); nested as `EdgeAuthSettings.oauth`."""

    # A mistyped or retired limit (the per-client-id rate limit was removed: anyone could trip it) must not be
    # silently ignored.
    model_config = ConfigDict(extra="forbid")

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
        default=3600,
        ge=30,
        le=86400,
        description="Longest `exp - now` accepted on a private_key_jwt assertion (authlib clients sign for 3600 s).",
    )
    rate_limit_window: int = Field(default=60, ge=1, le=3600, description="Request-rate sliding window, seconds.")
    rate_limit_per_ip: int = Field(
        # Sized for a fleet behind one NAT (docs/edgeauth.md, Throttling): a keyed-hash grant costs a few
        # milliseconds of CPU, so 50 a second from one address is about an eighth of one core.
        default=3000,
        ge=1,
        description="Token, revocation and introspection requests per source IP per window.",
    )
    failure_window: int = Field(
        default=300, ge=10, le=86400, description="Sliding window of failed client authentications, seconds."
    )
    failures_per_client_address: int = Field(
        default=10, ge=1, description="Failed authentications of one client id from one address before a lockout."
    )
    failures_per_address: int = Field(
        default=100, ge=1, description="Failed authentications from one address, any client id, before a lockout."
    )
    lockout_base: int = Field(default=30, ge=1, le=3600, description="First lockout, seconds; doubles per repeat.")
    lockout_max: int = Field(default=900, ge=1, le=86400, description="Longest lockout, seconds.")
    lockout_memory: int = Field(
        default=3600, ge=60, le=7 * 86400, description="How long a lockout counts towards the next one's doubling."
    )
    key_rotation_interval: int = Field(
        default=30 * 86400, ge=60, description="Age of the active signing key after which the scheduler rotates."
    )
    max_form_bytes: int = Field(default=16384, ge=1024, le=1048576, description="Largest accepted request body.")
    # People signing in (OpenID Connect): codes, ID tokens, the issuer's own browser session, the login page.
    authorization_code_ttl: int = Field(
        default=60, ge=10, le=600, description="Lifetime of an authorization code, seconds (one use)."
    )
    id_token_ttl: int = Field(default=300, ge=30, le=86400, description="Lifetime of an ID token, seconds.")
    person_session_ttl: int = Field(
        default=10 * 3600,
        ge=300,
        le=7 * 86400,
        description="A working day: absolute lifetime of a person's sign-in session at the issuer and of the "
        "refresh-token families it starts (rotation never extends it), seconds.",
    )
    pending_request_ttl: int = Field(
        default=900, ge=60, le=3600, description="How long a sign-in may take (login page to code), seconds."
    )
    consent_ttl: int = Field(
        default=90 * 86400, ge=60, description="How long a person's consent to a third-party client is remembered."
    )
    sso_cookie_name: str = Field(default="vigil_issuer_session", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    sso_cookie_insecure: bool = Field(
        default=False,
        description="Development only: send the issuer's session cookie over plain http (no `Secure` flag).",
    )
    login_failure_window: int = Field(
        default=900, ge=60, le=86400, description="Failed sign-ins of one (user name, address) counted over, s."
    )
    login_free_failures: int = Field(
        default=3, ge=1, le=100, description="Failed sign-ins of one (user name, address) before backoff starts."
    )
    login_backoff_base: int = Field(default=2, ge=1, le=600, description="First sign-in backoff, s; doubles.")
    login_backoff_max: int = Field(default=300, ge=1, le=3600, description="Longest sign-in backoff, seconds.")

    @model_validator(mode="after")
    def _lockouts(self) -> IssuerSettings:
        if self.lockout_max < self.lockout_base:
            raise ValueError("lockout_max must be at least lockout_base")
        return self


PersonRole = Literal["admin", "analyst", "auditor"]


class PeopleSettings(BaseModel):
    """The people directory: password hashing and policy, second factor; nested as `EdgeAuthSettings.people`."""

    model_config = ConfigDict(extra="forbid")

    # OWASP's argon2id baseline (m=19 MiB, t=2, p=1): memory-hard for a guesser, ~25 ms of one core per sign-in.
    argon2_time_cost: int = Field(default=2, ge=1, le=20, description="argon2id passes over memory (t).")
    argon2_memory_kib: int = Field(
        default=19456, ge=8192, le=4 * 1024 * 1024, description="argon2id memory per hash, KiB (m; 19 MiB)."
    )
    argon2_parallelism: int = Field(
        default=1, ge=1, le=16, description="argon2id lanes (p); above 1, one sign-in takes several cores."
    )
    password_min_length: int = Field(default=12, ge=8, le=128, description="Shortest accepted password, characters.")
    password_deny_list: Path | None = Field(
        default=None,
        description="A larger deny list (one password a line, UTF-8), checked besides the built-in common passwords.",
    )
    mfa_required_roles: frozenset[PersonRole] = Field(
        default=frozenset({"admin", "auditor"}),
        description="Roles that must sign in with a second factor; add `analyst` to require it of analysts too.",
    )
    totp_issuer: str = Field(
        default="Vigil", min_length=1, max_length=64, description="Issuer label shown in authenticator apps."
    )
    totp_valid_window: int = Field(
        default=1, ge=0, le=2, description="30-second steps accepted either side of now (clock skew)."
    )


#: Who an upstream identity provider may make of a federated person here: one of people's roles.
FederatedRole = PersonRole
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


class UpstreamSettings(BaseModel):
    """One upstream OpenID Connect provider people may sign in with ("Sign in with <display_name>")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="Short id, in the callback path.")
    display_name: str = Field(min_length=1, max_length=64, description='Shown on the button: "Sign in with ...".')
    issuer: str = Field(description="The upstream's exact `iss`; its discovery document is read from it.")
    client_id: str = Field(min_length=1, max_length=256)
    client_secret: SecretStr = Field(description="Vigil's client secret at the upstream (never logged or shown).")
    scopes: tuple[str, ...] = Field(default=("openid", "email", "profile"), min_length=1)
    role_claim: str = Field(
        default="groups", min_length=1, description="Claim holding groups or roles; `a.b` reads a nested one."
    )
    role_mapping: dict[str, FederatedRole] = Field(
        min_length=1, description="Upstream group or role value -> Vigil role; a person with none that maps is refused."
    )
    allowed_domains: frozenset[str] = Field(
        min_length=1, description="E-mail domains allowed to sign in (exact, lower case); any other is refused."
    )
    engagement_claim: str = Field(
        default="engagement",
        min_length=1,
        description='Claim with an auditor\'s engagement window: {"from": RFC 3339, "to": RFC 3339} (or its JSON).',
    )
    timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds for each call to the upstream.")

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        # Plain http only on loopback (a local test IdP): anywhere else the code and tokens would travel in clear.
        if value.startswith("https://") or value.startswith(tuple(f"http://{h}" for h in _LOOPBACK)):
            return value.rstrip("/")
        raise ValueError("must be an https:// URL (http:// only on loopback)")

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(d.strip().lower().lstrip("@") for d in value)

    @model_validator(mode="after")
    def _openid(self) -> UpstreamSettings:
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        return self


class FederationSettings(BaseModel):
    """Upstream identity providers; nested as `EdgeAuthSettings.federation` (`VIGIL_EDGEAUTH__FEDERATION__*`)."""

    model_config = ConfigDict(extra="forbid")

    upstreams: tuple[UpstreamSettings, ...] = Field(
        default=(), description="JSON list of upstreams (`VIGIL_EDGEAUTH__FEDERATION__UPSTREAMS`); empty: none."
    )
    flow_ttl: int = Field(default=600, ge=60, le=3600, description="Seconds a sign-in may spend at the upstream.")
    recheck_after: int = Field(
        default=5,
        ge=0,
        le=3600,
        description="A federated person vouched for this recently is not asked about again (the authorization "
        "right after a sign-in); every later refresh asks the upstream.",
    )

    @model_validator(mode="after")
    def _unique(self) -> FederationSettings:
        names = [u.name for u in self.upstreams]
        if len(names) != len(set(names)):
            raise ValueError("upstream names must be unique")
        return self


class EdgeAuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(default="http://127.0.0.1:8000", description="Exact `iss` of every token (no suffix match).")
    audiences: tuple[str, ...] = Field(default=("vigil",), min_length=1, description="Accepted `aud` values.")
    signing_algorithm: Algorithm = Field(default="RS256", description="Algorithm of newly generated keys.")
    allowed_algorithms: tuple[Algorithm, ...] = Field(default=("RS256", "ES256", "EdDSA"), min_length=1)
    access_token_ttl: int = Field(default=600, ge=30, le=86400, description="Access-token lifetime, seconds.")
    leeway: int = Field(default=30, ge=0, le=60, description="Clock skew tolerated on exp/nbf/iat (RFC 8725: <= 60 s).")
    max_token_bytes: int = Field(default=8192, ge=512, le=65536)
    token_cache_size: int = Field(
        default=50_000, ge=0, description="Verified-token cache entries, about 3 KB each (0 disables)."
    )
    max_staleness: float = Field(
        default=300.0, gt=0, description="Seconds keys and revocations may go unrefreshed before the fail policy."
    )
    fail_policy: FailPolicy = Field(default="closed", description="Default policy once state is stale.")
    route_policies: tuple[RoutePolicy, ...] = Field(default=(), description="Per path-prefix overrides (longest wins).")
    scope_rules: tuple[ScopeRule, ...] = Field(default=(), description="Scopes `GET /verify` requires per route.")
    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Every Redis key of edgeauth lives under `{namespace}:edgeauth`. From VIGIL_NAMESPACE.",
    )
    wait_replicas: int = Field(
        default=0, ge=0, description="Redis replicas that must hold a revocation before it is acknowledged (WAIT)."
    )
    wait_timeout_ms: int = Field(default=2000, ge=1, description="How long a revocation waits for those replicas.")
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="Passphrase sealing every secret Vigil keeps (signing keys, CSRF key, people's TOTP secrets).",
    )
    previous_key_encryption_keys: tuple[SecretStr, ...] = Field(
        default=(),
        description="Former key-encryption keys still accepted for opening; `vigil keys reseal` then drops the need.",
    )
    key_publish_lead: float = Field(
        default=120.0, ge=0, description="Seconds a next key is published before rotation may make it sign."
    )
    jwks_url: str | None = Field(default=None, description="Issuer JWKS URL; unset reads the key store in Redis.")
    jwks_refresh_interval: float = Field(default=60.0, gt=0, description="Background JWKS refresh period, seconds.")
    jwks_min_fetch_interval: float = Field(
        default=5.0, ge=0, description="At most one unknown-kid refetch per this many seconds."
    )
    unknown_kid_ttl: float = Field(default=60.0, ge=0, description="Seconds an unknown kid stays negatively cached.")
    revocation_block_ms: int = Field(default=1000, ge=10, le=30000, description="Stream wait per read, ms.")
    decision_buffer_size: int = Field(default=10_000, ge=1, description="Pending decision events before dropping.")
    decision_batch_size: int = Field(default=500, ge=1)
    realm: str = Field(default="vigil", pattern=r"^[\x20-\x21\x23-\x5b\x5d-\x7e]+$")
    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Networks of the proxies whose `X-Real-IP` / `X-Forwarded-For` name the client; anyone else's "
        "are ignored and the socket peer is the client (empty: never read them).",
    )
    oauth: IssuerSettings = Field(
        default_factory=IssuerSettings,
        description="The issuer: token endpoint, clients, limits (`VIGIL_EDGEAUTH__OAUTH__*`).",
    )
    people: PeopleSettings = Field(
        default_factory=PeopleSettings,
        description="People: passwords, deny list, second factor (`VIGIL_EDGEAUTH__PEOPLE__*`).",
    )
    federation: FederationSettings = Field(
        default_factory=FederationSettings,
        description="Upstream OpenID Connect providers (`VIGIL_EDGEAUTH__FEDERATION__*`).",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @property
    def key_prefix(self) -> str:
        """Prefix of every Redis key edgeauth writes, derived from the namespace."""
        return f"{self.namespace}:edgeauth"

    @model_validator(mode="after")
    def _consistent(self) -> EdgeAuthSettings:
        if self.signing_algorithm not in self.allowed_algorithms:
            raise ValueError("signing_algorithm must be one of allowed_algorithms")
        if self.jwks_refresh_interval >= self.max_staleness:
            # Otherwise a healthy verifier would turn stale between two scheduled refreshes.
            raise ValueError("jwks_refresh_interval must be shorter than max_staleness")
        if self.revocation_block_ms / 1000 >= self.max_staleness:
            raise ValueError("revocation_block_ms must be shorter than max_staleness")
        return self

    def fail_policy_for(self, path: str | None) -> FailPolicy:
        best: RoutePolicy | None = None
        for policy in self.route_policies:
            if (path or "").startswith(policy.path_prefix) and (
                best is None or len(policy.path_prefix) > len(best.path_prefix)
            ):
                best = policy
        return best.fail if best else self.fail_policy

    def scopes_for(self, method: str, path: str) -> tuple[str, ...]:
        """The scopes of the first rule matching a normalised method and path (`edgeauth.edge.request`)."""
        method, folded = method.upper(), path.casefold()
        for rule in self.scope_rules:
            if rule.matches(method, path, folded):
                return rule.scopes
        return ()
