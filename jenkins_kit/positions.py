"""Where each value of a YAML file is: (line, column) by field path, and the path's written form.

One kind for the lab config (config/compose.py) and the JCasC files (jcasc_schema.py). Apart from
the YAML composers, so a config served from the cache, which is never composed, imports no YAML.
"""

from __future__ import annotations

import re

Loc = tuple[object, ...]


class Positions:
    """Maps a field path (tuple of keys/indexes) to the 1-based (line, column) of its node."""

    def __init__(self) -> None:
        self.value: dict[Loc, tuple[int, int]] = {}
        self.key: dict[Loc, tuple[int, int]] = {}

    def at(self, loc: Loc, prefer_key: bool = False) -> tuple[int | None, int | None]:
        loc = tuple(loc)
        while True:
            table = (self.key, self.value) if prefer_key else (self.value, self.key)
            for t in table:
                if loc in t:
                    return t[loc]
            if not loc:
                return None, None
            loc = loc[:-1]


def fmt_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_field_path(path: str) -> Loc:
    """"repositories[0].job.folder" -> ("repositories", 0, "job", "folder"); the inverse of fmt_loc."""
    out: list[object] = []
    for m in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", path.split(" ", 1)[0]):
        out.append(int(m.group(2)) if m.group(2) is not None else m.group(1))
    return tuple(out)
