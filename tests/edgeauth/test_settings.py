"""EdgeAuthSettings refuses unsafe or inconsistent values and resolves per-route rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edgeauth import EdgeAuthSettings, RoutePolicy, ScopeRule


@pytest.mark.parametrize(
    "overrides",
    [
        {"leeway": 61},
        {"leeway": -1},
        {"issuer": "issuer.example"},
        {"audiences": ()},
        {"allowed_algorithms": ("HS256",)},
        {"allowed_algorithms": ("none",)},
        {"signing_algorithm": "ES256", "allowed_algorithms": ("RS256",)},
        {"max_staleness": 30, "jwks_refresh_interval": 60},
        {"max_staleness": 1, "jwks_refresh_interval": 0.5, "revocation_block_ms": 1000},
        {"max_token_bytes": 100},
        {"realm": 'a"b'},
    ],
)
def test_unsafe_or_inconsistent_values_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EdgeAuthSettings.model_validate(overrides)


def test_longest_route_prefix_sets_the_fail_policy() -> None:
    settings = EdgeAuthSettings(
        route_policies=[
            RoutePolicy(path_prefix="/public", fail="open"),
            RoutePolicy(path_prefix="/public/x", fail="closed"),
        ]
    )
    assert settings.fail_policy_for("/public/status") == "open"
    assert settings.fail_policy_for("/public/x/1") == "closed"
    assert settings.fail_policy_for("/api") == "closed"
    assert settings.fail_policy_for(None) == "closed"


def test_first_matching_scope_rule_wins() -> None:
    settings = EdgeAuthSettings(
        scope_rules=[
            ScopeRule(method="POST", path_prefix="/api/ingest", scopes=("ingest:write",)),
            ScopeRule(path_prefix="/api", scopes=("alerts:read",)),
        ]
    )
    assert settings.scopes_for("post", "/api/ingest/x") == ("ingest:write",)
    assert settings.scopes_for("GET", "/api/ingest/x") == ("alerts:read",)
    assert settings.scopes_for("GET", "/other") == ()


def test_nested_env_vars_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.settings import load_settings

    monkeypatch.setenv("VIGIL_EDGEAUTH__LEEWAY", "12")
    monkeypatch.setenv("VIGIL_EDGEAUTH__SCOPE_RULES", '[{"path_prefix": "/a", "scopes": ["x"]}]')
    settings = load_settings().edgeauth
    assert settings.leeway == 12
    assert settings.scopes_for("GET", "/a/b") == ("x",)
