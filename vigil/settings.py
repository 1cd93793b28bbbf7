"""Vigil's settings: one pydantic-settings model read from `VIGIL_*` variables and an optional `.env`.

Settings are built explicitly (`load_settings()`), never at import time, so tests and the CLI choose
where they come from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from compliance import ComplianceSettings
from detections import DetectionsSettings
from edgeauth import EdgeAuthSettings
from evidence import EvidenceSettings
from siem import SiemSettings
from vigil.canary import CanarySettings
from vigil.console.settings import ConsoleSettings
from vigil.errors import ConfigurationError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

#: The package settings that derive their names from `namespace`.
NAMESPACED = ("edgeauth", "siem", "evidence", "detections", "compliance")

Port = Annotated[int, Field(ge=1, le=65535)]


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


class VigilSettings(BaseSettings):
    """Everything a Vigil process needs to find its services."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(default=Path(".vigil"), description="Working folder: downloads, data, logs, pids.")
    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="The one name every index, alias, template, Redis key and stream of Vigil derives from.",
    )

    es_url: str = Field(
        default="http://127.0.0.1:9200",
        description="Elasticsearch URL. A loopback URL that does not answer gets a local server started on its port.",
    )
    es_api_key: SecretStr | None = Field(default=None, description="API key for an external cluster.")
    es_ca_certs: Path | None = Field(default=None, description="CA bundle for an external cluster over TLS.")
    es_version: str = Field(default="9.5.4", pattern=r"^\d+\.\d+\.\d+$")
    es_sha256: str = Field(
        default="d9b0c28e08e499f6510b52ad66ec4bf9cdceab97cc28b3456989b8744b896934",
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the pinned integ-test zip; the download is refused if it differs.",
    )
    es_heap: str = Field(default="2g", pattern=r"^\d+[mg]$", description="JVM heap of the local node.")
    es_user: str = Field(
        default="vigil-es", description="Unprivileged account that runs Elasticsearch when Vigil runs as root."
    )
    es_start_timeout: float = Field(default=120.0, gt=0)
    es_nodes: int = Field(
        default=1, ge=1, le=9, description="Nodes of the local cluster; node i answers HTTP on the URL's port + i."
    )
    es_transport_port: Port = Field(
        default=9300, description="Transport port of the first node of a local multi-node cluster (+ i per node)."
    )
    es_node_heap: str = Field(
        default="1g", pattern=r"^\d+[mg]$", description="JVM heap of each node of a local multi-node cluster."
    )
    es_shards: int = Field(default=1, ge=1, description="Primary shards of every index Vigil creates.")
    es_replicas: int | None = Field(
        default=None,
        ge=0,
        description="Replicas of every index; unset: 1 when the cluster has >= 2 data nodes, else 0.",
    )

    redis_url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6391/0"),
        description="Redis URL. A loopback URL that does not answer gets a local redis-server on its port.",
    )
    redis_appendfsync: str = Field(
        default="always",
        pattern=r"^(always|everysec)$",
        description="AOF fsync policy of the local Redis: `always` loses no acknowledged write, even on kill -9.",
    )

    redis_replicas: int = Field(
        default=0, ge=0, le=4, description="Local replicas of the Redis primary, on the URL's port + i."
    )
    redis_sentinels: int = Field(
        default=0, ge=0, le=7, description="Local Sentinels watching the primary, on `redis_sentinel_port` + i."
    )
    redis_sentinel_port: Port = Field(default=26379, description="Port of the first local Sentinel.")
    redis_sentinel_hosts: str = Field(
        default="",
        pattern=r"^([^,:\s]+:\d+(,[^,:\s]+:\d+)*)?$",
        description="External Sentinels `host:port,host:port`; clients then ask them for the primary.",
    )
    redis_master_name: str = Field(default="vigil", pattern=r"^[A-Za-z0-9_.-]+$", description="Sentinel's name.")

    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest request body of a JSON or form route (ingest routes use VIGIL_SIEM__MAX_REQUEST_BYTES).",
    )

    java_home: Path | None = Field(
        default=None, description="JDK for Elasticsearch and Keycloak (else JAVA_HOME, /usr/lib/jvm)."
    )

    keycloak_url: str = Field(
        default="http://127.0.0.1:8380",
        description="Keycloak for federation tests and benchmarks (`vigil services up --keycloak`); loopback only.",
    )
    keycloak_management_port: Port = Field(
        default=9380, description="Keycloak's management interface (health) port; never its default 9000."
    )
    keycloak_version: str = Field(default="26.7.3", pattern=r"^\d+\.\d+\.\d+$")
    keycloak_sha256: str = Field(
        default="27a6535553c3cdcd083872ba40629efafb3475e3b758e0c6f691395561dd0f1f",
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the pinned keycloak-quarkus-dist zip; the download is refused if it differs.",
    )
    keycloak_heap: str = Field(default="512m", pattern=r"^\d+[mg]$", description="JVM heap of the local Keycloak.")
    keycloak_start_timeout: float = Field(default=240.0, gt=0)
    keycloak_realm_file: Path | None = Field(
        default=Path("tests/fixtures/keycloak/vigil-realm.json"),
        description="Realm imported at start (`--import-realm`); relative to the working folder.",
    )

    edgeauth: EdgeAuthSettings = Field(default_factory=EdgeAuthSettings)
    siem: SiemSettings = Field(default_factory=SiemSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    detections: DetectionsSettings = Field(default_factory=DetectionsSettings)
    compliance: ComplianceSettings = Field(default_factory=ComplianceSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    canary: CanarySettings = Field(default_factory=CanarySettings)
    rule_paths: str = Field(
        default="",
        description="Extra Sigma rule folders or files for detections, separated by ':' (VIGIL_RULE_PATHS).",
    )

    @model_validator(mode="after")
    def _one_namespace(self) -> VigilSettings:
        """Hand the namespace to every package, so their names can never disagree."""
        for name in NAMESPACED:
            package = getattr(self, name)
            if "namespace" in package.model_fields_set and package.namespace != self.namespace:
                raise ValueError(f"VIGIL_{name.upper()}__NAMESPACE is not a setting: set VIGIL_NAMESPACE")
        self._spread()
        if self.sentinels or self.redis_replicas:
            self.acknowledge_on_a_replica()
        return self

    def acknowledge_on_a_replica(self) -> None:
        """Replicas exist: ingest batches and revocations are acknowledged only once one of them holds them."""
        if "wait_replicas" not in self.siem.model_fields_set:
            self.siem = self.siem.model_copy(update={"wait_replicas": 1})
        if "wait_replicas" not in self.edgeauth.model_fields_set:
            self.edgeauth = self.edgeauth.model_copy(update={"wait_replicas": 1})

    def _spread(self) -> None:
        for name in NAMESPACED:
            setattr(self, name, getattr(self, name).model_copy(update={"namespace": self.namespace}))

    def in_namespace(self, namespace: str) -> VigilSettings:
        """A copy whose every name derives from `namespace`: how tests and drills run beside production data."""
        copy = self.model_copy(update={"namespace": namespace})
        copy._spread()
        return copy

    @field_validator("es_url", "keycloak_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @property
    def es_port(self) -> int:
        return urlsplit(self.es_url).port or (443 if self.es_url.startswith("https") else 9200)

    @property
    def keycloak_port(self) -> int:
        return urlsplit(self.keycloak_url).port or 80

    @property
    def redis_port(self) -> int:
        return urlsplit(self.redis_url.get_secret_value()).port or 6379

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """Where clients ask for the current primary; empty: connect to `redis_url` directly."""
        if self.redis_sentinel_hosts:
            pairs = [item.rsplit(":", 1) for item in self.redis_sentinel_hosts.split(",")]
            return [(host, int(port)) for host, port in pairs]
        return [("127.0.0.1", self.redis_sentinel_port + i) for i in range(self.redis_sentinels)]

    @property
    def redis_address(self) -> str:
        """The Redis address without credentials, safe to print."""
        parts = urlsplit(self.redis_url.get_secret_value())
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def load_settings(**overrides: object) -> VigilSettings:
    """Build the settings, turning a validation failure into one line naming the variable."""
    try:
        return VigilSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:
            raise ConfigurationError(message) from None
        field = "__".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"VIGIL_{field.upper()}: {message}") from None
