"""Content tests: every control mapping of the catalog checked at once, every offender named."""

from __future__ import annotations

import pytest

from compliance.catalog import load_catalog, parse_catalog
from compliance.checks import CHECKS, get_check
from compliance.collectors import COLLECTORS
from compliance.errors import CatalogError, ScopeError, UnknownCheckError
from compliance.evidence import PAYLOADS

CATALOG = load_catalog()


def test_every_control_maps_to_registered_checks_and_collectors() -> None:
    offenders: list[str] = []
    for control in CATALOG.controls:
        if not control.checks:
            offenders.append(f"{control.id}: no check")
        offenders.extend(f"{control.id}: check {c} is not registered" for c in control.checks if c not in CHECKS)
        offenders.extend(
            f"{control.id}: collector {c} does not exist" for c in control.collectors if c not in COLLECTORS
        )
    for check_id, spec in CATALOG.checks.items():
        if check_id not in CHECKS:
            offenders.append(f"check {check_id}: listed but not registered")
        offenders.extend(
            f"check {check_id}: collector {c} does not exist" for c in spec.collectors if c not in COLLECTORS
        )
    offenders.extend(
        f"check {c}: registered but no control uses it" for c in CHECKS if not CATALOG.controls_for_check(c)
    )
    offenders.extend(f"collector {c}: no payload model" for c in COLLECTORS if c not in PAYLOADS)
    offenders.extend(f"collector {c}: no control uses it" for c in COLLECTORS if not CATALOG.controls_for_collector(c))
    assert not offenders, "\n".join(offenders)


def test_both_frameworks_are_covered_and_checks_cross_walk() -> None:
    ids = {c.id for c in CATALOG.controls}
    assert {"CC6.1", "CC6.2", "CC6.3", "CC6.6", "CC6.7", "CC7.1", "CC7.2", "CC7.3", "CC7.4", "CC8.1"} <= ids
    assert {"A.5.15", "A.5.17", "A.5.28", "A.8.2", "A.8.5", "A.8.15", "A.8.16", "A.8.24"} <= ids
    one_sided = {
        check_id: frameworks
        for check_id in CATALOG.checks
        if (frameworks := {CATALOG.control(c).framework for c in CATALOG.controls_for_check(check_id)})
        != {"soc2", "iso27001"}
    }
    assert not one_sided, f"checks serving one framework only: {one_sided}"


def test_summaries_are_single_lines_of_our_own() -> None:
    for control in CATALOG.controls:
        assert "\n" not in control.summary
        assert len(control.summary) <= 160


def test_unregistered_check_id_fails() -> None:
    with pytest.raises(UnknownCheckError, match=r"no\.such"):
        get_check("no.such")


def test_catalog_naming_an_unknown_check_is_rejected() -> None:
    text = """
checks:
  keys.rotation_age: {title: "a check with a long enough title", collectors: [edgeauth.signing_keys]}
controls:
  - {id: CC6.1, framework: soc2, summary: "a summary that is long enough", checks: [keys.missing]}
"""
    with pytest.raises(CatalogError, match=r"CC6\.1: unknown check keys\.missing"):
        parse_catalog(text)


@pytest.mark.parametrize(
    "text",
    [
        "controls: [",
        "checks: {}\ncontrols:\n  - {id: A.5.15, framework: soc2, summary: a summary long enough, checks: [a.b]}",
        "checks: {}\ncontrols:\n  - {id: 'X', framework: soc2, summary: a summary long enough, checks: [a.b]}",
        "just a string",
    ],
)
def test_malformed_catalogs_raise_one_catalog_error(text: str) -> None:
    with pytest.raises(CatalogError):
        parse_catalog(text)


def test_scope_selects_controls_and_rejects_unknown_ids() -> None:
    chosen = CATALOG.in_scope(("A.8.15", "CC6.1"))
    assert [c.id for c in chosen] == ["CC6.1", "A.8.15"]
    assert CATALOG.in_scope(()) == CATALOG.controls
    assert "siem.ingestion" in CATALOG.collectors_for(chosen)
    with pytest.raises(ScopeError, match=r"CC9\.9"):
        CATALOG.in_scope(("CC6.1", "CC9.9"))
