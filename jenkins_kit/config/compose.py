"""Composing a config's YAML keeping the line and column of every node, and refusing what no lab
config needs (tags, merge keys, alias bombs, control characters) with its position.

Only the full load path comes here (config/loader.py imports it when the text is not in the cache).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from jenkins_kit.errors import ConfigError, ConfigProblem
from jenkins_kit.positions import Loc, Positions, fmt_loc

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
    node: yaml.Node, loc: Loc, pos: Positions, problems: list[ConfigProblem], file: str, sc: yaml.constructor.SafeConstructor
) -> Any:
    pos.value[loc] = _mark(node)
    if len(loc) >= MAX_DEPTH:  # as _measure says it, for a document with no alias (where _measure is skipped)
        line, col = _mark(node)
        raise ConfigError([ConfigProblem(file, line, col, "", f"the document is nested more than {MAX_DEPTH} levels deep",
                                         "a lab config is a few levels deep; check the brackets and indentation")])
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and _tag_problem(node) is not None:
        line, col = _mark(node)
        problems.append(ConfigProblem(file, line, col, fmt_loc(loc), str(_tag_problem(node)), "remove the tag"))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                line, col = _mark(knode)
                problems.append(ConfigProblem(file, line, col, fmt_loc(loc), "mapping keys must be plain strings"))
                continue
            key = knode.value
            if knode.tag == "tag:yaml.org,2002:merge" or key == "<<":
                line, col = _mark(knode)
                problems.append(ConfigProblem(file, line, col, fmt_loc(loc), "YAML merge keys (<<) are not supported", "write the keys out"))
                continue
            if key in out:
                line, col = _mark(knode)
                problems.append(
                    ConfigProblem(file, line, col, fmt_loc(loc + (key,)), f"duplicate key {key!r}", "YAML keeps only the last one; remove one of them")
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
            problems.append(ConfigProblem(file, line, col, fmt_loc(loc), f"contains the control character U+{ord(bad.group()):04X}",
                                          "remove it (tab and newline are fine)"))
        return value
    line, col = _mark(node)
    tag_problem = _tag_problem(node)
    if tag_problem is not None:
        problems.append(ConfigProblem(file, line, col, fmt_loc(loc), tag_problem, "remove the tag: the config takes plain strings, numbers, booleans, lists and mappings"))
        return None
    try:
        value = constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
        what = getattr(e, "problem", None) or str(e)
        problems.append(ConfigProblem(file, line, col, fmt_loc(loc), f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]}: {what}",
                                      "remove the tag, or quote the value to keep it as text"))
        return None
    finally:
        constructor.constructed_objects.clear()
    if isinstance(value, str):
        bad = _BAD_CHARS.search(value)
        if bad is not None:
            problems.append(ConfigProblem(file, line, col, fmt_loc(loc), f"contains the control character U+{ord(bad.group()):04X}",
                                          "remove it (tab and newline are fine)"))
    return value


def compose(text: str, file: str) -> tuple[Any, Positions, list[ConfigProblem]]:
    """The document as plain data, where each value is, and the problems found on the way (a value
    refused is replaced by None, so the schema can still judge the rest). Raises ConfigError for a
    document that cannot be read at all."""
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
    if "*" in text:  # an alias needs one; without, the document is what is written (its depth is checked below)
        _measure(node, file)
    pos = Positions()
    data = _construct(node, (), pos, problems, file, yaml.constructor.SafeConstructor())
    if not isinstance(data, dict):
        line, col = _mark(node)
        raise ConfigError([ConfigProblem(file, line, col, "", "the top level must be a mapping (key: value)", "run 'jenkins-kit init' to see the expected shape")])
    return data, pos, problems

