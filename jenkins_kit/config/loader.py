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
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from jenkins_kit.cache import cache_dir
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
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and _tag_problem(node) is not None:
        line, col = _mark(node)
        problems.append(ConfigProblem(file, line, col, _fmt(loc), str(_tag_problem(node)), "remove the tag"))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                line, col = _mark(knode)
                problems.append(ConfigProblem(file, line, col, _fmt(loc), "mapping keys must be plain strings"))
                continue
            key = knode.value
            if knode.tag == "tag:yaml.org,2002:merge" or key == "<<":
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
    return _scalar(node, sc, loc, problems, file)


# Tags whose construction is safe and whose values the schema can judge. Anything else (`!custom`,
# `!!python/...`, `!!binary`, `!!set`, `!!omap`, ...) is refused with its position instead of being
# constructed: SafeConstructor raises for some of them, builds bytes/sets for others.
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp")
)
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# No lab config comes near these; they bound the cost of hostile YAML (alias "billion laughs",
# deep nesting that would otherwise exhaust the recursion limit).
MAX_DEPTH = 64
MAX_NODES = 1_000_000
# As go-yaml does: past a small size, aliases may not multiply the written nodes more than this.
ALIAS_FREE_NODES = 10_000
ALIAS_RATIO = 20
# Characters no output can carry: NUL and the non-characters are illegal in XML 1.0 and 1.1 alike,
# other C0 controls are illegal in XML 1.0 (what Python parsers and the Jenkins double read) and mean
# nothing in a lab config; surrogates cannot be encoded as UTF-8.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _tag_problem(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        ok = node.tag == _MAP_TAG
    elif isinstance(node, yaml.SequenceNode):
        ok = node.tag == _SEQ_TAG
    else:
        ok = node.tag in _SCALAR_TAGS
    shown = node.tag.replace("tag:yaml.org,2002:", "!!", 1)
    return None if ok else f"YAML tag {shown!r} is not supported"


def _measure(root: yaml.Node, file: str) -> None:
    """Refuse documents whose expansion is too deep or too large, before constructing anything.

    Aliases share nodes, so the composed graph is small while its expansion can be exponential; sizes
    are computed once per distinct node (iteratively: no recursion limit), then summed over aliases.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    while stack:
        node, done, level = stack.pop()
        if level > MAX_DEPTH:
            line, col = _mark(node)
            raise ConfigError([ConfigProblem(file, line, col, "", f"the document is nested more than {MAX_DEPTH} levels deep",
                                             "a lab config is a few levels deep; check the brackets and indentation")])
        key = id(node)
        if key in size and not done:
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [n for kv in node.value for n in kv]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not done:
            size[key] = -1  # in progress
            stack.append((node, True, level))
            for c in children:
                if id(c) not in size:
                    stack.append((c, False, level + 1))
                elif size[id(c)] == -1:
                    line, col = _mark(c)
                    raise ConfigError([ConfigProblem(file, line, col, "", "an alias refers to a node that contains it (a cycle)", "write the values out")])
            continue
        total = 1 + sum(size[id(c)] for c in children)
        deep = 1 + max((depth[id(c)] for c in children), default=0)
        if deep > MAX_DEPTH:
            line, col = _mark(node)
            raise ConfigError([ConfigProblem(file, line, col, "", f"the document is nested more than {MAX_DEPTH} levels deep",
                                             "aliases inside aliases multiply depth; write the values out")])
        if total > MAX_NODES or (total > ALIAS_FREE_NODES and total > ALIAS_RATIO * len(size)):
            line, col = _mark(node)
            raise ConfigError([ConfigProblem(file, line, col, "", f"aliases expand this document to {total:,} values or more (from {len(size):,} written)",
                                             "refer to anchors less often (or write the values out): this looks like an alias bomb")])
        size[key], depth[key] = total, deep


def _scalar(node: yaml.Node, constructor: yaml.constructor.SafeConstructor, loc: Loc, problems: list[ConfigProblem], file: str) -> Any:
    if node.tag == _STR_TAG:  # what SafeConstructor.construct_yaml_str returns, without its dispatch
        value = node.value
        bad = _BAD_CHARS.search(value)
        if bad is not None:
            line, col = _mark(node)
            problems.append(ConfigProblem(file, line, col, _fmt(loc), f"contains the control character U+{ord(bad.group()):04X}",
                                          "remove it (tab and newline are fine)"))
        return value
    line, col = _mark(node)
    tag_problem = _tag_problem(node)
    if tag_problem is not None:
        problems.append(ConfigProblem(file, line, col, _fmt(loc), tag_problem, "remove the tag: the config takes plain strings, numbers, booleans, lists and mappings"))
        return None
    try:
        value = constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
        what = getattr(e, "problem", None) or str(e)
        problems.append(ConfigProblem(file, line, col, _fmt(loc), f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]}: {what}",
                                      "remove the tag, or quote the value to keep it as text"))
        return None
    finally:
        constructor.constructed_objects.clear()
    if isinstance(value, str):
        bad = _BAD_CHARS.search(value)
        if bad is not None:
            problems.append(ConfigProblem(file, line, col, _fmt(loc), f"contains the control character U+{ord(bad.group()):04X}",
                                          "remove it (tab and newline are fine)"))
    return value


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


def _problem_from_pydantic(err: Any, pos: _Positions, file: str) -> ConfigProblem:  # pydantic ErrorDetails
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
        got = err.get("input")
        if isinstance(got, str) and len(got) <= 100 and repr(got) not in msg:
            msg = f"{msg} (got {got!r})"  # shows what the eye misses: a trailing newline, a look-alike
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


class Located:
    """A loaded config and where each of its fields is in the file (for errors found after loading)."""

    def __init__(self, config: LabConfig, file: str, positions: _Positions) -> None:
        self.config = config
        self.file = file
        self._pos = positions

    def problem(self, field_path: str, message: str, hint: str | None = None) -> ConfigProblem:
        """A problem at `field_path` ("repositories[0].dockerfile"), positioned at its closest known node."""
        line, col = self._pos.at(parse_field_path(field_path))
        return ConfigProblem(self.file, line, col, field_path, message, hint)


def parse_field_path(path: str) -> Loc:
    """"repositories[0].job.folder" -> ("repositories", 0, "job", "folder"); the inverse of _fmt."""
    out: list[object] = []
    for m in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", path.split(" ", 1)[0]):
        out.append(int(m.group(2)) if m.group(2) is not None else m.group(1))
    return tuple(out)


def load_located_text(text: str, file: str = "<string>", base_dir: Path | None = None) -> Located:
    return _load_located_text(text, file, base_dir)[0]


def _load_located_text(text: str, file: str, base_dir: Path | None) -> tuple[Located, Any]:
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
    except RecursionError:  # the pure-Python composer recurses per level (libyaml stops at 1000 itself)
        raise ConfigError([ConfigProblem(file, None, None, "", f"the document is nested more than {MAX_DEPTH} levels deep")]) from None
    if node is None:
        raise ConfigError([ConfigProblem(file, 1, 1, "", "the file is empty", "run 'jenkins-kit init' to write a starter config")])
    _measure(node, file)
    pos = _Positions()
    data = _construct(node, (), pos, problems, file, yaml.constructor.SafeConstructor())
    if not isinstance(data, dict):
        line, col = _mark(node)
        raise ConfigError([ConfigProblem(file, line, col, "", "the top level must be a mapping (key: value)", "run 'jenkins-kit init' to see the expected shape")])
    cfg = None
    try:
        cfg = LabConfig.model_validate(data)
    except ValidationError as e:
        # A value already refused (a tag, a control character) was replaced by None: not twice.
        seen = {p.path for p in problems}
        problems.extend(q for q in (_problem_from_pydantic(err, pos, file) for err in e.errors()) if q.path not in seen)
    if cfg is not None:
        problems.extend(_templates_dir_problems(cfg, base_dir, file, pos))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise ConfigError(problems)
    assert cfg is not None
    return Located(cfg, file, pos), data


def _templates_dir_problems(cfg: LabConfig, base_dir: Path | None, file: str, pos: _Positions | None) -> list[ConfigProblem]:
    tdir = cfg.jobs.templates_dir
    if base_dir is None or tdir is None or (base_dir / tdir).is_dir():
        return []
    line, col = pos.at(("jobs", "templates_dir")) if pos is not None else (None, None)
    return [ConfigProblem(file, line, col, "jobs.templates_dir", f"{tdir!r} is not a folder (relative paths start at {base_dir})",
                          "create it, fix the path, or remove the key to use the built-in templates")]


_CACHE_SCHEME = "1"  # bump when _construct changes what a text turns into
_CACHE_KEEP = 16


def _cache_dir() -> Path | None:
    if os.environ.get("JENKINS_KIT_NO_CONFIG_CACHE"):
        return None
    return cache_dir("config")


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


def load_config_text(text: str, file: str = "<string>") -> LabConfig:
    return load_located_text(text, file).config


def _read(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(p), None, None, "", "file not found", "pass --config PATH, or run 'jenkins-kit init' to write one")]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([ConfigProblem(str(p), None, None, "", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from None
    except IsADirectoryError:
        raise ConfigError([ConfigProblem(str(p), None, None, "", "is a folder, not a config file", "pass --config PATH/jenkins-kit.yaml")]) from None
    except OSError as e:
        raise ConfigError([ConfigProblem(str(p), None, None, "", f"cannot read: {e.strerror}")]) from None


def load_located(path: str | Path) -> Located:
    p = Path(path)
    return load_located_text(_read(p), str(p), base_dir=p.resolve().parent)


def load_config(path: str | Path) -> LabConfig:
    """The validated config of a file. A text that loaded cleanly before skips YAML composition (see the
    module doc); a hit that no longer validates, or any problem, takes the full path, which locates it."""
    p = Path(path)
    text = _read(p)
    base_dir = p.resolve().parent
    cpath = _cache_path(text)
    cached = _cache_get(cpath)
    if isinstance(cached, dict):
        try:
            cfg = LabConfig.model_validate(cached)
        except ValidationError:
            cfg = None  # the schema moved on since
        if cfg is not None and not _templates_dir_problems(cfg, base_dir, str(p), None):
            try:
                os.utime(cpath)  # type: ignore[arg-type]  # recently used: kept by the pruning
            except OSError:
                pass
            return cfg
    located, data = _load_located_text(text, str(p), base_dir)
    _cache_put(cpath, data)
    return located.config
