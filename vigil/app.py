"""App assembly: one FastAPI application per Vigil role, built from settings.

Each package hands over its routers; nothing here is domain logic.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from compliance import create_router as create_compliance_router
from compliance.transparency import create_router as create_transparency_router
from detections import HUNT_TASK, DetectionsCollector
from detections import create_router as create_detections_router
from edgeauth import DecisionBuffer, Guard, create_verify_router
from edgeauth.edge import EdgeRuntime
from edgeauth.issuer import build_issuer, create_issuer_router, install_issuer_pages
from edgeauth.issuer.federation import SignInButtons, build_federation, create_federation_router
from evidence import create_public_router as create_evidence_keys_router
from evidence import create_router as create_evidence_router
from siem import Pipeline
from siem.http import create_otlp_router, create_shipper_router
from siem.http import create_router as create_siem_router
from siem.inputs.decisions import AuthDecisionSink
from siem.metrics import PipelineCollector
from vigil import keyring
from vigil import services as local_services
from vigil.audit import audit_buffer
from vigil.clients import elasticsearch_client, redis_client
from vigil.compliance_runtime import build_compliance, build_transparency
from vigil.console import install_console
from vigil.console.registration import console_client
from vigil.console.store import SessionStore
from vigil.detections_runtime import build_detections
from vigil.indices import ensure_applied
from vigil.limits import RequestLimits
from vigil.observability import RequestIdMiddleware, configure_logging
from vigil.problems import install_error_answers
from vigil.settings import VigilSettings, load_settings
from vigil.worker import create_celery


def create_app(settings: VigilSettings, *, guard: Guard | None = None) -> FastAPI:
    """`guard` protects every API router; by default an edge verifier built from settings (tests pass their own)."""
    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a CDN. The schema stays at /openapi.json.
    app = FastAPI(title="Vigil", version="0.1.0", docs_url=None, redoc_url=None)
    ensure_applied(elasticsearch_client(settings), settings)
    # One handler renders every package's errors: problem details for the API, RFC 6749 JSON for OAuth, pages.
    errors = install_error_answers(app)
    siem_pipeline = Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    # One decision path: the guard, the console, /verify and the issuer all hand their decisions to one bounded,
    # non-blocking buffer draining into siem's `auth` dataset, so an attack on our own APIs is as visible as one
    # on the edge.
    decisions: DecisionBuffer
    if guard is None:
        edge = EdgeRuntime(settings.edgeauth, redis_client(settings), AuthDecisionSink(siem_pipeline))
        app.router.add_event_handler("startup", edge.start)
        app.router.add_event_handler("shutdown", edge.stop)
        guard = Guard(edge.verifier)
        decisions = edge.decisions
    else:
        # An injected guard (tests) brings its own verifier and buffer; the issuer still reports to siem.
        decisions = DecisionBuffer(
            AuthDecisionSink(siem_pipeline),
            capacity=settings.edgeauth.decision_buffer_size,
            batch_size=settings.edgeauth.decision_batch_size,
        )
        app.router.add_event_handler("startup", decisions.start)
        app.router.add_event_handler("shutdown", decisions.stop)
    # siem's counters live in Redis (shared by every worker); a private registry keeps one collector per app.
    siem_registry = CollectorRegistry(auto_describe=False)
    siem_registry.register(PipelineCollector(siem_pipeline))
    # Ingest needs only Redis; the worker installs the index templates and the consumer group at start.
    app.include_router(create_siem_router(guard, siem_pipeline))
    app.include_router(create_otlp_router(guard, siem_pipeline))
    # Limits before work: every body bounded while it streams, an anonymous one refused unread (vigil/limits.py).
    app.add_middleware(
        RequestLimits,
        verifier=guard.verifier,
        body_bytes=settings.max_body_bytes,
        ingest_bytes=settings.siem.max_request_bytes,
    )
    app.add_middleware(RequestIdMiddleware)
    # The OAuth 2.0 issuer (token, revocation, introspection, metadata, JWKS).
    # Its decisions (token grants, failed client authentication, ...) join the same buffer.
    # Every audited change made through this app (keys, clients, downloads, rules, triage, sign-ins) goes to siem's
    # `audit` dataset through one bounded buffer.
    audit = audit_buffer(settings, siem_pipeline)
    app.router.add_event_handler("startup", audit.start)
    app.router.add_event_handler("shutdown", audit.close)
    # "Sign in with <IdP>": the upstream providers of settings; the issuer asks them again at every refresh.
    federation = build_federation(settings.edgeauth, redis_client(settings), audit=audit)
    issuer = build_issuer(
        settings.edgeauth, redis_client(settings), decisions=decisions, audit=audit, upstream=federation
    )
    app.include_router(create_issuer_router(issuer))
    # People sign in here (OpenID Connect: authorize, login and consent pages, logout, userinfo).
    install_issuer_pages(app, issuer, guard=guard, upstreams=SignInButtons(federation))
    app.include_router(create_federation_router(federation, issuer))
    evidence_archive = keyring.evidence_archive(settings, audit)
    app.include_router(create_evidence_router(guard, evidence_archive))
    app.include_router(create_evidence_keys_router(evidence_archive))
    detections = build_detections(settings, audit)
    siem_registry.register(DetectionsCollector(detections.state))  # storms, counted in Redis like siem's
    # A hunt started over the API is a job a worker runs; the request only queues it.
    hunt_queue = create_celery(settings)
    detections.hunt_launcher = lambda job_id: hunt_queue.send_task(HUNT_TASK, args=[job_id])
    compliance = build_compliance(settings, audit, detections=detections)
    app.include_router(create_detections_router(guard, detections))
    app.include_router(create_compliance_router(guard, compliance))
    transparency = build_transparency(
        settings, audit, compliance=compliance, detections=detections, archive=evidence_archive
    )
    app.include_router(create_transparency_router(guard, transparency))
    # The console for people: the same verifier, checking the access token of the server-side session its cookie
    # names; people sign in through the issuer's own OpenID Connect code flow.
    console_sessions = SessionStore(
        redis_client(settings),
        settings.namespace,
        keyring.console_session_key(settings).value,
        idle_seconds=settings.console.idle_timeout_seconds,
        absolute_seconds=settings.console.absolute_timeout_seconds,
    )
    app.state.console_sessions = console_sessions
    install_console(
        app,
        verifier=guard.verifier,
        settings=settings.console,
        detections=detections,
        archive=evidence_archive,
        compliance=compliance,
        transparency=transparency,
        ingest=siem_pipeline,
        audit=audit,
        errors=errors,
        csrf_key=keyring.csrf_secret(settings).value,
        store=console_sessions,
        client=console_client(settings),
    )
    # The same verifier answers reverse proxies (nginx auth_request) on GET /verify.
    app.include_router(create_verify_router(guard.verifier))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(response: Response) -> dict[str, object]:
        statuses = local_services.status(settings)
        ready = all(s.healthy for s in statuses)
        response.status_code = 200 if ready else 503
        return {"ready": ready, "services": {s.name: s.health for s in statuses}}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest() + generate_latest(siem_registry), media_type=CONTENT_TYPE_LATEST)

    # Last: its `HEAD /{index}` and `GET /` must not shadow any other route.
    app.include_router(create_shipper_router(guard, siem_pipeline))

    return app


def app_from_environment() -> FastAPI:
    """Factory for `vigil serve` (uvicorn `--factory`): settings from `VIGIL_*`, JSON logs with request ids."""
    configure_logging()
    return create_app(load_settings())
