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
    """Every member of an evidence bundle's manifest except `files`."""

    format: str
    generator: ManifestGenerator
    items: int = Field(ge=0)
    locker: ManifestLocker
    period: ManifestPeriod
    selection: ManifestSelection
    signature: ManifestSignature


class ManifestReport(_Strict):
    client: str = Field(min_length=1, max_length=256)
    file: str


class ReportManifestHead(_Strict):
    """Every member of a signed report's manifest except `files`: the document, whom it is about, its period."""

    format: str
    generator: ManifestGenerator
    period: ManifestPeriod
    report: ManifestReport
    signature: ManifestSignature
