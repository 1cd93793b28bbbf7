"""What `vigil services status` reports for one service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class NodeStatus(BaseModel):
    """One Elasticsearch node as the cluster sees it (`_cat/nodes`), or a local node that is not in it."""

    name: str
    address: str
    roles: str = ""
    master: bool = False
    up: bool = True
    pid: int | None = None


class ServiceStatus(BaseModel):
    name: Literal["elasticsearch", "redis", "nginx", "keycloak"]
    mode: Literal["local", "external", "stopped"]
    address: str
    healthy: bool
    health: str
    version: str | None = None
    pid: int | None = None
    detail: str = ""
    nodes: list[NodeStatus] = []
