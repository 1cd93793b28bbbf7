"""Schemathesis over the whole OpenAPI of the real app (issue 13, item 5), with every role's token and with none.

Fails on any 5xx, on any answer whose body does not match the schema it documents, and on any operation that
answers 2xx without a token where the authorization matrix (tests/test_authorization.py) wants one. Bounded: a
few generated cases per operation (`MAX_EXAMPLES`) times the roles, so the run stays within minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.test_authorization import BROWSER_PAGES, EXPECTED, PUBLIC, ROLES
from vigil.app import create_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 3


@pytest.fixture(scope="module")
def app(settings: VigilSettings, es: Elasticsearch, edge_auth: Any) -> Iterator[FastAPI]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    named = settings.in_namespace(namespace)
    sealed = named.edgeauth.model_copy(update={"key_encryption_key": SecretStr("schemathesis-test-kek")})
    yield create_app(named.model_copy(update={"edgeauth": sealed}), guard=edge_auth.guard)
    names = list(es.options(ignore_status=404).indices.get(index=f"{namespace}*", expand_wildcards="all"))
    if names:
        es.options(ignore_status=404).indices.delete(index=",".join(names))


def exercise(operation: Any, expected: object, tokens: dict[str, dict[str, str]]) -> None:
    """A few generated requests of one operation, each sent as every role and as nobody."""

    @given(operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def calls(case: Any) -> None:
        for role, headers in tokens.items():
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            if ROLES[role] is None and expected != PUBLIC:
                assert not 200 <= response.status_code < 300, f"{case.method} {case.path} answered without a token"

    calls()


def test_every_operation_for_every_role(app: FastAPI, edge_auth: Any) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    tokens = {
        role: {} if scopes is None else {"Authorization": f"Bearer {edge_auth.token(scopes, subject=role)}"}
        for role, scopes in ROLES.items()
    }
    failures = []
    operations = 0
    for result in api.get_all_operations():
        operations += 1
        assert isinstance(result, Ok), f"the app's OpenAPI has an operation schemathesis cannot read: {result}"
        operation = result.ok()
        expected = EXPECTED.get((operation.method.upper(), operation.path))
        assert expected is not None, f"{operation.method} {operation.path} has no row in the authorization matrix"
        try:
            exercise(operation, expected, tokens)
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, report them at once
            failures.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {str(exc)[:600]}")
    documented = {key for key in EXPECTED if not key[1].startswith(BROWSER_PAGES)} - {("GET", "/openapi.json")}
    assert operations >= len(documented) - 5, f"only {operations} operations exercised"  # a few are undocumented
    assert not failures, "\n\n".join(failures)
