"""What `vigil services status` reports for one service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ServiceStatus(BaseModel):
    name: Literal["elasticsearch", "redis", "nginx"]
    mode: Literal["local", "external", "stopped"]
    address: str
    healthy: bool
    health: str
    version: str | None = None
    pid: int | None = None
    detail: str = ""
