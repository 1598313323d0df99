"""What goes into a backup archive and what may come out of one: exclude patterns and member safety.

One checker (`member_problems`) serves backup, verify and restore, so a tree that backs up is a
tree that restores. It never touches the file system: symlink targets are resolved against the
archive's own members (a link through another link is followed, as the kernel would after a
restore), so a chain of individually harmless links cannot walk out of the target either.
"""

from __future__ import annotations

import posixpath
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HEADER_NAME = "jenkins-kit-backup.json"
MANIFEST_NAME = "jenkins-kit-manifest.json"
HOME = "home"
FORMAT = "jenkins-kit-backup"
FORMAT_VERSION = 1

# What Jenkins rebuilds by itself (or what is only a cache); paths relative to JENKINS_HOME.
# `*` matches within one path segment, `**` any number of segments, a trailing `/` only directories.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    "workspace/",                       # built-in node workspaces (${JENKINS_HOME}/workspace/${ITEM_FULL_NAME})
    "jobs/*/workspace/",                # old per-job workspace layout
    "jobs/*/workspace@*/",
    "jobs/**/jobs/*/workspace/",        # ... of jobs inside folders
    "jobs/**/jobs/*/workspace@*/",
    "jobs/**/branches/*/workspace/",    # ... of multibranch branch jobs
    "jobs/**/branches/*/workspace@*/",
    "caches/",                          # git and library caches (caches/git-*, ...)
    ".cache/",
    "war/",                             # the unpacked jenkins.war (--webroot default)
    "plugins/*/",                       # unpacked plugins; the .jpi/.hpi files are kept and re-expanded
    "updates/",                         # update-center metadata, downloaded again
    ".jenkins-kit-restore-*/",          # an interrupted restore's staging folder
)

_MAX_LINK_HOPS = 40  # Linux MAXSYMLINKS


def _segment_regex(seg: str) -> str:
    out = []
    i = 0
    while i < len(seg):
        c = seg[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = seg.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = seg[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class InvalidPattern(ValueError):
    pass


@dataclass(frozen=True)
class Excluder:
    """Matches relative paths (`jobs/a/workspace`) against exclude patterns."""

    patterns: tuple[str, ...]
    _compiled: tuple[tuple[str, re.Pattern[str], bool], ...]

    @classmethod
    def of(cls, patterns: Iterable[str]) -> Excluder:
        compiled = []
        pats = tuple(patterns)
        for p in pats:
            raw = p.strip()
            if not raw or raw.startswith("/") or ".." in raw.split("/"):
                raise InvalidPattern(f"exclude pattern {p!r} must be a relative path inside JENKINS_HOME (no leading '/', no '..')")
            dir_only = raw.endswith("/")
            segs = [s for s in raw.rstrip("/").split("/") if s]
            parts = []
            for k, s in enumerate(segs):
                if s == "**":
                    parts.append("(?:[^/]+/)*")
                else:
                    parts.append(_segment_regex(s) + ("/" if k < len(segs) - 1 else ""))
            compiled.append((p, re.compile("".join(parts) + r"\Z"), dir_only))
        return cls(pats, tuple(compiled))

    def match(self, rel: str, is_dir: bool) -> str | None:
        """The first pattern that excludes `rel`, or None."""
        for p, rx, dir_only in self._compiled:
            if dir_only and not is_dir:
                continue
            if rx.match(rel):
                return p
        return None


# ---------------------------------------------------------------- member safety


@dataclass(frozen=True)
class Member:
    """What the checker needs of an archive member. `kind`: f(ile) d(ir) l(symlink) h(ardlink) or
    a description of anything else (refused)."""

    name: str
    kind: str
    linkname: str = ""
    mode: int = 0o644


def _bad_name(name: str) -> str | None:
    if not name:
        return "an empty name"
    if "\x00" in name:
        return "a NUL byte in the name"
    if name.startswith("/"):
        return "an absolute name"
    parts = name.split("/")
    if ".." in parts:
        return "'..' in the name"
    if posixpath.normpath(name) != name:
        return "a name that is not in normal form ('.', '//' or a trailing '/')"
    return None


def _resolve_escapes(link: str, target: str, links: dict[str, str]) -> str | None:
    """Why following symlink `link` -> `target` leaves `home/`, resolving through other archive
    links; None when it stays inside."""
    if target.startswith("/"):
        return f"points to the absolute path {target!r}"
    stack = link.split("/")[:-1]  # the link's folder, e.g. ["home", "jobs", "a"]
    pending = deque(target.split("/"))
    hops = 0
    while pending:
        c = pending.popleft()
        if c in ("", "."):
            continue
        if c == "..":
            if len(stack) <= 1:  # popping "home" itself: outside the restore target
                return f"points outside the target ({target!r})"
            stack.pop()
            continue
        stack.append(c)
        t = links.get("/".join(stack))
        if t is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return f"is part of a symlink loop ({target!r})"
            if t.startswith("/"):
                return f"resolves through {'/'.join(stack)!r}, which points to the absolute path {t!r}"
            stack.pop()
            pending.extendleft(reversed(t.split("/")))
    return None


def member_problems(members: Sequence[Member], *, limit: int = 20) -> list[str]:
    """Every reason to refuse these members as a restorable Jenkins home (first `limit`)."""
    problems: list[str] = []

    def bad(name: str, why: str) -> None:
        if len(problems) < limit:
            problems.append(f"{name!r}: {why}")

    seen: set[str] = set()
    links: dict[str, str] = {}
    for m in members:
        if m.kind == "l":
            links[m.name] = m.linkname
    regular_before: set[str] = set()
    for m in members:
        why = _bad_name(m.name)
        if why:
            bad(m.name, why)
            continue
        if m.name in seen:
            bad(m.name, "appears twice (a later copy could replace what an earlier one made)")
            continue
        seen.add(m.name)
        if m.name in (HEADER_NAME, MANIFEST_NAME):
            if m.kind != "f":
                bad(m.name, "the backup's metadata must be a regular file")
            continue
        if m.name != HOME and not m.name.startswith(HOME + "/"):
            bad(m.name, f"is outside the archive's {HOME}/ folder")
            continue
        if m.name == HOME and m.kind != "d":
            bad(m.name, "the home folder itself must be a directory")
            continue
        parts = m.name.split("/")
        for k in range(2, len(parts)):
            parent = "/".join(parts[:k])
            if parent in links:
                bad(m.name, f"would be written through the symlink {parent!r}")
                break
        else:
            if m.kind == "f":
                if m.mode & 0o6000:
                    bad(m.name, "is a setuid/setgid file (a Jenkins home has none)")
                regular_before.add(m.name)
            elif m.kind == "d":
                pass
            elif m.kind == "l":
                why = _resolve_escapes(m.name, m.linkname, links)
                if why:
                    bad(m.name, "symlink " + why)
            elif m.kind == "h":
                target = m.linkname
                why = _bad_name(target)
                if why:
                    bad(m.name, f"hard link to {target!r}: {why}")
                elif not target.startswith(HOME + "/"):
                    bad(m.name, f"hard link to {target!r}, outside the home folder")
                elif target not in regular_before:
                    bad(m.name, f"hard link to {target!r}, which is not a regular file earlier in the archive")
            else:
                bad(m.name, f"is a {m.kind}; only files, folders and links are restored")
    return problems


__all__ = [
    "DEFAULT_EXCLUDES",
    "FORMAT",
    "FORMAT_VERSION",
    "HEADER_NAME",
    "HOME",
    "MANIFEST_NAME",
    "Excluder",
    "InvalidPattern",
    "Member",
    "member_problems",
]
