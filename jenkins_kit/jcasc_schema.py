"""Check a JCasC document against what the plugins accept, before any Jenkins sees it.

JCasC rejects unknown, deprecated and restricted attributes by default (configuration-as-code
`ConfigurationContext`: unknown/deprecation/restriction = reject; `BaseConfigurator#handleUnknown`), and
one rejected key at start-up is a boot failure. No Jenkins runs where jenkins-kit renders, so this walks
the document against `schemas/jcasc.json`: the subset of attribute names, types, enum constants and
symbols of every path jenkins-kit (or a user fragment it accepts) writes, each entry citing the plugin
source it was read from. A path the subset does not describe is reported rather than waved through:
"cannot check" is not "valid".

Pure: data in, issues out. `load_positions` gives file line:column for text input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jenkins_kit.positions import Positions, fmt_loc

if TYPE_CHECKING:
    import yaml

SCHEMA_FILE = Path(__file__).parent / "schemas" / "jcasc.json"
Loc = tuple[Any, ...]

# casc ConfigurationAsCode#isNotAliasEntry: top-level keys starting with "x-" are YAML anchors' holders.
_ALIAS_PREFIX = "x-"


@dataclass(frozen=True)
class Issue:
    """One rejected node. `loc` is the key/index path from the document root; `hint` says how to fix it."""

    loc: Loc
    message: str
    hint: str | None = None
    on_key: bool = True  # point at the key (unknown, deprecated) or at the value (wrong type or constant)

    @property
    def path(self) -> str:
        return fmt_loc(self.loc)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def roots() -> list[str]:
    return sorted({k.split(".", 1)[0].split("[", 1)[0] for k in schema() if not k.startswith("_")})


def _lookup(attrs: dict[str, Any], key: str) -> tuple[str, dict[str, Any]] | None:
    """Constructor parameters match exactly (DataBoundConfigurator#tryConstructor: config.get(name));
    setters ignore case (BaseConfigurator#removeIgnoreCase)."""
    if key in attrs:
        return key, attrs[key]
    for name, spec in attrs.items():
        if not spec.get("ctor") and name.lower() == key.lower():
            return name, spec
    return None


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.strip().lstrip("-").isdigit())


def _is_bool(v: Any) -> bool:
    # Stapler converts with Boolean.valueOf semantics on strings; YAML booleans or the words are unambiguous.
    return isinstance(v, bool) or (isinstance(v, str) and v.lower() in ("true", "false"))


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _symbol_of(value: Any) -> tuple[str | None, Any]:
    """A describable is `symbol` or `{symbol: {...}}` (casc HeteroDescribableConfigurator)."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and len(value) == 1:
        (sym, body), = value.items()
        return str(sym), body
    return None, None


def _match_symbol(sym: str, allowed: list[str]) -> str | None:
    # HeteroDescribableConfigurator#lookupDescriptor ignores case
    return next((a for a in allowed if a.lower() == sym.lower()), None)


def check(data: Any, base: str = "", loc: Loc = ()) -> list[Issue]:
    """Issues of `data`, a JCasC document (base "") or the value at schema path `base`."""
    issues: list[Issue] = []
    if base:
        _check_mapping(data, base, loc, issues)
        return issues
    if data is None:
        return issues
    if not isinstance(data, dict):
        return [Issue(loc, "a JCasC document must be a mapping of root elements", f"roots: {', '.join(roots())}")]
    known = roots()
    for key, value in data.items():
        key = str(key)
        if key.startswith(_ALIAS_PREFIX):
            continue
        if key not in schema() or key.startswith("_"):
            issues.append(Issue(loc + (key,), f"no configurator for root element {key!r} in the plugins jenkins-kit pins",
                                f"roots jenkins-kit can check: {', '.join(known)}"))
            continue
        _check_mapping(value, key, loc + (key,), issues)
    return issues


def _check_mapping(value: Any, path: str, loc: Loc, issues: list[Issue]) -> None:
    attrs = schema().get(path)
    if attrs is None:
        if value not in (None, {}):
            issues.append(Issue(loc, f"jenkins-kit's schema does not describe {path!r}, so it cannot check it",
                                "extend jenkins_kit/schemas/jcasc.json from the plugin's source (cite it), or leave it out"))
        return
    if value is None:
        return
    if not isinstance(value, dict):
        issues.append(Issue(loc, f"expected a mapping of attributes, got {type(value).__name__} {value!r}"))
        return
    for key, sub in value.items():
        key = str(key)
        found = _lookup(attrs, key)
        if found is None:
            near = [a for a in attrs if a.lower() == key.lower()]
            hint = (f"{near[0]!r} is a constructor argument: its case must match exactly" if near
                    else f"valid attributes: {', '.join(sorted(attrs)) or '(none)'}")
            issues.append(Issue(loc + (key,), f"unknown attribute {key!r} for {path} (JCasC rejects it: UnknownAttributesException)", hint))
            continue
        name, spec = found
        if spec.get("deprecated"):
            issues.append(Issue(loc + (key,), f"'{name}' is deprecated (JCasC rejects it by default)", spec.get("source")))
            continue
        if spec.get("restricted"):
            issues.append(Issue(loc + (key,), f"'{name}' is restricted (JCasC rejects it by default)", spec.get("source")))
            continue
        if spec.get("not_jcasc"):
            issues.append(Issue(loc + (key,), f"'{name}' cannot be set from YAML", spec.get("source")))
            continue
        _check_value(sub, spec, f"{path}.{name}", loc + (key,), issues)


def _check_value(v: Any, spec: dict[str, Any], path: str, loc: Loc, issues: list[Issue]) -> None:
    t = spec["type"]
    enum = spec.get("enum")

    def bad(msg: str, hint: str | None = None) -> None:
        issues.append(Issue(loc, msg, hint, on_key=False))

    if t in ("string", "secret"):
        if not _scalar(v):
            bad(f"expected a string, got a {type(v).__name__}")
        elif enum is not None and str(v) not in enum:
            bad(f"{v!r} is not one of {', '.join(enum)}")
    elif t == "integer":
        if not _is_int(v):
            bad(f"expected an integer, got {v!r}")
    elif t == "boolean":
        if not _is_bool(v):
            bad(f"expected true or false, got {v!r}")
    elif t == "enum":
        # casc EnumConfigurator: Enum.valueOf, exact and case-sensitive
        if not isinstance(v, str) or v not in (enum or []):
            bad(f"{v!r} is not one of {', '.join(enum or [])} (exact case)")
    elif t in ("symbol", "describable"):
        _check_describable(v, spec, path, loc, issues, bare_only=(t == "symbol"))
    elif t == "object":
        if v is not None and not isinstance(v, dict):
            bad(f"expected a mapping, got {v!r}")
        else:
            _check_mapping(v, path, loc, issues)
    elif t == "list<object>":
        if not isinstance(v, list):
            bad(f"expected a list, got {v!r}")
            return
        for i, item in enumerate(v):
            _check_mapping(item if item is not None else {}, f"{path}[]", loc + (i,), issues)
    elif t == "list<describable>":
        if not isinstance(v, list):
            bad(f"expected a list, got {v!r}")
            return
        for i, item in enumerate(v):
            _check_describable(item, spec, f"{path}[]", loc + (i,), issues, bare_only=False)
    elif t == "list<string>":
        if not isinstance(v, list) or not all(_scalar(x) and x is not None for x in v):
            bad(f"expected a list of strings, got {v!r}")
    else:  # "map" and anything new: JCasC skips Map attributes (BaseConfigurator#describe)
        bad(f"attributes of type {t} cannot be configured")


def _added_symbols(path: str) -> list[str]:
    """Symbols jenkins-kit added for a describable at `path`: each has its own child path `<path>.<symbol>`
    whose attributes all carry `added_by: jenkins-kit` and their own citation (the vendored reference's
    entries stay as they are)."""
    out = []
    for key, attrs in schema().items():
        rest = key[len(path) + 1:] if key.startswith(path + ".") else ""
        if rest and "." not in rest and attrs and all(a.get("added_by") == "jenkins-kit" for a in attrs.values()):
            out.append(rest)
    return out


def _check_describable(v: Any, spec: dict[str, Any], path: str, loc: Loc, issues: list[Issue], bare_only: bool) -> None:
    allowed = spec.get("enum")
    if allowed is not None:
        allowed = list(allowed) + [s for s in _added_symbols(path) if s not in allowed]
    sym, body = _symbol_of(v)
    if sym is None:
        issues.append(Issue(loc, f"expected a symbol or {{symbol: {{...}}}}, got {v!r}",
                            f"symbols: {', '.join(allowed)}" if allowed else None))
        return
    if allowed is not None:
        match = _match_symbol(sym, allowed)
        if match is None:
            issues.append(Issue(loc, f"unknown symbol {sym!r}", f"symbols jenkins-kit knows here: {', '.join(allowed)}"))
            return
        sym = match
    if bare_only or body in (None, {}):
        return
    _check_mapping(body, f"{path}.{sym}", loc + (next(iter(v)),) if isinstance(v, dict) else loc, issues)


# ---------------------------------------------------------------------------------------- text with positions


class KeyFirstPositions(Positions):
    """JCasC issues are mostly about a key (unknown, misplaced): point at the key unless told otherwise."""

    def at(self, loc: Loc, prefer_key: bool = True) -> tuple[int | None, int | None]:
        return super().at(loc, prefer_key)


def load_positions(text: str) -> tuple[Any, KeyFirstPositions]:
    """Parse YAML keeping each node's position. Raises yaml.YAMLError on bad YAML."""
    import yaml  # here, not at the top: a config load that needs no YAML (a cache hit) should not import it

    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    pos = KeyFirstPositions()
    sc = yaml.constructor.SafeConstructor()

    def build(n: yaml.Node | None, loc: Loc) -> Any:
        if n is None:
            return None
        pos.value[loc] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for k, vn in n.value:
                key = sc.construct_object(k, deep=True)
                pos.key[loc + (key,)] = (k.start_mark.line + 1, k.start_mark.column + 1)
                out[key] = build(vn, loc + (key,))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(x, loc + (i,)) for i, x in enumerate(n.value)]
        try:
            return sc.construct_object(n, deep=True)
        finally:
            sc.constructed_objects.clear()

    return build(node, ()), pos
