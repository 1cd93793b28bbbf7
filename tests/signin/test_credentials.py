"""The CLI's credential file: private to its owner (0600 in a 0700 folder), refused when it is not, written whole."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from vigil.signin import CredentialFileUnsafe, CredentialStore, NotSignedIn, StoredSignIn, config_folder


def signin(token: str = "rt-1") -> StoredSignIn:  # noqa: S107 (a test token)
    return StoredSignIn(
        issuer="http://127.0.0.1:8000",
        client_id="vigil-cli",
        subject="ana",
        display_name="Ana",
        refresh_token=SecretStr(token),
        scope="openid alerts:read",
        signed_in_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert config_folder() == tmp_path / "cfg" / "vigil"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/is/ignored")
    assert config_folder() == Path.home() / ".config" / "vigil"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_folder() == Path.home() / ".config" / "vigil"


def test_saved_private_and_read_back(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask must not widen what we create
    try:
        store = CredentialStore(tmp_path / "vigil")
        store.save(signin())
    finally:
        os.umask(old)
    assert mode(store.folder) == 0o700
    assert mode(store.path) == 0o600
    loaded = store.load()
    assert loaded.refresh_token.get_secret_value() == "rt-1"
    assert "rt-1" not in repr(loaded)  # never in a log line or a traceback
    store.save(signin("rt-2"))  # a rotation replaces the file whole, still private
    assert store.load().refresh_token.get_secret_value() == "rt-2"
    assert mode(store.path) == 0o600
    assert sorted(p.name for p in store.folder.iterdir()) == ["credentials.json"]
    assert store.delete() is True
    assert store.delete() is False
    with pytest.raises(NotSignedIn, match="vigil login"):
        store.load()


@pytest.mark.parametrize("wider", [0o640, 0o604, 0o644, 0o666])
def test_a_file_others_can_read_is_refused(tmp_path: Path, wider: int) -> None:
    store = CredentialStore(tmp_path / "vigil")
    store.save(signin())
    store.path.chmod(wider)
    with pytest.raises(CredentialFileUnsafe, match=f"mode {wider:04o}"):
        store.load()
    with pytest.raises(CredentialFileUnsafe):
        store.save(signin("rt-2"))  # not silently repaired either: the token in it may have leaked
    assert json.loads(store.path.read_text())["refresh_token"] == "rt-1"


@pytest.mark.parametrize("wider", [0o750, 0o705, 0o755, 0o777])
def test_a_folder_others_can_enter_is_refused(tmp_path: Path, wider: int) -> None:
    store = CredentialStore(tmp_path / "vigil")
    store.save(signin())
    store.folder.chmod(wider)
    with pytest.raises(CredentialFileUnsafe, match="folder must be 0700"):
        store.load()
    with pytest.raises(CredentialFileUnsafe):
        store.save(signin())


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "vigil")
    store.save(signin())
    elsewhere = tmp_path / "elsewhere.json"
    store.path.rename(elsewhere)
    store.path.symlink_to(elsewhere)
    with pytest.raises(CredentialFileUnsafe, match="symlink"):
        store.load()
    with pytest.raises(CredentialFileUnsafe, match="symlink"):
        store.save(signin())


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048))
def test_any_file_content_is_one_clear_error(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    store = CredentialStore(tmp_path_factory.mktemp("cfg") / "vigil")
    store.save(signin())
    fd = os.open(store.path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    # Garbage is never a sign-in (a valid one from random bytes is out of reach): one line naming the fix.
    with pytest.raises(NotSignedIn, match="vigil login"):
        store.load()
