"""Stapler-style model export for the Jenkins test double: ``depth=`` and ``tree=`` pruning.

Objects the double exports are :class:`Bean` instances: a Java class name (written as ``_class``)
and an ordered list of properties ``(name, visibility, value, inline)``.  A value may be a
zero-argument callable; it is only evaluated when the pruner keeps the property, so a listing
of 1,000 jobs does not compute 1,000 build lists nobody asked for.

Semantics reproduced (spec §0.2):

* ``depth=N`` -> ``ByDepth(1 - N)``: a property is kept when ``visibility >= n``; going one
  level deeper increments ``n``; ``inline`` properties keep the same ``n``
  [stapler export/TreePruner.java ``ByDepth``; ResponseImpl ``serveExposedBean``].
* ``tree=`` overrides depth; grammar ``list := node (',' list)?``,
  ``node := NAME ('[' list ']')? ('{' range '}')?``, range ``{N}``, ``{N,}``, ``{,M}``,
  ``{N,M}``; ``*`` matches any property; unknown names are ignored; a leaf name gives nested
  objects with only ``_class`` [stapler export/NamedPathPruner.java, read at HEAD: the parser
  is a recursive descent over the tokens ``, [ ] { }``; a name is any run of other chars].
* Every bean is written with ``_class``; ``None`` is written as ``null``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

__all__ = [
    "Bean", "ByDepth", "NamedPathPruner", "TreeSyntaxError", "export", "parse_tree",
    "to_json_bytes", "to_python_bytes", "to_xml_bytes",
]


class Bean:
    """An exported object: ``cls`` is the Java class (or ``None`` for a non-exported ``{}``)."""

    __slots__ = ("cls", "props")

    def __init__(self, cls: str | None, props: Iterable[tuple]):
        self.cls = cls
        # name -> (visibility, value|callable, inline, declaration index)
        self.props = {p[0]: (p[1], p[2], p[3], i) for i, p in enumerate(props)}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Bean({self.cls!r})"


class TreeSyntaxError(ValueError):
    """Raised for a malformed ``tree=`` expression (Jenkins: ServletException -> 500)."""


class ByDepth:
    __slots__ = ("_next", "n")

    def __init__(self, n: int):
        self.n = n
        self._next = None

    def accept(self, name: str, vis: int, inline: bool):
        if vis < self.n:
            return None
        if inline:
            return self
        if self._next is None:
            self._next = ByDepth(self.n + 1)
        return self._next

    range = None  # ByDepth never slices


class _Tree:
    __slots__ = ("children", "range")

    def __init__(self):
        self.children: dict[str, _Tree] = {}
        self.range: tuple[int, int] | None = None


class NamedPathPruner:
    __slots__ = ("_kids", "range", "star", "tree")

    def __init__(self, tree: _Tree):
        self.tree = tree
        self.range = tree.range
        self._kids: dict[str, NamedPathPruner] = {}
        self.star = "*" in tree.children

    def accept(self, name: str, vis: int, inline: bool):
        p = self._kids.get(name)
        if p is not None:
            return p
        sub = self.tree.children.get(name)
        if sub is None:
            sub = self.tree.children.get("*")
        if sub is None:
            return None
        p = self._kids[name] = NamedPathPruner(sub)
        return p


_DELIMS = ",[]{}"


def parse_tree(spec: str) -> NamedPathPruner:
    """Parse a ``tree=`` expression; raises :class:`TreeSyntaxError` when malformed."""
    pos = 0
    n = len(spec)

    def peek():
        if pos >= n:
            return None, n  # EOF
        c = spec[pos]
        if c in _DELIMS:
            return c, pos + 1
        end = n
        for d in _DELIMS:
            x = spec.find(d, pos)
            if x != -1 and x < end:
                end = x
        return ("NAME", spec[pos:end]), end

    def accept(tok):
        nonlocal pos
        t, nxt = peek()
        if t == tok:
            pos = nxt
            return True
        return False

    def expect(tok):
        if not accept(tok):
            raise TreeSyntaxError(f"expected {tok!r} at {pos}")

    def number():
        nonlocal pos
        t, nxt = peek()
        if not (isinstance(t, tuple) and t[1].isdigit()):
            raise TreeSyntaxError(f"expected number at {pos}")
        pos = nxt
        return int(t[1])

    def parse_range():
        if accept(","):
            return (0, number())
        lo = number()
        t, _ = peek()
        if t == "}":
            return (lo, lo + 1)
        expect(",")
        t, _ = peek()
        if t == "}":
            return (lo, 1 << 31)
        return (lo, number())

    def node(tree: _Tree):
        nonlocal pos
        t, nxt = peek()
        if not isinstance(t, tuple):
            raise TreeSyntaxError(f"expected name at {pos}")
        pos = nxt
        sub = _Tree()
        tree.children[t[1]] = sub
        if accept("["):
            lst(sub)
            expect("]")
        if accept("{"):
            sub.range = parse_range()
            expect("}")

    def lst(tree: _Tree):
        node(tree)
        while accept(","):
            node(tree)

    root = _Tree()
    lst(root)
    t, _ = peek()
    if t is not None:
        raise TreeSyntaxError(f"expected EOF at {pos}")
    return NamedPathPruner(root)


def _export_value(val: Any, pruner) -> Any:
    if isinstance(val, Bean):
        return export(val, pruner)
    if isinstance(val, (list, tuple)):
        rng = pruner.range
        if rng is not None:
            val = val[rng[0]:rng[1]]
        return [_export_value(v, pruner) for v in val]
    return val


def export(bean: Bean, pruner) -> dict:
    """Return plain JSON-able data for ``bean`` as pruned by ``pruner``."""
    out: dict = {} if bean.cls is None else {"_class": bean.cls}
    props = bean.props
    if type(pruner) is NamedPathPruner and not pruner.star:
        # only look at the names the tree asks for; keep the bean's declaration order
        hits = [n for n in pruner.tree.children if n in props]
        if len(hits) > 1:
            hits.sort(key=lambda n: props[n][3])
        items = ((n, props[n]) for n in hits)
    else:
        items = props.items()
    for name, (vis, val, inline, _) in items:
        sub = pruner.accept(name, vis, inline)
        if sub is None:
            continue
        if callable(val):
            val = val()
        out[name] = _export_value(val, sub)
    return out


def to_json_bytes(data: Any, pretty: bool = False) -> bytes:
    if pretty:
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def to_python_bytes(data: Any, pretty: bool = False) -> bytes:
    return repr(data).encode("utf-8")


def _simple_name(cls: str | None) -> str:
    if not cls:
        return "object"
    s = cls.rsplit(".", 1)[-1].rsplit("$", 1)[-1]
    return s[:1].lower() + s[1:]


def _xml_value(name: str, val: Any, out: list) -> None:
    if val is None:
        return  # Stapler's XML flavour omits nulls
    if isinstance(val, list):
        for v in val:
            _xml_value(name, v, out)
        return
    if isinstance(val, dict):
        cls = val.get("_class")
        attr = f' _class="{_xml_escape(cls)}"' if cls else ""
        out.append(f"<{name}{attr}>")
        for k, v in val.items():
            if k != "_class":
                _xml_value(k, v, out)
        out.append(f"</{name}>")
        return
    if isinstance(val, bool):
        val = "true" if val else "false"
    out.append(f"<{name}>{_xml_escape(str(val))}</{name}>")


def to_xml_bytes(data: dict, wrapper: str | None = None) -> bytes:
    """Stapler-like XML: root element named after the class's simple name."""
    out: list[str] = []
    _xml_value(_simple_name(data.get("_class")), data, out)
    body = "".join(out)
    if wrapper:
        body = f"<{wrapper}>{body}</{wrapper}>"
    return ("<?xml version='1.0' encoding='UTF-8'?>" + body).encode("utf-8")


Lazy = Callable[[], Any]
