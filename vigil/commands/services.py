"""`vigil services up | down | status [--json]`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vigil import services as local_services
from vigil.errors import ServiceError
from vigil.services import ServiceStatus
from vigil.settings import VigilSettings, load_settings

app = typer.Typer(help="Start, stop and inspect Elasticsearch, Redis (and Keycloak).", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def render(statuses: list[ServiceStatus], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([s.model_dump() for s in statuses], indent=2))
        return
    for s in statuses:
        mark = "ok " if s.healthy else "DOWN"
        version = s.version or "-"
        pid = f" pid={s.pid}" if s.pid else ""
        typer.echo(f"[{mark}] {s.name:<14} {s.health:<7} {version:<8} {s.mode:<8} {s.address}{pid} {s.detail}")
        for n in s.nodes:
            state = "up  " if n.up else "DOWN"
            master = " master" if n.master else ""
            npid = f" pid={n.pid}" if n.pid else ""
            typer.echo(f"       {state} {n.name:<20} {n.address:<21} roles={n.roles or '-'}{master}{npid}")


EsNodes = Annotated[
    int | None, typer.Option("--es-nodes", min=1, max=9, help="Elasticsearch nodes (VIGIL_ES_NODES) [default: 1].")
]


RedisReplicas = Annotated[
    int | None, typer.Option("--redis-replicas", min=0, max=4, help="Redis replicas (VIGIL_REDIS_REPLICAS).")
]
Sentinels = Annotated[int | None, typer.Option("--sentinels", min=0, max=7, help="Sentinels (VIGIL_REDIS_SENTINELS).")]
WithKeycloak = Annotated[
    bool,
    typer.Option(
        "--keycloak", help="Also Keycloak, the upstream IdP of federation tests (VIGIL_KEYCLOAK_URL, realm imported)."
    ),
]


def _settings(
    es_nodes: int | None = None, redis_replicas: int | None = None, sentinels: int | None = None
) -> VigilSettings:
    given = {"es_nodes": es_nodes, "redis_replicas": redis_replicas, "redis_sentinels": sentinels}
    return load_settings(**{k: v for k, v in given.items() if v is not None})


@app.command()
def up(
    as_json: JsonFlag = False,
    es_nodes: EsNodes = None,
    redis_replicas: RedisReplicas = None,
    sentinels: Sentinels = None,
    keycloak: WithKeycloak = False,
) -> None:
    """Start the local services that are not running (idempotent)."""
    settings = _settings(es_nodes, redis_replicas, sentinels)
    statuses = local_services.up(settings)
    if keycloak:
        statuses.append(local_services.keycloak(settings).up())
    render(statuses, as_json)


@app.command()
def down(es_nodes: EsNodes = None, redis_replicas: RedisReplicas = None, sentinels: Sentinels = None) -> None:
    """Stop the services this project started, every node and member (external servers are left alone)."""
    local_services.down(_settings(es_nodes, redis_replicas, sentinels))
    typer.echo("stopped")


@app.command()
def status(
    as_json: JsonFlag = False,
    es_nodes: EsNodes = None,
    redis_replicas: RedisReplicas = None,
    sentinels: Sentinels = None,
    keycloak: WithKeycloak = False,
) -> None:
    """Health, version, address and mode of each service (every node of a cluster); exit 1 when one is unhealthy."""
    settings = _settings(es_nodes, redis_replicas, sentinels)
    statuses = local_services.status(settings)
    if keycloak:
        statuses.append(local_services.keycloak(settings).status())
    render(statuses, as_json)
    unhealthy = [s.name for s in statuses if not s.healthy]
    if unhealthy:
        raise ServiceError(f"unhealthy: {', '.join(unhealthy)} (run `vigil services up`)")
