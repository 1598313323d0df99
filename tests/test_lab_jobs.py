"""Issue 13: jobs that would run in the textbook lab (agent any, compile-then-image, environments,
credentials) and several configs sharing one Jenkins."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jenkins_kit.jcasc_schema import check
from jenkins_kit.render.jcasc import render_jcasc
from tests.helpers import config_with, sample_config


def _templates(cfg) -> dict[str, dict]:
    cloud = yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])
    return {t["name"]: t for t in cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"]}


def _template(cfg) -> dict:
    return _templates(cfg)[cfg.agents.label]


def test_unlabelled_work_goes_to_the_shell_template_like_the_book():
    ts = _templates(sample_config())
    # kubernetes-plugin PodTemplateLabelFilter#transform: a build with no label (agent any, freestyle)
    # is provisioned only from a NORMAL template. Exactly one template takes it: the one whose agent
    # container has the tools (the pipeline template keeps only builds naming its label).
    normal = [n for n, t in ts.items() if t["nodeUsageMode"] == "NORMAL"]
    assert normal == ["jenkins-kit-agent-shell"]
    assert ts["jenkins-kit-agent"]["nodeUsageMode"] == "EXCLUSIVE"
    shell = ts["jenkins-kit-agent-shell"]
    assert shell["id"] == shell["name"] == shell["label"] == "jenkins-kit-agent-shell"
    env = {e["envVar"]["key"]: e["envVar"]["value"] for e in shell["containers"][0]["envVars"]}
    assert env["PATH"].split(":")[0] == "/opt/jenkins-kit/bin" and "/usr/local/bin" in env["PATH"].split(":")
    assert env["BUILDKIT_HOST"] == "unix:///run/buildkit/buildkitd.sock" and env["KIT_REGISTRY"] == "192.168.1.10:8443"
    pod = yaml.safe_load(shell["yaml"])["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["tools-kubectl", "tools-buildctl"]
    assert {c["name"] for c in pod["containers"]} == {"jnlp", "buildkitd"}


def test_without_the_shell_template_the_pipeline_template_takes_unlabelled_work():
    ts = _templates(config_with(agents={"shell_template": False}))
    assert list(ts) == ["jenkins-kit-agent"] and ts["jenkins-kit-agent"]["nodeUsageMode"] == "NORMAL"


def test_usage_mode_and_label_are_config_choices_and_pass_the_gate():
    for shell in (True, False):
        cfg = config_with(agents={"usage_mode": "EXCLUSIVE", "label": "team-a", "shell_template": shell})
        ts = _templates(cfg)
        assert ts["team-a"]["nodeUsageMode"] == "EXCLUSIVE" and ts["team-a"]["label"] == "team-a"
        assert shell == ("team-a-shell" in ts) and all(t["nodeUsageMode"] == "EXCLUSIVE" for t in ts.values())
        assert check(yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])) == []


def test_the_shell_template_name_is_reserved_like_the_pipeline_templates():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="jenkins-kit's own pod template"):
        config_with(agents={"pod_templates": [{"template": {"name": "jenkins-kit-agent-shell", "label": "x"}}]})


# ------------------------------------------------------------------------------------ ownership per config
def _cli_config(tmp_path, name: str, owner: str | None, repos: list[dict]) -> str:
    from tests.helpers import SAMPLE

    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["repositories"] = repos
    if owner:
        data.setdefault("jobs", {})["owner"] = owner
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(p)


def _run(d, *args: str):
    import json

    from click.testing import CliRunner

    from jenkins_kit.cli.main import cli

    env = {"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user, "JENKINS_API_TOKEN": d.token}
    r = CliRunner().invoke(cli, ["jobs", *args, "--json"], env=env)
    assert r.exit_code in (0, 2), r.output
    return json.loads(r.stdout)


def _states(doc) -> dict[str, str]:
    changes = doc["plan"]["changes"] if "plan" in doc else doc["changes"]
    return {c["name"]: c["state"] for c in changes}


def test_two_configs_share_one_jenkins_and_never_touch_each_other(jenkins_double, tmp_path):
    from tests.test_jobs_sync import client_for

    d = jenkins_double
    a_repos = [{"name": "a1", "git": "https://e.com/a1.git", "job": {"folder": "shared"}},
               {"name": "a2", "git": "https://e.com/a2.git"}]
    b_repos = [{"name": "b1", "git": "https://e.com/b1.git", "job": {"folder": "shared"}},
               {"name": "b2", "git": "https://e.com/b2.git"}]
    a = _cli_config(tmp_path, "a", "team-a", a_repos)
    b = _cli_config(tmp_path, "b", "team-b", b_repos)
    assert _run(d, "apply", "-c", a, "--prune", "delete")["apply"]["ok"]
    doc = _run(d, "apply", "-c", b, "--prune", "delete")
    assert doc["apply"]["ok"]
    st = _states(doc)
    # B sees A's jobs as another config's, and A's folder as not its own: nothing of A's is pending
    assert st["a2"] == "other" and st["shared/a1"] == "other" and st["shared"] == "other"  # a shared folder
    assert {c["name"] for c in doc["plan"]["changes"] if c["op"]} == {"shared/b1", "b2"}

    with client_for(d) as c:
        snapshot = {n: c.get_text(c.job_url_path(n) + "config.xml") for n in ("shared/b1", "b2")}
        # a UI copy of A's job (same description, so the same marker) under another name
        c.post("createItem", params={"name": "a2-copy", "mode": "copy", "from": "a2"})
        assert "team-a" in c.get_json(c.job_url_path("a2-copy"), tree="description")["description"]

    # A drops a2 and everything in the shared folder, and prunes with delete
    a = _cli_config(tmp_path, "a", "team-a", [])
    plan = _run(d, "plan", "-c", a, "--prune", "delete")
    st = _states(plan)
    assert st["a2"] == "orphaned" and st["shared/a1"] == "orphaned" and st["shared/b1"] == "other" and st["b2"] == "other"
    assert "a2-copy" not in st  # not ours: a copy is never pruned
    ops = {c["name"]: c["op"] for c in plan["changes"]}
    assert ops["a2"] == "delete" and ops["shared/a1"] == "delete" and ops["shared"] == ""  # holds B's job
    assert _run(d, "apply", "-c", a, "--prune", "delete")["apply"]["ok"]

    with client_for(d) as c:
        from jenkins_kit.jenkins.jobs import list_items

        live = list_items(c)
        assert "a2" not in live and "shared/a1" not in live
        assert {"shared", "a2-copy", "shared/b1", "b2"} <= set(live)
        for n, xml in snapshot.items():
            assert c.get_text(c.job_url_path(n) + "config.xml") == xml  # B's jobs byte for byte untouched

    # B is still clean; with --adopt A would not take B's job, but it does take the UI copy
    assert _run(d, "plan", "-c", b, "--prune", "delete")["pending"] == 0
    a = _cli_config(tmp_path, "a", "team-a", [{"name": "a2-copy", "git": "https://e.com/a2.git"},
                                               {"name": "b2", "git": "https://e.com/b2.git"}])
    plan = _run(d, "plan", "-c", a, "--adopt")
    st = _states(plan)
    assert st["a2-copy"] == "adopt" and st["b2"] == "foreign"
    reason = next(c["reason"] for c in plan["changes"] if c["name"] == "b2")
    assert "team-b" in reason


def test_legacy_markers_belong_to_the_default_owner_only(jenkins_double, tmp_path):
    from tests.test_jobs_sync import client_for

    d = jenkins_double
    legacy = ("<flow-definition><description>old\n\n[managed by jenkins-kit; spec 0123456789abcdef]</description>"
              "</flow-definition>")
    with client_for(d) as c:
        c.post_xml("createItem", legacy, params={"name": "old"})
    default = _cli_config(tmp_path, "default", None, [])
    named = _cli_config(tmp_path, "named", "team-a", [])
    assert _states(_run(d, "plan", "-c", named, "--prune", "delete")) == {}  # not claimed, never pruned
    plan = _run(d, "plan", "-c", default, "--prune", "delete")
    assert {c["name"]: c["op"] for c in plan["changes"]} == {"old": "delete"}


# ------------------------------------------------------------------------------------ compile-then-image
# echo-buildtime as the chapter uses it (github.com/prj4devops/echo-buildtime; the book's copy is
# sysnet4admin/_Book_k8sInfra ch5/5.3.1): Spring Boot 2.2 for Java 1.8, the jar built by `mvn package`,
# copied by the Dockerfile, the app on 18080.
ECHO_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
    <modelVersion>4.0.0</modelVersion>
    <parent>
        <groupId>org.springframework.boot</groupId>
        <artifactId>spring-boot-starter-parent</artifactId>
        <version>2.2.7.RELEASE</version>
        <relativePath/>
    </parent>
    <groupId>com.example</groupId>
    <artifactId>demo</artifactId>
    <version>0.0.1-SNAPSHOT</version>
    <properties>
        <java.version>1.8</java.version>
    </properties>
</project>
"""
ECHO_DOCKERFILE = """FROM openjdk:8
LABEL description="Sample Java Application"
COPY ./target/demo-0.0.1-SNAPSHOT.jar /tmp/demo.jar
WORKDIR /tmp
EXPOSE 18080
ENTRYPOINT [ "java", "-jar", "demo.jar" ]
"""
ECHO_FILES = {
    "pom.xml": ECHO_POM,
    "Dockerfile": ECHO_DOCKERFILE,
    "src/main/java/com/prj4devops/Prj4DevOpsApplication.java": "package com.prj4devops;\npublic class Prj4DevOpsApplication {}\n",
    "src/main/resources/application.properties": "server.port=18080\nbuild.timestamp=@timestamp@\n",
}


def _echo_repo(tmp_path, files=ECHO_FILES, branch="master"):
    from tests.test_discover_git import make_repo

    return make_repo(tmp_path, "echo-buildtime", files, branch=branch)


def test_discovery_reads_the_dockerfile_and_matches_the_sample_lab(tmp_path):
    from jenkins_kit.discover import discover_one

    r = discover_one(str(_echo_repo(tmp_path)))
    assert r.error is None, r.error
    e = r.entry
    assert e["branch"] == "master" and "dockerfile" not in e and "context" not in e  # Dockerfile at the root
    assert e["artifacts"] == ["target/demo-0.0.1-SNAPSHOT.jar"]  # COPY source git does not have
    assert e["job"] == {"template": "maven", "tool_image": "maven:3.9-eclipse-temurin-8"}  # java.version 1.8
    assert e["deploy"] == {"generate": {"replicas": 1, "container_port": 18080}}  # EXPOSE 18080

    # the sample lab's job is the one discovery derives for the real repository
    sample = next(x for x in sample_config().repositories if x.name == "echo-buildtime")
    assert sample.git == "https://github.com/prj4devops/echo-buildtime.git" and sample.branch == e["branch"]
    assert (sample.dockerfile, sample.context) == ("Dockerfile", ".")
    assert list(sample.artifacts) == e["artifacts"]
    assert (sample.job.template, sample.job.tool_image) == ("maven", e["job"]["tool_image"])
    assert sample.deploy.generate is not None and sample.deploy.generate.container_port == 18080


def test_discovery_falls_back_to_spring_server_port_and_reads_subfolder_builds(tmp_path):
    from jenkins_kit.discover import discover_one, parse_dockerfile

    files = {f"app/{k}": v.replace("EXPOSE 18080\n", "") for k, v in ECHO_FILES.items()}
    files["app/Dockerfile"] = ("# syntax=docker/dockerfile:1\nFROM maven:3 AS build\nCOPY --chown=1000 \\\n  pom.xml src/ ./\n"
                               "FROM openjdk:8\nCOPY --from=build /x /y\nCOPY [\"target/*.jar\", \"/app/\"]\n")
    r = discover_one(str(_echo_repo(tmp_path, files, branch="main")))
    assert r.error is None, r.error
    e = r.entry
    assert (e["dockerfile"], e["context"]) == ("app/Dockerfile", "app")
    assert e["artifacts"] == ["target/*.jar"]  # pom.xml and src/ are in git; --from is another stage
    assert e["job"]["template"] == "maven"  # pom.xml in the build context
    assert e["deploy"]["generate"]["container_port"] == 18080
    assert any("server.port" in n for n in r.notes)
    assert parse_dockerfile("expose 80/tcp 443\nADD https://e.com/x.tgz /x\nADD a.tgz /\n").expose == [80, 443]
    assert parse_dockerfile("ADD https://e.com/x.tgz /x\nADD a.tgz /\n").copies == ["a.tgz"]


def _sh_steps(jenkinsfile: str, stage: str) -> list[tuple[dict[str, str], str]]:
    """(withEnv variables, script) for every sh step of a stage, as the Groovy parser reads them."""
    import json
    import os
    import re
    import subprocess

    from tests.helpers import java_home
    from tests.pipeline_ast import pipeline_calls

    lists = re.findall(r"withEnv\((\[.*\])\) \{$", jenkinsfile, re.M)
    script = "import groovy.json.JsonOutput\nprintln(JsonOutput.toJson([" + ", ".join(lists) + "]))\n"
    out = subprocess.run(["groovy", "-e", script], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, JAVA_HOME=java_home() or ""))
    assert out.returncode == 0, out.stderr
    envs = [dict(x.split("=", 1) for x in lst) for lst in json.loads(out.stdout)]
    calls = pipeline_calls({"j": jenkinsfile})["j"]["calls"]
    stages = next(c for c in calls[0]["body"] if c["name"] == "stages")["body"]
    body = next(s for s in stages if s["args"] == [stage])
    found: list[tuple[dict[str, str], str]] = []
    env_iter = iter(envs)  # withEnv lists in file order, consumed as the walk meets them

    def walk(nodes, env):
        for n in nodes:
            if n["name"] == "withEnv":
                walk(n.get("body", []), next(env_iter))
            elif n["name"] == "sh":
                found.append((env, n["args"][0]))
            else:
                walk(n.get("body", []), env)

    # skip the withEnv lists of stages before this one
    for s in stages[: stages.index(body)]:
        walk(s.get("body", []), {})
    found.clear()
    walk(body["body"], {})
    return found


def test_sample_job_compiles_in_the_image_build_pod_and_checks_the_artefact(tmp_path):
    """The sample's Jenkinsfile: one pod (the lab template + the maven tool container), the build in the
    context before the image build; its own shell steps run in a checkout of the repository."""
    import os
    import shutil
    import subprocess

    from jenkins_kit.render.jobs import render_jobs
    from tests.pipeline_ast import pipeline_calls
    from tests.pipeline_gate import check_pipeline
    from tests.test_discover_git import git

    if shutil.which("groovy") is None:
        pytest.skip("groovy is not installed")
    jf = next(j.jenkinsfile for j in render_jobs(sample_config()) if j.repository == "echo-buildtime")
    calls = pipeline_calls({"j": jf})["j"]["calls"]
    assert check_pipeline(calls) == []
    pipeline = calls[0]
    agent = next(c for c in pipeline["body"] if c["name"] == "agent")["body"][0]
    params = {p["name"]: p["args"][0] for p in agent["body"]}
    assert agent["name"] == "kubernetes" and params["inheritFrom"] == "jenkins-kit-agent"
    pod = yaml.safe_load(params["yaml"])
    tool = pod["spec"]["containers"][0]
    assert tool["name"] == "tool" and tool["image"] == "maven:3.9-eclipse-temurin-8"
    stages = [s["args"][0] for s in next(c for c in pipeline["body"] if c["name"] == "stages")["body"]]
    assert stages.index("Compile and test") < stages.index("Build and push image")
    assert not any(c["name"] == "agent" for s in next(c for c in pipeline["body"] if c["name"] == "stages")["body"]
                   for c in s["body"])  # no stage-level agent: every stage in the same pod

    steps = _sh_steps(jf, "Compile and test")
    assert len(steps) == 2
    (build_env, build_sh), (check_env, check_sh) = steps
    assert build_env["KIT_BUILD_COMMAND"] == "mvn -B -ntp -Dmaven.repo.local=/tmp/.m2/repository package"
    # Run them in a checkout. `mvn` is a stand-in that writes what maven's package phase would (the jar
    # named after artifactId-version): the point is our steps: the directory, the command, the check.
    work = tmp_path / "ws"
    git(tmp_path, "clone", "-q", str(_echo_repo(tmp_path)), str(work))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mvn").write_text('#!/bin/sh\n[ -f pom.xml ] || exit 1\nmkdir -p target && : > target/demo-0.0.1-SNAPSHOT.jar\n')
    (bin_dir / "mvn").chmod(0o755)

    def run(script, env):
        return subprocess.run(["sh", "-xe", "-c", script], cwd=work, capture_output=True, text=True, timeout=60,
                              env={"PATH": f"{bin_dir}:{os.environ['PATH']}", **env})

    missing = run(check_sh, check_env)
    assert missing.returncode != 0 and "did not produce target/demo-0.0.1-SNAPSHOT.jar" in missing.stderr
    assert run(build_sh, build_env).returncode == 0
    assert (work / "target" / "demo-0.0.1-SNAPSHOT.jar").exists()
    assert run(check_sh, check_env).returncode == 0
    # and what the Dockerfile copies is what was built
    from jenkins_kit.discover import parse_dockerfile

    copies = parse_dockerfile((work / "Dockerfile").read_text()).copies
    assert all((work / c).exists() for c in copies)


# ------------------------------------------------------------------------------------ credentials
CREDS = [
    {"id": "git-https", "kind": "usernamePassword", "username": "ci-bot", "secret": {"name": "git-https", "key": "token"}},
    {"id": "git-ssh", "kind": "sshPrivateKey", "username": "git", "secret": {"name": "git-ssh", "key": "id-ed25519"},
     "passphrase": {"name": "git-ssh", "key": "passphrase"}},
    {"id": "kubeconfig", "kind": "file", "file_name": "config", "secret": {"name": "kubeconfig", "key": "config"}},
    {"id": "slack-key", "secret": {"name": "slack", "key": "token"}},
]


def test_every_credential_kind_resolves_in_the_official_charts_pod():
    """The secret-reference check (jenkins_kit/secretrefs.py) against `helm template` of the official chart:
    every ${...} of the four kinds is a file the chart mounts from the named Secret key."""
    from jenkins_kit.kube.helm import ChartRef, Helm
    from jenkins_kit.render.helm_values import render_values
    from jenkins_kit.secretrefs import check_controller, expectations, jcasc_variables
    from tests.official_chart import JENKINS_CHART, require_chart, require_helm

    require_chart(JENKINS_CHART)
    cfg = config_with(jenkins={"credentials": CREDS})
    values = render_values(cfg)
    manifest = Helm(require_helm()).template("jenkins", ChartRef(str(JENKINS_CHART)), "jenkins", values)
    scripts = values["controller"]["JCasC"]["configScripts"]
    used = {v for t in scripts.values() for v in jcasc_variables(t)}
    assert {"git-https-token", "git-ssh-id-ed25519", "git-ssh-passphrase", "kubeconfig-config", "slack-token"} <= used
    present = {("jenkins", "jenkins-admin"): {"jenkins-admin-user", "jenkins-admin-password"},
               ("jenkins", "git-https"): {"token"}, ("jenkins", "git-ssh"): {"id-ed25519", "passphrase"},
               ("jenkins", "kubeconfig"): {"config"}, ("jenkins", "slack"): {"token"}}
    keys = lambda ns, name: present.get((ns, name))  # noqa: E731
    assert check_controller(scripts, manifest, "jenkins", keys, expectations(cfg)) == []
    del present[("jenkins", "git-ssh")]
    problems = check_controller(scripts, manifest, "jenkins", keys, expectations(cfg))
    assert {p.variable for p in problems} == {"git-ssh-id-ed25519", "git-ssh-passphrase"}


def test_credentials_render_as_references_only_and_pass_the_gate():
    cfg = config_with(jenkins={"credentials": CREDS})
    text = render_jcasc(cfg)["jenkins-kit-credentials"]
    doc = yaml.safe_load(text)
    assert check(doc) == []
    creds = doc["credentials"]["system"]["domainCredentials"][0]["credentials"]
    by = {next(iter(c.values()))["id"]: c for c in creds}
    assert by["git-https"]["usernamePassword"]["password"] == "${git-https-token}"
    ssh = by["git-ssh"]["basicSSHUserPrivateKey"]
    assert ssh["privateKeySource"] == {"directEntry": {"privateKey": "${git-ssh-id-ed25519}"}}
    assert ssh["passphrase"] == "${git-ssh-passphrase}" and ssh["username"] == "git"
    assert by["kubeconfig"]["file"]["secretBytes"] == "${base64:${kubeconfig-config}}"
    assert by["kubeconfig"]["file"]["fileName"] == "config"
    assert by["slack-key"]["string"]["secret"] == "${slack-token}"


@pytest.mark.parametrize("cred, repo, message", [
    ({"id": "k", "kind": "file", "secret": {"name": "k", "key": "c"}}, {"credentials_id": "k"}, "git needs usernamePassword"),
    ({"id": "g", "kind": "usernamePassword", "username": "u", "secret": {"name": "g", "key": "t"}},
     {"deploy": {"kubeconfig_credentials_id": "g"}}, "a kubeconfig is a file credential"),
    ({"id": "g", "kind": "usernamePassword", "secret": {"name": "g", "key": "t"}}, {}, "needs 'username'"),
    ({"id": "g", "passphrase": {"name": "g", "key": "p"}, "secret": {"name": "g", "key": "t"}}, {}, "only for sshPrivateKey"),
])
def test_credential_misuse_is_a_precise_error(tmp_path, cred, repo, message):
    from jenkins_kit.config import load_config
    from jenkins_kit.errors import KitError
    from tests.helpers import SAMPLE

    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["jenkins"]["credentials"] = [cred]
    data["repositories"] = [{"name": "x", "git": "https://e.com/x.git", **repo}]
    p = tmp_path / "jenkins-kit.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(KitError) as e:
        load_config(str(p))
    assert message in str(e.value) and "jenkins-kit.yaml" in str(e.value)


def test_jobs_use_the_git_and_kubeconfig_credentials():
    from jenkins_kit.render.jobs import render_jobs
    from tests.pipeline_ast import pipeline_calls
    from tests.pipeline_gate import check_pipeline

    cfg = config_with(jenkins={"credentials": CREDS}, repositories=[
        {"name": "private", "git": "git@git.lab:team/private.git", "credentials_id": "git-ssh",
         "deploy": {"kubeconfig_credentials_id": "kubeconfig", "environments": [{"name": "dev"}]}},
        {"name": "scm", "git": "https://git.lab/scm.git", "credentials_id": "git-https", "job": {"jenkinsfile": "scm"}}])
    jobs = {j.full_name: j for j in render_jobs(cfg)}
    jf = jobs["private"].jenkinsfile
    calls = pipeline_calls({"j": jf})["j"]["calls"]
    assert check_pipeline(calls) == []
    assert "credentialsId: 'git-ssh'" in jf
    assert jf.count("withCredentials([file(credentialsId: 'kubeconfig', variable: 'KUBECONFIG')])") == 2  # deploy + rollout
    import xml.etree.ElementTree as ET

    scm = ET.fromstring(jobs["scm"].config_xml.encode())
    assert scm.findtext(".//hudson.plugins.git.UserRemoteConfig/credentialsId") == "git-https"


# ------------------------------------------------------------------------------------ freestyle
def test_hostile_freestyle_configs_pass_the_jdk_and_give_values_back(tmp_path):
    """Freestyle config.xml with hostile steps, parameters, triggers and label: the JDK transform Jenkins runs on
    createItem (tests/fixtures/java/SafeTransform.java, XMLUtils.safeTransform's code) accepts every one, and the
    values come back exactly from what it wrote."""
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from jenkins_kit.render.jobs import render_jobs
    from tests.helpers import ROOT, java_home
    from tests.test_render_jobs import base_config
    from tests.test_render_jobs_hostile import hostile

    home = java_home()
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        pytest.skip("no JDK")
    cases: list[tuple[Path, dict]] = []
    nonempty = hostile.filter(lambda s: s.strip() != "")

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(st.lists(nonempty, min_size=1, max_size=3), hostile, nonempty, nonempty, nonempty, hostile)
    def collect(steps, pdefault, poll, cron, label, desc):
        cfg = base_config([{"name": "fs", "git": "https://e.com/fs.git", "description": desc,
                            "job": {"type": "freestyle", "steps": steps, "poll_scm": poll, "cron": cron, "label": label,
                                    "parameters": [{"name": "P", "default": pdefault}]}}])
        (job,) = render_jobs(cfg)
        f = tmp_path / f"c{len(cases)}.xml"
        f.write_bytes(job.config_xml.encode("utf-8"))
        cases.append((f, {"steps": steps, "pdefault": pdefault, "poll": poll, "cron": cron, "label": label}))

    collect()
    assert len(cases) >= 20
    src = ROOT / "tests" / "fixtures" / "java" / "SafeTransform.java"
    subprocess.run([java, str(src), *[str(f) for f, _ in cases]], check=True, capture_output=True, timeout=300)
    for f, want in cases:
        err = f.with_suffix(".xml.err")
        assert not err.exists(), err.read_text()
        root = ET.fromstring(f.with_suffix(".xml.out").read_bytes())
        assert root.tag == "project"
        assert [c.findtext("command") for c in root.find("builders")] == want["steps"]
        assert root.findtext(".//hudson.model.StringParameterDefinition/defaultValue") == want["pdefault"]
        assert root.findtext("triggers/hudson.triggers.SCMTrigger/spec") == want["poll"]
        assert root.findtext("triggers/hudson.triggers.TimerTrigger/spec") == want["cron"]
        assert root.findtext("assignedNode") == want["label"] and root.findtext("canRoam") == "false"


def test_freestyle_through_plan_and_apply_and_misuse(jenkins_double, tmp_path):
    from jenkins_kit.errors import InvalidValue
    from jenkins_kit.render.jobs import render_jobs
    from tests.test_render_jobs import base_config

    repo = {"name": "deploy-prod", "git": "https://e.com/echo-ip.git",
            "job": {"type": "freestyle", "parameters": [{"name": "TAG", "default": "1"}],
                    "steps": ['kubectl -n prod set image deployment/echo-ip "app=192.168.1.10:8443/echo-ip:$TAG"']}}
    cfg = _cli_config(tmp_path, "fs", None, [repo])
    doc = _run(jenkins_double, "apply", "-c", cfg)
    assert doc["apply"]["ok"] and _states(doc) == {"deploy-prod": "create"}
    assert doc["plan"]["changes"][0]["kind"] == "Freestyle"
    from tests.test_jobs_sync import client_for

    with client_for(jenkins_double) as c:
        assert c.get_json(c.job_url_path("deploy-prod"))["_class"] == "hudson.model.FreeStyleProject"
    assert _run(jenkins_double, "plan", "-c", cfg)["pending"] == 0  # --verify: the live config matches
    with pytest.raises(InvalidValue, match="at least one shell step"):
        render_jobs(base_config([{"name": "x", "git": "https://e.com/x.git", "job": {"type": "freestyle"}}]))
    with pytest.raises(InvalidValue, match="are for freestyle jobs"):
        render_jobs(base_config([{"name": "x", "git": "https://e.com/x.git", "job": {"steps": ["make"]}}]))


def test_xml11_restricted_and_line_end_characters_survive_the_jdk(tmp_path):
    """config.xml declares XML 1.1: C1 controls must be references there (the JDK refuses them raw) and NEL /
    LINE SEPARATOR would be read back as newlines. Found by the freestyle JDK test; holds for every item kind."""
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET

    from jenkins_kit.render.jobs import render_jobs
    from tests.helpers import ROOT, java_home
    from tests.test_render_jobs import base_config

    home = java_home()
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        pytest.skip("no JDK")
    desc = "a\x85b\u2028c\x9ed\x7fe"
    jobs = render_jobs(base_config([{"name": "p", "git": "https://e.com/p.git", "description": desc, "job": {"folder": "f"}},
                                    {"name": "m", "git": "https://e.com/m.git", "description": desc, "job": {"type": "multibranch"}}]))
    files = []
    for j in jobs:
        f = tmp_path / f"{j.name}.xml"
        f.write_bytes(j.config_xml.encode("utf-8"))
        files.append((f, j))
    subprocess.run([java, str(ROOT / "tests" / "fixtures" / "java" / "SafeTransform.java"), *[str(f) for f, _ in files]],
                   check=True, capture_output=True, timeout=120)
    for f, j in files:
        assert not f.with_suffix(".xml.err").exists(), f.with_suffix(".xml.err").read_text()
        got = ET.fromstring(f.with_suffix(".xml.out").read_bytes()).findtext("description")
        if j.kind != "folder":
            assert got.startswith(desc + "\n\n"), repr(got)


# ------------------------------------------------------------------------------------ builder
def _node(name, kernel, os_image, taint=None):
    spec = {"taints": [{"key": taint, "effect": "NoSchedule"}]} if taint else {}
    return {"metadata": {"name": name}, "spec": spec,
            "status": {"nodeInfo": {"kernelVersion": kernel, "osImage": os_image}}}


def test_builder_check_reads_node_info_and_versions():
    from jenkins_kit.doctor import check_builder

    c7 = [_node("m-k8s", "3.10.0-1160.el7.x86_64", "CentOS Linux 7 (Core)", "node-role.kubernetes.io/master"),
          _node("w1-k8s", "3.10.0-1160.el7.x86_64", "CentOS Linux 7 (Core)")]
    cfg = sample_config()
    c = check_builder(cfg, c7, "v1.20.2", None)
    assert c.status == "fail" and "w1-k8s" in c.detail and "m-k8s" not in c.detail  # the tainted master runs no agents
    assert "appArmorProfile" in c.detail and 'cluster.kubernetes_version: "1.20"' in c.fix
    old = config_with(cluster={"kubernetes_version": "1.20"}, agents={"builder": "privileged"})
    assert old.agents.builder_image == "moby/buildkit:v0.25.1"
    assert check_builder(old, c7, "v1.20.2", None).status == "pass"
    modern = [_node("w1", "6.8.0-45-generic", "Ubuntu 24.04.1 LTS")]
    assert check_builder(cfg, modern, "v1.34.1", None).status == "pass"


def test_builder_choice_renders_and_passes_the_gate():
    for kw, want in (({}, "rootless"), ({"agents": {"builder": "privileged"}}, "privileged"),
                     ({"cluster": {"kubernetes_version": "1.20"}}, "annotation")):
        cfg = config_with(**kw)
        text = render_jcasc(cfg)["jenkins-kit-cloud"]
        assert check(yaml.safe_load(text)) == []
        t = _template(cfg)
        pod = yaml.safe_load(t["yaml"])
        builder = next(c for c in pod["spec"]["containers"] if c["name"] == "builder")["securityContext"]
        image = next(c for c in t["containers"] if c["name"] == "builder")["image"]
        if want == "privileged":
            assert builder == {"privileged": True, "runAsUser": 0, "runAsGroup": 0} and not image.endswith("-rootless")
        elif want == "annotation":
            assert "appArmorProfile" not in builder
            assert pod["metadata"]["annotations"] == {"container.apparmor.security.beta.kubernetes.io/builder": "unconfined"}
        else:
            assert builder["appArmorProfile"] == {"type": "Unconfined"} and image.endswith("-rootless")


# ------------------------------------------------------------------------------------ docs
def test_the_chapters_jobs_in_docs_are_valid_config_that_renders():
    """docs/jobs.md shows the chapter's jobs as jenkins-kit config: every block validates and renders."""
    import re

    from jenkins_kit.render.jobs import render_jobs
    from tests.helpers import ROOT, SAMPLE

    text = (ROOT / "docs" / "jobs.md").read_text(encoding="utf-8")
    section = text[text.index("## The textbook chapter's jobs"):text.index("## Ownership and the spec hash")]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) >= 5
    repos: dict[str, dict] = {}
    creds: list[dict] = []
    for b in blocks:
        doc = yaml.safe_load(b if not b.startswith("  - ") else "repositories:\n" + b)
        creds += (doc.get("jenkins") or {}).get("credentials", [])
        for r in doc.get("repositories", []):
            repos[f"{r['name']}-{len(repos)}"] = {**r, "name": f"{r['name']}-{len(repos)}"}
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["jenkins"]["credentials"] = creds
    data["repositories"] = list(repos.values())
    from jenkins_kit.config.schema import LabConfig

    jobs = render_jobs(LabConfig.model_validate(data))
    kinds = {j.kind for j in jobs}
    assert {"pipeline", "freestyle"} <= kinds and len(jobs) == len(repos)


def test_sample_lab_jobs_through_plan_and_apply(jenkins_double):
    """The sample lab as shipped: the chapter's jobs created through `jobs apply`, then nothing pending
    (`jobs plan` verifies every live config.xml), and what Jenkins holds is the compile-then-image pipeline,
    the dev -> qa -> prod one with its gate parameter, and the freestyle job on the shell template."""
    import xml.etree.ElementTree as ET

    from tests.helpers import SAMPLE
    from tests.test_jobs_sync import client_for

    doc = _run(jenkins_double, "apply", "-c", str(SAMPLE))
    assert doc["apply"]["ok"] and _states(doc) == {"echo-buildtime": "create", "echo-ip": "create", "echo-ip-101": "create"}
    assert _run(jenkins_double, "plan", "-c", str(SAMPLE))["pending"] == 0
    with client_for(jenkins_double) as c:
        eb = ET.fromstring(c.get_text(c.job_url_path("echo-buildtime") + "config.xml").encode())
        script = eb.findtext("definition/script")
        assert "stage('Compile and test')" in script and "maven:3.9-eclipse-temurin-8" in script
        assert "KIT_ARTIFACTS=target/demo-0.0.1-SNAPSHOT.jar" in script
        ip = ET.fromstring(c.get_text(c.job_url_path("echo-ip") + "config.xml").encode())
        assert [s for s in ("Deploy to dev", "Deploy to qa", "Deploy to prod") if s in ip.findtext("definition/script")] == [
            "Deploy to dev", "Deploy to qa", "Deploy to prod"]
        assert ip.findtext(".//hudson.model.BooleanParameterDefinition/name") == "DEPLOY_TO_QA"
        assert "jenkins.jenkins" in ip.findtext("description")  # the default owner: release.namespace
        fs = ET.fromstring(c.get_text(c.job_url_path("echo-ip-101") + "config.xml").encode())
        assert fs.tag == "project" and fs.findtext("assignedNode") == "jenkins-kit-agent-shell"
        assert [b.findtext("command").split()[0] for b in fs.find("builders")] == ["buildctl", "kubectl", "kubectl"]


def test_renamed_owner_takes_its_jobs_back_with_adopt_from(jenkins_double, tmp_path):
    repos = [{"name": "r1", "git": "https://e.com/r1.git"}, {"name": "r2", "git": "https://e.com/r2.git"}]
    old = _cli_config(tmp_path, "old", "team-old", repos)
    other = _cli_config(tmp_path, "other", "team-x", [{"name": "x1", "git": "https://e.com/x1.git"}])
    assert _run(jenkins_double, "apply", "-c", old)["apply"]["ok"]
    assert _run(jenkins_double, "apply", "-c", other)["apply"]["ok"]
    new = _cli_config(tmp_path, "new", "team-new", repos[:1])  # renamed, and r2 dropped
    st = _states(_run(jenkins_double, "plan", "-c", new, "--adopt"))
    assert st["r1"] == "foreign" and st["r2"] == "other"  # --adopt alone never takes another config's job
    plan_file = tmp_path / "p.json"
    doc = _run(jenkins_double, "plan", "-c", new, "--adopt-from", "team-old", "--prune", "delete", "--out", str(plan_file))
    st = _states(doc)
    assert st["r1"] == "adopt" and st["r2"] == "other" and st["x1"] == "other"
    assert {c["name"] for c in doc["changes"] if c["op"]} == {"r1"}
    assert _run(jenkins_double, "apply", "--plan", str(plan_file))["apply"]["ok"]  # the saved plan keeps --adopt-from
    st = _states(_run(jenkins_double, "plan", "-c", new, "--prune", "delete"))
    assert st["r1"] == "unchanged" and st["r2"] == "other" and st["x1"] == "other"
