"""Every escaper, checked by the real parser of its language with hostile input."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_kit import escape
from tests.helpers import java_home

HOSTILE = [
    "",
    "plain",
    "quote ' and \" and `back`",
    "back\\slash\\\\ and \\n literal",
    "${x} $x ${env.PATH} ^${y} $(id) `id`",
    "''' triple ''' and \"\"\" triple \"\"\"",
    "</description><script>alert(1)</script>",
    "]]> <![CDATA[ x ]]>",
    "line1\nline2\r\nline3\ttab",
    "unicode: 한국어 ünïcödé 🚀 \u2028 \u2029",
    "x" * 5000,
    "; rm -rf / #",
    "-- --help -n",
    "key: value # comment\n- item\n? complex",
    "&amp; &lt; &#x41;",
]

# XML 1.0 cannot carry most control characters at all; everything else must round-trip.
xml_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20))


@pytest.mark.parametrize("value", HOSTILE)
def test_xml_text_and_attribute_round_trip(value: str) -> None:
    doc = f'<a k="{escape.xml_attr(value)}">{escape.xml_text(value)}</a>'
    root = ET.fromstring(doc)
    assert root.text in (value, None if value == "" else value)
    assert root.get("k") == value


@given(xml_text)
@settings(max_examples=300, deadline=None)
def test_xml_round_trip_property(value: str) -> None:
    root = ET.fromstring(f'<a k="{escape.xml_attr(value)}">{escape.xml_text(value)}</a>')
    assert (root.text or "") == value
    assert root.get("k") == value


def test_xml_rejects_characters_xml_cannot_carry() -> None:
    with pytest.raises(ValueError, match="control character"):
        escape.xml_text("bell\x07")


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_yaml_round_trip_property(value: str) -> None:
    assert yaml.safe_load("k: " + escape.yaml_str(value))["k"] == value


@pytest.mark.parametrize("value", HOSTILE)
def test_shell_word_round_trip(value: str) -> None:
    out = subprocess.run(["sh", "-c", f"printf '%s' {escape.shell_word(value)}"], capture_output=True, check=True)
    assert out.stdout.decode("utf-8") == value.replace("\r\n", "\r\n")


def test_jcasc_literal_escapes_interpolation() -> None:
    assert escape.jcasc_literal("${a} and $b") == "^${a} and $b"
    with pytest.raises(ValueError):
        escape.jcasc_ref("bad}name")


def test_groovy_string_literals_round_trip_through_groovy_2_4(tmp_path: Path) -> None:
    """One JVM run: Groovy evaluates every literal we produce and prints it back hex-encoded."""
    if shutil.which("groovy") is None:
        pytest.fail("groovy is not installed: scripts/setup installs Debian's groovy package")
    rng = random.Random(7)
    values = list(HOSTILE) + ["".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000), 0x1F680, 10, 13, 9, 36, 39, 92])) for _ in range(rng.randrange(1, 60))) for _ in range(200)]
    lines = ["def out = []"]
    for v in values:
        lines.append(f"out << {escape.groovy_str(v)}")
    lines.append("out.each { s -> println('x' + s.getBytes('UTF-8').encodeHex().toString()) }")
    script = tmp_path / "literals.groovy"
    script.write_text("\n".join(lines) + "\n", encoding="ascii")
    env = dict(os.environ)
    if java_home():
        env["JAVA_HOME"] = java_home()  # type: ignore[assignment]
    proc = subprocess.run(["groovy", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = [bytes.fromhex(h[1:]).decode("utf-8") for h in proc.stdout.split()]
    assert got == values
