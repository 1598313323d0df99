"""Load `jenkins-kit.yaml` keeping line/column for every node, so errors point into the file.

A config that loaded cleanly is remembered as plain data (JSON) under the user's cache folder, keyed
by a digest of its exact text: composing YAML with marks costs ~0.5 s for 10,000 repositories, more
than a no-op sync itself. A hit is validated again by the schema (so a schema change is honoured);
anything unusual (a value JSON cannot carry, a validation error, an unreadable cache) takes the
full path, which is what locates errors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from jenkins_kit.cache import cache_dir, write_atomic
from jenkins_kit.config.schema import LOC_MARK, LabConfig
from jenkins_kit.errors import ConfigError, ConfigProblem
from jenkins_kit.positions import Loc, Positions, fmt_loc, parse_field_path

__all__ = ["Located", "Loc", "load_config", "load_config_text", "load_located", "load_located_text", "parse_field_path"]


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


def _problem_from_pydantic(err: Any, pos: Positions, file: str) -> ConfigProblem:  # pydantic ErrorDetails
    loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-after", "literal["))))
    etype = err["type"]
    msg = err["msg"]
    hint: str | None = None
    if etype == "extra_forbidden":
        key = str(loc[-1])
        known = _fields_at(loc[:-1])
        import difflib

        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        msg = f"unknown key {key!r}"
        hint = f"did you mean {close[0]!r}?" if close else (f"known keys here: {', '.join(known)}" if known else None)
        line, col = pos.at(loc, prefer_key=True)
        return ConfigProblem(file, line, col, fmt_loc(loc), msg, hint)
    if etype == "missing":
        line, col = pos.at(loc[:-1])
        return ConfigProblem(file, line, col, fmt_loc(loc), "required key is missing", f"add '{loc[-1]}:' here (see docs/config.md)")
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
    return ConfigProblem(file, line, col, fmt_loc(loc), msg, hint)


class Located:
    """A loaded config and where each of its fields is in the file (for errors found after loading)."""

    def __init__(self, config: LabConfig, file: str, positions: Positions) -> None:
        self.config = config
        self.file = file
        self._pos = positions

    def problem(self, field_path: str, message: str, hint: str | None = None) -> ConfigProblem:
        """A problem at `field_path` ("repositories[0].dockerfile"), positioned at its closest known node."""
        line, col = self._pos.at(parse_field_path(field_path))
        return ConfigProblem(self.file, line, col, field_path, message, hint)


def load_located_text(text: str, file: str = "<string>", base_dir: Path | None = None) -> Located:
    return _load_located_text(text, file, base_dir)[0]


def _load_located_text(text: str, file: str, base_dir: Path | None) -> tuple[Located, Any]:
    from jenkins_kit.config.compose import compose  # YAML: only when the text is not in the cache

    data, pos, problems = compose(text, file)
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


def _templates_dir_problems(cfg: LabConfig, base_dir: Path | None, file: str, pos: Positions | None) -> list[ConfigProblem]:
    tdir = cfg.jobs.templates_dir
    if base_dir is None or tdir is None or (base_dir / tdir).is_dir():
        return []
    line, col = pos.at(("jobs", "templates_dir")) if pos is not None else (None, None)
    return [ConfigProblem(file, line, col, "jobs.templates_dir", f"{tdir!r} is not a folder (relative paths start at {base_dir})",
                          "create it, fix the path, or remove the key to use the built-in templates")]


_CACHE_SCHEME = "1"  # bump when config/compose.py changes what a text turns into
_CACHE_KEEP = 16


def _cache_dir() -> Path | None:
    if os.environ.get("JENKINS_KIT_NO_CONFIG_CACHE"):
        return None
    return cache_dir("config")


def _yaml_fingerprint() -> str:
    """Which PyYAML would compose the text (another version may read it differently), known without
    importing it: a hit never composes, and importing PyYAML costs more than the rest of a hit."""
    spec = importlib.util.find_spec("yaml")
    if spec is None or spec.origin is None:
        return "no-yaml"
    try:
        st = os.stat(spec.origin)
    except OSError:
        return spec.origin
    return f"{spec.origin}\0{st.st_size}\0{st.st_mtime_ns}"


def _cache_path(text: str) -> Path | None:
    d = _cache_dir()
    if d is None:
        return None
    key = hashlib.sha256(f"{_CACHE_SCHEME}\0{_yaml_fingerprint()}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
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
    if not write_atomic(path, blob):
        return
    try:
        old = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[_CACHE_KEEP:]
        for o in old:
            o.unlink(missing_ok=True)
    except OSError:
        pass  # pruning that fails is no error


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
