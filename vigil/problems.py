"""Errors to HTTP answers: the one exception handler of a Vigil app.

Every package's errors carry their HTTP status (`status_code`) and public code (`error`) as class attributes, next to
their definition in the package's `errors.py`. Routes and domain code only raise. This module reads those two
attributes (and nothing else) into a `Problem`, then renders it in the form the caller speaks:

- API routes: RFC 9457 problem details (`application/problem+json`) with the public code as the `error` member;
- edgeauth's OAuth endpoints: RFC 6749 section 5.2 JSON, which that protocol fixes (`edgeauth.issuer.oauth_error`);
- console pages: the console's error page, registered with `render_pages_under`, from the same `Problem`;
- siem's Elasticsearch-compatible routes (tagged `siem.http.ELASTICSEARCH_TAG`): Elasticsearch's own error body,
  since shippers' Elasticsearch clients read that and cannot decode problem details.

Third-party errors that reach a route are translated here once (pydantic validation, Elasticsearch), and FastAPI's
request validation is answered without echoing the input: the default handler sends the raw body back, and a lone
surrogate in it made the answer unencodable (a 500). Adding an error class: give it `status_code` and `error`;
`tests/test_problems.py` fails on a class whose attributes are missing or render differently on API and console.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from elasticsearch import ApiError, TransportError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from compliance import ComplianceError
from detections import DetectionsError
from edgeauth import EdgeAuthError
from edgeauth.issuer import oauth_error
from edgeauth.people import PeopleError
from evidence import EvidenceError
from siem import SiemError
from siem.http import ELASTICSEARCH_TAG
from vigil.errors import VigilError

log = logging.getLogger(__name__)

# The error roots whose classes carry `status_code` and `error`, and the third-party errors translated here.
PACKAGE_ROOTS: tuple[type[Exception], ...] = (
    EdgeAuthError,
    PeopleError,
    SiemError,
    EvidenceError,
    DetectionsError,
    ComplianceError,
    VigilError,
)
TRANSLATED: tuple[type[Exception], ...] = (RequestValidationError, ValidationError, ApiError, TransportError)
# Bounds on what a validation answer repeats from the schema's view of the input (locations can hold body keys).
MAX_REPORTED_ERRORS = 20
MAX_LOCATION_PART = 64


@dataclass(frozen=True)
class Problem:
    """What an error means to a caller, independent of how it is rendered."""

    status: int
    error: str
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)
    # Request validation only: every failed field as {"loc", "msg", "type"}, never the value that failed.
    errors: Sequence[Mapping[str, Any]] = ()

    def body(self) -> dict[str, Any]:
        """RFC 9457 members (`type` about:blank: the status says it all) plus Vigil's `error` code."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            "error": self.error,
        }
        if self.errors:
            body["errors"] = list(self.errors)
        return body


class ProblemResponse(Response):
    """`application/problem+json`, ASCII-escaped so that no text (lone surrogates included) can fail to encode."""

    media_type = "application/problem+json"

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.body(), status_code=problem.status, headers=dict(problem.headers))

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def problem_of(exc: Exception) -> Problem:
    """The `Problem` for any error this module handles (see `PACKAGE_ROOTS` and `TRANSLATED`)."""
    if isinstance(exc, RequestValidationError):
        return _request_validation(exc)
    if isinstance(exc, ValidationError):
        first = exc.errors(include_input=False)[0]
        return Problem(422, "invalid_request", f"{_location(first['loc'], 'value')}: {first['msg']}")
    if isinstance(exc, ApiError | TransportError):
        return Problem(503, "search_unavailable", f"the search cluster did not answer ({type(exc).__name__}); retry")
    status, error = int(getattr(exc, "status_code", 500)), str(getattr(exc, "error", "internal_error"))
    # An error may name headers its status needs (416's Content-Range); they are plain strings or ignored.
    stated = getattr(exc, "headers", None)
    headers = (
        {k: v for k, v in stated.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(stated, dict)
        else {}
    )
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    return Problem(status, error, str(exc), headers)


PageRenderer = Callable[[Request, Problem, Exception], Response]


class ErrorAnswers:
    """The app's single exception handler: one `Problem`, rendered for the API, OAuth or a page family."""

    def __init__(self) -> None:
        self._pages: list[tuple[str, PageRenderer]] = []
        self._tagged: list[tuple[str, PageRenderer]] = []

    def render_pages_under(self, prefix: str, renderer: PageRenderer) -> None:
        """Errors raised under `prefix` (a path like `/console`) become pages drawn by `renderer`."""
        self._pages.append((prefix.rstrip("/"), renderer))

    def render_routes_tagged(self, tag: str, renderer: PageRenderer) -> None:
        """Errors raised by routes carrying OpenAPI tag `tag` are drawn by `renderer`."""
        self._tagged.append((tag, renderer))

    def install(self, app: FastAPI) -> None:
        for kind in PACKAGE_ROOTS + TRANSLATED:
            app.add_exception_handler(kind, self.answer)

    async def answer(self, request: Request, exc: Exception) -> Response:
        problem = problem_of(exc)
        if problem.status >= 500:
            log.warning("answered %s %s: %s", problem.status, problem.error, type(exc).__name__)
        tags = getattr(request.scope.get("route"), "tags", None) or ()
        for tag, renderer in self._tagged:
            if tag in tags:
                return renderer(request, problem, exc)
        path = request.url.path
        for prefix, renderer in self._pages:
            if path == prefix or path.startswith(prefix + "/"):
                return renderer(request, problem, exc)
        if isinstance(exc, EdgeAuthError):
            return oauth_error(exc)
        return ProblemResponse(problem)


def install_error_answers(app: FastAPI) -> ErrorAnswers:
    """Install the one handler on `app` (tests that mount a single package's router call this too)."""
    answers = ErrorAnswers()
    answers.render_routes_tagged(ELASTICSEARCH_TAG, elasticsearch_error)
    answers.install(app)
    return answers


def elasticsearch_error(request: Request, problem: Problem, exc: Exception) -> Response:
    """Elasticsearch's error body (`error.type`, `error.reason`, `status`), which its clients decode and raise."""
    cause = {"type": problem.error, "reason": problem.detail}
    body = {"error": {"root_cause": [cause], **cause}, "status": problem.status}
    return Response(
        json.dumps(body, ensure_ascii=True, separators=(",", ":")),
        status_code=problem.status,
        headers=dict(problem.headers),
        media_type="application/json",
    )


def _request_validation(exc: RequestValidationError) -> Problem:
    reported = [
        {
            "loc": [_location_part(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "invalid")),
            "type": str(error.get("type", "value_error")),
        }
        for error in list(exc.errors())[:MAX_REPORTED_ERRORS]
    ]
    if not reported:
        return Problem(422, "invalid_request", "the request is not valid")
    first = reported[0]
    detail = f"{_location(first['loc'], 'request')}: {first['msg']}"
    if len(exc.errors()) > 1:
        detail += f" (and {len(exc.errors()) - 1} more)"
    return Problem(422, "invalid_request", detail, errors=reported)


def _location(loc: Sequence[Any], default: str) -> str:
    return ".".join(str(_location_part(part)) for part in loc) or default


def _location_part(part: Any) -> str | int:
    # A location can name a key the client sent (extra fields, dict keys): keep it short and printable.
    if isinstance(part, int):
        return part
    text = str(part)
    printable = "".join(ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else "?" for ch in text)
    return printable[:MAX_LOCATION_PART]
