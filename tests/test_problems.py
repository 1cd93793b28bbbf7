"""Errors to HTTP answers: every error class of every package, and every JSON route against hostile bodies.

The walk is data-driven over the classes that really exist: a new error class without a status or a public code,
or one that the API and the console would answer differently, fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, SecretStr

from edgeauth import EdgeAuthError
from edgeauth.issuer import ClientExists, ClientNotFound, RateLimited
from edgeauth.issuer.federation import FlowExpired, ForeignBrowser, ProvisioningRefused
from evidence.errors import BundleInvalidError
from evidence.rfc9110 import RangeNotSatisfiableError
from siem.errors import BackpressureError
from vigil.app import create_app
from vigil.problems import PACKAGE_ROOTS, Problem, install_error_answers
from vigil.settings import VigilSettings

PACKAGES = ("edgeauth", "siem", "evidence", "detections", "compliance", "vigil")
# Error classes whose constructor is not a single message.
BUILDERS: dict[type[Exception], Callable[[], Exception]] = {
    ClientNotFound: lambda: ClientNotFound("c-1"),
    ClientExists: lambda: ClientExists("c-1"),
    RateLimited: lambda: RateLimited("client", 7),
    BackpressureError: lambda: BackpressureError("queue above its high-water mark", 7),
    BundleInvalidError: lambda: BundleInvalidError(["manifest.json: digest mismatch"]),
    RangeNotSatisfiableError: lambda: RangeNotSatisfiableError(1000),
    FlowExpired: FlowExpired,
    ForeignBrowser: ForeignBrowser,
    ProvisioningRefused: lambda: ProvisioningRefused("disabled", "this account is disabled in Vigil"),
}
CODE = re.compile(r"^[a-z][a-z_]{2,40}$")
SURROGATE = b'"\\ud800"'


def error_classes() -> list[type[Exception]]:
    """Every subclass of a package error root, after importing every module so that none hides."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            importlib.import_module(module.name)
    found: set[type[Exception]] = set()
    pending: list[type[Exception]] = list(PACKAGE_ROOTS)
    while pending:
        kind = pending.pop()
        if kind not in found:
            found.add(kind)
            pending.extend(kind.__subclasses__())
    return sorted(found, key=lambda k: f"{k.__module__}.{k.__qualname__}")


def instance(kind: type[Exception]) -> Exception:
    build = BUILDERS.get(kind)
    return build() if build is not None else kind("something precise went wrong")


@pytest.fixture(scope="module")
def walk_app() -> FastAPI:
    """An app raising any error class by name, under an API path and under a page family."""
    app = FastAPI()
    errors = install_error_answers(app)
    by_name = {f"{k.__module__}.{k.__qualname__}": k for k in error_classes()}

    def page(request: Request, problem: Problem, exc: Exception) -> Response:
        return HTMLResponse(f"<p>{problem.error}</p>", status_code=problem.status, headers=dict(problem.headers))

    errors.render_pages_under("/pages", page)

    @app.get("/api/{name}")
    @app.get("/pages/{name}")
    def raise_it(name: str) -> None:
        raise instance(by_name[name])

    return app


@pytest.mark.parametrize("kind", error_classes(), ids=lambda k: f"{k.__module__}.{k.__qualname__}")
def test_every_error_class_answers_its_own_status_and_code(walk_app: FastAPI, kind: type[Exception]) -> None:
    status, code = getattr(kind, "status_code", None), getattr(kind, "error", None)
    assert isinstance(status, int), f"{kind.__qualname__}: status_code {status!r}"
    assert 400 <= status <= 599, f"{kind.__qualname__}: status_code {status!r}"
    assert isinstance(code, str), f"{kind.__qualname__}: error {code!r}"
    assert CODE.match(code), f"{kind.__qualname__}: error {code!r}"
    name = f"{kind.__module__}.{kind.__qualname__}"
    client = TestClient(walk_app, raise_server_exceptions=True)
    api, page = client.get(f"/api/{name}"), client.get(f"/pages/{name}")
    assert api.status_code == page.status_code == status
    assert page.text == f"<p>{code}</p>"
    body = api.json()
    if issubclass(kind, EdgeAuthError):
        # OAuth 2.0 fixes the body of its errors (RFC 6749 section 5.2).
        assert api.headers["content-type"] == "application/json"
        assert body["error"] == code
        assert body["error_description"]
    else:
        assert api.headers["content-type"] == "application/problem+json"
        assert body == {
            "type": "about:blank",
            "title": body["title"],
            "status": status,
            "detail": str(instance(kind)),
            "error": code,
        }
    if hasattr(instance(kind), "retry_after"):
        assert api.headers["retry-after"] == page.headers["retry-after"] == "7"


# ------------------------------------------------------------------------------------------------------------------
# Every JSON route of the real app: a lone surrogate, wrong types, or junk never gives a 5xx and is never echoed.

ALL_SCOPES = frozenset(
    {
        "admin",
        "rules:admin",
        "alerts:read",
        "alerts:triage",
        "evidence:read",
        "compliance:read",
        "ingest:write",
    }
)


@pytest.fixture(scope="module")
def app(settings: VigilSettings, es: Elasticsearch, edge_auth: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    named = settings.in_namespace(prefix)
    evidence = named.evidence
    sealed = named.edgeauth.model_copy(update={"key_encryption_key": SecretStr("problems-test-kek")})
    yield create_app(named.model_copy(update={"edgeauth": sealed}), guard=edge_auth.guard)
    for index in (evidence.locker_index, evidence.bundle_index, evidence.content_index, evidence.bundle_file_index):
        es.options(ignore_status=404).indices.delete(index=index)


def json_routes(app: FastAPI) -> Iterator[tuple[str, Any]]:
    """(method, route) of every mounted route with a JSON body, routers included lazily by FastAPI as well."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            candidates = getattr(route, "effective_candidates", None)
            if callable(candidates):
                yield from candidates()
            elif hasattr(route, "routes"):
                yield from walk(route.routes)
            else:
                yield route

    for route in walk(list(app.routes)):
        if getattr(route, "body_field", None) is not None:
            for method in sorted(route.methods):
                yield method, route


def hostile_bodies(route: Any) -> list[bytes]:
    """A lone surrogate as every field, as a key, inside a list; wrong types; bytes that are not JSON at all."""
    assert route.body_field is not None
    model = route.body_field.field_info.annotation
    fields = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    aliases = [model.model_fields[f].alias or f for f in fields] if fields else []
    every = b"{" + b",".join(json.dumps(a).encode() + b":" + SURROGATE for a in aliases) + b"}"
    listed = b"{" + b",".join(json.dumps(a).encode() + b":[" + SURROGATE + b"]" for a in aliases) + b"}"
    return [
        every,
        listed,
        b"{" + SURROGATE + b":" + SURROGATE + b"}",
        b"[" + SURROGATE + b"]",
        SURROGATE,
        b'{"ids": [' + SURROGATE + b"]}",
        b"\xff\xfe not json",
        b"{" * 5000,
    ]


@pytest.mark.integration
def test_every_json_route_answers_hostile_bodies_without_5xx_or_echo(app: FastAPI, edge_auth: Any) -> None:
    routes = list(json_routes(app))
    assert len(routes) >= 7, f"expected the JSON routes of the app, found {[r.path for _, r in routes]}"
    token = edge_auth.token(ALL_SCOPES, subject="hostile-1")
    client = TestClient(app, raise_server_exceptions=False)
    failures = []
    for method, route in routes:
        url = re.sub(r"\{(\w+)(?::\w+)?\}", "sample", route.path)
        for body in hostile_bodies(route):
            response = client.request(
                method,
                url,
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            where = f"{method} {route.path} {body[:40]!r}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif "\\ud800" in response.text or "\udcff" in response.text:
                failures.append(f"{where}: the answer echoes the input: {response.text[:200]}")
            elif response.status_code == 422:
                problem = response.json()
                if response.headers["content-type"] != "application/problem+json" or problem["status"] != 422:
                    failures.append(f"{where}: not a problem document: {response.text[:200]}")
    assert not failures, "\n".join(failures)
