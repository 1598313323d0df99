"""Normalized config.xml for comparing what we want with what Jenkins has.

Jenkins never keeps the bytes we POST: createItem and config.xml store the output of an identity
transform (`XMLUtils.safeTransform`: `<?xml version="1.0" encoding="UTF-8"?>` with no newline, `<x/>`,
quotes unescaped, comments kept), and it rewrites a job's XML whenever it saves it: `<?xml version='1.1'...?>`, `plugin="name@version"`
attributes, XStream's indentation, `&quot;`/`&apos;` escapes, `<x></x>` vs `<x/>`. None of that is a
change. `normalize` removes exactly that noise — XML declaration, `plugin` attributes, attribute order,
whitespace between elements, the spelling of escapes, empty elements (`<x/>` = `<x></x>` = absent, when
they carry no attributes) — and keeps everything that
Jenkins would load differently (element order, leaf text byte for byte, other attributes). The result
is an indented text that diffs line by line, with multi-line leaf text (inline Jenkinsfiles) shown
as lines of its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

IGNORED_ATTRS = frozenset({"plugin"})


class XmlNormError(ValueError):
    pass


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(s: str) -> str:
    return _esc(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _write(el: ET.Element, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    attrs = "".join(f' {k}="{_attr(v)}"' for k, v in sorted(el.attrib.items()) if k not in IGNORED_ATTRS)
    children = [c for c in el if not _empty_leaf(c)]
    if children:
        out.append(f"{pad}<{el.tag}{attrs}>")
        for c in children:
            _write(c, depth + 1, out)
        out.append(f"{pad}</{el.tag}>")
        return
    text = el.text or ""
    if text:
        out.append(f"{pad}<{el.tag}{attrs}>{_esc(text)}</{el.tag}>")
    else:
        out.append(f"{pad}<{el.tag}{attrs}/>")


def _empty_leaf(el: ET.Element) -> bool:
    """`<x/>` with no attributes (other than plugin) and no text: Jenkins loads it as the default an
    absent element gets, and XStream adds or drops such elements on save depending on plugin versions."""
    return len(el) == 0 and not el.text and all(k in IGNORED_ATTRS for k in el.attrib)


def parse(xml: str | bytes) -> ET.Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise XmlNormError(f"not well-formed XML: {e}") from None


def normalize(xml: str | bytes) -> str:
    """Canonical text of a config.xml (see module docstring). Raises XmlNormError when not XML."""
    out: list[str] = []
    _write(parse(xml), 0, out)
    return "\n".join(out) + "\n"


def same(a: str | bytes, b: str | bytes) -> bool:
    return normalize(a) == normalize(b)
