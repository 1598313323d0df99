"""JCasC fragments (one per concern), delivered through the chart's `controller.JCasC.configScripts`."""

from __future__ import annotations

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.render.env import template_env
from jenkins_kit.render.names import in_cluster_url, public_url, tunnel

# configScripts key -> template; keys become file names in casc_configs, so DNS labels only.
FRAGMENTS = {
    "jenkins-kit-system": "system.yaml.j2",
    "jenkins-kit-credentials": "credentials.yaml.j2",
    "jenkins-kit-cloud": "cloud.yaml.j2",
}


def render_jcasc(cfg: LabConfig) -> dict[str, str]:
    env = template_env("jcasc")
    ctx = {
        "cfg": cfg,
        "registry": cfg.registry.credentials,
        "public_url": public_url(cfg),
        "in_cluster_url": in_cluster_url(cfg),
        "tunnel": tunnel(cfg),
    }
    out: dict[str, str] = {}
    for key, tpl in FRAGMENTS.items():
        if key == "jenkins-kit-credentials" and not cfg.registry.credentials and not cfg.jenkins.credentials:
            continue
        out[key] = env.get_template(tpl).render(**ctx)
    return out


def secret_mounts(cfg: LabConfig) -> list[dict[str, str]]:
    """`controller.additionalExistingSecrets` entries so `${<name>-<key>}` resolves in JCasC."""
    mounts: list[dict[str, str]] = []
    if cfg.registry.credentials:
        name = cfg.registry.credentials.secret_name
        mounts += [{"name": name, "keyName": "username"}, {"name": name, "keyName": "password"}]
    for c in cfg.jenkins.credentials:
        mounts.append({"name": c.secret.name, "keyName": c.secret.key})
    return mounts
