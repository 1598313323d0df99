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
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

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


def _modes(files: Iterable[str], out: str) -> tuple[dict[str, int], list[str]]:
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


def _write_staged(path: str, data: bytes, mode: int) -> None:
    """A file in our own staging folder with exactly `mode` whatever the umask (fchmod: no second path
    lookup). It may be there already, half written by a forked copy that failed: then it is rewritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


_PARALLEL_FROM = 64  # files; below this a thread pool or a forked copy costs more than it saves
_JOBS_PARALLEL_FROM = 64  # jobs rendered and staged by write_jobs
_PROBE = 32  # files written on one thread first, timed
_SLOW_S = 100e-6  # a file taking longer than this to create (its folder included) is kernel-bound

Work = Callable[[str, list[tuple[str, Any]]], None]


def _by_folder(files: list[tuple[str, Any]], work: Work) -> None:
    """`work(folder, files in it)` for every folder; on a few threads once creating files proves slow.

    Why threads: creating a file or a folder is kernel work that runs outside the GIL, and on the
    virtual disks this project runs on it costs 0.1-0.9 ms of CPU each; a 1,000-job `jobs render`
    makes ~3,000 of them, most of its time. Two threads on two cores halve that (1,000 folders of two
    files: 2.5 s -> 1.3 s). On a tmpfs or a fast local disk a create is ~10 us and threads only add
    contention (0.028 s -> 0.04 s), hence the probe: the first folders are written on this thread and
    timed, and the rest go to the pool only when a file took longer than _SLOW_S. Folders are
    independent (`os.makedirs` tolerates a parent made meanwhile), so the result is the same as one
    thread's; the first error in file order is the one raised. (Staging prefers forked copies, see
    `_stage_all`; this is for moving files into place, and for staging where there is no fork.)"""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for item in files:
        groups.setdefault(item[0].rpartition("/")[0], []).append(item)
    items = list(groups.items())
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


class BundleWriter:
    """`write_bundle` in three steps: check (at construction, from the paths alone), `stage` each
    text, `commit`. Apart so that each text can be staged by whichever process rendered it
    (`write_jobs`): a text then never crosses a pipe, and writing proceeds on every core.

    All or nothing: conflicts are found before anything is written, changed files are first written
    into a staging folder beside `out`, and only `commit` moves them into place (one rename each; a
    new `out` is the staging folder renamed, so it appears complete or not at all). `discard` (or a
    failing `commit`) removes the staging folder; `out` is then as it was."""

    def __init__(self, out: Path, paths: Sequence[str], scope: str = "") -> None:
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
            modes, problems = _modes(paths, o)
        if problems:
            shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
            raise BundleConflict(f"cannot write the bundle: {shown}", "move those out of the way (nothing was written)")
        self.out, self._o, self._out_mode, self._modes = out, o, out_mode, modes
        self._paths, self._scope = list(paths), scope
        parent, base = os.path.split(os.path.abspath(o))
        self._parent = parent
        # Named now and made on first need, by whichever process stages first (so a rerun with
        # nothing to change makes nothing at all); unguessable, as mkdtemp's.
        self._staging = os.path.join(parent, f".{base}.jenkins-kit-{os.urandom(8).hex()}")
        self._made: set[str] = set()

    def _folder(self, d: str) -> None:
        if d in self._made:
            return
        if not self._made:
            os.makedirs(self._parent, exist_ok=True)
            try:
                os.mkdir(self._staging, 0o700)
            except FileExistsError:  # made by another process of this same write (a forked copy)
                st = os.lstat(self._staging)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                    raise
            self._made.add("")
        if d:
            os.makedirs(os.path.join(self._staging, d), exist_ok=True)
            self._made.add(d)

    def stage(self, rel: str, text: str) -> str:
        """Stage one file unless it is there with the same bytes: created, updated or unchanged."""
        data = text.encode("utf-8")
        if self._modes.get(rel) == stat.S_IFREG:
            if _read(os.path.join(self._o, rel)) == data:
                return "unchanged"
            status = "updated"
        else:
            status = "created"
        self._folder(rel.rpartition("/")[0])
        _write_staged(os.path.join(self._staging, rel), data, 0o755 if rel.endswith(".sh") else 0o644)
        return status

    def discard(self) -> None:
        if os.path.lexists(self._staging):
            import shutil  # only here: a write that succeeds has nothing staged left to remove

            shutil.rmtree(self._staging, ignore_errors=True)

    def commit(self, statuses: Sequence[str]) -> list[tuple[str, str]]:
        """Move what was staged into place (`statuses`: what `stage` said of each path, in order), then
        remove the files the previous render wrote (MANIFEST) that this one no longer does, so
        `kubectl apply -f k8s/` never applies a stale object; files anyone else put there are kept.
        Returns (path, status): created/updated/unchanged/removed."""
        o = self._o
        results = list(zip(self._paths, statuses, strict=True))
        changed = [(rel, None) for rel, st in results if st != "unchanged"]
        want = set(self._paths)
        last_manifest = _read(os.path.join(o, MANIFEST)) if self._out_mode != _MISSING else None
        previous = _previous(last_manifest)
        scope = self._scope
        stale = [rel for rel in previous if rel.startswith(scope) and rel not in want and os.path.isfile(os.path.join(o, rel))]
        kept = {rel for rel in previous if not rel.startswith(scope)}
        manifest = "# Files written by `jenkins-kit render`; a later render removes those it no longer writes.\n" + "".join(
            f"{rel}\n" for rel in sorted(want | kept)
        )
        try:
            if not changed and not stale and last_manifest == manifest.encode("utf-8"):
                return results  # a rerun with nothing to do writes nothing at all
            self._made.clear()  # a forked copy may have made the staging folder: make sure, once more
            self._folder("")
            _write_staged(os.path.join(self._staging, MANIFEST), manifest.encode("utf-8"), 0o644)
            if self._out_mode == _MISSING:
                os.chmod(self._staging, 0o755)
                os.rename(self._staging, o)
                return results

            def move(d: str, group: list[tuple[str, Any]]) -> None:
                if d:
                    os.makedirs(os.path.join(o, d), exist_ok=True)
                for rel, _ in group:
                    os.replace(os.path.join(self._staging, rel), os.path.join(o, rel))

            _by_folder(changed + [(MANIFEST, None)], move)
        finally:
            self.discard()
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


def _stage_all(w: BundleWriter, items: list[tuple[str, str]]) -> list[str]:
    """`w.stage` over every file: in forked copies when there are many (parallel.py), else on this
    thread, or on a few when creating files proves slow (`_by_folder`)."""
    from jenkins_kit.render import parallel

    if len(items) >= _PARALLEL_FROM and parallel.can_fork():
        return parallel.map_forked(items, lambda it: w.stage(*it))
    statuses: dict[str, str] = {}

    def stage(_d: str, group: list[tuple[str, Any]]) -> None:
        for rel, text in group:
            statuses[rel] = w.stage(rel, text)

    _by_folder(items, stage)
    return [statuses[rel] for rel, _ in items]


def write_bundle(bundle: Files, out: Path, scope: str = "") -> list[tuple[str, str]]:
    """Write the bundle into `out` (see `BundleWriter`); returns (path, status):
    created/updated/unchanged/removed. Unchanged files are not touched; idempotent. `scope`
    ("jobs/") limits what counts as stale to that folder, for commands that write only part of a
    bundle (`jobs render`)."""
    items = list(bundle.files.items())
    w = BundleWriter(out, [rel for rel, _ in items], scope)
    try:
        return w.commit(_stage_all(w, items))
    finally:
        w.discard()


class JobTexts(Protocol):
    """A rendered job as `write_jobs` needs it (render/jobs.py `RenderedJob`): its texts are asked
    for only by the process that stages them."""

    full_name: str

    @property
    def has_jenkinsfile(self) -> bool: ...

    @property
    def config_xml(self) -> str: ...

    @property
    def jenkinsfile(self) -> str | None: ...


def job_files(job: JobTexts, scope: str = "jobs/") -> list[str]:
    """The paths a job is written to, known before it is rendered."""
    base = f"{scope}{job.full_name}"
    return [f"{base}/config.xml", f"{base}/Jenkinsfile"] if job.has_jenkinsfile else [f"{base}/config.xml"]


def write_jobs(jobs: Sequence[JobTexts], out: Path, scope: str = "jobs/") -> list[tuple[str, str]]:
    """Render and write jobs (`jobs render`): `scope`<name>/config.xml and, for a generated pipeline,
    its Jenkinsfile. Each job is rendered and staged by the same process, in forked copies when there
    are many (parallel.py), so no text crosses a pipe and the files are written on every core; the
    first render error is a serial render's, and nothing is written then."""
    paths = [p for j in jobs for p in job_files(j, scope)]
    w = BundleWriter(out, paths, scope)

    def one(j: JobTexts) -> list[str]:
        rels = job_files(j, scope)
        texts = [j.config_xml] + ([j.jenkinsfile or ""] if j.has_jenkinsfile else [])
        return [w.stage(rel, text) for rel, text in zip(rels, texts, strict=True)]

    try:
        if len(jobs) >= _JOBS_PARALLEL_FROM:
            from jenkins_kit.render import parallel

            per_job = parallel.map_forked(jobs, one)
        else:
            per_job = [one(j) for j in jobs]
        return w.commit([st for sts in per_job for st in sts])
    finally:
        w.discard()
