"""Writing a rendered bundle to a folder: all or nothing, idempotent, and cheap in system calls.

Its own module so `jobs render` writes without importing the renderers of the whole bundle (Helm
values, JCasC, manifests). The bundle itself (`Bundle`, `render_bundle`) is in render/bundle.py.

Plain `os` calls on `str` paths, not pathlib: at 1,000 jobs the writer makes some 3,000 calls, and
pathlib's object per path and its `stat` per `is_file()`/`exists()` were most of its cost. One
`lstat` per path answers both "is something in the way" and "is there a file to compare with"; a
folder found missing is not looked into.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from jenkins_kit.errors import ExitCode, KitError

MANIFEST = ".jenkins-kit-bundle"  # the files the last render wrote: only those are ever removed
_MISSING = -1  # "nothing there", as an lstat mode


class Files(Protocol):
    """What gets written: `Bundle`, or any object with the same mapping of relative path -> text."""

    @property
    def files(self) -> Mapping[str, str]: ...


class BundleConflict(KitError):
    """Something in the output folder is in the way (a file where a folder must go, or the reverse)."""

    exit_code = ExitCode.INPUT


def _modes(files: Mapping[str, str], out: str) -> tuple[dict[str, int], list[str]]:
    """lstat mode of every folder and file the bundle needs under `out` (or _MISSING), and the problems:
    a file or link where a folder must go, a folder or link where a file must go."""
    modes: dict[str, int] = {}
    problems: list[str] = []

    def mode(rel: str) -> int:
        m = modes.get(rel)
        if m is None:
            parent = rel.rpartition("/")[0]
            if parent and mode(parent) != stat.S_IFDIR:
                m = _MISSING  # under a missing folder (or one already reported in the way): nothing to look at
            else:
                try:
                    m = stat.S_IFMT(os.lstat(os.path.join(out, rel)).st_mode)
                except (FileNotFoundError, NotADirectoryError):
                    m = _MISSING
            modes[rel] = m
        return m

    dirs: set[str] = set()
    for rel in files:
        parts = rel.split("/")
        for k in range(1, len(parts)):
            d = "/".join(parts[:k])
            if d in dirs:
                continue
            dirs.add(d)
            m = mode(d)
            if m != _MISSING and m != stat.S_IFDIR:
                problems.append(f"{os.path.join(out, d)} is a file (or a link); the bundle needs a folder there")
        m = mode(rel)
        if m != _MISSING and m != stat.S_IFREG:
            problems.append(f"{os.path.join(out, rel)} is a folder (or a link); the bundle writes a file there")
    return modes, problems


def _previous(raw: bytes | None) -> list[str]:
    """The paths the last render listed in MANIFEST (its raw bytes), minus anything pointing outside."""
    try:
        lines = (raw or b"").decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return []
    return [ln for ln in lines if ln and not ln.startswith("#") and ".." not in ln.split("/") and not ln.startswith("/")]


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _write_new(path: str, data: bytes, mode: int, *, again: bool = False) -> None:
    """A new file with exactly `mode` whatever the umask (fchmod: no second path lookup). `again`:
    it may already be there, half written by a forked copy that failed (in our own staging folder)."""
    excl = os.O_TRUNC if again else os.O_EXCL
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | excl | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


_PARALLEL_FROM = 64  # files; below this a thread pool costs more than it saves
_PROBE = 32  # files written on one thread first, timed
_SLOW_S = 100e-6  # a file taking longer than this to create (its folder included) is kernel-bound


Work = Callable[[str, list[tuple[str, bytes]]], None]


def _by_folder(files: list[tuple[str, bytes]], work: Work, redo: Work | None = None) -> None:
    """`work(folder, files in it)` for every folder: half of them in a forked copy of this process
    when `redo` (the same work, tolerating what a failed copy left) is given and a fork is possible,
    else on a few threads once creating files proves slow.

    Why a copy: each file is a few system calls, and two processes make them on two cores with no
    lock between them, on a tmpfs as on a disk (1,000 folders of two files on /dev/shm: 23 ms ->
    13 ms). The copy shares the texts with this process (fork), so nothing is sent back; if it fails,
    this process does its half again, and the first error in file order is the one raised.

    Why threads: creating a file or a folder is kernel work that runs outside the GIL, and on the
    virtual disks this project runs on it costs 0.1-0.3 ms of CPU each; a 1,000-job `jobs render`
    makes ~3,000 of them, most of its time. Two threads on two cores halve that (1,000 folders of two
    files: 2.5 s -> 1.3 s). On a tmpfs or a fast local disk a create is ~10 us and threads only add
    contention (0.028 s -> 0.04 s), hence the probe: the first folders are written on this thread and
    timed, and the rest go to the pool only when a file took longer than _SLOW_S. Folders are
    independent (`os.makedirs` tolerates a parent made meanwhile), so the result is the same as one
    thread's; the first error in file order is the one raised."""
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for item in files:
        groups.setdefault(item[0].rpartition("/")[0], []).append(item)
    items = list(groups.items())
    if redo is not None and len(files) >= _PARALLEL_FROM:
        from jenkins_kit.render import parallel

        if parallel.can_fork():
            k, seen = 0, 0
            while k < len(items) and seen < len(files) // 2:
                seen += len(items[k][1])
                k += 1
            first, second = items[:k], items[k:]
            parallel.with_copy(lambda: _each(work, first), lambda: _each(work, second), lambda: _each(redo, second))
            return
    threads = min(4, os.cpu_count() or 1)
    done = k = 0
    t0 = time.perf_counter()
    while k < len(items) and (done < _PROBE or len(files) < _PARALLEL_FROM or threads < 2):
        work(*items[k])
        done += len(items[k][1])
        k += 1
    if k == len(items):
        return
    if time.perf_counter() - t0 < _SLOW_S * done:
        for d, group in items[k:]:
            work(d, group)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(work, d, group) for d, group in items[k:]]:
            f.result()


def _each(work: Work, items: list[tuple[str, list[tuple[str, bytes]]]]) -> None:
    for d, group in items:
        work(d, group)


def write_bundle(bundle: Files, out: Path, scope: str = "") -> list[tuple[str, str]]:
    """Write the bundle into `out`; returns (path, status): created/updated/unchanged/removed.

    All or nothing: conflicts are found before anything is written, changed files are first written
    into a staging folder beside them, and only then moved into place (one rename each; a new `out`
    is the staging folder renamed, so it appears complete or not at all). Files the previous render
    wrote (listed in MANIFEST) that this config no longer renders are removed, so `kubectl apply -f
    k8s/` never applies a stale object; files anyone else put there are kept. Unchanged files are not
    touched. Idempotent. `scope` ("jobs/") limits what counts as stale to that folder, for commands
    that write only part of a bundle (`jobs render`).
    """
    files = bundle.files
    o = os.fspath(out)
    try:
        out_mode = stat.S_IFMT(os.stat(o).st_mode)  # follows a link to a folder, as before
    except (FileNotFoundError, NotADirectoryError):
        out_mode = _MISSING
    modes: dict[str, int] = {}  # nothing under a folder that is not there can be in the way
    problems: list[str] = []
    if out_mode != _MISSING and out_mode != stat.S_IFDIR:
        problems = [f"{out} is a file; the bundle needs a folder there"]
    elif out_mode != _MISSING:
        modes, problems = _modes(files, o)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise BundleConflict(f"cannot write the bundle: {shown}", "move those out of the way (nothing was written)")
    results: list[tuple[str, str]] = []
    changed: list[tuple[str, bytes]] = []
    for rel, text in files.items():
        data = text.encode("utf-8")
        if modes.get(rel) == stat.S_IFREG:
            if _read(os.path.join(o, rel)) == data:
                results.append((rel, "unchanged"))
                continue
            results.append((rel, "updated"))
        else:
            results.append((rel, "created"))
        changed.append((rel, data))
    last_manifest = _read(os.path.join(o, MANIFEST)) if out_mode != _MISSING else None
    previous = _previous(last_manifest)
    stale = [rel for rel in previous if rel.startswith(scope) and rel not in files and os.path.isfile(os.path.join(o, rel))]
    kept = {rel for rel in previous if not rel.startswith(scope)}
    manifest = "# Files written by `jenkins-kit render`; a later render removes those it no longer writes.\n" + "".join(
        f"{rel}\n" for rel in sorted(set(files) | kept)
    )
    if not changed and not stale and last_manifest == manifest.encode("utf-8"):
        return results  # a rerun with nothing to do writes nothing at all
    parent = os.path.dirname(os.path.abspath(o))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(o))}.jenkins-kit-", dir=parent)
    try:
        def stage(d: str, group: list[tuple[str, bytes]], again: bool = False) -> None:
            if d:
                os.makedirs(os.path.join(staging, d), exist_ok=True)
            for rel, data in group:
                _write_new(os.path.join(staging, rel), data, 0o755 if rel.endswith(".sh") else 0o644, again=again)

        _by_folder(changed + [(MANIFEST, manifest.encode("utf-8"))], stage, lambda d, group: stage(d, group, again=True))
        if out_mode == _MISSING:
            os.chmod(staging, 0o755)
            os.rename(staging, o)
            return results

        def move(d: str, group: list[tuple[str, bytes]]) -> None:
            if d:
                os.makedirs(os.path.join(o, d), exist_ok=True)
            for rel, _ in group:
                os.replace(os.path.join(staging, rel), os.path.join(o, rel))

        _by_folder(changed + [(MANIFEST, b"")], move)
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    for rel in stale:
        try:
            os.unlink(os.path.join(o, rel))
        except FileNotFoundError:
            pass
        results.append((rel, "removed"))
        d = os.path.dirname(os.path.join(o, rel))
        while os.path.normpath(d) != os.path.normpath(o) and os.path.isdir(d) and not os.listdir(d):
            os.rmdir(d)
            d = os.path.dirname(d)
    return results
