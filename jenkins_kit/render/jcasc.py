"""JCasC fragments (one per concern), delivered through the chart's `controller.JCasC.configScripts`."""

from __future__ import annotations

from pathlib import Path

import yaml

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.render.env import template_env
from jenkins_kit.render.names import in_cluster_url, public_url, tunnel

# configScripts key -> template; keys become file names in casc_configs, so DNS labels only.
FRAGMENTS = {
    "jenkins-kit-system": "system.yaml.j2",
    "jenkins-kit-credentials": "credentials.yaml.j2",
    "jenkins-kit-cloud": "cloud.yaml.j2",
}


def render_jcasc(cfg: LabConfig, base_dir: Path | str | None = None) -> dict[str, str]:
    """Every JCasC document the controller reads: jenkins-kit's fragments, then the user's `jenkins.jcasc_files`
    (read from `base_dir`, the config file's folder; checked when the config was loaded)."""
    from jenkins_kit.additions import read_fragments

    out = render_managed_jcasc(cfg)
    for key, (_, text) in read_fragments(cfg, Path(base_dir) if base_dir is not None else None).items():
        out[key] = text
    return out


def _extra_templates(cfg: LabConfig) -> list[str]:
    """The user's pod templates as YAML items of the cloud's `templates:` list (10 spaces in), each with a
    stable id (its name) unless it has one."""
    blocks = []
    for extra in cfg.agents.pod_templates:
        t = {"id": extra.template["name"], **extra.template}
        text = yaml.safe_dump([t], sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
        blocks.append("".join("          " + line for line in text.splitlines(keepends=True)).rstrip("\n"))
    return blocks


def render_managed_jcasc(cfg: LabConfig) -> dict[str, str]:
    """jenkins-kit's own fragments (with the user's extra pod templates in its cloud)."""
    env = template_env("jcasc")
    ctx = {
        "cfg": cfg,
        "registry": cfg.registry.credentials,
        "public_url": public_url(cfg),
        "in_cluster_url": in_cluster_url(cfg),
        "tunnel": tunnel(cfg),
        "extra_templates": _extra_templates(cfg),
        # Pod field appArmorProfile: Kubernetes >= 1.30 (KEP-24); older API servers drop it, so the annotation.
        "apparmor_field": int(cfg.cluster.kubernetes_version.split(".")[1]) >= 30,
        "replace_own_template": any(e.override and e.template.get("name") == cfg.agents.label for e in cfg.agents.pod_templates),
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
        for ref in (c.secret, c.passphrase):
            if ref is not None:
                m = {"name": ref.name, "keyName": ref.key}
                if m not in mounts:
                    mounts.append(m)
    return mounts
