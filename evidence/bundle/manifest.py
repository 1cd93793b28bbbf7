"""The manifest of a bundle, as the verifier reads it (the writer emits the same shape, canonically).

The verifier validates the head (every member but `files`) as one model and each `files` entry on its own as it
streams through them, so a million-item manifest is never held as a million models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from evidence.models import Hex64


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManifestFile(_Strict):
    path: str = Field(min_length=1, max_length=512)
    sha256: Hex64
    size: int = Field(ge=0)


class ManifestGenerator(_Strict):
    name: str
    version: str


class ManifestLocker(_Strict):
    chain_file: str
    chain_head: Hex64
    first_prev_hash: Hex64
    first_sequence: int = Field(ge=1)
    last_sequence: int = Field(ge=1)


class ManifestPeriod(_Strict):
    from_: str = Field(alias="from")
    to: str


class ManifestSelection(_Strict):
    controls: list[str]
    stale_as_of: str
    stale_items: int = Field(ge=0)


class ManifestSignature(_Strict):
    alg: str
    file: str
    kid: str


class ManifestHead(_Strict):
    """Every member of the manifest except `files`."""

    format: str
    generator: ManifestGenerator
    items: int = Field(ge=0)
    locker: ManifestLocker
    period: ManifestPeriod
    selection: ManifestSelection
    signature: ManifestSignature
