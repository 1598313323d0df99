"""The NFS host side: export folder with the right owner, one line in /etc/exports, `exportfs -ra`.

Run as root on the NFS server (`jenkins-kit nfs export`). `root` and `exports_file` let tests run
it against a temporary tree. Every other line and comment of the exports file is kept byte for
byte; the file is backed up before it changes and replaced atomically; a line `exportfs` would
reject is refused before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.errors import ExitCode, KitError

SYSTEM_EXPORTS = Path("/etc/exports")
SYSTEM_EXPORTS_D = Path("/etc/exports.d")


class NfsError(KitError):
    exit_code = ExitCode.ERROR


class InvalidExport(KitError):
    exit_code = ExitCode.USAGE


# ---------------------------------------------------------------- exports(5) syntax

from jenkins_kit.config.exports_syntax import client_problem, option_problem  # noqa: E402,F401  (re-exported)


@dataclass(frozen=True)
class ExportClient:
    spec: str
    options: tuple[str, ...]

    def format(self) -> str:
        return f"{self.spec}({','.join(self.options)})"


@dataclass(frozen=True)
class ExportEntry:
    path: str
    clients: tuple[ExportClient, ...]
    default_options: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        out = []
        if not self.path.startswith("/"):
            out.append(f"export path {self.path!r} is not absolute")
        if not self.clients:
            out.append("no client: exportfs would export to the world with a warning; name the clients")
        if self.default_options:
            p = option_problem(list(self.default_options))
            if p:
                out.append(p)
        for c in self.clients:
            p = client_problem(c.spec)
            if p:
                out.append(p)
            p = option_problem(list(c.options)) if c.options or c.spec else None
            if p:
                out.append(f"{c.spec}: {p}")
        return out


def unescape_path(token: str) -> str:
    """An exports path token: `"quoted path"` or `\\040`-style octal escapes."""
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        token = token[1:-1]
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), token)


def escape_path(path: str) -> str:
    return re.sub(r"[\s\\#\"]", lambda m: f"\\{ord(m.group(0)):03o}", path)


def _tokens(text: str) -> list[str]:
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            cur += ch
        elif ch.isspace() and not quoted:
            if cur:
                out.append(cur)
                cur = ""
        else:
            cur += ch
    if quoted:
        raise InvalidExport(f"unterminated quote in exports line: {text!r}")
    if cur:
        out.append(cur)
    return out


def parse_entry(line: str) -> ExportEntry:
    """Parse one logical exports line (comments stripped). Raises InvalidExport on bad syntax."""
    toks = _tokens(line.split("#", 1)[0] if '"' not in line else line)
    if not toks:
        raise InvalidExport("empty exports line")
    path = unescape_path(toks[0])
    defaults: tuple[str, ...] = ()
    clients: list[ExportClient] = []
    for t in toks[1:]:
        if t.startswith("-") and not clients and not defaults:
            defaults = tuple(o for o in t[1:].split(",") if o)
            continue
        m = re.fullmatch(r"([^()]*)(?:\(([^()]*)\))?", t)
        if not m:
            raise InvalidExport(f"cannot parse client {t!r} in exports line {line!r}")
        spec, opts = m.group(1), m.group(2)
        if spec == "" and opts is None:
            raise InvalidExport(f"cannot parse client {t!r}")
        clients.append(ExportClient(spec or "*", tuple(o for o in (opts or "").split(",") if o) if opts is not None else ()))
    return ExportEntry(path, tuple(clients), defaults)


def validate_line(line: str) -> ExportEntry:
    """Parse and check a line as exportfs would; InvalidExport lists every problem."""
    if "\n" in line or "\r" in line:
        raise InvalidExport("an exports line cannot contain a line break")
    entry = parse_entry(line)
    problems = entry.problems()
    if problems:
        raise InvalidExport(
            "refusing to write an exports line exportfs would reject: " + "; ".join(problems),
            "fix nfs.clients / nfs.options in the config (clients: host, IP, network/prefix, *.domain wildcard or @netgroup)",
        )
    return entry


def export_line(cfg: LabConfig) -> str:
    """The configured line, rendered by the render layer (one source of truth with `render`)."""
    from jenkins_kit.render.nfs import export_line as render_line

    return render_line(cfg)


# ---------------------------------------------------------------- exports file editing


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first physical line, last physical line, joined text) of each logical line (backslash continuation)."""
    phys = text.splitlines()
    out, i = [], 0
    while i < len(phys):
        start, joined = i, phys[i]
        while joined.endswith("\\") and i + 1 < len(phys):
            i += 1
            joined = joined[:-1] + " " + phys[i]
        out.append((start, i, joined))
        i += 1
    return out


def _entry_path(logical: str) -> str | None:
    s = logical.strip()
    if not s or s.startswith("#"):
        return None
    try:
        toks = _tokens(s)
    except InvalidExport:
        return None
    return unescape_path(toks[0]).rstrip("/") or "/" if toks else None


def upsert_export(text: str, path: str, line: str) -> tuple[str, str]:
    """Return (new text, action) with exactly one line for `path`: 'added', 'updated' or 'unchanged'.

    Every other line (comments, blank lines, other exports, continuations) is kept byte for byte.
    """
    want = path.rstrip("/") or "/"
    matches = [(a, b, l) for a, b, l in _logical_lines(text) if _entry_path(l) == want]
    if len(matches) > 1:
        lines = ", ".join(str(a + 1) for a, _, _ in matches)
        raise NfsError(
            f"the exports file has {len(matches)} entries for {path} (lines {lines})",
            "merge them into one by hand; jenkins-kit will not guess which one to keep",
        )
    phys = text.splitlines(keepends=True)
    if not matches:
        if phys and not phys[-1].endswith("\n"):
            phys[-1] += "\n"
        phys.append(line + "\n")
        return "".join(phys), "added"
    a, b, logical = matches[0]
    if logical.strip() == line.strip() and a == b:
        return text, "unchanged"
    ending = "\n" if phys[b].endswith("\n") or b + 1 < len(phys) else ""
    new = phys[:a] + [line + ending] + phys[b + 1 :]
    return "".join(new), "updated"


def _is_system_exports(p: Path) -> bool:
    p = p.resolve() if p.exists() else p.absolute()
    return p == SYSTEM_EXPORTS or (p.parent == SYSTEM_EXPORTS_D and p.name.endswith(".exports"))


def _write_atomic(path: Path, text: str, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- the command


@dataclass
class Step:
    name: str
    status: str  # done | would (dry run) | unchanged | skipped | warn
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"step": self.name, "status": self.status, "detail": self.detail}


@dataclass
class ExportResult:
    directory: str
    exports_file: str
    line: str
    steps: list[Step] = field(default_factory=list)
    backup: str | None = None

    @property
    def changed(self) -> bool:
        return any(s.status in ("done", "would") for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "exports_file": self.exports_file,
            "line": self.line,
            "backup": self.backup,
            "changed": self.changed,
            "steps": [s.to_json() for s in self.steps],
        }


def _chown(path: Path, uid: int, gid: int) -> None:
    try:
        os.lchown(path, uid, gid)
    except PermissionError:
        raise NfsError(
            f"cannot chown {path} to {uid}:{gid}: permission denied",
            "run 'jenkins-kit nfs export' as root on the NFS server (sudo)",
        ) from None


def export(
    cfg: LabConfig,
    *,
    root: str | os.PathLike[str] | None = None,
    exports_file: str | os.PathLike[str] | None = None,
    reload: bool = True,
    chown_recursive: bool = False,
    dry_run: bool = False,
    exportfs: str | None = None,
    line: str | None = None,
) -> ExportResult:
    """Make the export exist as configured. Idempotent: a second run changes nothing."""
    nfs = cfg.nfs
    root_path = Path(root) if root is not None else Path("/")
    directory = root_path / nfs.path.lstrip("/")
    exp = Path(exports_file) if exports_file is not None else root_path / "etc" / "exports"
    line = line if line is not None else export_line(cfg)
    entry = validate_line(line)
    if (entry.path.rstrip("/") or "/") != nfs.path.rstrip("/"):
        raise InvalidExport(f"the exports line is for {entry.path}, not {nfs.path}")
    result = ExportResult(str(directory), str(exp), line)
    done = "would" if dry_run else "done"  # a dry run reports what it would do, never "done"

    # 1. the folder
    if directory.is_symlink():
        raise NfsError(f"{directory} is a symbolic link", "export a real directory; jenkins-kit does not follow links it would chown")
    if directory.exists() and not directory.is_dir():
        raise NfsError(f"{directory} exists and is not a directory", "move it away or choose another nfs.path")
    if not directory.exists():
        if not dry_run:
            directory.mkdir(parents=True, mode=0o755)
            os.chmod(directory, 0o755)
        result.steps.append(Step("directory", done, f"create {directory}" if dry_run else f"created {directory}"))
    else:
        result.steps.append(Step("directory", "unchanged", f"{directory} exists"))

    # 2. ownership (never recursive through existing data unless asked)
    uid, gid = nfs.uid, nfs.gid
    st = directory.stat() if directory.exists() else None
    if st is not None and (st.st_uid, st.st_gid) == (uid, gid):
        result.steps.append(Step("owner", "unchanged", f"{directory} is owned by {uid}:{gid}"))
    else:
        before = f"{st.st_uid}:{st.st_gid}" if st else "new"
        if not dry_run:
            _chown(directory, uid, gid)
            st2 = directory.stat()
            if (st2.st_uid, st2.st_gid) != (uid, gid):
                raise NfsError(
                    f"{directory} is owned by {st2.st_uid}:{st2.st_gid} after chown, not {uid}:{gid}",
                    "the file system may squash or ignore ownership (root_squash on a nested mount?); fix it on the server",
                )
        result.steps.append(Step("owner", done, f"chown {uid}:{gid} {directory} (was {before})" + ("" if dry_run else "; verified")))
    if directory.exists():
        foreign = []
        count = 0
        if chown_recursive:
            for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
                for n in dirnames + filenames:
                    p = Path(dirpath) / n
                    s = p.lstat()
                    if (s.st_uid, s.st_gid) != (uid, gid):
                        count += 1
                        if not dry_run:
                            _chown(p, uid, gid)
            result.steps.append(
                Step("owner-recursive", done if count else "unchanged", f"{count} entr{'y' if count == 1 else 'ies'} inside chowned to {uid}:{gid}")
            )
        else:
            for p in directory.iterdir():
                s = p.lstat()
                if (s.st_uid, s.st_gid) != (uid, gid):
                    foreign.append(p.name)
            if foreign:
                shown = ", ".join(sorted(foreign)[:5]) + (" ..." if len(foreign) > 5 else "")
                result.steps.append(
                    Step("owner-inside", "warn", f"{len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} inside not owned by {uid}:{gid} ({shown}); "
                         "Jenkins may fail to write them: rerun with --chown-recursive to fix")
                )

    # 3. the exports line
    try:
        old = exp.read_text(encoding="utf-8")
        mode = stat.S_IMODE(exp.stat().st_mode)
        existed = True
    except FileNotFoundError:
        old, mode, existed = "", 0o644, False
    new, action = upsert_export(old, nfs.path, line)
    if action == "unchanged":
        result.steps.append(Step("exports", "unchanged", f"{exp} already exports {nfs.path} as configured"))
    else:
        if not dry_run:
            if existed:
                backup = exp.with_name(f"{exp.name}.jenkins-kit-{time.strftime('%Y%m%d%H%M%S')}.bak")
                shutil.copy2(exp, backup)
                result.backup = str(backup)
            else:
                exp.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(exp, new, mode)
        verb = {"added": "add", "updated": "update", "replaced": "replace"}.get(action, action) if dry_run else action
        result.steps.append(Step("exports", done, f"{verb} the line for {nfs.path} in {exp}" + (f" (backup {result.backup})" if result.backup else "")))

    # 4. reload
    exportfs_bin = exportfs or shutil.which("exportfs")
    if not reload:
        result.steps.append(Step("reload", "skipped", "--no-reload given; run 'exportfs -ra' to apply"))
    elif not _is_system_exports(exp):
        result.steps.append(Step("reload", "skipped", f"{exp} is not /etc/exports (or /etc/exports.d/*.exports); not reloading the live NFS server"))
    elif exportfs_bin is None:
        result.steps.append(Step("reload", "skipped", "exportfs not found: install nfs-kernel-server (Debian) or nfs-utils, then run 'exportfs -ra'"))
    elif action == "unchanged" and not result.changed:
        result.steps.append(Step("reload", "unchanged", "nothing changed; no reload needed"))
    elif dry_run:
        result.steps.append(Step("reload", "skipped", "dry run"))
    else:
        proc = subprocess.run([exportfs_bin, "-ra"], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            if result.backup:
                shutil.copy2(result.backup, exp)
                restored = f"; {exp} restored from {result.backup}"
            else:
                restored = ""
            raise NfsError(f"exportfs -ra failed (exit {proc.returncode}): {proc.stderr.strip()}{restored}", "check the line with 'exportfs -v' and the server's logs")
        result.steps.append(Step("reload", "done", "exportfs -ra" + (f": {proc.stderr.strip()}" if proc.stderr.strip() else "")))
    return result
