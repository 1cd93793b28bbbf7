"""The base of every compliance evidence payload (its own module: `evidence` and `sla` both build on it)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from evidence import canonical_json


class Payload(BaseModel):
    """Base of every evidence payload; `kind` is the collector name stored with the locker item."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]

    def canonical(self) -> bytes:
        """RFC 8785 bytes, the locker's own canonical form (so equal payloads are stored once)."""
        return canonical_json(self.model_dump(mode="json"))
