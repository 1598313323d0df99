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
import re
from collections.abc import Callable, Iterable
from typing import Any

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


# -- Stapler's DataWriters -------------------------------------------------------------------
# JSONDataWriter.value [stapler export/JSONDataWriter.java, read at HEAD]: Character.isISOControl
# (U+0000-U+001F, U+007F-U+009F) and surrogate halves are written as \uXXXX with lower-case hex;
# that test comes first, so \n, \r and \t are \u000a, \u000d, \u0009 (the switch cases for them
# are unreachable); '"' and '\\' are backslash-escaped; everything else (non-ASCII too) is raw.
_JSON_FIX = re.compile(r'\\(["\\/bfnrt]|u[0-9a-f]{4})|[\x7f-\x9f]|[\U00010000-\U0010ffff]')
_JSON_NEEDS_FIX = re.compile(r'[\\\x7f-\x9f\U00010000-\U0010ffff]')
_SHORT_ESC = {"b": "\\u0008", "f": "\\u000c", "n": "\\u000a", "r": "\\u000d", "t": "\\u0009"}


def _u(cp: int) -> str:
    return "\\u%04x" % cp


def _fix_escape(m: re.Match) -> str:
    esc = m.group(1)
    if esc is not None:
        return _SHORT_ESC.get(esc, m.group(0))
    c = m.group(0)
    cp = ord(c)
    if cp > 0xFFFF:  # a surrogate pair, each half escaped
        cp -= 0x10000
        return _u(0xD800 + (cp >> 10)) + _u(0xDC00 + (cp & 0x3FF))
    return _u(cp)


def _json_string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    return _JSON_FIX.sub(_fix_escape, out) if _JSON_NEEDS_FIX.search(out) else out


def _primitive(v: Any, python: bool) -> str:
    if v is None:
        return "None" if python else "null"
    if v is True:
        return "True" if python else "true"
    if v is False:
        return "False" if python else "false"
    if isinstance(v, str):
        return _json_string(v)
    return str(v)


class _Writer:
    """JSONDataWriter / PythonDataWriter: the same comma and indent state machine, so that
    ``pretty=true`` output matches byte for byte (``"name" : value``, two spaces per level, a
    newline after every ``{``/``[`` and before every ``,``-separated member and the closer)."""

    __slots__ = ("indent", "need_comma", "out", "python")

    def __init__(self, pretty: bool, python: bool):
        self.out: list[str] = []
        self.indent = 0 if pretty else -1
        self.need_comma = False
        self.python = python

    def _newline(self) -> None:
        if self.indent >= 0:
            self.out.append("\n" + "  " * self.indent)

    def _comma(self) -> None:
        if self.need_comma:
            self.out.append(",")
            self._newline()
        self.need_comma = True

    def _open(self, sym: str) -> None:
        self._comma()
        self.out.append(sym)
        self.need_comma = False
        if self.indent >= 0:
            self.indent += 1
        self._newline()

    def _close(self, sym: str) -> None:
        if self.indent >= 0:
            self.indent -= 1
        self._newline()
        self.need_comma = True
        self.out.append(sym)

    def value(self, v: Any) -> None:
        if isinstance(v, dict):
            self._open("{")
            for k, x in v.items():
                self._comma()
                self.out.append(f'"{k}":' if self.indent < 0 else f'"{k}" : ')
                self.need_comma = False
                self.value(x)
            self._close("}")
        elif isinstance(v, (list, tuple)):
            self._open("[")
            for x in v:
                self.value(x)
            self._close("]")
        else:
            self._comma()
            self.out.append(_primitive(v, self.python))


def to_json_bytes(data: Any, pretty: bool = False) -> bytes:
    """``api/json`` as Stapler's JSONDataWriter writes it (see ``_Writer``)."""
    if not pretty:
        out = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if _JSON_NEEDS_FIX.search(out):
            out = _JSON_FIX.sub(_fix_escape, out)
        return out.encode("utf-8")
    w = _Writer(True, False)
    w.value(data)
    return "".join(w.out).encode("utf-8")


def to_python_bytes(data: Any, pretty: bool = False) -> bytes:
    """``api/python``: PythonDataWriter extends JSONDataWriter and only writes ``None``,
    ``True`` and ``False`` for null and booleans [stapler export/PythonDataWriter.java]."""
    w = _Writer(pretty, True)
    w.value(data)
    return "".join(w.out).encode("utf-8")


def xml_root_name(cls: str | None) -> str:
    """XMLDataWriter: ``Introspector.decapitalize(bean.getClass().getSimpleName())``."""
    if not cls:
        return "object"
    s = cls.rsplit(".", 1)[-1].rsplit("$", 1)[-1]
    if len(s) > 1 and s[0].isupper() and s[1].isupper():
        return s  # Introspector.decapitalize leaves "URLThing" alone
    return s[:1].lower() + s[1:]


def _singular(name: str) -> str:
    """XMLDataWriter.toSingular: ``replaceFirst("ies$", "y").replaceFirst("s$", "")``."""
    if name.endswith("ies"):
        name = name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _xml_text(s: str) -> str:
    # Stapler.escape: only < > & [stapler Stapler.java escape()]
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_value(name: str, val: Any, out: list, in_array: bool = False) -> None:
    if val is None:
        return  # valueNull: "use absence to indicate null"
    if isinstance(val, list):
        for v in val:  # startArray: repeated elements named in the singular
            _xml_value(name, v, out, True)
        return
    tag = _singular(name) if in_array else name
    if isinstance(val, dict):
        cls = val.get("_class")
        # startObject writes " _class='" + classAttr + "'" unescaped
        out.append(f"<{tag} _class='{cls}'>" if cls else f"<{tag}>")
        for k, v in val.items():
            if k != "_class":
                _xml_value(k, v, out)
        out.append(f"</{tag}>")
        return
    if isinstance(val, bool):
        val = "true" if val else "false"
    out.append(f"<{tag}>{_xml_text(str(val))}</{tag}>")


def to_xml_bytes(data: dict, wrapper: str | None = None) -> bytes:
    """The whole-object ``api/xml`` of ``rsp.serveExposedBean(req, bean, Flavor.XML)``: no XML
    declaration, the root named after the class, arrays as repeated singular elements
    [stapler export/XMLDataWriter.java].  ``wrapper`` is only used by the xpath path."""
    out: list[str] = []
    _xml_value(xml_root_name(data.get("_class")), data, out)
    return "".join(out).encode("utf-8")


Lazy = Callable[[], Any]
