"""Settings of the evidence package (a plain model: `vigil` reads the environment and injects it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EvidenceSettings(BaseModel):
    """Where the locker, its content and the bundles live, how bundles are built."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Names `{namespace}-evidence-*` indices and `{namespace}:evidence:*` keys. From VIGIL_NAMESPACE.",
    )
    store: Literal["elasticsearch"] = Field(
        default="elasticsearch",
        description="Where content and bundles live, shared by every replica: chunks in Elasticsearch.",
    )
    chunk_bytes: int = Field(
        default=1024 * 1024, ge=64 * 1024, le=16 * 1024 * 1024, description="Chunk size in the Elasticsearch store."
    )
    default_freshness_seconds: int = Field(
        default=7 * 86400, gt=0, description="Freshness window of an item whose collector gives none."
    )
    lock_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long an appender waits for the locker lock before giving up."
    )
    page_size: int = Field(default=1000, ge=10, le=10_000, description="Items per search_after page when streaming.")
    max_item_bytes: int = Field(default=2 * 1024**3, gt=0, description="Largest accepted content of one item.")
    max_bundle_bytes: int = Field(default=64 * 1024**3, gt=0, description="Largest bundle the store accepts.")
    compression_level: int = Field(
        default=6, ge=0, le=9, description="Deflate level of bundle entries; 0 stores them uncompressed."
    )
    max_manifest_bytes: int = Field(
        default=256 * 1024**2, gt=0, description="Largest manifest the verifier will read (hostile bundles)."
    )

    @property
    def locker_index(self) -> str:
        return f"{self.namespace}-evidence-locker"

    @property
    def bundle_index(self) -> str:
        return f"{self.namespace}-evidence-bundles"

    @property
    def content_index(self) -> str:
        return f"{self.namespace}-evidence-content"

    @property
    def bundle_file_index(self) -> str:
        return f"{self.namespace}-evidence-bundle-files"
