"""Shared helpers for the backup/restore tests: a populated Jenkins home and a tree snapshot."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import Any

AS_ROOT = os.geteuid() == 0
UID, GID = 1000, 1000


def _w(p: Path, data: bytes | str, mode: int = 0o644) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(p, mode)


def _jpi(p: Path, version: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nShort-Name: {p.stem}\nPlugin-Version: {version}\n")
    _w(p, buf.getvalue())


def populate_home(home: Path, *, big: int = 3 * 1024 * 1024) -> None:
    """A Jenkins home as a 2.4xx controller leaves it: jobs with builds and permalink symlinks,
    folders, secrets, plugins (packed and unpacked), workspaces and caches (to be excluded)."""
    home.mkdir(parents=True, exist_ok=True)
    _w(home / "config.xml", "<?xml version='1.1' encoding='UTF-8'?>\n<hudson>\n  <version>2.492.3</version>\n</hudson>\n")
    _w(home / "credentials.xml", "<com.cloudbees.plugins.credentials.SystemCredentialsProvider/>\n", 0o600)
    _w(home / "secrets" / "master.key", os.urandom(256).hex(), 0o600)
    _w(home / "secrets" / "hudson.util.Secret", os.urandom(272), 0o600)
    _w(home / "secrets" / "initialAdminPassword", "", 0o640)  # empty file
    os.chmod(home / "secrets", 0o700)
    for job in ("app", "team/jobs/svc"):
        j = home / "jobs" / job
        _w(j / "config.xml", f"<flow-definition><description>{job}</description></flow-definition>\n")
        _w(j / "nextBuildNumber", "3\n")
        for n in (1, 2):
            b = j / "builds" / str(n)
            _w(b / "build.xml", f"<run><number>{n}</number><result>SUCCESS</result></run>\n")
            _w(b / "log", "".join(f"line {i} of build {n}\n" for i in range(500)))
        os.symlink("2", j / "builds" / "lastSuccessfulBuild")
        os.symlink("-1", j / "builds" / "lastFailedBuild")  # Jenkins' "none" permalink (dangling)
        os.symlink("builds/lastSuccessfulBuild", j / "lastSuccessful")  # the old job-level alias
        _w(j / "builds" / "permalinks", "lastSuccessfulBuild 2\nlastFailedBuild -1\n")
    _w(home / "jobs" / "team" / "config.xml", "<com.cloudbees.hudson.plugins.folder.Folder/>\n")
    # a job literally named "workspace" inside a folder: data, not a workspace
    _w(home / "jobs" / "team" / "jobs" / "workspace" / "config.xml", "<flow-definition/>\n")
    _w(home / "jobs" / "app" / "workspace" / "junk.o", b"\0" * 100)  # old per-job workspace: excluded
    _w(home / "workspace" / "app" / "target" / "app.jar", b"PK" + os.urandom(1000))
    _w(home / "workspace" / "app@tmp" / "x", "tmp")
    _w(home / "caches" / "git-0123abcd" / "HEAD", "ref: refs/heads/main\n")
    _w(home / "war" / "WEB-INF" / "web.xml", "<web-app/>\n")
    _jpi(home / "plugins" / "git.jpi", "5.7.0")
    _jpi(home / "plugins" / "workflow-job.jpi", "1540.v295eccc9778f")
    _w(home / "plugins" / "git.jpi.pinned", "")
    _w(home / "plugins" / "git" / "META-INF" / "MANIFEST.MF", "unpacked\n")
    _w(home / "userContent" / "run me.sh", "#!/bin/sh\necho hi\n", 0o755)
    _w(home / "userContent" / "ünïcödé-名前.txt", "utf-8 names\n")
    _w(home / "userContent" / "big.bin", os.urandom(big))
    _w(home / "userContent" / "frozen" / "readme", "read-only folder\n", 0o444)
    os.chmod(home / "userContent" / "frozen", 0o555)
    _w(home / "fingerprints" / "ab" / "cd" / "0123.xml", "<fingerprint/>\n")
    os.link(home / "fingerprints" / "ab" / "cd" / "0123.xml", home / "fingerprints" / "ab" / "cd" / "same.xml")
    os.symlink("../jobs/app", home / "userContent" / "app-link")
    if AS_ROOT:
        for dirpath, dirnames, filenames in os.walk(home):
            for n in [dirpath] + [os.path.join(dirpath, x) for x in dirnames + filenames]:
                os.lchown(n, UID, GID)
        os.lchown(home / "userContent" / "run me.sh", 1001, 1002)  # a stray owner is restored as is


EXCLUDED_BY_DEFAULT = {"jobs/app/workspace", "workspace", "caches", "war", "plugins/git"}


def snapshot(root: Path, skip: set[str] = frozenset()) -> dict[str, tuple[Any, ...]]:
    """Every entry below root: type, mode, owner, content hash or link target, and hard-link groups."""
    out: dict[str, tuple[Any, ...]] = {}
    inodes: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for n in sorted(dirnames + filenames):
            rel = os.path.normpath(os.path.join(rel_dir, n))
            if any(rel == s or rel.startswith(s + "/") for s in skip):
                if n in dirnames:
                    dirnames.remove(n)
                continue
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            base = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = base + (os.readlink(p),)
                if n in dirnames:
                    dirnames.remove(n)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                first = inodes.setdefault(key, rel)
                out[rel] = base + (hashlib.sha256(Path(p).read_bytes()).hexdigest(), first)
            else:
                out[rel] = base + (int(st.st_mtime),)
    return out


# ---------------------------------------------------------------- hand-made archives


def make_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], *, with_meta: bool = True) -> Path:
    """A gzip'd tar with a genuine jenkins-kit header and a manifest whose checksums match, around
    the given members: so only member safety can make a restore refuse it."""
    files = {}
    links = {}
    for ti, data in members:
        if ti.isreg() and ti.name.startswith("home/") and data is not None:
            files[ti.name[5:]] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        if ti.issym() and ti.name.startswith("home/"):
            links[ti.name[5:]] = ti.linkname
    header = {"format": "jenkins-kit-backup", "format_version": 1, "created": "2026-01-01T00:00:00Z",
              "jenkins_kit_version": "0.1.0", "jenkins_version": "2.492.3", "source": "/nfs_shared/jenkins"}
    manifest = {**header, "plugins": [], "file_count": len(files), "files": files, "symlinks": links,
                "hardlinks": {}, "dir_count": 0, "symlink_count": len(links), "hardlink_count": 0, "total_bytes": 0}
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        def add(name: str, data: bytes) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))

        if with_meta:
            add("jenkins-kit-backup.json", json.dumps(header).encode())
            root = tarfile.TarInfo("home")
            root.type, root.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(root)
        for ti, data in members:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        if with_meta:
            add("jenkins-kit-manifest.json", json.dumps(manifest).encode())
    return path


def member(name: str, kind: str = "f", data: bytes = b"x", linkname: str = "", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes | None]:
    ti = tarfile.TarInfo(name)
    ti.mode = mode
    ti.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE,
               "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    ti.linkname = linkname
    if kind in ("chr", "blk"):
        ti.devmajor, ti.devminor = 1, 3
    if kind == "f":
        ti.size = len(data)
        return ti, data
    return ti, None
