"""`jenkins-kit backup`: quiesce Jenkins, archive its home atomically, apply retention.

The archive is written under a temporary name in the destination folder (mode 0600: the home
holds `secrets/` and `credentials.xml`), fsync'd, then renamed; any failure (a full disk, an
unreadable file, Ctrl-C) removes the temporary file, so a finished name is always a whole archive.
A lock file in the destination keeps two backups from interleaving, and lets the next run remove
temporary files a killed run (SIGKILL, power loss) left behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets as _random
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, cast

from jenkins_kit.backup.archive import (
    BackupError,
    GzipPipe,
    Progress,
    new_header,
    read_header,
    scan_home,
    scan_problems,
    write_archive,
)
from jenkins_kit.backup.members import DEFAULT_EXCLUDES, Excluder, InvalidPattern
from jenkins_kit.backup.quiesce import OnTimeout, QuiesceReport, quiesced
from jenkins_kit.errors import ExitCode, KitError

DEFAULT_DEST = "/var/backups/jenkins-kit"
ARCHIVE_RE = re.compile(r"^jenkins-kit-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz$")
_PARTIAL_PREFIX = ".jenkins-kit-backup-"
_PARTIAL_SUFFIX = ".partial"
_LOCK_NAME = ".jenkins-kit-backup.lock"


class BackupUsageError(KitError):
    exit_code = ExitCode.USAGE


@dataclass
class BackupResult:
    archive: str
    size: int
    home: str
    manifest: dict[str, Any]
    excluded: list[str]
    skipped: list[str]
    warnings: list[str]
    jenkins: QuiesceReport | None
    deleted: list[str] = field(default_factory=list)
    not_ours: list[str] = field(default_factory=list)
    removed_partials: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "archive": self.archive,
            "size": self.size,
            "home": self.home,
            "created": m["created"],
            "jenkins_version": m["jenkins_version"],
            "jenkins_kit_version": m["jenkins_kit_version"],
            "plugin_count": len(m.get("plugins") or []),
            "file_count": m["file_count"],
            "dir_count": m["dir_count"],
            "symlink_count": m["symlink_count"],
            "total_bytes": m["total_bytes"],
            "excluded": self.excluded,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "quiesce": self.jenkins.to_json() if self.jenkins else None,
            "retention": {"deleted": self.deleted, "left_alone": self.not_ours},
            "removed_partials": self.removed_partials,
            "seconds": round(self.seconds, 3),
        }


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    fd = os.open(dest / _LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another 'jenkins-kit backup' is writing to {dest}", "wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _stale_partials(dest: Path) -> list[str]:
    out = []
    for p in dest.iterdir():
        if p.name.startswith(_PARTIAL_PREFIX) and p.name.endswith(_PARTIAL_SUFFIX) and p.is_file():
            p.unlink()
            out.append(str(p))
    return out


def _version_from_disk(home: Path) -> str | None:
    """Jenkins writes its version into config.xml (<version>) on every save."""
    try:
        head = (home / "config.xml").read_bytes()[:4096].decode("utf-8", "replace")
    except OSError:
        return None
    m = re.search(r"<version>([^<]{1,64})</version>", head)
    return m.group(1).strip() if m else None


def _plugins_from_disk(home: Path) -> list[dict[str, Any]]:
    """Name and version of each plugins/*.jpi|hpi, from its META-INF/MANIFEST.MF (when Jenkins is not asked)."""
    out: list[dict[str, Any]] = []
    pdir = home / "plugins"
    if not pdir.is_dir():
        return out
    for p in sorted(pdir.iterdir()):
        if p.suffix not in (".jpi", ".hpi") or not p.is_file():
            continue
        version = None
        try:
            with zipfile.ZipFile(p) as z:
                text = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
            m = re.search(r"^Plugin-Version:\s*(\S+)", text, re.M)
            version = m.group(1) if m else None
        except (OSError, KeyError, zipfile.BadZipFile):
            pass
        out.append({"name": p.stem, "version": version, "enabled": not (pdir / (p.name + ".disabled")).exists()})
    return out


def archive_name(now: datetime, dest: Path) -> str:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    name = f"jenkins-kit-backup-{stamp}.tar.gz"
    n = 1
    while (dest / name).exists():
        n += 1
        name = f"jenkins-kit-backup-{stamp}-{n}.tar.gz"
    return name


def apply_retention(dest: Path, keep: int, *, protect: str | None = None) -> tuple[list[str], list[str]]:
    """Delete all but the `keep` newest archives jenkins-kit wrote in `dest` (name pattern AND header).

    Returns (deleted, left alone because the name matched but the content is not ours)."""
    if keep < 1:
        raise BackupUsageError(f"--keep must be at least 1 (got {keep})", "keep at least the backup just written")
    found = []
    for p in dest.iterdir():
        m = ARCHIVE_RE.match(p.name)
        if m and p.is_file() and not p.is_symlink():
            found.append((m.group(1), int(m.group(2) or 1), p))
    found.sort(reverse=True)
    deleted, foreign = [], []
    ours = 0
    for _, _, p in found:
        if read_header(p) is None:
            foreign.append(str(p))
            continue
        ours += 1
        if ours > keep and str(p) != protect:
            p.unlink()
            deleted.append(str(p))
    return deleted, foreign


def backup(
    home: str | os.PathLike[str],
    dest: str | os.PathLike[str] = DEFAULT_DEST,
    *,
    client: Any = None,
    wait_s: float = 600.0,
    on_timeout: OnTimeout = "refuse",
    excludes: Iterable[str] = DEFAULT_EXCLUDES,
    keep: int | None = None,
    progress: Progress | None = None,
    on_wait: Callable[[list[str], float], None] | None = None,
    poll_s: float = 1.0,
    owner: tuple[int, int] | None = (1000, 1000),
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> BackupResult:
    """Back up JENKINS_HOME `home` into `dest`. With a Jenkins `client`, quiesce it for the duration
    (without one, the caller asserts Jenkins is stopped). Returns what was written.

    Owners are archived as they are; entries not owned by `owner` (nfs.uid:gid, which Jenkins runs
    as) are reported, since a restore brings them back just as unwritable for Jenkins."""
    t0 = time.monotonic()
    home_p, dest_p = Path(home), Path(dest)
    try:
        excluder = Excluder.of(excludes)
    except InvalidPattern as e:
        raise BackupUsageError(str(e), "patterns are relative to JENKINS_HOME, e.g. 'workspace/' or 'jobs/*/builds/*/archive/'") from None
    if keep is not None and keep < 1:
        raise BackupUsageError(f"--keep must be at least 1 (got {keep})", "keep at least the backup just written")
    if home_p.is_dir() and _inside(dest_p, home_p):
        raise BackupUsageError(f"the destination {dest_p} is inside the Jenkins home {home_p}",
                               "write backups outside the export (the default is /var/backups/jenkins-kit)")
    if not home_p.is_dir():
        scan_home(home_p, excluder)  # raises the precise error
    dest_p.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(dest_p):
        removed = _stale_partials(dest_p)
        quiet = quiesced(client, wait_s=wait_s, on_timeout=on_timeout, on_wait=on_wait, poll_s=poll_s) if client is not None \
            else contextlib.nullcontext(None)
        with quiet as rep:
            scan = scan_home(home_p, excluder)
            problems = scan_problems(scan)
            if problems:
                raise BackupError(
                    f"{home_p} holds entries a restore would refuse: " + "; ".join(problems),
                    "exclude them (--exclude PATTERN) or fix the links to point inside the home",
                )
            stray = [e.rel or "." for e in scan.entries if owner is not None and (e.st.st_uid, e.st.st_gid) != owner]
            created = now()
            jversion = rep.jenkins_version if rep else _version_from_disk(home_p)
            header = new_header(jversion, home_p, created.strftime("%Y-%m-%dT%H:%M:%SZ"))
            extra = {
                "plugins": rep.plugins if rep else _plugins_from_disk(home_p),
                "plugins_from": "jenkins api" if rep else "plugins/*.jpi on disk",
                "excludes": list(excluder.patterns),
            }
            name = archive_name(created, dest_p)
            final = dest_p / name
            tmp = dest_p / f"{_PARTIAL_PREFIX}{created.strftime('%Y%m%dT%H%M%SZ')}-{_random.token_hex(4)}{_PARTIAL_SUFFIX}"
            written = _write_atomic(tmp, final, home_p, scan, header, extra, progress)
        size = final.stat().st_size
        deleted, foreign = apply_retention(dest_p, keep, protect=str(final)) if keep is not None else ([], [])
    warnings = list(written.warnings)
    if stray and owner is not None:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        warnings.append(f"{len(stray)} entr{'y' if len(stray) == 1 else 'ies'} not owned by {owner[0]}:{owner[1]} "
                        f"(archived and restored as they are, which Jenkins may not be able to write): {shown}; "
                        "'jenkins-kit nfs export --chown-recursive' fixes the home")
    return BackupResult(
        archive=str(final), size=size, home=str(home_p), manifest=written.manifest, excluded=scan.excluded,
        skipped=scan.skipped, warnings=warnings, jenkins=rep, deleted=deleted, not_ours=foreign,
        removed_partials=removed, seconds=time.monotonic() - t0,
    )


def _write_atomic(tmp: Path, final: Path, home: Path, scan: Any, header: dict[str, Any], extra: dict[str, Any],
                  progress: Progress | None) -> Any:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    pipe = None
    try:
        with os.fdopen(fd, "wb", buffering=0) as raw:
            pipe = GzipPipe(raw)
            written = write_archive(cast(IO[bytes], pipe), home, scan, header, extra, progress)  # a RawIOBase that writes bytes
            pipe.finish()
            os.fsync(raw.fileno())
        os.rename(tmp, final)
        dfd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return written
    except BaseException as e:
        if pipe is not None:
            pipe.abort()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise BackupError(
                f"no space left on the device of {final.parent} while writing the backup; the partial archive was removed",
                "free space there, write elsewhere with --dest, or keep fewer archives with --keep N",
            ) from None
        if isinstance(e, OSError) and not isinstance(e, KitError):
            raise BackupError(f"writing the backup into {final.parent} failed: {e.strerror or e}; the partial archive was removed",
                              "check the destination's disk and permissions, or write elsewhere with --dest") from None
        raise
