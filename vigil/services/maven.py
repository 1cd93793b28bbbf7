"""Java distributions fetched from Maven Central with `mvn dependency:copy`, checked against a pinned SHA-256 and
unpacked under `.vigil/` through a staging folder: Elasticsearch's integ-test zip and Keycloak's Quarkus dist.

Maven is the fetcher because it already knows the machine's mirror, proxy and local repository (`~/.m2`): a CI
node behind a corporate mirror needs no extra configuration, and a laptop that fetched once fetches never again.
The pinned digest, not Maven's own `.sha1` check, decides whether a zip is used: some artifacts publish none.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import DownloadError

MIN_FREE_BYTES = 1 << 30


@dataclass(frozen=True)
class Artifact:
    """One pinned zip on Maven Central, and what to say about it when something goes wrong."""

    group: str
    artifact: str
    version: str
    sha256: str
    label: str  # "Elasticsearch": the product named in messages
    digest_setting: str  # the variable that pins the digest, named when a download does not match

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}:zip"

    @property
    def file_name(self) -> str:
        """The name `dependency:copy` gives the file (artifact-version.zip)."""
        return f"{self.artifact}-{self.version}.zip"


def maven_reason(output: str) -> str:
    """The cause Maven gives on its first ERROR line (`... : Could not transfer artifact ...`), kept short."""
    first = next((ln for ln in output.splitlines() if ln.startswith("[ERROR]")), output.strip())
    reason = first.removeprefix("[ERROR]").strip()
    if "Unable to resolve artifact." in reason:
        reason = reason.split("Unable to resolve artifact.", 1)[1].strip()
    return reason[:300] or "no output (is the network or a Maven mirror reachable?)"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(artifact: Artifact, downloads: Path) -> Path:
    """The artifact's zip in `downloads`, fetched when absent or different from the pinned digest; a zip whose
    digest still differs after the fetch is removed and refused."""
    target = downloads / artifact.file_name
    downloads.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(downloads).free
    if free < MIN_FREE_BYTES:
        raise DownloadError(
            f"disk full: {free // (1 << 20)} MiB free under {downloads}, "
            f"the {artifact.label} download and unpack need 1 GiB"
        )
    if not target.exists() or sha256_of(target) != artifact.sha256:
        _copy_with_maven(artifact, downloads)
    actual = sha256_of(target)
    if actual != artifact.sha256:
        target.unlink(missing_ok=True)
        raise DownloadError(
            f"{target.name} has SHA-256 {actual}, expected {artifact.sha256} "
            f"({artifact.digest_setting}); the file was removed, run `vigil services up` again"
        )
    return target


def unpack(archive: Path, dist: Path) -> Path:
    """Unpack `archive`, whose single top folder is named `dist.name`, into `dist`. Through a staging folder and
    one rename, so an interrupted unpack never looks complete; the scripts under `bin/` become executable (zip
    keeps no Unix modes for Python's extractor)."""
    staging = dist.with_name(dist.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(staging)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno == errno.ENOSPC:
            raise DownloadError(f"disk full while unpacking into {staging.parent}") from None
        raise DownloadError(f"cannot unpack {archive}: {exc.strerror or exc}") from None
    inner = staging / dist.name
    for script in (inner / "bin").iterdir():
        if script.is_file():
            script.chmod(0o755)
    inner.rename(dist)
    shutil.rmtree(staging, ignore_errors=True)
    return dist


def _copy_with_maven(artifact: Artifact, downloads: Path) -> None:
    if shutil.which("mvn") is None:
        raise DownloadError(f"Maven (mvn) is needed to fetch {artifact.label}: apt-get install maven")
    proc = subprocess.run(
        ["mvn", "-B", "-q", "dependency:copy", f"-Dartifact={artifact.coordinate}", f"-DoutputDirectory={downloads}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not (downloads / artifact.file_name).exists():
        output = proc.stdout + proc.stderr
        if "No space left" in output:
            raise DownloadError(f"disk full while downloading {artifact.coordinate} into {downloads}")
        raise DownloadError(f"mvn could not fetch {artifact.coordinate}: {maven_reason(output)}")
