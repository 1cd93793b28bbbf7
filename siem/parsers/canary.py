"""Canary probe records (`canary` dataset) as ECS `web` events: `event.duration` in nanoseconds, `event.outcome`,
the tier and the clients the canary stands for under `vigil.canary`.

The record model is public (`siem.CanaryRecord`): the canary builds its records with it, so a malformed one never
leaves the producer; the parser validates it again, because the dedicated route takes records from outside too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from siem.errors import ParseError
from siem.parsers.records import compact, document


class CanaryRecord(BaseModel):
    """One probe of one canary run, as the canary reports it (validated again when parsed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="The probe's marker: also `http.request.id`.")
    timestamp: AwareDatetime
    canary: str = Field(min_length=1, max_length=200)
    tier: str = Field(min_length=1, max_length=200)
    clients: tuple[str, ...] = Field(min_length=1, max_length=100)
    client_id: str = Field(min_length=1, max_length=200, description="The canary's own OAuth client.")
    outcome: Literal["success", "failure"]
    duration_ns: int = Field(ge=0, description="Slowest request through the proxy and edge, in nanoseconds.")
    slow: bool = Field(description="Slower than the tier's latency objective (judged by the canary at the time).")
    latency_objective_ms: float = Field(gt=0)
    url: str = Field(max_length=8191)
    failed_step: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1024)


def parse_canary(record: str) -> dict[str, Any]:
    try:
        probe = CanaryRecord.model_validate_json(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise ParseError(f"canary record field {where}: {first['msg']}") from None
    verdict = "ok" if probe.outcome == "success" else f"failed at {probe.failed_step}: {probe.reason}"
    return document(
        probe.timestamp,
        event=compact(
            id=probe.id,
            kind="event",
            category=["web"],
            type=["info"],
            action="canary-probe",
            outcome=probe.outcome,
            reason=probe.reason,
            provider="vigil-canary",
            duration=probe.duration_ns,
        ),
        message=f"canary {probe.canary} ({probe.tier}): {verdict}",
        client=compact(id=probe.client_id),
        url=compact(original=probe.url),
        http=compact(request=compact(id=probe.id)),
        vigil=compact(
            canary=compact(
                name=probe.canary,
                tier=probe.tier,
                clients=list(probe.clients),
                step=probe.failed_step,
                slow=probe.slow,
                latency_objective_ms=probe.latency_objective_ms,
            )
        ),
    )
