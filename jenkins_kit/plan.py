"""One plan type for every world jenkins-kit changes: cluster objects, the Helm release, JCasC, jobs.

A plan is plain data. `plan` prints it, `up`/`jobs apply` execute it, so "what I saw" is "what I did".
Printers live here too so every command shows changes the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "noop", "conflict", "skip"]

#: Actions that change something when applied.
CHANGING: frozenset[str] = frozenset({"create", "update", "delete"})

_SYMBOL = {"create": "+", "update": "~", "delete": "-", "noop": "=", "conflict": "!", "skip": "?"}
_STYLE = {"create": "green", "update": "yellow", "delete": "red", "noop": "dim", "conflict": "bold red", "skip": "dim"}


@dataclass(frozen=True)
class Change:
    """One desired change.

    kind:    what sort of thing ("Namespace", "PersistentVolume", "HelmRelease", "JCasC", "Job", ...)
    name:    its identity within the kind ("jenkins/jenkins-admin", a job's full name, ...)
    action:  create | update | delete | noop (already as desired) | conflict (cannot proceed) | skip (not checked)
    before / after: the live and the desired state as plain data (never secret values: redact first)
    reason:  one line saying why (shown next to the change)
    diff:    a unified text diff of before → after, if any
    world:   which system it belongs to ("cluster", "helm", "jcasc", "jobs")
    """

    kind: str
    name: str
    action: Action
    before: Any = None
    after: Any = None
    reason: str = ""
    diff: str = ""
    world: str = ""

    @property
    def changes_something(self) -> bool:
        return self.action in CHANGING

    def to_json(self) -> dict[str, Any]:
        return {
            "world": self.world,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "reason": self.reason,
            "diff": self.diff,
        }


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> Change:
        self.changes.append(change)
        return change

    def extend(self, changes: Iterable[Change]) -> None:
        self.changes.extend(changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def pending(self) -> list[Change]:
        """Changes that would modify something."""
        return [c for c in self.changes if c.changes_something]

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == "conflict"]

    @property
    def is_empty(self) -> bool:
        """True when applying would change nothing (and nothing blocks it)."""
        return not self.pending and not self.conflicts

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in _SYMBOL}
        for c in self.changes:
            out[c.action] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "empty": self.is_empty,
            "counts": self.counts(),
            "changes": [c.to_json() for c in self.changes],
        }

    def print(self, console: Any, show_noop: bool = False, show_diff: bool = True) -> None:
        """Print as a terraform-like list on a rich Console."""
        from rich.markup import escape
        from rich.syntax import Syntax

        shown = [c for c in self.changes if show_noop or c.action != "noop"]
        for c in shown:
            where = f"[{c.world}] " if c.world else ""
            line = f"[{_STYLE[c.action]}]{_SYMBOL[c.action]} {c.action:<8}[/] {escape(where)}{escape(c.kind)} {escape(c.name)}"
            if c.reason:
                line += f"  [dim]({escape(c.reason)})[/]"
            console.print(line, highlight=False)
            if show_diff and c.diff:
                console.print(Syntax(c.diff, "diff", theme="ansi_dark", background_color="default"))
        n = self.counts()
        summary = f"{n['create']} to create, {n['update']} to update, {n['delete']} to delete, {n['noop']} unchanged"
        if n["conflict"]:
            summary += f", {n['conflict']} conflict{'s' if n['conflict'] != 1 else ''}"
        if n["skip"]:
            summary += f", {n['skip']} not checked"
        console.print(("No changes. " if self.is_empty else "Plan: ") + summary + ".", highlight=False)


def text_diff(before: str, after: str, name: str = "", context: int = 3) -> str:
    """A unified diff of two texts ('' when equal)."""
    if before == after:
        return ""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"live/{name}" if name else "live",
        tofile=f"desired/{name}" if name else "desired",
        n=context,
    )
    out = "".join(l if l.endswith("\n") else l + "\n" for l in lines)
    return out


def yaml_diff(before: Any, after: Any, name: str = "") -> str:
    """A unified diff of two data structures rendered as sorted YAML ('' when equal)."""
    import yaml

    def dump(x: Any) -> str:
        if x is None:
            return ""
        return yaml.safe_dump(x, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)

    return text_diff(dump(before), dump(after), name)
