"""Load `jenkins-kit.yaml` keeping line/column for every node, so errors point into the file.

A config that loaded cleanly is remembered as plain data (JSON) under the user's cache folder, keyed
by a digest of its exact text: composing YAML with marks costs ~0.5 s for 10,000 repositories, more
than a no-op sync itself. A hit is validated again by the schema (so a schema change is honoured);
anything unusual (a value JSON cannot carry, a validation error, an unreadable cache) takes the
full path, which is what locates errors.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from jenkins_kit.config.schema import LOC_MARK, LabConfig
from jenkins_kit.errors import ConfigError, ConfigProblem

Loc = tuple[object, ...]


class _Positions:
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


# libyaml's composer keeps marks and is ~10x faster on large repository lists.
_BASE_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"


class _COMPOSER(_BASE_COMPOSER):  # type: ignore[misc,valid-type]
    """Resolves a plain scalar whose first character starts no implicit type (a name, a URL) to str
    at once: the same answer `Resolver.resolve` reaches after its lookups, for most scalars of a
    10,000-repository config."""

    _FIRST = frozenset(k for k in _BASE_COMPOSER.yaml_implicit_resolvers if k)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if (kind is yaml.ScalarNode and implicit[0] and value and value[0] not in self._FIRST
                and None not in self.yaml_implicit_resolvers and not self.yaml_path_resolvers):
            return _STR_TAG
        return super().resolve(kind, value, implicit)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct(
    node: yaml.Node, loc: Loc, pos: _Positions, problems: list[ConfigProblem], file: str, sc: yaml.constructor.SafeConstructor
) -> Any:
    pos.value[loc] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                line, col = _mark(knode)
                problems.append(ConfigProblem(file, line, col, _fmt(loc), "mapping keys must be plain strings"))
                continue
            key = knode.value
            if key == "<<":
                line, col = _mark(knode)
                problems.append(ConfigProblem(file, line, col, _fmt(loc), "YAML merge keys (<<) are not supported", "write the keys out"))
                continue
            if key in out:
                line, col = _mark(knode)
                problems.append(
                    ConfigProblem(file, line, col, _fmt(loc + (key,)), f"duplicate key {key!r}", "YAML keeps only the last one; remove one of them")
                )
            pos.key[loc + (key,)] = _mark(knode)
            out[key] = _construct(vnode, loc + (key,), pos, problems, file, sc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loc + (i,), pos, problems, file, sc) for i, v in enumerate(node.value)]
    return _scalar(node, sc)


def _scalar(node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    if node.tag == _STR_TAG:  # what SafeConstructor.construct_yaml_str returns, without its dispatch
        return node.value
    try:
        return constructor.construct_object(node, deep=True)
    finally:
        constructor.constructed_objects.clear()


def _fmt(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _fields_at(loc: Loc) -> list[str]:
    """Known field names of the model reached by `loc`, for "did you mean" hints."""
    model: Any = LabConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        model = _model_in(ann)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}).keys())


def _model_in(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        m = _model_in(arg)
        if m is not None:
            return m
    return None


def _problem_from_pydantic(err: dict[str, Any], pos: _Positions, file: str) -> ConfigProblem:
    loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-after", "literal["))))
    etype = err["type"]
    msg = err["msg"]
    hint: str | None = None
    if etype == "extra_forbidden":
        key = str(loc[-1])
        known = _fields_at(loc[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        msg = f"unknown key {key!r}"
        hint = f"did you mean {close[0]!r}?" if close else (f"known keys here: {', '.join(known)}" if known else None)
        line, col = pos.at(loc, prefer_key=True)
        return ConfigProblem(file, line, col, _fmt(loc), msg, hint)
    if etype == "missing":
        line, col = pos.at(loc[:-1])
        return ConfigProblem(file, line, col, _fmt(loc), "required key is missing", f"add '{loc[-1]}:' here (see docs/config.md)")
    if etype == "value_error":
        msg = msg.removeprefix("Value error, ")
        if msg.startswith(LOC_MARK):
            _, rel, msg = msg.split(LOC_MARK, 2)
            loc = loc + tuple(json.loads(rel))
    elif etype.endswith("_type") or etype.endswith("_parsing"):
        got = err.get("input")
        msg = f"{msg} (got {type(got).__name__} {got!r})" if not isinstance(got, (dict, list)) else f"{msg} (got a {type(got).__name__})"
    elif etype == "literal_error":
        msg = f"{msg} (got {err.get('input')!r})"
    elif etype == "string_pattern_mismatch":
        msg = f"{err.get('input')!r} does not have the expected form"
        hint = f"expected a value matching {err.get('ctx', {}).get('pattern')}"
    line, col = pos.at(loc)
    return ConfigProblem(file, line, col, _fmt(loc), msg, hint)


_CACHE_SCHEME = "1"  # bump when _construct changes what a text turns into
_CACHE_KEEP = 16


def _cache_dir() -> Path | None:
    if os.environ.get("JENKINS_KIT_NO_CONFIG_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jenkins-kit" / "config"


def _cache_path(text: str) -> Path | None:
    d = _cache_dir()
    if d is None:
        return None
    key = hashlib.sha256(f"{_CACHE_SCHEME}\0{yaml.__version__}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return d / f"{key}.json"


def _cache_get(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _cache_put(path: Path | None, data: Any) -> None:
    if path is None:
        return
    try:
        blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError):
        return  # dates, binary: not plain JSON, not cached
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
        old = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[_CACHE_KEEP:]
        for o in old:
            o.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written is no error


def load_config_text(text: str, file: str = "<string>", *, cache: bool = False) -> LabConfig:
    """Parse and validate a config; every problem is located (file:line:col) in the `ConfigError`.
    With `cache`, a text that loaded cleanly before skips YAML composition (see the module doc)."""
    cpath = _cache_path(text) if cache else None
    cached = _cache_get(cpath)
    if isinstance(cached, dict):
        try:
            cfg = LabConfig.model_validate(cached)
            try:
                os.utime(cpath)  # type: ignore[arg-type]  # recently used: kept by the pruning
            except OSError:
                pass
            return cfg
        except ValidationError:
            pass  # the schema moved on since: the full path below says where, with positions
    problems: list[ConfigProblem] = []
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ConfigError([ConfigProblem(file, line, col, "", f"not valid YAML: {e.problem or e.context}", "check indentation and quoting near this position")]) from None
    except yaml.YAMLError as e:
        raise ConfigError([ConfigProblem(file, None, None, "", f"not valid YAML: {e}")]) from None
    if node is None:
        raise ConfigError([ConfigProblem(file, 1, 1, "", "the file is empty", "run 'jenkins-kit init' to write a starter config")])
    pos = _Positions()
    data = _construct(node, (), pos, problems, file, yaml.constructor.SafeConstructor())
    if not isinstance(data, dict):
        line, col = _mark(node)
        raise ConfigError([ConfigProblem(file, line, col, "", "the top level must be a mapping (key: value)", "run 'jenkins-kit init' to see the expected shape")])
    try:
        cfg = LabConfig.model_validate(data)
    except ValidationError as e:
        problems.extend(_problem_from_pydantic(err, pos, file) for err in e.errors())
        cfg = None
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise ConfigError(problems)
    assert cfg is not None
    _cache_put(cpath, data)
    return cfg


def load_config(path: str | Path) -> LabConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(p), None, None, "", "file not found", "pass --config PATH, or run 'jenkins-kit init' to write one")]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([ConfigProblem(str(p), None, None, "", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from None
    except OSError as e:
        raise ConfigError([ConfigProblem(str(p), None, None, "", f"cannot read: {e.strerror}")]) from None
    return load_config_text(text, str(p), cache=True)
