"""Normalized XML: Jenkins' re-save noise is equal, every real edit is not."""

from __future__ import annotations

import pytest

from jenkins_kit.jenkins.xmlnorm import XmlNormError, normalize, same

BASE = """<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job@1400.v7fd111b_ec82f">
  <description>a &amp; b "q" 'a'</description>
  <properties/>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps@3894">
    <script>line 1
  indented line 2
</script>
    <sandbox>true</sandbox>
  </definition>
  <disabled>false</disabled>
</flow-definition>"""


@pytest.mark.parametrize("variant", [
    # no declaration, no plugin attributes, other indentation, other escapes, <x></x>
    """<flow-definition><description>a &amp; b &quot;q&quot; &apos;a&apos;</description><properties></properties>
<definition plugin="x" class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"><script>line 1
  indented line 2
</script><sandbox>true</sandbox></definition><disabled>false</disabled></flow-definition>""",
    # XML 1.0 declaration, tabs between elements, empty element left out, an extra empty element
    """<?xml version="1.0" encoding="utf-8"?>\n<flow-definition>\n\t<actions/>\n\t<description>a &amp; b "q" 'a'</description>
\t<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"><script>line 1
  indented line 2
</script><sandbox>true</sandbox></definition>\n\t<disabled>false</disabled>\n</flow-definition>""",
])
def test_noise_is_equal(variant):
    assert same(BASE, variant)


@pytest.mark.parametrize("old,new", [
    ("<sandbox>true</sandbox>", "<sandbox>false</sandbox>"),
    ("indented line 2", "indented line 2 "),  # leaf text is byte for byte
    ("  indented", "\tindented"),
    ("CpsFlowDefinition\"", "CpsScmFlowDefinition\""),  # class attribute
    ("<properties/>", "<properties><x>1</x></properties>"),
    ("<description>a &amp; b", "<description>a &amp;  b"),
])
def test_edits_are_not_equal(old, new):
    assert old in BASE
    assert not same(BASE, BASE.replace(old, new))


def test_element_order_counts_and_output_diffs_by_line():
    a = "<a><b>1</b><c>2</c></a>"
    b = "<a><c>2</c><b>1</b></a>"
    assert not same(a, b)
    assert normalize(BASE).splitlines()[3:5] == ["    <script>line 1", "  indented line 2"]


def test_not_xml_is_an_error():
    with pytest.raises(XmlNormError):
        normalize("<a><b></a>")
