"""Hostile repository metadata: config.xml parses (XML parser) and Jenkinsfiles parse (Groovy 2.4), and
every value comes back exactly. Property-based (hypothesis); one JVM parses all generated Jenkinsfiles."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jenkins_kit.config.schema import jenkins_name_problem
from jenkins_kit.jenkins.xmlnorm import normalize
from jenkins_kit.render.jobs import marker, render_jobs
from tests.test_render_jobs import base_config
from tests.test_render_jobs_groovy import groovy_parse, needs_groovy

NASTY = ["'", '"', "\\", "${x}", "$x", "'''", '"""', "</description>", "]]>", "<![CDATA[", "\n", "\r\n", "\t", "&amp;",
         "é", "日本", "\U0001F600", "\u2028", "`id`", "$(id)", ";", "*/", "/*", "//", "#{1}", "\\u0041", "\\'", "%s", "{{ x }}", "{% x %}"]
_XML_ILLEGAL = {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"} | {"\ufffe", "\uffff"}
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(_XML_ILLEGAL))
hostile = st.lists(st.one_of(st.sampled_from(NASTY), st.text(_chars, max_size=12)), max_size=8).map("".join)
long_hostile = st.one_of(hostile, hostile.map(lambda s: (s + "'$\"\\") * 300))
no_ws = hostile.map(lambda s: "".join(c for c in s if not c.isspace() and c not in "\u2028"))


def _ok_branch(b: str) -> bool:
    try:
        base_config([{"name": "x", "git": "https://e.com/x.git", "branch": b}])
        return True
    except ValidationError:
        return False


branch = no_ws.map(lambda s: "b" + s).filter(_ok_branch)
folder = hostile.map(lambda s: ("f" + s).strip() or "f").filter(lambda s: jenkins_name_problem(s) is None)
jenkins_id = hostile.map(lambda s: "c" + s).filter(lambda s: jenkins_name_problem(s) is None)
rel_path = hostile.map(lambda s: "p" + s).filter(lambda p: not p.startswith("/") and ".." not in p.split("/"))

COLLECTED: dict[str, tuple[str, dict]] = {}


def _scenario(desc, git_tail, br, fold, cred, dockerfile, context, manifests, pdesc, pdefault, choices, poll, script_path):
    git = "https://e.com/" + git_tail
    repos = [
        {"name": "gen", "git": git, "branch": br, "credentials_id": cred, "dockerfile": dockerfile, "context": context,
         "description": desc,
         "job": {"folder": fold, "poll_scm": poll, "parameters": [
             {"name": "S", "default": pdefault, "description": pdesc},
             {"name": "C", "type": "choice", "choices": choices, "description": pdesc},
             {"name": "B", "type": "boolean", "default": True}]}},
        {"name": "man", "git": git, "branch": br, "deploy": {"manifests": manifests}, "job": {"folder": fold}},
        {"name": "scm", "git": git, "branch": br, "job": {"jenkinsfile": "scm", "script_path": script_path, "description": desc}},
        {"name": "mb", "git": git, "credentials_id": cred, "job": {"type": "multibranch", "script_path": script_path}},
    ]
    try:
        cfg = base_config(repos)
    except ValidationError:
        assume(False)
    return cfg, git


@needs_groovy
def test_hostile_values_parse_and_round_trip():
    from tests.jenkins_double.xmlconf import serialize

    COLLECTED.clear()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(long_hostile, no_ws, branch, folder, jenkins_id, rel_path, rel_path, rel_path, hostile, hostile,
           st.lists(hostile, min_size=1, max_size=4), hostile.filter(lambda s: s.strip() != ""), hostile.filter(lambda s: s != ""))
    def check(desc, git_tail, br, fold, cred, dockerfile, context, manifests, pdesc, pdefault, choices, poll, script_path):
        cfg, git = _scenario(desc, git_tail, br, fold, cred, dockerfile, context, manifests, pdesc, pdefault, choices, poll, script_path)
        jobs = {j.full_name: j for j in render_jobs(cfg)}
        gen, man, scm, mb = jobs[f"{fold}/gen"], jobs[f"{fold}/man"], jobs["scm"], jobs["mb"]
        assert jobs[fold].kind == "folder"
        for j in jobs.values():
            root = ET.fromstring(j.config_xml.encode("utf-8"))
            # Jenkins' re-save (the double's XStream-style writer) changes nothing that matters
            kind = {"pipeline": "workflow", "folder": "folder", "multibranch": "multibranch"}[j.kind]
            resaved = serialize(root, kind, description=root.findtext("description"), disabled=root.findtext("disabled") == "true")
            assert normalize(resaved) == normalize(j.config_xml)
        r = ET.fromstring(gen.config_xml.encode("utf-8"))
        assert r.findtext("description") == desc + "\n\n" + marker(gen.spec_hash, gen.owner, gen.full_name) if desc else True
        assert r.findtext("definition/script") == gen.jenkinsfile
        pds = r.find("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions")
        assert pds[0].findtext("defaultValue") == pdefault and pds[0].findtext("description") == pdesc
        assert [s.text or "" for s in pds[1].iter("string")] == choices
        assert r.findtext(".//hudson.triggers.SCMTrigger/spec") == poll
        s = ET.fromstring(scm.config_xml.encode("utf-8"))
        assert s.findtext("definition/scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == git
        assert s.findtext("definition/scm/branches/hudson.plugins.git.BranchSpec/name") == "*/" + br
        assert s.findtext("definition/scriptPath") == script_path
        assert s.findtext("description") == (desc + "\n\n" if desc else "") + marker(scm.spec_hash, scm.owner, scm.full_name)
        m = ET.fromstring(mb.config_xml.encode("utf-8"))
        src = m.find("sources/data/jenkins.branch.BranchSource/source")
        assert src.findtext("remote") == git and src.findtext("credentialsId") == cred
        assert m.findtext("factory/scriptPath") == script_path
        df = posixpath.normpath(dockerfile)
        expect_gen = {git, br, cred, "KIT_CONTEXT=" + posixpath.normpath(context),
                      "KIT_DOCKERFILE_DIR=" + (posixpath.dirname(df) or "."), "KIT_DOCKERFILE_NAME=" + posixpath.basename(df)}
        expect_man = {git, br, "KIT_MANIFESTS=" + posixpath.normpath(manifests)}
        n = len(COLLECTED)
        COLLECTED[f"gen{n}"] = (gen.jenkinsfile, {"expect": expect_gen})
        COLLECTED[f"man{n}"] = (man.jenkinsfile, {"expect": expect_man})

    check()
    assert len(COLLECTED) >= 40
    res = groovy_parse({k: v[0] for k, v in COLLECTED.items()})
    for k, (text, meta) in COLLECTED.items():
        r = res[k]
        assert "error" not in r, (k, r.get("error"), text)
        missing = [v for v in meta["expect"] if v not in r["strings"]]
        assert not missing, (k, missing)


def test_values_xml_cannot_carry_are_rejected():
    cfg = base_config([{"name": "x", "git": "https://e.com/x.git", "description": "bell\x07"}])
    from jenkins_kit.errors import InvalidValue

    with pytest.raises(InvalidValue, match="control character"):
        render_jobs(cfg)
