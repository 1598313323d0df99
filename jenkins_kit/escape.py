"""Escaping for every language we emit, one function per target.

Templates reach these through named Jinja2 filters (see render/env.py). Nothing is interpolated raw.
"""

from __future__ import annotations

import re
import shlex

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _check_xml_chars(value: str) -> str:
    if _XML_ILLEGAL.search(value):
        raise ValueError("contains a control character that XML 1.0 cannot represent")
    return value


# Written as character references: CR (parsers normalise it away), DEL and the C1 controls (XML 1.1
# "RestrictedChar": the JDK parser Jenkins uses refuses them raw in a version='1.1' document), NEL and
# U+2028 (XML 1.1 line ends: read back raw as "\n", so a plan would see drift forever). The references
# mean the same in XML 1.0, so Python's expat reads them alike.
_XML_AS_REF = re.compile("[\r\x7f-\x9f\u2028]")


def _char_ref(m: re.Match[str]) -> str:
    return f"&#{ord(m.group())};"


def xml_text(value: object) -> str:
    """Escape for XML character data (config.xml is XML 1.1; see _XML_AS_REF)."""
    s = _check_xml_chars(str(value))
    return _XML_AS_REF.sub(_char_ref, s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def xml_attr(value: object) -> str:
    """Escape for a double-quoted XML attribute value (whitespace kept via char refs)."""
    s = xml_text(value)
    return s.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


_GROOVY_SPECIAL = re.compile(r"[^\x20-\x7e]|[\\'$]")
_GROOVY_PLAIN = re.compile(r"[\x20-\x7e\n\r\t]*")  # printable ASCII and the three named controls
_GROOVY_MAP = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "$": "\\$"}


def _groovy_char(m: re.Match[str]) -> str:
    ch = m.group()
    esc = _GROOVY_MAP.get(ch)
    if esc is not None:
        return esc
    o = ord(ch)
    if o > 0xFFFF:  # a surrogate pair, as Java strings hold it
        o -= 0x10000
        return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"
    return f"\\u{o:04x}"


def groovy_str(value: object) -> str:
    """A Groovy single-quoted string literal (no interpolation), including the quotes.

    Backslash, quote and `$` are escaped (`$` is harmless in '...', and stays safe if a template
    author switches to "..."); anything outside printable ASCII becomes a unicode escape, so the
    Jenkinsfile's encoding never matters. Jenkinsfiles embed whole generated manifests, so this was
    the largest part of a job's render: never a Python call per character.
    """
    s = str(value)
    if _GROOVY_PLAIN.fullmatch(s):  # nearly always: the same escapes by str.replace, 3x faster on a manifest
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("$", "\\$").replace("\n", "\\n").replace(
            "\r", "\\r").replace("\t", "\\t") + "'"
    return "'" + _GROOVY_SPECIAL.sub(_groovy_char, s) + "'"


_YAML_SIMPLE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


_YAML_VERBATIM = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')  # printable ASCII but " and \


def yaml_str(value: object) -> str:
    """A YAML double-quoted scalar in pure ASCII: anything else is a \\x, \\u or \\U escape
    (JSON-style surrogate pairs are not YAML and would not round-trip)."""
    s = str(value)
    if _YAML_VERBATIM.fullmatch(s):  # the common case (names, images, ports): nothing to escape
        return f'"{s}"'
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in _YAML_SIMPLE:
            out.append(_YAML_SIMPLE[ch])
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif o < 0x100:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def shell_word(value: object) -> str:
    """One POSIX shell word."""
    return shlex.quote(str(value))


def jcasc_literal(value: object) -> str:
    """Make text literal for JCasC: `${` starts a variable there, `^${` is the documented escape."""
    return str(value).replace("${", "^${")


def jcasc_ref(name: str) -> str:
    """A JCasC secret reference `${name}` for a variable/secret-file name we control."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise ValueError(f"not a safe JCasC variable name: {name!r}")
    return "${" + name + "}"


def helm_tpl_literal(text: str) -> str:
    """Make text survive Helm's `tpl` unchanged: the chart renders every JCasC configScript as a Go
    template (charts/jenkins templates/jcasc-config.yaml), where `{{` opens an action. Emitting
    `{{` as the action `{{ "{{" }}` prints it literally; `}}` alone is plain text."""
    return text.replace("{{", '{{ "{{" }}')
