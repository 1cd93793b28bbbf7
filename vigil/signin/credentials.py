"""Where `vigil login` keeps a person's sign-in: one JSON file in their config folder, readable by them alone.

Who calls it: `vigil login | logout | whoami` and every `--remote` command. The file holds the refresh token (the
only long-lived secret), never an access token. It lives in `$XDG_CONFIG_HOME/vigil/` (else `~/.config/vigil/`),
the folder 0700 and the file 0600; a file or folder that others could read, a symlink, or one owned by someone else
is refused rather than repaired, because the token in it may already have leaked. Writes go to a new 0600 file
renamed over the old one, so a crash never leaves half a token and a rotated refresh token replaces its parent.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from vigil.signin.errors import CredentialFileUnsafe, NotSignedIn

FILE_NAME = "credentials.json"
MAX_FILE_BYTES = 64 * 1024


class StoredSignIn(BaseModel):
    """One person's sign-in at one issuer, as the CLI keeps it."""

    model_config = ConfigDict(frozen=True)

    issuer: str
    client_id: str
    subject: str
    display_name: str
    refresh_token: SecretStr
    scope: str = ""
    signed_in_at: datetime

    def dump(self) -> str:
        data = self.model_dump(mode="json")
        data["refresh_token"] = self.refresh_token.get_secret_value()
        return json.dumps(data, indent=2) + "\n"


def config_folder() -> Path:
    """`$XDG_CONFIG_HOME/vigil`, else `~/.config/vigil` (XDG Base Directory: a relative value is ignored)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "vigil"


def _private(path: Path, kind: str, mode: int) -> None:
    """Refuse `path` unless it is ours, not a symlink, and opens to nobody else (no group or other bits)."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise CredentialFileUnsafe(f"{path} is a symlink; remove it and run `vigil login`")
    if info.st_uid != os.getuid():
        raise CredentialFileUnsafe(f"{path} belongs to uid {info.st_uid}, not to you")
    wider = stat.S_IMODE(info.st_mode) & 0o077
    if wider:
        raise CredentialFileUnsafe(
            f"{path} has mode {stat.S_IMODE(info.st_mode):04o}: others may have read it; run `vigil logout`, "
            f"then `chmod {mode:o} {path}` (the {kind} must be {mode:04o}) and `vigil login`"
        )


class CredentialStore:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_folder()
        self.path = self.folder / FILE_NAME

    def load(self) -> StoredSignIn:
        """The stored sign-in, or `NotSignedIn`; `CredentialFileUnsafe` when the folder or file is not private."""
        if not self.path.exists() and not self.path.is_symlink():
            raise NotSignedIn("not signed in: run `vigil login`")
        _private(self.folder, "folder", 0o700)
        _private(self.path, "file", 0o600)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise CredentialFileUnsafe(f"{self.path} cannot be opened: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise CredentialFileUnsafe(f"{self.path} is over {MAX_FILE_BYTES} bytes; it is not Vigil's")
        try:
            return StoredSignIn.model_validate_json(raw)
        except ValidationError:
            raise NotSignedIn(f"{self.path} is not a Vigil sign-in; run `vigil login`") from None

    def save(self, signin: StoredSignIn) -> None:
        """Write atomically: a new 0600 file in the 0700 folder, renamed over the old one."""
        if self.folder.exists() or self.folder.is_symlink():
            _private(self.folder, "folder", 0o700)
        else:
            self.folder.mkdir(mode=0o700, parents=True)
            self.folder.chmod(0o700)  # mkdir's mode is masked by the umask; the folder must be exactly 0700
        if self.path.exists() or self.path.is_symlink():
            _private(self.path, "file", 0o600)
        staging = self.folder / f".{FILE_NAME}.{os.getpid()}"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(signin.dump())
                handle.flush()
                os.fsync(handle.fileno())
            staging.replace(self.path)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise

    def delete(self) -> bool:
        """Remove the stored sign-in; True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
