"""The double stores config.xml as Jenkins does, through XMLUtils.safeTransform, and the referee is
the JDK itself: tests/fixtures/java/SafeTransform.java runs that method's code on Java (what a
controller runs), and the double's Python identity_transform must give the same bytes.  Then
jenkins-kit's drift detection (xmlnorm.normalize) must see no change across the transform."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from jenkins_kit.jenkins.xmlnorm import normalize
from tests.helpers import ROOT, java_home
from tests.jenkins_double.xmlconf import ConfigError, identity_transform

JAVA_SRC = ROOT / "tests" / "fixtures" / "java" / "SafeTransform.java"
GOLDEN = sorted((ROOT / "tests" / "fixtures" / "jobs" / "golden").rglob("*.xml"))

CORPUS = {
    "decl-1.1-quotes": b"<?xml version='1.1' encoding='UTF-8'?>\n<flow-definition plugin=\"workflow-job@1\">\n"
                       b"  <actions/>\n  <description>caf\xc3\xa9 &amp; &lt;x&gt; &quot;q&quot; &apos;a&apos; &#13; t\t"
                       b"</description>\n  <keepDependencies></keepDependencies>\n  <!-- c -->\n"
                       b"  <definition class='x' a=\"1 &amp; &lt; &gt; &quot; ' &#10; &#9;\">\n"
                       b"    <script><![CDATA[stage('a') { echo \"<hi>\" }]]></script>\n  </definition>\n"
                       b"  <?pi data?>\n</flow-definition>\n<!-- trailing -->\n",
    "latin1-standalone-crlf": b'<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>\r\n<!-- lead -->\r\n'
                              b'<project>\r\n<d>caf\xe9 \xa0</d><e xmlns:p="urn:x" p:a="v"/></project>',
    "no-declaration": b"<project><d>x</d></project>",
    "doctype-entity-astral-c1": b'<!DOCTYPE project [<!ENTITY e "ent">]><project><d>&e; \xf0\x9f\x98\x80 \xc2\x85</d></project>',
    "attr-specials-empty-cdata": '<a x="\U0001F600 \u2028 \x7f \xa0" b="2" a="1">\u2028 \x7f ]]&gt; '
                                 '<![CDATA[x \U0001F600 y]]><![CDATA[]]><b>  </b><c xmlns="urn:d"/></a>'.encode(),
    "whitespace-after-root": b"<a>x</a>   \n\n",
}


@pytest.fixture(scope="module")
def jdk_outputs(tmp_path_factory) -> dict[str, bytes | None]:
    home = java_home()
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        pytest.skip("no JDK: the referee for XMLUtils.safeTransform is the JDK's Transformer")
    tmp = tmp_path_factory.mktemp("safetransform")
    inputs = dict(CORPUS)
    inputs.update({f"golden-{i}": p.read_bytes() for i, p in enumerate(GOLDEN)})
    files = []
    for name, data in inputs.items():
        f = tmp / f"{name}.xml"
        f.write_bytes(data)
        files.append(str(f))
    subprocess.run([java, str(JAVA_SRC), *files], check=True, capture_output=True, timeout=180)
    out = {}
    for name in inputs:
        o = tmp / f"{name}.xml.out"
        out[name] = o.read_bytes() if o.exists() else None
    return out


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_identity_transform_matches_the_jdk(jdk_outputs, name):
    assert jdk_outputs[name] is not None
    assert identity_transform(CORPUS[name]) == jdk_outputs[name]


def test_golden_job_configs_transform_like_the_jdk_and_normalize_unchanged(jdk_outputs):
    assert GOLDEN, "golden job fixtures are missing"
    for i, p in enumerate(GOLDEN):
        src = p.read_bytes()
        mine = identity_transform(src)
        assert mine == jdk_outputs[f"golden-{i}"], p
        # what jenkins-kit's drift detection compares is unchanged by Jenkins' transform
        assert normalize(mine) == normalize(src), p


def test_not_well_formed_is_a_config_error():
    with pytest.raises(ConfigError):
        identity_transform(b"<flow-definition><oops></flow-definition>")
