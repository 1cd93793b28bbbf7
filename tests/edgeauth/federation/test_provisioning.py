"""Who a federated person is here, from their upstream's claims: every refusal reason, and no claim set that makes
the decision fail any other way (Hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeauth.issuer.federation import ProvisioningRefused, provision_from_claims
from edgeauth.settings import UpstreamSettings

UPSTREAM = UpstreamSettings(
    name="corp",
    display_name="Example Corp",
    issuer="https://idp.corp.example/realms/vigil",
    client_id="vigil",
    client_secret="s3cret-value",
    role_mapping={"security-analysts": "analyst", "external-auditors": "auditor"},
    allowed_domains=frozenset({"corp.example", "Audit-Firm.example"}),
)
WINDOW = {"from": "2026-01-01T00:00:00+00:00", "to": "2027-01-01T00:00:00+00:00"}


def claims(**extra: Any) -> dict[str, Any]:
    return {
        "sub": "x",
        "email": "Ana.Lyst@corp.example",
        "email_verified": True,
        "groups": ["/security-analysts"],
    } | extra


def refused(reason: str, **extra: Any) -> ProvisioningRefused:
    with pytest.raises(ProvisioningRefused) as caught:
        provision_from_claims(UPSTREAM, claims(**extra))
    assert caught.value.reason == reason
    return caught.value


def test_an_analyst_gets_the_mapped_role_and_a_lower_case_name() -> None:
    person = provision_from_claims(UPSTREAM, claims(name="Ana Lyst"))
    assert person.username == "ana.lyst@corp.example"
    assert person.roles == {"analyst"}
    assert person.display_name == "Ana Lyst"
    assert person.engagement is None


def test_an_auditor_carries_the_engagement_as_an_object_or_as_json_text() -> None:
    for value in (WINDOW, '{"from": "2026-01-01T00:00:00+00:00", "to": "2027-01-01T00:00:00+00:00"}'):
        person = provision_from_claims(
            UPSTREAM, claims(email="otto@audit-firm.example", groups=["external-auditors"], engagement=value)
        )
        assert person.roles == {"auditor"}
        assert person.engagement is not None
        assert person.engagement[0].isoformat() == WINDOW["from"]


def test_a_nested_role_claim_is_read_by_its_dotted_path() -> None:
    upstream = UPSTREAM.model_copy(
        update={"role_claim": "realm_access.roles", "role_mapping": {"vigil-analyst": "analyst"}}
    )
    person = provision_from_claims(upstream, claims(realm_access={"roles": ["offline_access", "vigil-analyst"]}))
    assert person.roles == {"analyst"}


def test_each_refusal_names_its_reason() -> None:
    assert "mallory.example" in str(refused("domain_not_allowed", email="eve@mallory.example"))
    refused("domain_not_allowed", email="eve@corp.example.mallory.example")
    refused("domain_not_allowed", email="eve@sub.corp.example")
    refused("no_role", groups=["staff"])
    refused("no_role", groups=[])
    refused("no_email", email=None)
    refused("email_unverified", email_verified=False)
    refused("email_unverified", email_verified="true")
    refused("malformed_engagement", groups=["external-auditors"], engagement={"from": "yesterday"})
    refused("malformed_engagement", groups=["external-auditors"], engagement=dict(WINDOW, to=WINDOW["from"]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@given(
    email=json_values | st.emails(),
    verified=json_values,
    groups=json_values | st.lists(st.sampled_from(["security-analysts", "external-auditors", "/staff"])),
    engagement=json_values,
    name=json_values,
)
def test_any_claims_either_provision_or_refuse(
    email: Any, verified: Any, groups: Any, engagement: Any, name: Any
) -> None:
    raw = {"email": email, "email_verified": verified, "groups": groups, "engagement": engagement, "name": name}
    try:
        person = provision_from_claims(UPSTREAM, raw)
    except ProvisioningRefused as exc:
        reason = exc.reason
    else:
        reason = ""
    if reason:
        return
    assert person.username.rsplit("@", 1)[1] in UPSTREAM.allowed_domains
    assert person.roles
    assert verified is True


def test_settings_refuse_what_would_be_unsafe() -> None:
    with pytest.raises(ValueError, match="https"):
        UPSTREAM.model_validate(UPSTREAM.model_dump() | {"issuer": "http://idp.corp.example"})
    with pytest.raises(ValueError, match="openid"):
        UPSTREAM.model_validate(UPSTREAM.model_dump() | {"scopes": ("email",)})
    with pytest.raises(ValueError, match="allowed_domains"):
        UPSTREAM.model_validate(UPSTREAM.model_dump() | {"allowed_domains": frozenset()})
    assert "s3cret" not in repr(UPSTREAM)
