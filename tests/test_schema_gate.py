"""The schema gate: every JCasC fragment and Jenkinsfile jenkins-kit can render is checked against what the
plugins accept (unknown attributes, wrong types, enum constants, sections, agent parameters, step arguments).

Inputs: the golden fixtures (tests/fixtures/render/*, tests/fixtures/jobs/golden/*) and a generated matrix of
config options. The JCasC subset is vendored in jenkins_kit/schemas/jcasc.json (from
../shared/reference/jcasc-schema-subset.json, source cited per entry); the pipeline subset in
tests/fixtures/schemas/pipeline.json. Jenkinsfiles are read with the Groovy 2.4 parser Jenkins uses.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jenkins_kit.config import load_config
from jenkins_kit.config.schema import LabConfig
from jenkins_kit.jcasc_schema import SCHEMA_FILE, check, load_positions
from jenkins_kit.render.bundle import render_bundle
from jenkins_kit.render.jcasc import render_jcasc
from jenkins_kit.render.jobs import render_jobs
from tests.helpers import SHARED
from tests.pipeline_ast import pipeline_calls
from tests.pipeline_gate import check_pipeline
from tests.test_render_jobs_groovy import needs_groovy

FIXTURES = Path(__file__).parent / "fixtures"
RENDER_CASES = sorted(p for p in (FIXTURES / "render").iterdir() if p.is_dir())
REFERENCE = SHARED / "reference" / "jcasc-schema-subset.json"
TEMPLATES = (None, "maven", "gradle", "node", "go", "python")


def _matrix() -> list[tuple[str, LabConfig]]:
    """Configs crossing every option that changes what the JCasC and Jenkinsfile templates emit."""
    out: list[tuple[str, LabConfig]] = []
    registry_opts = {
        "anon": {"address": "192.168.1.10:8443", "insecure": True},
        "creds": {"address": "reg.lab:5000", "credentials": {"username": "builder", "password": {"env": "REG_PW"},
                                                            "secret_name": "reg-push", "credentials_id": "reg"}},
    }
    cred_opts = {"none": [], "two": [{"id": "slack", "secret": {"name": "slack", "key": "token"}, "description": "it's ${x}"},
                                     {"id": "sonar", "secret": {"name": "sonar", "key": "token"}},
                                     {"id": "git-https", "kind": "usernamePassword", "username": "ci", "secret": {"name": "git-https", "key": "token"}},
                                     {"id": "git-ssh", "kind": "sshPrivateKey", "username": "git", "secret": {"name": "git-ssh", "key": "key"},
                                      "passphrase": {"name": "git-ssh", "key": "passphrase"}},
                                     {"id": "kubeconfig", "kind": "file", "file_name": "config", "secret": {"name": "kubeconfig", "key": "config"}}]}
    jenkins_opts = {
        "lb": {"service": {"type": "LoadBalancer", "load_balancer_ip": "192.168.1.11"}},
        "np-url": {"service": {"type": "NodePort", "node_port": 30080}, "url": "https://ci.lab/",
                   "system_message": "Lab: ${not.a.var} 'quoted' \"double\"\nsecond line"},
        "cip": {"service": {"type": "ClusterIP"}, "image_tag": "2.541.1-jdk21", "chart_version": "5.9.40",
                "plugins": ["kubernetes:4358.vcfd9c5a_0a_f51", "workflow-aggregator:608.v67378e9d3db_1", "git:5.7.0",
                            "configuration-as-code:1971.vf9280461ea_89"]},
    }
    agent_opts = {"default": {}, "privileged": {"builder": "privileged"}, "custom": {"namespace": "ci-agents", "label": "build.pod-1", "container_cap": 1, "usage_mode": "EXCLUSIVE",
                                            "requests": {"cpu": "2", "memory": "4Gi"},
                                            "pod_templates": [{"template": {
                                                "name": "gradle", "label": "gradle", "idleMinutes": 5, "yamlMergeStrategy": "merge",
                                                "inheritYamlMergeStrategy": True, "podRetention": "onFailure",
                                                "containers": [{"name": "gradle", "image": "gradle:8.14-jdk21", "command": "cat",
                                                                "ttyEnabled": True, "envVars": [{"envVar": {"key": "A", "value": "^${B}"}}]}],
                                                "volumes": [{"emptyDirVolume": {"mountPath": "/cache", "memory": False}}]}}]}}
    for (rn, reg), (cn, creds), (jn, jen), (an, agents) in itertools.product(
            registry_opts.items(), cred_opts.items(), jenkins_opts.items(), agent_opts.items()):
        repos = []
        for i, tpl in enumerate(TEMPLATES):
            job: dict[str, Any] = {"template": tpl} if tpl else {}
            repos.append({
                "name": f"r{i}", "git": f"https://git.lab/r{i}.git" if i % 3 else f"git@git.lab:team/r{i}.git",
                "branch": "main" if i % 2 else "release/1.x", "credentials_id": "git" if i % 2 else None,
                "deploy": {"manifests": "k8s"} if i % 2 else {"generate": {"replicas": i, "service_type": "ClusterIP"}},
                "job": job,
            })
        for r, deploy in ((repos[1], repos[1]["deploy"]), (repos[2], repos[2]["deploy"])):
            deploy["environments"] = [{"name": "dev"}, {"name": "qa", "gate": "parameter"},
                                      {"name": "prod", "namespace": "production", "gate": "input"}]
            r["artifacts"] = ["target/*.jar"]
            deploy["kubeconfig_credentials_id"] = "kubeconfig"
        repos.append({"name": "scm", "git": "https://git.lab/scm.git", "job": {"jenkinsfile": "scm"}})
        repos.append({"name": "mb", "git": "https://git.lab/mb.git", "job": {"type": "multibranch", "folder": "team"}})
        data = {"nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"}, "registry": reg,
                "jenkins": {"credentials": creds, **jen}, "agents": agents, "repositories": repos}
        data = json.loads(json.dumps(data))
        for r in data["repositories"]:
            if r.get("credentials_id") is None:
                r.pop("credentials_id", None)
        out.append((f"{rn}-{cn}-{jn}-{an}", LabConfig.model_validate(data)))
    return out


MATRIX = _matrix()


# ------------------------------------------------------------------------------------------------- JCasC


def _golden_jcasc() -> dict[str, str]:
    files = {}
    for case in RENDER_CASES:
        for f in sorted((case / "expected" / "jcasc").glob("*.yaml")):
            files[f"{case.name}/{f.name}"] = f.read_text(encoding="utf-8")
        # what the chart actually receives: configScripts inside the Helm values
        values = yaml.safe_load((case / "expected" / "helm" / "values.yaml").read_text(encoding="utf-8"))
        for key, text in values["controller"]["JCasC"]["configScripts"].items():
            files[f"{case.name}/values:{key}"] = text
    return files


def test_golden_jcasc_passes_the_gate() -> None:
    files = _golden_jcasc()
    assert len(files) >= 10
    bad = {name: [f"{i.path}: {i.message}" for i in check(yaml.safe_load(text))] for name, text in files.items()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_every_option_in_the_matrix_renders_jcasc_that_passes() -> None:
    assert len(MATRIX) >= 24
    seen_paths: set[str] = set()
    for name, cfg in MATRIX:
        for key, text in render_jcasc(cfg).items():
            data = yaml.safe_load(text)
            issues = check(data)
            assert issues == [], (name, key, [(i.path, i.message) for i in issues])
            seen_paths.add(key)
    assert seen_paths == {"jenkins-kit-system", "jenkins-kit-cloud", "jenkins-kit-credentials"}


def test_current_bundles_pass_the_gate() -> None:
    for case in RENDER_CASES:
        bundle = render_bundle(load_config(case / "jenkins-kit.yaml"), base_dir=case)
        for rel, text in bundle.files.items():
            if rel.startswith("jcasc/"):
                assert check(yaml.safe_load(text)) == [], rel


def _sample_cloud() -> dict[str, Any]:
    return yaml.safe_load(render_jcasc(MATRIX[0][1])["jenkins-kit-cloud"])


@pytest.mark.parametrize(("mutate", "expect"), [
    # the boot failure of issue 12: an attribute core 2.568.2's DefaultCrumbIssuer no longer has
    (lambda d: d["jenkins"].__setitem__("crumbIssuer", {"standard": {"excludeClientIPFromCrumb": True}}),
     "jenkins.crumbIssuer.standard.excludeClientIPFromCrumb: unknown attribute"),
    (lambda d: d["jenkins"].__setitem__("numExecutors", "two"), "jenkins.numExecutors: expected an integer"),
    (lambda d: d["jenkins"].__setitem__("mode", "exclusive"), "jenkins.mode: 'exclusive' is not one of NORMAL, EXCLUSIVE"),
    (lambda d: d["jenkins"].__setitem__("securityRealm", {"ldap": {}}), "jenkins.securityRealm: unknown symbol 'ldap'"),
    (lambda d: d["jenkins"].__setitem__("agentProtocols", ["JNLP4-connect"]), "jenkins.agentProtocols: 'agentProtocols' is deprecated"),
    (lambda d: d["jenkins"].__setitem__("rawBuildsDir", "/x"), "jenkins.rawBuildsDir: 'rawBuildsDir' is restricted"),
    (lambda d: d.__setitem__("tool", {"git": {}}), "tool: no configurator for root element 'tool'"),
    (lambda d: d["jenkins"]["securityRealm"]["local"].__setitem__("AllowsSignup", False),
     "jenkins.securityRealm.local.AllowsSignup: unknown attribute"),  # constructor arguments are case-sensitive
], ids=["removed-attr", "int-type", "enum-case", "symbol", "deprecated", "restricted", "root", "ctor-case"])
def test_gate_rejects_bad_system_fragments(mutate: Any, expect: str) -> None:
    data = yaml.safe_load(render_jcasc(MATRIX[0][1])["jenkins-kit-system"])
    assert check(data) == []
    mutate(data)
    got = [f"{i.path}: {i.message}" for i in check(data)]
    assert any(g.startswith(expect) for g in got), got


@pytest.mark.parametrize(("mutate", "expect"), [
    (lambda t: t.__setitem__("nodeUsageMode", "exclusive"), "nodeUsageMode: 'exclusive' is not one of"),
    (lambda t: t.__setitem__("podRetention", "sometimes"), "podRetention: unknown symbol 'sometimes'"),
    (lambda t: t.__setitem__("yamlMergeStrategy", "mrege"), "yamlMergeStrategy: unknown symbol 'mrege'"),
    (lambda t: t.__setitem__("inheritYamlMergeStrategy", "yes please"), "inheritYamlMergeStrategy: expected true or false"),
    (lambda t: t.__setitem__("privileged", True), "privileged: 'privileged' is deprecated"),  # moved to containers
    (lambda t: t["containers"][0].__setitem__("securityContext", {}), "containers[0].securityContext: unknown attribute"),
    (lambda t: t["containers"][1]["envVars"].insert(0, {"envvar": {"key": "A", "value": "b", "extra": 1}}),
     "containers[1].envVars[0].envvar.extra: unknown attribute"),
    (lambda t: t.__setitem__("volumes", [{"secretVolume": {"mountPath": "/x", "SecretName": "s"}}]),
     "volumes[0].secretVolume.SecretName: unknown attribute"),
    (lambda t: t.__setitem__("containers", {"name": "jnlp"}), "containers: expected a list"),
], ids=["enum", "symbol", "merge-typo", "bool", "deprecated-on-template", "no-securityContext", "nested-describable",
        "ctor-case", "list-type"])
def test_gate_rejects_bad_pod_templates(mutate: Any, expect: str) -> None:
    data = _sample_cloud()
    template = data["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]
    mutate(template)
    prefix = "jenkins.clouds[0].kubernetes.templates[0]."
    got = [f"{i.path}: {i.message}" for i in check(data)]
    assert any(g.startswith(prefix + expect) for g in got), got


def test_positions_point_into_the_text() -> None:
    text = "jenkins:\n  numExecutors: 0\n  crumbIssuer:\n    standard:\n      excludeClientIPFromCrumb: true\n"
    data, pos = load_positions(text)
    (issue,) = check(data)
    assert pos.at(issue.loc) == (5, 7)


def test_vendored_subset_keeps_the_references_entries() -> None:
    """The package's copy must not drift from the reference it was vendored from (entries may be added, with
    their own citation, but none of the reference's may change or disappear)."""
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is absent (a clone without ../shared); the vendored copy is used as is")
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    ours = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for path, attrs in ref.items():
        if path.startswith("_"):
            continue
        assert path in ours, path
        for name, spec in attrs.items():
            assert ours[path].get(name) == spec, (path, name)
    for path, attrs in ours.items():
        for name, spec in attrs.items() if not path.startswith("_") else ():
            assert spec.get("source"), (path, name)
            if path not in ref or name not in ref[path]:
                assert spec.get("added_by") == "jenkins-kit", (path, name)


# ------------------------------------------------------------------------------------------------- Jenkinsfiles


def _golden_jenkinsfiles() -> dict[str, str]:
    files = {}
    for f in sorted((FIXTURES / "render").rglob("Jenkinsfile")) + sorted((FIXTURES / "jobs" / "golden").rglob("Jenkinsfile")):
        files[str(f.relative_to(FIXTURES))] = f.read_text(encoding="utf-8")
    return files


def _matrix_jenkinsfiles() -> dict[str, str]:
    files = {}
    for name, cfg in MATRIX[:: max(1, len(MATRIX) // 6)]:  # every template/credential/deploy shape is in each config
        for job in render_jobs(cfg):
            if job.jenkinsfile is not None:
                files[f"{name}:{job.full_name}"] = job.jenkinsfile
    return files


@needs_groovy
def test_every_jenkinsfile_passes_the_gate() -> None:
    golden, matrix = _golden_jenkinsfiles(), _matrix_jenkinsfiles()
    assert len(golden) >= 8 and len(matrix) >= 30
    parsed = pipeline_calls({**golden, **matrix})
    problems = {}
    for name, res in parsed.items():
        if "error" in res:
            problems[name] = [res["error"]]
            continue
        found = check_pipeline(res["calls"])
        if found:
            problems[name] = found
    assert problems == {}


@needs_groovy
def test_pipeline_gate_rejects_what_the_plugins_would() -> None:
    base = next(iter(_golden_jenkinsfiles().values()))
    assert "agent { label " in base and "git url: " in base
    bad = {
        "section": base.replace("  stages {", "  wrappers { }\n  stages {", 1),
        "step-arg": base.replace("git url: ", "git depth: 1, url: ", 1),
        "agent-param": base.replace("agent { label ", "agent { kubernetes { podTemplate 'x' } }\n  // ", 1),
        "deprecated": base.replace("agent { label ", "agent { kubernetes { label 'x' } }\n  // ", 1),
        "step": base.replace("git url: ", "checkoutt url: ", 1),
    }
    parsed = pipeline_calls(bad)
    got = {k: check_pipeline(v["calls"]) for k, v in parsed.items()}
    assert any("unknown section 'wrappers'" in p for p in got["section"]), got["section"]
    assert any("unknown argument(s) ['depth']" in p for p in got["step-arg"]), got["step-arg"]
    assert any("unknown parameter 'podTemplate'" in p for p in got["agent-param"]), got["agent-param"]
    assert any("label: deprecated" in p for p in got["deprecated"]), got["deprecated"]
    assert any("step 'checkoutt'" in p for p in got["step"]), got["step"]

