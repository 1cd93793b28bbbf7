"""The ECS pipeline: webserver fields and keywords land on `.caseless` fields with lower-cased values."""

from __future__ import annotations

import pytest
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from detections.conversion.ecs import lower_regex
from detections.conversion.lucene import backend, to_lucene
from detections.errors import ConversionError


def _convert(detection: str, logsource: str = "category: webserver") -> str:
    text = f"""title: t
id: 11111111-2222-4333-8444-555555555555
logsource:
    {logsource}
detection:
{detection}
"""
    rule = SigmaCollection.from_yaml(text).rules[0]
    assert isinstance(rule, SigmaRule)
    return to_lucene(rule, backend())


def test_webserver_fields_map_to_caseless_ecs_and_values_are_lowercased() -> None:
    query = _convert(
        """    sel:
        cs-method: POST
        cs-uri-stem|contains: '/Admin'
        cs-uri-query|contains: 'Cmd='
        cs-user-agent|startswith: 'Mozilla'
        cs-referer|endswith: '.EXE'
        cs-host: 'Example.COM'
        sc-status: 500
        c-ip: 10.0.0.1
    condition: sel"""
    )
    assert "http.request.method.caseless:post" in query
    assert r"url.path.caseless:*\/admin*" in query
    assert r"url.original.caseless:*cmd\=*" in query
    assert "user_agent.original.caseless:mozilla*" in query
    assert r"http.request.referrer.caseless:*.exe" in query
    assert "url.domain.caseless:example.com" in query
    assert "http.response.status_code:500" in query
    assert "source.ip:10.0.0.1" in query
    assert not any(c.isupper() for c in query.replace("AND", "").replace("OR", "").replace("NOT", ""))


def test_cased_modifier_keeps_the_raw_field_and_value() -> None:
    query = _convert(
        """    sel:
        cs-user-agent|cased: 'EvilBot'
    condition: sel"""
    )
    assert query == "user_agent.original:EvilBot"


def test_application_keywords_search_the_exception_fields() -> None:
    query = _convert(
        """    keywords:
        - ActionController::BadRequest
    condition: keywords""",
        "category: application\n    product: ruby_on_rails",
    )
    for field in ("error.type", "error.message", "error.stack_trace", "message"):
        assert f"{field}.caseless:*actioncontroller" in query


def test_regex_values_are_lowercased_but_escapes_kept() -> None:
    assert lower_regex(r"Foo\WBar\S+[A-Z]") == r"foo\Wbar\S+[a-z]"
    query = _convert(
        """    sel:
        cs-host|re: 'ABC.{3}'
    condition: sel"""
    )
    assert query == "url.domain.caseless:/abc.{3}/"


def test_unmapped_field_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError, match="s-sitename"):
        _convert(
            """    sel:
        s-sitename: w3svc
    condition: sel"""
        )
