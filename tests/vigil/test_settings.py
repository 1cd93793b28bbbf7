from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from siem import IndexLayout
from vigil.errors import ConfigurationError, JavaNotFoundError
from vigil.services.java import find_java
from vigil.settings import load_settings


def test_defaults_are_loopback_services(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("VIGIL_")]:
        monkeypatch.delenv(name)
    settings = load_settings(_env_file=None)
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.es_port == 9200
    assert settings.redis_port == 6391


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("es_url", "ftp://example", "VIGIL_ES_URL"),
        ("redis_url", "http://127.0.0.1:6379", "VIGIL_REDIS_URL"),
        ("es_heap", "lots", "VIGIL_ES_HEAP"),
        ("redis_appendfsync", "no", "VIGIL_REDIS_APPENDFSYNC"),
        ("es_version", "latest", "VIGIL_ES_VERSION"),
    ],
)
def test_a_wrong_value_is_named_in_one_line(field: str, value: str, variable: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**{field: value})
    message = str(caught.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ES_URL", "https://es.internal:9243/")
    assert load_settings().es_url == "https://es.internal:9243"
    assert load_settings().es_port == 9243


def test_one_namespace_names_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_NAMESPACE", "acme")
    settings = load_settings()
    names = [
        settings.siem.stream_key,
        settings.siem.group,
        IndexLayout(settings.siem).alias,
        settings.detections.alerts_index,
        settings.detections.key("checkpoints"),
        settings.evidence.locker_index,
        settings.compliance.status_index,
        settings.edgeauth.key_prefix,
    ]
    assert all(name.startswith("acme") for name in names), names
    moved = settings.in_namespace("t1")
    assert {p.namespace for p in (moved.siem, moved.detections, moved.evidence, moved.compliance, moved.edgeauth)} == {
        "t1"
    }
    assert settings.siem.namespace == "acme"  # the copy leaves the original alone


@pytest.mark.parametrize("old", ["VIGIL_SIEM__PREFIX", "VIGIL_DETECTIONS__INDEX_PREFIX", "VIGIL_EDGEAUTH__KEY_PREFIX"])
def test_an_old_per_package_prefix_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    monkeypatch.setenv(old, "acme")
    with pytest.raises(ConfigurationError, match=f"^{old}: "):
        load_settings()


def test_a_package_namespace_cannot_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SIEM__NAMESPACE", "other")
    with pytest.raises(ConfigurationError, match="set VIGIL_NAMESPACE"):
        load_settings()


def test_redis_address_never_shows_the_password() -> None:
    settings = load_settings(redis_url="rediss://:hunter2@cache.internal:6380/1")
    assert "hunter2" not in settings.redis_address
    assert "hunter2" not in repr(settings)
    assert settings.redis_address == "rediss://cache.internal:6380/1"


@given(st.text(max_size=40))
@hypothesis_settings(deadline=None)  # building settings is not a timed goal; a loaded CI box must not fail it
def test_any_es_url_is_accepted_or_refused_with_one_line(value: str) -> None:
    message = ""
    try:
        load_settings(es_url=value)
    except ConfigurationError as exc:
        message = str(exc)
    assert "\n" not in message


def _jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def test_newest_jdk_that_fits_is_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    _jdk(tmp_path, "java-17", "17.0.15")
    newest = _jdk(tmp_path, "temurin-25", "25.0.1")
    assert find_java(21, jvm_root=tmp_path) == newest


def test_configured_jdk_wins_when_new_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    chosen = _jdk(tmp_path, "a", "21.0.2")
    _jdk(tmp_path, "b", "25.0.1")
    assert find_java(21, configured=chosen, jvm_root=tmp_path) == chosen


def test_missing_java_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_jdk(tmp_path, "old", "17.0.1")))
    with pytest.raises(JavaNotFoundError) as caught:
        find_java(21, jvm_root=tmp_path / "none")
    assert "Java 21+" in str(caught.value)
    assert "install" in str(caught.value)


def test_a_private_parent_folder_is_not_world_traversable(tmp_path: Path) -> None:
    from vigil.services.elasticsearch import _world_traversable

    private = tmp_path / "private"
    (private / "inner").mkdir(parents=True)
    private.chmod(0o700)
    assert not _world_traversable(private / "inner")
    private.chmod(0o755)
    tmp_path.chmod(0o755)
    assert _world_traversable(private / "inner") == _world_traversable(tmp_path)


def test_maven_failures_are_reduced_to_their_cause() -> None:
    from vigil.services.maven import maven_reason as _maven_reason

    output = (
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:2.8:copy (default-cli) on "
        "project standalone-pom: Unable to resolve artifact. Could not transfer artifact x:y:zip:1 from/to central: "
        "Connection refused\n[ERROR] -> [Help 1]\n"
    )
    assert _maven_reason(output) == "Could not transfer artifact x:y:zip:1 from/to central: Connection refused"
    assert _maven_reason("") == "no output (is the network or a Maven mirror reachable?)"
