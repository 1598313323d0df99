"""Write and verify a jenkins-kit backup archive: a gzip'd POSIX (pax) tar, readable by plain `tar`.

Layout, in this order:
  jenkins-kit-backup.json    header: format, versions, time; read alone to recognise our archives
  home/ ...                  JENKINS_HOME, numeric owners, modes, symlinks, hard links
  jenkins-kit-manifest.json  header fields + plugins + counts + sha256 of every regular file

The tree is read once: each file's checksum is computed on the bytes as they go into the archive,
and deflate runs in a second thread (zlib releases the GIL), as `tar -czf` runs gzip beside tar.
Compression level 6 is gzip's default (tarfile's own default, 9, is about twice as slow for a
few percent). mtimes are whole seconds, so no per-file pax record is needed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import queue
import stat
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from jenkins_kit import __version__
from jenkins_kit.backup.members import (
    FORMAT,
    FORMAT_VERSION,
    HEADER_NAME,
    HOME,
    MANIFEST_NAME,
    Excluder,
    Member,
    member_problems,
)
from jenkins_kit.errors import ExitCode, KitError

CHUNK = 1 << 20
_READ_HINT = ("run 'jenkins-kit backup' as root on the NFS server (sudo); if it already is root, the file's mode or a "
              "root-squashing mount denies it: fix that, or leave the path out with --exclude")
COMPRESSLEVEL = 6
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


class BackupError(KitError):
    exit_code = ExitCode.ERROR


class ArchiveInvalid(KitError):
    """The archive is corrupt, not ours, or unsafe to restore."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None, problems: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.problems = problems or []


# ---------------------------------------------------------------- scanning


@dataclass
class Entry:
    rel: str  # relative to home ("" for home itself)
    path: str
    st: os.stat_result
    kind: str  # f d l h
    linkname: str = ""


@dataclass
class Scan:
    entries: list[Entry]
    excluded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # sockets, fifos, devices
    total_bytes: int = 0


def scan_home(home: Path, excluder: Excluder) -> Scan:
    """Every entry of `home` to archive, parents before children, names sorted (stable archives)."""
    try:
        st = os.lstat(home)
    except FileNotFoundError:
        raise BackupError(f"Jenkins home {home} does not exist", "run on the NFS server, where nfs.path is; or give --home") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BackupError(f"Jenkins home {home} is not a directory" + (" (it is a symlink)" if stat.S_ISLNK(st.st_mode) else ""),
                          "give the real export directory")
    scan = Scan([Entry("", str(home), st, "d")])
    inodes: dict[tuple[int, int], str] = {}
    stack = [("", str(home))]
    while stack:
        rel_dir, abs_dir = stack.pop()
        try:
            with os.scandir(abs_dir) as it:
                names = sorted(e.name for e in it)
        except PermissionError:
            raise BackupError(f"cannot read folder {abs_dir}: permission denied", _READ_HINT) from None
        subdirs = []
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            path = os.path.join(abs_dir, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue  # vanished between listing and stat
            mode = st.st_mode
            is_dir = stat.S_ISDIR(mode)
            if excluder.match(rel, is_dir):
                scan.excluded.append(rel + ("/" if is_dir else ""))
                continue
            if is_dir:
                scan.entries.append(Entry(rel, path, st, "d"))
                subdirs.append((rel, path))
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in inodes:
                    scan.entries.append(Entry(rel, path, st, "h", f"{HOME}/{inodes[key]}"))
                else:
                    if st.st_nlink > 1:
                        inodes[key] = rel
                    scan.entries.append(Entry(rel, path, st, "f"))
                    scan.total_bytes += st.st_size
            elif stat.S_ISLNK(mode):
                scan.entries.append(Entry(rel, path, st, "l", os.readlink(path)))
            else:
                scan.skipped.append(rel)
        # depth-first, in name order: push reversed so the first name is visited first
        stack.extend(reversed(subdirs))
    return scan


def scan_problems(scan: Scan) -> list[str]:
    """The restore-side checks, run before a byte is written: a backup that cannot be restored is refused."""
    return member_problems([Member(_arcname(e.rel), e.kind, e.linkname, e.st.st_mode & 0o7777) for e in scan.entries])


def _arcname(rel: str) -> str:
    return f"{HOME}/{rel}" if rel else HOME


# ---------------------------------------------------------------- threaded gzip


class GzipPipe(io.RawIOBase):
    """A write-only gzip stream whose deflate runs in a worker thread (like tar | gzip)."""

    def __init__(self, raw: IO[bytes], level: int = COMPRESSLEVEL, depth: int = 8) -> None:
        super().__init__()
        self._raw = raw
        self._comp = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip header and trailer
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._buf: list[bytes] = []
        self._n = 0
        self.written = 0  # compressed bytes on disk
        self._err: BaseException | None = None
        self._t = threading.Thread(target=self._work, name="jenkins-kit-gzip", daemon=True)
        self._t.start()

    def writable(self) -> bool:
        return True

    def _work(self) -> None:
        while True:
            data = self._q.get()
            if self._err is not None:  # keep draining so the producer never blocks forever
                if data is None:
                    return
                continue
            try:
                out = self._comp.compress(data) if data is not None else self._comp.flush()
                if out:
                    self._raw.write(out)
                    self.written += len(out)
            except BaseException as e:  # noqa: BLE001 - handed to the producer
                self._err = e
            if data is None:
                return

    def _check(self) -> None:
        if self._err is not None:
            raise self._err

    def write(self, b: Any) -> int:  # type: ignore[override]
        self._check()
        n = len(b)
        self._buf.append(bytes(b))
        self._n += n
        if self._n >= CHUNK:
            self._q.put(b"".join(self._buf))
            self._buf, self._n = [], 0
        return n

    def finish(self) -> None:
        """Flush everything and end the gzip member; raises what the worker met (e.g. ENOSPC)."""
        if self._buf:
            self._q.put(b"".join(self._buf))
            self._buf, self._n = [], 0
        self._q.put(None)
        self._t.join()
        self._check()

    def abort(self) -> None:
        """Stop the worker promptly (Ctrl-C, a read error): drop what is queued, then send the end."""
        if self._t.is_alive():
            self._err = self._err or RuntimeError("aborted")
            while True:
                try:
                    self._q.get_nowait()
                except queue.Empty:
                    break
            self._q.put(None)  # room now: only this thread produces
            self._t.join(timeout=30)


# ---------------------------------------------------------------- writing


def _tarinfo(name: str, st: os.stat_result | None, kind: str, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE}[kind]
    ti.size = size if kind == "f" else 0
    ti.linkname = linkname
    if st is not None:
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.mtime = int(st.st_mtime)
    else:
        ti.mode, ti.uid, ti.gid = 0o644, 0, 0
        ti.mtime = 0
    ti.uname = ti.gname = ""  # numeric owners only: the NFS host need not know user 1000
    return ti


class _TarOut:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.offset = 0

    def header(self, ti: tarfile.TarInfo) -> None:
        buf = ti.tobuf(tarfile.PAX_FORMAT, _ENCODING, _ERRORS)
        self.out.write(buf)
        self.offset += len(buf)

    def data(self, b: bytes) -> None:
        self.out.write(b)
        self.offset += len(b)

    def pad(self) -> None:
        r = self.offset % tarfile.BLOCKSIZE
        if r:
            self.data(b"\0" * (tarfile.BLOCKSIZE - r))

    def close(self) -> None:
        self.data(b"\0" * (2 * tarfile.BLOCKSIZE))
        r = self.offset % tarfile.RECORDSIZE
        if r:
            self.data(b"\0" * (tarfile.RECORDSIZE - r))

    def small_file(self, name: str, payload: bytes) -> None:
        self.header(_tarinfo(name, None, "f", len(payload)))
        self.data(payload)
        self.pad()


Progress = Callable[[int, int, str], None]


@dataclass
class Written:
    manifest: dict[str, Any]
    warnings: list[str]


def write_archive(out: IO[bytes], home: Path, scan: Scan, header: dict[str, Any], extra: dict[str, Any],
                  progress: Progress | None = None) -> Written:
    """Stream header, home and manifest into `out` (an uncompressed byte sink)."""
    tar = _TarOut(out)
    tar.small_file(HEADER_NAME, json.dumps(header, indent=2, sort_keys=True).encode())
    files: dict[str, dict[str, Any]] = {}
    links: dict[str, str] = {}
    hardlinks: dict[str, str] = {}
    warnings: list[str] = []
    counts = {"files": 0, "dirs": 0, "symlinks": 0, "hardlinks": 0}
    done = 0
    total = scan.total_bytes
    for e in scan.entries:
        name = _arcname(e.rel)
        if e.kind == "d":
            tar.header(_tarinfo(name, e.st, "d"))
            counts["dirs"] += 1
        elif e.kind == "l":
            tar.header(_tarinfo(name, e.st, "l", linkname=e.linkname))
            links[e.rel] = e.linkname
            counts["symlinks"] += 1
        elif e.kind == "h":
            tar.header(_tarinfo(name, e.st, "h", linkname=e.linkname))
            hardlinks[e.rel] = e.linkname[len(HOME) + 1 :]
            counts["hardlinks"] += 1
        else:
            size, digest, note = _add_file(tar, name, e)
            if note:
                warnings.append(note)
            if digest is None:
                continue
            files[e.rel] = {"sha256": digest, "size": size}
            counts["files"] += 1
            done += size
            if progress is not None:
                progress(done, total, e.rel)
    manifest = {
        **header,
        **extra,
        "file_count": counts["files"],
        "dir_count": counts["dirs"],
        "symlink_count": counts["symlinks"],
        "hardlink_count": counts["hardlinks"],
        "total_bytes": sum(f["size"] for f in files.values()),
        "files": files,
        "symlinks": links,
        "hardlinks": hardlinks,
        "warnings": warnings,
    }
    tar.small_file(MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True).encode())
    tar.close()
    return Written(manifest, warnings)


def _add_file(tar: _TarOut, name: str, e: Entry) -> tuple[int, str | None, str | None]:
    try:
        fd = os.open(e.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return 0, None, f"{e.rel}: removed during the backup; not archived"
    except PermissionError:
        raise BackupError(f"cannot read {e.path}: permission denied", _READ_HINT) from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            return 0, None, f"{e.rel}: replaced by a symlink during the backup; not archived"
        raise
    note = None
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return 0, None, f"{e.rel}: no longer a regular file; not archived"
        size = st.st_size
        tar.header(_tarinfo(name, st, "f", size))
        h = hashlib.sha256()
        left = size
        try:
            while left > 0:
                b = f.read(min(CHUNK, left))
                if not b:
                    break
                h.update(b)
                tar.data(b)
                left -= len(b)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise BackupError(f"cannot read {e.path}: {err.strerror}", "check the disk and the file; nothing was written") from None
        if left > 0:  # shrank while we read it: pad as GNU tar does, and say so
            pad = b"\0" * left
            h.update(pad)
            tar.data(pad)
            note = f"{e.rel}: shrank by {left} bytes while being read (padded with zeros)"
        elif f.read(1):
            note = f"{e.rel}: grew while being read (archived its first {size} bytes)"
        tar.pad()
    return size, h.hexdigest(), note


# ---------------------------------------------------------------- reading and verifying


def _kind(ti: tarfile.TarInfo) -> str:
    if ti.issparse():
        return "sparse file"
    if ti.isreg():
        return "f"
    if ti.isdir():
        return "d"
    if ti.issym():
        return "l"
    if ti.islnk():
        return "h"
    if ti.ischr():
        return "character device"
    if ti.isblk():
        return "block device"
    if ti.isfifo():
        return "FIFO"
    return f"member of tar type {ti.type!r}"


def as_member(ti: tarfile.TarInfo) -> Member:
    return Member(ti.name, _kind(ti), ti.linkname, ti.mode)


class _Counting(io.RawIOBase):
    """A read-only file that counts the (compressed) bytes read, for progress."""

    def __init__(self, f: IO[bytes]) -> None:
        super().__init__()
        self.f = f
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.f.readinto(b)  # type: ignore[attr-defined]
        self.pos += n or 0
        return n or 0

    def close(self) -> None:
        self.f.close()
        super().close()


def open_stream(path: str | os.PathLike[str]) -> tuple[tarfile.TarFile, _Counting]:
    try:
        raw = _Counting(open(path, "rb", buffering=0))  # noqa: SIM115 - closed with the TarFile's caller
    except FileNotFoundError:
        raise ArchiveInvalid(f"archive {path} does not exist", "give the path of a file written by 'jenkins-kit backup'") from None
    except IsADirectoryError:
        raise ArchiveInvalid(f"{path} is a directory, not an archive") from None
    try:
        return tarfile.open(fileobj=io.BufferedReader(raw, CHUNK), mode="r|gz"), raw
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raw.close()
        raise ArchiveInvalid(f"{path} is not a gzip'd tar archive: {e}", "give a file written by 'jenkins-kit backup'") from None


@dataclass
class Verified:
    archive: str
    header: dict[str, Any] | None
    manifest: dict[str, Any] | None
    members: list[tarfile.TarInfo]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        m = self.manifest or {}
        return {
            "archive": self.archive,
            "ok": self.ok,
            "problems": self.problems,
            "created": m.get("created"),
            "jenkins_version": m.get("jenkins_version"),
            "jenkins_kit_version": m.get("jenkins_kit_version"),
            "file_count": m.get("file_count"),
            "plugin_count": len(m.get("plugins") or []),
            "total_bytes": m.get("total_bytes"),
        }


def iter_members(path: str | os.PathLike[str], progress: Progress | None = None) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """(tarfile, member) in archive order, one streaming pass; corruption becomes ArchiveInvalid."""
    tf, raw = open_stream(path)
    total = os.fstat(raw.f.fileno()).st_size  # type: ignore[attr-defined]
    try:
        with tf:
            try:
                for ti in tf:
                    yield tf, ti
                    if progress is not None:
                        progress(raw.pos, total, ti.name)
            except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
                raise ArchiveInvalid(f"{path} is truncated or corrupt: {e}",
                                     "the archive cannot be used; take another backup or use an older one") from None
    finally:
        raw.close()


def _read_all(tf: tarfile.TarFile, ti: tarfile.TarInfo, limit: int = 1 << 30) -> bytes:
    f = tf.extractfile(ti)
    return f.read(limit) if f is not None else b""


def verify(path: str | os.PathLike[str], *, progress: Progress | None = None) -> Verified:
    """Read the whole archive once: member safety, sha256 of every file against the manifest, counts."""
    members: list[tarfile.TarInfo] = []
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}
    problems: list[str] = []
    meta: dict[str, Any] = {}
    with corrupt_as_invalid(path):
        _verify_pass(path, progress, members, digests, sizes, problems, meta)
    header, manifest = meta.get(HEADER_NAME), meta.get(MANIFEST_NAME)
    return _verdict(path, header, manifest, members, digests, sizes, problems)


@contextlib.contextmanager
def corrupt_as_invalid(path: str | os.PathLike[str]) -> Iterator[None]:
    """A damaged stream met while reading a member's data (not only between members) is ArchiveInvalid."""
    try:
        yield
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise ArchiveInvalid(f"{path} is truncated or corrupt: {e}",
                             "the archive cannot be used; take another backup or use an older one") from None


def _verify_pass(path: str | os.PathLike[str], progress: Progress | None, members: list[tarfile.TarInfo],
                 digests: dict[str, str], sizes: dict[str, int], problems: list[str], meta: dict[str, Any]) -> None:
    for tf, ti in iter_members(path, progress):
        members.append(ti)
        if ti.isreg() and ti.name in (HEADER_NAME, MANIFEST_NAME):
            raw = _read_all(tf, ti, 512 << 20)
            try:
                doc = json.loads(raw)
            except ValueError:
                problems.append(f"{ti.name} is not valid JSON")
                continue
            meta[ti.name] = doc
        elif ti.isreg() and ti.name.startswith(HOME + "/"):
            f = tf.extractfile(ti)
            h = hashlib.sha256()
            n = 0
            while f is not None:
                b = f.read(CHUNK)
                if not b:
                    break
                h.update(b)
                n += len(b)
            digests[ti.name[len(HOME) + 1 :]] = h.hexdigest()
            sizes[ti.name[len(HOME) + 1 :]] = n


def _verdict(path: str | os.PathLike[str], header: dict[str, Any] | None, manifest: dict[str, Any] | None,
             members: list[tarfile.TarInfo], digests: dict[str, str], sizes: dict[str, int], problems: list[str]) -> Verified:
    problems += member_problems([as_member(m) for m in members])
    if not members or members[0].name != HEADER_NAME:
        problems.append(f"the first member is not {HEADER_NAME}: not an archive written by jenkins-kit")
    if not members or members[-1].name != MANIFEST_NAME:
        problems.append(f"the last member is not {MANIFEST_NAME}: the archive is incomplete or not written by jenkins-kit")
    if header is not None and (header.get("format") != FORMAT or not isinstance(header.get("format_version"), int)):
        problems.append(f"{HEADER_NAME} does not describe a {FORMAT} archive")
    elif header is not None and header["format_version"] > FORMAT_VERSION:
        problems.append(f"format version {header['format_version']} is newer than this jenkins-kit understands ({FORMAT_VERSION}); upgrade jenkins-kit")
    if manifest is not None:
        if header is not None:
            for k, v in header.items():
                if manifest.get(k) != v:
                    problems.append(f"manifest and header disagree on {k!r}")
        files = manifest.get("files") or {}
        for rel, info in files.items():
            got = digests.get(rel)
            if got is None:
                problems.append(f"{rel}: listed in the manifest but missing from the archive")
            elif got != info.get("sha256") or sizes.get(rel) != info.get("size"):
                problems.append(f"{rel}: checksum mismatch (archive damaged or altered)")
        for rel in digests:
            if rel not in files:
                problems.append(f"{rel}: in the archive but not in the manifest")
        links = {m.name[len(HOME) + 1 :]: m.linkname for m in members if m.issym()}
        if links != (manifest.get("symlinks") or {}):
            problems.append("the symlinks in the archive differ from the manifest")
        if manifest.get("file_count") != len(digests):
            problems.append(f"manifest file_count {manifest.get('file_count')} != {len(digests)} files in the archive")
    elif not any(p.startswith("the last member") for p in problems):
        problems.append(f"no {MANIFEST_NAME} in the archive")
    return Verified(str(path), header, manifest, members, problems)


def read_header(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The header of a jenkins-kit archive (first member only: cheap), or None if it is not one."""
    try:
        with tarfile.open(path, mode="r|gz") as tf:  # only the first member is decompressed
            ti = tf.next()
            if ti is None or ti.name != HEADER_NAME or not ti.isreg() or ti.size > 1 << 20:
                return None
            doc = json.loads(_read_all(tf, ti, 1 << 20))
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None


def new_header(jenkins_version: str | None, home: Path, created: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": created,
        "jenkins_kit_version": __version__,
        "jenkins_version": jenkins_version,
        "source": str(home),
    }
