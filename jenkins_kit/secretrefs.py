"""Prove, before anything is applied, that every `${...}` in the generated JCasC resolves in the pod.

JCasC resolves `${name}` through its secret sources, in order (configuration-as-code plugin,
``SecretSourceResolver`` / ``EnvSecretSource`` / ``DockerSecretSource``): environment variables and
system properties of the controller, then a file ``$SECRETS/<name>`` (``/run/secrets`` when
``SECRETS`` is unset). An unresolved variable is not an error there: it becomes an empty string, so
the admin user gets an empty name and password and nobody can log in. The official chart decides
what is in that directory (the ``jenkins-secrets`` projected volume of the controller StatefulSet),
so the check reads the pod spec the chart will really render (``helm template``) instead of
assuming what our values do.

The same holds for the agent pods: a Secret volume in a pod template whose Secret is missing leaves
the agent pod Pending for ever (``FailedMount``), so every ``secretVolume`` must name a Secret that
exists, or is about to be created, in the agents' namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from jenkins_kit.config.schema import LabConfig

# `^${x}` is JCasC's escape (kept literal for the plugin); `${x:-default}` always resolves.
_VAR = re.compile(r"(\^?)\$\{([^${}]*)\}")  # innermost first, as JCasC resolves nested ones
# Prefixed forms (`${base64:...}`, `${readFile:...}`, `${json:k:...}`) are lookups of their own.
_PLAIN = re.compile(r"[A-Za-z0-9_.\-]+")
DEFAULT_SECRETS_DIR = "/run/secrets"  # DockerSecretSource's default when SECRETS is unset

SecretKeys = Callable[[str, str], "set[str] | None"]  # (namespace, name) -> keys, None when absent


@dataclass(frozen=True)
class Expectation:
    """Where jenkins-kit means a variable to come from, for the advice in an error."""

    secret: str
    key: str
    values_key: str


@dataclass(frozen=True)
class RefProblem:
    where: str  # "JCasC jenkins-kit-system" / "agent pod template jenkins-kit-agent"
    variable: str
    message: str
    hint: str

    def format(self) -> str:
        return f"{self.where}: {self.message}\n  hint: {self.hint}"


def _scalars(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _scalars(k)
            yield from _scalars(v)
    elif isinstance(node, list):
        for v in node:
            yield from _scalars(v)
    elif isinstance(node, str):
        yield node


def expectations(cfg: LabConfig) -> dict[str, Expectation]:
    """Where jenkins-kit mounts each variable its JCasC uses: the admin Secret through the chart's
    admin values, every other Secret key through controller.additionalExistingSecrets."""
    from jenkins_kit.render.jcasc import secret_mounts

    a = cfg.jenkins.admin
    admin = f"controller.admin.createSecret: true with controller.admin.existingSecret: {a.existing_secret}"
    out = {
        "chart-admin-username": Expectation(a.existing_secret, a.user_key, admin + f", userKey: {a.user_key}"),
        "chart-admin-password": Expectation(a.existing_secret, a.password_key, admin + f", passwordKey: {a.password_key}"),
    }
    for m in secret_mounts(cfg):
        out[f"{m['name']}-{m['keyName']}"] = Expectation(
            m["name"], m["keyName"], f"controller.additionalExistingSecrets: [{{name: {m['name']}, keyName: {m['keyName']}}}]")
    return out


def jcasc_variables(text: str) -> list[str]:
    """Plain `${name}` references that must resolve (escaped and defaulted ones excluded).

    JCasC resolves variables in scalar values of the parsed document, not in comments, so the
    document is parsed first (raw text only when it is not YAML at all)."""
    try:
        strings = list(_scalars(yaml.safe_load(text)))
    except yaml.YAMLError:
        strings = [text]
    out: list[str] = []
    for value in strings:
        for m in _VAR.finditer(value):
            escaped, body = m.group(1), m.group(2)
            if escaped or ":-" in body or not _PLAIN.fullmatch(body):
                continue
            if body not in out:
                out.append(body)
    return out


@dataclass
class PodSources:
    """What a controller container can resolve: env names and files in its secrets directory."""

    env: set[str]
    secrets_dir: str
    files: dict[str, tuple[str, str | None]]  # file name -> (Secret, key or None for "every key")
    whole_secrets: list[str]  # Secrets projected without items: every key becomes a file
    env_from_secrets: list[str]


def controller_sources(manifest: str, namespace: str, secret_keys: SecretKeys) -> PodSources | None:
    """Read the rendered controller StatefulSet's `jenkins` container; None when there is none."""
    sts = None
    for doc in yaml.safe_load_all(manifest or ""):
        if isinstance(doc, dict) and doc.get("kind") == "StatefulSet":
            containers = (((doc.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
            if any(c.get("name") == "jenkins" for c in containers):
                sts = doc
                break
    if sts is None:
        return None
    pod = sts["spec"]["template"]["spec"]
    c = next(c for c in pod["containers"] if c.get("name") == "jenkins")
    env = {e["name"] for e in c.get("env") or [] if "name" in e}
    secrets_dir = next((e.get("value") for e in c.get("env") or [] if e.get("name") == "SECRETS"), None) or DEFAULT_SECRETS_DIR
    env_from = [str((ef.get("secretRef") or {}).get("name")) for ef in c.get("envFrom") or [] if (ef.get("secretRef") or {}).get("name")]
    for name in env_from:
        env |= secret_keys(namespace, name) or set()
    mounted = {m.get("name") for m in c.get("volumeMounts") or [] if (m.get("mountPath") or "").rstrip("/") == secrets_dir.rstrip("/")}
    files: dict[str, tuple[str, str | None]] = {}
    whole: list[str] = []
    for vol in pod.get("volumes") or []:
        if vol.get("name") not in mounted:
            continue
        sources: list[dict[str, Any]] = []
        if "projected" in vol:
            sources = [s["secret"] for s in (vol["projected"].get("sources") or []) if "secret" in s]
        elif "secret" in vol:
            sources = [{"name": vol["secret"].get("secretName"), "items": vol["secret"].get("items")}]
        for s in sources:
            items = s.get("items")
            if items:
                for it in items:
                    files[it["path"]] = (s["name"], it["key"])
            else:
                whole.append(s["name"])
                for k in sorted(secret_keys(namespace, s["name"]) or ()):
                    files.setdefault(k, (s["name"], k))
    return PodSources(env, secrets_dir, files, whole, [n for n in env_from if n])


def check_controller(jcasc: Mapping[str, str], manifest: str, namespace: str, secret_keys: SecretKeys,
                     expectations: Mapping[str, Expectation]) -> list[RefProblem]:
    problems: list[RefProblem] = []
    src = controller_sources(manifest, namespace, secret_keys)
    if src is None:
        return [RefProblem("chart", "", "the rendered chart has no StatefulSet with a 'jenkins' container",
                           "is --chart the official jenkins chart (jenkinsci/helm-charts charts/jenkins)?")]
    for key in sorted(jcasc):
        for var in jcasc_variables(jcasc[key]):
            where = f"JCasC {key}"
            exp = expectations.get(var)
            if var in src.env:
                continue
            if var in src.files:
                secret, skey = src.files[var]
                keys = secret_keys(namespace, secret)
                if keys is None:
                    problems.append(RefProblem(where, var, f"${{{var}}} is read from Secret {namespace}/{secret}, which does not exist",
                                               f"create Secret {secret} with key {skey} in namespace {namespace}"))
                elif skey is not None and skey not in keys:
                    problems.append(RefProblem(where, var, f"${{{var}}} is read from key {skey!r} of Secret {namespace}/{secret}, "
                                                           f"which has no such key (it has: {', '.join(sorted(keys)) or 'none'})",
                                               f"add key {skey} to Secret {namespace}/{secret}"))
                continue
            expect = (f"a file {src.secrets_dir}/{var} from key {exp.key!r} of Secret {namespace}/{exp.secret}"
                      if exp else f"an env var or a file {src.secrets_dir}/{var}")
            hint = (f"mount it with the chart values {exp.values_key}" if exp
                    else "mount a Secret key as that file (controller.additionalExistingSecrets) or set it as an env var")
            problems.append(RefProblem(where, var, f"${{{var}}} does not resolve in the controller pod: expected {expect}, "
                                                   "and the chart mounts no such file or env var (JCasC would use an empty string)", hint))
    return problems


def agent_secret_volumes(jcasc: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(pod template, its namespace or '', secretName) for every secretVolume in the clouds."""
    out: list[tuple[str, str, str]] = []
    for text in jcasc.values():
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        clouds = ((doc or {}).get("jenkins") or {}).get("clouds") or [] if isinstance(doc, dict) else []
        for cloud in clouds:
            k8s = (cloud or {}).get("kubernetes") or {}
            for t in k8s.get("templates") or []:
                ns = t.get("namespace") or k8s.get("namespace") or ""
                for v in t.get("volumes") or []:
                    sv = (v or {}).get("secretVolume")
                    if sv and sv.get("secretName"):
                        out.append((str(t.get("name") or "?"), str(ns), str(sv["secretName"])))
    return out


def check_agents(jcasc: Mapping[str, str], secret_keys: SecretKeys, required_keys: Mapping[str, Iterable[str]]) -> list[RefProblem]:
    problems: list[RefProblem] = []
    for template, ns, name in agent_secret_volumes(jcasc):
        where = f"agent pod template {template}"
        keys = secret_keys(ns, name)
        if keys is None:
            problems.append(RefProblem(where, name, f"mounts Secret {ns}/{name}, which does not exist and is not created by jenkins-kit "
                                                    "(agent pods would stay Pending: FailedMount)",
                                       f"create Secret {name} in namespace {ns}, or set registry.credentials so jenkins-kit creates it"))
            continue
        missing = [k for k in required_keys.get(name, ()) if k not in keys]
        if missing:
            problems.append(RefProblem(where, name, f"mounts Secret {ns}/{name}, which lacks key(s) {', '.join(missing)}",
                                       f"add {', '.join(missing)} to Secret {ns}/{name}"))
    return problems


def check_release(cfg: LabConfig, scripts: Mapping[str, str], manifest: str, secret_keys: SecretKeys) -> list[RefProblem]:
    """Both checks for one release, as `plan` (before an install) and `doctor` (after) run them."""
    problems = check_controller(scripts, manifest, cfg.cluster.namespace, secret_keys, expectations(cfg))
    reg = cfg.registry.credentials
    return problems + check_agents(scripts, secret_keys, {reg.secret_name: ["config.json"]} if reg else {})
