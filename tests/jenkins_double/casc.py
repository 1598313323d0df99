"""configuration-as-code check / reload / apply, as configuration-as-code 2115.vf6de120eef70 implements them.

Source: jenkinsci/configuration-as-code-plugin @f6de120e, plugin/src/main/java/io/jenkins/plugins/casc/:
- ConfigurationAsCode#doCheck: @RequirePOST, Overall/Administer else sendError(403); body = YAML; 200 JSON
  `[{"line","message"}]` for warnings, **400** `[{"line":-1,"message":e.getMessage()}]` for a ConfiguratorException.
- ConfigurationAsCode#doReload: @RequirePOST, Overall/Manage else sendError(403); re-reads the sources;
  sendRedirect("") -> 302 `/configuration-as-code/`; a ConfiguratorException -> error.jelly, status 200
  (resources/io/jenkins/plugins/casc/ConfigurationAsCode/error.jelly).
- ConfigurationAsCode#doApply: like check, then configures; an exception escapes (500).
- ConfigurationAsCode#invokeWith: unknown root -> UnknownConfiguratorException "No configurator found for the
  following root element(s): x. This may indicate ..."; keys starting with "x-" are aliases, skipped.
- BaseConfigurator#handleUnknown: UnknownAttributesException(configurator, "Invalid configuration elements for
  type: ", "Invalid configuration elements for type: <target> : <keys joined by ','>.\\nAvailable attributes :
  <names joined by ', '>", ...); ConfiguratorException#getMessage prefixes "<configurator name>: ";
  UnknownAttributesException#getErrorMessage is the short text (what error.jelly shows). BaseConfigurator#configure
  rethrows an UnknownAttributesException from a nested attribute unwrapped, so the message is the same at any depth.
- yaml/ErrorOnConflictMergeStrategy (the default for several sources): mappings merge, sequences concatenate,
  the same scalar twice -> "Found conflicting configuration at <source> <mark>".

Which attributes exist comes from jenkins-kit's vendored subset (jenkins_kit/schemas/jcasc.json, itself read
from the plugins' source); the Java class and configurator name of each path are below, from the same sources.
Roots the subset does not describe (tool, security, appearance, jobs) are accepted without looking inside.
"""

from __future__ import annotations

import html
import json
from typing import Any

import yaml

from jenkins_kit import jcasc_schema

# schema path -> (target class, configurator name = preferred symbol, DescribableAttribute#getPreferredSymbol)
TARGETS: dict[str, tuple[str, str]] = {
    "jenkins": ("jenkins.model.Jenkins", "jenkins"),
    "jenkins.securityRealm.local": ("hudson.security.HudsonPrivateSecurityRealm", "local"),
    "jenkins.securityRealm.local.users[]": (
        "io.jenkins.plugins.casc.core.HudsonPrivateSecurityRealmConfigurator$UserWithPassword", "userWithPassword"),
    "jenkins.authorizationStrategy.loggedInUsersCanDoAnything": (
        "hudson.security.FullControlOnceLoggedInAuthorizationStrategy", "loggedInUsersCanDoAnything"),
    "jenkins.crumbIssuer.standard": ("hudson.security.csrf.DefaultCrumbIssuer", "standard"),
    "jenkins.clouds[].kubernetes": ("org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud", "kubernetes"),
    "jenkins.clouds[].kubernetes.podLabels[]": ("org.csanchez.jenkins.plugins.kubernetes.PodLabel", "podLabel"),
    "jenkins.clouds[].kubernetes.templates[]": ("org.csanchez.jenkins.plugins.kubernetes.PodTemplate", "podTemplate"),
    "jenkins.clouds[].kubernetes.templates[].containers[]": (
        "org.csanchez.jenkins.plugins.kubernetes.ContainerTemplate", "containerTemplate"),
    "jenkins.clouds[].kubernetes.templates[].containers[].envVars[].envVar": (
        "org.csanchez.jenkins.plugins.kubernetes.model.KeyValueEnvVar", "envVar"),
    "jenkins.clouds[].kubernetes.templates[].volumes[].secretVolume": (
        "org.csanchez.jenkins.plugins.kubernetes.volumes.SecretVolume", "secretVolume"),
    "credentials.system.domainCredentials[]": ("com.cloudbees.plugins.credentials.domains.DomainCredentials", "domainCredentials"),
    "credentials.system.domainCredentials[].credentials[].usernamePassword": (
        "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl", "usernamePassword"),
    "credentials.system.domainCredentials[].credentials[].string": (
        "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl", "string"),
    "unclassified.location": ("jenkins.model.JenkinsLocationConfiguration", "location"),
}
UNCHECKED_ROOTS = {"tool", "security", "appearance", "jobs"}
# 1947.v7d33fe23569c (Mar 2025) changed doCheck's answer from 200 {"line","warning"} / 500 to 200 {"line","message"}
# / 400 (jenkins-remote-api.md §6.3). The double follows the configuration-as-code version it lists as installed.
NEW_CHECK_FROM = (1947,)


def modern(version: str | None = None) -> bool:
    from jenkins_kit.plugins import version_key

    from .xmlconf import PLUGINS

    v = version or PLUGINS.get("configuration-as-code", ("0", ""))[0]
    return version_key(v) >= NEW_CHECK_FROM


class ConfiguratorError(Exception):
    """A ConfiguratorException: `message` is getMessage(), `short` getErrorMessage(), the rest error.jelly's fields."""

    def __init__(self, message: str, short: str | None = None, target: str | None = None,
                 invalid: str | None = None, valid: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.short = short if short is not None else message
        self.target = target
        self.invalid = invalid
        self.valid = valid or []


def _schema_path(loc: tuple[Any, ...]) -> str:
    """The schema path of a document location (indexes become [])."""
    out = ""
    for part in loc:
        out += "[]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _nodes_at(data: Any, path: str) -> list[tuple[tuple[Any, ...], Any]]:
    """(location, node) of every node at a schema path ('jenkins.clouds[].kubernetes.templates[]')."""
    found: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    for token in path.split("."):
        name, many = (token[:-2], True) if token.endswith("[]") else (token, False)
        nxt = []
        for loc, node in found:
            if isinstance(node, dict) and name in node:
                v = node[name]
                if many and isinstance(v, list):
                    nxt += [(loc + (name, i), x) for i, x in enumerate(v)]
                elif not many:
                    nxt.append((loc + (name,), v))
        found = nxt
    return found


def _missing_attributes(d: Any, data: dict[str, Any]) -> list[jcasc_schema.Issue]:
    """Attributes this controller's plugins lack (`set_missing`): a controller running older plugin versions."""
    out = []
    for path, names in (getattr(d, "casc_missing", None) or {}).items():
        for loc, node in _nodes_at(data, path):
            for key in node if isinstance(node, dict) else ():
                if key in names:
                    out.append(jcasc_schema.Issue(loc + (key,), f"unknown attribute {key!r}"))
    return out


def set_missing(d: Any, missing: dict[str, list[str]]) -> None:
    """Make the double's plugins lack some attributes: {schema path: [attribute, ...]}; {} restores them."""
    d.casc_missing = dict(missing)


def _check_tree(data: dict[str, Any], d: Any = None) -> None:
    issues = [i for i in jcasc_schema.check({k: v for k, v in data.items() if k not in UNCHECKED_ROOTS})]
    issues += _missing_attributes(d, data)
    missing = getattr(d, "casc_missing", None) or {}
    unknown_roots = [i for i in issues if len(i.loc) == 1 and "no configurator" in i.message]
    attrs = [i for i in issues if i not in unknown_roots]
    if attrs:
        first = attrs[0]
        parent = first.loc[:-1]
        if first.message.startswith("unknown attribute"):
            keys = [str(i.loc[-1]) for i in attrs if i.loc[:-1] == parent and i.message.startswith("unknown attribute")]
            path = _schema_path(parent)
            cls, name = TARGETS.get(path, (path, path.rsplit(".", 1)[-1].rstrip("[]")))
            valid = [a for a in jcasc_schema.schema().get(path, {}) if a not in missing.get(path, [])]
            base = "Invalid configuration elements for type: "
            full = f"{base}class {cls} : {','.join(keys)}.\nAvailable attributes : {', '.join(valid)}"
            raise ConfiguratorError(f"{name}: {full}", base, name, ",".join(keys), valid)
        raise ConfiguratorError(f"{_schema_path(first.loc)}: {first.message}")
    if unknown_roots:
        keys = [str(i.loc[0]) for i in unknown_roots]
        if not modern():  # the older wording [casc UnknownRootElementTest]
            raise ConfiguratorError("No configurator for the following root elements: " + ", ".join(keys), target=", ".join(keys))
        raise ConfiguratorError(
            f"No configurator found for the following root {'elements' if len(keys) > 1 else 'element'}: {', '.join(keys)}. "
            "This may indicate that the required plugin is not installed or failed to load. "
            "Verify that the plugin is installed and check the Jenkins startup logs for plugin loading errors.",
            target=", ".join(keys))


def _merge(into: Any, new: Any, source: str, path: str) -> Any:
    """ErrorOnConflictMergeStrategy over plain data."""
    if isinstance(into, dict) and isinstance(new, dict):
        for k, v in new.items():
            into[k] = _merge(into[k], v, source, f"{path}.{k}" if path else str(k)) if k in into else v
        return into
    if isinstance(into, list) and isinstance(new, list):
        return into + new
    raise ConfiguratorError(f"Found conflicting configuration at {source} ({path})")


def load(sources: dict[str, str], d: Any = None) -> dict[str, Any]:
    """Read and merge the sources (sorted by name, as ConfigurationAsCode#configs sorts files), then check."""
    merged: dict[str, Any] = {}
    for name in sorted(sources):
        try:
            data = yaml.safe_load(sources[name]) if sources[name].strip() else {}
        except yaml.YAMLError as e:
            raise ConfiguratorError(f"Failed to read {name}: {e}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfiguratorError(f"{name}: the top level must be a mapping")
        merged = _merge(merged, data, name, "")
    _check_tree({k: v for k, v in merged.items() if not str(k).startswith("x-")}, d)
    return merged


def sources(d: Any) -> dict[str, str]:
    """What reload re-reads: the files the chart writes from configScripts (set with `set_sources`), else the
    double's single `casc_yaml` (CASC_JENKINS_CONFIG)."""
    return getattr(d, "casc_sources", None) or {"jenkins.yaml": d.casc_yaml}


def set_sources(d: Any, files: dict[str, str]) -> None:
    d.casc_sources = dict(files)


def _error_page(P: Any, e: ConfiguratorError) -> Any:
    body = (f"<h1>Error loading configuration</h1><p>{html.escape(e.short)}"
            f"<pre><code>{html.escape(e.target or '')}</code></pre></p>")
    if e.invalid is not None:
        body += f"<p>Attribute was: <pre><code>{html.escape(e.invalid)}</code></pre></p>"
    if e.valid:
        body += "<p>Valid attributes are:</p><ul>" + "".join(f"<li>{html.escape(v)}</li>" for v in e.valid) + "</ul>"
    return P.layout(200, "Error loading configuration", body)


def handle(router: Any, action: str) -> Any | None:
    """The response for `/configuration-as-code/<action>`, or None for actions this module does not serve."""
    from .http import Response

    req, P, d = router.req, router.P, router.d
    if action not in ("check", "reload", "apply"):
        return None
    if req.method != "POST":
        return P.require_post(req)  # @RequirePOST
    if not router.auth.admin:
        return P.jetty_error(403, None, req.path)  # sendError(403)
    if action == "reload":
        try:
            d.casc_applied = load(sources(d), d)
        except ConfiguratorError as e:
            return _error_page(P, e)
        d.casc_reloads = getattr(d, "casc_reloads", 0) + 1
        return P.redirect(req, "/configuration-as-code/")
    body = (b"" if req.body_consumed else req.body).decode("utf-8", "replace")
    try:
        data = load({"request": body}, d)
    except ConfiguratorError as e:
        if action == "apply" or not modern():
            return P.oops(500)
        return Response(400, json.dumps([{"line": -1, "message": e.message}]).encode(), [("Content-Type", "application/json")])
    if action == "apply":
        d.casc_applied.update(data)
        return P.empty(200)
    return Response(200, b"[]", [("Content-Type", "application/json")])
