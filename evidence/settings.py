"""Settings of the evidence package (a plain model: `vigil` reads the environment and injects it)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class EvidenceSettings(BaseModel):
    """Where the locker lives, how bundles are built and signed."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Names `{namespace}-evidence-*` indices and `{namespace}:evidence:*` keys. From VIGIL_NAMESPACE.",
    )
    data_dir: Path = Field(
        default=Path(".vigil/evidence"),
        description="Folder of the evidence content files (`content/`) and the built bundles (`bundles/`).",
    )
    key_dir: Path | None = Field(
        default=None, description="Folder of the bundle signing keys; default `{data_dir}/keys`. Keep it private."
    )
    key_passphrase: SecretStr | None = Field(
        default=None,
        description="When set, private signing keys are stored encrypted with it (OpenSSH format, bcrypt KDF).",
    )
    default_freshness_seconds: int = Field(
        default=7 * 86400, gt=0, description="Freshness window of an item whose collector gives none."
    )
    lock_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long an appender waits for the locker lock before giving up."
    )
    page_size: int = Field(default=1000, ge=10, le=10_000, description="Items per search_after page when streaming.")
    max_item_bytes: int = Field(default=2 * 1024**3, gt=0, description="Largest accepted content of one item.")
    compression_level: int = Field(
        default=6, ge=0, le=9, description="Deflate level of bundle entries; 0 stores them uncompressed."
    )
    max_manifest_bytes: int = Field(
        default=256 * 1024**2, gt=0, description="Largest manifest the verifier will read (hostile bundles)."
    )

    @property
    def content_dir(self) -> Path:
        return self.data_dir / "content"

    @property
    def bundle_dir(self) -> Path:
        return self.data_dir / "bundles"

    @property
    def signing_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"

    @property
    def locker_index(self) -> str:
        return f"{self.namespace}-evidence-locker"

    @property
    def bundle_index(self) -> str:
        return f"{self.namespace}-evidence-bundles"
