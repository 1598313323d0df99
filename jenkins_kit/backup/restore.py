"""`jenkins-kit restore ARCHIVE`: put a backup back into the (empty) export directory.

Two passes over the archive. The first is `verify`: every member is checked (names, types,
symlinks resolved through the archive's own links, hard links, checksums against the manifest;
and, where Python has it, tarfile's own 'data' extraction filter) and ANY problem refuses the whole
archive before a byte is written. The second pass extracts into a staging folder inside the
target (same file system, so the final moves are renames), creating files with O_EXCL|O_NOFOLLOW
and symlinks last, so nothing is ever written through a link. Only then are the staged entries
moved into place. A failure removes the staging folder: the target is as it was.

A non-empty target is refused unless `force`: its current contents are then moved aside into a
sibling folder `<target>.pre-restore-<time>` (nothing is deleted).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets as _random
import shutil
import signal
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jenkins_kit.backup.archive import (
    CHUNK,
    ArchiveInvalid,
    Progress,
    Verified,
    corrupt_as_invalid,
    iter_members,
    verify,
)
from jenkins_kit.backup.members import HEADER_NAME, HOME, MANIFEST_NAME
from jenkins_kit.errors import ExitCode, KitError

_STAGE_PREFIX = ".jenkins-kit-restore-"


class RestoreError(KitError):
    exit_code = ExitCode.ERROR


class TargetNotEmpty(KitError):
    exit_code = ExitCode.USAGE


@dataclass
class Planned:
    path: str  # relative to the target ("" = the target itself)
    kind: str
    mode: int
    uid: int
    gid: int
    size: int = 0
    linkname: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path or ".", "type": {"f": "file", "d": "dir", "l": "symlink", "h": "hardlink"}[self.kind],
                             "mode": f"{self.mode:04o}", "owner": f"{self.uid}:{self.gid}"}
        if self.kind == "f":
            d["size"] = self.size
        if self.kind in ("l", "h"):
            d["target"] = self.linkname
        return d


@dataclass
class RestoreResult:
    archive: str
    target: str
    dry_run: bool
    entries: list[Planned]
    manifest: dict[str, Any]
    chowned: bool
    moved_aside: str | None = None
    warnings: list[str] = field(default_factory=list)
    next_step: str = "jenkins-kit up"

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "archive": self.archive,
            "target": self.target,
            "dry_run": self.dry_run,
            "created": m.get("created"),
            "jenkins_version": m.get("jenkins_version"),
            "file_count": sum(1 for e in self.entries if e.kind == "f"),
            "entry_count": len(self.entries),
            "owners_restored": self.chowned,
            "moved_aside": self.moved_aside,
            "warnings": self.warnings,
            "next_step": self.next_step,
            **({"entries": [e.to_json() for e in self.entries]} if self.dry_run else {}),
        }


def _is_empty(d: Path) -> bool:
    with os.scandir(d) as it:
        return next(it, None) is None


def _filter_check(v: Verified, target: Path) -> list[str]:
    """tarfile's own 'data' filter (3.11.4+, PEP 706) as a second opinion; we never extract with it."""
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:
        return []
    out = []
    for ti in v.members:
        if ti.name in (HEADER_NAME, MANIFEST_NAME):
            continue
        try:
            data_filter(ti, str(target))
        except tarfile.FilterError as e:
            out.append(f"{ti.name!r}: refused by tarfile's data filter: {e}")
    return out


def _plan(v: Verified) -> list[Planned]:
    out = []
    for ti in v.members:
        if ti.name in (HEADER_NAME, MANIFEST_NAME):
            continue
        rel = "" if ti.name == HOME else ti.name[len(HOME) + 1 :]
        kind = "f" if ti.isreg() else "d" if ti.isdir() else "l" if ti.issym() else "h"
        link = ti.linkname[len(HOME) + 1 :] if kind == "h" else ti.linkname
        out.append(Planned(rel, kind, ti.mode & 0o7777, ti.uid, ti.gid, ti.size, link))
    return out


def restore(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    force: bool = False,
    dry_run: bool = False,
    chown: bool | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> RestoreResult:
    """Restore `archive` into `target`. `chown` defaults to "when running as root"."""
    target_p = Path(target)
    if target_p.is_symlink():
        raise RestoreError(f"the target {target_p} is a symbolic link", "restore into the real export directory")
    if target_p.exists() and not target_p.is_dir():
        raise RestoreError(f"the target {target_p} exists and is not a directory")
    check_dir = target_p if target_p.is_dir() else target_p.parent
    non_empty = target_p.is_dir() and not _is_empty(target_p)
    if non_empty and not force:
        raise TargetNotEmpty(
            f"the target {target_p} is not empty",
            "restore into an empty export directory, or pass --force to move its current contents aside "
            f"(into {target_p.name}.pre-restore-<time> beside it) first",
        )
    v = verify(archive, progress=progress)
    problems = v.problems + (_filter_check(v, check_dir) if not v.problems else [])
    if problems:
        shown = problems[:20]
        raise ArchiveInvalid(
            f"refusing {archive}: {len(problems)} problem(s), nothing was written:\n  " + "\n  ".join(shown),
            "use an archive written by 'jenkins-kit backup' that 'jenkins-kit backup verify' accepts",
            problems,
        )
    plan = _plan(v)
    as_root = os.geteuid() == 0
    do_chown = as_root if chown is None else chown
    warnings = []
    if not do_chown:
        owners = sorted({f"{e.uid}:{e.gid}" for e in plan})
        warnings.append(f"not running as root: files are owned by the current user, not {', '.join(owners)}; "
                        "run 'sudo jenkins-kit restore' or chown them before Jenkins starts")
    result = RestoreResult(str(archive), str(target_p), dry_run, plan, v.manifest or {}, do_chown, warnings=warnings)
    if dry_run:
        return result
    aside = None
    if non_empty:
        aside = target_p.parent / f"{target_p.name}.pre-restore-{now().strftime('%Y%m%dT%H%M%SZ')}"
        if os.stat(target_p.parent).st_dev != os.stat(target_p).st_dev:
            raise RestoreError(
                f"cannot move the current contents of {target_p} aside: {target_p.parent} is another file system",
                f"move the contents of {target_p} away yourself, then restore into the empty folder",
            )
        if aside.exists():
            raise RestoreError(f"{aside} already exists", "wait a second and try again")
    created_target = not target_p.exists()
    target_p.mkdir(parents=True, exist_ok=True)
    stage = target_p / f"{_STAGE_PREFIX}{_random.token_hex(6)}"
    os.mkdir(stage, 0o700)
    try:
        try:
            with corrupt_as_invalid(archive):
                top_dirs = _extract(archive, v, stage, do_chown)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise RestoreError(f"no space left on the device of {target_p} while restoring; the staged files were removed, "
                                   "the target is as it was", "free space there and restore again") from None
            where = f" {e.filename}" if e.filename else ""
            raise RestoreError(
                f"cannot restore{where}: {e.strerror or e}; the staged files were removed, the target is as it was",
                "run as root on the NFS server itself (a mount with root_squash refuses chown), with write access to the target",
            ) from None
        with _deferred_interrupts():  # a few renames: never leave the target half old, half new
            if aside is not None:
                os.mkdir(aside, 0o700)
                for child in sorted(os.listdir(target_p)):
                    if child != stage.name:
                        os.rename(target_p / child, aside / child)
                st = os.stat(target_p)
                os.chmod(aside, stat.S_IMODE(st.st_mode))
                result.moved_aside = str(aside)
            for child in sorted(os.listdir(stage)):
                os.rename(stage / child, target_p / child)
            os.rmdir(stage)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(stage)
        if created_target:
            with contextlib.suppress(OSError):
                target_p.rmdir()
        raise
    for name, ti in top_dirs:  # after the move: moving a folder needs it writable, and touches its times
        os.chmod(target_p / name, ti.mode & 0o7777)
        os.utime(target_p / name, (ti.mtime, ti.mtime))
    root = next(e for e in plan if e.path == "")
    if do_chown:
        os.chown(target_p, root.uid, root.gid)
    os.chmod(target_p, root.mode)
    os.utime(target_p, (root_mtime := _mtime_of(v), root_mtime))
    return result


def _mtime_of(v: Verified) -> int:
    return int(next(m.mtime for m in v.members if m.name == HOME))


@contextlib.contextmanager
def _deferred_interrupts() -> Iterator[None]:
    """Ctrl-C/SIGTERM during the final renames (milliseconds) are noted and ignored, not raised
    half-way; elsewhere (not the main thread) there is nothing to defer."""
    try:
        old = {sig: signal.signal(sig, lambda *_a: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _extract(archive: str | os.PathLike[str], v: Verified, stage: Path, do_chown: bool) -> list[tuple[str, tarfile.TarInfo]]:
    """Write every member under `stage`; returns the top-level folders whose mode and times are
    applied only after they are moved into place."""
    expected = [(m.name, m.type, m.linkname, m.size) for m in v.members]
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    links: list[tarfile.TarInfo] = []
    i = 0
    for tf, ti in iter_members(archive):
        if i >= len(expected) or (ti.name, ti.type, ti.linkname, ti.size) != expected[i]:
            raise ArchiveInvalid(f"{archive} changed between verification and extraction", "restore again from a stable copy")
        i += 1
        if ti.name in (HEADER_NAME, MANIFEST_NAME) or ti.name == HOME:
            continue
        rel = ti.name[len(HOME) + 1 :]
        path = os.path.join(stage, rel)
        if ti.isdir():
            os.mkdir(path, 0o700)
            dirs.append((path, ti))
        elif ti.isreg():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out:
                src = tf.extractfile(ti)
                while src is not None:
                    b = src.read(CHUNK)
                    if not b:
                        break
                    out.write(b)
                if do_chown:
                    os.fchown(fd, ti.uid, ti.gid)
                os.fchmod(fd, ti.mode & 0o7777)
            os.utime(path, (ti.mtime, ti.mtime), follow_symlinks=False)
        else:
            links.append(ti)
    for ti in links:  # after every file and folder: nothing is ever written through them
        path = os.path.join(stage, ti.name[len(HOME) + 1 :])
        if ti.issym():
            os.symlink(ti.linkname, path)
        else:
            os.link(os.path.join(stage, ti.linkname[len(HOME) + 1 :]), path, follow_symlinks=False)
        if do_chown:
            os.lchown(path, ti.uid, ti.gid)
        if ti.issym():
            os.utime(path, (ti.mtime, ti.mtime), follow_symlinks=False)
    top: list[tuple[str, tarfile.TarInfo]] = []
    for path, ti in reversed(dirs):  # deepest first, so a read-only folder is closed last
        if do_chown:
            os.chown(path, ti.uid, ti.gid)
        rel = ti.name[len(HOME) + 1 :]
        if "/" not in rel:
            top.append((rel, ti))
            continue
        os.chmod(path, ti.mode & 0o7777)
        os.utime(path, (ti.mtime, ti.mtime))
    return top
