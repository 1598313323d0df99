"""render_jobs: structure of every item, ordering, defaults merge, overrides, golden files."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.errors import InvalidValue
from jenkins_kit.render.jobs import marker, parse_marker, render_jobs

GOLDEN = Path(__file__).parent / "fixtures" / "jobs" / "golden"
REGEN = os.environ.get("JENKINS_KIT_REGEN_GOLDEN") == "1"


def base_config(repositories: list[dict], **extra) -> LabConfig:
    data = {
        "nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"},
        "registry": {"address": "192.168.1.10:8443", "insecure": True},
        "repositories": repositories,
    }
    data.update(extra)
    return LabConfig.model_validate(data)


def shapes_config() -> LabConfig:
    return base_config(
        [
            {"name": "echo", "git": "https://example.com/org/echo.git", "deploy": {"generate": {"container_port": 80}}},
            {"name": "web", "git": "git@example.com:org/web.git", "branch": "develop", "credentials_id": "git-creds",
             "dockerfile": "docker/Dockerfile", "context": "src", "deploy": {"manifests": "deploy", "deployment": "web-frontend"},
             "job": {"folder": "team/frontend", "keep_builds": 10, "poll_scm": "H/5 * * * *", "description": "the web app",
                     "parameters": [
                         {"name": "GREETING", "default": "hi", "description": "what to say"},
                         {"name": "DEPLOY", "type": "boolean", "default": True},
                         {"name": "ENV", "type": "choice", "choices": ["dev", "qa", "prod"]},
                     ]}},
            {"name": "api", "git": "https://example.com/org/api.git", "job": {"folder": "team", "jenkinsfile": "scm", "script_path": "ci/Jenkinsfile"}},
            {"name": "lib", "git": "https://example.com/org/lib.git", "job": {"type": "multibranch", "folder": "team", "scan_interval_minutes": 30}},
            *[{"name": f"lang-{t}", "git": f"https://example.com/org/{t}.git", "job": {"template": t, "folder": "langs"}}
              for t in ("maven", "gradle", "node", "go", "python")],
            {"name": "off", "git": "file:///srv/git/off.git", "job": {"disabled": True}},
            {"name": "echo-ip-101", "git": "https://example.com/org/echo-ip.git", "credentials_id": "git-creds",
             "job": {"type": "freestyle", "folder": "team", "poll_scm": "H/5 * * * *", "cron": "H 2 * * 1-5",
                     "parameters": [{"name": "TAG", "default": "latest"}],
                     "steps": ["echo \"building $TAG\"", "kubectl -n dev get deploy echo-ip -o name"]}},
        ],
        jobs={"defaults": {"keep_builds": 20}},
    )


def test_items_folders_first_parents_before_children():
    jobs = render_jobs(shapes_config())
    names = [j.full_name for j in jobs]
    kinds = [j.kind for j in jobs]
    assert names[:3] == ["langs", "team", "team/frontend"]
    assert kinds[:3] == ["folder"] * 3 and "folder" not in kinds[3:]
    for i, j in enumerate(jobs):
        if j.parent:
            assert j.parent in names[:i]
    assert {j.full_name: j.kind for j in jobs}["team/lib"] == "multibranch"


def test_every_config_is_well_formed_with_the_expected_structure():
    for j in render_jobs(shapes_config()):
        root = ET.fromstring(j.config_xml.encode())
        desc = root.findtext("description")
        assert parse_marker(desc) == j.spec_hash
        if j.kind == "folder":
            assert root.tag == "com.cloudbees.hudson.plugins.folder.Folder"
        elif j.kind == "multibranch":
            assert root.tag == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
            src = root.find("sources/data/jenkins.branch.BranchSource/source")
            assert src.get("class") == "jenkins.plugins.git.GitSCMSource"
            assert src.findtext("remote") == "https://example.com/org/lib.git"
            assert root.find("orphanedItemStrategy").findtext("pruneDeadBranches") == "true"
            assert root.findtext("triggers/com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger/interval") == "1800000"
            assert root.findtext("factory/scriptPath") == "Jenkinsfile"
            assert j.jenkinsfile is None
        elif j.kind == "freestyle":
            assert root.tag == "project" and j.jenkinsfile is None
            assert [c.tag for c in root] == ["actions", "description", "keepDependencies", "properties", "scm", "assignedNode", "canRoam", "disabled",
                                             "blockBuildWhenDownstreamBuilding", "blockBuildWhenUpstreamBuilding", "triggers",
                                             "concurrentBuild", "builders", "publishers", "buildWrappers"]
            assert root.find("scm").get("class") == "hudson.plugins.git.GitSCM"
            # shell steps need the shell template's tools: named, so the job runs whatever agents.usage_mode says
            assert (root.findtext("assignedNode"), root.findtext("canRoam")) == ("jenkins-kit-agent-shell", "false")
            assert root.findtext("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/credentialsId") == "git-creds"
            assert root.findtext("triggers/hudson.triggers.SCMTrigger/spec") == "H/5 * * * *"
            assert root.findtext("triggers/hudson.triggers.TimerTrigger/spec") == "H 2 * * 1-5"
            assert [c.findtext("command") for c in root.find("builders")] == ['echo "building $TAG"', "kubectl -n dev get deploy echo-ip -o name"]
            assert root.find("properties/org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty") is None
        else:
            assert root.tag == "flow-definition"
            assert [c.tag for c in root] == ["actions", "description", "keepDependencies", "properties", "definition", "triggers", "disabled"]
            d = root.find("definition")
            if j.jenkinsfile is None:
                assert d.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
                assert d.findtext("lightweight") == "true"
                assert d.find("scm").get("class") == "hudson.plugins.git.GitSCM"
            else:
                assert d.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
                assert d.findtext("sandbox") == "true"
                assert d.findtext("script") == j.jenkinsfile


def test_parameters_triggers_discarder_and_defaults_merge():
    by = {j.full_name: j for j in render_jobs(shapes_config())}
    web = ET.fromstring(by["team/frontend/web"].config_xml.encode())
    props = web.find("properties")
    assert props.findtext("jenkins.model.BuildDiscarderProperty/strategy/numToKeep") == "10"  # repo wins
    pd = props.find("hudson.model.ParametersDefinitionProperty/parameterDefinitions")
    assert [c.tag.rsplit(".", 1)[1] for c in pd] == ["StringParameterDefinition", "BooleanParameterDefinition", "ChoiceParameterDefinition"]
    assert pd[0].findtext("defaultValue") == "hi" and pd[1].findtext("defaultValue") == "true"
    assert [s.text for s in pd[2].iter("string")] == ["dev", "qa", "prod"]
    assert props.findtext(".//hudson.triggers.SCMTrigger/spec") == "H/5 * * * *"
    assert web.findtext("description").startswith("the web app\n\n")
    echo = ET.fromstring(by["echo"].config_xml.encode())
    assert echo.findtext("properties/jenkins.model.BuildDiscarderProperty/strategy/numToKeep") == "20"  # default
    assert ET.fromstring(by["off"].config_xml.encode()).findtext("disabled") == "true"
    api = ET.fromstring(by["team/api"].config_xml.encode())
    assert api.findtext("definition/scriptPath") == "ci/Jenkinsfile"
    assert api.findtext("definition/scm/branches/hudson.plugins.git.BranchSpec/name") == "*/main"


def test_jenkinsfile_stages_agent_and_values():
    by = {j.full_name: j for j in render_jobs(shapes_config())}
    jf = by["team/frontend/web"].jenkinsfile
    assert "agent { label 'jenkins-kit-agent' }" in jf
    for s in ("stage('Checkout')", "stage('Build and push image')", "stage('Deploy')", "stage('Rollout')"):
        assert s in jf
    assert "container('builder')" in jf and "container('kubectl')" in jf
    assert "'KIT_IMAGE=192.168.1.10:8443/web'" in jf
    assert "'KIT_DOCKERFILE_DIR=docker'" in jf and "'KIT_CONTEXT=src'" in jf
    assert "'KIT_DEPLOYMENT=web-frontend'" in jf and "credentialsId: 'git-creds'" in jf
    assert "push=true$KIT_OUTPUT_OPTS" in jf and "'KIT_OUTPUT_OPTS=,registry.insecure=true'" in jf
    assert "docker.sock" not in jf
    echo = by["echo"].jenkinsfile
    assert "writeFile file: 'jenkins-kit-deploy.yaml'" in echo and "env.BUILD_NUMBER" in echo
    assert "kind: Service" in echo and 'type: \"LoadBalancer\"' in echo
    assert "stage('Compile and test')" in by["langs/lang-maven"].jenkinsfile and "maven:3.9" in by["langs/lang-maven"].jenkinsfile
    assert "stage('Compile and test')" not in echo


def test_deterministic_and_hash_tracks_the_spec():
    a = render_jobs(shapes_config())
    b = render_jobs(shapes_config())
    assert [(j.full_name, j.config_xml, j.spec_hash) for j in a] == [(j.full_name, j.config_xml, j.spec_hash) for j in b]
    cfg = base_config([{"name": "x", "git": "https://e.com/x.git"}])
    cfg2 = base_config([{"name": "x", "git": "https://e.com/x.git", "branch": "dev"}])
    assert render_jobs(cfg)[0].spec_hash != render_jobs(cfg2)[0].spec_hash
    j = render_jobs(cfg)[0]
    assert marker(j.spec_hash, "jenkins.jenkins", "x") in j.config_xml


def test_user_templates_override_shipped_ones_by_name(tmp_path):
    (tmp_path / "Jenkinsfile.j2").write_text("pipeline { agent any; stages { stage({{ repo.name|groovy }}) { steps { echo 'custom' } } } }\n")
    cfg = base_config([{"name": "x", "git": "https://e.com/x.git"}], jobs={"templates_dir": str(tmp_path)})
    j = render_jobs(cfg)[0]
    assert "echo 'custom'" in j.jenkinsfile and "stage('x')" in j.jenkinsfile
    # relative templates_dir is taken from the config's folder
    cfg = base_config([{"name": "x", "git": "https://e.com/x.git"}], jobs={"templates_dir": tmp_path.name})
    assert "custom" in render_jobs(cfg, base_dir=tmp_path.parent)[0].jenkinsfile


def test_illegal_values_are_rejected_clearly():
    # The schema decides (config validate = render): render never meets these values.
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="ownership marker"):
        base_config([{"name": "x", "git": "https://e.com/x.git", "description": "a " + marker("0123456789abcdef")}])
    with pytest.raises(ValidationError, match="same name"):
        base_config([{"name": "team", "git": "https://e.com/x.git"}, {"name": "y", "git": "https://e.com/y.git", "job": {"folder": "Team"}}])
    with pytest.raises(ValidationError, match="relative path"):
        base_config([{"name": "x", "git": "https://e.com/x.git", "context": "../outside"}])
    with pytest.raises(ValidationError, match="unsafe character"):
        base_config([{"name": "x", "git": "https://e.com/x.git", "job": {"folder": "a/b$c"}}])
    # render keeps its own guard for configs built without validation (model_construct/model_copy).
    good = base_config([{"name": "x", "git": "https://e.com/x.git"}])
    bad = good.model_copy(update={"repositories": [good.repositories[0].model_copy(update={"context": "../outside"})]})
    with pytest.raises(InvalidValue, match="relative path"):
        render_jobs(bad)


def test_golden_files():
    """tests/fixtures/jobs/golden/<case>/input.yaml -> expected/<item>/{config.xml,Jenkinsfile}.
    Regenerate with JENKINS_KIT_REGEN_GOLDEN=1 after an intended template change, then review the diff."""
    from jenkins_kit.config.loader import load_config

    cases = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    assert cases
    for case in cases:
        jobs = render_jobs(load_config(case / "input.yaml"), base_dir=case)
        produced = {}
        for j in jobs:
            produced[f"{j.full_name}/config.xml"] = j.config_xml
            if j.jenkinsfile is not None:
                produced[f"{j.full_name}/Jenkinsfile"] = j.jenkinsfile
        exp = case / "expected"
        if REGEN:
            import shutil

            shutil.rmtree(exp, ignore_errors=True)
            for rel, text in produced.items():
                (exp / rel).parent.mkdir(parents=True, exist_ok=True)
                (exp / rel).write_text(text, encoding="utf-8")
        have = {str(p.relative_to(exp)): p.read_text(encoding="utf-8") for p in exp.rglob("*") if p.is_file()}
        assert sorted(have) == sorted(produced), case.name
        for rel, text in produced.items():
            assert text == have[rel], f"{case.name}/{rel} differs from the golden file (JENKINS_KIT_REGEN_GOLDEN=1 to update)"


def test_unknown_template_is_a_clear_error():
    with pytest.raises(InvalidValue, match="template cannot be loaded"):
        render_jobs(base_config([{"name": "x", "git": "https://e.com/x.git", "job": {"template": "cobol"}}]))
