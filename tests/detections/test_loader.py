"""Rule loading: bundled rules, user paths, and hostile or broken rules rejected with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from detections import DetectionsSettings, load_rules

GOOD = """title: Good Rule
id: 11111111-2222-4333-8444-555555555555
status: test
description: a fine rule
author: tests
date: 2026-11-29
logsource:
    category: webserver
detection:
    selection:
        cs-user-agent|contains: evilbot
    condition: selection
level: low
"""


def _rule(body: str, rule_id: str) -> str:
    return GOOD.replace("11111111-2222-4333-8444-555555555555", rule_id).replace("Good Rule", f"Rule {rule_id[:4]}")


HOSTILE = {
    "bomb.yml": "a: &a ['x','x','x','x','x','x','x','x','x','x']\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8)),
    "redos.yml": _rule(GOOD, "22222222-2222-4333-8444-555555555555").replace(
        "cs-user-agent|contains: evilbot", "cs-user-agent|re: '(a+)+$'"
    ),
    "modifier.yml": _rule(GOOD, "33333333-2222-4333-8444-555555555555").replace("|contains", "|sorta"),
    "huge.yml": _rule(GOOD, "44444444-2222-4333-8444-555555555555") + "# " + "x" * (1024 * 1024) + "\n",
    "deep.yml": "a: " + "[" * 200 + "]" * 200 + "\n",
    "notyaml.yml": "title: [unclosed\n",
    "list.yml": "- just\n- a list\n",
    "latin1.yml": "title: caf\xe9\n",
    "unmapped.yml": _rule(GOOD, "55555555-2222-4333-8444-555555555555").replace("cs-user-agent", "s-sitename"),
    "otherlog.yml": _rule(GOOD, "66666666-2222-4333-8444-555555555555").replace(
        "category: webserver", "category: process_creation"
    ),
}
EXPECTED_CODES = {
    "bomb.yml": "unsafe_yaml",
    "redos.yml": "unsafe_regex",
    "modifier.yml": "invalid_sigma",
    "huge.yml": "too_large",
    "deep.yml": "unsafe_yaml",
    "notyaml.yml": "invalid_yaml",
    "list.yml": "not_a_rule",
    "latin1.yml": "not_utf8",
    "unmapped.yml": "conversion",
    "otherlog.yml": "conversion",
}


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    for name, text in HOSTILE.items():
        data = text.encode("latin-1") if name == "latin1.yml" else text.encode()
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.yml").write_text(GOOD)
    return tmp_path


def test_bundled_rules_all_load_without_errors() -> None:
    ruleset = load_rules(DetectionsSettings())
    assert ruleset.errors == []
    titles = {r.info.title for r in ruleset.rules.values() if r.info.standalone}
    assert {
        "Edge Token With A Disallowed Algorithm (Alg Confusion)",
        "Token Forgery Attempts From One Source",
        "Revoked Token Replayed",
        "Credential Stuffing On The Token Endpoint",
        "Client Used A Scope It Never Used Before",
        "Vulnerability Scanner User Agent",
        "Burst Of One Exception Type",
        "Attack Payload Reached The Code",
    } <= titles
    kinds = {r.info.kind for r in ruleset.rules.values()}
    assert kinds == {"simple", "correlation", "new_terms"}


def test_every_hostile_rule_is_rejected_with_its_reason_and_the_good_one_still_loads(hostile_dir: Path) -> None:
    settings = DetectionsSettings(include_bundled=False, rule_paths=[hostile_dir])
    ruleset = load_rules(settings)
    assert [r.info.title for r in ruleset.rules.values()] == ["Good Rule"]
    by_file = {Path(f.source).name: f for f in ruleset.errors}
    wrong = {
        name: (by_file[name].code if name in by_file else None)
        for name, code in EXPECTED_CODES.items()
        if name not in by_file or by_file[name].code != code
    }
    assert not wrong, f"files with a missing or wrong finding: {wrong}"
    for finding in ruleset.errors:
        assert finding.message
        assert "\n" not in finding.message


def test_a_missing_rule_path_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    ruleset = load_rules(DetectionsSettings(include_bundled=False, rule_paths=[tmp_path / "nope"]))
    assert [f.code for f in ruleset.errors] == ["missing_path"]


def test_duplicate_ids_keep_the_first_rule(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(GOOD.replace("Good Rule", "Copy"))
    ruleset = load_rules(DetectionsSettings(include_bundled=False, rule_paths=[tmp_path]))
    assert [r.info.title for r in ruleset.rules.values()] == ["Good Rule"]
    assert [f.code for f in ruleset.errors] == ["duplicate_id"]


def test_sigma_validators_report_warnings_without_rejecting(tmp_path: Path) -> None:
    text = GOOD.replace("cs-user-agent|contains: evilbot", "cs-user-agent: '*evilbot*'")
    (tmp_path / "w.yml").write_text(text)
    ruleset = load_rules(DetectionsSettings(include_bundled=False, rule_paths=[tmp_path]))
    assert len(ruleset.rules) == 1
    warnings = [f for f in ruleset.findings if f.severity == "warning"]
    assert any("Wildcard" in f.message for f in warnings), warnings


def test_bad_vigil_extension_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text(GOOD + "vigil:\n    interval: -5\n")
    ruleset = load_rules(DetectionsSettings(include_bundled=False, rule_paths=[tmp_path]))
    assert ruleset.rules == {}
    assert ruleset.errors[0].code == "conversion"
    assert "vigil.interval" in ruleset.errors[0].message


def test_correlation_referencing_a_missing_rule_is_reported(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text(
        """title: Orphan
id: 77777777-2222-4333-8444-555555555555
correlation:
    type: event_count
    rules: [does_not_exist]
    group-by: [c-ip]
    timespan: 5m
    condition: {gte: 3}
level: high
"""
    )
    ruleset = load_rules(DetectionsSettings(include_bundled=False, rule_paths=[tmp_path]))
    assert ruleset.rules == {}
    assert ruleset.errors[0].rule_id == "77777777-2222-4333-8444-555555555555"
